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

    def __init__(self, base, sentiment: HFSentiment):
        self.base = base
        self.sentiment = sentiment
        self.taxonomy = base.taxonomy
        self.model = base.model

    @classmethod
    def from_config(cls, root: Path, model: str | None = None) -> "HFTagger":
        import yaml

        from cxnlp.classify.tagger import Tagger

        cfg_path = root / "configs" / "models.yaml"
        cfg = (yaml.safe_load(cfg_path.read_text(encoding="utf-8")) or {}) if cfg_path.is_file() else {}
        t = cfg.get("transformers") or {}
        model_id = model or t.get("model")
        if not model_id:
            raise ValueError("no transformers model configured: set transformers.model in configs/models.yaml "
                             "or pass --model PATH_OR_HUB_ID")
        hf = HFSentiment(str(model_id), max_length=int(t.get("max_length", 256)),
                         batch_size=int(t.get("batch_size", 64)), label_map=t.get("label_map"))
        return cls(Tagger.from_config(root), hf)

    @property
    def model_info(self) -> dict[str, str]:
        return {"name": self.sentiment.name, "version": self.sentiment.version,
                "taxonomy_model": f"{self.base.model.name} {self.base.model.version}"}

    def __call__(self, text: str) -> dict[str, Any]:
        return self.tag_batch([text])[0]

    def tag_batch(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        results = self.base.tag_batch(texts)
        doc_idx = [i for i, r in enumerate(results) if r["sentences"]]
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
            r["model"] = self.model_info
        return results


def _sent(p: np.ndarray) -> dict[str, Any]:
    return {"label": SENTIMENT[int(np.argmax(p))], "scores": {c: round(float(v), 4) for c, v in zip(SENTIMENT, p)},
            "evidence": []}
