"""Store code that is the same SQL on every backend (DuckDB and PostgreSQL)."""
from __future__ import annotations

from typing import Any


def summary(store) -> dict[str, Any]:
    """Store-wide counts: what is stored, duplicated, quarantined (and why), per source."""
    per_source = store.query_dicts(
        "SELECT source_name, source, count(*) AS stored, min(created_at) AS first, max(created_at) AS last "
        "FROM feedback GROUP BY source_name, source ORDER BY source_name")
    dups = dict(store.query("SELECT source_name, count(*) FROM duplicates GROUP BY source_name"))
    quar = dict(store.query("SELECT source_name, count(*) FROM quarantine GROUP BY source_name"))
    for row in per_source:
        row["duplicates"] = dups.get(row["source_name"], 0)
        row["quarantined"] = quar.get(row["source_name"], 0)
    return {
        "sources": per_source,
        "quarantine_reasons": store.query_dicts(
            "SELECT source_name, reason, count(*) AS rows FROM quarantine GROUP BY source_name, reason "
            "ORDER BY source_name, rows DESC, reason"),
        "languages": store.query_dicts(
            "SELECT language, count(*) AS rows FROM feedback GROUP BY language ORDER BY rows DESC, language"),
        "totals": {t: store.count(t) for t in ("feedback", "duplicates", "quarantine")},
    }


def tag_tables(results, tag_rows):
    """``write_tags``' Python arguments — ``[(feedback_id, result dict)]`` and ``[(feedback_id, task, label,
    score, evidence)]`` — as the Arrow tables of ``write_tag_tables`` (JSON text for result and evidence)."""
    import json

    import pyarrow as pa

    docs = pa.table({"id": pa.array([fid for fid, _ in results], pa.string()),
                     "result": pa.array([json.dumps(r, ensure_ascii=False) for _, r in results], pa.string())})
    tags = pa.table({"feedback_id": pa.array([r[0] for r in tag_rows], pa.string()),
                     "task": pa.array([r[1] for r in tag_rows], pa.string()),
                     "label": pa.array([r[2] for r in tag_rows], pa.string()),
                     "score": pa.array([None if r[3] is None else float(r[3]) for r in tag_rows], pa.float64()),
                     "evidence": pa.array([json.dumps(r[4], ensure_ascii=False) for r in tag_rows], pa.string())})
    return docs, tags
