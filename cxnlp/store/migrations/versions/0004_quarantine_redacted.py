"""Quarantined rows are kept redacted (cxnlp.ingest.mapping.RowMapper.quarantine_view); ``raw_hash``, the
original row's fingerprint, counts identical bad rows of a file across a resume. Rows stored before have none:
the next ingest redacts them and fills it in (cxnlp.ingest.pipeline.Ingestor.redact_old_quarantine).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""
from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS raw_hash VARCHAR")


def downgrade() -> None:
    op.execute("ALTER TABLE quarantine DROP COLUMN IF EXISTS raw_hash")
