"""custom fields: fields administrators add to customers, and their values

``custom_fields`` holds each field's definition (kind, key, its names by language as a
JSON object, type, choices); ``custom_values`` one row per record and field, the value as
text and, for numbers and money, as a number too, so that segment rules filter on plain
columns on SQLite and PostgreSQL alike.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "custom_fields",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("key", sa.String(40), nullable=False),
        sa.Column("names", sa.Text(), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("choices", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_fields")),
        sa.UniqueConstraint("kind", "key", name=op.f("uq_custom_fields_kind")),
    )
    op.create_table(
        "custom_values",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("field_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("text_value", sa.String(2000), nullable=True),
        sa.Column("number_value", sa.Numeric(24, 6), nullable=True),
        sa.ForeignKeyConstraint(
            ["field_id"],
            ["custom_fields.id"],
            name=op.f("fk_custom_values_field_id_custom_fields"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_values")),
        sa.UniqueConstraint("field_id", "record_id", name=op.f("uq_custom_values_field_id")),
    )
    op.create_index("ix_custom_values_record_id", "custom_values", ["record_id"])
    op.create_index("ix_custom_values_text", "custom_values", ["field_id", "text_value"])
    op.create_index("ix_custom_values_number", "custom_values", ["field_id", "number_value"])


def downgrade() -> None:
    op.drop_table("custom_values")
    op.drop_table("custom_fields")
