"""churn risk: the latest score on each customer

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("churn_risk", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("churn_scored_at", sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_customers_churn_risk"), ["churn_risk"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customers_churn_risk"))
        batch_op.drop_column("churn_scored_at")
        batch_op.drop_column("churn_risk")
