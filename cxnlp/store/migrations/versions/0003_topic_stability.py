"""Each topic's stability: how well its cluster comes back when the window's texts are resampled
(cxnlp.aggregate.topics.cluster_stability). Topics stored before it have none (NULL).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""
from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE topics ADD COLUMN IF NOT EXISTS stability DOUBLE PRECISION")


def downgrade() -> None:
    op.execute("ALTER TABLE topics DROP COLUMN IF EXISTS stability")
