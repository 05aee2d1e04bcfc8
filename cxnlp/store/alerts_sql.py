"""The SQL of the backlash monitor (cxnlp.alerts): the hourly social series, the posts behind a burst, and the
``alerts`` table. Functions take an open :class:`~cxnlp.store.duck.DuckDBStore`.

A repost or retweet (a row of ``duplicates``) counts as one more event of its original at its own time, with
its own likes/shares/replies; it carries the original's tags.

The SQL is portable between DuckDB and PostgreSQL except the per-post tag list, built with the store's dialect
(a list of structs in DuckDB, a JSON array in PostgreSQL; both arrive as a list of dicts). On PostgreSQL the
``alerts`` table comes from the migrations.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any, Sequence

from cxnlp.store.common import has_table

ALERTS_DDL = """CREATE TABLE IF NOT EXISTS alerts (
    alert_id VARCHAR PRIMARY KEY,
    kind VARCHAR NOT NULL,
    status VARCHAR NOT NULL,            -- open | resolved
    severity VARCHAR NOT NULL,          -- info | warning | critical
    start_at TIMESTAMPTZ NOT NULL,      -- first hour of the burst
    detected_at TIMESTAMPTZ,            -- data time at which the detector raised it (end of that hour)
    peak_at TIMESTAMPTZ,
    last_burst_at TIMESTAMPTZ,
    end_at TIMESTAMPTZ,                 -- set once resolved
    title VARCHAR,
    summary VARCHAR,
    metrics JSON,
    drivers JSON,
    examples JSON,
    evolution JSON,
    first_run_id VARCHAR,
    last_run_id VARCHAR,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    checked_at TIMESTAMPTZ NOT NULL,
    updates INTEGER NOT NULL,
    notified_severity VARCHAR,
    notified_status VARCHAR,
    notified_at TIMESTAMPTZ,
    delivery JSON
)"""

ALERT_JSON_COLUMNS = ("metrics", "drivers", "examples", "evolution", "delivery")
ALERT_COLUMNS = ("alert_id", "kind", "status", "severity", "start_at", "detected_at", "peak_at", "last_burst_at",
                 "end_at", "title", "summary", "metrics", "drivers", "examples", "evolution", "first_run_id",
                 "last_run_id", "created_at", "updated_at", "checked_at", "updates", "notified_severity",
                 "notified_status", "notified_at", "delivery")


def _now() -> datetime:
    return datetime.now(timezone.utc)


def ensure_alerts_table(store) -> None:
    if getattr(store, "dialect", "duckdb") != "duckdb":
        return  # PostgreSQL: created by the migrations
    with store._lock:
        store.con.execute(ALERTS_DDL)


def has_alerts_table(store) -> bool:
    return has_table(store, "alerts")


# ------------------------------------------------------------------------------------------- social events
_EVENTS = """
    ev AS (
        SELECT f.id AS fid, f.created_at AS ts, coalesce(f.likes, 0) AS likes, coalesce(f.shares, 0) AS shares,
               coalesce(f.replies, 0) AS replies, FALSE AS repost
        FROM feedback f WHERE f.source = $source AND f.created_at >= $since AND f.created_at < $until
        UNION ALL
        SELECT d.original_id, coalesce(d.created_at, f.created_at), coalesce(d.likes, 0), coalesce(d.shares, 0),
               coalesce(d.replies, 0), TRUE
        FROM duplicates d JOIN feedback f ON f.id = d.original_id
        WHERE f.source = $source AND coalesce(d.created_at, f.created_at) >= $since
          AND coalesce(d.created_at, f.created_at) < $until),
    sent AS (SELECT feedback_id, label FROM tags WHERE task = 'sentiment'),
    ang AS (SELECT feedback_id, max(score) AS anger FROM tags
            WHERE task = 'emotion' AND label = ANY($anger_labels) GROUP BY feedback_id)"""


def social_span(store, source: str = "social") -> tuple[datetime, datetime] | None:
    """(first, latest) time of a stored event (post or repost) of this source, or None without any."""
    first, last = store.query(
        "SELECT least(min(f.created_at), min(d.created_at)), greatest(max(f.created_at), max(d.created_at)) "
        "FROM feedback f LEFT JOIN duplicates d ON d.original_id = f.id WHERE f.source = ?", [source])[0]
    return (_utc(first), _utc(last)) if last is not None else None


def social_hourly(store, since: datetime, until: datetime, *, anger_labels: Sequence[str] = ("Ärger", "Ekel"),
                  reach_log_weight: float = 0.5, share_weight: float = 2.0, reply_weight: float = 1.0,
                  anger_weight: float = 1.0, source: str = "social") -> list[dict[str, Any]]:
    """Per UTC hour in [since, until): all events, negative events, untagged events and the weighted sum over
    negative events (and the sum of squared weights), weight = (1 + reach_log_weight * ln(1 + likes + share_weight * shares + reply_weight * replies))
    * (1 + anger_weight * anger), anger = the strongest intensity among ``anger_labels`` (0 without one).
    Hours without events are absent."""
    sql = f"""WITH {_EVENTS}
        SELECT date_trunc('hour', timezone('UTC', ev.ts)) AS hour, count(*) AS total,
               count(*) FILTER (WHERE s.label = 'negative') AS negative,
               count(*) FILTER (WHERE s.label IS NULL) AS untagged,
               coalesce(sum((1 + $a * ln(1 + ev.likes + $b * ev.shares + $c * ev.replies))
                            * (1 + $d * coalesce(g.anger, 0))) FILTER (WHERE s.label = 'negative'), 0) AS weighted,
               coalesce(sum(pow((1 + $a * ln(1 + ev.likes + $b * ev.shares + $c * ev.replies))
                                * (1 + $d * coalesce(g.anger, 0)), 2)) FILTER (WHERE s.label = 'negative'), 0)
                   AS weighted_sq
        FROM ev LEFT JOIN sent s ON s.feedback_id = ev.fid LEFT JOIN ang g ON g.feedback_id = ev.fid
        GROUP BY 1 ORDER BY hour"""
    params = {"source": source, "since": since, "until": until, "anger_labels": list(anger_labels),
              "a": float(reach_log_weight), "b": float(share_weight), "c": float(reply_weight),
              "d": float(anger_weight)}
    rows = store.query_dicts(sql, params)
    for r in rows:
        r["hour"] = r["hour"].replace(tzinfo=timezone.utc)
        r["weighted"] = float(r["weighted"])
        r["weighted_sq"] = float(r["weighted_sq"])
    return rows


def social_posts(store, since: datetime, until: datetime, *, negative_only: bool = False,
                 anger_labels: Sequence[str] = ("Ärger", "Ekel"), source: str = "social",
                 limit: int = 20000) -> list[dict[str, Any]]:
    """The posts with events (the post or a repost) in [since, until), one row per original: its text, channel,
    time, events in the window, summed reach of those events, sentiment, anger, and its emotion, facet and
    touchpoint tags as lists of {task, label, score}."""
    neg = "WHERE s.label = 'negative'" if negative_only else ""
    order = "ORDER BY t.task, t.score DESC NULLS LAST, t.label"
    if getattr(store, "dialect", "duckdb") == "postgresql":
        tag_list = f"json_agg(json_build_object('task', t.task, 'label', t.label, 'score', t.score) {order})"
        no_tags = "CAST('[]' AS JSON)"
    else:
        tag_list = f"list({{'task': t.task, 'label': t.label, 'score': t.score}} {order})"
        no_tags = "[]"
    sql = f"""WITH {_EVENTS},
        agg AS (SELECT fid, count(*) AS events, count(*) FILTER (WHERE repost) AS reposts, sum(likes) AS likes,
                       sum(shares) AS shares, sum(replies) AS replies FROM ev GROUP BY fid),
        tg AS (SELECT t.feedback_id, {tag_list} AS tags
               FROM tags t JOIN agg ON agg.fid = t.feedback_id
               WHERE t.task IN ('emotion', 'facet', 'touchpoint') GROUP BY t.feedback_id)
        SELECT f.id, f.created_at, f.channel, f.text, agg.events, agg.reposts, agg.likes, agg.shares, agg.replies,
               s.label AS sentiment, coalesce(g.anger, 0) AS anger, coalesce(tg.tags, {no_tags}) AS tags
        FROM agg JOIN feedback f ON f.id = agg.fid LEFT JOIN sent s ON s.feedback_id = f.id
        LEFT JOIN ang g ON g.feedback_id = f.id LEFT JOIN tg ON tg.feedback_id = f.id
        {neg}
        ORDER BY f.created_at, f.id LIMIT $limit"""
    rows = store.query_dicts(sql, {"source": source, "since": since, "until": until,
                                   "anger_labels": list(anger_labels), "limit": int(limit)})
    for r in rows:
        r["created_at"] = _utc(r["created_at"])
        if isinstance(r["tags"], str):  # PostgreSQL's JSON array
            r["tags"] = [{"task": t["task"], "label": t["label"],
                          "score": None if t["score"] is None else float(t["score"])} for t in json.loads(r["tags"])]
    return rows


# ------------------------------------------------------------------------------------------- alerts table
def get_alerts(store, kind: str | None = None, since: datetime | None = None,
               limit: int = 1000) -> list[dict[str, Any]]:
    """Stored alerts (newest first), JSON columns decoded. ``since``: those whose last burst is at or after it."""
    if not has_alerts_table(store):
        return []
    where, params = [], []
    if kind:
        where.append("kind = ?"); params.append(kind)
    if since is not None:
        where.append("coalesce(last_burst_at, start_at) >= ?"); params.append(since)
    sql = (f"SELECT {', '.join(ALERT_COLUMNS)} FROM alerts {'WHERE ' + ' AND '.join(where) if where else ''} "
           f"ORDER BY start_at DESC LIMIT ?")
    rows = store.query_dicts(sql, params + [limit])
    for r in rows:
        for c in ALERT_JSON_COLUMNS:
            r[c] = json.loads(r[c]) if isinstance(r[c], str) else r[c]
        for c in ("start_at", "detected_at", "peak_at", "last_burst_at", "end_at", "created_at", "updated_at",
                  "checked_at", "notified_at"):
            r[c] = _utc(r[c]) if r[c] is not None else None
    return rows


def find_matching_alert(store, kind: str, start: datetime, last: datetime, gap_hours: float) -> dict[str, Any] | None:
    """The stored alert of this kind whose burst period overlaps [start, last] (each widened by gap_hours)."""
    gap = timedelta(hours=gap_hours)
    rows = store.query_dicts(
        "SELECT alert_id FROM alerts WHERE kind = ? AND start_at <= ? AND coalesce(last_burst_at, start_at) >= ? "
        "ORDER BY start_at LIMIT 1", [kind, last + gap, start - gap])
    if not rows:
        return None
    return next(a for a in get_alerts(store, kind) if a["alert_id"] == rows[0]["alert_id"])


def upsert_alert(store, alert: dict[str, Any]) -> None:
    """Insert or replace one alert row (all columns of ALERT_COLUMNS; JSON columns as Python objects)."""
    vals = []
    for c in ALERT_COLUMNS:
        v = alert.get(c)
        if c in ALERT_JSON_COLUMNS:
            v = json.dumps(v, ensure_ascii=False, default=str) if v is not None else None
        vals.append(v)
    cols = ", ".join(ALERT_COLUMNS)
    sets = ", ".join(f"{c} = excluded.{c}" for c in ALERT_COLUMNS if c != "alert_id")
    with store.transaction() as con:
        con.execute(f"INSERT INTO alerts ({cols}) VALUES ({', '.join('?' * len(ALERT_COLUMNS))}) "
                    f"ON CONFLICT (alert_id) DO UPDATE SET {sets}", vals)


def record_delivery(store, alert_id: str, delivery: dict[str, Any], notified_severity: str | None,
                    notified_status: str | None) -> None:
    """Stores a delivery attempt; notified_* are set only when the receiver has it (or no webhook is set)."""
    with store.transaction() as con:
        if notified_severity is not None:
            con.execute("UPDATE alerts SET delivery = ?, notified_severity = ?, notified_status = ?, notified_at = ? "
                        "WHERE alert_id = ?", [json.dumps(delivery, default=str), notified_severity,
                                               notified_status, _now(), alert_id])
        else:
            con.execute("UPDATE alerts SET delivery = ? WHERE alert_id = ?",
                        [json.dumps(delivery, default=str), alert_id])


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t.astimezone(timezone.utc)


def clear_alerts(store, kind: str | None = None) -> int:
    """Deletes stored alerts (of one kind): the next check raises what it finds afresh. Returns the rows deleted."""
    if not has_alerts_table(store):
        return 0
    with store.transaction() as con:
        n = con.execute("SELECT count(*) FROM alerts" + (" WHERE kind = ?" if kind else ""),
                        [kind] if kind else []).fetchone()[0]
        con.execute("DELETE FROM alerts" + (" WHERE kind = ?" if kind else ""), [kind] if kind else [])
    return n
