"""no import warnings: every value an import cannot take rejects its row

An unknown campaign name was the last thing an import left out of a row with a warning;
it now rejects the row, as the API refuses it. Nothing writes ``import_warnings`` or
``import_batches.rows_warned`` any more, so both go. A downgrade brings them back empty
(the warnings recorded before the upgrade are not kept: the rows they describe were
imported, and the import's ``warnings.csv`` files stay where they were written).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index(op.f("ix_import_warnings_ref"), table_name="import_warnings")
    op.drop_index(op.f("ix_import_warnings_batch_id"), table_name="import_warnings")
    op.drop_table("import_warnings")
    # ALTER TABLE … DROP COLUMN, also on SQLite (3.35 and later): a batch operation would
    # copy import_batches and drop the original, and with foreign keys on, dropping it
    # deletes every import's rejects (ON DELETE CASCADE).
    op.drop_column("import_batches", "rows_warned")


def downgrade() -> None:
    op.add_column(
        "import_batches",
        sa.Column("rows_warned", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_table(
        "import_warnings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=True),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("raw_value", sa.Text(), nullable=True),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["import_batches.id"],
            name=op.f("fk_import_warnings_batch_id_import_batches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_warnings")),
    )
    op.create_index(op.f("ix_import_warnings_batch_id"), "import_warnings", ["batch_id"])
    op.create_index(op.f("ix_import_warnings_ref"), "import_warnings", ["ref"])
