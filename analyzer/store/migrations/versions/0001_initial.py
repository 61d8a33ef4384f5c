"""The first store: imports, threads, comments, models, scores, verdicts.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen copies of the column types (a migration must not change when schema.py does).
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "imports",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("format", sa.String(40)),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.Column("repairs", sa.JSON(), nullable=False),
        sa.Column("threads", sa.Integer(), nullable=False),
        sa.Column("comments", sa.Integer(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("repaired", sa.Integer(), nullable=False),
        sa.Column("scores", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_imports"),
        sa.UniqueConstraint("source", "sha256", name="uq_imports_source_sha256"),
    )
    op.create_table(
        "threads",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("title", sa.Text()),
        sa.Column("source", sa.Text()),
        sa.Column("format", sa.String(40)),
        sa.Column("post_id", sa.Text()),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("repairs", sa.JSON(), nullable=False),
        sa.Column("first_import_id", sa.Integer(), nullable=False),
        sa.Column("last_import_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_threads"),
        sa.ForeignKeyConstraint(["first_import_id"], ["imports.id"], name="fk_threads_first_import_id_imports"),
        sa.ForeignKeyConstraint(["last_import_id"], ["imports.id"], name="fk_threads_last_import_id_imports"),
    )
    op.create_table(
        "comments",
        sa.Column("pk", BigId, autoincrement=True, nullable=False),
        sa.Column("thread_id", sa.Text(), nullable=False),
        sa.Column("comment_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("parent_id", sa.Text()),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("author", sa.Text()),
        sa.Column("author_inferred", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime()),
        sa.Column("created_precision", sa.String(10)),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("text_hash", sa.String(32), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("first_import_id", sa.Integer(), nullable=False),
        sa.Column("last_import_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_comments"),
        sa.UniqueConstraint("thread_id", "comment_id", name="uq_comments_thread_id_comment_id"),
        sa.ForeignKeyConstraint(["thread_id"], ["threads.id"], name="fk_comments_thread_id_threads"),
        sa.ForeignKeyConstraint(["first_import_id"], ["imports.id"], name="fk_comments_first_import_id_imports"),
        sa.ForeignKeyConstraint(["last_import_id"], ["imports.id"], name="fk_comments_last_import_id_imports"),
    )
    op.create_table(
        "models",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("task", sa.String(20)),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("thresholds", sa.JSON(), nullable=False),
        sa.Column("card", sa.Text()),
        sa.Column("first_seen", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_models"),
        sa.UniqueConstraint("fingerprint", name="uq_models_fingerprint"),
    )
    op.create_table(
        "scores",
        sa.Column("comment_pk", BigId, nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(40), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("windowed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("comment_pk", "revision", "model_id", "label", name="pk_scores"),
        sa.ForeignKeyConstraint(["comment_pk"], ["comments.pk"], name="fk_scores_comment_pk_comments"),
        sa.ForeignKeyConstraint(["model_id"], ["models.id"], name="fk_scores_model_id_models"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_scores_model_id_label_value", "scores", ["model_id", "label", "value"])
    op.create_table(
        "verdicts",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("comment_pk", BigId, nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("reviewer", sa.Text(), nullable=False),
        sa.Column("decision", sa.String(10), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_verdicts"),
        sa.ForeignKeyConstraint(["comment_pk"], ["comments.pk"], name="fk_verdicts_comment_pk_comments"),
        sa.CheckConstraint("decision IN ('approve', 'remove', 'relabel')", name="ck_verdicts_decision"),
    )
    op.create_index("ix_verdicts_comment_pk", "verdicts", ["comment_pk"])


def downgrade() -> None:
    for table in ("verdicts", "scores", "models", "comments", "threads", "imports"):
        op.drop_table(table)
