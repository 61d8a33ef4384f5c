"""Moderation rules and their hits, webhook alerts (an outbox and its delivery attempts),
and the bulk action a verdict belonged to (so one click on many comments can be undone).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-09
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("verdicts") as batch:
        batch.add_column(sa.Column("action_id", sa.String(32)))
        batch.create_index("ix_verdicts_action_id", ["action_id"])

    op.create_table(
        "rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False, server_default="suspect"),
        sa.Column("pattern", sa.Text(), nullable=False, server_default=""),
        sa.Column("scope", sa.Text(), nullable=False, server_default="all"),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_rules"),
        sa.CheckConstraint("kind IN ('words', 'regex', 'link', 'new_author')", name="ck_rules_kind"),
        sa.CheckConstraint("severity IN ('banned', 'suspect')", name="ck_rules_severity"),
    )
    op.create_table(
        "rule_hits",
        sa.Column("comment_pk", BigId, nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("comment_pk", "rule_id", name="pk_rule_hits"),
        sa.ForeignKeyConstraint(["comment_pk"], ["comments.pk"], name="fk_rule_hits_comment_pk_comments"),
        sa.ForeignKeyConstraint(["rule_id"], ["rules.id"], name="fk_rule_hits_rule_id_rules", ondelete="CASCADE"),
    )
    op.create_index("ix_rule_hits_rule_id", "rule_hits", ["rule_id"])
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("risk_threshold", sa.Float()),
        sa.Column("toxic_share_threshold", sa.Float()),
        sa.Column("on_rule_hits", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("scope", sa.Text(), nullable=False, server_default="all"),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_webhooks"),
    )
    op.create_table(
        "alerts",
        sa.Column("id", BigId, nullable=False),
        sa.Column("event_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("thread_id", sa.Text()),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("webhook_id", sa.Integer()),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_status_code", sa.Integer()),
        sa.Column("last_error", sa.Text()),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("delivered_at", sa.DateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
        sa.ForeignKeyConstraint(
            ["webhook_id"], ["webhooks.id"], name="fk_alerts_webhook_id_webhooks", ondelete="SET NULL"
        ),
    )
    op.create_index("ix_alerts_event_id", "alerts", ["event_id"])
    op.create_index("ix_alerts_status", "alerts", ["status"])
    op.create_index("ix_alerts_created_at", "alerts", ["created_at"])
    op.create_table(
        "alert_attempts",
        sa.Column("id", BigId, nullable=False),
        sa.Column("alert_id", BigId, nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("status_code", sa.Integer()),
        sa.Column("error", sa.Text()),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alert_attempts"),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name="fk_alert_attempts_alert_id_alerts", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_alert_attempts_alert_id", "alert_attempts", ["alert_id"])


def downgrade() -> None:
    op.drop_index("ix_alert_attempts_alert_id", table_name="alert_attempts")
    op.drop_table("alert_attempts")
    for name in ("ix_alerts_created_at", "ix_alerts_status", "ix_alerts_event_id"):
        op.drop_index(name, table_name="alerts")
    op.drop_table("alerts")
    op.drop_table("webhooks")
    op.drop_index("ix_rule_hits_rule_id", table_name="rule_hits")
    op.drop_table("rule_hits")
    op.drop_table("rules")
    with op.batch_alter_table("verdicts") as batch:
        batch.drop_index("ix_verdicts_action_id")
        batch.drop_column("action_id")
