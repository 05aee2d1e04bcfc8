"""The Tagger: one entry object, ``tagger(text)`` for one text and ``tagger.pipe(texts)`` for a stream.

Backends behind one interface (chosen in configs/models.yaml or per call, see :func:`load_tagger`):
- ``fast`` (alias ``embedded``) — the CPU default, trained by this project and shipped in models/cxnlp-de-small;
- ``transformers`` — the fine-tuned multilingual-e5-small tagger shipped in models/cxnlp-de-e5
  (cxnlp.classify.e5model), or any Hugging Face sequence-classification model from a local folder or a hub id
  when ``transformers.model`` is configured (cxnlp.classify.hf); GPU when available;
- ``auto`` — ``transformers`` when a GPU is present and its model is there, ``fast`` otherwise.
Every result carries the evidence (character spans) that led to each tag and the model name + version.
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, NamedTuple, Sequence

import numpy as np
import yaml

from cxnlp.classify.features import Featurizer
from cxnlp.classify.model import SENTENCE_TYPES, SENTIMENT, EmbeddedModel, LinearHeads, ModelError
from cxnlp.classify.taxonomy import CueHit, Taxonomy, load_taxonomy
from cxnlp.classify.text import Sentence, split_sentences_batch
from cxnlp.config import find_root

DEFAULT_MODEL_DIR = "models/cxnlp-de-small"


@dataclass
class TaggerConfig:
    backend: str = "auto"  # auto | fast (embedded) | transformers
    embedded_path: str = DEFAULT_MODEL_DIR
    transformers_model: str | None = None
    e5_path: str = "models/cxnlp-de-e5"
    thresholds: dict[str, float] | None = None
    batch_size: int = 256

    @classmethod
    def load(cls, root: Path | None = None) -> "TaggerConfig":
        p = (root or find_root()) / "configs" / "models.yaml"
        if not p.is_file():
            return cls()
        d = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        return cls(backend=d.get("backend", "auto"), embedded_path=d.get("embedded", {}).get("path", DEFAULT_MODEL_DIR),
                   transformers_model=(d.get("transformers") or {}).get("model"),
                   e5_path=(d.get("transformers") or {}).get("e5_path") or "models/cxnlp-de-e5",
                   thresholds=d.get("thresholds"), batch_size=int(d.get("batch_size", 256)))


DEFAULT_THRESHOLDS = {"emotions": 0.5, "facets": 0.5, "touchpoints": 0.5, "sustainability": 0.5, "offensive": 0.5,
                      "relevance": 0.5}


def doc_and_sentence_embeddings(featurizer: Featurizer, sentences: Sequence[Sequence[Sentence]],
                                texts: Sequence[str]) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Sentence embeddings, and each document's embedding as the length-weighted mean of its sentences'
    (one encoder pass serves both levels)."""
    if not featurizer.use_embeddings:
        return None, None
    flat = [s.text for ss in sentences for s in ss]
    emb = featurizer.embed(flat) if flat else np.zeros((0, 512), np.float32)
    docs = np.zeros((len(texts), emb.shape[1] if emb.size else 512), np.float32)
    i = 0
    for d, ss in enumerate(sentences):
        if not ss:
            continue
        w = np.array([max(1, len(s.text)) for s in ss], np.float32)
        v = (emb[i:i + len(ss)] * w[:, None]).sum(0) / w.sum()
        n = np.linalg.norm(v)
        docs[d] = v / n if n > 0 else v
        i += len(ss)
    return docs, emb


def sentences_of(texts: Sequence[str]) -> list[list[Sentence]]:
    """Each (non-empty) text's sentences as the tagger reads them: a text the splitter leaves without any
    sentence is one sentence, stripped."""
    return [ss or [Sentence(t.strip(), 0, len(t.strip()))] for ss, t in zip(split_sentences_batch(texts), texts)]


class BatchTagging:
    """``tagger(text)`` and ``tagger.pipe(texts)`` for any tagger with ``tag_batch`` and ``batch_size``."""

    batch_size: int

    def tag_batch(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        raise NotImplementedError

    def __call__(self, text: str) -> dict[str, Any]:
        return self.tag_batch([text])[0]

    def pipe(self, texts: Iterable[str], batch_size: int | None = None) -> Iterator[dict[str, Any]]:
        bs = batch_size or self.batch_size
        batch: list[str] = []
        for t in texts:
            batch.append(t)
            if len(batch) >= bs:
                yield from self.tag_batch(batch)
                batch = []
        if batch:
            yield from self.tag_batch(batch)


class Tagger(BatchTagging):
    def __init__(self, model: EmbeddedModel, taxonomy: Taxonomy, thresholds: dict[str, float] | None = None,
                 batch_size: int = 256):
        self.model = model
        self.taxonomy = taxonomy
        self.thresholds = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
        self.batch_size = batch_size
        self._word_names = model.featurizer.word_feature_names()

    @classmethod
    def from_config(cls, root: Path | None = None, model_dir: str | Path | None = None) -> "Tagger":
        root = root or find_root()
        cfg = TaggerConfig.load(root)
        taxonomy = load_taxonomy(root / "configs" / "taxonomy.yaml")
        d = Path(model_dir or cfg.embedded_path)
        d = d if d.is_absolute() else root / d
        if not d.is_dir():
            raise ModelError(f"model directory {d.name} not found; restore it with `git checkout -- models/` or "
                             f"train one with `cxnlp train --data PATH`")
        return cls(EmbeddedModel.load(d, taxonomy), taxonomy, cfg.thresholds, cfg.batch_size)

    @property
    def model_info(self) -> dict[str, str]:
        return {"name": self.model.name, "version": self.model.version}

    def sentence_probs(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Sentence sentiment and Erlebnis/Erfahrung type probabilities for texts read as single sentences."""
        m = self.model
        emb = m.featurizer.embed(list(texts)) if m.featurizer.use_embeddings and texts else None
        return m.predict_features(m.features(list(texts), emb), ["sentiment", "sentence_type"])

    # -- the work ------------------------------------------------------------------------------------
    def tag_batch(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        return self._tag(texts)[0]

    def tag_batch_with_vectors(self, texts: Sequence[str]) -> tuple[list[dict[str, Any]], list[bytes | None] | None]:
        """``tag_batch`` and each text's document vector as stored for emerging topics
        (:mod:`cxnlp.classify.docvec`; None for an empty text), or no list when the model reads no sentence
        embeddings."""
        from cxnlp.classify.docvec import pack

        out, live, demb = self._tag(texts)
        if demb is None:
            return out, None
        vecs: list[bytes | None] = [None] * len(out)
        for i, v in zip(live, pack(demb)):
            vecs[i] = v
        return out, vecs

    def _tag(self, texts: Sequence[str]) -> tuple[list[dict[str, Any]], list[int], np.ndarray | None]:
        texts = [t if isinstance(t, str) else ("" if t is None else str(t)) for t in texts]
        live = [i for i, t in enumerate(texts) if t.strip()]
        live_set = set(live)
        out: list[dict[str, Any]] = [{} if i in live_set else self._empty() for i in range(len(texts))]
        if not live:
            return out, live, None
        ltexts = [texts[i] for i in live]
        sents = sentences_of(ltexts)
        demb, semb = doc_and_sentence_embeddings(self.model.featurizer, sents, ltexts)
        doc_hits = [self.taxonomy.cues(t) for t in ltexts]
        # a sentence's cues are its document's cues inside its span: one regex pass serves both levels
        sent_hits = [[h for h in hs if s.start <= h.start < s.end] for hs, ss in zip(doc_hits, sents) for s in ss]
        Xd = self.model.features(ltexts, demb, doc_hits)
        # a one-sentence document is its own sentence: reuse its row instead of featurising the text twice
        flat, sources, multi_rows, multi_texts, multi_hits = [], [], [], [], []
        k = 0
        for j, ss in enumerate(sents):
            for s in ss:
                if len(ss) == 1 and s.text == ltexts[j].strip():
                    sources.append(("doc", j))
                else:
                    sources.append(("sent", len(multi_texts)))
                    multi_texts.append(s.text)
                    multi_rows.append(k)
                    multi_hits.append(sent_hits[k])
                flat.append(s.text)
                k += 1
        Xm = self.model.features(multi_texts, None if semb is None else semb[multi_rows], multi_hits) \
            if multi_texts else None
        from scipy import sparse

        doc_sel = [i for kind, i in sources if kind == "doc"]
        parts = ([Xd[doc_sel]] if doc_sel else []) + ([Xm] if Xm is not None else [])
        stacked = sparse.vstack(parts, format="csr")
        # back to sentence order: doc-sourced rows come first in ``stacked``, then the multi-sentence rows
        order, nd = [], 0
        for kind, i in sources:
            if kind == "doc":
                order.append(nd)
                nd += 1
            else:
                order.append(len(doc_sel) + i)
        Xs = stacked[order]
        pd = self.model.predict_features(Xd)
        ps = self.model.predict_features(Xs, ["sentiment", "sentence_type"])
        k = 0
        for j, i in enumerate(live):
            n = len(sents[j])
            row = _Row(Xd.indices[Xd.indptr[j]:Xd.indptr[j + 1]], Xd.data[Xd.indptr[j]:Xd.indptr[j + 1]])
            out[i] = self._assemble(ltexts[j], sents[j], {h: p[j] for h, p in pd.items()},
                                    {h: p[k:k + n] for h, p in ps.items()}, row, doc_hits[j])
            k += n
        return out, live, demb

    def _empty(self) -> dict[str, Any]:
        u = round(1 / 3, 4)
        return {"sentiment": {"label": "neutral", "scores": {c: u for c in SENTIMENT}}, "sentences": [],
                "emotions": [], "facets": [], "touchpoints": [], "phase": {"label": "unknown", "score": 1.0,
                                                                           "evidence": []},
                "relevance": {"relevant": False, "score": 0.0}, "offensive": {"flag": False, "score": 0.0},
                "sustainability": {"flag": False, "score": 0.0, "evidence": []}, "churn": {"flag": False,
                                                                                        "evidence": []},
                "experience": {"erlebnis_sentences": 0, "erfahrung_sentences": 0},
                "note": "empty text", "model": self.model_info}

    def _assemble(self, text: str, sents: list[Sentence], pd: dict[str, np.ndarray], ps: dict[str, np.ndarray],
                  x_row, hits: list[CueHit]) -> dict[str, Any]:
        by_label: dict[tuple[str, str], list[CueHit]] = {}
        for h in hits:
            by_label.setdefault((h.group, h.label), []).append(h)
        terms = _Terms(self.model.heads, x_row, self._word_names, text)
        sent_starts = [s.start for s in sents]  # sentences are in text order and do not overlap

        def evidence(group: str, label: str, head: str | None = None, cls: int = 1) -> list[dict[str, Any]]:
            ev = [{"start": h.start, "end": h.end, "text": h.text, "source": "cue"}
                  for h in by_label.get((group, label), [])[:5]]
            if head is not None:
                ev += terms.evidence(head, cls, exclude=ev)
            for e in ev:
                si = bisect_right(sent_starts, e["start"]) - 1
                e["sentence"] = si if si >= 0 and e["start"] < sents[si].end else None
            return ev

        sent_p = pd["sentiment"]
        sentiment = {"label": SENTIMENT[int(np.argmax(sent_p))],
                     "scores": {c: round(float(v), 4) for c, v in zip(SENTIMENT, sent_p)}}
        sentiment["evidence"] = (terms.evidence("sentiment", int(np.argmax(sent_p)), exclude=[])
                                 if sentiment["label"] != "neutral" else [])
        sentences = []
        for si, s in enumerate(sents):
            sp = ps["sentiment"][si]
            tp = ps["sentence_type"][si]
            sentences.append({
                "text": s.text, "start": s.start, "end": s.end,
                "sentiment": {"label": SENTIMENT[int(np.argmax(sp))],
                              "scores": {c: round(float(v), 4) for c, v in zip(SENTIMENT, sp)}},
                "type": SENTENCE_TYPES[int(np.argmax(tp))],
                "type_scores": {c: round(float(v), 4) for c, v in zip(SENTENCE_TYPES, tp)},
            })
        th = self.thresholds
        multi: dict[str, list[dict[str, Any]]] = {}
        for group in ("emotions", "facets", "touchpoints"):
            items = []
            for label in self.taxonomy.labels(group):
                head = f"{group}:{label}"
                if head not in pd:
                    continue
                p = float(pd[head][1])
                if p >= th[group]:
                    item: dict[str, Any] = {"label": label, "score": round(p, 4)}
                    if group == "emotions":
                        item["intensity"] = round(min(1.0, p), 4)
                    if group == "touchpoints":
                        item.update(self.taxonomy.touchpoint_class.get(label, {}))
                    item["evidence"] = evidence(group, label, head)
                    items.append(item)
            items.sort(key=lambda x: -x["score"])
            multi[group] = items
        phase_classes = self.model.heads.heads["phase"].classes
        pp = pd["phase"]
        ph = phase_classes[int(np.argmax(pp))]
        phase = {"label": ph, "score": round(float(np.max(pp)), 4),
                 "evidence": evidence("phases", ph, "phase", int(np.argmax(pp))) if ph != "unknown" else []}
        rel = float(pd["relevance"][1])
        off = float(pd["offensive"][1])
        sus = float(pd["sustainability"][1])
        churn = by_label.get(("churn", "churn"), [])
        return {
            "sentiment": sentiment,
            "sentences": sentences,
            "emotions": multi["emotions"],
            "facets": multi["facets"],
            "touchpoints": multi["touchpoints"],
            "phase": phase,
            "relevance": {"relevant": rel >= th["relevance"], "score": round(rel, 4)},
            "offensive": {"flag": off >= th["offensive"], "score": round(off, 4)},
            "sustainability": {"flag": sus >= th["sustainability"], "score": round(sus, 4),
                               "evidence": evidence("sustainability", "Nachhaltigkeit") if sus >= th["sustainability"] else []},
            "churn": {"flag": bool(churn), "evidence": [{"start": h.start, "end": h.end, "text": h.text} for h in churn]},
            "experience": {"erlebnis_sentences": sum(s["type"] in ("erlebnis", "both") for s in sentences),
                           "erfahrung_sentences": sum(s["type"] in ("erfahrung", "both") for s in sentences)},
            "model": self.model_info,
        }



class _Row(NamedTuple):
    """One text's row of a CSR feature matrix (its column indices and values), without a scipy object."""
    indices: np.ndarray
    data: np.ndarray


class _Terms:
    """Model evidence for one text: the word n-grams that pushed a head's class most, located in the text.
    Their contributions to every head are computed once (lazily) and reused by each tag of the text."""

    def __init__(self, heads: LinearHeads, x_row, names: np.ndarray, text: str):
        self.heads, self.x_row, self.names, self.text = heads, x_row, names, text
        self._c: tuple[list[int], np.ndarray, np.ndarray] | None = None
        self._spans: dict[int, tuple[int, int] | None] = {}

    def evidence(self, head: str, cls: int, exclude: list[dict], k: int = 3) -> list[dict]:
        if self._c is None:
            idx, c = self.heads.word_contributions(self.x_row, len(self.names))
            # the 12 strongest terms of every head row at once (one sort serves every tag of the text)
            top = np.argsort(-c, axis=0, kind="stable")[:12]
            self._c = (idx.tolist(), top.T, c[top, np.arange(c.shape[1])].T)
            self._low = self.text.lower()
        idx, top, topval = self._c
        if not idx:
            return []
        r = self.heads.row(head, cls)
        order = top[r].tolist()
        vals = topval[r].tolist()
        out: list[dict] = []
        taken = [(e["start"], e["end"]) for e in exclude]
        spans = self._spans
        for j, v in zip(order, vals):
            if v <= 0:
                break
            span = spans.get(j, False)
            if span is False:  # where the term is in the text (None: too short to show, or not found as typed)
                term = self.names[idx[j]]
                at = -1 if len(term) < 3 and not term.strip("!?") else self._low.find(term)
                span = spans[j] = None if at < 0 else (at, at + len(term))
            if span is None:
                continue
            s0, s1 = span
            if any(a < s1 and s0 < b for a, b in taken):
                continue
            taken.append(span)
            out.append({"start": s0, "end": s1, "text": self.text[s0:s1], "source": "model", "weight": round(v, 4)})
            if len(out) >= k:
                break
        return out


BACKENDS = ("auto", "fast", "embedded", "transformers")


def gpu_available() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001 - no torch, no GPU
        return False


def resolve_backend(backend: str | None, cfg: TaggerConfig, root: Path) -> str:
    """``fast`` or ``transformers`` for a requested backend (None: the configured one). ``auto`` means the
    transformer on a GPU when its model is there, else the fast CPU model."""
    b = (backend or cfg.backend or "auto").lower()
    if b not in BACKENDS:
        raise ValueError(f"unknown tagger backend {b!r}; choose one of {', '.join(BACKENDS)}")
    if b == "embedded":
        return "fast"
    if b == "auto":
        e5 = Path(cfg.e5_path)
        e5 = e5 if e5.is_absolute() else root / e5
        has_model = bool(cfg.transformers_model) or (e5 / "e5_tagger.json").is_file()
        return "transformers" if gpu_available() and has_model else "fast"
    return b


def load_tagger(root: Path | None = None, backend: str | None = None, model: str | None = None,
                device: str | None = None):
    """The tagger for a backend (see the module doc). ``model`` overrides the backend's model: a model
    directory for ``fast``; for ``transformers`` a cxnlp e5 tagger directory, or a local folder / hub id of a
    Hugging Face sequence-classification model."""
    root = root or find_root()
    cfg = TaggerConfig.load(root)
    b = resolve_backend(backend, cfg, root)
    if b == "fast":
        return Tagger.from_config(root, model_dir=model)
    from cxnlp.classify.e5model import E5Tagger

    if model:
        p = Path(model) if Path(model).is_absolute() else root / model
        if (p / "e5_tagger.json").is_file():
            return E5Tagger.from_config(root, p, device=device)
        from cxnlp.classify.hf import HFTagger

        return HFTagger.from_config(root, model=model)
    if cfg.transformers_model:
        from cxnlp.classify.hf import HFTagger

        return HFTagger.from_config(root)
    return E5Tagger.from_config(root, cfg.e5_path, device=device)
