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
from typing import Any, Iterable, Iterator, Sequence

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
        info = {"name": self.model.name, "version": self.model.version}
        if self.model.featurizer.use_embeddings:
            from cxnlp.classify.use_encoder import use_encoder

            # the arithmetic of the sentence encoder the featurizer uses (int8 / bfloat16 / float32, chosen by the
            # CPU): results of one text may differ in the third decimal place between them
            info["precision"] = use_encoder().precision
        return info

    def sentence_probs(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Sentence sentiment and Erlebnis/Erfahrung type probabilities for texts read as single sentences."""
        m = self.model
        emb = m.featurizer.embed(list(texts)) if m.featurizer.use_embeddings and texts else None
        X, E = m.features_split(list(texts), emb)
        return m.predict_features(X, ["sentiment", "sentence_type"], E)

    def word_terms(self, texts: Sequence[str]) -> "_BatchTerms":
        """The word n-grams of each text with their pull on every head row (model evidence), from the word
        features alone: no sentence encoder, no other features. For a tagger whose scores come from elsewhere."""
        return _BatchTerms(self.model.heads, self.model.featurizer.words(texts), self._word_names)

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
        sent_hits = [hs if len(ss) == 1 and ss[0].start <= 0 and ss[0].end >= len(t) else
                     [h for h in hs if s.start <= h.start < s.end]
                     for hs, ss, t in zip(doc_hits, sents, ltexts) for s in ss]
        Xd, Ed = self.model.features_split(ltexts, demb, doc_hits)
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
        Xm, Em = self.model.features_split(multi_texts, None if semb is None else semb[multi_rows], multi_hits) \
            if multi_texts else (None, None)
        from scipy import sparse

        doc_sel = [i for kind, i in sources if kind == "doc"]
        # back to sentence order: doc-sourced rows come first when stacked, then the multi-sentence rows
        order, nd = [], 0
        for kind, i in sources:
            if kind == "doc":
                order.append(nd)
                nd += 1
            else:
                order.append(len(doc_sel) + i)

        def sentence_rows(doc_block, multi_block, stack):
            parts = ([doc_block[doc_sel]] if doc_sel else []) + ([multi_block] if multi_block is not None else [])
            return stack(parts)[order]

        Xs = sentence_rows(Xd, Xm, lambda parts: sparse.vstack(parts, format="csr"))
        Es = None if Ed is None else sentence_rows(Ed, Em, np.concatenate)
        pd = self.model.predict_features(Xd, emb=Ed)
        ps = self.model.predict_features(Xs, ["sentiment", "sentence_type"], Es)
        scores = _BatchScores(pd, ps, self.taxonomy, self.thresholds, self.model.heads.heads["phase"].classes)
        terms = _BatchTerms(self.model.heads, Xd, self._word_names)
        terms.rank(self._evidence_rows(scores, len(live)))
        k = 0
        for j, i in enumerate(live):
            n = len(sents[j])
            out[i] = self._assemble(ltexts[j], sents[j], scores, j, k, terms.of(j, ltexts[j]), doc_hits[j])
            k += n
        return out, live, demb

    def _evidence_rows(self, sc: "_BatchScores", n: int) -> list[tuple[int, int]]:
        """The (document, head row) pairs whose model evidence :meth:`_assemble` will show: the sentiment class
        (unless neutral), each selected tag, the phase (unless unknown). A row missed here is still ranked when
        a tag asks for it, only one at a time."""
        heads = self.model.heads
        pairs = []
        for j in range(n):
            s_cls = sc.sentiment_cls[j]
            if s_cls != _NEUTRAL:
                pairs.append((j, heads.row("sentiment", s_cls)))
            for per_doc in sc.selected.values():
                pairs.extend((j, heads.row(head, 1)) for _, head, _ in per_doc[j])
            p_cls = sc.phase[j][0]
            if sc.phase_classes[p_cls] != "unknown":
                pairs.append((j, heads.row("phase", p_cls)))
        return pairs

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

    def _assemble(self, text: str, sents: list[Sentence], sc: "_BatchScores", j: int, k: int, terms: "_Terms",
                  hits: list[CueHit]) -> dict[str, Any]:
        """The result of document ``j`` of the batch, whose sentences are rows ``k``.. of the sentence scores."""
        by_label: dict[tuple[str, str], list[CueHit]] = {}
        for h in hits:
            by_label.setdefault((h.group, h.label), []).append(h)
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

        s_cls = sc.sentiment_cls[j]
        sentiment = {"label": SENTIMENT[s_cls], "scores": dict(zip(SENTIMENT, sc.sentiment[j]))}
        sentiment["evidence"] = terms.evidence("sentiment", s_cls, exclude=[]) if s_cls != _NEUTRAL else []
        sentences = []
        for si, s in enumerate(sents):
            r = k + si
            t_cls = sc.sent_type_cls[r]
            sentences.append({
                "text": s.text, "start": s.start, "end": s.end,
                "sentiment": {"label": SENTIMENT[sc.sent_sentiment_cls[r]],
                              "scores": dict(zip(SENTIMENT, sc.sent_sentiment[r]))},
                "type": SENTENCE_TYPES[t_cls],
                "type_scores": dict(zip(SENTENCE_TYPES, sc.sent_type[r])),
            })
        multi: dict[str, list[dict[str, Any]]] = {}
        for group, per_doc in sc.selected.items():
            items = []
            for label, head, score in per_doc[j]:
                item: dict[str, Any] = {"label": label, "score": score}
                if group == "emotions":
                    item["intensity"] = min(1.0, score)
                if group == "touchpoints":
                    item.update(self.taxonomy.touchpoint_class.get(label, {}))
                item["evidence"] = evidence(group, label, head)
                items.append(item)
            multi[group] = items
        p_cls, p_score = sc.phase[j]
        ph = sc.phase_classes[p_cls]
        phase = {"label": ph, "score": p_score,
                 "evidence": evidence("phases", ph, "phase", p_cls) if ph != "unknown" else []}
        rel, off, sus = sc.relevance[j], sc.offensive[j], sc.sustainability[j]
        th = self.thresholds
        churn = by_label.get(("churn", "churn"), [])
        return {
            "sentiment": sentiment,
            "sentences": sentences,
            "emotions": multi["emotions"],
            "facets": multi["facets"],
            "touchpoints": multi["touchpoints"],
            "phase": phase,
            "relevance": {"relevant": rel[0] >= th["relevance"], "score": rel[1]},
            "offensive": {"flag": off[0] >= th["offensive"], "score": off[1]},
            "sustainability": {"flag": sus[0] >= th["sustainability"], "score": sus[1],
                               "evidence": evidence("sustainability", "Nachhaltigkeit") if sus[0] >= th["sustainability"] else []},
            "churn": {"flag": bool(churn), "evidence": [{"start": h.start, "end": h.end, "text": h.text} for h in churn]},
            "experience": {"erlebnis_sentences": sum(s["type"] in ("erlebnis", "both") for s in sentences),
                           "erfahrung_sentences": sum(s["type"] in ("erfahrung", "both") for s in sentences)},
            "model": self.model_info,
        }


_NEUTRAL = SENTIMENT.index("neutral")


def _round4(a: np.ndarray) -> np.ndarray:
    """``a`` rounded to 4 places, float64: for float32 input exactly what ``round(float(v), 4)`` gives for each
    value (v * 10**4 is exact in float64 for a float32 v, rint rounds it half to even like ``round``, and the
    division by 10**4 is correctly rounded like ``round``'s result), at numpy's speed instead of one call per
    value. Other input goes through ``round`` itself."""
    if a.dtype != np.float32:
        return np.array([round(v, 4) for v in np.asarray(a, np.float64).ravel().tolist()]).reshape(a.shape)
    return np.rint(a.astype(np.float64) * 1e4) / 1e4


def _rounded(a: np.ndarray) -> list[list[float]]:
    """Each row of a probability matrix as Python floats rounded to 4 places (``round``, as in every result)."""
    return _round4(a).tolist()


class _BatchScores:
    """A batch's head probabilities turned into what the results show, with one numpy pass per head instead of
    per text: rounded class scores and argmax classes (documents and sentences), and per document the
    multi-label tags above their threshold, in taxonomy order then by score (highest first)."""

    def __init__(self, pd: dict[str, np.ndarray], ps: dict[str, np.ndarray], taxonomy: Taxonomy,
                 thresholds: dict[str, float], phase_classes: list[str]):
        n = len(pd["sentiment"])
        self.sentiment = _rounded(pd["sentiment"])
        self.sentiment_cls = np.argmax(pd["sentiment"], axis=1).tolist()
        self.sent_sentiment = _rounded(ps["sentiment"])
        self.sent_sentiment_cls = np.argmax(ps["sentiment"], axis=1).tolist()
        self.sent_type = _rounded(ps["sentence_type"])
        self.sent_type_cls = np.argmax(ps["sentence_type"], axis=1).tolist()
        self.selected: dict[str, list[list[tuple[str, str, float]]]] = {}
        for group in ("emotions", "facets", "touchpoints"):
            heads = [(label, f"{group}:{label}") for label in taxonomy.labels(group) if f"{group}:{label}" in pd]
            per_doc: list[list[tuple[str, str, float]]] = [[] for _ in range(n)]
            if heads:
                P = np.column_stack([pd[h][:, 1] for _, h in heads])
                rows, cols = np.nonzero(P >= thresholds[group])
                for r, c, p in zip(rows.tolist(), cols.tolist(), _round4(P[rows, cols]).tolist()):
                    per_doc[r].append((heads[c][0], heads[c][1], p))
                for items in per_doc:
                    if len(items) > 1:
                        items.sort(key=lambda x: -x[2])
            self.selected[group] = per_doc
        self.phase_classes = phase_classes
        pp = pd["phase"]
        self.phase = list(zip(np.argmax(pp, axis=1).tolist(), _round4(np.max(pp, axis=1)).tolist()))
        for name in ("relevance", "offensive", "sustainability"):
            p = pd[name][:, 1]
            setattr(self, name, list(zip(p.tolist(), _round4(p).tolist())))


EVIDENCE_CANDIDATES = 12  # a head row's strongest terms tried, in order, as a tag's model evidence


class _BatchTerms:
    """Every document's word terms and their contribution to every head row, gathered for the whole batch at
    once; :meth:`of` gives one document's :class:`_Terms`."""

    def __init__(self, heads: LinearHeads, X, names: np.ndarray):
        self.heads, self.names = heads, names
        n_word = len(names)
        ind, ptr = X.indices, X.indptr
        pos = np.flatnonzero(ind < n_word)  # entries of word features, row by row
        self.idx = ind[pos]
        self.contrib = heads.WT[self.idx] * X.data[pos, None]
        self.bounds = np.searchsorted(pos, ptr).tolist()  # document j's entries: bounds[j]:bounds[j + 1]
        self.ranked: list[dict[int, tuple[list[int], list[float]]]] = [{} for _ in range(len(ptr) - 1)]

    def rank(self, pairs: Sequence[tuple[int, int]], k: int = EVIDENCE_CANDIDATES) -> None:
        """For each (document, head row) pair, the document's ``k`` strongest terms with a positive pull on that
        row, strongest first (ties in column order), as :class:`_Terms` ranks a row: one sort for the batch
        instead of one per pair."""
        pairs = list(dict.fromkeys(pairs))
        if not pairs:
            return
        bounds = np.asarray(self.bounds, np.int64)
        docs = np.fromiter((d for d, _ in pairs), np.int64, len(pairs))
        rows = np.fromiter((r for _, r in pairs), np.int64, len(pairs))
        first, lens = bounds[docs], bounds[docs + 1] - bounds[docs]
        group = np.repeat(np.arange(len(pairs)), lens)
        entry = np.arange(int(lens.sum())) - np.repeat(np.cumsum(lens) - lens, lens) + first[group]
        val = self.contrib[entry, rows[group]]
        pos = val > 0
        group, entry, val = group[pos], entry[pos], val[pos]
        order = np.lexsort((entry, -val, group))  # by pair, then strongest first, then column order
        group, entry, val = group[order], entry[order], val[order]
        start = np.searchsorted(group, np.arange(len(pairs)))
        top = np.arange(len(group)) - start[group] < k
        group, entry, val = group[top], entry[top], val[top]
        cuts = np.searchsorted(group, np.arange(len(pairs) + 1)).tolist()
        local, vals = (entry - first[group]).tolist(), val.tolist()
        for p, (d, r) in enumerate(pairs):
            a, b = cuts[p], cuts[p + 1]
            self.ranked[d][r] = (local[a:b], vals[a:b])

    def of(self, j: int, text: str) -> "_Terms":
        a, b = self.bounds[j], self.bounds[j + 1]
        return _Terms(self.heads, self.idx[a:b], self.contrib[a:b], self.names, text, self.ranked[j])


class _Terms:
    """Model evidence for one text: the word n-grams that pushed a head's class most, located in the text.
    ``idx``: the text's word-feature columns; ``contrib``: their contributions to every head row's logit
    (n_terms, n_rows). A head row's strongest terms are sorted when a tag first asks for them (a text's tags
    read a few of the heads' rows), and reused by each tag."""

    def __init__(self, heads: LinearHeads, idx: np.ndarray, contrib: np.ndarray, names: np.ndarray, text: str,
                 ranked: dict[int, tuple[list[int], list[float]]] | None = None):
        self.heads, self.names, self.text = heads, names, text
        self._idx, self._contrib = idx, contrib
        self._top: dict[int, tuple[list[int], list[float]]] = ranked if ranked is not None else {}  # by head row
        self._low: str | None = None
        self._spans: dict[int, tuple[int, int] | None] = {}

    def rank_row(self, r: int) -> tuple[list[int], list[float]]:
        """Head row ``r``'s EVIDENCE_CANDIDATES strongest terms (positions in this text's terms) and their pulls,
        strongest first, ties in column order (the pulls after the last positive one are never shown)."""
        col = self._contrib[:, r]
        best = np.argsort(-col, kind="stable")[:EVIDENCE_CANDIDATES]
        return best.tolist(), col[best].tolist()

    def evidence(self, head: str, cls: int, exclude: list[dict], k: int = 3) -> list[dict]:
        if not len(self._idx):
            return []
        r = self.heads.row(head, cls)
        top = self._top.get(r)
        if top is None:
            top = self._top[r] = self.rank_row(r)
        if self._low is None:
            self._low = self.text.lower()
        idx = self._idx
        order, vals = top
        out: list[dict] = []
        taken = [(e["start"], e["end"]) for e in exclude]
        spans = self._spans
        for j, v in zip(order, vals):
            if v <= 0:
                break
            span = spans.get(j, False)
            if span is False:  # where the term is in the text (None: too short to show, or not found as typed)
                term = self.names[int(idx[j])]
                at = -1 if len(term) < 3 and not term.strip("!?") else self._low.find(term)
                span = spans[j] = None if at < 0 else (at, at + len(term))
            if span is None:
                continue
            s0, s1 = span
            for a, b in taken:
                if a < s1 and s0 < b:
                    break
            else:
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
