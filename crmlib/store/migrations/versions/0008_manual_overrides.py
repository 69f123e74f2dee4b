"""manual overrides: a grade or status set by hand, by whom, why and until when

The nightly refresh recomputes grades and statuses; a value a person set keeps its place
while ``<field>_override_by`` is set and ``<field>_override_until`` (a day, or none: until
cleared) has not passed.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

FIELDS = ("grade", "status")


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        for field in FIELDS:
            batch_op.add_column(sa.Column(f"{field}_override_by", sa.String(64), nullable=True))
            batch_op.add_column(
                sa.Column(f"{field}_override_reason", sa.String(500), nullable=True)
            )
            batch_op.add_column(sa.Column(f"{field}_override_until", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        for field in FIELDS:
            for suffix in ("by", "reason", "until"):
                batch_op.drop_column(f"{field}_override_{suffix}")
