"""orders: covering indexes for reports

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_customer_id")
        batch_op.drop_index("ix_orders_ordered_at")
        batch_op.create_index(
            "ix_orders_customer_history", ["customer_id", "ordered_at", "amount"], unique=False
        )
        batch_op.create_index(
            "ix_orders_period", ["ordered_at", "customer_id", "amount"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_period")
        batch_op.drop_index("ix_orders_customer_history")
        batch_op.create_index("ix_orders_ordered_at", ["ordered_at"], unique=False)
        batch_op.create_index("ix_orders_customer_id", ["customer_id"], unique=False)
