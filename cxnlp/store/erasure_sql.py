"""Erasure on request (Art. 17 GDPR / DSGVO, "Recht auf Löschung") in the store: the same SQL on DuckDB and
PostgreSQL. :mod:`cxnlp.erasure` composes it with the aggregates, the files and the compaction.

A request names data subjects by author hash (the keyed hash ingest stores in place of a name or e-mail
address) and by record id. What belongs to them:

- their texts (``feedback``): every row with one of the author hashes or one of the ids;
- their repeated posts (``duplicates``): rows with one of the ids or author hashes, and every duplicate of an
  erased text (a duplicate row holds no text of its own, only "another copy of that one");
- everything derived from those texts, keyed by ``feedback_id``: tags, tag state, experience signals, document
  vectors, topic memberships, the review queue's row and analysts' corrections;
- the examples that quote them in topics and alerts (removed from the JSON lists; the rest stays);
- quarantined rows of a record named by its source's own id (the quarantine keeps a rejected row's fields,
  redacted, with the author replaced: it cannot be searched by author).

Aggregates (experience per day and week, daily volume) are counts without text; the erased texts' days are
marked pending in the same transaction, so the caller (or, if it dies, the next run) recomputes them without
the erased rows.

Every erased id and author hash is kept in ``erased_keys`` (a suppression list, holding hashes only), so a
later ingest of the same export does not bring the texts back; ``erasures`` logs each request with a
reference and the counts, and no personal data (accountability, Art. 5(2) GDPR).
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable

import pyarrow as pa

from cxnlp.store.common import TABLE_EXISTS, has_table

# created by DuckDBStore.init_schema (cxnlp.store.duck.DDL) and PostgreSQL migration 0005
ERASURE_DDL = [
    """CREATE TABLE IF NOT EXISTS erasures (
        request_id VARCHAR PRIMARY KEY,
        requested_at TIMESTAMPTZ NOT NULL,
        reference VARCHAR,
        subjects JSON,
        counts JSON
    )""",
    """CREATE TABLE IF NOT EXISTS erased_keys (
        kind VARCHAR NOT NULL,          -- author | id | quarantine
        key VARCHAR NOT NULL,           -- an author hash or a record id
        request_id VARCHAR NOT NULL,
        erased_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (kind, key)
    )""",
]

# tables whose rows hang off one feedback id (some exist only once their stage has run)
DERIVED_TABLES = ("tags", "tag_state", "experience", "text_vectors", "topic_members", "review_index", "corrections")
# tables with JSON lists of examples: [{"id": feedback id, "text": ...}, ...], and their keys
EXAMPLE_TABLES = {"topics": ("run_id", "scope", "topic_id"), "alerts": ("alert_id",)}


@dataclass
class Selection:
    """What one request erases: the subjects' texts, repeated posts and quarantined rows."""
    feedback: list[dict[str, Any]] = field(default_factory=list)  # id, day (Berlin), text
    duplicates: list[str] = field(default_factory=list)
    quarantine: list[str] = field(default_factory=list)  # keys

    @property
    def ids(self) -> list[str]:
        return [r["id"] for r in self.feedback]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def table_exists(con, name: str) -> bool:
    """:func:`cxnlp.store.common.has_table` inside a transaction."""
    return bool(con.execute(TABLE_EXISTS, [name]).fetchall()[0][0])


def _keys(values: Iterable[str]) -> pa.Table:
    return pa.table({"k": pa.array(sorted(set(values)), pa.string())})


@contextmanager
def _keyed(con, **tables: Iterable[str]):
    """Temporary one-column tables (column ``k``) of these values under these names, for the statement's
    ``IN (SELECT k FROM name)``; dropped on the way out."""
    for name, values in tables.items():
        con.register(name, _keys(values))
    try:
        yield
    finally:
        for name in tables:
            con.unregister(name)


def select(con, ids: Iterable[str], authors: Iterable[str], records: Iterable[tuple[str, str, str]] = (),
           quarantine_keys: Iterable[str] = ()) -> Selection:
    """The rows a request with these record ids and author hashes erases (read inside the caller's
    transaction). ``records``: (source name, the source's id column, the source's id) of records named by
    their own id, whose quarantined rows go too; ``quarantine_keys``: quarantined rows by key."""
    from cxnlp.store.experience_sql import berlin_day

    with _keyed(con, _e_ids=ids, _e_auth=authors):
        cur = con.execute(f"""SELECT id, {berlin_day('created_at')} AS day, text FROM feedback
                              WHERE id IN (SELECT k FROM _e_ids) OR author_hash IN (SELECT k FROM _e_auth)
                              ORDER BY id""")
        cols = [d[0] for d in cur.description]
        fb = [dict(zip(cols, r)) for r in cur.fetchall()]
        with _keyed(con, _e_fb=[r["id"] for r in fb]):
            dups = [r[0] for r in con.execute(
                "SELECT id FROM duplicates WHERE id IN (SELECT k FROM _e_ids) OR original_id IN (SELECT k FROM _e_fb) "
                "OR author_hash IN (SELECT k FROM _e_auth) ORDER BY id").fetchall()]
    return Selection(fb, dups, sorted(set(quarantine_keys) | set(_quarantined(con, records))))


def _quarantined(con, records: Iterable[tuple[str, str, str]]) -> list[str]:
    """Keys of quarantined rows that hold one of these records: the row's fields (JSON) carry the id."""
    keys: list[str] = []
    for source, column, ext in records:
        if not column:
            continue
        for key, raw in con.execute("SELECT key, raw FROM quarantine WHERE source_name = ? AND strpos(raw, ?) > 0",
                                    [source, ext]).fetchall():
            try:
                rec = json.loads(raw)
            except ValueError:  # an unparsed row kept as (redacted) text: no fields to read the id from
                continue
            if isinstance(rec, dict) and str(rec.get(column, "")).strip() == ext:
                keys.append(key)
    return keys


def _scrub_examples(con, table: str, ids: set[str], apply: bool) -> int:
    """Removes the examples that quote an erased text from ``table``'s JSON lists; returns how many."""
    if not ids or not table_exists(con, table):
        return 0
    keys = EXAMPLE_TABLES[table]
    removed = 0
    with _keyed(con, _e_fb=ids):
        rows = con.execute(f"SELECT {', '.join(keys)}, CAST(examples AS VARCHAR) FROM {table} t WHERE EXISTS "
                           "(SELECT 1 FROM _e_fb e WHERE strpos(CAST(t.examples AS VARCHAR), e.k) > 0)").fetchall()
    for row in rows:
        examples = json.loads(row[-1]) if row[-1] else []
        kept = [x for x in examples if not (isinstance(x, dict) and x.get("id") in ids)]
        if len(kept) == len(examples):
            continue  # the id occurs in the JSON, but not as an example's id
        removed += len(examples) - len(kept)
        if apply:
            where = " AND ".join(f"{k} = ?" for k in keys)
            con.execute(f"UPDATE {table} SET examples = CAST(? AS JSON) WHERE {where}",
                        [json.dumps(kept, ensure_ascii=False), *row[:-1]])
    return removed


def erase(con, sel: Selection, *, request_id: str, reference: str | None, subjects: dict[str, int],
          ids: Iterable[str], authors: Iterable[str], apply: bool) -> dict[str, int]:
    """Deletes (``apply``) or counts (dry run) every row of ``sel`` and what derives from it, inside the caller's
    transaction; with ``apply`` also records the suppression keys and the request, and marks the erased texts'
    days pending for the experience aggregates. Returns rows per table."""
    from cxnlp.store.experience_sql import mark_pending_days

    fids = set(sel.ids)
    counts: dict[str, int] = {"feedback": len(fids), "duplicates": len(sel.duplicates),
                              "quarantine": len(sel.quarantine)}
    with _keyed(con, _e_fb=fids, _e_dup=sel.duplicates, _e_q=sel.quarantine):
        for table in DERIVED_TABLES:
            if not table_exists(con, table):
                continue
            where = f"FROM {table} WHERE feedback_id IN (SELECT k FROM _e_fb)"
            counts[table] = con.execute(f"SELECT count(*) {where}").fetchall()[0][0]
            if apply and counts[table]:
                con.execute(f"DELETE {where}")
        if apply:
            con.execute("DELETE FROM duplicates WHERE id IN (SELECT k FROM _e_dup)")
            con.execute("DELETE FROM feedback WHERE id IN (SELECT k FROM _e_fb)")
            con.execute("DELETE FROM quarantine WHERE key IN (SELECT k FROM _e_q)")
    for table in EXAMPLE_TABLES:
        counts[f"{table}_examples"] = _scrub_examples(con, table, fids, apply)
    if not apply:
        return counts
    now = _now()
    suppress = sorted({("author", a) for a in authors} | {("id", i) for i in [*ids, *fids, *sel.duplicates]}
                      | {("quarantine", k) for k in sel.quarantine})
    con.register("_e_keys", pa.table({"kind": pa.array([k for k, _ in suppress], pa.string()),
                                      "key": pa.array([v for _, v in suppress], pa.string())}))
    try:  # two columns: not a _keyed table
        con.execute("INSERT INTO erased_keys (kind, key, request_id, erased_at) SELECT kind, key, ?, ? FROM _e_keys "
                    "WHERE NOT EXISTS (SELECT 1 FROM erased_keys e WHERE e.kind = _e_keys.kind "
                    "AND e.key = _e_keys.key)", [request_id, now])
    finally:
        con.unregister("_e_keys")
    days = {str(r["day"]) for r in sel.feedback}
    if days and table_exists(con, "experience"):  # the next aggregate pass recomputes these days
        mark_pending_days(con, days)
    con.execute("INSERT INTO erasures (request_id, requested_at, reference, subjects, counts) "
                "VALUES (?, ?, ?, CAST(? AS JSON), CAST(? AS JSON))",
                [request_id, now, reference, json.dumps(subjects), json.dumps(counts)])
    return counts


def subject_data(con, sel: Selection) -> dict[str, list[dict[str, Any]]]:
    """Everything stored about the rows of ``sel`` (read inside the caller's transaction), for a data subject's
    access request (Art. 15 GDPR): the texts with their fields, tags, experience signals and corrections (the
    correcting analyst is another person and left out), the topics each text was counted in (runs that still
    keep their members), the repeated posts and the quarantined rows."""
    def rows(sql: str, table: str | None = None) -> list[dict[str, Any]]:
        if table is not None and not table_exists(con, table):
            return []
        cur = con.execute(sql)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]

    with _keyed(con, _e_fb=sel.ids, _e_dup=sel.duplicates, _e_q=sel.quarantine):
        return {
            "feedback": rows("SELECT id, source, source_name, external_id, channel, created_at, text, title, language, "
                             "rating_stars, rating_nps, rating_csat, rating_ces, thread_id, likes, shares, replies, "
                             "CAST(pii AS VARCHAR) AS pii, CAST(meta AS VARCHAR) AS meta, ingested_at FROM feedback "
                             "WHERE id IN (SELECT k FROM _e_fb) ORDER BY created_at, id"),
            "tags": rows("SELECT feedback_id, task, label, score, CAST(evidence AS VARCHAR) AS evidence, model, "
                         "model_version, tagged_at FROM tags WHERE feedback_id IN (SELECT k FROM _e_fb) "
                         "ORDER BY feedback_id, task, label"),
            "experience": rows("SELECT feedback_id, erlebnis, erlebnis_intensity, erfahrung, erfahrung_source, sentiment, "
                               "CAST(emotions AS VARCHAR) AS emotions, recommends, churn, relevant, computed_at "
                               "FROM experience WHERE feedback_id IN (SELECT k FROM _e_fb) ORDER BY feedback_id",
                               "experience"),
            "corrections": rows("SELECT feedback_id, task, CAST(old_value AS VARCHAR) AS old_value, "
                                "CAST(new_value AS VARCHAR) AS new_value, note, created_at FROM corrections "
                                "WHERE feedback_id IN (SELECT k FROM _e_fb) ORDER BY feedback_id, created_at",
                                "corrections"),
            "topics": rows("SELECT DISTINCT m.feedback_id, t.run_id, t.scope, t.label, t.created_at FROM topic_members m "
                           "JOIN topics t ON t.run_id = m.run_id AND t.scope = m.scope AND t.topic_id = m.topic_id "
                           "WHERE m.feedback_id IN (SELECT k FROM _e_fb) ORDER BY m.feedback_id, t.created_at, t.scope",
                           "topic_members"),
            "duplicates": rows("SELECT id, original_id, kind, source_name, created_at, likes, shares, replies "
                               "FROM duplicates WHERE id IN (SELECT k FROM _e_dup) ORDER BY created_at, id"),
            "quarantine": rows("SELECT source_name, file, row_number, reason, detail, raw, quarantined_at "
                               "FROM quarantine WHERE key IN (SELECT k FROM _e_q) ORDER BY source_name, file, row_number"),
        }


def suppressed(store) -> dict[str, set[str]]:
    """What was erased on request, by kind: ``id`` (record ids), ``author`` (author hashes), ``quarantine``
    (quarantine keys). Ingest stores none of them again."""
    out: dict[str, set[str]] = {"id": set(), "author": set(), "quarantine": set()}
    for kind, key in store.query("SELECT kind, key FROM erased_keys"):
        out.setdefault(kind, set()).add(key)
    return out


def resurrected(store) -> tuple[list[str], list[str]]:
    """Record ids (texts and repeated posts) and quarantine keys that the suppression list names and the store
    holds all the same (a writer that read the list just before a request committed, or a store restored from
    a backup taken before it): to erase once more. Plain joins, one per table and kind (an OR inside one join
    would make PostgreSQL compare every row with every key); nothing at all while the list is empty."""
    if not store.query("SELECT count(*) FROM erased_keys")[0][0]:
        return [], []
    ids: set[str] = set()
    for table in ("feedback", "duplicates"):
        for kind, col in (("id", "id"), ("author", "author_hash")):
            ids |= {r[0] for r in store.query(
                f"SELECT t.id FROM {table} t JOIN erased_keys e ON e.key = t.{col} WHERE e.kind = ?", [kind])}
    keys = {r[0] for r in store.query(
        "SELECT q.key FROM quarantine q JOIN erased_keys e ON e.key = q.key WHERE e.kind = 'quarantine'")}
    return sorted(ids), sorted(keys)


def requests(store, limit: int = 50) -> list[dict[str, Any]]:
    """The latest erasure requests, newest first (the audit log: reference, subjects and counts); none in a store
    made before erasure requests existed and opened read-only."""
    if not has_table(store, "erasures"):
        return []
    rows = store.query_dicts("SELECT request_id, requested_at, reference, subjects, counts FROM erasures "
                             "ORDER BY requested_at DESC LIMIT ?", [limit])
    for r in rows:
        for k in ("subjects", "counts"):
            if isinstance(r[k], str):
                r[k] = json.loads(r[k])
    return rows
