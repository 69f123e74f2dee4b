"""customers, contacts: fewer secondary indexes

Single-column indexes on low-cardinality customer columns go (a scan is faster than
reading a quarter of a million-row table through one, and SQLite without statistics
even preferred them to the owner index), merged and archive-flagged customers are
indexed only where set, and contacts lose their unused created_at index. A bulk import
builds each secondary index once: ten fewer sorts.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

#: Plain single-column indexes that go, by table.
DROPPED = {
    "customers": (
        "grade",
        "status",
        "source",
        "region",
        "industry_section",
        "province",
        "churn_risk",
    ),
    "contacts": ("created_at",),
}
#: Customer columns indexed only where they are set.
PARTIAL = ("merged_into_id", "archive_flagged_at")


def upgrade() -> None:
    for table, columns in DROPPED.items():
        for column in columns:
            op.drop_index(f"ix_{table}_{column}", table_name=table)
    for column in PARTIAL:
        op.drop_index(f"ix_customers_{column}", table_name="customers")
        where = sa.text(f"{column} IS NOT NULL")
        op.create_index(
            f"ix_customers_{column}",
            "customers",
            [column],
            sqlite_where=where,
            postgresql_where=where,
        )


def downgrade() -> None:
    for column in PARTIAL:
        op.drop_index(f"ix_customers_{column}", table_name="customers")
        op.create_index(f"ix_customers_{column}", "customers", [column])
    for table, columns in DROPPED.items():
        for column in columns:
            op.create_index(f"ix_{table}_{column}", table, [column])
