"""The team store: PostgreSQL behind the same interface as :class:`~cxnlp.store.duck.DuckDBStore`.

Several people (and several processes) can write one PostgreSQL database. What keeps that safe:

- the schema is owned by Alembic migrations (``cxnlp/store/migrations``); opening a store for writing runs
  ``upgrade head`` when the database is behind, under a session advisory lock so two processes opening at once
  do not race (the second finds the work done);
- every write goes through :meth:`PostgresStore.transaction`, which takes a transaction-level advisory lock:
  write transactions (a batch each) are serialised across processes, so "delete these rows, insert their
  replacement" can never interleave with a second writer doing the same;
- ids are deterministic and inserts use ``ON CONFLICT DO NOTHING``: a second writer with the same input stores
  nothing twice;
- bulk rows travel by ``COPY`` into a temporary staging table and are moved with one ``INSERT ... SELECT``.

The ``*_sql`` modules talk to ``store.con`` as if it were a DuckDB connection (``execute`` with ``?`` or
``$name`` parameters, ``register``/``unregister`` of Arrow tables, ``fetchone``/``fetchall``/``description``);
:class:`PgConnection` translates that to psycopg. Values come back as DuckDB returns them: JSON columns as
text, integral sums as ``int``.
"""
from __future__ import annotations

import json
import threading
import zlib
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import pyarrow as pa

from cxnlp.schema import FEEDBACK_FIELDS, Duplicate, Feedback, QuarantineRow, feedback_table
from cxnlp.store.common import interrupted_runs, run_owner
from cxnlp.store.duck import FEEDBACK_COLUMNS, StoreError

STORE_DIR = Path(__file__).resolve().parent
ALEMBIC_INI = STORE_DIR / "alembic.ini"
MIGRATIONS_DIR = STORE_DIR / "migrations"

# advisory lock keys (64-bit): one for schema migrations (session lock), one for write transactions
MIGRATE_LOCK = zlib.crc32(b"cxnlp.store.migrate")
WRITE_LOCK = zlib.crc32(b"cxnlp.store.write")



def _now() -> datetime:
    return datetime.now(timezone.utc)


# -- URLs ----------------------------------------------------------------------------------------------------

def is_postgres_url(url: str | None) -> bool:
    return bool(url) and str(url).split(":", 1)[0].split("+", 1)[0].lower() in ("postgresql", "postgres")


def _sa_url(url: str):
    """The URL as SQLAlchemy URL with the psycopg (3) driver."""
    from sqlalchemy.engine import make_url

    try:
        u = make_url(str(url))
    except Exception as e:  # noqa: BLE001 - SQLAlchemy raises ArgumentError for garbage
        raise StoreError(f"store.url is not a valid database URL ({e}); expected e.g. "
                         "postgresql+psycopg://user:password@host:5432/cxnlp") from e
    if u.drivername in ("postgres", "postgresql", "postgresql+psycopg2", "postgresql+psycopg"):
        u = u.set(drivername="postgresql+psycopg")
    return u


def mask_url(url: str) -> str:
    """The URL with its password replaced by ***, for messages and logs."""
    try:
        return _sa_url(url).render_as_string(hide_password=True)
    except StoreError:
        return "<invalid URL>"


def _conninfo(url: str) -> str:
    """A libpq connection URI (psycopg does not understand SQLAlchemy's +driver part)."""
    return _sa_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


# -- SQL translation (DuckDB-style parameters to psycopg's) ---------------------------------------------------

@lru_cache(maxsize=512)
def pg_sql(sql: str) -> str:
    """``?`` -> ``%s``, ``$name`` -> ``%(name)s``, a literal ``%`` -> ``%%``; string literals, quoted identifiers
    and comments are copied unchanged (except for ``%``)."""
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in ("'", '"'):
            j = i + 1
            while j < n:
                if sql[j] == ch:
                    if j + 1 < n and sql[j + 1] == ch:
                        j += 2
                        continue
                    break
                j += 1
            out.append(sql[i:j + 1].replace("%", "%%"))
            i = j + 1
        elif ch == "-" and sql.startswith("--", i):
            j = sql.find("\n", i)
            j = n if j < 0 else j
            out.append(sql[i:j].replace("%", "%%"))
            i = j
        elif ch == "?":
            out.append("%s")
            i += 1
        elif ch == "%":
            out.append("%%")
            i += 1
        elif ch == "$" and i + 1 < n and (sql[i + 1].isalpha() or sql[i + 1] == "_"):
            j = i + 1
            while j < n and (sql[j].isalnum() or sql[j] == "_"):
                j += 1
            out.append(f"%({sql[i + 1:j]})s")
            i = j
        else:
            out.append(ch)
            i += 1
    return "".join(out)


_ARROW_TO_PG = [
    (pa.types.is_boolean, "BOOLEAN"),
    (pa.types.is_int8, "SMALLINT"), (pa.types.is_int16, "SMALLINT"), (pa.types.is_int32, "INTEGER"),
    (pa.types.is_integer, "BIGINT"),
    (pa.types.is_floating, "DOUBLE PRECISION"),
    (pa.types.is_date, "DATE"),
    (pa.types.is_string, "TEXT"), (pa.types.is_large_string, "TEXT"),
    (pa.types.is_binary, "BYTEA"), (pa.types.is_large_binary, "BYTEA"),
]


def _pg_type(t: pa.DataType) -> str:
    if pa.types.is_timestamp(t):
        return "TIMESTAMPTZ" if t.tz else "TIMESTAMP"
    if pa.types.is_list(t) and (pa.types.is_string(t.value_type) or pa.types.is_large_string(t.value_type)):
        return "TEXT[]"
    for test, name in _ARROW_TO_PG:
        if test(t):
            return name
    return "TEXT"  # null-typed (all None) columns and anything else


def _ident(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a plain identifier: {name!r}")
    return name


class PgConnection:
    """The part of DuckDB's connection API the store modules use, on one psycopg connection."""

    def __init__(self, conn):
        self.raw = conn

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None):
        return self.raw.execute(pg_sql(sql), params if params is not None else [])

    def executemany(self, sql: str, seq: Iterable[Sequence[Any]]) -> None:
        rows = list(seq)
        if rows:
            with self.raw.cursor() as cur:
                cur.executemany(pg_sql(sql), rows)

    def register(self, name: str, table: pa.Table) -> None:
        """A temporary table ``name`` holding the Arrow table's rows (loaded by COPY)."""
        name = _ident(name)
        cols = [_ident(c) for c in table.column_names]
        types = [_pg_type(f.type) for f in table.schema]
        self.raw.execute(f"DROP TABLE IF EXISTS pg_temp.{name}")
        self.raw.execute(f"CREATE TEMP TABLE {name} ({', '.join(f'{c} {t}' for c, t in zip(cols, types))})")
        copy_rows(self.raw, name, cols, zip(*(c.to_pylist() for c in table.columns)) if cols else [])

    def unregister(self, name: str) -> None:
        self.raw.execute(f"DROP TABLE IF EXISTS pg_temp.{_ident(name)}")

    def close(self) -> None:
        self.raw.close()


def copy_rows(conn, table: str, cols: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    with conn.cursor() as cur:
        with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as cp:
            for row in rows:
                cp.write_row(row)


def _configure(conn) -> None:
    """JSON comes back as text and integral numerics as int, as DuckDB returns them."""
    from psycopg.adapt import Loader
    from psycopg.types.string import TextLoader

    class NumericLoader(Loader):
        def load(self, data):
            s = bytes(data).decode("ascii")
            try:
                return int(s)
            except ValueError:
                return float(s)

    for t in ("json", "jsonb"):
        conn.adapters.register_loader(t, TextLoader)
    conn.adapters.register_loader("numeric", NumericLoader)
    try:  # numpy scalars are bound as DuckDB binds them (the topic stage passes some)
        import numpy as np
        from psycopg.types.bool import BoolDumper
        from psycopg.types.numeric import FloatDumper, Int8Dumper

        class NpInt(Int8Dumper):
            def dump(self, obj):
                return super().dump(int(obj))

        class NpFloat(FloatDumper):
            def dump(self, obj):
                return super().dump(float(obj))

        class NpBool(BoolDumper):
            def dump(self, obj):
                return super().dump(bool(obj))

        for t in (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64):
            conn.adapters.register_dumper(t, NpInt)
        for t in (np.float16, np.float32, np.float64):
            conn.adapters.register_dumper(t, NpFloat)
        conn.adapters.register_dumper(np.bool_, NpBool)
    except ImportError:  # pragma: no cover
        pass


# -- connecting ------------------------------------------------------------------------------------------------

_PERMANENT = ("password authentication failed", "does not exist", "no pg_hba.conf entry", "role ",
              "invalid connection option", "invalid dsn", "invalid uri")


def connect(url: str, connect_timeout: float = 5.0):
    """One psycopg connection (autocommit). Raises StoreError(permanent=...) with the URL masked."""
    import psycopg

    try:
        conn = psycopg.connect(_conninfo(url), autocommit=True, connect_timeout=max(1, int(connect_timeout)),
                               application_name="cxnlp")
    except psycopg.Error as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        err = StoreError(f"cannot connect to the PostgreSQL store {mask_url(url)}: {msg}")
        err.permanent = any(p in msg.lower() for p in _PERMANENT)  # type: ignore[attr-defined]
        raise err from e
    _configure(conn)
    conn.execute("SET TIME ZONE 'UTC'")
    return conn


# -- migrations ------------------------------------------------------------------------------------------------

def alembic_config(url: str | None = None):
    from alembic.config import Config

    cfg = Config(str(ALEMBIC_INI))
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        # Alembic's ini parser treats % as interpolation: escape it (passwords may contain one)
        cfg.set_main_option("sqlalchemy.url", _sa_url(url).render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The newest revision shipped with this package (read once per process)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(url: str) -> str | None:
    conn = connect(url)
    try:
        return _current_revision(conn)
    finally:
        conn.close()


def _current_revision(conn) -> str | None:
    if conn.execute("SELECT to_regclass('alembic_version')").fetchone()[0] is None:
        return None
    row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return row[0] if row else None


def migrate(url: str, revision: str = "head") -> str | None:
    """``alembic upgrade <revision>`` on this database, serialised across processes by an advisory lock.
    Returns the revision the database is at afterwards."""
    from alembic import command
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(_sa_url(url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATE_LOCK})
            conn.commit()
            try:
                cfg = alembic_config(url)
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
                conn.commit()
                row = conn.execute(text("SELECT version_num FROM alembic_version")).fetchone()
                conn.commit()
                return row[0] if row else None
            finally:
                conn.rollback()
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATE_LOCK})
                conn.commit()
    except StoreError:
        raise
    except Exception as e:  # noqa: BLE001 - surface as a store error with the URL masked
        err = StoreError(f"cannot migrate the PostgreSQL store {mask_url(url)}: {type(e).__name__}: "
                         f"{str(e).splitlines()[0] if str(e) else ''}")
        import sqlalchemy.exc

        # a server that is not there (yet) is worth another try; a failing migration is not
        err.retry = isinstance(e, sqlalchemy.exc.OperationalError)  # type: ignore[attr-defined]
        raise err from e
    finally:
        engine.dispose()


def ensure_migrated(url: str, conn=None) -> None:
    """Bring the database to the head revision when it is behind (one cheap query when it is not)."""
    own = conn is None
    conn = conn or connect(url)
    try:
        current = _current_revision(conn)
    finally:
        if own:
            conn.close()
    if current != head_revision():
        migrate(url, "head")


# -- the store -------------------------------------------------------------------------------------------------

class PostgresStore:
    dialect = "postgresql"

    def __init__(self, url: str, read_only: bool = False, migrate: bool = True, connect_timeout: float = 5.0):
        self.url = str(url)
        self.read_only = read_only
        self.name = mask_url(self.url)
        self._raw = connect(self.url, connect_timeout)
        if migrate and not read_only:
            try:
                ensure_migrated(self.url, self._raw)
            except BaseException:
                self._raw.close()
                raise
        self.con = PgConnection(self._raw)
        self._lock = threading.RLock()
        self._staged: set[str] = set()
        if not read_only:
            for name in ("feedback", "duplicates", "quarantine", "tags", "tag_state"):
                self._raw.execute(f"CREATE TEMP TABLE IF NOT EXISTS _stage_{name} (LIKE {name}) ON COMMIT DELETE ROWS")
                self._staged.add(f"_stage_{name}")
        if read_only:
            if _current_revision(self._raw) is None:
                self._raw.close()
                err = StoreError(f"the PostgreSQL store {self.name} has no cxnlp schema yet; run "
                                 "`cxnlp store migrate` (or any writing command) first")
                err.retry = False  # type: ignore[attr-defined]
                raise err
            self._raw.execute("SET default_transaction_read_only = on")

    # -- lifecycle -------------------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            if not self._raw.closed:
                self._raw.close()

    def reclaim(self, tables: Sequence[str] = (), full: bool = True) -> dict[str, Any]:
        """Makes the deleted rows of ``tables`` unrecoverable from the tables' files: ``VACUUM FULL`` (``full``)
        writes each table anew and drops the old files (it locks the table meanwhile), a plain ``VACUUM`` frees
        the dead rows' space for reuse. The write-ahead log and backups keep the rows until they expire: their
        retention is the database administrator's. Returns the method and the tables' sizes."""
        import time

        if self.read_only:
            raise StoreError(f"{self.name} was opened read-only")
        names = [t for t in dict.fromkeys(tables) if self._raw.execute(
            "SELECT to_regclass(%s) IS NOT NULL", [t]).fetchone()[0]]
        size = "SELECT coalesce(sum(pg_total_relation_size(to_regclass(t))), 0) FROM unnest(%s::text[]) t"
        with self._lock:
            before = int(self._raw.execute(size, [names]).fetchone()[0])
            t0 = time.perf_counter()
            for t in names:  # VACUUM runs outside a transaction: this connection is in autocommit
                self._raw.execute(f"VACUUM {'FULL ' if full else ''}{_ident(t)}")
            after = int(self._raw.execute(size, [names]).fetchone()[0])
        return {"method": "vacuum full" if full else "vacuum", "tables": names, "bytes_before": before,
                "bytes_after": after, "seconds": round(time.perf_counter() - t0, 2)}

    def __enter__(self) -> "PostgresStore":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[PgConnection]:
        """One write transaction. Write transactions of all processes on this database are serialised
        (transaction-level advisory lock, released at commit or rollback)."""
        with self._lock:
            with self._raw.transaction():
                if not self.read_only:
                    self._raw.execute("SELECT pg_advisory_xact_lock(%s)", [WRITE_LOCK])
                yield self.con

    # -- generic reads ---------------------------------------------------------------------------
    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> list[tuple]:
        with self._lock:
            return [tuple(r) for r in self.con.execute(sql, params).fetchall()]

    def query_dicts(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> list[dict[str, Any]]:
        with self._lock:
            cur = self.con.execute(sql, params)
            cols = [d[0] for d in cur.description]
            return [dict(zip(cols, r)) for r in cur.fetchall()]

    def arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        with self._lock:
            cur = self.con.execute(sql, params)
            cols = [d[0] for d in cur.description]
            rows = cur.fetchall()
        return pa.table({c: pa.array([r[i] for r in rows]) for i, c in enumerate(cols)})

    def stream(self, sql: str, params: Sequence[Any] | None = None, batch_rows: int = 5000) -> Iterator[list[dict]]:
        """One query's rows as dicts, ``batch_rows`` at a time, from a server-side cursor on a second connection:
        memory holds one batch, and the store may be written between batches."""
        conn = connect(self.url)
        try:
            with conn.transaction(), conn.cursor(name="cxnlp_stream") as cur:
                cur.execute(pg_sql(sql), params if params is not None else [])
                cols: list[str] | None = None
                while True:
                    rows = cur.fetchmany(batch_rows)
                    if not rows:
                        break
                    cols = cols or [d[0] for d in cur.description]
                    yield [dict(zip(cols, r)) for r in rows]
        finally:
            conn.close()

    def count(self, table: str) -> int:
        if table not in {"feedback", "duplicates", "quarantine", "tags", "tag_state", "runs", "files"}:
            raise ValueError(table)
        return self.query(f"SELECT count(*) FROM {table}")[0][0]

    # -- files / resume --------------------------------------------------------------------------
    def file_progress(self, source_name: str, fingerprint: str) -> tuple[int, str | None]:
        rows = self.query("SELECT rows_done, status FROM files WHERE source_name = ? AND fingerprint = ?",
                          [source_name, fingerprint])
        return (rows[0][0], rows[0][1]) if rows else (0, None)

    # -- dedup lookups ---------------------------------------------------------------------------
    def find_near_keys(self, keys: Iterable[str]) -> dict[str, tuple[str, str]]:
        """near_key -> (original id, its content_hash) for keys already stored (the earliest ingested)."""
        keys = list(set(keys))
        if not keys:
            return {}
        rows = self.query(
            "SELECT DISTINCT ON (near_key) near_key, id, content_hash FROM feedback WHERE near_key = ANY(?) "
            "ORDER BY near_key, ingested_at, id", [keys])
        return {r[0]: (r[1], r[2]) for r in rows}

    def existing_ids(self, table: str, ids: Iterable[str]) -> set[str]:
        col = {"feedback": "id", "duplicates": "id", "quarantine": "key"}[table]
        ids = list(set(ids))
        if not ids:
            return set()
        return {r[0] for r in self.query(f"SELECT {col} FROM {table} WHERE {col} = ANY(?)", [ids])}

    # -- batch write -----------------------------------------------------------------------------
    def _stage(self, name: str, like: str) -> str:
        """A session-private staging table shaped like ``like``, emptied at every commit."""
        stage = f"_stage_{name}"
        if stage not in self._staged:  # created outside any transaction, so a rollback cannot drop it
            raise StoreError(f"{self.name} was opened read-only")
        return stage

    def write_ingest_batch(self, *, run_id: str, feedback: list[Feedback] | pa.Table, duplicates: list[Duplicate],
                           quarantine: list[QuarantineRow], source_name: str, fingerprint: str, file: str,
                           rows_done: int, file_status: str) -> None:
        """One transaction: rows plus the file's progress marker. A row another writer stored meanwhile is
        skipped (ON CONFLICT DO NOTHING), and no id ends up both as feedback and as a duplicate."""
        with self.transaction():
            now = _now()  # taken under the write lock: ingested_at follows the commit order across writers
            raw = self._raw
            if feedback is not None and len(feedback):
                stage = self._stage("feedback", "feedback")
                copy_rows(raw, stage, FEEDBACK_COLUMNS, _feedback_rows(feedback, run_id, now))
                cols = ", ".join(FEEDBACK_COLUMNS)
                raw.execute(f"INSERT INTO feedback ({cols}) SELECT {cols} FROM {stage} s WHERE NOT EXISTS "
                            "(SELECT 1 FROM duplicates d WHERE d.id = s.id) ON CONFLICT (id) DO NOTHING")
            if duplicates:
                stage = self._stage("duplicates", "duplicates")
                cols = ["id", "original_id", "kind", "source_name", "created_at", "likes", "shares", "replies",
                        "author_hash", "run_id", "ingested_at"]
                copy_rows(raw, stage, cols, ((d.id, d.original_id, d.kind, d.source_name, d.created_at, d.likes,
                                               d.shares, d.replies, d.author_hash, run_id, now) for d in duplicates))
                raw.execute(f"INSERT INTO duplicates ({', '.join(cols)}) SELECT {', '.join(cols)} FROM {stage} s "
                            "WHERE NOT EXISTS (SELECT 1 FROM feedback f WHERE f.id = s.id) "
                            "ON CONFLICT (id) DO NOTHING")
            if quarantine:
                stage = self._stage("quarantine", "quarantine")
                cols = ["key", "source_name", "file", "row_number", "reason", "detail", "raw", "run_id",
                        "quarantined_at", "raw_hash"]
                copy_rows(raw, stage, cols, ((q.key, q.source_name, q.file, q.row_number, q.reason, _no_nul(q.detail),
                                               _no_nul(q.raw), run_id, now, q.raw_hash) for q in quarantine))
                raw.execute(f"INSERT INTO quarantine ({', '.join(cols)}) SELECT {', '.join(cols)} FROM {stage} "
                            "ON CONFLICT (key) DO NOTHING")
            raw.execute(
                "INSERT INTO files (source_name, fingerprint, file, rows_done, status, run_id, updated_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (source_name, fingerprint) DO UPDATE "
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

    def write_tag_tables(self, docs, tags, model: str, model_version: str, run_id: str, vectors=None) -> None:
        """``write_tags`` from Arrow tables (see :func:`cxnlp.classify.stage.result_tables`), with the texts'
        document vectors when given (in the same transaction)."""
        with self.transaction() as con:
            if vectors is not None:
                from cxnlp.store.topics_sql import upsert_vectors

                upsert_vectors(con, vectors)
            now = _now()
            raw = self._raw
            st = self._stage("tag_state", "tag_state")
            ids, res = docs.column("id").to_pylist(), docs.column("result").to_pylist()
            copy_rows(raw, st, ["feedback_id", "model", "model_version", "result", "tagged_at", "retag"],
                      ((fid, model, model_version, r, now, False) for fid, r in zip(ids, res)))
            raw.execute(f"DELETE FROM tags WHERE feedback_id IN (SELECT feedback_id FROM {st})")
            raw.execute(f"DELETE FROM tag_state WHERE feedback_id IN (SELECT feedback_id FROM {st})")
            if tags.num_rows:
                tg = self._stage("tags", "tags")
                cols = ["feedback_id", "task", "label", "score", "evidence", "model", "model_version", "run_id",
                        "tagged_at"]
                t = {c: tags.column(c).to_pylist() for c in ("feedback_id", "task", "label", "score", "evidence")}
                copy_rows(raw, tg, cols, ((f, k, lb, sc, ev, model, model_version, run_id, now) for f, k, lb, sc, ev
                                          in zip(t["feedback_id"], t["task"], t["label"], t["score"], t["evidence"])))
                raw.execute(f"INSERT INTO tags ({', '.join(cols)}) SELECT {', '.join(cols)} FROM {tg}")
            raw.execute(f"INSERT INTO tag_state SELECT * FROM {st}")

    def request_retag(self, ids: Iterable[str]) -> int:
        ids = list(ids)
        with self.transaction() as con:
            con.execute("UPDATE tag_state SET retag = TRUE WHERE feedback_id = ANY(?)", [ids])
        return len(ids)

    # -- summaries -------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """Store-wide counts: what is stored, duplicated, quarantined (and why), per source."""
        from cxnlp.store.common import summary

        return summary(self)

    def rebuild_daily_volume(self) -> int:
        """Daily volume per source, channel and language, with reposts counted (deterministic: a re-run
        gives the same table). Returns the number of cells."""
        with self.transaction() as con:
            con.execute("DELETE FROM daily_volume")
            con.execute("""INSERT INTO daily_volume (day, source, channel, language, items, reposts)
                WITH d AS (
                    SELECT f.source, f.channel, f.language,
                           CAST(timezone('Europe/Berlin', x.created_at) AS DATE) AS day, x.is_dup
                    FROM (SELECT id AS fid, created_at, FALSE AS is_dup FROM feedback
                          UNION ALL SELECT original_id, created_at, TRUE FROM duplicates) x
                    JOIN feedback f ON f.id = x.fid)
                SELECT day, source, channel, language, count(*) FILTER (WHERE NOT is_dup) AS items,
                       count(*) FILTER (WHERE is_dup) AS reposts
                FROM d GROUP BY day, source, channel, language""")
            return con.execute("SELECT count(*) FROM daily_volume").fetchone()[0]

    # -- runs ------------------------------------------------------------------------------------
    def start_run(self, run_id: str, kind: str) -> list[str]:
        """Records the run as 'running' with its process; runs whose process died meanwhile become
        'interrupted' (see :func:`cxnlp.store.common.interrupted_runs`). Returns their ids."""
        now = _now()
        dead = interrupted_runs(self, now)
        with self.transaction() as con:
            if dead:
                con.execute("UPDATE runs SET status = 'interrupted', finished_at = ? WHERE status = 'running' "
                            "AND run_id = ANY(?)", [now, dead])
            con.execute("INSERT INTO runs (run_id, kind, started_at, finished_at, status, stats, model_versions) "
                        "VALUES (?, ?, ?, NULL, 'running', ?, NULL) ON CONFLICT (run_id) DO UPDATE SET "
                        "kind = excluded.kind, started_at = excluded.started_at, finished_at = NULL, "
                        "status = 'running', stats = excluded.stats, model_versions = NULL",
                        [run_id, kind, now, json.dumps({"owner": run_owner()})])
        return dead

    def finish_run(self, run_id: str, status: str, stats: dict[str, Any],
                   model_versions: dict[str, Any] | None = None) -> None:
        with self.transaction() as con:
            con.execute("UPDATE runs SET finished_at = ?, status = ?, stats = ?, model_versions = ? WHERE run_id = ?",
                        [_now(), status, _no_nul(json.dumps(stats, default=str)),
                         json.dumps(model_versions or {}), run_id])


def _no_nul(s: str | None) -> str | None:
    """PostgreSQL text cannot hold NUL characters (DuckDB's can): they are dropped."""
    return s.replace("\x00", "") if s and "\x00" in s else s


def _feedback_rows(feedback: list[Feedback] | pa.Table, run_id: str, now: datetime) -> Iterator[tuple]:
    """COPY rows for ``feedback``: Feedback rows or their Arrow table (:func:`cxnlp.schema.feedback_table`)."""
    tbl = feedback if isinstance(feedback, pa.Table) else feedback_table(feedback)
    cols = [tbl.column(c).to_pylist() for c in FEEDBACK_FIELDS]
    for c in ("text", "title", "meta"):  # PostgreSQL text cannot hold NUL
        i = FEEDBACK_FIELDS.index(c)
        cols[i] = [_no_nul(v) for v in cols[i]]
    for row in zip(*cols):
        yield (*row, run_id, now)


# -- CLI: cxnlp store migrate | status ------------------------------------------------------------------------

def add_cli(subparsers) -> None:
    """Registers ``cxnlp store migrate`` and ``cxnlp store status``."""
    s = subparsers.add_parser("store", help="the store: schema migrations (PostgreSQL) and status")
    s.add_argument("action", choices=["migrate", "status"], nargs="?", default="status")
    s.add_argument("--url", help="a database URL other than store.url (settings / CXNLP_STORE_URL)")
    s.add_argument("--revision", default="head", help="migrate to this Alembic revision (default: head)")
    s.set_defaults(func=cmd_store)


def cmd_store(args) -> int:
    from cxnlp.config import load_settings

    url = args.url or (load_settings(getattr(args, "root", None)).get("store", "url") or "").strip()
    if not is_postgres_url(url):
        print("the store is DuckDB (store.url is not a postgresql URL): its schema is created on open, "
              "nothing to migrate")
        return 0
    if args.action == "migrate":
        rev = migrate(url, args.revision)
        print(f"{mask_url(url)}: at revision {rev}")
    else:
        rev = current_revision(url)
        head = head_revision()
        print(f"{mask_url(url)}: revision {rev or '(none)'}, head {head}"
              + ("" if rev == head else " — run `cxnlp store migrate`"))
    return 0
