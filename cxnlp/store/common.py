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
