"""team mode: the record that a PostgreSQL database is a team database

One row, written by ``crm init --team``: the non-login role that owns every CRM table, the
non-login group role every CRM user's login belongs to, and the two roles that choose a
login's row-level policy (every row, or its scope). A database without the row
(every SQLite file, every PostgreSQL database set up without ``--team``) keeps its
string identity; one with it takes the acting user from the login and enforces the scopes
with row-level security (:mod:`crmlib.team_mode`).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "team_mode",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_role", sa.String(63), nullable=False),
        sa.Column("group_role", sa.String(63), nullable=False),
        sa.Column("all_role", sa.String(63), nullable=False),
        sa.Column("scoped_role", sa.String(63), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_mode")),
    )


def downgrade() -> None:
    op.drop_table("team_mode")
