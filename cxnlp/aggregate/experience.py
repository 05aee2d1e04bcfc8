"""Kundenerlebnis and Kundenerfahrung per text.

*Erlebnis* — the immediate, emotional reaction: read from the sentences the tagger typed as emotional
(``erlebnis`` or ``both``) and from the emotions it found. *Erfahrung* — the reflected judgement: an explicit
rating when the feedback carries one (stars, NPS, CSAT, CES; never invented), otherwise the evaluative
sentences (``erfahrung`` or ``both``). Each signal is a value in −1…+1 with a confidence, or absent.
"""
from __future__ import annotations

from typing import Any

POSITIVE_EMOTIONS = {"Freude": 1.0, "Vertrauen": 0.8, "Überraschung": 0.3}
NEGATIVE_EMOTIONS = {"Ärger": -1.0, "Enttäuschung": -0.8, "Sorge": -0.5, "Ekel": -1.0, "Verachtung": -1.0}
EMOTIONS = ["Ärger", "Enttäuschung", "Sorge", "Freude", "Überraschung", "Vertrauen", "Ekel", "Verachtung"]


def _polarity(scores: dict[str, float]) -> float:
    return float(scores.get("positive", 0.0)) - float(scores.get("negative", 0.0))


def erlebnis_signal(result: dict[str, Any]) -> dict[str, Any] | None:
    """Valence −1…+1, intensity 0…1, dominant emotions, confidence 0…1 and the sentences it rests on."""
    sents = result.get("sentences") or []
    emo = sorted(result.get("emotions") or [], key=lambda e: -e.get("intensity", e.get("score", 0)))
    weighted = []
    for i, s in enumerate(sents):
        ts = s.get("type_scores") or {}
        w = float(ts.get("erlebnis", 0.0)) + float(ts.get("both", 0.0))
        if s.get("type") in ("erlebnis", "both"):
            weighted.append((i, w, _polarity(s["sentiment"]["scores"])))
    if not weighted and not emo:
        return None
    if weighted:
        wsum = sum(w for _, w, _ in weighted) or 1.0
        valence = sum(w * v for _, w, v in weighted) / wsum
        conf = min(1.0, wsum / len(weighted))
    else:  # no emotional sentence, but emotions were recognised: their signed mix
        tot = sum(e["intensity"] for e in emo) or 1.0
        valence = sum(e["intensity"] * (POSITIVE_EMOTIONS.get(e["label"], 0) + NEGATIVE_EMOTIONS.get(e["label"], 0))
                      for e in emo) / tot
        conf = 0.5 * max(e["intensity"] for e in emo)
    intensity = max([e["intensity"] for e in emo] + [abs(valence) * 0.5])
    return {"valence": round(max(-1.0, min(1.0, valence)), 4), "intensity": round(min(1.0, intensity), 4),
            "emotions": [e["label"] for e in emo[:2]], "confidence": round(conf, 4),
            "sentences": [i for i, _, _ in weighted]}


def rating_value(stars: int | None = None, nps: int | None = None, csat: int | None = None,
                 ces: int | None = None) -> tuple[float, str] | None:
    """An explicit rating normalised to −1…+1 (stars first, then NPS, CSAT, CES). CES here is the 1–7 agreement
    scale 'the company made it easy for me' (7 = easiest)."""
    if stars is not None:
        return (stars - 3) / 2.0, "stars"
    if nps is not None:
        return (nps - 5) / 5.0, "nps"
    if csat is not None:
        return (csat - 3) / 2.0, "csat"
    if ces is not None:
        return (ces - 4) / 3.0, "ces"
    return None


def erfahrung_signal(result: dict[str, Any], ratings: dict[str, int | None]) -> dict[str, Any] | None:
    r = rating_value(ratings.get("rating_stars"), ratings.get("rating_nps"), ratings.get("rating_csat"),
                     ratings.get("rating_ces"))
    if r is not None:
        return {"value": round(r[0], 4), "source": "rating:" + r[1], "confidence": 1.0, "sentences": []}
    sents = result.get("sentences") or []
    weighted = []
    for i, s in enumerate(sents):
        if s.get("type") in ("erfahrung", "both"):
            ts = s.get("type_scores") or {}
            w = float(ts.get("erfahrung", 0.0)) + float(ts.get("both", 0.0))
            weighted.append((i, w, _polarity(s["sentiment"]["scores"])))
    if not weighted:
        return None
    wsum = sum(w for _, w, _ in weighted) or 1.0
    value = sum(w * v for _, w, v in weighted) / wsum
    return {"value": round(max(-1.0, min(1.0, value)), 4), "source": "text",
            "confidence": round(min(1.0, wsum / len(weighted)) * 0.8, 4), "sentences": [i for i, _, _ in weighted]}


def experience_row(feedback_id: str, result: dict[str, Any], ratings: dict[str, int | None]) -> dict[str, Any]:
    """One row of the ``experience`` table."""
    erl = erlebnis_signal(result)
    erf = erfahrung_signal(result, ratings)
    emo = {e["label"]: e.get("intensity", e.get("score", 0.0)) for e in result.get("emotions") or []}
    recommends = (result.get("phase", {}).get("label") == "Befürwortung"
                  and result.get("sentiment", {}).get("label") == "positive")
    return {
        "feedback_id": feedback_id,
        "erlebnis": None if erl is None else erl["valence"],
        "erlebnis_intensity": None if erl is None else erl["intensity"],
        "erlebnis_confidence": None if erl is None else erl["confidence"],
        "dominant_emotions": [] if erl is None else erl["emotions"],
        "erfahrung": None if erf is None else erf["value"],
        "erfahrung_source": None if erf is None else erf["source"],
        "erfahrung_confidence": None if erf is None else erf["confidence"],
        "sentiment": (result.get("sentiment") or {}).get("label"),
        "emotions": emo,
        "recommends": bool(recommends),
        "churn": bool((result.get("churn") or {}).get("flag")),
        "relevant": bool((result.get("relevance") or {}).get("relevant", True)),
    }
