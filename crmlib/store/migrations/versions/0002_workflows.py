"""workflows: tasks, comments, knowledge base, lead teams

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kb_articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("tags", sa.String(length=500), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_kb_articles_author_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_articles")),
    )
    with op.batch_alter_table("kb_articles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kb_articles_author_id"), ["author_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_kb_articles_category"), ["category"], unique=False)
        batch_op.create_index(batch_op.f("ix_kb_articles_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_kb_articles_title"), ["title"], unique=False)

    op.create_table(
        "comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_comments_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_comments_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comments")),
    )
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_comments_author_id"), ["author_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_comments_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_comments_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index("ix_comments_entity", ["entity", "entity_id"], unique=False)

    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("entity", sa.String(length=32), nullable=True),
        sa.Column("entity_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("comment_id", sa.Integer(), nullable=True),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["users.id"], name=op.f("fk_tasks_assignee_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["comment_id"],
            ["comments.id"],
            name=op.f("fk_tasks_comment_id_comments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_tasks_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_tasks_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tasks_assignee_id"), ["assignee_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tasks_comment_id"), ["comment_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tasks_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_tasks_created_by_id"), ["created_by_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tasks_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tasks_due_date"), ["due_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_tasks_status"), ["status"], unique=False)

    op.create_table(
        "ticket_articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("linked_by_id", sa.Integer(), nullable=True),
        sa.Column("linked_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["kb_articles.id"],
            name=op.f("fk_ticket_articles_article_id_kb_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["linked_by_id"], ["users.id"], name=op.f("fk_ticket_articles_linked_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_articles_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_articles")),
        sa.UniqueConstraint("ticket_id", "article_id", name=op.f("uq_ticket_articles_ticket_id")),
    )
    with op.batch_alter_table("ticket_articles", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ticket_articles_article_id"), ["article_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ticket_articles_linked_by_id"), ["linked_by_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ticket_articles_ticket_id"), ["ticket_id"], unique=False
        )

    op.create_table(
        "segment_sizes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.Column("measured_on", sa.Date(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segments.id"],
            name=op.f("fk_segment_sizes_segment_id_segments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment_sizes")),
        sa.UniqueConstraint("segment_id", "measured_on", name=op.f("uq_segment_sizes_segment_id")),
    )
    with op.batch_alter_table("segment_sizes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_segment_sizes_measured_on"), ["measured_on"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_segment_sizes_segment_id"), ["segment_id"], unique=False
        )

    with op.batch_alter_table("campaign_members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("response", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("converted_at", sa.DateTime(), nullable=True))

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("archive_flagged_at", sa.DateTime(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_customers_archive_flagged_at"), ["archive_flagged_at"], unique=False
        )

    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("team", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("assigned_at", sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_leads_assigned_at"), ["assigned_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_leads_team"), ["team"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_leads_team"))
        batch_op.drop_index(batch_op.f("ix_leads_assigned_at"))
        batch_op.drop_column("assigned_at")
        batch_op.drop_column("team")

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customers_archive_flagged_at"))
        batch_op.drop_column("archive_flagged_at")

    with op.batch_alter_table("campaign_members", schema=None) as batch_op:
        batch_op.drop_column("converted_at")
        batch_op.drop_column("response")

    with op.batch_alter_table("ticket_articles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_articles_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_ticket_articles_linked_by_id"))
        batch_op.drop_index(batch_op.f("ix_ticket_articles_article_id"))

    with op.batch_alter_table("segment_sizes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_segment_sizes_segment_id"))
        batch_op.drop_index(batch_op.f("ix_segment_sizes_measured_on"))

    op.drop_table("segment_sizes")
    op.drop_table("ticket_articles")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tasks_status"))
        batch_op.drop_index(batch_op.f("ix_tasks_due_date"))
        batch_op.drop_index(batch_op.f("ix_tasks_customer_id"))
        batch_op.drop_index(batch_op.f("ix_tasks_created_by_id"))
        batch_op.drop_index(batch_op.f("ix_tasks_created_at"))
        batch_op.drop_index(batch_op.f("ix_tasks_comment_id"))
        batch_op.drop_index(batch_op.f("ix_tasks_assignee_id"))

    op.drop_table("tasks")
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_index("ix_comments_entity")
        batch_op.drop_index(batch_op.f("ix_comments_customer_id"))
        batch_op.drop_index(batch_op.f("ix_comments_created_at"))
        batch_op.drop_index(batch_op.f("ix_comments_author_id"))

    op.drop_table("comments")
    with op.batch_alter_table("kb_articles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kb_articles_title"))
        batch_op.drop_index(batch_op.f("ix_kb_articles_created_at"))
        batch_op.drop_index(batch_op.f("ix_kb_articles_category"))
        batch_op.drop_index(batch_op.f("ix_kb_articles_author_id"))

    op.drop_table("kb_articles")
