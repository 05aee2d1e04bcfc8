"""SQL for Kundenerlebnis/Kundenerfahrung: per-text signals and their aggregates over time.

Aggregates live in ``experience_agg``: one row per grain (day | week), period (Berlin calendar date; weeks
start on Monday) and cell (source, channel, facet, touchpoint; '*' = all). Sums and sums of squares are
stored, so indices, shares, KPIs and confidence intervals are derived exactly in the ``experience_kpis``
view. The nightly run recomputes only the periods touched by newly tagged feedback; a re-run with nothing
new changes nothing.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Iterable

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

KPI_VIEW = """CREATE OR REPLACE VIEW experience_kpis AS
SELECT *,
  100 * erlebnis_sum / nullif(erlebnis_n, 0) AS erlebnis_index,
  100 * 1.96 * sqrt(greatest(erlebnis_sq / nullif(erlebnis_n, 0) - pow(erlebnis_sum / nullif(erlebnis_n, 0), 2), 0)
        / nullif(erlebnis_n, 0)) AS erlebnis_ci,
  100 * erfahrung_sum / nullif(erfahrung_n, 0) AS erfahrung_index,
  100 * 1.96 * sqrt(greatest(erfahrung_sq / nullif(erfahrung_n, 0) - pow(erfahrung_sum / nullif(erfahrung_n, 0), 2), 0)
        / nullif(erfahrung_n, 0)) AS erfahrung_ci,
  100 * erlebnis_sum / nullif(erlebnis_n, 0) - 100 * erfahrung_sum / nullif(erfahrung_n, 0) AS gap,
  neg_n / nullif(volume, 0) AS neg_share, pos_n / nullif(volume, 0) AS pos_share,
  100 * (promoters - detractors) / nullif(nps_n, 0) AS nps,
  100 * 1.96 * sqrt(greatest((promoters + detractors) / nullif(nps_n, 0)
        - pow((promoters - detractors) / nullif(nps_n, 0), 2), 0) / nullif(nps_n, 0)) AS nps_ci,
  100 * csat_top2 / nullif(csat_n, 0) AS csat,
  ces_sum / nullif(ces_n, 0) AS ces,
  stars_sum / nullif(stars_n, 0) AS mean_stars,
  100 * recommends_n / nullif(volume, 0) AS weiterempfehlungsrate,
  100 * churn_n / nullif(volume, 0) AS churn_rate
FROM experience_agg"""


def init(store) -> None:
    with store._lock:
        for stmt in DDL:
            store.con.execute(stmt)
        store.con.execute(KPI_VIEW)


def pending_experience(store, limit: int) -> list[dict[str, Any]]:
    """Tagged feedback whose experience row is missing or older than its tags."""
    return store.query_dicts(
        "SELECT f.id, s.result, f.rating_stars, f.rating_nps, f.rating_csat, f.rating_ces FROM feedback f "
        "JOIN tag_state s ON s.feedback_id = f.id LEFT JOIN experience e ON e.feedback_id = f.id "
        "WHERE e.feedback_id IS NULL OR e.computed_at < s.tagged_at ORDER BY f.id LIMIT ?", [limit])


def write_experience(store, rows: list[dict[str, Any]]) -> None:
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
    with store.transaction() as con:
        con.register("_e", tbl)
        con.execute("DELETE FROM experience WHERE feedback_id IN (SELECT feedback_id FROM _e)")
        con.execute("INSERT INTO experience SELECT *, ? FROM _e", [now])
        con.unregister("_e")


def _emotion_sums() -> str:
    return ", ".join(f"count(*) FILTER (WHERE json_extract(emotions, '$.\"{k}\"') IS NOT NULL) AS {c}"
                     for k, c in EMOTION_COLUMNS.items())


def _base_sql(period_filter: str) -> str:
    return f"""
    WITH fac AS (SELECT feedback_id, list(label) AS l FROM tags WHERE task = 'facet' GROUP BY ALL),
         tp AS (SELECT feedback_id, list(label) AS l FROM tags WHERE task = 'touchpoint' GROUP BY ALL),
         b0 AS (
           SELECT f.id, f.source, coalesce(f.channel, '?') AS channel,
                  CAST(timezone('Europe/Berlin', f.created_at) AS DATE) AS day,
                  f.rating_stars, f.rating_nps, f.rating_csat, f.rating_ces, e.*,
                  list_prepend('*', coalesce(fac.l, [])) AS facets, list_prepend('*', coalesce(tp.l, [])) AS tps
           FROM feedback f JOIN experience e ON e.feedback_id = f.id
           LEFT JOIN fac ON fac.feedback_id = f.id LEFT JOIN tp ON tp.feedback_id = f.id
           WHERE e.relevant),
         b1 AS (SELECT b0.* EXCLUDE (facets), unnest(facets) AS facet FROM b0),
         b2 AS (SELECT b1.* EXCLUDE (tps), unnest(tps) AS touchpoint FROM b1),
         g AS (SELECT * FROM (VALUES ('day'), ('week')) t(grain)),
         x AS (
           SELECT g.grain, CASE WHEN g.grain = 'day' THEN b2.day ELSE CAST(date_trunc('week', b2.day) AS DATE) END
                  AS period, b2.*
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
            con.register("_days", pa.table({"d": pa.array(days, pa.date32())}))
            con.execute("CREATE OR REPLACE TEMP TABLE _periods AS SELECT DISTINCT * FROM ("
                        "SELECT 'day' AS grain, d AS period FROM _days UNION ALL "
                        "SELECT 'week', CAST(date_trunc('week', d) AS DATE) FROM _days)")
            con.unregister("_days")
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
                FROM ({base}) WHERE {where} GROUP BY {grouping}""")
        n = con.execute("SELECT count(*) FROM experience_agg").fetchone()[0]
    return n


def days_of(store, feedback_ids: list[str]) -> list:
    if not feedback_ids:
        return []
    with store._lock:
        store.con.register("_ids", pa.table({"k": pa.array(feedback_ids, pa.string())}))
        try:
            rows = store.con.execute("SELECT DISTINCT CAST(timezone('Europe/Berlin', created_at) AS DATE) FROM feedback "
                                     "WHERE id IN (SELECT k FROM _ids)").fetchall()
        finally:
            store.con.unregister("_ids")
    return [r[0] for r in rows]


def kpis(store, grain: str = "week", where: str = "TRUE", params: list | None = None) -> list[dict[str, Any]]:
    return store.query_dicts(f"SELECT * FROM experience_kpis WHERE grain = ? AND {where} ORDER BY period",
                             [grain, *(params or [])])


def period_texts(store, start, end, min_erlebnis: float | None = None, limit: int = 20000) -> list[dict[str, Any]]:
    """Texts of feedback created in [start, end) (Berlin dates) with their signals, facets and touchpoints."""
    cond = "" if min_erlebnis is None else f"AND e.erlebnis <= {float(min_erlebnis)}"
    return store.query_dicts(f"""
        WITH fac AS (SELECT feedback_id, list(label) AS facets FROM tags WHERE task = 'facet' GROUP BY ALL),
             tp AS (SELECT feedback_id, list(label) AS touchpoints FROM tags WHERE task = 'touchpoint' GROUP BY ALL)
        SELECT f.id, f.source, coalesce(f.channel, '?') AS channel, f.text, f.created_at,
               coalesce(f.likes, 0) + coalesce(f.shares, 0) + coalesce(f.replies, 0) AS engagement,
               e.erlebnis, e.erfahrung, coalesce(fac.facets, []) AS facets, coalesce(tp.touchpoints, []) AS touchpoints
        FROM feedback f JOIN experience e ON e.feedback_id = f.id
        LEFT JOIN fac ON fac.feedback_id = f.id LEFT JOIN tp ON tp.feedback_id = f.id
        WHERE e.relevant AND CAST(timezone('Europe/Berlin', f.created_at) AS DATE) >= ?
          AND CAST(timezone('Europe/Berlin', f.created_at) AS DATE) < ? {cond}
        ORDER BY f.id LIMIT ?""", [start, end, limit])
