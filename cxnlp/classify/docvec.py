"""Document vectors for emerging topics, computed once.

A document's vector is the tagger's own document embedding: the length-weighted mean of its sentences'
USE-m v3 vectors, L2-normalised (:func:`cxnlp.classify.tagger.doc_and_sentence_embeddings`). The fast tagger
has it anyway, so the tag stage stores it (``text_vectors``) and the topic stage reads it back instead of
running the sentence encoder a second time over the window's texts; texts tagged without it (another backend,
an older store) get it computed by :func:`document_vectors`, the same way.

Stored form (``pack``): 4 bytes little-endian float32 scale, then 512 int8 values, ``v ≈ q * scale / 127``;
520 bytes instead of 2,048, cosine to the float vector above 0.9999 (tested).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

ENCODER = "use-m3-sentence-mean/1"  # what a stored vector is; another definition needs another name
DIM = 512


def pack(vecs: np.ndarray) -> list[bytes | None]:
    """One blob per row; None for a zero row (an empty text has no vector)."""
    vecs = np.asarray(vecs, np.float32).reshape(-1, DIM)
    scale = np.abs(vecs).max(axis=1)
    safe = np.where(scale > 0, scale, 1.0).astype(np.float32)
    q = np.rint(vecs / safe[:, None] * 127).astype(np.int8)
    return [s.astype("<f4").tobytes() + row.tobytes() if s > 0 else None for s, row in zip(safe * (scale > 0), q)]


def unpack(blobs: Sequence[bytes]) -> np.ndarray:
    """The (n, 512) float32 vectors of ``pack``'s blobs, L2-normalised."""
    out = np.zeros((len(blobs), DIM), np.float32)
    for i, b in enumerate(blobs):
        b = bytes(b)
        if len(b) != 4 + DIM:
            raise ValueError(f"a stored document vector has {len(b)} bytes, expected {4 + DIM}")
        scale = np.frombuffer(b[:4], "<f4")[0]
        out[i] = np.frombuffer(b[4:], np.int8).astype(np.float32) * (scale / 127)
    n = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(n > 0, n, 1)


def document_vectors(texts: Sequence[str]) -> np.ndarray:
    """The tagger's document embeddings of ``texts`` without tagging them (zero rows for empty texts).
    Raises ImportError when the sentence encoder's package is not installed."""
    from cxnlp.classify.tagger import doc_and_sentence_embeddings, sentences_of
    from cxnlp.classify.use_encoder import use_encoder

    texts = [t if isinstance(t, str) else "" for t in texts]
    out = np.zeros((len(texts), DIM), np.float32)
    live = [i for i, t in enumerate(texts) if t.strip()]
    if live:
        ltexts = [texts[i] for i in live]
        docs, _ = doc_and_sentence_embeddings(_Encoder(use_encoder()), sentences_of(ltexts), ltexts)
        out[live] = docs
    return out


class _Encoder:
    """The featurizer interface ``doc_and_sentence_embeddings`` needs, on the sentence encoder alone (with
    the featurizer's 2,000-character cut per sentence)."""
    use_embeddings = True

    def __init__(self, enc):
        self.enc = enc

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.enc.encode([t[:2000] for t in texts])
