"""The embedded default model: one featurizer, many linear heads (softmax for single-label tasks,
independent logistic heads for multi-label tasks). Trained by `cxnlp train`, shipped in models/<name>/.

Files in a model directory: ``meta.json`` (name, version, heads, training data, metrics), the featurizer's
vocabularies and idf arrays, and ``heads.npz`` (weights as a sparse float16 matrix, biases). No pickle.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from scipy import sparse

from cxnlp.classify.features import Featurizer
from cxnlp.classify.taxonomy import Taxonomy

SENTIMENT = ["negative", "neutral", "positive"]
SENTENCE_TYPES = ["erlebnis", "erfahrung", "both", "neither"]


class ModelError(RuntimeError):
    """A model directory is missing or broken; the message names the file and how to restore it."""


@dataclass
class Head:
    name: str  # e.g. "sentiment", "phase", "facets:Produkt-Erfahrung"
    kind: str  # "multiclass" | "binary"
    classes: list[str]  # multiclass: class names; binary: [negative, positive] names
    rows: slice = field(default_factory=lambda: slice(0, 0))  # rows of the weight matrix


class LinearHeads:
    def __init__(self, heads: list[Head], W: sparse.csr_matrix, b: np.ndarray):
        self.heads = {h.name: h for h in heads}
        self.order = [h.name for h in heads]
        self.W = W.tocsr()
        self.WT = self.W.T.tocsr()  # csr @ csr: no format conversion per batch
        self._W_dense: np.ndarray | None = None  # built on first use (evidence): fast row lookups
        self.b = b

    def scores(self, X: sparse.csr_matrix) -> np.ndarray:
        """Raw logits for every head row: (n_texts, n_rows)."""
        out = X @ self.WT
        out = out.toarray() if sparse.issparse(out) else np.asarray(out)
        return out + self.b

    def probs(self, logits: np.ndarray, name: str) -> np.ndarray:
        h = self.heads[name]
        z = logits[:, h.rows]
        if h.kind == "multiclass":
            z = z - z.max(axis=1, keepdims=True)
            e = np.exp(z)
            return e / e.sum(axis=1, keepdims=True)
        p = 1.0 / (1.0 + np.exp(-z[:, 0]))
        return np.stack([1 - p, p], axis=1)

    def contributions(self, x_row: sparse.csr_matrix, name: str, cls: int) -> tuple[np.ndarray, np.ndarray]:
        """Feature indices and their contribution to one class's logit for one text (for evidence)."""
        h = self.heads[name]
        r = h.rows.start + (cls if h.kind == "multiclass" else 0)
        if self._W_dense is None:
            self._W_dense = self.W.toarray()
        idx = x_row.indices
        return idx, x_row.data * self._W_dense[r, idx]


class EmbeddedModel:
    """Featurizer + linear heads. ``predict`` gives probabilities per head for a batch of texts."""

    def __init__(self, featurizer: Featurizer, heads: LinearHeads, meta: dict[str, Any]):
        self.featurizer = featurizer
        self.heads = heads
        self.meta = meta

    @property
    def name(self) -> str:
        return self.meta["name"]

    @property
    def version(self) -> str:
        return self.meta["version"]

    def features(self, texts: Sequence[str], embeddings: np.ndarray | None = None,
                 hits: Sequence[Sequence] | None = None) -> sparse.csr_matrix:
        return self.featurizer.transform(texts, embeddings, hits)

    def predict_features(self, X: sparse.csr_matrix, names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        logits = self.heads.scores(X)
        return {n: self.heads.probs(logits, n) for n in (names or self.heads.order)}

    # -- persistence --------------------------------------------------------------------------------
    def save(self, d: str | Path) -> None:
        d = Path(d)
        d.mkdir(parents=True, exist_ok=True)
        self.featurizer.save(d)
        W = self.heads.W.tocsr()
        np.savez_compressed(d / "heads.npz", data=W.data.astype(np.float16), indices=W.indices, indptr=W.indptr,
                            shape=np.array(W.shape), b=self.heads.b.astype(np.float32))
        heads = [{"name": h.name, "kind": h.kind, "classes": h.classes, "rows": [h.rows.start, h.rows.stop]}
                 for h in (self.heads.heads[n] for n in self.heads.order)]
        meta = {**self.meta, "heads": heads}
        (d / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
        digest = hashlib.sha256()
        for f in sorted(p for p in d.iterdir() if p.is_file() and p.name not in ("MODEL_CARD.md", "checksums.json")):
            digest.update(f.name.encode())
            digest.update(f.read_bytes())
        (d / "checksums.json").write_text(json.dumps({"sha256": digest.hexdigest()}), encoding="utf-8")

    @classmethod
    def load(cls, d: str | Path, taxonomy: Taxonomy) -> "EmbeddedModel":
        d = Path(d)
        needed = ["meta.json", "heads.npz", "featurizer.json", "word_vocab.txt", "word_idf.npy", "char_vocab.txt",
                  "char_idf.npy"]
        for n in needed:
            if not (d / n).is_file():
                raise ModelError(f"model file {d.name}/{n} is missing; restore it with `git checkout -- models/{d.name}` "
                                 f"or retrain with `cxnlp train`")
        try:
            meta = json.loads((d / "meta.json").read_text(encoding="utf-8"))
            z = np.load(d / "heads.npz")
            W = sparse.csr_matrix((z["data"].astype(np.float32), z["indices"], z["indptr"]), shape=tuple(z["shape"]))
            b = z["b"].astype(np.float32)
            featurizer = Featurizer.load(d, taxonomy)
        except Exception as e:
            raise ModelError(f"model files in {d.name}/ are corrupt ({type(e).__name__}: {e}); restore them with "
                             f"`git checkout -- models/{d.name}` or retrain with `cxnlp train`") from e
        heads = [Head(h["name"], h["kind"], h["classes"], slice(*h["rows"])) for h in meta["heads"]]
        if W.shape[1] != featurizer.n_features:
            raise ModelError(f"{d.name}/heads.npz has {W.shape[1]} features but the featurizer makes "
                             f"{featurizer.n_features}; the model directory is inconsistent, retrain it")
        return cls(featurizer, LinearHeads(heads, W, b), meta)


def fit_heads(X: sparse.csr_matrix, targets: dict[str, tuple[str, list[str], np.ndarray, np.ndarray]],
              C: dict[str, float] | None = None, class_weight: dict[str, Any] | None = None,
              weights: dict[str, np.ndarray] | None = None, seed: int = 0) -> LinearHeads:
    """Train every head. ``targets[name] = (kind, classes, row_idx, y)`` — rows of X labelled for the head
    and their labels (class indices for multiclass, 0/1 for binary)."""
    from sklearn.linear_model import LogisticRegression

    heads: list[Head] = []
    rows_w: list[np.ndarray] = []
    rows_b: list[float] = []
    r = 0
    for name, (kind, classes, idx, y) in targets.items():
        c = (C or {}).get(name, 2.0)
        cw = (class_weight or {}).get(name, "balanced")
        Xi = X[idx]
        present = np.unique(y)
        if len(present) < 2:  # nothing to learn: a constant head (bias only)
            n_rows = len(classes) if kind == "multiclass" else 1
            w = np.zeros((n_rows, X.shape[1]), np.float32)
            bias = np.full(n_rows, -8.0, np.float32)
            if kind == "multiclass":
                bias[int(present[0]) if len(present) else 0] = 8.0
            elif len(present) and present[0] == 1:
                bias[:] = 8.0
        else:
            clf = LogisticRegression(C=c, max_iter=2000, class_weight=cw, random_state=seed)
            sw = (weights or {}).get(name)
            clf.fit(Xi, y, sample_weight=sw)
            if kind == "multiclass":
                w = np.zeros((len(classes), X.shape[1]), np.float32)
                bias = np.full(len(classes), -30.0, np.float32)  # classes never seen in training
                for j, cl in enumerate(clf.classes_):
                    if len(clf.classes_) == 2:  # sklearn gives one row for two classes
                        sign = 1.0 if j == 1 else -1.0
                        w[int(cl)] = sign * clf.coef_[0] / 2
                        bias[int(cl)] = sign * clf.intercept_[0] / 2
                    else:
                        w[int(cl)] = clf.coef_[j]
                        bias[int(cl)] = clf.intercept_[j]
            else:
                w = clf.coef_.astype(np.float32)
                bias = clf.intercept_.astype(np.float32)
        n_rows = w.shape[0]
        heads.append(Head(name, kind, classes, slice(r, r + n_rows)))
        r += n_rows
        w[np.abs(w) < 1e-3] = 0.0  # prune: smaller model, same predictions to the third decimal
        rows_w.append(w)
        rows_b.extend(bias.tolist())
    W = sparse.csr_matrix(np.vstack(rows_w))
    return LinearHeads(heads, W, np.asarray(rows_b, np.float32))
