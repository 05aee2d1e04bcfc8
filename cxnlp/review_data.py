"""Analysts' corrections as labelled training data (`cxnlp train --corrections`).

Every item an analyst corrected or confirmed in the review app becomes one :class:`Example`: its labels start
from the model's current tags and the latest correction per task overrides them (an older correction of the
same task is superseded, a confirmation makes the model's value a checked label). Examples are training-only
(``split="train"``) and weigh ``weight`` (5 by default) against one ordinary example.
"""
from __future__ import annotations

from typing import Any

from cxnlp.classify.data import Example
from cxnlp.store import review_sql

CORRECTION_WEIGHT = 5.0


def _labels(values: dict[str, Any]) -> dict[str, Any]:
    sentiment = values.get("sentiment")
    phase = values.get("phase")
    emotions = values.get("emotion")
    return {
        "sentiment": sentiment if sentiment in review_sql.SENTIMENTS else None,
        "phase": phase or None,
        "relevant": values.get("relevance"),
        "offensive": values.get("offensive"),
        "sustainability": values.get("sustainability"),
        "facets": None if values.get("facet") is None else list(values["facet"]),
        "touchpoints": None if values.get("touchpoint") is None else list(values["touchpoint"]),
        # annotated emotions count as present (the training target treats >= 0.3 as present)
        "emotions": None if emotions is None else {e: 1.0 for e in emotions},
    }


def corrections_as_examples(store, weight: float = CORRECTION_WEIGHT,
                            only_corrected_tasks: bool = False) -> list[Example]:
    """One training example per corrected/confirmed item (latest correction per feedback and task).

    With ``only_corrected_tasks`` the tasks an analyst did not touch stay unlabelled (None) instead of taking
    the model's current tags."""
    out: list[Example] = []
    for item in review_sql.latest_corrections_for_training(store):
        if only_corrected_tasks:
            values = {t: None for t in review_sql.CORRECTABLE_TASKS}
        else:
            values = dict(item["model_values"])
        values.update(item["corrections"])
        out.append(Example(text=item["text"], corpus="corrections", split="train", uid=f"corr-{item['feedback_id']}",
                           weight=weight, domain="corrections", **_labels(values)))
    return out
