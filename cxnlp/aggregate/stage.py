"""The flow's aggregate stage: per-text Erlebnis/Erfahrung signals for newly tagged feedback, then the
aggregates of the periods they fall in (incremental and idempotent)."""
from __future__ import annotations

import json
from typing import Any

from cxnlp.aggregate.experience import experience_row
from cxnlp.store import experience_sql as sql


def aggregate_experience(store, batch_size: int = 5000) -> dict[str, Any]:
    sql.init(store)
    changed: list[str] = []
    while True:
        rows = sql.pending_experience(store, batch_size)
        if not rows:
            break
        out = []
        for r in rows:
            result = r["result"] if isinstance(r["result"], dict) else json.loads(r["result"])
            out.append(experience_row(r["id"], result, {k: r[k] for k in ("rating_stars", "rating_nps",
                                                                         "rating_csat", "rating_ces")}))
        sql.write_experience(store, out)
        changed += [r["id"] for r in rows]
    empty = store.query("SELECT count(*) FROM experience_agg")[0][0] == 0
    if empty and store.query("SELECT count(*) FROM experience")[0][0]:
        cells = sql.rebuild_aggregates(store, None)
        days = "all"
    else:
        days_list = sorted(set(sql.days_of(store, changed)) | set(sql.pending_days(store)))
        cells = sql.rebuild_aggregates(store, days_list)
        days = len(days_list)
    sql.clear_pending_days(store, sql.pending_days(store) if days == "all" else days_list)
    return {"texts_updated": len(changed), "periods_recomputed_days": days, "cells": cells}
