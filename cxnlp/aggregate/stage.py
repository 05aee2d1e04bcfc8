"""The flow's aggregate stage: per-text Erlebnis/Erfahrung signals for newly tagged feedback, then the
aggregates of the periods they fall in (incremental and idempotent)."""
from __future__ import annotations

from typing import Any

from cxnlp.aggregate.experience import experience_row
from cxnlp.schema import json_value
from cxnlp.store import experience_sql as sql

RATINGS = ("rating_stars", "rating_nps", "rating_csat", "rating_ces")


def aggregate_experience(store, batch_size: int = 5000) -> dict[str, Any]:
    """Computes the experience rows of every text tagged since its last one (one streamed query, written batch by
    batch; each batch marks its days pending in the same transaction), then rebuilds the pending days'
    aggregates, or all of them when the aggregate table is empty."""
    sql.init(store)
    n = 0
    for rows in sql.pending_experience(store, batch_size):
        out = [experience_row(r["id"], r["result"] if isinstance(r["result"], dict) else json_value(r["result"]),
                              {k: r[k] for k in RATINGS}) for r in rows]
        sql.write_experience(store, out, {r["day"] for r in rows})
        n += len(rows)
    pending = sql.pending_days(store)
    empty = store.query("SELECT count(*) FROM experience_agg")[0][0] == 0
    if empty and store.query("SELECT count(*) FROM experience")[0][0]:
        cells = sql.rebuild_aggregates(store, None)
        days: Any = "all"
    else:
        cells = sql.rebuild_aggregates(store, pending)
        days = len(pending)
    sql.clear_pending_days(store, pending)
    return {"texts_updated": n, "periods_recomputed_days": days, "cells": cells}
