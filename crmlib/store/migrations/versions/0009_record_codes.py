"""leads, opportunities, tickets: a code each, as customers have

Each lead (``L``), deal (``D``) and ticket (``T``) gets a code of its letter, the day it was
created and that day's sequence (e.g. L20240501001): the stable key an export carries and an
import matches first, so a file exported and imported again changes nothing. Existing rows
are numbered in id order within each day, continuing ``code_sequences``; the codes are
unique.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crmlib.store.codes import assign_missing

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLES = ("leads", "opportunities", "tickets")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("code", sa.String(length=24), nullable=True))
        assign_missing(op.get_bind(), table)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_unique_constraint(op.f(f"uq_{table}_code"), ["code"])


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f"uq_{table}_code"), type_="unique")
            batch_op.drop_column("code")
    op.execute(
        "DELETE FROM code_sequences WHERE prefix LIKE 'L%' OR prefix LIKE 'D%' OR prefix LIKE 'T%'"
    )
