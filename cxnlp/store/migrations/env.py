"""Alembic environment of the PostgreSQL store.

Used two ways: programmatically by ``cxnlp.store.postgres.migrate`` (which passes an open SQLAlchemy
connection in ``config.attributes["connection"]`` and holds the migration advisory lock), or from the
``alembic`` command line, where the URL comes from ``sqlalchemy.url``, ``CXNLP_STORE_URL`` or the project's
``store.url`` setting, in that order.
"""
from __future__ import annotations

import os
import zlib

from alembic import context
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

config = context.config
MIGRATE_LOCK = zlib.crc32(b"cxnlp.store.migrate")  # the same key as cxnlp.store.postgres.MIGRATE_LOCK


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("CXNLP_STORE_URL")
    if not url:
        from cxnlp.config import load_settings

        url = str(load_settings().get("store", "url") or "")
    if not url:
        raise SystemExit("no database URL: set store.url in configs/settings.yaml or CXNLP_STORE_URL")
    u = make_url(url)
    if u.drivername in ("postgres", "postgresql", "postgresql+psycopg2"):
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(url=_url(), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif config.attributes.get("connection") is not None:
    _run(config.attributes["connection"])
else:
    if config.config_file_name:
        from logging.config import fileConfig

        fileConfig(config.config_file_name, disable_existing_loggers=False)
    engine = create_engine(_url(), poolclass=NullPool)
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATE_LOCK})
        conn.commit()
        try:
            _run(conn)
            conn.commit()
        finally:
            conn.rollback()
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATE_LOCK})
            conn.commit()
    engine.dispose()
