"""Stored document vectors for emerging topics (cxnlp.classify.docvec): the tag stage writes each text's
vector once, the topic stage reads it back instead of encoding the window's texts again.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""
from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""CREATE TABLE IF NOT EXISTS text_vectors (
        feedback_id VARCHAR PRIMARY KEY,
        encoder VARCHAR NOT NULL,
        vec BYTEA NOT NULL)""")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS text_vectors")
