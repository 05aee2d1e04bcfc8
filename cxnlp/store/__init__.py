"""Storage. DuckDB (one file) is the embedded default; PostgreSQL is the team store (``store.url``)."""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Callable, TypeVar

from cxnlp.store.duck import DuckDBStore, StoreError

log = logging.getLogger("cxnlp.store")

T = TypeVar("T")

DEFAULT_ATTEMPTS = 5
DEFAULT_BACKOFF_S = 0.5
MAX_BACKOFF_S = 8.0


def _setting(settings, key: str, default: Any) -> Any:
    if settings is None:
        return default
    v = settings.get("store", key, default)
    return default if v in (None, "") else v


def with_retries(open_fn: Callable[[], T], what: str, attempts: int, backoff_s: float, hint: str) -> T:
    """``open_fn()`` until it succeeds, at most ``attempts`` times, sleeping backoff_s, 2*backoff_s, ... (capped)
    between tries. A StoreError marked ``retry = False`` (or ``permanent``) is raised at once; after the last try
    the error names the store, the attempts and what to check."""
    attempts = max(1, int(attempts))
    last: StoreError | None = None
    for i in range(attempts):
        try:
            return open_fn()
        except StoreError as e:
            last = e
            if getattr(e, "permanent", False) or not getattr(e, "retry", True):
                raise
            if i + 1 < attempts:
                delay = min(MAX_BACKOFF_S, float(backoff_s) * (2 ** i))
                log.warning("%s (attempt %d of %d); retrying in %.1f s", e, i + 1, attempts, delay)
                time.sleep(delay)
    raise StoreError(f"{what} is unavailable after {attempts} attempt(s): {last}. {hint}") from last


def open_store(settings=None, path=None, read_only: bool = False, url: str | None = None):
    """Open the configured store: PostgreSQL when ``store.url`` (or ``url``) is a postgresql URL, else the
    DuckDB file at ``store.path`` (or ``path``). Connecting is retried (``store.connect_attempts`` tries,
    ``store.connect_backoff_s`` doubling); then StoreError names the store and what to check."""
    if path is None and url is None:
        from cxnlp.config import load_settings

        settings = settings or load_settings()
        url = str(settings.get("store", "url") or "").strip() or None
        if url is None:
            path = settings.path("store", "path")
    attempts = int(_setting(settings, "connect_attempts", DEFAULT_ATTEMPTS))
    backoff = float(_setting(settings, "connect_backoff_s", DEFAULT_BACKOFF_S))
    if url is not None and path is None:
        from cxnlp.store.postgres import PostgresStore, is_postgres_url, mask_url

        if is_postgres_url(url):
            timeout = float(_setting(settings, "connect_timeout_s", 5))
            return with_retries(lambda: PostgresStore(url, read_only=read_only, connect_timeout=timeout),
                                f"the PostgreSQL store {mask_url(url)}", attempts, backoff,
                                "Check that the server is running and reachable at that host and port, and the "
                                "user, password and database in store.url (or CXNLP_STORE_URL).")
        if str(url).startswith("duckdb:///"):
            path = Path(str(url)[len("duckdb:///"):])
            if not path.is_absolute() and settings is not None:
                path = settings.root / path
        else:
            raise StoreError(f"store.url {mask_url(url)!s} is not supported: use a postgresql+psycopg:// URL "
                             "for PostgreSQL, or leave store.url empty for the DuckDB file at store.path")
    p = Path(path)
    memory = str(_setting(settings, "duckdb_memory", "") or "").strip() or None
    ckpt = str(_setting(settings, "duckdb_checkpoint", "") or "").strip() or None
    return with_retries(lambda: DuckDBStore(p, read_only=read_only, memory_limit=memory, checkpoint=ckpt),
                        f"the DuckDB store {p}",
                        attempts, backoff,
                        "Another process (a running `cxnlp run`, or the review app) holds the file: wait for it "
                        "to finish, or point store.path (CXNLP_STORE_PATH) at another file.")


def __getattr__(name: str):  # PostgresStore without importing psycopg for DuckDB-only users
    if name == "PostgresStore":
        from cxnlp.store.postgres import PostgresStore

        return PostgresStore
    raise AttributeError(name)


__all__ = ["DuckDBStore", "PostgresStore", "StoreError", "open_store", "with_retries"]
