"""leads, tickets, stage history: period indexes that cover the KPIs

Each table's index on its period column (leads.created_at, tickets.opened_at,
opportunity_stage_history.entered_at) gives way to one that also holds the columns the
KPI catalogue reads for a period: lead conversion, the service times and SLA, and the
days in each stage are then read from the index alone instead of by a look-up per row.
The number of indexes stays the same.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

#: table -> (the single-column index that goes, its column, the covering index, its columns)
REPLACED = {
    "leads": ("created_at", "ix_leads_period", ["created_at", "converted_at"]),
    "tickets": (
        "opened_at",
        "ix_tickets_period",
        ["opened_at", "first_response_at", "resolved_at", "first_response_due", "resolution_due"],
    ),
    "opportunity_stage_history": (
        "entered_at",
        "ix_opportunity_stage_history_period",
        ["entered_at", "left_at", "stage"],
    ),
}


def upgrade() -> None:
    for table, (column, name, columns) in REPLACED.items():
        op.drop_index(f"ix_{table}_{column}", table_name=table)
        op.create_index(name, table, columns)


def downgrade() -> None:
    for table, (column, name, _columns) in REPLACED.items():
        op.drop_index(name, table_name=table)
        op.create_index(f"ix_{table}_{column}", table, [column])
