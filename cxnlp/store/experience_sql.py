"""SQL for Kundenerlebnis/Kundenerfahrung: per-text signals and their aggregates over time.

Aggregates live in ``experience_agg``: one row per grain (day | week), period (Berlin calendar date; weeks
start on Monday) and cell (source, channel, facet, touchpoint; '*' = all). Sums and sums of squares are
stored, so indices, shares, KPIs and confidence intervals are derived exactly in the ``experience_kpis``
view. The nightly run recomputes only the periods touched by newly tagged feedback; a re-run with nothing
new changes nothing.

The SQL runs unchanged on DuckDB and PostgreSQL (``array_agg``, ``timezone(zone, ts)``, ``FILTER``, ``GROUPING
SETS``, explicit casts before dividing counts). On PostgreSQL the tables and the view come from the Alembic
migrations (``cxnlp/store/migrations``), so :func:`init` only creates them on DuckDB.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable, Iterator

import pyarrow as pa

EMOTION_COLUMNS = {"Ärger": "emo_aerger", "Enttäuschung": "emo_enttaeuschung", "Sorge": "emo_sorge",
                   "Freude": "emo_freude", "Überraschung": "emo_ueberraschung", "Vertrauen": "emo_vertrauen",
                   "Ekel": "emo_ekel", "Verachtung": "emo_verachtung"}

DDL = [
    """CREATE TABLE IF NOT EXISTS experience (
        feedback_id VARCHAR PRIMARY KEY,
        erlebnis DOUBLE, erlebnis_intensity DOUBLE, erlebnis_confidence DOUBLE, dominant_emotions JSON,
        erfahrung DOUBLE, erfahrung_source VARCHAR, erfahrung_confidence DOUBLE,
        sentiment VARCHAR, emotions JSON, recommends BOOLEAN, churn BOOLEAN, relevant BOOLEAN,
        computed_at TIMESTAMPTZ NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS experience_agg (
        grain VARCHAR, period DATE, source VARCHAR, channel VARCHAR, facet VARCHAR, touchpoint VARCHAR,
        volume BIGINT, erlebnis_n BIGINT, erlebnis_sum DOUBLE, erlebnis_sq DOUBLE,
        erfahrung_n BIGINT, erfahrung_sum DOUBLE, erfahrung_sq DOUBLE, erfahrung_rated_n BIGINT,
        neg_n BIGINT, neu_n BIGINT, pos_n BIGINT, """ + ", ".join(f"{c} BIGINT" for c in EMOTION_COLUMNS.values()) + """,
        recommends_n BIGINT, churn_n BIGINT, nps_n BIGINT, promoters BIGINT, detractors BIGINT,
        csat_n BIGINT, csat_top2 BIGINT, ces_n BIGINT, ces_sum DOUBLE, stars_n BIGINT, stars_sum DOUBLE,
        PRIMARY KEY (grain, period, source, channel, facet, touchpoint))""",
]

# integer counts are cast before dividing: PostgreSQL divides integers as integers (DuckDB does not)
KPI_VIEW = """CREATE OR REPLACE VIEW experience_kpis AS
SELECT *,
  100 * erlebnis_sum / nullif(erlebnis_n, 0) AS erlebnis_index,
  100 * 1.96 * sqrt(greatest(erlebnis_sq / nullif(erlebnis_n, 0) - pow(erlebnis_sum / nullif(erlebnis_n, 0), 2), 0)
        / nullif(erlebnis_n, 0)) AS erlebnis_ci,
  100 * erfahrung_sum / nullif(erfahrung_n, 0) AS erfahrung_index,
  100 * 1.96 * sqrt(greatest(erfahrung_sq / nullif(erfahrung_n, 0) - pow(erfahrung_sum / nullif(erfahrung_n, 0), 2), 0)
        / nullif(erfahrung_n, 0)) AS erfahrung_ci,
  100 * erlebnis_sum / nullif(erlebnis_n, 0) - 100 * erfahrung_sum / nullif(erfahrung_n, 0) AS gap,
  CAST(neg_n AS DOUBLE PRECISION) / nullif(volume, 0) AS neg_share,
  CAST(pos_n AS DOUBLE PRECISION) / nullif(volume, 0) AS pos_share,
  100 * CAST(promoters - detractors AS DOUBLE PRECISION) / nullif(nps_n, 0) AS nps,
  100 * 1.96 * sqrt(greatest(CAST(promoters + detractors AS DOUBLE PRECISION) / nullif(nps_n, 0)
        - pow(CAST(promoters - detractors AS DOUBLE PRECISION) / nullif(nps_n, 0), 2), 0) / nullif(nps_n, 0)) AS nps_ci,
  100 * CAST(csat_top2 AS DOUBLE PRECISION) / nullif(csat_n, 0) AS csat,
  ces_sum / nullif(ces_n, 0) AS ces,
  stars_sum / nullif(stars_n, 0) AS mean_stars,
  100 * CAST(recommends_n AS DOUBLE PRECISION) / nullif(volume, 0) AS weiterempfehlungsrate,
  100 * CAST(churn_n AS DOUBLE PRECISION) / nullif(volume, 0) AS churn_rate
FROM experience_agg"""

EXPERIENCE_COLUMNS = ("feedback_id", "erlebnis", "erlebnis_intensity", "erlebnis_confidence", "dominant_emotions",
                      "erfahrung", "erfahrung_source", "erfahrung_confidence", "sentiment", "emotions", "recommends",
                      "churn", "relevant")
JSON_COLUMNS = ("dominant_emotions", "emotions")


def berlin_day(col: str) -> str:
    """The Berlin calendar date of a TIMESTAMPTZ column (DuckDB and PostgreSQL)."""
    return f"CAST(timezone('Europe/Berlin', {col}) AS DATE)"


def week_of(col: str) -> str:
    """The Monday of a DATE column's week."""
    return f"CAST(date_trunc('week', CAST({col} AS TIMESTAMP)) AS DATE)"


def init(store) -> None:
    if getattr(store, "dialect", "duckdb") != "duckdb":
        return  # PostgreSQL: created by the migrations
    with store._lock:
        for stmt in DDL:
            store.con.execute(stmt)
        store.con.execute(KPI_VIEW)


# The narrow part (which texts, their ratings and day) is joined first; tag_state's result JSON, the wide column,
# is only scanned on the probe side of the last join and never held in a hash table, so DuckDB streams it under
# a small memory cap (a 1M-row store under 256MB).
PENDING_SQL = (
    "SELECT s.feedback_id AS id, s.result, p.rating_stars, p.rating_nps, p.rating_csat, p.rating_ces, p.day "
    "FROM tag_state s JOIN ("
    "  SELECT f.id, f.rating_stars, f.rating_nps, f.rating_csat, f.rating_ces, "
    f"        {berlin_day('f.created_at')} AS day "
    "  FROM feedback f JOIN tag_state t ON t.feedback_id = f.id LEFT JOIN experience e ON e.feedback_id = f.id "
    "  WHERE e.feedback_id IS NULL OR e.computed_at < t.tagged_at) p ON p.id = s.feedback_id")


def pending_experience(store, batch_rows: int = 5000) -> Iterator[list[dict[str, Any]]]:
    """Tagged feedback whose experience row is missing or older than its tags, in batches: one query read as a
    stream (see the stores' ``stream``), so the stage's work grows linearly with what is pending and its memory
    holds one batch."""
    return store.stream(PENDING_SQL, None, batch_rows)


def write_experience(store, rows: list[dict[str, Any]], days: Iterable | None = None) -> None:
    """Replaces the rows' experience rows and marks the Berlin days they fall in (``days``; looked up when
    None) as pending, in one transaction."""
    now = datetime.now(timezone.utc)
    tbl = pa.table({
        "feedback_id": [r["feedback_id"] for r in rows],
        "erlebnis": pa.array([r["erlebnis"] for r in rows], pa.float64()),
        "erlebnis_intensity": pa.array([r["erlebnis_intensity"] for r in rows], pa.float64()),
        "erlebnis_confidence": pa.array([r["erlebnis_confidence"] for r in rows], pa.float64()),
        "dominant_emotions": [json.dumps(r["dominant_emotions"], ensure_ascii=False) for r in rows],
        "erfahrung": pa.array([r["erfahrung"] for r in rows], pa.float64()),
        "erfahrung_source": pa.array([r["erfahrung_source"] for r in rows], pa.string()),
        "erfahrung_confidence": pa.array([r["erfahrung_confidence"] for r in rows], pa.float64()),
        "sentiment": pa.array([r["sentiment"] for r in rows], pa.string()),
        "emotions": [json.dumps(r["emotions"], ensure_ascii=False) for r in rows],
        "recommends": [r["recommends"] for r in rows], "churn": [r["churn"] for r in rows],
        "relevant": [r["relevant"] for r in rows],
    })
    cols = ", ".join(f"CAST({c} AS JSON)" if c in JSON_COLUMNS else c for c in EXPERIENCE_COLUMNS)
    with store.transaction() as con:
        con.register("_e", tbl)
        con.execute("DELETE FROM experience WHERE feedback_id IN (SELECT feedback_id FROM _e)")
        con.execute(f"INSERT INTO experience ({', '.join(EXPERIENCE_COLUMNS)}, computed_at) SELECT {cols}, ? FROM _e",
                    [now])
        # the days these rows fall in are marked pending in the same transaction: a run killed before the
        # aggregates are rebuilt leaves the mark, and the next run rebuilds those days
        if days is None:
            days = [r[0] for r in con.execute(f"SELECT DISTINCT {berlin_day('created_at')} FROM feedback "
                                               "WHERE id IN (SELECT feedback_id FROM _e)").fetchall()]
        con.unregister("_e")
        mark_pending_days(con, days)


PENDING_KEY = "experience_pending_days"


def mark_pending_days(con, days: Iterable) -> None:
    """Adds these Berlin days to the pending mark (inside the caller's transaction): their aggregates are
    rebuilt by the next aggregate pass, also when the process dies before it."""
    days = {str(d) for d in days}
    old = con.execute("SELECT value FROM meta WHERE key = ?", [PENDING_KEY]).fetchall()
    if old:
        days |= set(json.loads(old[0][0]))
    con.execute("DELETE FROM meta WHERE key = ?", [PENDING_KEY])
    con.execute("INSERT INTO meta (key, value) VALUES (?, ?)", [PENDING_KEY, json.dumps(sorted(days))])


def pending_days(store) -> list[date]:
    """Days whose experience rows changed but whose aggregates may not be rebuilt yet."""
    rows = store.query("SELECT value FROM meta WHERE key = ?", [PENDING_KEY])
    return [date.fromisoformat(d) for d in json.loads(rows[0][0])] if rows else []


def clear_pending_days(store, days: Iterable) -> None:
    """Removes the given days from the pending mark (others written meanwhile stay)."""
    done = {str(d) for d in days}
    with store.transaction() as con:
        old = con.execute("SELECT value FROM meta WHERE key = ?", [PENDING_KEY]).fetchall()
        if not old:
            return
        left = sorted(set(json.loads(old[0][0])) - done)
        con.execute("DELETE FROM meta WHERE key = ?", [PENDING_KEY])
        if left:
            con.execute("INSERT INTO meta (key, value) VALUES (?, ?)", [PENDING_KEY, json.dumps(left)])


def _emotion_sums() -> str:
    return ", ".join(f"count(*) FILTER (WHERE (emotions -> '{k}') IS NOT NULL) AS {c}"
                     for k, c in EMOTION_COLUMNS.items())


def _base_sql(period_filter: str) -> str:
    """One row per (grain, period, text, facet, touchpoint): every text once with facet '*' and touchpoint '*',
    and once more per facet and per touchpoint it carries (and per pair)."""
    return f"""
    WITH fac AS (SELECT feedback_id, label FROM tags WHERE task = 'facet'
                 UNION ALL SELECT feedback_id, '*' FROM experience),
         tp AS (SELECT feedback_id, label FROM tags WHERE task = 'touchpoint'
                UNION ALL SELECT feedback_id, '*' FROM experience),
         b0 AS (
           SELECT f.id, f.source, coalesce(f.channel, '?') AS channel, {berlin_day('f.created_at')} AS day,
                  f.rating_stars, f.rating_nps, f.rating_csat, f.rating_ces, e.erlebnis, e.erfahrung,
                  e.erfahrung_source, e.sentiment, e.emotions, e.recommends, e.churn
           FROM feedback f JOIN experience e ON e.feedback_id = f.id
           WHERE e.relevant),
         b2 AS (SELECT b0.*, fac.label AS facet, tp.label AS touchpoint
                FROM b0 JOIN fac ON fac.feedback_id = b0.id JOIN tp ON tp.feedback_id = b0.id),
         g AS (SELECT grain FROM (VALUES ('day'), ('week')) t(grain)),
         x AS (
           SELECT g.grain, CASE WHEN g.grain = 'day' THEN b2.day ELSE {week_of('b2.day')} END AS period, b2.*
           FROM b2 CROSS JOIN g)
    SELECT * FROM x WHERE {period_filter}"""


AGG_COLUMNS = f"""count(*) AS volume,
    count(erlebnis) AS erlebnis_n, coalesce(sum(erlebnis), 0) AS erlebnis_sum,
    coalesce(sum(erlebnis * erlebnis), 0) AS erlebnis_sq,
    count(erfahrung) AS erfahrung_n, coalesce(sum(erfahrung), 0) AS erfahrung_sum,
    coalesce(sum(erfahrung * erfahrung), 0) AS erfahrung_sq,
    count(*) FILTER (WHERE erfahrung_source LIKE 'rating:%') AS erfahrung_rated_n,
    count(*) FILTER (WHERE sentiment = 'negative') AS neg_n, count(*) FILTER (WHERE sentiment = 'neutral') AS neu_n,
    count(*) FILTER (WHERE sentiment = 'positive') AS pos_n, {_emotion_sums()},
    count(*) FILTER (WHERE recommends) AS recommends_n, count(*) FILTER (WHERE churn) AS churn_n,
    count(rating_nps) AS nps_n, count(*) FILTER (WHERE rating_nps >= 9) AS promoters,
    count(*) FILTER (WHERE rating_nps <= 6) AS detractors,
    count(rating_csat) AS csat_n, count(*) FILTER (WHERE rating_csat >= 4) AS csat_top2,
    count(rating_ces) AS ces_n, coalesce(sum(rating_ces), 0) AS ces_sum,
    count(rating_stars) AS stars_n, coalesce(sum(rating_stars), 0) AS stars_sum"""


def rebuild_aggregates(store, affected_days: Iterable | None = None) -> int:
    """Recompute the aggregates of the given Berlin calendar days (and their weeks); all when None.
    Returns the number of cells written."""
    days = None if affected_days is None else sorted(set(affected_days))
    if days is not None and not days:
        return 0
    with store.transaction() as con:
        if days is None:
            con.execute("DELETE FROM experience_agg")
            flt = "TRUE"
        else:
            weeks = sorted({d - timedelta(days=d.weekday()) for d in days})
            con.register("_periods", pa.table({
                "grain": ["day"] * len(days) + ["week"] * len(weeks),
                "period": pa.array(list(days) + weeks, pa.date32())}))
            con.execute("DELETE FROM experience_agg WHERE (grain, period) IN (SELECT grain, period FROM _periods)")
            flt = "(grain, period) IN (SELECT grain, period FROM _periods)"
        base = _base_sql(flt)
        parts = [
            ("facet = '*' AND touchpoint = '*'", "GROUPING SETS ((grain, period), (grain, period, source), "
                                                   "(grain, period, source, channel))"),
            ("facet <> '*' AND touchpoint = '*'", "GROUPING SETS ((grain, period, facet), (grain, period, source, facet))"),
            ("facet = '*' AND touchpoint <> '*'", "GROUPING SETS ((grain, period, touchpoint), "
                                                   "(grain, period, source, touchpoint))"),
            ("facet <> '*' AND touchpoint <> '*'", "GROUPING SETS ((grain, period, facet, touchpoint))"),
        ]
        for where, grouping in parts:
            dims = [d if d in grouping else f"'*' AS {d}" for d in ("source", "channel", "facet", "touchpoint")]
            sel = ", ".join(f"coalesce({d}, '*')" if " AS " not in d else d.split(" AS ")[0] for d in dims)
            con.execute(f"""INSERT INTO experience_agg
                SELECT grain, period, {sel}, {AGG_COLUMNS}
                FROM ({base}) b WHERE {where} GROUP BY {grouping}""")
        if days is not None:
            con.unregister("_periods")
        n = con.execute("SELECT count(*) FROM experience_agg").fetchone()[0]
    return n


def kpis(store, grain: str = "week", where: str = "TRUE", params: list | None = None) -> list[dict[str, Any]]:
    return store.query_dicts(f"SELECT * FROM experience_kpis WHERE grain = ? AND {where} ORDER BY period",
                             [grain, *(params or [])])


def period_texts(store, start, end, min_erlebnis: float | None = None, limit: int = 20000) -> list[dict[str, Any]]:
    """Texts of feedback created in [start, end) (Berlin dates) with their signals, facets and touchpoints."""
    cond = "" if min_erlebnis is None else f"AND e.erlebnis <= {float(min_erlebnis)}"
    return store.query_dicts(f"""
        WITH fac AS (SELECT feedback_id, array_agg(label ORDER BY label) AS facets FROM tags WHERE task = 'facet'
                     GROUP BY feedback_id),
             tp AS (SELECT feedback_id, array_agg(label ORDER BY label) AS touchpoints FROM tags
                    WHERE task = 'touchpoint' GROUP BY feedback_id)
        SELECT f.id, f.source, coalesce(f.channel, '?') AS channel, f.text, f.created_at,
               coalesce(f.likes, 0) + coalesce(f.shares, 0) + coalesce(f.replies, 0) AS engagement,
               e.erlebnis, e.erfahrung, coalesce(fac.facets, ARRAY[]::VARCHAR[]) AS facets,
               coalesce(tp.touchpoints, ARRAY[]::VARCHAR[]) AS touchpoints
        FROM feedback f JOIN experience e ON e.feedback_id = f.id
        LEFT JOIN fac ON fac.feedback_id = f.id LEFT JOIN tp ON tp.feedback_id = f.id
        WHERE e.relevant AND {berlin_day('f.created_at')} >= ? AND {berlin_day('f.created_at')} < ? {cond}
        ORDER BY f.id LIMIT ?""", [start, end, limit])
