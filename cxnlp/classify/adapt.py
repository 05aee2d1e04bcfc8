"""Training data that is not hand-labelled: a teacher's soft labels (distillation) and a company's own
ratings (weak labels).

Distillation (``cxnlp train --distill``): the fine-tuned e5 tagger reads unlabelled German feedback — the
public sets' training texts (their gold labels stay; the teacher only fills the tasks they are not annotated
for, e.g. facets and touchpoints of a tweet), the shipped sample data and the user's stored feedback — and its
probabilities become weighted training rows of the fast model. Held-out texts are never distilled, so the
held-out figures stay honest.

Ratings (``cxnlp train --from-ratings``): stored feedback that carries stars, NPS or CSAT gets a weak
sentiment label from that rating (the reflected Kundenerfahrung teaching the model that reads the text). A
deterministic 20 % of the rated texts is held out, and the before/after figures on it go into the model card.
"""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
from scipy.stats import spearmanr

from cxnlp.classify.data import Example
from cxnlp.classify.model import SENTIMENT

log = logging.getLogger("cxnlp.adapt")

DISTILL_TASKS = ("sentiment", "relevance", "offensive", "sustainability", "emotions", "facets", "touchpoints",
                 "phase")


def _gold_tasks(e: Example) -> set[str]:
    have = set()
    if e.sentiment:
        have.add("sentiment")
    for task, key in (("relevance", "relevant"), ("offensive", "offensive"), ("sustainability", "sustainability")):
        if getattr(e, key) is not None:
            have.add(task)
    for g in ("emotions", "facets", "touchpoints"):
        if getattr(e, g) is not None:
            have.add(g)
    if e.phase:
        have.add("phase")
    return have


def attach_soft_labels(teacher, examples: Sequence[Example], batch_size: int | None = None,
                       tasks: Sequence[str] = DISTILL_TASKS, over_gold: bool = False) -> int:
    """Sets ``e.soft`` from the teacher (an E5Classifier) for every task of ``tasks`` the example has no gold
    label for; with ``over_gold`` for every task of ``tasks`` (knowledge distillation on gold-labelled texts:
    the training targets then mix the gold label with the teacher's distribution). Soft labels already there for
    other tasks stay. Returns how many examples received soft labels."""
    def wanted(e: Example) -> list[str]:
        gold = set() if over_gold else _gold_tasks(e)
        return [t for t in tasks if t not in gold]

    todo = [e for e in examples if e.text and e.text.strip() and wanted(e)]
    if not todo:
        return 0
    p = teacher.predict([e.text for e in todo], batch_size=batch_size)
    for j, e in enumerate(todo):
        e.soft = {**(e.soft or {}), **{t: np.atleast_1d(p[t][j]).astype(float).round(4).tolist() for t in wanted(e)
                                       if t in p}}
    return len(todo)


# the domain of unlabelled examples whose texts a generator wrote from phrase banks (the sample exports): their
# sentences are not distilled one by one (cxnlp.classify.train.distilled_sentences)
GENERATED = "generated"


def unlabelled_examples(texts: Iterable[str], corpus: str = "distill", domain: str | None = None) -> list[Example]:
    """Unlabelled texts as training examples (deduplicated, empty ones dropped)."""
    seen: set[str] = set()
    out = []
    for t in texts:
        t = (t or "").strip()
        if not t or t in seen:
            continue
        seen.add(t)
        uid = hashlib.blake2b(t.encode("utf-8"), digest_size=8).hexdigest()
        out.append(Example(text=t, corpus=corpus, split="train", uid=f"{corpus}-{uid}", domain=domain))
    return out


def sample_texts(folder: str | Path) -> list[str]:
    """Texts of the shipped sample exports (any reader cxnlp ingests; the text column by common names)."""
    import json

    out: list[str] = []

    def decode(p: Path) -> str:
        raw = p.read_bytes()
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError:  # exports from older systems: Windows-1252
            return raw.decode("cp1252", errors="replace")

    for p in sorted(Path(folder).glob("*")):
        if p.suffix == ".jsonl":
            for line in decode(p).splitlines():
                try:
                    o = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(o, dict):
                    continue
                for k in ("text", "body", "message", "content", "review_text", "comment"):
                    if isinstance(o.get(k), str):
                        out.append(o[k])
                        break
        elif p.suffix == ".csv":
            import csv

            import io

            with io.StringIO(decode(p), newline="") as f:
                sample = f.read(4096)
                f.seek(0)
                try:
                    dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
                except csv.Error:
                    dialect = csv.excel
                for row in csv.DictReader(f, dialect=dialect):
                    for k in ("text", "body", "message", "content", "Text", "Nachricht", "Kommentar", "review_text",
                              "Bewertungstext", "beschreibung", "Beschreibung"):
                        if isinstance(row.get(k), str) and row[k].strip():
                            out.append(row[k])
                            break
    return out


def stored_texts(store, limit: int = 200_000) -> list[str]:
    """German texts from the store (a deterministic sample by id when there are more than ``limit``)."""
    rows = store.query("SELECT text FROM feedback WHERE coalesce(language, 'de') = 'de' ORDER BY id LIMIT ?",
                       [limit])
    return [r[0] for r in rows]


def agreement(student, teacher, examples: Sequence[Example],
              student_labels: Sequence[str] | None = None) -> dict[str, Any]:
    """How often the student (fast tagger) gives the teacher's document sentiment label, per corpus.
    ``student_labels``: the student's labels for ``examples`` (in their order) where the caller has them already
    (the held-out evaluation tagged them); ``student`` tags them when None."""
    if student_labels is not None and len(student_labels) != len(examples):
        raise ValueError(f"{len(student_labels)} student labels for {len(examples)} examples")
    out: dict[str, Any] = {}
    groups: dict[str, list[int]] = {}
    for i, e in enumerate(examples):
        groups.setdefault(e.corpus, []).append(i)
    for corpus, idx in sorted(groups.items()):
        texts = [examples[i].text for i in idx]
        s = ([r["sentiment"]["label"] for r in student.tag_batch(texts)] if student_labels is None
             else [student_labels[i] for i in idx])
        t = [SENTIMENT[int(i)] for i in teacher.predict(texts)["sentiment"].argmax(1)]
        out[corpus] = {"n": len(texts), "agreement": round(float(np.mean([a == b for a, b in zip(s, t)])), 4)}
    return out


# -- ratings ---------------------------------------------------------------------------------------------
def rating_label(stars=None, nps=None, csat=None) -> tuple[str | None, float | None]:
    """(weak sentiment label, rating on a 0..1 scale) from whichever rating is present: stars and CSAT 1–5
    (1–2 negative, 3 neutral, 4–5 positive), NPS 0–10 (0–6 detractor → negative, 7–8 passive → neutral,
    9–10 promoter → positive)."""
    if stars is not None:
        v = int(stars)
        return ("negative" if v <= 2 else "neutral" if v == 3 else "positive"), (v - 1) / 4
    if csat is not None:
        v = int(csat)
        return ("negative" if v <= 2 else "neutral" if v == 3 else "positive"), (v - 1) / 4
    if nps is not None:
        v = int(nps)
        return ("negative" if v <= 6 else "neutral" if v <= 8 else "positive"), v / 10
    return None, None


def ratings_examples(store, test_share: float = 0.2, limit: int = 200_000) -> list[Example]:
    """Rated feedback from the store as weakly labelled examples; a deterministic ``test_share`` by id is
    held out ('test')."""
    rows = store.query(
        "SELECT id, text, rating_stars, rating_nps, rating_csat, source FROM feedback "
        "WHERE coalesce(rating_stars, rating_nps, rating_csat) IS NOT NULL ORDER BY id LIMIT ?", [limit])
    out = []
    for fid, text, stars, nps, csat, source in rows:
        label, scaled = rating_label(stars, nps, csat)
        if label is None or not (text or "").strip():
            continue
        h = int(hashlib.blake2b(fid.encode("utf-8"), digest_size=8).hexdigest(), 16) % 1000
        out.append(Example(text=text, corpus="ratings", split="test" if h < test_share * 1000 else "train",
                           sentiment=label, uid=fid, domain=source, weight=1.0,
                           rating=None if scaled is None else int(round(scaled * 4)) + 1))
    return out


def rating_metrics(tagger, examples: Sequence[Example]) -> dict[str, Any]:
    """Agreement of the text model with the ratings on held-out rated texts: micro/macro-F1 against the weak
    label and Spearman between p(positive) − p(negative) and the rating."""
    from cxnlp.classify.evaluate import _single

    if not examples:
        return {}
    res = tagger.tag_batch([e.text for e in examples])
    m = _single([e.sentiment for e in examples], [r["sentiment"]["label"] for r in res], SENTIMENT)
    score = [r["sentiment"]["scores"]["positive"] - r["sentiment"]["scores"]["negative"] for r in res]
    rho = spearmanr(score, [e.rating for e in examples]).statistic if len(examples) >= 10 else float("nan")
    return {"n": len(examples), "micro_f1": m["micro_f1"], "macro_f1": m["macro_f1"],
            "spearman": None if rho != rho else round(float(rho), 4)}
