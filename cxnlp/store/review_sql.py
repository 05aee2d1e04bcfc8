"""SQL for the review app: analysts' corrections (an append-only audit trail), a per-item review index for
fast server-side filtering and keyset paging, the "most useful to check" queue and the export rows.

``corrections`` holds one row per analyst action: the task, the value before (``old_value``) and after
(``new_value``) as JSON, an optional note, who and when. Rows are only ever inserted; the effective value of
a task is the model's tag overridden by the latest correction. A confirmation is a correction whose new value
equals the old one; a note alone is a row with task ``note``.

``review_index`` is derived data: one row per tagged feedback with the effective labels, the model's sentiment
confidence and the margin between its two best sentiment classes, the rating's polarity, engagement and a
priority for the queue. It is kept current incrementally (rows whose ``tag_state.tagged_at`` changed, and
rows an analyst corrected) and rebuilt in full when its layout changes, so the list views filter and sort a
single narrow table instead of joining millions of tag rows per request.
"""
from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from typing import Any, Iterator, Sequence

import pyarrow as pa

from cxnlp.store.common import has_table

SINGLE_TASKS = ("sentiment", "phase")
BOOL_TASKS = ("relevance", "offensive", "sustainability")
LIST_TASKS = ("facet", "touchpoint", "emotion")
CORRECTABLE_TASKS = SINGLE_TASKS + BOOL_TASKS + LIST_TASKS
NOTE_TASK = "note"
SENTIMENTS = ("negative", "neutral", "positive")

INDEX_VERSION = "4"  # bump when review_index's columns or derivation change: the table is rebuilt
COUNT_CAP = 10_000  # list counts stop here ("more than 10,000"): counting a million rows per page is waste

DDL = [
    "CREATE SEQUENCE IF NOT EXISTS corrections_id_seq START 1",
    """CREATE TABLE IF NOT EXISTS corrections (
        id BIGINT PRIMARY KEY DEFAULT nextval('corrections_id_seq'),
        feedback_id VARCHAR NOT NULL,
        task VARCHAR NOT NULL,
        old_value JSON,
        new_value JSON,
        note VARCHAR,
        analyst VARCHAR NOT NULL,
        created_at TIMESTAMPTZ NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS corrections_feedback_idx ON corrections (feedback_id)",
    # item pages look up one feedback's tags; without this a lookup scans every tag row
    "CREATE INDEX IF NOT EXISTS tags_feedback_idx ON tags (feedback_id)",
]

INDEX_DDL = [
    """CREATE TABLE IF NOT EXISTS review_index (
        feedback_id VARCHAR PRIMARY KEY,
        created_at TIMESTAMPTZ NOT NULL,
        source VARCHAR,
        channel VARCHAR,
        language VARCHAR,
        engagement BIGINT NOT NULL,
        sentiment VARCHAR,
        model_sentiment VARCHAR,
        confidence DOUBLE NOT NULL,
        margin DOUBLE NOT NULL,
        phase VARCHAR,
        facets VARCHAR[],
        touchpoints VARCHAR[],
        emotions VARCHAR[],
        relevant BOOLEAN,
        offensive BOOLEAN,
        rating_polarity DOUBLE,
        disagreement BOOLEAN NOT NULL,
        priority DOUBLE NOT NULL,
        reason VARCHAR,
        model VARCHAR,
        model_version VARCHAR,
        tagged_at TIMESTAMPTZ NOT NULL,
        reviewed BOOLEAN NOT NULL,
        corrected BOOLEAN NOT NULL,
        search VARCHAR
    )""",
]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def init(store) -> None:
    """Create the review tables and indexes (read-write stores only) and bring the review index up to date."""
    with store.transaction() as con:
        for stmt in DDL:
            con.execute(stmt)
        ver = con.execute("SELECT value FROM meta WHERE key = 'review_index_version'").fetchall()
        if not ver or ver[0][0] != INDEX_VERSION:
            con.execute("DROP TABLE IF EXISTS review_index")
            con.execute("INSERT OR REPLACE INTO meta VALUES ('review_index_version', ?)", [INDEX_VERSION])
        for stmt in INDEX_DDL:
            con.execute(stmt)
    refresh_index(store)


# -- the review index ---------------------------------------------------------------------------------------

def _index_select(ids_table: str | None) -> str:
    """The review index rows, for all tagged feedback or only the ids in ``ids_table`` (a registered table
    with one column k)."""
    only = f"WHERE feedback_id IN (SELECT k FROM {ids_table})" if ids_table else ""
    only_and = f"AND feedback_id IN (SELECT k FROM {ids_table})" if ids_table else ""
    return f"""
    WITH st AS (
        SELECT feedback_id, model, model_version, tagged_at,
               TRY_CAST(json_extract_string(result, '$.sentiment.scores.negative') AS DOUBLE) AS p_neg,
               TRY_CAST(json_extract_string(result, '$.sentiment.scores.neutral') AS DOUBLE) AS p_neu,
               TRY_CAST(json_extract_string(result, '$.sentiment.scores.positive') AS DOUBLE) AS p_pos
        FROM tag_state {only}),
    tg AS (
        SELECT feedback_id,
               any_value(label) FILTER (WHERE task = 'sentiment') AS sentiment,
               any_value(score) FILTER (WHERE task = 'sentiment') AS s_score,
               any_value(label) FILTER (WHERE task = 'phase') AS phase,
               list_sort(list(label) FILTER (WHERE task = 'facet')) AS facets,
               list_sort(list(label) FILTER (WHERE task = 'touchpoint')) AS touchpoints,
               list_sort(list(label) FILTER (WHERE task = 'emotion')) AS emotions,
               bool_or(task = 'relevance' AND label = 'relevant') AS relevant,
               bool_or(task = 'offensive') AS offensive
        FROM tags {only} GROUP BY feedback_id),
    lc AS (
        SELECT feedback_id,
               arg_max(new_value, id) FILTER (WHERE task = 'sentiment') AS c_sentiment,
               arg_max(new_value, id) FILTER (WHERE task = 'phase') AS c_phase,
               arg_max(new_value, id) FILTER (WHERE task = 'facet') AS c_facets,
               arg_max(new_value, id) FILTER (WHERE task = 'touchpoint') AS c_touchpoints,
               arg_max(new_value, id) FILTER (WHERE task = 'emotion') AS c_emotions,
               arg_max(new_value, id) FILTER (WHERE task = 'relevance') AS c_relevant,
               arg_max(new_value, id) FILTER (WHERE task = 'offensive') AS c_offensive,
               bool_or(CAST(old_value AS VARCHAR) IS DISTINCT FROM CAST(new_value AS VARCHAR)) AS changed
        FROM corrections WHERE task <> 'note' {only_and} GROUP BY feedback_id),
    b AS (
        SELECT f.id AS feedback_id, f.created_at, f.source, f.channel, f.language,
               lower(concat_ws(' ', f.title, f.text)) AS search,
               coalesce(f.likes, 0) + coalesce(f.shares, 0) + coalesce(f.replies, 0) AS engagement,
               tg.sentiment AS model_sentiment,
               coalesce(tg.s_score, greatest(st.p_neg, st.p_neu, st.p_pos), 0.0) AS confidence,
               coalesce(list_sort([st.p_neg, st.p_neu, st.p_pos], 'DESC')[1]
                        - list_sort([st.p_neg, st.p_neu, st.p_pos], 'DESC')[2], 1.0) AS margin,
               coalesce((f.rating_stars - 3) / 2.0, (f.rating_nps - 5) / 5.0, (f.rating_csat - 3) / 2.0,
                        (f.rating_ces - 4) / 3.0) AS rating_polarity,
               tg.* EXCLUDE (feedback_id), lc.* EXCLUDE (feedback_id), st.model, st.model_version, st.tagged_at
        FROM st JOIN feedback f ON f.id = st.feedback_id
        LEFT JOIN tg ON tg.feedback_id = st.feedback_id
        LEFT JOIN lc ON lc.feedback_id = st.feedback_id),
    d AS (
        SELECT *, coalesce((rating_polarity >= 0.5 AND model_sentiment = 'negative')
                           OR (rating_polarity <= -0.5 AND model_sentiment = 'positive'), FALSE) AS disagreement
        FROM b)
    SELECT feedback_id, created_at, source, channel, language, engagement,
           coalesce(json_extract_string(c_sentiment, '$'), model_sentiment) AS sentiment, model_sentiment,
           confidence, margin,
           coalesce(json_extract_string(c_phase, '$'), phase) AS phase,
           CASE WHEN c_facets IS NULL THEN coalesce(facets, []) ELSE from_json(c_facets, '["VARCHAR"]') END,
           CASE WHEN c_touchpoints IS NULL THEN coalesce(touchpoints, [])
                ELSE from_json(c_touchpoints, '["VARCHAR"]') END,
           CASE WHEN c_emotions IS NULL THEN coalesce(emotions, []) ELSE from_json(c_emotions, '["VARCHAR"]') END,
           coalesce(TRY_CAST(json_extract_string(c_relevant, '$') AS BOOLEAN), relevant, FALSE),
           coalesce(TRY_CAST(json_extract_string(c_offensive, '$') AS BOOLEAN), offensive, FALSE),
           rating_polarity, disagreement,
           (1.0 - least(greatest(margin, 0.0), 1.0)) + CASE WHEN disagreement THEN 1.0 ELSE 0.0 END
             + 0.2 * least(1.0, ln(1 + engagement) / ln(1001)) AS priority,
           concat_ws(', ', CASE WHEN disagreement THEN 'Bewertung widerspricht Stimmung' END,
                     CASE WHEN margin < 0.2 THEN 'knapp zwischen zwei Stimmungen' END,
                     CASE WHEN confidence < 0.5 THEN 'geringe Konfidenz' END) AS reason,
           model, model_version, tagged_at,
           changed IS NOT NULL AS reviewed, coalesce(changed, FALSE) AS corrected, search
    FROM d"""


def _stale_ids(store) -> list[str]:
    rows = store.query(
        "SELECT s.feedback_id FROM tag_state s LEFT JOIN review_index r "
        "ON r.feedback_id = s.feedback_id AND r.tagged_at = s.tagged_at WHERE r.feedback_id IS NULL "
        "UNION ALL SELECT r.feedback_id FROM review_index r ANTI JOIN tag_state s ON s.feedback_id = r.feedback_id")
    return [r[0] for r in rows]


def index_signature(store) -> tuple:
    """Cheap fingerprint of the tag state: when it changes, :func:`refresh_index` has work to do."""
    return tuple(store.query("SELECT count(*), max(tagged_at) FROM tag_state")[0])


def refresh_index(store, full: bool = False) -> dict[str, Any]:
    """Bring review_index up to date with tag_state (and corrections). Incremental unless most rows changed."""
    t0 = time.perf_counter()
    n_state = store.query("SELECT count(*) FROM tag_state")[0][0]
    stale = [] if full else _stale_ids(store)
    if full or len(stale) > max(50_000, n_state // 5):
        with store.transaction() as con:
            con.execute("DELETE FROM review_index")
            con.execute(f"INSERT INTO review_index {_index_select(None)} ORDER BY created_at, feedback_id")
        mode, n = "full", n_state
    elif stale:
        _reindex(store, stale)
        mode, n = "incremental", len(stale)
    else:
        mode, n = "current", 0
    return {"mode": mode, "rows": n, "seconds": round(time.perf_counter() - t0, 3)}


def _reindex(store, ids: Sequence[str], con=None) -> None:
    """Recompute the review index rows of these feedback ids (inside the caller's transaction if con given)."""
    def work(c) -> None:
        c.register("_rids", pa.table({"k": pa.array(list(ids), pa.string())}))
        try:
            c.execute("DELETE FROM review_index WHERE feedback_id IN (SELECT k FROM _rids)")
            c.execute(f"INSERT INTO review_index {_index_select('_rids')}")
        finally:
            c.unregister("_rids")

    if con is not None:
        work(con)
    else:
        with store.transaction() as c:
            work(c)


# -- filtering and paging ------------------------------------------------------------------------------------

SORTS: dict[str, tuple[str, str, str]] = {
    # name: (column, direction, SQL type of the cursor value)
    "date": ("created_at", "DESC", "TIMESTAMPTZ"),
    "date_asc": ("created_at", "ASC", "TIMESTAMPTZ"),
    "confidence": ("confidence", "ASC", "DOUBLE"),
    "confidence_desc": ("confidence", "DESC", "DOUBLE"),
    "engagement": ("engagement", "DESC", "BIGINT"),
    "priority": ("priority", "DESC", "DOUBLE"),
}

STATUSES = ("all", "unreviewed", "reviewed", "corrected")


def where_clause(filters: dict[str, Any]) -> tuple[str, list[Any]]:
    """SQL WHERE (over review_index r) and parameters for a filter dict. Unknown or empty keys are ignored;
    every value is a bound parameter."""
    conds: list[str] = []
    params: list[Any] = []
    f = filters or {}
    if f.get("date_from") is not None:
        conds.append("r.created_at >= ?")
        params.append(f["date_from"])
    if f.get("date_to") is not None:
        conds.append("r.created_at < ?")
        params.append(f["date_to"])
    for key in ("source", "channel", "phase", "sentiment", "language"):
        if f.get(key):
            conds.append(f"r.{key} = ?")
            params.append(str(f[key]))
    for key, col in (("facet", "facets"), ("touchpoint", "touchpoints"), ("emotion", "emotions")):
        if f.get(key):
            conds.append(f"list_contains(r.{col}, ?)")
            params.append(str(f[key]))
    if f.get("conf_min") is not None:
        conds.append("r.confidence >= ?")
        params.append(float(f["conf_min"]))
    if f.get("conf_max") is not None:
        conds.append("r.confidence <= ?")
        params.append(float(f["conf_max"]))
    status = f.get("status") or "all"
    if status == "unreviewed":
        conds.append("NOT r.reviewed")
    elif status == "reviewed":
        conds.append("r.reviewed")
    elif status == "corrected":
        conds.append("r.corrected")
    if f.get("disagreement"):
        conds.append("r.disagreement")
    if f.get("q"):  # case-insensitive substring of title or text (a lowercased copy lives in the index)
        conds.append("contains(r.search, ?)")
        params.append(str(f["q"]).lower())
    return (" AND ".join(conds) if conds else "TRUE"), params


def encode_cursor(value: Any, fid: str) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    return json.dumps([value, fid], separators=(",", ":"))


def decode_cursor(cursor: str | None) -> tuple[Any, str] | None:
    if not cursor:
        return None
    try:
        v, fid = json.loads(cursor)
    except (ValueError, TypeError):
        return None
    if not isinstance(fid, str) or not isinstance(v, (str, int, float)):
        return None
    return v, fid


LIST_COLUMNS = ("r.feedback_id, r.created_at, r.source, r.channel, r.language, r.engagement, r.sentiment, "
                "r.model_sentiment, r.confidence, r.margin, r.phase, r.facets, r.touchpoints, r.emotions, "
                "r.relevant, r.offensive, r.rating_polarity, r.disagreement, r.priority, r.reason, r.model_version, "
                "r.reviewed, r.corrected")


def _cursor_value(value: Any, typ: str) -> Any:
    """A cursor's sort value as the column's type; None when it does not fit (a tampered or stale cursor)."""
    try:
        if typ == "TIMESTAMPTZ":
            v = datetime.fromisoformat(str(value))
            return v if v.tzinfo is not None else v.replace(tzinfo=timezone.utc)
        if typ == "DOUBLE":
            v = float(value)
            return v if v == v else None
        if typ == "BIGINT":
            return int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return None


def _page_ids(store, where: str, params: list[Any], sort: str, after, before, limit: int) -> tuple[list[tuple], bool]:
    col, direction, typ = SORTS[sort]
    if after is not None:
        v = _cursor_value(after[0], typ)
        after = None if v is None else (v, after[1])
    if before is not None:
        v = _cursor_value(before[0], typ)
        before = None if v is None else (v, before[1])
    cur = before or after
    cmp_forward = "<" if direction == "DESC" else ">"
    cmp = cmp_forward if before is None else ("<" if cmp_forward == ">" else ">")
    order = direction if before is None else ("ASC" if direction == "DESC" else "DESC")
    sql_where, p = where, list(params)
    if cur is not None:
        sql_where += (f" AND (r.{col} {cmp} ? OR (r.{col} = ? AND r.feedback_id {cmp} ?))")
        p += [cur[0], cur[0], cur[1]]
    rows = store.query(f"SELECT r.feedback_id, r.{col} FROM review_index r WHERE {sql_where} "
                       f"ORDER BY r.{col} {order}, r.feedback_id {order} LIMIT ?", p + [limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    if before is not None:
        rows.reverse()
    return rows, more


def fetch_rows(store, ids: Sequence[str], text_chars: int | None = 280) -> dict[str, dict[str, Any]]:
    """Display rows for these ids: review index columns, the feedback's ratings and (the start of) its text."""
    if not ids:
        return {}
    text = "f.text" if text_chars is None else f"left(f.text, {int(text_chars)})"
    with store._lock:
        store.con.register("_pids", pa.table({"k": pa.array(list(ids), pa.string())}))
        try:
            cur = store.con.execute(
                f"SELECT {LIST_COLUMNS}, {text} AS text, length(f.text) AS text_length, f.title, f.rating_stars, "
                "f.rating_nps, f.rating_csat, f.rating_ces, f.likes, f.shares, f.replies, f.source_name "
                "FROM review_index r JOIN feedback f ON f.id = r.feedback_id "
                "WHERE r.feedback_id IN (SELECT k FROM _pids) AND f.id IN (SELECT k FROM _pids)")
            cols = [d[0] for d in cur.description]
            rows = [dict(zip(cols, r)) for r in cur.fetchall()]
        finally:
            store.con.unregister("_pids")
    return {r["feedback_id"]: r for r in rows}


def count_capped(store, filters: dict[str, Any], cap: int = COUNT_CAP) -> tuple[int, bool]:
    where, params = where_clause(filters)
    n = store.query(f"SELECT count(*) FROM (SELECT 1 FROM review_index r WHERE {where} LIMIT ?)",
                    params + [cap + 1])[0][0]
    return min(n, cap), n > cap


def list_feedback(store, filters: dict[str, Any] | None = None, sort: str = "date", *, after: str | None = None,
                  before: str | None = None, limit: int = 50, with_count: bool = True) -> dict[str, Any]:
    """One page of the filtered review index, keyset-paged: ``after``/``before`` are cursors from an earlier
    page (its ``next``/``prev``). The count stops at COUNT_CAP."""
    sort = sort if sort in SORTS else "date"
    limit = max(1, min(int(limit), 500))
    where, params = where_clause(filters or {})
    a, b = decode_cursor(after), decode_cursor(before)
    if b is not None:
        a = None
    keyed, more = _page_ids(store, where, params, sort, a, b, limit)
    by_id = fetch_rows(store, [k[0] for k in keyed])
    rows = [by_id[k[0]] for k in keyed if k[0] in by_id]
    has_next = more if b is None else True
    has_prev = (a is not None) if b is None else more
    out: dict[str, Any] = {
        "rows": rows, "sort": sort,
        "next": encode_cursor(keyed[-1][1], keyed[-1][0]) if keyed and has_next else None,
        "prev": encode_cursor(keyed[0][1], keyed[0][0]) if keyed and has_prev else None,
    }
    if with_count:
        out["total"], out["total_capped"] = count_capped(store, filters or {})
    return out


def review_queue(store, filters: dict[str, Any] | None = None, *, after: str | None = None,
                 before: str | None = None, limit: int = 50) -> dict[str, Any]:
    """The items most useful to check: not yet reviewed, highest priority first (small margin between the two
    best sentiment classes, sentiment contradicting the rating, low confidence, reach)."""
    f = dict(filters or {})
    f["status"] = "unreviewed"
    return list_feedback(store, f, "priority", after=after, before=before, limit=limit)


def neighbour(store, fid: str, filters: dict[str, Any] | None, sort: str, direction: str = "next") -> str | None:
    """The id after (or before) ``fid`` in a filtered, sorted list; None at either end or when fid is unknown."""
    sort = sort if sort in SORTS else "date"
    col = SORTS[sort][0]
    row = store.query(f"SELECT {col} FROM review_index WHERE feedback_id = ?", [fid])
    if not row:
        return None
    cur = encode_cursor(row[0][0], fid)
    page = list_feedback(store, filters, sort, after=cur if direction == "next" else None,
                         before=cur if direction != "next" else None, limit=1, with_count=False)
    return page["rows"][0]["feedback_id"] if page["rows"] else None


def facet_options(store) -> dict[str, list[str]]:
    """Values present in the review index, for the filter menus."""
    out: dict[str, list[str]] = {}
    for key in ("source", "channel", "language", "phase", "sentiment"):
        out[key] = [r[0] for r in store.query(
            f"SELECT DISTINCT {key} FROM review_index WHERE {key} IS NOT NULL ORDER BY 1")]
    for key, col in (("facet", "facets"), ("touchpoint", "touchpoints"), ("emotion", "emotions")):
        out[key] = [r[0] for r in store.query(
            f"SELECT DISTINCT v FROM (SELECT unnest({col}) AS v FROM review_index) WHERE v IS NOT NULL ORDER BY 1")]
    return out


# -- one item ------------------------------------------------------------------------------------------------

def model_values(tag_rows: Sequence[dict[str, Any]], tagged: bool = True) -> dict[str, Any]:
    """The model's value per correctable task from an item's tags rows."""
    by: dict[str, list[dict[str, Any]]] = {}
    for t in tag_rows:
        by.setdefault(t["task"], []).append(t)
    one = lambda task: by[task][0]["label"] if by.get(task) else None  # noqa: E731
    rel = one("relevance")
    return {
        "sentiment": one("sentiment"),
        "phase": one("phase"),
        "relevance": None if rel is None else rel == "relevant",
        "offensive": bool(by.get("offensive")) if tagged else None,
        "sustainability": bool(by.get("sustainability")) if tagged else None,
        "facet": sorted(t["label"] for t in by.get("facet", [])),
        "touchpoint": sorted(t["label"] for t in by.get("touchpoint", [])),
        "emotion": sorted(t["label"] for t in by.get("emotion", [])),
    }


def _tags_of(con, fid: str) -> list[dict[str, Any]]:
    cur = con.execute("SELECT task, label, score, evidence, model, model_version, tagged_at FROM tags "
                      "WHERE feedback_id = ? ORDER BY task, score DESC NULLS LAST, label", [fid])
    cols = [d[0] for d in cur.description]
    rows = [dict(zip(cols, r)) for r in cur.fetchall()]
    for r in rows:
        try:
            r["evidence"] = json.loads(r["evidence"]) if r["evidence"] else []
        except ValueError:
            r["evidence"] = []
    return rows


def _latest(con, fid: str) -> dict[str, Any]:
    rows = con.execute("SELECT task, arg_max(new_value, id) FROM corrections WHERE feedback_id = ? "
                       "AND task <> 'note' GROUP BY task", [fid]).fetchall()
    return {task: json.loads(v) if v is not None else None for task, v in rows}


def _effective(con, fid: str) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    tags = _tags_of(con, fid)
    tagged = bool(con.execute("SELECT count(*) FROM tag_state WHERE feedback_id = ?", [fid]).fetchone()[0])
    model = model_values(tags, tagged=tagged)
    eff = dict(model)
    eff.update(_latest(con, fid))
    return model, eff, tags


def get_item(store, fid: str) -> dict[str, Any] | None:
    """Everything the item page shows: the feedback, its tags with evidence, the model's scores and version,
    the model's and the effective value per task, and the item's audit trail."""
    with store._lock:
        cur = store.con.execute("SELECT * FROM feedback WHERE id = ?", [fid])
        cols = [d[0] for d in cur.description]
        row = cur.fetchone()
        if row is None:
            return None
        fb = dict(zip(cols, row))
        model, eff, tags = _effective(store.con, fid)
        st = store.con.execute("SELECT model, model_version, result, tagged_at FROM tag_state WHERE feedback_id = ?",
                               [fid]).fetchone()
    state = None
    if st:
        try:
            res = json.loads(st[2]) if st[2] else {}
        except ValueError:
            res = {}
        state = {"model": st[0], "model_version": st[1], "tagged_at": st[3],
                 "sentiment_scores": (res.get("sentiment") or {}).get("scores") or {},
                 "sentences": res.get("sentences") or []}
    return {"feedback": fb, "tags": tags, "state": state, "model_values": model, "values": eff,
            "audit": audit_trail(store, feedback_id=fid, limit=500)["rows"]}


def normalise_value(task: str, value: Any) -> Any:
    """The canonical JSON value of a task: str for single-label tasks, bool for flags, a sorted unique list
    for multi-label tasks. Raises ValueError for a value of the wrong kind."""
    if task in SINGLE_TASKS:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{task}: a label is required")
        return value.strip()
    if task in BOOL_TASKS:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "1", "yes", "ja", "relevant", "on"):
            return True
        if isinstance(value, str) and value.lower() in ("false", "0", "no", "nein", "irrelevant", "off"):
            return False
        raise ValueError(f"{task}: true or false expected")
    if task in LIST_TASKS:
        if isinstance(value, str):
            value = [value] if value else []
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{task}: a list of labels expected")
        return sorted({v.strip() for v in value if v.strip()})
    raise ValueError(f"unknown task {task!r}")


def _insert(con, fid: str, task: str, old: Any, new: Any, note: str | None, analyst: str, now: datetime) -> int:
    return con.execute(
        "INSERT INTO corrections (feedback_id, task, old_value, new_value, note, analyst, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        [fid, task, None if old is None else json.dumps(old, ensure_ascii=False),
         None if new is None else json.dumps(new, ensure_ascii=False), note or None, analyst, now]).fetchone()[0]


def add_correction(store, fid: str, task: str, new_value: Any, analyst: str, note: str | None = None
                   ) -> dict[str, Any]:
    """Record one analyst decision (a change or a confirmation) in one transaction: the previous effective
    value is read and stored with it, nothing is overwritten, and the item's review index row is recomputed."""
    if not analyst:
        raise ValueError("analyst is required")
    new = normalise_value(task, new_value)
    with store.transaction() as con:
        if not con.execute("SELECT count(*) FROM feedback WHERE id = ?", [fid]).fetchone()[0]:
            raise KeyError(fid)
        _, eff, _ = _effective(con, fid)
        old = eff.get(task)
        cid = _insert(con, fid, task, old, new, note, analyst, _now())
        _reindex(store, [fid], con)
    return {"id": cid, "feedback_id": fid, "task": task, "old_value": old, "new_value": new,
            "changed": old != new}


def confirm_all(store, fid: str, analyst: str, note: str | None = None) -> list[dict[str, Any]]:
    """The analyst agrees with every current value of the item: one confirmation row per task."""
    if not analyst:
        raise ValueError("analyst is required")
    out = []
    with store.transaction() as con:
        if not con.execute("SELECT count(*) FROM feedback WHERE id = ?", [fid]).fetchone()[0]:
            raise KeyError(fid)
        _, eff, _ = _effective(con, fid)
        now = _now()
        for task in CORRECTABLE_TASKS:
            if eff.get(task) is None:
                continue
            cid = _insert(con, fid, task, eff[task], eff[task], note, analyst, now)
            out.append({"id": cid, "task": task, "old_value": eff[task], "new_value": eff[task], "changed": False})
        _reindex(store, [fid], con)
    return out


def add_note(store, fid: str, note: str, analyst: str) -> dict[str, Any]:
    if not note or not note.strip():
        raise ValueError("empty note")
    with store.transaction() as con:
        if not con.execute("SELECT count(*) FROM feedback WHERE id = ?", [fid]).fetchone()[0]:
            raise KeyError(fid)
        cid = _insert(con, fid, NOTE_TASK, None, None, note.strip(), analyst, _now())
    return {"id": cid, "feedback_id": fid, "task": NOTE_TASK}


def audit_trail(store, feedback_id: str | None = None, analyst: str | None = None, task: str | None = None,
                before_id: int | None = None, limit: int = 100) -> dict[str, Any]:
    """Corrections, newest first (keyset-paged by id), with the start of each item's text."""
    conds, params = [], []
    for col, v in (("c.feedback_id", feedback_id), ("c.analyst", analyst), ("c.task", task)):
        if v:
            conds.append(f"{col} = ?")
            params.append(v)
    if before_id is not None:
        conds.append("c.id < ?")
        params.append(int(before_id))
    where = " AND ".join(conds) or "TRUE"
    rows = store.query_dicts(
        "SELECT c.id, c.feedback_id, c.task, c.old_value, c.new_value, c.note, c.analyst, c.created_at, "
        f"left(f.text, 140) AS text FROM corrections c LEFT JOIN feedback f ON f.id = c.feedback_id WHERE {where} "
        "ORDER BY c.id DESC LIMIT ?", params + [int(limit) + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    for r in rows:
        for k in ("old_value", "new_value"):
            r[k] = json.loads(r[k]) if r[k] is not None else None
        r["changed"] = r["task"] != NOTE_TASK and r["old_value"] != r["new_value"]
    return {"rows": rows, "next_before": rows[-1]["id"] if rows and more else None}


# -- exports and training --------------------------------------------------------------------------------------

def export_rows(store, filters: dict[str, Any] | None = None, sort: str = "date", *, batch_size: int = 2000,
                max_rows: int | None = None) -> Iterator[dict[str, Any]]:
    """Every row of the current filter with its full text, in keyset pages (the store is not held between
    pages, so the app stays responsive during a long export)."""
    sort = sort if sort in SORTS else "date"
    where, params = where_clause(filters or {})
    cursor = None
    n = 0
    while True:
        keyed, more = _page_ids(store, where, params, sort, cursor, None, batch_size)
        full = fetch_rows(store, [k[0] for k in keyed], text_chars=None)
        for fid, _ in keyed:
            if fid in full:
                yield full[fid]
                n += 1
                if max_rows is not None and n >= max_rows:
                    return
        if not more or not keyed:
            return
        cursor = (keyed[-1][1], keyed[-1][0])


def latest_corrections_for_training(store) -> list[dict[str, Any]]:
    """For every corrected or confirmed item: its text, the model's tags and the latest correction per task.
    Read-only (works on a store opened read-only; empty when there are no corrections)."""
    if not has_table(store, "corrections"):
        return []
    lc = store.query(  # the latest correction per (item, task); portable (DuckDB and PostgreSQL)
        "SELECT c.feedback_id, c.task, c.new_value FROM corrections c JOIN (SELECT max(id) AS id FROM corrections "
        "WHERE task <> 'note' GROUP BY feedback_id, task) m ON m.id = c.id ORDER BY c.id")
    if not lc:
        return []
    by: dict[str, dict[str, Any]] = {}
    for fid, task, v in lc:
        by.setdefault(fid, {})[task] = json.loads(v) if v is not None else None
    ids = sorted(by)
    with store._lock:
        store.con.register("_cids", pa.table({"k": pa.array(ids, pa.string())}))
        try:
            texts = dict(store.con.execute(
                "SELECT id, text FROM feedback WHERE id IN (SELECT k FROM _cids)").fetchall())
            tagged = {r[0] for r in store.con.execute(
                "SELECT feedback_id FROM tag_state WHERE feedback_id IN (SELECT k FROM _cids)").fetchall()}
            cur = store.con.execute("SELECT feedback_id, task, label FROM tags WHERE feedback_id IN "
                                    "(SELECT k FROM _cids)")
            tag_rows = cur.fetchall()
        finally:
            store.con.unregister("_cids")
    tags_by: dict[str, list[dict[str, Any]]] = {}
    for fid, task, label in tag_rows:
        tags_by.setdefault(fid, []).append({"task": task, "label": label})
    out = []
    for fid in ids:
        if fid not in texts:
            continue
        model = model_values(tags_by.get(fid, []), tagged=fid in tagged)
        out.append({"feedback_id": fid, "text": texts[fid], "model_values": model, "corrections": by[fid]})
    return out
