"""SQL for emerging topics: the texts of a window and the topics found in them. Portable between DuckDB and
PostgreSQL (on PostgreSQL the tables come from the migrations).

The window's texts are a deterministic sample in DuckDB's ``hash(id)`` order (the clustering depends on the
order). PostgreSQL has no such function, so there the ids are ordered by the same function in an in-process
DuckDB: both stores cluster the same texts in the same order."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Any, Sequence

import pyarrow as pa

DDL = [
    """CREATE TABLE IF NOT EXISTS topics (
        run_id VARCHAR, scope VARCHAR, topic_id VARCHAR, label VARCHAR, terms JSON, size INTEGER, neg_share DOUBLE,
        status VARCHAR, growth DOUBLE, first_week DATE, facet VARCHAR, touchpoint VARCHAR, covered BOOLEAN,
        weekly JSON, examples JSON, window_start DATE, window_end DATE, created_at TIMESTAMPTZ, stability DOUBLE,
        PRIMARY KEY (run_id, scope, topic_id))""",
    """CREATE TABLE IF NOT EXISTS topic_members (run_id VARCHAR, scope VARCHAR, topic_id VARCHAR, feedback_id VARCHAR)""",
    # a store made before topics had a stability (PostgreSQL: migration 0003)
    "ALTER TABLE topics ADD COLUMN IF NOT EXISTS stability DOUBLE",
]
COLUMNS = ("run_id, scope, topic_id, label, terms, size, neg_share, status, growth, first_week, facet, touchpoint, "
           "covered, weekly, examples, window_start, window_end, created_at, stability")


def init(store) -> None:
    if getattr(store, "dialect", "duckdb") != "duckdb":
        return  # PostgreSQL: created by the migrations
    if getattr(store, "read_only", False):
        return  # nothing can be created; a store the nightly run wrote has the tables
    with store._lock:
        for stmt in DDL:
            store.con.execute(stmt)


def window_docs(store, start: date, end: date, source: str | None = None, negative_only: bool = False,
                limit: int = 100_000) -> list[dict[str, Any]]:
    """Tagged, relevant feedback created in [start, end) (Berlin dates), a deterministic sample of at most
    ``limit`` texts (by id hash)."""
    day = "CAST(timezone('Europe/Berlin', f.created_at) AS DATE)"
    cond = ["e.relevant", f"{day} >= ?", f"{day} < ?"]
    params: list[Any] = [start, end]
    if source:
        cond.append("f.source = ?")
        params.append(source)
    if negative_only:
        cond.append("(e.sentiment = 'negative' OR e.erlebnis < -0.2)")
    select = f"""
        WITH fac AS (SELECT feedback_id, array_agg(label ORDER BY label) AS l FROM tags WHERE task = 'facet'
                     GROUP BY feedback_id),
             tp AS (SELECT feedback_id, array_agg(label ORDER BY label) AS l FROM tags WHERE task = 'touchpoint'
                    GROUP BY feedback_id)
        SELECT f.id, f.text, {day} AS day, e.sentiment = 'negative' AS negative,
               coalesce(fac.l, ARRAY[]::VARCHAR[]) AS facets, coalesce(tp.l, ARRAY[]::VARCHAR[]) AS touchpoints
        FROM feedback f JOIN experience e ON e.feedback_id = f.id
        LEFT JOIN fac ON fac.feedback_id = f.id LEFT JOIN tp ON tp.feedback_id = f.id
        WHERE {' AND '.join(cond)}"""
    if getattr(store, "dialect", "duckdb") == "duckdb":
        # the sample first (narrow), then the facet and touchpoint lists of the sampled texts only: grouping every
        # tag of the store would need memory in proportion to the store
        return store.query_dicts(f"""
            WITH c AS (SELECT f.id, f.text, {day} AS day, e.sentiment = 'negative' AS negative
                       FROM feedback f JOIN experience e ON e.feedback_id = f.id
                       WHERE {' AND '.join(cond)} ORDER BY hash(f.id), f.id LIMIT ?),
                 fac AS (SELECT t.feedback_id, array_agg(t.label ORDER BY t.label) AS l FROM tags t
                         JOIN c ON c.id = t.feedback_id WHERE t.task = 'facet' GROUP BY t.feedback_id),
                 tp AS (SELECT t.feedback_id, array_agg(t.label ORDER BY t.label) AS l FROM tags t
                        JOIN c ON c.id = t.feedback_id WHERE t.task = 'touchpoint' GROUP BY t.feedback_id)
            SELECT c.id, c.text, c.day, c.negative, coalesce(fac.l, ARRAY[]::VARCHAR[]) AS facets,
                   coalesce(tp.l, ARRAY[]::VARCHAR[]) AS touchpoints
            FROM c LEFT JOIN fac ON fac.feedback_id = c.id LEFT JOIN tp ON tp.feedback_id = c.id
            ORDER BY hash(c.id), c.id""", [*params, limit])
    ids = [r[0] for r in store.query(f"SELECT f.id FROM feedback f JOIN experience e ON e.feedback_id = f.id "
                                     f"WHERE {' AND '.join(cond)}", params)]
    chosen = hash_order(ids, limit)
    if not chosen:
        return []
    with store._lock:
        store.con.register("_sample", pa.table({"k": pa.array(chosen, pa.string())}))
        try:
            cur = store.con.execute(f"{select} AND f.id IN (SELECT k FROM _sample)", params)
            cols = [d[0] for d in cur.description]
            rows = [dict(zip(cols, r)) for r in cur.fetchall()]
        finally:
            store.con.unregister("_sample")
    pos = {k: i for i, k in enumerate(chosen)}
    return sorted(rows, key=lambda r: pos[r["id"]])


def write_vectors(store, ids: Sequence[str], blobs: Sequence[bytes | None], encoder: str) -> int:
    """Stores document vectors (see :mod:`cxnlp.classify.docvec`), replacing any of the same ids; None
    entries are skipped. Returns how many were written."""
    tbl = vector_table(ids, blobs, encoder)
    if tbl.num_rows:
        with store.transaction() as con:
            upsert_vectors(con, tbl)
    return tbl.num_rows


def vector_table(ids: Sequence[str], blobs: Sequence[bytes | None], encoder: str) -> pa.Table:
    """``(feedback_id, encoder, vec)`` rows of the ids that have a vector."""
    keep = [(i, b) for i, b in zip(ids, blobs) if b is not None]
    return pa.table({"feedback_id": pa.array([k[0] for k in keep], pa.string()),
                     "encoder": pa.array([encoder] * len(keep), pa.string()),
                     "vec": pa.array([k[1] for k in keep], pa.binary())})


# the rows of a registered view (feedback_id, encoder, vec) into text_vectors, replacing stored vectors of the same ids
UPSERT_VECTORS = ("INSERT INTO text_vectors SELECT feedback_id, encoder, vec FROM {view} "
                  "ON CONFLICT (feedback_id) DO UPDATE SET encoder = excluded.encoder, vec = excluded.vec")


def upsert_vectors(con, tbl: pa.Table) -> None:
    """Inside a write transaction: the rows of :func:`vector_table`, replacing stored vectors of the same ids."""
    if not tbl.num_rows:
        return
    con.register("_vecs", tbl)
    try:
        con.execute(UPSERT_VECTORS.format(view="_vecs"))
    finally:
        con.unregister("_vecs")


def read_vectors(store, ids: Sequence[str], encoder: str) -> dict[str, bytes]:
    """The stored vectors of these ids made by ``encoder`` (id -> blob); ids without one are left out."""
    if not ids:
        return {}
    with store._lock:
        store.con.register("_vec_ids", pa.table({"k": pa.array(list(ids), pa.string())}))
        try:
            rows = store.con.execute("SELECT v.feedback_id, v.vec FROM text_vectors v JOIN _vec_ids i "
                                     "ON i.k = v.feedback_id WHERE v.encoder = ?", [encoder]).fetchall()
        finally:
            store.con.unregister("_vec_ids")
    return {r[0]: bytes(r[1]) for r in rows}


def prune_vectors(store, before: date) -> int:
    """Drops the vectors of feedback created before ``before`` (a Berlin date): no topic window reaches back
    there any more, so the table holds about one window's texts. Returns how many were dropped."""
    day = "CAST(timezone('Europe/Berlin', f.created_at) AS DATE)"
    with store.transaction() as con:
        n = con.execute(f"SELECT count(*) FROM text_vectors v JOIN feedback f ON f.id = v.feedback_id "
                        f"WHERE {day} < ?", [before]).fetchall()[0][0]
        if n:
            con.execute(f"DELETE FROM text_vectors WHERE feedback_id IN (SELECT f.id FROM feedback f "
                        f"WHERE {day} < ?)", [before])
    return int(n)


def hash_order(ids: list[str], limit: int) -> list[str]:
    """The ids as DuckDB's ``ORDER BY hash(id), id LIMIT limit`` orders them."""
    if not ids:
        return []
    import duckdb

    con = duckdb.connect()
    try:
        con.register("_ids", pa.table({"k": pa.array(ids, pa.string())}))
        return [r[0] for r in con.execute("SELECT k FROM _ids ORDER BY hash(k), k LIMIT ?", [limit]).fetchall()]
    finally:
        con.close()


def save_topics(store, run_id: str, scope: str, topics: list, start: date, end: date) -> None:
    now = datetime.now(timezone.utc)
    with store.transaction() as con:
        con.execute("DELETE FROM topics WHERE run_id = ? AND scope = ?", [run_id, scope])
        con.execute("DELETE FROM topic_members WHERE run_id = ? AND scope = ?", [run_id, scope])
        for t in topics:
            con.execute(f"INSERT INTO topics ({COLUMNS}) VALUES ({', '.join('?' * (COLUMNS.count(',') + 1))})", [
                run_id, scope, t.id, t.label, json.dumps(t.terms, ensure_ascii=False), t.size, t.neg_share, t.status,
                t.growth if t.growth != float("inf") else 99.0, t.first_week, t.facet[0] if t.facet else None,
                t.touchpoint[0] if t.touchpoint else None, t.covered, json.dumps(t.weekly),
                json.dumps(t.examples, ensure_ascii=False), start, end, now, t.stability])
        # the members as one Arrow table (executemany inserted them row by row: 16 s for 95,000 members)
        members = [(t.id, fid) for t in topics for fid in t.member_ids]
        if members:
            con.register("_members", pa.table({
                "run_id": pa.array([run_id] * len(members), pa.string()),
                "scope": pa.array([scope] * len(members), pa.string()),
                "topic_id": pa.array([m[0] for m in members], pa.string()),
                "feedback_id": pa.array([m[1] for m in members], pa.string())}))
            try:
                con.execute("INSERT INTO topic_members SELECT run_id, scope, topic_id, feedback_id FROM _members")
            finally:
                con.unregister("_members")


def prune_members(store, keep_runs: int) -> int:
    """Keeps the members (topic -> feedback id) of the last ``keep_runs`` topic runs only; the topics themselves
    (labels, sizes, weekly counts) stay. Each run stores one row per text and scope (about 100,000 a night at
    the default window), so a year of nightly runs would hold tens of millions. Returns how many were dropped."""
    keep_runs = max(1, int(keep_runs))
    with store.transaction() as con:
        old = [r[0] for r in con.execute(
            "SELECT run_id FROM topics GROUP BY run_id ORDER BY max(created_at) DESC, run_id DESC OFFSET ?",
            [keep_runs]).fetchall()]
        if not old:
            return 0
        marks = ", ".join("?" * len(old))
        n = con.execute(f"SELECT count(*) FROM topic_members WHERE run_id IN ({marks})", old).fetchall()[0][0]
        if n:
            con.execute(f"DELETE FROM topic_members WHERE run_id IN ({marks})", old)
    return int(n)


def latest_topics(store, scope: str | None = None, min_stability: float | None = None) -> list[dict[str, Any]]:
    """The last run's topics, each with ``flagged`` (new, growing or spike, and robust: a stability of at least
    ``min_stability``, or none measured); per scope the flagged ones first."""
    from cxnlp.aggregate.topics import FLAGGED, MIN_STABILITY

    init(store)
    cond, params = ("AND scope = ?", [scope]) if scope else ("", [])
    floor = MIN_STABILITY if min_stability is None else float(min_stability)
    statuses = ", ".join(f"'{s}'" for s in FLAGGED)
    return store.query_dicts(f"""
        SELECT *, (status IN ({statuses}) AND coalesce(stability, 1.0) >= ?) AS flagged FROM topics
        WHERE run_id = (SELECT run_id FROM topics ORDER BY created_at DESC LIMIT 1) {cond}
        ORDER BY scope, flagged DESC, CASE status WHEN 'new' THEN 0 WHEN 'growing' THEN 1 WHEN 'spike' THEN 2 ELSE 3 END,
                 size DESC, topic_id""", [floor] + params)


def topic_member_texts(store, topic_id: str, limit: int = 500) -> list[dict[str, Any]]:
    return store.query_dicts("""SELECT DISTINCT f.id, f.text FROM topic_members m JOIN feedback f ON f.id = m.feedback_id
                                WHERE m.topic_id = ? AND m.run_id = (SELECT run_id FROM topics WHERE topic_id = ?
                                ORDER BY created_at DESC LIMIT 1) ORDER BY f.id LIMIT ?""", [topic_id, topic_id, limit])
