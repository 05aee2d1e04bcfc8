"""Store code that is the same SQL on every backend (DuckDB and PostgreSQL)."""
from __future__ import annotations

import hashlib
import json
import os
import socket
from datetime import datetime, timedelta
from typing import Any


TABLE_EXISTS = ("SELECT count(*) FROM information_schema.tables WHERE table_name = ? "
                "AND table_type = 'BASE TABLE'")


def has_table(store, name: str) -> bool:
    """Whether the store has this table (on DuckDB some are created by the stage that first needs them)."""
    return bool(store.query(TABLE_EXISTS, [name])[0][0])


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
    import pyarrow as pa

    from cxnlp.schema import json_text  # orjson: the JSON of a tagged text costs a tenth of json.dumps's time

    docs = pa.table({"id": pa.array([fid for fid, _ in results], pa.string()),
                     "result": pa.array([json_text(r) for _, r in results], pa.string())})
    tags = pa.table({"feedback_id": pa.array([r[0] for r in tag_rows], pa.string()),
                     "task": pa.array([r[1] for r in tag_rows], pa.string()),
                     "label": pa.array([r[2] for r in tag_rows], pa.string()),
                     "score": pa.array([None if r[3] is None else float(r[3]) for r in tag_rows], pa.float64()),
                     "evidence": pa.array([json_text(r[4]) for r in tag_rows], pa.string())})
    return docs, tags


# -- runs that died ------------------------------------------------------------------------------------------
STALE_RUN = timedelta(hours=24)  # a 'running' run of another machine older than this is taken as dead


def _host() -> str:
    """This machine, as a short hash (the store names no machines)."""
    return hashlib.blake2b(socket.gethostname().encode("utf-8"), digest_size=6).hexdigest()


def run_owner() -> dict[str, Any]:
    """Who runs a run: the machine, the process id and the process's start time (a reused pid differs in it)."""
    import psutil

    return {"host": _host(), "pid": os.getpid(), "proc_started": round(psutil.Process().create_time(), 2)}


def owner_alive(owner: dict[str, Any]) -> bool | None:
    """Whether the run's process still lives: True/False on this machine, None for another machine."""
    import psutil

    if owner.get("host") != _host() or "pid" not in owner:
        return None
    try:
        return abs(psutil.Process(int(owner["pid"])).create_time() - float(owner.get("proc_started", 0))) < 1.0
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return False


def interrupted_runs(store, now: datetime, stale_after: timedelta = STALE_RUN) -> list[str]:
    """Runs still marked 'running' whose process is gone (killed, machine rebooted): on this machine when the
    process no longer exists, on another machine when the run started more than ``stale_after`` ago."""
    dead = []
    for run_id, started_at, stats in store.query("SELECT run_id, started_at, stats FROM runs WHERE status = 'running'"):
        try:
            owner = (json.loads(stats) if isinstance(stats, str) else stats or {}).get("owner") or {}
        except ValueError:
            owner = {}
        alive = owner_alive(owner)
        if alive is False or (alive is None and started_at is not None and now - started_at > stale_after):
            dead.append(run_id)
    return dead
