"""Erasure on request (cxnlp.erasure): the request log (``erasures``), the suppression list (``erased_keys``:
erased record ids and author hashes, which ingest does not store again) and the author hash of a repeated
post (``duplicates.author_hash``), so a request finds a subject's reposts. Duplicates stored before carry no
author hash: a request finds them through their original or their id.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""
from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE duplicates ADD COLUMN IF NOT EXISTS author_hash VARCHAR")
    # as cxnlp.store.erasure_sql.ERASURE_DDL at this revision (a migration keeps its own copy)
    op.execute("""CREATE TABLE IF NOT EXISTS erasures (request_id VARCHAR PRIMARY KEY,
        requested_at TIMESTAMPTZ NOT NULL, reference VARCHAR, subjects JSON, counts JSON)""")
    op.execute("""CREATE TABLE IF NOT EXISTS erased_keys (kind VARCHAR NOT NULL, key VARCHAR NOT NULL,
        request_id VARCHAR NOT NULL, erased_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (kind, key))""")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS erased_keys")
    op.execute("DROP TABLE IF EXISTS erasures")
    op.execute("ALTER TABLE duplicates DROP COLUMN IF EXISTS author_hash")
