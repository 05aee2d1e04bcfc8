"""The own labelled set (data/labelled/*.jsonl) is training and evaluation data: every file must follow one
format, use only the taxonomy's labels, and hold no repeated texts (a repeat would leak between the
deterministic train and held-out parts)."""
from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from cxnlp.classify.data import load_own

REPO = Path(__file__).resolve().parents[1]
LABELLED = REPO / "data" / "labelled"
FILES = sorted(LABELLED.glob("*.jsonl"))
SENTIMENTS = {"negative", "neutral", "positive"}
TYPES = {"erlebnis", "erfahrung", "both", "neither"}
KEYS = {"id", "domain", "text", "sentences", "sentiment", "emotions", "facets", "sustainability", "touchpoints",
        "phase", "relevant", "offensive", "rating"}


def _taxonomy_labels() -> dict[str, set[str]]:
    from cxnlp.classify.taxonomy import load_taxonomy

    tax = load_taxonomy(REPO / "configs" / "taxonomy.yaml")
    return {g: set(tax.labels(g)) for g in ("facets", "touchpoints", "phases", "emotions")}


def check_record(o: dict, labels: dict[str, set[str]]) -> list[str]:
    """What is wrong with one record (empty when it is well-formed)."""
    errs = []
    missing = KEYS - set(o)
    if missing:
        return [f"missing keys {sorted(missing)}"]
    if not isinstance(o["text"], str) or not o["text"].strip():
        errs.append("empty text")
    if o["sentiment"] not in SENTIMENTS:
        errs.append(f"sentiment {o['sentiment']!r}")
    sents = o["sentences"]
    if not sents:
        errs.append("no sentences")
    pos = 0
    for s in sents:
        if s.get("sentiment") not in SENTIMENTS or s.get("type") not in TYPES:
            errs.append(f"sentence labels {s.get('sentiment')!r}/{s.get('type')!r}")
        at = o["text"].find(s.get("text", "\0"), pos)
        if at < 0:
            errs.append(f"sentence not in the text in order: {s.get('text')!r}")
        else:
            pos = at + len(s["text"])
    if not isinstance(o["emotions"], dict) or any(k not in labels["emotions"] or not 0 < float(v) <= 1
                                                   for k, v in o["emotions"].items()):
        errs.append(f"emotions {o['emotions']!r}")
    for key, group in (("facets", "facets"), ("touchpoints", "touchpoints")):
        if not isinstance(o[key], list) or set(o[key]) - labels[group]:
            errs.append(f"{key} {o[key]!r}")
    if o["phase"] not in labels["phases"] | {"unknown"}:
        errs.append(f"phase {o['phase']!r}")
    for key in ("sustainability", "relevant", "offensive"):
        if not isinstance(o[key], bool):
            errs.append(f"{key} {o[key]!r}")
    if o["rating"] is not None and o["rating"] not in (1, 2, 3, 4, 5):
        errs.append(f"rating {o['rating']!r}")
    return errs


def _norm(t: str) -> str:
    return re.sub(r"\W+", " ", t.lower()).strip()


def test_the_checker_finds_what_is_wrong():
    labels = _taxonomy_labels()
    good = {"id": "x-1", "domain": "review", "text": "Schnell geliefert. Passt!",
            "sentences": [{"text": "Schnell geliefert.", "sentiment": "positive", "type": "erfahrung"},
                          {"text": "Passt!", "sentiment": "positive", "type": "erlebnis"}],
            "sentiment": "positive", "emotions": {"Freude": 0.6}, "facets": ["Shopping-Erfahrung"],
            "sustainability": False, "touchpoints": ["Lieferung/Versand"], "phase": "Kauf", "relevant": True,
            "offensive": False, "rating": 5}
    assert check_record(good, labels) == []
    assert check_record({**good, "sentiment": "mixed"}, labels) == ["sentiment 'mixed'"]
    assert check_record({**good, "facets": ["Hotel-Erfahrung"]}, labels)
    assert check_record({**good, "rating": 6}, labels)
    swapped = {**good, "sentences": list(reversed(good["sentences"]))}
    assert any("in order" in e for e in check_record(swapped, labels))


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_record_is_well_formed(path):
    labels = _taxonomy_labels()
    bad = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            errs = check_record(json.loads(line), labels)
            if errs:
                bad.append(f"line {n}: {'; '.join(errs)}")
    assert not bad, "\n".join(bad[:20])


def test_ids_and_texts_are_unique_across_files():
    ids, texts = Counter(), Counter()
    for p in FILES:
        for line in p.read_text(encoding="utf-8").splitlines():
            if line.strip():
                o = json.loads(line)
                ids[o["id"]] += 1
                texts[_norm(o["text"])] += 1
    assert [i for i, c in ids.items() if c > 1] == []
    repeated = [t for t, c in texts.items() if c > 1]
    assert len(repeated) <= 0.01 * len(texts), repeated[:10]


def test_held_out_part_is_a_fifth_of_every_file():
    exs = load_own(LABELLED)
    for corpus in {e.corpus for e in exs}:
        part = [e for e in exs if e.corpus == corpus]
        share = sum(e.split == "test" for e in part) / len(part)
        assert 0.14 < share < 0.26, (corpus, share)
