"""Per-thread statistics, so listing threads never aggregates comments.

Rows are filled by the store (not here): on open it computes the statistics of every
thread that has none or has them from an older ``stats_version``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "thread_stats",
        sa.Column("thread_id", sa.Text(), nullable=False),
        sa.Column("stats_version", sa.Integer(), nullable=False),
        sa.Column("comments", sa.Integer(), nullable=False),
        sa.Column("authors", sa.Integer(), nullable=False),
        sa.Column("max_depth", sa.Integer(), nullable=False),
        sa.Column("mean_depth", sa.Float(), nullable=False),
        sa.Column("scored", sa.Integer(), nullable=False),
        sa.Column("toxic", sa.Integer(), nullable=False),
        sa.Column("toxic_share", sa.Float()),
        sa.Column("mean_toxicity", sa.Float()),
        sa.Column("p90_toxicity", sa.Float()),
        sa.Column("max_toxicity", sa.Float()),
        sa.Column("top_label", sa.String(40)),
        sa.Column("first_at", sa.DateTime()),
        sa.Column("last_at", sa.DateTime()),
        sa.Column("risk", sa.Float(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("thread_id", name="pk_thread_stats"),
        sa.ForeignKeyConstraint(["thread_id"], ["threads.id"], name="fk_thread_stats_thread_id_threads"),
    )
    op.create_index("ix_thread_stats_risk", "thread_stats", ["risk"])


def downgrade() -> None:
    op.drop_index("ix_thread_stats_risk", table_name="thread_stats")
    op.drop_table("thread_stats")
