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

from cxnlp.classify.features import Featurizer, ModelFileError, read_model_file
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
        # features x rows, dense (a few tens of MB): sparse texts times a dense matrix is the fast product, and a
        # text's terms are contiguous rows for evidence
        self.WT = np.ascontiguousarray(self.W.T.toarray(), dtype=np.float32)
        self.b = b

    def scores(self, X: sparse.csr_matrix) -> np.ndarray:
        """Raw logits for every head row: (n_texts, n_rows)."""
        return np.asarray(X @ self.WT) + self.b

    def probs(self, logits: np.ndarray, name: str) -> np.ndarray:
        h = self.heads[name]
        z = logits[:, h.rows]
        if h.kind == "multiclass":
            z = z - z.max(axis=1, keepdims=True)
            e = np.exp(z)
            return e / e.sum(axis=1, keepdims=True)
        p = 1.0 / (1.0 + np.exp(-z[:, 0]))
        return np.stack([1 - p, p], axis=1)

    def row(self, name: str, cls: int) -> int:
        """The weight row of one class of a head (binary heads have one row)."""
        h = self.heads[name]
        return h.rows.start + (cls if h.kind == "multiclass" else 0)


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
        """Loads and verifies a model directory: every file present and parseable, the shapes consistent with
        each other and the whole matching ``checksums.json``. Otherwise :class:`ModelError` names the file and
        how to restore it."""
        d = Path(d)
        for n in MODEL_FILES:
            if not (d / n).is_file():
                raise ModelError(f"model file {d.name}/{n} is missing; {_restore(d)}")
        try:
            meta = read_model_file(d, "meta.json", lambda p: json.loads(p.read_text(encoding="utf-8")))
            W, b = read_model_file(d, "heads.npz", _read_heads)
            heads = _heads_of(meta, W.shape[0])
            featurizer = Featurizer.load(d, taxonomy)
        except ModelFileError as e:
            raise ModelError(f"model file {d.name}/{e.file} is corrupt ({e.problem}); {_restore(d)}") from e
        if W.shape[1] != featurizer.n_features:
            raise ModelError(f"model file {d.name}/heads.npz has {W.shape[1]} features but the featurizer files make "
                             f"{featurizer.n_features}; the model directory is inconsistent; {_restore(d)}")
        verify_checksums(d)
        return cls(featurizer, LinearHeads(heads, W, b), meta)


# the files of a model directory that loading needs (MODEL_CARD.md is documentation only)
MODEL_FILES = ("meta.json", "heads.npz", "featurizer.json", "word_vocab.txt", "word_idf.npy", "char_vocab.txt",
               "char_idf.npy", "checksums.json")


def _restore(d: Path) -> str:
    return (f"restore it with `git checkout -- models/{d.name}` (the shipped model) or retrain with "
            f"`cxnlp train --data DIR --out models/{d.name}`")


def _read_heads(p: Path) -> tuple[sparse.csr_matrix, np.ndarray]:
    with np.load(p, allow_pickle=False) as z:
        missing = {"data", "indices", "indptr", "shape", "b"} - set(z.files)
        if missing:
            raise ModelFileError(p.name, f"arrays {sorted(missing)} are missing")
        data, indices, indptr, shape, b = (z[k] for k in ("data", "indices", "indptr", "shape", "b"))
    if shape.shape != (2,) or (shape < 0).any():
        raise ModelFileError(p.name, f"bad matrix shape {shape.tolist()}")
    rows, cols = (int(x) for x in shape)
    if (indptr.shape != (rows + 1,) or len(data) != len(indices) or (len(indptr) and indptr[-1] != len(data))
            or (len(indices) and (indices.min() < 0 or indices.max() >= cols))):
        raise ModelFileError(p.name, "the sparse weight arrays do not fit together")
    if b.shape != (rows,):
        raise ModelFileError(p.name, f"{len(b)} biases for {rows} weight rows")
    if not (np.isfinite(data).all() and np.isfinite(b).all()):
        raise ModelFileError(p.name, "weights that are not finite numbers")
    W = sparse.csr_matrix((data.astype(np.float32), indices, indptr), shape=(rows, cols))
    return W, b.astype(np.float32)


def _heads_of(meta: Any, n_rows: int) -> list[Head]:
    """The heads listed in meta.json; they must tile the weight rows exactly."""
    try:
        heads = [Head(h["name"], h["kind"], list(h["classes"]), slice(*(int(x) for x in h["rows"])))
                 for h in meta["heads"]]
        meta["name"], meta["version"]
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFileError("meta.json", f"a field is missing or malformed ({type(e).__name__}: {e})") from e
    at = 0
    for h in heads:
        width = h.rows.stop - h.rows.start
        expect = len(h.classes) if h.kind == "multiclass" else 1
        if h.kind not in ("multiclass", "binary") or h.rows.start != at or width != expect:
            raise ModelFileError("meta.json", f"head {h.name!r} does not fit the weight rows (rows {h.rows.start}:"
                                              f"{h.rows.stop}, kind {h.kind}, {len(h.classes)} classes)")
        at = h.rows.stop
    if at != n_rows:
        raise ModelFileError("meta.json", f"the heads cover {at} weight rows, heads.npz has {n_rows}")
    return heads


def _digest(d: Path, names: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for n in names:
        digest.update(n.encode())
        digest.update((d / n).read_bytes())
    return digest.hexdigest()


def verify_checksums(d: str | Path) -> None:
    """The directory's files against ``checksums.json`` (written by :meth:`EmbeddedModel.save`): catches a
    file changed in place that still parses."""
    d = Path(d)
    try:
        manifest = read_model_file(d, "checksums.json", lambda p: json.loads(p.read_text(encoding="utf-8")))
        want = manifest["sha256"] if isinstance(manifest, dict) else None
        if not isinstance(want, str):
            raise ModelFileError("checksums.json", "no sha256 entry")
    except ModelFileError as e:
        raise ModelError(f"model file {d.name}/{e.file} is corrupt ({e.problem}); {_restore(d)}") from e
    # save() hashes every file but the card and the manifest; files added later are tolerated
    every = sorted(p.name for p in d.iterdir() if p.is_file() and p.name not in ("MODEL_CARD.md", "checksums.json"))
    needed = sorted(n for n in MODEL_FILES if n != "checksums.json")
    if want not in (_digest(d, every), _digest(d, needed)):
        raise ModelError(f"the files of {d.name}/ do not match {d.name}/checksums.json: one of "
                         f"{', '.join(needed)} was changed after training; {_restore(d)}")


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
