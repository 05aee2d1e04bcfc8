"""The embedded default model: one featurizer, many linear heads (softmax for single-label tasks,
independent logistic heads for multi-label tasks). Trained by `cxnlp train`, shipped in models/<name>/.
A multiclass head may also have a small network stacked on it (:class:`DenseHead`): it reads the featurizer's
dense block (sentence embedding, cue counts, surface signals) and the linear head's logits.

Files in a model directory: ``meta.json`` (name, version, heads, training data, metrics), the featurizer's
vocabularies and idf arrays, ``heads.npz`` (weights as a sparse float16 matrix, biases) and, when meta.json
lists dense heads, ``dense_heads.npz``. No pickle.
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
        self._subsets: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray]] = {}

    def scores(self, X: sparse.csr_matrix, names: Sequence[str] | None = None,
               emb: np.ndarray | None = None) -> np.ndarray:
        """Raw logits for every head row: (n_texts, n_rows). With ``names``, only those heads' rows are
        computed (the same numbers; the other rows are 0): the sentences need two heads of many. With ``emb``
        (:meth:`Featurizer.transform_split`), ``X`` holds the columns before the embedding block and ``emb`` that
        block, multiplied as a dense product (the same logits up to float rounding, about 1e-7)."""
        n_cols = X.shape[1] + (0 if emb is None else emb.shape[1])
        if n_cols != self.WT.shape[0] or (emb is not None and emb.shape[0] != X.shape[0]):
            raise ValueError(f"features have {n_cols} columns for {X.shape[0]} rows; the heads read "
                             f"{self.WT.shape[0]} columns")
        if names is None:
            cols, wt = None, self.WT
        else:
            key = tuple(names)
            sub = self._subsets.get(key)
            if sub is None:
                cols = np.concatenate([np.arange(self.W.shape[0])[self.heads[n].rows] for n in key]).astype(np.int64)
                sub = self._subsets[key] = (cols, np.ascontiguousarray(self.WT[:, cols]))
            cols, wt = sub
        z = np.asarray(X @ wt[:X.shape[1]])
        if emb is not None:
            z = z + emb @ wt[X.shape[1]:]
        if cols is None:
            return z + self.b
        out = np.zeros((X.shape[0], self.WT.shape[1]), np.result_type(z.dtype, self.b.dtype))
        out[:, cols] = z + self.b[cols]
        return out

    def probs(self, logits: np.ndarray, name: str) -> np.ndarray:
        h = self.heads[name]
        z = logits[:, h.rows]
        if h.kind == "multiclass":
            return _softmax(z)
        p = 1.0 / (1.0 + np.exp(-z[:, 0]))
        return np.stack([1 - p, p], axis=1)

    def row(self, name: str, cls: int) -> int:
        """The weight row of one class of a head (binary heads have one row)."""
        h = self.heads[name]
        return h.rows.start + (cls if h.kind == "multiclass" else 0)


class DenseHead:
    """A one-hidden-layer network (GELU) stacked on a multiclass linear head: it reads the featurizer's dense
    columns (sentence embedding, cue counts, surface signals) and, when ``stack`` > 0, the linear head's logits
    (centred, times ``stack``). Its class probabilities are blended with the linear head's:
    ``(1 - blend) * linear + blend * dense``. The linear head keeps the evidence (term contributions); the network
    adds what a linear model cannot read from the sentence embedding, and learns when to trust the n-grams. The
    forward pass is numpy's products around torch's GELU."""

    def __init__(self, W1: np.ndarray, b1: np.ndarray, W2: np.ndarray, b2: np.ndarray, blend: float,
                 stack: float = 0.0, members: int = 1):
        self.W1 = np.ascontiguousarray(W1, np.float32)  # (inputs, hidden)
        self.b1 = np.asarray(b1, np.float32)
        self.W2 = np.ascontiguousarray(W2, np.float32)  # (hidden, classes)
        self.b2 = np.asarray(b2, np.float32)
        self.blend = float(blend)
        self.stack = float(stack)
        self.members = int(members)  # networks merged into this one (:func:`merge_dense_heads`); 1: a single one

    @property
    def n_inputs(self) -> int:
        return self.W1.shape[0]

    def spec(self) -> dict[str, Any]:
        """What meta.json records of it (the arrays go to dense_heads.npz)."""
        spec = {"blend": self.blend, "stack": self.stack, "hidden": int(self.W1.shape[1])}
        if self.members > 1:
            spec["members"] = self.members
        return spec

    def inputs(self, D: np.ndarray, linear_logits: np.ndarray) -> np.ndarray:
        """The network's input rows (see :func:`stacked_inputs`)."""
        return stacked_inputs(D, linear_logits, self.stack)

    def logits(self, H: np.ndarray) -> np.ndarray:
        import torch

        h = np.asarray(H @ self.W1 + self.b1, np.float32)
        # the exact (erf) GELU the network was trained with; torch's vectorised kernel takes about a twentieth of
        # the time of scipy's erf, which was most of the head's cost
        h = torch.nn.functional.gelu(torch.from_numpy(h)).numpy()
        return h @ self.W2 + self.b2

    def probs(self, H: np.ndarray) -> np.ndarray:
        return _softmax(self.logits(H))


def stacked_inputs(D: np.ndarray, linear_logits: np.ndarray, stack: float) -> np.ndarray:
    """A dense head's input rows: the dense columns, then (``stack`` > 0) the linear head's logits, centred per
    row and times ``stack``."""
    if not stack:
        return D
    z = linear_logits - linear_logits.mean(axis=1, keepdims=True)
    return np.hstack([D, (stack * z).astype(np.float32)])


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def merge_dense_heads(heads: Sequence[DenseHead]) -> DenseHead:
    """One network whose logits are the mean of the given networks' logits (same inputs, blend and stack): their
    hidden layers side by side, their output weights stacked and scaled to a mean. Tagging runs it as any
    dense head, so an ensemble needs no other code and no other file format. A head that is itself merged counts
    with its number of members, so the result is always the plain mean over every network in it."""
    if not heads:
        raise ValueError("no dense heads to merge")
    first = heads[0]
    if any(h.n_inputs != first.n_inputs or h.W2.shape[1] != first.W2.shape[1] or h.blend != first.blend
           or h.stack != first.stack for h in heads):
        raise ValueError("dense heads to merge need the same inputs, classes, blend and stack")
    total = sum(h.members for h in heads)
    share = [np.float32(h.members / total) for h in heads]
    return DenseHead(np.hstack([h.W1 for h in heads]), np.concatenate([h.b1 for h in heads]),
                     np.vstack([h.W2 * a for h, a in zip(heads, share)]), sum(h.b2 * a for h, a in zip(heads, share)),
                     first.blend, first.stack, members=total)


def fit_dense_head(D: np.ndarray, y: np.ndarray, w: np.ndarray, n_classes: int, blend: float, *, hidden: int = 256,
                   epochs: int = 20, lr: float = 2e-3, weight_decay: float = 1e-4, dropout: float = 0.3,
                   input_dropout: float = 0.1, batch_size: int = 256, seed: int = 0, stack: float = 0.0,
                   min_steps: int = 1000, members: int = 1) -> DenseHead:
    """Trains a :class:`DenseHead` on input rows ``D`` (:meth:`DenseHead.inputs`: built from out-of-fold linear
    logits when ``stack`` > 0) with class labels ``y`` and sample weights ``w`` (weighted cross-entropy; AdamW
    with a one-cycle schedule; seeded). A soft label is several rows of one text, one per class, weighted by the
    class's probability (as for the linear heads). Small training sets get more epochs, so that the network
    takes at least ``min_steps`` optimiser steps (the shipped model's data gives several thousand in 20 epochs).
    With ``members`` > 1, that many networks are trained side by side (:func:`_fit_side_by_side`) and merged
    (:func:`merge_dense_heads`): an ensemble, whose prediction depends less on one network's draw."""
    heads = [DenseHead(*p, blend, stack) for p in _fit_side_by_side(
        D, y, w, n_classes, max(1, members), hidden=hidden, epochs=epochs, lr=lr, weight_decay=weight_decay,
        dropout=dropout, input_dropout=input_dropout, batch_size=batch_size, seed=seed, min_steps=min_steps)]
    return heads[0] if len(heads) == 1 else merge_dense_heads(heads)


def _fit_side_by_side(D: np.ndarray, y: np.ndarray, w: np.ndarray, n_classes: int, members: int, *, hidden: int,
                      epochs: int, lr: float, weight_decay: float, dropout: float, input_dropout: float,
                      batch_size: int, seed: int, min_steps: int) -> list[tuple[np.ndarray, ...]]:
    """The training loop of :func:`fit_dense_head` for ``members`` networks at once (one or more): each has its own
    initial weights, its own order of the rows and its own dropout masks, and its own loss (the sum of the members'
    losses has no term that mixes two members, and AdamW's steps are per weight), so each learns as if alone. One
    batched product per layer replaces ``members`` small ones. Returns each member's (W1, b1, W2, b2)."""
    import torch

    torch.manual_seed(seed)
    F = torch.nn.functional
    X = torch.as_tensor(np.asarray(D, np.float32))
    Y = torch.as_tensor(np.asarray(y, np.int64))
    Wt = torch.as_tensor(np.asarray(w, np.float32))
    n, k = len(Y), members
    firsts = [torch.nn.Linear(X.shape[1], hidden) for _ in range(k)]  # torch's default initialisation, per member
    seconds = [torch.nn.Linear(hidden, n_classes) for _ in range(k)]
    W1 = torch.nn.Parameter(torch.stack([m.weight.detach().T for m in firsts]))  # (members, inputs, hidden)
    b1 = torch.nn.Parameter(torch.stack([m.bias.detach() for m in firsts]).unsqueeze(1))  # (members, 1, hidden)
    W2 = torch.nn.Parameter(torch.stack([m.weight.detach().T for m in seconds]))  # (members, hidden, classes)
    b2 = torch.nn.Parameter(torch.stack([m.bias.detach() for m in seconds]).unsqueeze(1))  # (members, 1, classes)
    opt = torch.optim.AdamW([W1, b1, W2, b2], lr=lr, weight_decay=weight_decay)
    per_epoch = (n + batch_size - 1) // batch_size
    epochs = max(epochs, -(-min_steps // per_epoch))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(1, epochs * per_epoch))
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        perms = torch.stack([torch.randperm(n, generator=gen) for _ in range(k)])  # (members, rows)
        for s in range(0, n, batch_size):
            b = perms[:, s:s + batch_size]  # each member's own rows
            h = F.gelu(torch.bmm(F.dropout(X[b], input_dropout), W1) + b1)
            z = torch.bmm(F.dropout(h, dropout), W2) + b2  # (members, batch, classes)
            loss = F.cross_entropy(z.reshape(-1, n_classes), Y[b].reshape(-1), reduction="none").view(b.shape)
            wb = Wt[b]
            loss = ((loss * wb).sum(1) / wb.sum(1).clamp_min(1e-12)).sum()  # each member's weighted mean
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    return [(W1[j].detach().numpy(), b1[j, 0].detach().numpy(), W2[j].detach().numpy(), b2[j, 0].detach().numpy())
            for j in range(k)]


class EmbeddedModel:
    """Featurizer + linear heads (+ optional dense heads). ``predict_features`` gives probabilities per head."""

    def __init__(self, featurizer: Featurizer, heads: LinearHeads, meta: dict[str, Any],
                 dense: dict[str, DenseHead] | None = None):
        self.featurizer = featurizer
        self.heads = heads
        self.meta = meta
        self.dense = dict(dense or {})

    @property
    def name(self) -> str:
        return self.meta["name"]

    @property
    def version(self) -> str:
        return self.meta["version"]

    def features(self, texts: Sequence[str], embeddings: np.ndarray | None = None,
                 hits: Sequence[Sequence] | None = None) -> sparse.csr_matrix:
        return self.featurizer.transform(texts, embeddings, hits)

    def features_split(self, texts: Sequence[str], embeddings: np.ndarray | None = None,
                       hits: Sequence[Sequence] | None = None) -> tuple[sparse.csr_matrix, np.ndarray | None]:
        """:meth:`features` with the embedding block kept dense (see :meth:`Featurizer.transform_split`); pass
        both to :meth:`predict_features`."""
        return self.featurizer.transform_split(texts, embeddings, hits)

    def predict_features(self, X: sparse.csr_matrix, names: Sequence[str] | None = None,
                         emb: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Probabilities per head (``names``: only these). ``X`` from :meth:`features`, or ``X`` and ``emb`` from
        :meth:`features_split`."""
        logits = self.heads.scores(X, names, emb)
        out = {n: self.heads.probs(logits, n) for n in (names or self.heads.order)}
        blended = [n for n in out if n in self.dense]
        if blended and X.shape[0]:
            D = self.dense_block(X, emb)
            for n in blended:
                head = self.dense[n]
                dense = head.probs(head.inputs(D, logits[:, self.heads.heads[n].rows]))
                out[n] = dense if head.blend == 1.0 else (1.0 - head.blend) * out[n] + head.blend * dense
        return out

    def dense_block(self, X: sparse.csr_matrix, emb: np.ndarray | None = None) -> np.ndarray:
        """The dense feature columns of a feature matrix (cue counts, surface signals, lexicon features, sentence
        embedding); with ``emb``, the embedding block that :meth:`features_split` kept apart."""
        D = X[:, self.featurizer.dense_start:].toarray()
        return D if emb is None else np.hstack([D, emb])

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
        meta.pop("dense_heads", None)
        if self.dense:
            arrays = {f"{n}.{k}": getattr(h, k) for n, h in self.dense.items() for k in ("W1", "b1", "W2", "b2")}
            np.savez_compressed(d / "dense_heads.npz", **arrays)
            meta["dense_heads"] = {n: h.spec() for n, h in self.dense.items()}
        elif (d / "dense_heads.npz").exists():
            (d / "dense_heads.npz").unlink()  # a retrained model without dense heads: no stale file
        (d / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
        (d / "checksums.json").write_text(json.dumps({"sha256": _digest(d, _checked_files(d))}), encoding="utf-8")

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
        dense: dict[str, DenseHead] = {}
        if meta.get("dense_heads"):
            if not (d / "dense_heads.npz").is_file():
                raise ModelError(f"model file {d.name}/dense_heads.npz is missing (meta.json lists dense heads); "
                                 f"{_restore(d)}")
            n_dense = featurizer.n_features - featurizer.dense_start
            classes = {h.name: len(h.classes) for h in heads if h.kind == "multiclass"}
            try:
                dense = read_model_file(d, "dense_heads.npz",
                                        lambda p: _read_dense(p, meta["dense_heads"], n_dense, classes))
            except ModelFileError as e:
                raise ModelError(f"model file {d.name}/{e.file} is corrupt ({e.problem}); {_restore(d)}") from e
        verify_checksums(d)
        return cls(featurizer, LinearHeads(heads, W, b), meta, dense)


# the files of a model directory that loading needs (MODEL_CARD.md is documentation only)
MODEL_FILES = ("meta.json", "heads.npz", "featurizer.json", "word_vocab.txt", "word_idf.npy", "char_vocab.txt",
               "char_idf.npy", "checksums.json")
# files that loading needs when meta.json lists what they hold (dense_heads.npz: its "dense_heads"; the lexicon
# files: featurizer.json's "lexicon_words")
OPTIONAL_MODEL_FILES = ("dense_heads.npz", "lexicon_words.txt", "lexicon.npy")


def _checked_files(d: Path) -> list[str]:
    """The files that checksums.json covers: the needed ones and the optional ones present."""
    return sorted([n for n in MODEL_FILES if n != "checksums.json"]
                  + [n for n in OPTIONAL_MODEL_FILES if (d / n).is_file()])


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


def _read_dense(p: Path, spec: Any, n_inputs: int, classes: dict[str, int]) -> dict[str, DenseHead]:
    """The dense heads listed in meta.json (``spec``: name -> blend, stack, hidden), checked against the
    featurizer's dense columns and the linear heads' classes."""
    if not isinstance(spec, dict):
        raise ModelFileError("meta.json", "dense_heads is not a mapping")
    out: dict[str, DenseHead] = {}
    with np.load(p, allow_pickle=False) as z:
        for name, s in spec.items():
            keys = [f"{name}.{k}" for k in ("W1", "b1", "W2", "b2")]
            missing = [k for k in keys if k not in z.files]
            if missing:
                raise ModelFileError(p.name, f"arrays {missing} are missing")
            W1, b1, W2, b2 = (z[k] for k in keys)
            hidden = W1.shape[1] if W1.ndim == 2 else -1
            if name not in classes:
                raise ModelFileError("meta.json", f"dense head {name!r} has no multiclass linear head")
            try:
                blend, stack = float(s["blend"]), float(s.get("stack", 0.0))
            except (AttributeError, KeyError, TypeError, ValueError) as e:
                raise ModelFileError("meta.json", f"dense head {name!r} has no valid blend/stack ({e})") from e
            if not 0.0 <= blend <= 1.0:
                raise ModelFileError("meta.json", f"dense head {name!r} has blend {blend}, outside 0..1")
            want = n_inputs + (classes[name] if stack else 0)
            if (W1.shape != (want, hidden) or b1.shape != (hidden,) or W2.shape != (hidden, classes[name])
                    or b2.shape != (classes[name],)):
                raise ModelFileError(p.name, f"dense head {name!r} does not fit {want} inputs and {classes[name]} "
                                             f"classes (shapes {W1.shape}, {W2.shape})")
            if not all(np.isfinite(a).all() for a in (W1, b1, W2, b2)):
                raise ModelFileError(p.name, f"dense head {name!r} has weights that are not finite numbers")
            members = s.get("members", 1)
            if not isinstance(members, int) or isinstance(members, bool) or not 1 <= members <= max(1, hidden):
                raise ModelFileError("meta.json", f"dense head {name!r} has members {members!r}, not a count")
            out[name] = DenseHead(W1, b1, W2, b2, blend, stack, members=members)
    return out


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
    # save() hashes the needed files and the optional ones it wrote (earlier versions: every file but the card
    # and the manifest); files added later are tolerated
    every = sorted(p.name for p in d.iterdir() if p.is_file() and p.name not in ("MODEL_CARD.md", "checksums.json"))
    checked = _checked_files(d)
    if want not in (_digest(d, checked), _digest(d, every)):
        raise ModelError(f"the files of {d.name}/ do not match {d.name}/checksums.json: one of "
                         f"{', '.join(checked)} was changed after training; {_restore(d)}")


def fit_linear_head(Xi: sparse.csr_matrix, y: np.ndarray, sample_weight: np.ndarray | None, kind: str,
                    classes: list[str], C: float, class_weight: Any, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """One head's weight rows (classes x features) and biases: scikit-learn's LogisticRegression, or a constant
    head when the labels hold fewer than two classes."""
    from sklearn.linear_model import LogisticRegression

    present = np.unique(y)
    if len(present) < 2:  # nothing to learn: a constant head (bias only)
        n_rows = len(classes) if kind == "multiclass" else 1
        w = np.zeros((n_rows, Xi.shape[1]), np.float32)
        bias = np.full(n_rows, -8.0, np.float32)
        if kind == "multiclass":
            bias[int(present[0]) if len(present) else 0] = 8.0
        elif len(present) and present[0] == 1:
            bias[:] = 8.0
        return w, bias
    clf = LogisticRegression(C=C, max_iter=2000, class_weight=class_weight, random_state=seed)
    clf.fit(Xi, y, sample_weight=sample_weight)
    if kind != "multiclass":
        return clf.coef_.astype(np.float32), clf.intercept_.astype(np.float32)
    w = np.zeros((len(classes), Xi.shape[1]), np.float32)
    bias = np.full(len(classes), -30.0, np.float32)  # classes never seen in training
    for j, cl in enumerate(clf.classes_):
        if len(clf.classes_) == 2:  # sklearn gives one row for two classes
            sign = 1.0 if j == 1 else -1.0
            w[int(cl)] = sign * clf.coef_[0] / 2
            bias[int(cl)] = sign * clf.intercept_[0] / 2
        else:
            w[int(cl)] = clf.coef_[j]
            bias[int(cl)] = clf.intercept_[j]
    return w, bias


def out_of_fold_logits(X: sparse.csr_matrix, rows: np.ndarray, y: np.ndarray, sample_weight: np.ndarray, kind: str,
                       classes: list[str], C: float, class_weight: Any, seed: int, folds: int = 5) -> np.ndarray:
    """Each labelled row's logits from a linear head fitted without that row (``folds`` folds by row index; a
    text's soft-label rows share its fold), shape ``(len(rows), classes)``: what a network stacked on the linear
    head learns from, since the linear head's logits on its own training rows are overconfident."""
    rows = np.asarray(rows)
    out = np.zeros((len(rows), len(classes) if kind == "multiclass" else 1), np.float32)
    fold = rows % folds
    for f in range(folds):
        test = fold == f
        if not test.any():
            continue
        train = ~test
        w, bias = fit_linear_head(X[rows[train]], y[train], sample_weight[train], kind, classes, C, class_weight,
                                  seed)
        out[test] = np.asarray(X[rows[test]] @ w.T) + bias
    return out


def head_options(name: str, C: dict[str, float] | None, class_weight: dict[str, Any] | None) -> tuple[float, Any]:
    """A head's regularisation C and class weighting: the given ones, else C 2 and balanced classes."""
    return (C or {}).get(name, 2.0), (class_weight or {}).get(name, "balanced")


def fit_heads(X: sparse.csr_matrix, targets: dict[str, tuple[str, list[str], np.ndarray, np.ndarray]],
              C: dict[str, float] | None = None, class_weight: dict[str, Any] | None = None,
              weights: dict[str, np.ndarray] | None = None, seed: int = 0) -> LinearHeads:
    """Train every head. ``targets[name] = (kind, classes, row_idx, y)`` — rows of X labelled for the head
    and their labels (class indices for multiclass, 0/1 for binary)."""
    heads: list[Head] = []
    rows_w: list[np.ndarray] = []
    rows_b: list[float] = []
    r = 0
    for name, (kind, classes, idx, y) in targets.items():
        w, bias = fit_linear_head(X[idx], y, (weights or {}).get(name), kind, classes,
                                  *head_options(name, C, class_weight), seed)
        n_rows = w.shape[0]
        heads.append(Head(name, kind, classes, slice(r, r + n_rows)))
        r += n_rows
        w[np.abs(w) < 1e-3] = 0.0  # prune: smaller model, same predictions to the third decimal
        rows_w.append(w)
        rows_b.extend(bias.tolist())
    W = sparse.csr_matrix(np.vstack(rows_w))
    return LinearHeads(heads, W, np.asarray(rows_b, np.float32))
