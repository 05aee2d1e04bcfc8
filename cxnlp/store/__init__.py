"""Storage. DuckDB (one file) is the embedded default."""
from __future__ import annotations

from cxnlp.store.duck import DuckDBStore, StoreError


def open_store(settings=None, path=None, read_only: bool = False) -> DuckDBStore:
    """Open the configured store (``store.path`` in settings, or an explicit path)."""
    if path is None:
        from cxnlp.config import load_settings

        settings = settings or load_settings()
        path = settings.path("store", "path")
    return DuckDBStore(path, read_only=read_only)


__all__ = ["DuckDBStore", "StoreError", "open_store"]
