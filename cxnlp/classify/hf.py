"""The transformers backend: a Hugging Face sequence-classification model for sentiment (document and
sentence level), from a local folder or a hub id (the latter needs a network; nothing here downloads
unless a user configures a hub id). The taxonomy tags (facets, touchpoints, emotions, phase …) still come
from the embedded model, so the output has the same shape whichever backend runs.

GPU when ``torch.cuda.is_available()`` (fp16), CPU otherwise; texts are sorted by length into batches and
the batch size halves on an out-of-memory error.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from cxnlp.classify.model import SENTIMENT

log = logging.getLogger("cxnlp.hf")

_ALIASES = {"negative": "negative", "neg": "negative", "negativ": "negative", "neutral": "neutral",
            "neu": "neutral", "positive": "positive", "pos": "positive", "positiv": "positive"}


def pick_device(prefer: str | None = None) -> str:
    import torch

    if prefer:
        return prefer
    return "cuda" if torch.cuda.is_available() else "cpu"


class HFSentiment:
    """Sentiment from a sequence-classification model: probabilities over negative/neutral/positive."""

    def __init__(self, model_id: str, device: str | None = None, max_length: int = 256, batch_size: int = 64,
                 label_map: dict[str, str] | None = None):
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.device = pick_device(device)
        self.max_length = max_length
        self.batch_size = batch_size
        self.tokenizer = AutoTokenizer.from_pretrained(model_id)
        dtype = torch.float16 if self.device.startswith("cuda") else torch.float32
        self.model = AutoModelForSequenceClassification.from_pretrained(model_id, dtype=dtype)
        self.model.to(self.device).eval()
        # never feed more tokens than the model has positions for (RoBERTa-style models reserve two)
        limits = [max_length]
        mpe = getattr(self.model.config, "max_position_embeddings", None)
        if mpe:
            limits.append(mpe - 2 if getattr(self.model.config, "model_type", "") in ("roberta", "xlm-roberta") else mpe)
        if 0 < getattr(self.tokenizer, "model_max_length", 0) < 100_000:
            limits.append(self.tokenizer.model_max_length)
        self.max_length = min(limits)
        self.name = Path(model_id).name if Path(model_id).exists() else model_id
        self.version = str(getattr(self.model.config, "_commit_hash", None) or
                           getattr(self.model.config, "transformers_version", "local"))
        id2label = {int(k): str(v) for k, v in self.model.config.id2label.items()}
        self.index = self._map_labels(id2label, label_map or {})

    @staticmethod
    def _map_labels(id2label: dict[int, str], label_map: dict[str, str]) -> list[int | None]:
        """For each of negative/neutral/positive, the model's output index (None when the model has no such class)."""
        found: dict[str, int] = {}
        for i, lab in id2label.items():
            key = label_map.get(lab) or _ALIASES.get(lab.lower())
            if key:
                found[key] = i
        if not found:
            n = len(id2label)
            if n == 3:  # LABEL_0..2 without names: the common order negative, neutral, positive
                found = {"negative": 0, "neutral": 1, "positive": 2}
            elif n == 2:
                found = {"negative": 0, "positive": 1}
            else:
                raise ValueError(f"cannot map the model's labels {id2label} to negative/neutral/positive; "
                                 f"set transformers.label_map in configs/models.yaml")
        return [found.get(c) for c in SENTIMENT]

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """(n, 3) probabilities in SENTIMENT order."""
        import torch

        out = np.zeros((len(texts), 3), np.float32)
        if not texts:
            return out
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        bs = self.batch_size
        start = 0
        while start < len(order):
            idx = order[start:start + bs]
            try:
                enc = self.tokenizer([texts[i] or " " for i in idx], padding=True, truncation=True,
                                     max_length=self.max_length, return_tensors="pt").to(self.device)
                with torch.inference_mode():
                    logits = self.model(**enc).logits.float()
                probs = torch.softmax(logits, dim=-1).cpu().numpy()
            except torch.cuda.OutOfMemoryError:
                if bs == 1:
                    raise
                torch.cuda.empty_cache()
                bs = max(1, bs // 2)
                log.warning("out of GPU memory: batch size now %d", bs)
                continue
            for j, i in enumerate(idx):
                row = np.array([probs[j, k] if k is not None else 0.0 for k in self.index], np.float32)
                s = row.sum()
                out[i] = row / s if s > 0 else np.full(3, 1 / 3, np.float32)
            start += len(idx)
        return out


class HFTagger:
    """Same output as :class:`cxnlp.classify.tagger.Tagger`; sentiment from the transformers model."""

    def __init__(self, base, sentiment: HFSentiment | None, zero_shot: "HFZeroShot | None" = None,
                 zero_shot_threshold: float = 0.5):
        self.base = base
        self.sentiment = sentiment
        self.zero_shot = zero_shot
        self.zero_shot_threshold = zero_shot_threshold
        self.taxonomy = base.taxonomy
        self.model = base.model
        self.batch_size = base.batch_size  # texts per call for `cxnlp tag`

    @classmethod
    def from_config(cls, root: Path, model: str | None = None) -> "HFTagger":
        import yaml

        from cxnlp.classify.tagger import Tagger

        cfg_path = root / "configs" / "models.yaml"
        cfg = (yaml.safe_load(cfg_path.read_text(encoding="utf-8")) or {}) if cfg_path.is_file() else {}
        t = cfg.get("transformers") or {}
        model_id = model or t.get("model")
        zs_id = t.get("zero_shot_model")
        if not model_id and not zs_id:
            raise ValueError("no transformers model configured: set transformers.model (sentiment) and/or "
                             "transformers.zero_shot_model (NLI) in configs/models.yaml, or pass --model PATH_OR_HUB_ID")
        hf = HFSentiment(str(model_id), max_length=int(t.get("max_length", 256)),
                         batch_size=int(t.get("batch_size", 64)), label_map=t.get("label_map")) if model_id else None
        zs = HFZeroShot(str(zs_id), hypothesis=t.get("zero_shot_hypothesis", "Dieser Text handelt von {}.")) \
            if zs_id else None
        return cls(Tagger.from_config(root), hf, zs, float(t.get("zero_shot_threshold", 0.5)))

    @property
    def model_info(self) -> dict[str, str]:
        main = self.sentiment or self.base.model
        return {"name": main.name, "version": main.version,
                "taxonomy_model": f"{self.base.model.name} {self.base.model.version}"
                                  + (" + zero-shot NLI" if self.zero_shot else "")}

    def __call__(self, text: str) -> dict[str, Any]:
        return self.tag_batch([text])[0]

    def sentence_probs(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        p = self.base.sentence_probs(texts)
        if self.sentiment is not None:
            p["sentiment"] = self.sentiment.predict(list(texts))
        return p

    def tag_batch(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        results = self.base.tag_batch(texts)
        doc_idx = [i for i, r in enumerate(results) if r["sentences"]]
        if self.sentiment is not None:
            sent_texts = [s["text"] for i in doc_idx for s in results[i]["sentences"]]
            pd = self.sentiment.predict([texts[i] for i in doc_idx])
            ps = self.sentiment.predict(sent_texts)
            k = 0
            for j, i in enumerate(doc_idx):
                r = results[i]
                r["sentiment"] = _sent(pd[j])
                for s in r["sentences"]:
                    s["sentiment"] = _sent(ps[k])
                    k += 1
        if self.zero_shot is not None:
            tax = self.base.taxonomy
            for group in ("facets", "touchpoints"):
                scores = self.zero_shot.classify([texts[i] for i in doc_idx], tax.labels(group))
                for i, sc in zip(doc_idx, scores):
                    results[i][group] = [
                        {"label": lab, "score": s, "evidence": [], "source": "zero-shot",
                         **(tax.touchpoint_class.get(lab, {}) if group == "touchpoints" else {})}
                        for lab, s in sorted(sc.items(), key=lambda kv: -kv[1]) if s >= self.zero_shot_threshold]
        for i in doc_idx:
            results[i]["model"] = self.model_info
        return results


def _sent(p: np.ndarray) -> dict[str, Any]:
    return {"label": SENTIMENT[int(np.argmax(p))], "scores": {c: round(float(v), 4) for c, v in zip(SENTIMENT, p)},
            "evidence": []}


class HFZeroShot:
    """Zero-shot classification of taxonomy labels with a natural-language-inference model (e.g. a multilingual
    XNLI model a user configures): each label becomes the hypothesis "Dieser Text handelt von {label}." and the
    entailment probability is its score. Useful for a company's new labels before any training data exists."""

    def __init__(self, model_id: str, device: str | None = None, hypothesis: str = "Dieser Text handelt von {}.",
                 batch_size: int = 16):
        from transformers import pipeline

        dev = pick_device(device)
        self.pipe = pipeline("zero-shot-classification", model=model_id, tokenizer=model_id,
                             device=0 if dev.startswith("cuda") else -1)
        self.hypothesis = hypothesis
        self.batch_size = batch_size

    def classify(self, texts: Sequence[str], labels: Sequence[str], multi_label: bool = True) -> list[dict[str, float]]:
        out: list[dict[str, float]] = []
        for i in range(0, len(texts), self.batch_size):
            chunk = [t or " " for t in texts[i:i + self.batch_size]]
            res = self.pipe(chunk, candidate_labels=list(labels), hypothesis_template=self.hypothesis,
                            multi_label=multi_label)
            if isinstance(res, dict):
                res = [res]
            out.extend({lab: round(float(s), 4) for lab, s in zip(r["labels"], r["scores"])} for r in res)
        return out
