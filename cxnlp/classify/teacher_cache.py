"""The teacher's probabilities kept on disk by text, so that retraining the fast model does not pay for them again.

``cxnlp train --distill`` asks the fine-tuned e5 tagger (the teacher) for every head's probabilities over some
36,000 texts: the unlabelled feedback, the public sets' gold-labelled texts, the sentences of the unlabelled
texts and the held-out documents. On a 2-core CPU that is most of the training's half hour, and it is the same
answer every time the same teacher reads the same text. :class:`CachedTeacher` answers from a SQLite file for the
texts it has seen and asks the teacher only for the others.

The file belongs to one teacher as it runs: its name, version, weights, base encoder, token limit and the
precision of its matrix products go into the file's name, so another teacher (or the same one in another
precision) never reads these figures. In float32 a text's probabilities do not depend on the other texts of its
batch, so cached and fresh figures are the same. In bfloat16 or float16 they move with the batch's padded shape
by up to about 0.005 (README, "A text's tags and its batch neighbours"): a cached text keeps the figures of the
run that first labelled it, which also makes a rerun reproduce its predecessor exactly.

A cache that cannot be read or written is not an error: the teacher labels the texts itself and a warning says why.
"""
from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any, Sequence

import numpy as np

log = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """``$CXNLP_CACHE/teacher`` or ``~/.cache/cxnlp/teacher``: outside the checkout, like the e5 base model."""
    from cxnlp.models_e5 import cache_root

    return cache_root() / "teacher"


def teacher_key(teacher) -> str:
    """What the teacher's answers depend on, as a hex digest: name, version, weights (their recorded checksum,
    else the parameters themselves), base encoder fingerprint, token limit, heads, and matrix-product precision."""
    from cxnlp.classify.e5model import autocast_precision

    meta = teacher.meta
    weights = meta.get("weights_sha256")
    if not weights:  # a teacher trained in this process and not saved: hash what it computes with
        h = hashlib.sha256()
        for name, t in sorted(teacher.module.state_dict().items()):
            h.update(name.encode())
            h.update(t.detach().float().cpu().numpy().tobytes())
        weights = h.hexdigest()
    parts = {"name": teacher.name, "version": teacher.version, "weights": weights,
             "base": meta.get("base_fingerprint"), "max_length": teacher.max_length,
             "heads": [[s.name, s.kind, list(s.classes)] for s in teacher.specs],
             "precision": autocast_precision(teacher.device)}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


class CachedTeacher:
    """A teacher (:class:`cxnlp.classify.e5model.E5Classifier`) whose ``predict`` answers from ``folder`` for texts
    it has labelled before; it asks the teacher about the others ``part`` texts at a time and stores each part's
    answers at once. Everything else (name, version, specs, ...) is the teacher's. ``hits`` and ``misses`` count
    the texts answered from the file and by the teacher."""

    def __init__(self, teacher, folder: str | Path | None = None, part: int = 2048):
        self.teacher = teacher
        self.part = part  # texts per teacher call, stored when it returns
        self.folder = Path(folder) if folder is not None else default_cache_dir()
        self.path = self.folder / f"{teacher.name}-{teacher_key(teacher)[:20]}.sqlite"
        self.widths = [(s.name, 1 if s.kind == "binary" else len(s.classes), s.kind == "binary")
                       for s in teacher.specs]
        self.hits = self.misses = 0
        self._broken: str | None = None

    def __getattr__(self, name: str) -> Any:  # the teacher's name, version, meta, specs, device ...
        return getattr(self.teacher, name)

    # -- storage ---------------------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        self.folder.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=30)
        try:
            con.execute("CREATE TABLE IF NOT EXISTS probs (h BLOB PRIMARY KEY, v BLOB NOT NULL)")
        except sqlite3.Error:
            con.close()
            raise
        return con

    def _fail(self, what: str, e: Exception) -> None:
        if self._broken is None:
            log.warning("teacher cache %s: %s (%s); the teacher labels every text itself", self.path.name, what, e)
        self._broken = what

    @staticmethod
    def _hash(text: str) -> bytes:
        return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()

    def _read(self, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        """The stored rows of ``keys`` (rows of another layout are skipped: the teacher labels those again)."""
        found: dict[bytes, np.ndarray] = {}
        if self._broken is not None:
            return found
        size = 4 * sum(w for _, w, _ in self.widths)
        try:
            with closing(self._connect()) as con:
                for i in range(0, len(keys), 500):
                    chunk = list(keys[i:i + 500])
                    for h, v in con.execute(f"SELECT h, v FROM probs WHERE h IN ({','.join('?' * len(chunk))})",
                                            chunk):
                        if len(v) == size:
                            found[bytes(h)] = np.frombuffer(v, np.float32)
        except (sqlite3.Error, OSError) as e:
            self._fail("cannot be read", e)
            return {}
        return found

    def _write(self, rows: dict[bytes, np.ndarray]) -> None:
        if self._broken is not None:
            return
        try:
            with closing(self._connect()) as con, con:  # one transaction per part
                con.executemany("INSERT OR REPLACE INTO probs VALUES (?, ?)",
                                [(h, v.tobytes()) for h, v in rows.items()])
        except (sqlite3.Error, OSError) as e:
            self._fail("cannot be written", e)

    # -- prediction ------------------------------------------------------------------------------------
    def predict(self, texts: Sequence[str], batch_size: int | None = None,
                batch_tokens: int | None = None) -> dict[str, np.ndarray]:
        """The teacher's ``predict``: the same arrays, rows in input order."""
        texts = list(texts)
        if not texts:
            return self.teacher.predict(texts, batch_size, batch_tokens)
        keys = [self._hash(t) for t in texts]
        found = self._read(list(dict.fromkeys(keys)))
        todo = list(dict.fromkeys(t for t, k in zip(texts, keys) if k not in found))
        # in parts, each stored as soon as it is labelled: an interrupted training keeps what the teacher read
        for i in range(0, len(todo), self.part):
            part = todo[i:i + self.part]
            p = self.teacher.predict(part, batch_size, batch_tokens)
            new = {self._hash(t): np.concatenate([np.reshape(p[n][j], -1) for n, _, _ in self.widths])
                   .astype(np.float32) for j, t in enumerate(part)}
            found.update(new)
            self._write(new)
        self.hits += len(set(keys)) - len(todo)
        self.misses += len(todo)
        flat = np.stack([found[k] for k in keys])
        out: dict[str, np.ndarray] = {}
        col = 0
        for name, w, binary in self.widths:
            block = flat[:, col:col + w]
            out[name] = block[:, 0].copy() if binary else block.copy()
            col += w
        return out
