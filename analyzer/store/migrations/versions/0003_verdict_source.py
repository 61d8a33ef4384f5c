"""Where a verdict came from: the dashboard, the CLI, or the service's suggestscore.

Verdicts recorded through ``analyzer serve`` (Perspective's ``comments:suggestscore``) carry
the client's ``communityId`` and ``clientToken`` so they can be traced back and exported
as training data like a reviewer's.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("verdicts") as batch:
        batch.add_column(sa.Column("source", sa.String(20), nullable=False, server_default="dashboard"))
        batch.add_column(sa.Column("community_id", sa.Text()))
        batch.add_column(sa.Column("client_token", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("verdicts") as batch:
        batch.drop_column("client_token")
        batch.drop_column("community_id")
        batch.drop_column("source")
