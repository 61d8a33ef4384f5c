"""Context-aware scores (issue 16): which models read a reply with its parent
(``models.context``), their in-context scores (``context_scores``, apart from ``scores`` so
every context-free reader stays as it was), and in ``thread_stats`` whether the numbers use
them, with the context-free risk and toxic share beside them.

Nothing stored before is changed: the new columns are empty (NULL ``*_alone`` means "the
same as the main column") and ``thread_stats.context`` is false, which is what those rows are.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-16
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("models") as batch:
        batch.add_column(sa.Column("context", sa.String(20)))
    op.create_table(
        "context_scores",
        sa.Column("comment_pk", BigId, nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(40), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("parent_hash", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("comment_pk", "revision", "model_id", "label", name="pk_context_scores"),
        sa.ForeignKeyConstraint(["comment_pk"], ["comments.pk"], name="fk_context_scores_comment_pk_comments"),
        sa.ForeignKeyConstraint(["model_id"], ["models.id"], name="fk_context_scores_model_id_models"),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("thread_stats") as batch:
        batch.add_column(sa.Column("context", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("risk_alone", sa.Float()))
        batch.add_column(sa.Column("toxic_alone", sa.Integer()))
        batch.add_column(sa.Column("toxic_share_alone", sa.Float()))
        batch.add_column(sa.Column("max_toxicity_alone", sa.Float()))


def downgrade() -> None:
    with op.batch_alter_table("thread_stats") as batch:
        for name in ("max_toxicity_alone", "toxic_share_alone", "toxic_alone", "risk_alone", "context"):
            batch.drop_column(name)
    op.drop_table("context_scores")
    # not a batch (which would copy ``models``, and SQLite refuses to drop a table that
    # ``scores`` refers to): SQLite 3.35+ drops a column in place
    op.drop_column("models", "context")
