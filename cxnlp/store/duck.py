"""The embedded store: one DuckDB file. The only module that speaks SQL.

Writes are transactional per batch: a batch's feedback, duplicates, quarantine rows and the file's
progress marker commit together, so a run killed half-way leaves the store consistent and the next run
resumes after the last committed batch. Ids are deterministic and every insert ignores rows already
present, so re-ingesting the same input stores nothing twice.
"""
from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import duckdb
import pyarrow as pa

from cxnlp.schema import FEEDBACK_FIELDS, Duplicate, Feedback, QuarantineRow, feedback_table
from cxnlp.store.common import interrupted_runs, run_owner
from cxnlp.store.erasure_sql import ERASURE_DDL

SCHEMA_VERSION = 1

DDL = [
    """CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)""",
    # feedback.id has no primary key in DuckDB: the ingestor stores only ids it checked are new, in the one
    # process that holds the file's write lock, and an index over every stored id would hold memory in proportion
    # to the store (DuckDB keeps indexes in memory). PostgreSQL keeps its key (several writers there).
    """CREATE TABLE IF NOT EXISTS feedback (
        id VARCHAR NOT NULL,
        source VARCHAR NOT NULL,
        source_name VARCHAR NOT NULL,
        external_id VARCHAR,
        channel VARCHAR,
        created_at TIMESTAMPTZ NOT NULL,
        text VARCHAR NOT NULL,
        title VARCHAR,
        language VARCHAR,
        language_score DOUBLE,
        rating_stars TINYINT,
        rating_nps TINYINT,
        rating_csat TINYINT,
        rating_ces TINYINT,
        author_hash VARCHAR,
        thread_id VARCHAR,
        likes INTEGER,
        shares INTEGER,
        replies INTEGER,
        content_hash VARCHAR NOT NULL,
        near_key VARCHAR NOT NULL,
        pii JSON,
        meta JSON,
        run_id VARCHAR,
        ingested_at TIMESTAMPTZ NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS duplicates (
        id VARCHAR PRIMARY KEY,
        original_id VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,
        source_name VARCHAR NOT NULL,
        created_at TIMESTAMPTZ,
        likes INTEGER,
        shares INTEGER,
        replies INTEGER,
        run_id VARCHAR,
        ingested_at TIMESTAMPTZ NOT NULL,
        author_hash VARCHAR
    )""",
    # a store made before erasure on request (PostgreSQL: migration 0005): its duplicates have no author
    "ALTER TABLE duplicates ADD COLUMN IF NOT EXISTS author_hash VARCHAR",
    """CREATE TABLE IF NOT EXISTS quarantine (
        key VARCHAR PRIMARY KEY,
        source_name VARCHAR NOT NULL,
        file VARCHAR NOT NULL,
        row_number BIGINT NOT NULL,
        reason VARCHAR NOT NULL,
        detail VARCHAR,
        raw VARCHAR,
        run_id VARCHAR,
        quarantined_at TIMESTAMPTZ NOT NULL,
        raw_hash VARCHAR
    )""",
    # a store made before quarantined rows were redacted (PostgreSQL: migration 0004)
    "ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS raw_hash VARCHAR",
    """CREATE TABLE IF NOT EXISTS files (
        source_name VARCHAR NOT NULL,
        fingerprint VARCHAR NOT NULL,
        file VARCHAR NOT NULL,
        rows_done BIGINT NOT NULL,
        status VARCHAR NOT NULL,
        run_id VARCHAR,
        updated_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (source_name, fingerprint)
    )""",
    """CREATE TABLE IF NOT EXISTS runs (
        run_id VARCHAR PRIMARY KEY,
        kind VARCHAR NOT NULL,
        started_at TIMESTAMPTZ NOT NULL,
        finished_at TIMESTAMPTZ,
        status VARCHAR NOT NULL,
        stats JSON,
        model_versions JSON
    )""",
    """CREATE TABLE IF NOT EXISTS tags (
        feedback_id VARCHAR NOT NULL,
        task VARCHAR NOT NULL,
        label VARCHAR NOT NULL,
        score DOUBLE,
        evidence JSON,
        model VARCHAR NOT NULL,
        model_version VARCHAR NOT NULL,
        run_id VARCHAR,
        tagged_at TIMESTAMPTZ NOT NULL
        -- no primary key: write_tag_tables replaces a text's rows in one transaction, and an index over
        -- ~10 rows per text would hold memory in proportion to the store (DuckDB keeps indexes in memory)
    )""",
    """CREATE TABLE IF NOT EXISTS tag_state (
        feedback_id VARCHAR PRIMARY KEY,
        model VARCHAR NOT NULL,
        model_version VARCHAR NOT NULL,
        result JSON,
        tagged_at TIMESTAMPTZ NOT NULL,
        retag BOOLEAN NOT NULL DEFAULT FALSE
    )""",
    # document vectors for emerging topics (cxnlp.classify.docvec), written with the tags
    """CREATE TABLE IF NOT EXISTS text_vectors (feedback_id VARCHAR PRIMARY KEY, encoder VARCHAR NOT NULL,
        vec BLOB NOT NULL)""",
    *ERASURE_DDL,  # erasure on request: the request log and the suppression list (cxnlp.store.erasure_sql)
]

FEEDBACK_COLUMNS = [*FEEDBACK_FIELDS, "run_id", "ingested_at"]


class StoreError(RuntimeError):
    """The store cannot be opened or written; the message names the file and what to do."""


def _now() -> datetime:
    return datetime.now(timezone.utc)


DEFAULT_CHECKPOINT = "1GB"


class DuckDBStore:
    dialect = "duckdb"

    def __init__(self, path: str | Path, read_only: bool = False, memory_limit: str | None = None,
                 checkpoint: str | None = None):
        self.path = Path(path)
        self.read_only = read_only
        if not read_only:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                err = StoreError(f"cannot create the store's folder for {self.path.name}: {e.strerror}")
                err.retry = False  # type: ignore[attr-defined]
                raise err from e
        try:
            # DuckDB's memory cap: CXNLP_DUCKDB_MEMORY, else store.duckdb_memory (e.g. "2GB"), else DuckDB's
            # default of 80 % of RAM, which lets its cache grow with the store. The primary-key indexes must fit.
            import os

            limit = os.environ.get("CXNLP_DUCKDB_MEMORY") or memory_limit
            cfg = {"memory_limit": str(limit)} if limit else {}
            # How much write-ahead log DuckDB gathers before it checkpoints (CXNLP_DUCKDB_CHECKPOINT, else
            # store.duckdb_checkpoint, else 1GB). Every checkpoint also rewrites the primary-key indexes whole, so
            # with DuckDB's 16 MB a tag partition's writes (about 100 MB of results) cost more the bigger the
            # store: 2.9 s for the first 16,896 texts, 5.6 s for the fourth; with 1GB, 1.3-1.5 s each plus 0.9 s
            # of checkpoint later. The log is replayed after a crash, as before.
            ckpt = os.environ.get("CXNLP_DUCKDB_CHECKPOINT") or checkpoint or DEFAULT_CHECKPOINT
            if not read_only:
                cfg["checkpoint_threshold"] = str(ckpt)
            self._cfg = cfg
            self.con = duckdb.connect(str(self.path), read_only=read_only, config=cfg)
        except duckdb.Error as e:
            msg = str(e)
            if "lock" in msg.lower():  # another process writes the file: worth retrying (open_store does)
                held = msg[msg.find("Conflicting lock"):] if "Conflicting lock" in msg else msg
                err = StoreError(f"the DuckDB file {self.path} is locked by another process ({held.strip()})")
                err.retry = True  # type: ignore[attr-defined]
            else:
                err = StoreError(f"cannot open the store {self.path.name}: {e}")
                err.retry = False  # type: ignore[attr-defined]
            raise err from e
        self._lock = threading.RLock()
        if not read_only:
            self.init_schema()

    # -- lifecycle -------------------------------------------------------------------------------
    def init_schema(self) -> None:
        with self._lock:
            for stmt in DDL:
                self.con.execute(stmt)
            self.con.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])

    def close(self) -> None:
        with self._lock:
            self.con.close()

    def __enter__(self) -> "DuckDBStore":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def reclaim(self, tables: Sequence[str] = (), full: bool = True) -> dict[str, Any]:
        """Makes deleted rows unrecoverable from the file. DuckDB only marks a deleted row and keeps its bytes in
        the file (also after CHECKPOINT and VACUUM: tested), so ``full`` copies the live data into a new file
        (``COPY FROM DATABASE``: tables, indexes, views and sequences with their current values) and puts it in
        the old one's place; the old file is unlinked, not overwritten (on SSDs and copy-on-write file systems
        only the disk's own erase reaches its blocks). Without ``full``: a checkpoint only. ``tables`` is for
        PostgreSQL's VACUUM; DuckDB always rewrites every table. Returns the method and the sizes."""
        import os
        import time

        if self.read_only:
            raise StoreError(f"{self.path.name} was opened read-only")
        with self._lock:
            self.con.execute("CHECKPOINT")
            before = self.path.stat().st_size
            if not full:
                return {"method": "checkpoint", "bytes_before": before, "bytes_after": before}
            t0 = time.perf_counter()
            tmp = self.path.with_name(self.path.name + ".compact")
            for f in (tmp, tmp.with_name(tmp.name + ".wal")):
                f.unlink(missing_ok=True)
            name = self.con.execute("SELECT current_database()").fetchone()[0]
            quoted = str(tmp).replace("'", "''")
            self.con.execute(f"ATTACH '{quoted}' AS _cxnlp_compact")
            try:
                self.con.execute(f'COPY FROM DATABASE "{name}" TO _cxnlp_compact')
            except BaseException:
                self.con.execute("DETACH _cxnlp_compact")
                tmp.unlink(missing_ok=True)
                raise
            self.con.execute("DETACH _cxnlp_compact")
            # the new file takes the old one's name while this process still holds the old file's lock: no other
            # process can have opened the old file meanwhile and write into it after the swap
            os.replace(tmp, self.path)
            self.con.close()
            self.con = duckdb.connect(str(self.path), config=self._cfg)
            return {"method": "rewrite", "bytes_before": before, "bytes_after": self.path.stat().st_size,
                    "seconds": round(time.perf_counter() - t0, 2)}

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._lock:
            self.con.execute("BEGIN TRANSACTION")
            try:
                yield self.con
            except BaseException:
                self.con.execute("ROLLBACK")
                raise
            else:
                self.con.execute("COMMIT")

    # -- generic reads -----------------------------------------------------------------------------
    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        with self._lock:
            return self.con.execute(sql, params or []).fetchall()

    def query_dicts(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        with self._lock:
            cur = self.con.execute(sql, params or [])
            cols = [d[0] for d in cur.description]
            return [dict(zip(cols, r)) for r in cur.fetchall()]

    def arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        with self._lock:
            rel = self.con.sql(sql, params=list(params) if params else None)
            # DuckDB 2 names it to_arrow_table (an execute() result's version copies the rows once more)
            tbl = rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.arrow()
            return tbl.read_all() if hasattr(tbl, "read_all") else tbl

    def stream(self, sql: str, params: Sequence[Any] | None = None, batch_rows: int = 5000) -> Iterator[list[dict]]:
        """One query's rows as dicts, ``batch_rows`` at a time, read through a second connection: memory holds
        about one batch, and the store may be written between batches (the stream reads the snapshot taken when
        it started)."""
        with self._lock:
            cur = self.con.cursor()
        try:
            reader = cur.sql(sql, params=list(params) if params else None).to_arrow_reader(batch_rows)
            buf: list[dict] = []
            for batch in reader:
                buf += batch.to_pylist()
                while len(buf) >= batch_rows:
                    yield buf[:batch_rows]
                    buf = buf[batch_rows:]
            if buf:
                yield buf
        finally:
            cur.close()

    def count(self, table: str) -> int:
        if table not in {"feedback", "duplicates", "quarantine", "tags", "tag_state", "runs", "files"}:
            raise ValueError(table)
        return self.query(f"SELECT count(*) FROM {table}")[0][0]

    # -- files / resume --------------------------------------------------------------------------
    def file_progress(self, source_name: str, fingerprint: str) -> tuple[int, str | None]:
        rows = self.query("SELECT rows_done, status FROM files WHERE source_name = ? AND fingerprint = ?",
                          [source_name, fingerprint])
        return (rows[0][0], rows[0][1]) if rows else (0, None)

    # -- dedup lookups ----------------------------------------------------------------------------
    def find_near_keys(self, keys: Iterable[str]) -> dict[str, tuple[str, str]]:
        """near_key -> (original id, its content_hash) for keys already stored."""
        keys = list(set(keys))
        if not keys:
            return {}
        tbl = pa.table({"k": pa.array(keys, pa.string())})
        with self._lock:
            self.con.register("_keys", tbl)
            try:
                rows = self.con.execute(
                    "SELECT f.near_key, arg_min(f.id, f.ingested_at), arg_min(f.content_hash, f.ingested_at) "
                    "FROM feedback f JOIN _keys k ON f.near_key = k.k GROUP BY f.near_key").fetchall()
            finally:
                self.con.unregister("_keys")
        return {r[0]: (r[1], r[2]) for r in rows}

    def existing_ids(self, table: str, ids: Iterable[str]) -> set[str]:
        col = {"feedback": "id", "duplicates": "id", "quarantine": "key"}[table]
        ids = list(set(ids))
        if not ids:
            return set()
        tbl = pa.table({"k": pa.array(ids, pa.string())})
        with self._lock:
            self.con.register("_ids", tbl)
            try:
                rows = self.con.execute(f"SELECT t.{col} FROM {table} t JOIN _ids k ON t.{col} = k.k").fetchall()
            finally:
                self.con.unregister("_ids")
        return {r[0] for r in rows}

    # -- batch write ----------------------------------------------------------------------------
    def write_ingest_batch(self, *, run_id: str, feedback: list[Feedback] | pa.Table, duplicates: list[Duplicate],
                           quarantine: list[QuarantineRow], source_name: str, fingerprint: str, file: str,
                           rows_done: int, file_status: str) -> None:
        """One transaction: rows plus the file's progress marker. ``feedback``: Feedback rows or their Arrow
        table (:func:`cxnlp.schema.feedback_table`), ids not yet stored (the ingestor checks; this process is
        the file's only writer)."""
        now = _now()
        fb = feedback if isinstance(feedback, pa.Table) else feedback_table(feedback) if feedback else None
        with self.transaction() as con:
            if fb is not None and fb.num_rows:
                con.register("_fb", fb)
                con.execute(f"INSERT INTO feedback ({', '.join(FEEDBACK_COLUMNS)}) "
                            f"SELECT {', '.join(FEEDBACK_FIELDS)}, ?, ? FROM _fb", [run_id, now])
                con.unregister("_fb")
            if duplicates:
                con.register("_dup", pa.table({
                    "id": [d.id for d in duplicates],
                    "original_id": [d.original_id for d in duplicates],
                    "kind": [d.kind for d in duplicates],
                    "source_name": [d.source_name for d in duplicates],
                    "created_at": pa.array([d.created_at for d in duplicates], pa.timestamp("us", tz="UTC")),
                    "likes": pa.array([d.likes for d in duplicates], pa.int64()),
                    "shares": pa.array([d.shares for d in duplicates], pa.int64()),
                    "replies": pa.array([d.replies for d in duplicates], pa.int64()),
                    "author_hash": pa.array([d.author_hash for d in duplicates], pa.string()),
                }))
                con.execute("INSERT OR IGNORE INTO duplicates (id, original_id, kind, source_name, created_at, likes, "
                            "shares, replies, author_hash, run_id, ingested_at) SELECT id, original_id, kind, "
                            "source_name, created_at, likes, shares, replies, author_hash, ?, ? FROM _dup", [run_id, now])
                con.unregister("_dup")
            if quarantine:
                con.register("_q", pa.table({
                    "key": [q.key for q in quarantine],
                    "source_name": [q.source_name for q in quarantine],
                    "file": [q.file for q in quarantine],
                    "row_number": pa.array([q.row_number for q in quarantine], pa.int64()),
                    "reason": [q.reason for q in quarantine],
                    "detail": [q.detail for q in quarantine],
                    "raw": [q.raw for q in quarantine],
                    "raw_hash": pa.array([q.raw_hash for q in quarantine], pa.string()),
                }))
                con.execute("INSERT OR IGNORE INTO quarantine (key, source_name, file, row_number, reason, detail, "
                            "raw, run_id, quarantined_at, raw_hash) SELECT key, source_name, file, row_number, "
                            "reason, detail, raw, ?, ?, raw_hash FROM _q", [run_id, now])
                con.unregister("_q")
            con.execute(
                "INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source_name, fingerprint) DO UPDATE "
                "SET rows_done = excluded.rows_done, status = excluded.status, run_id = excluded.run_id, "
                "updated_at = excluded.updated_at",
                [source_name, fingerprint, file, rows_done, file_status, run_id, now])

    # -- tags ------------------------------------------------------------------------------------
    def untagged(self, model: str, model_version: str, limit: int) -> list[tuple[str, str]]:
        """(id, text) of feedback with no tags from this model version, or marked for re-tagging."""
        return self.query(
            "SELECT f.id, f.text FROM feedback f LEFT JOIN tag_state s ON s.feedback_id = f.id "
            "WHERE s.feedback_id IS NULL OR s.retag OR s.model <> ? OR s.model_version <> ? "
            "ORDER BY f.created_at, f.id LIMIT ?", [model, model_version, limit])

    def count_untagged(self, model: str, model_version: str) -> int:
        return self.query(
            "SELECT count(*) FROM feedback f LEFT JOIN tag_state s ON s.feedback_id = f.id "
            "WHERE s.feedback_id IS NULL OR s.retag OR s.model <> ? OR s.model_version <> ?",
            [model, model_version])[0][0]

    def write_tags(self, results: list[tuple[str, dict[str, Any]]], tag_rows: list[tuple], model: str,
                   model_version: str, run_id: str) -> None:
        """Replaces the tags of these feedback ids in one transaction (a re-tag never leaves stale rows)."""
        from cxnlp.store.common import tag_tables

        self.write_tag_tables(*tag_tables(results, tag_rows), model, model_version, run_id)

    def write_tag_tables(self, docs: pa.Table, tags: pa.Table, model: str, model_version: str, run_id: str,
                         vectors: pa.Table | None = None) -> None:
        """``write_tags`` from Arrow tables (see :func:`cxnlp.classify.stage.result_tables`): ``docs`` has
        id and result (JSON text), ``tags`` the rows feedback_id, task, label, score, evidence (JSON text);
        ``vectors`` the texts' document vectors (:func:`cxnlp.store.topics_sql.vector_table`), in the same
        transaction."""
        now = _now()
        # First-time tagging (the nightly case): plain inserts, whose primary-key checks are index lookups. Any
        # statement that finds a key there (a text tagged before: retag, new model version, or a vector the
        # topic stage stored) raises, the transaction rolls back whole, and the batch is written again with the
        # replacing statements. Those cost a scan of the table per batch (ON CONFLICT, or the deletes' joins):
        # at 1,000,000 tagged texts about 50 ms per batch of 512, most of the flow's store writes.
        try:
            self._write_tag_tables(docs, tags, model, model_version, run_id, vectors, now, replace=False)
        except duckdb.ConstraintException:
            self._write_tag_tables(docs, tags, model, model_version, run_id, vectors, now, replace=True)

    def _write_tag_tables(self, docs: pa.Table, tags: pa.Table, model: str, model_version: str, run_id: str,
                          vectors: pa.Table | None, now: datetime, replace: bool) -> None:
        vectors = vectors if vectors is not None and vectors.num_rows else None
        # the inputs are registered outside the transaction: a failed statement aborts it, and then nothing but
        # ROLLBACK may run in it (and ROLLBACK drops what was registered inside)
        views = {"_s": docs, **({"_t": tags} if tags.num_rows else {}), **({"_v": vectors} if vectors else {})}
        with self._lock:
            for name, tbl in views.items():
                self.con.register(name, tbl)
            try:
                with self.transaction() as con:
                    if replace:
                        con.execute("DELETE FROM tags WHERE feedback_id IN (SELECT id FROM _s)")
                        con.execute("DELETE FROM tag_state WHERE feedback_id IN (SELECT id FROM _s)")
                    con.execute("INSERT INTO tag_state SELECT id, ?, ?, result, ?, FALSE FROM _s",
                                [model, model_version, now])
                    if vectors is not None:
                        from cxnlp.store.topics_sql import UPSERT_VECTORS

                        con.execute(UPSERT_VECTORS.format(view="_v") if replace else
                                    "INSERT INTO text_vectors SELECT feedback_id, encoder, vec FROM _v")
                    if "_t" in views:
                        con.execute("INSERT INTO tags SELECT feedback_id, task, label, score, evidence, ?, ?, ?, ? "
                                    "FROM _t", [model, model_version, run_id, now])
            finally:
                for name in views:
                    self.con.unregister(name)

    def request_retag(self, ids: Iterable[str]) -> int:
        ids = list(ids)
        with self.transaction() as con:
            con.register("_ids", pa.table({"k": pa.array(ids, pa.string())}))
            con.execute("UPDATE tag_state SET retag = TRUE WHERE feedback_id IN (SELECT k FROM _ids)")
            con.unregister("_ids")
        return len(ids)

    # -- summaries --------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """Store-wide counts: what is stored, duplicated, quarantined (and why), per source."""
        from cxnlp.store.common import summary

        return summary(self)

    def rebuild_daily_volume(self) -> int:
        """Daily volume per source, channel and language, with reposts counted (deterministic: a re-run
        gives the same table). Returns the number of cells."""
        with self.transaction() as con:
            con.execute("""CREATE OR REPLACE TABLE daily_volume AS
                WITH d AS (
                    SELECT f.source, f.channel, f.language, CAST(timezone('Europe/Berlin', x.created_at) AS DATE) AS day,
                           x.is_dup
                    FROM (SELECT id AS fid, created_at, FALSE AS is_dup FROM feedback
                          UNION ALL SELECT original_id, created_at, TRUE FROM duplicates) x
                    JOIN feedback f ON f.id = x.fid)
                SELECT day, source, channel, language, count(*) FILTER (WHERE NOT is_dup) AS items,
                       count(*) FILTER (WHERE is_dup) AS reposts
                FROM d GROUP BY ALL ORDER BY ALL""")
            return con.execute("SELECT count(*) FROM daily_volume").fetchone()[0]

    # -- runs -----------------------------------------------------------------------------------
    def start_run(self, run_id: str, kind: str) -> list[str]:
        """Records the run as 'running' with its process; runs whose process died meanwhile (SIGKILL, a crash of
        the machine) become 'interrupted'. Returns their ids."""
        now = _now()
        dead = interrupted_runs(self, now)
        with self.transaction() as con:
            if dead:
                con.execute("UPDATE runs SET status = 'interrupted', finished_at = ? WHERE status = 'running' "
                            f"AND run_id IN ({', '.join('?' * len(dead))})", [now, *dead])
            con.execute("INSERT OR REPLACE INTO runs VALUES (?, ?, ?, NULL, 'running', ?, NULL)",
                        [run_id, kind, now, json.dumps({"owner": run_owner()})])
        return dead

    def finish_run(self, run_id: str, status: str, stats: dict[str, Any],
                   model_versions: dict[str, Any] | None = None) -> None:
        with self._lock:
            self.con.execute("UPDATE runs SET finished_at = ?, status = ?, stats = ?, model_versions = ? "
                             "WHERE run_id = ?",
                             [_now(), status, json.dumps(stats, default=str),
                              json.dumps(model_versions or {}), run_id])
