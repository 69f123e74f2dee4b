"""The data model: one SQLAlchemy class per table of DESIGN's data model.

Enumerated columns store the English code (see :mod:`crmlib.reference.enums`); labels are
looked up for display. Money is ``Numeric(14, 2)`` in CNY. Timestamps are naive business
times (:mod:`crmlib.clock`). Every foreign key, owner, date and code column is indexed,
because each of them is a filter of some list, report or scope.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .. import clock
from .codes import DEAL_PREFIX, LEAD_PREFIX, TICKET_PREFIX, code_default

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Money = Numeric(14, 2, asdecimal=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _user_fk(nullable: bool = True) -> Any:
    return mapped_column(ForeignKey("users.id"), nullable=nullable, index=True)


def _customer_fk() -> Any:
    return mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now, onupdate=clock.now)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    role: Mapped[str] = mapped_column(String(16), index=True)
    team: Mapped[str | None] = mapped_column(String(64), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now)


class Customer(Timestamped, Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(24), unique=True)
    external_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="company")
    name: Mapped[str] = mapped_column(String(200), index=True)
    industry_section: Mapped[str | None] = mapped_column(String(1))
    industry_division: Mapped[str | None] = mapped_column(String(2), index=True)
    size: Mapped[str | None] = mapped_column(String(16))
    province: Mapped[str | None] = mapped_column(String(32))
    city: Mapped[str | None] = mapped_column(String(64))
    postcode: Mapped[str | None] = mapped_column(String(6))
    region: Mapped[str | None] = mapped_column(String(8))
    address: Mapped[str | None] = mapped_column(String(300))
    # Free text about the customer (the handbook template's 备注), stored as typed.
    remarks: Mapped[str | None] = mapped_column(String(2000))
    grade: Mapped[str | None] = mapped_column(String(1))
    status: Mapped[str] = mapped_column(String(16), default="potential")
    source: Mapped[str | None] = mapped_column(String(32))
    owner_id: Mapped[int | None] = _user_fk()
    birthday: Mapped[date | None] = mapped_column(Date)
    consent_purpose: Mapped[str | None] = mapped_column(String(200))
    consent_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_contact_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    # Set by the nightly lifecycle refresh when a customer has long been inactive.
    archive_flagged_at: Mapped[datetime | None] = mapped_column(DateTime)
    # A grade or status set by hand (who, why, until which day; no day: until cleared),
    # which the nightly refresh leaves alone while it holds.
    grade_override_by: Mapped[str | None] = mapped_column(String(64))
    grade_override_reason: Mapped[str | None] = mapped_column(String(500))
    grade_override_until: Mapped[date | None] = mapped_column(Date)
    status_override_by: Mapped[str | None] = mapped_column(String(64))
    status_override_reason: Mapped[str | None] = mapped_column(String(500))
    status_override_until: Mapped[date | None] = mapped_column(Date)
    # The latest churn-risk score (0-1) and when it was computed (crmlib.analytics.churn).
    churn_risk: Mapped[float | None] = mapped_column(Float)
    churn_scored_at: Mapped[datetime | None] = mapped_column(DateTime)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))

    # Low-cardinality columns (grade, status, source, region, province, industry section)
    # have no index of their own: at a million customers a scan beats reading a quarter
    # of the table through one, and each such index costs a bulk import a sort. Merged
    # and flagged customers are few, so only they are indexed.
    __table_args__ = (
        Index(
            "ix_customers_merged_into_id",
            "merged_into_id",
            sqlite_where=merged_into_id.is_not(None),
            postgresql_where=merged_into_id.is_not(None),
        ),
        Index(
            "ix_customers_archive_flagged_at",
            "archive_flagged_at",
            sqlite_where=archive_flagged_at.is_not(None),
            postgresql_where=archive_flagged_at.is_not(None),
        ),
    )


class CustomerTag(Base):
    __tablename__ = "customer_tags"
    __table_args__ = (UniqueConstraint("customer_id", "tag"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = _customer_fk()
    tag: Mapped[str] = mapped_column(String(64), index=True)


class Contact(Timestamped, Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = _customer_fk()
    name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    email: Mapped[str | None] = mapped_column(String(200), index=True)
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    # Not indexed: nothing lists contacts by creation time.
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now)


class Campaign(Timestamped, Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    start_date: Mapped[date | None] = mapped_column(Date, index=True)
    end_date: Mapped[date | None] = mapped_column(Date)
    budget: Mapped[Decimal | None] = mapped_column(Money)
    actual_cost: Mapped[Decimal | None] = mapped_column(Money)
    goal: Mapped[str | None] = mapped_column(String(300))
    target_segment: Mapped[str | None] = mapped_column(String(100))
    owner_id: Mapped[int | None] = _user_fk()


class CampaignMember(Base):
    __tablename__ = "campaign_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    lead_id: Mapped[int | None] = mapped_column(
        ForeignKey("leads.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="sent")
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    responded_at: Mapped[datetime | None] = mapped_column(DateTime)
    response: Mapped[str | None] = mapped_column(String(300))
    converted_at: Mapped[datetime | None] = mapped_column(DateTime)


class Lead(Timestamped, Base):
    __tablename__ = "leads"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The stable key of exports and imports (crmlib.store.codes), set on every insert.
    code: Mapped[str | None] = mapped_column(
        String(24), unique=True, default=code_default(LEAD_PREFIX)
    )
    external_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    company: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    email: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str | None] = mapped_column(String(32), index=True)
    province: Mapped[str | None] = mapped_column(String(32))
    region: Mapped[str | None] = mapped_column(String(8), index=True)
    industry_section: Mapped[str | None] = mapped_column(String(1))
    industry_division: Mapped[str | None] = mapped_column(String(2))
    value_tier: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="new", index=True)
    invalid_reason: Mapped[str | None] = mapped_column(String(300))
    team: Mapped[str | None] = mapped_column(String(64), index=True)
    owner_id: Mapped[int | None] = _user_fk()
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    opportunity_id: Mapped[int | None] = mapped_column(
        ForeignKey("opportunities.id", ondelete="SET NULL"), index=True
    )
    converted_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    # Indexed with converted_at: lead conversion reads a period's leads from the index.
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now)

    __table_args__ = (Index("ix_leads_period", "created_at", "converted_at"),)


class Opportunity(Timestamped, Base):
    __tablename__ = "opportunities"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The stable key of exports and imports (crmlib.store.codes), set on every insert.
    code: Mapped[str | None] = mapped_column(
        String(24), unique=True, default=code_default(DEAL_PREFIX)
    )
    external_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    customer_id: Mapped[int] = _customer_fk()
    name: Mapped[str] = mapped_column(String(200))
    stage: Mapped[str] = mapped_column(String(16), default="contact", index=True)
    amount: Mapped[Decimal | None] = mapped_column(Money)
    expected_close_date: Mapped[date | None] = mapped_column(Date, index=True)
    probability: Mapped[float | None] = mapped_column()
    need_description: Mapped[str | None] = mapped_column(Text)
    proposal_version: Mapped[str | None] = mapped_column(String(32))
    loss_reason: Mapped[str | None] = mapped_column(String(300))
    owner_id: Mapped[int | None] = _user_fk()
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"), index=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)


class StageHistory(Base):
    __tablename__ = "opportunity_stage_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(
        ForeignKey("opportunities.id", ondelete="CASCADE"), index=True
    )
    stage: Mapped[str] = mapped_column(String(16), index=True)
    entered_at: Mapped[datetime] = mapped_column(DateTime)
    left_at: Mapped[datetime | None] = mapped_column(DateTime)

    # The days-in-stage KPI reads a period's stays from the index alone.
    __table_args__ = (
        Index("ix_opportunity_stage_history_period", "entered_at", "left_at", "stage"),
    )


class Interaction(Base):
    __tablename__ = "interactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = _customer_fk()
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    opportunity_id: Mapped[int | None] = mapped_column(
        ForeignKey("opportunities.id", ondelete="SET NULL"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    summary: Mapped[str] = mapped_column(Text)
    customer_need: Mapped[str | None] = mapped_column(Text)
    next_step: Mapped[str | None] = mapped_column(Text)
    next_action_date: Mapped[date | None] = mapped_column(Date, index=True)
    owner_id: Mapped[int | None] = _user_fk()
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now)


class Order(Base):
    """An order. Its two indexes cover what reports read (customer, day, amount), so the
    KPIs over millions of orders are answered from the indexes alone: one leads with the
    customer (a customer's history; the foreign key), one with the day (a period)."""

    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_customer_history", "customer_id", "ordered_at", "amount"),
        Index("ix_orders_period", "ordered_at", "customer_id", "amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    ordered_at: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money)
    product: Mapped[str | None] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(64), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now)


class Ticket(Timestamped, Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The stable key of exports and imports (crmlib.store.codes), set on every insert.
    code: Mapped[str | None] = mapped_column(
        String(24), unique=True, default=code_default(TICKET_PREFIX)
    )
    external_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    customer_id: Mapped[int] = _customer_fk()
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    type: Mapped[str] = mapped_column(String(16), index=True)
    priority: Mapped[str] = mapped_column(String(8), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    subject: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    team: Mapped[str | None] = mapped_column(String(64), index=True)
    assignee_id: Mapped[int | None] = _user_fk()
    opened_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now)
    first_response_due: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    resolution_due: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    first_response_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolution: Mapped[str | None] = mapped_column(Text)

    # The service KPIs read a period's tickets (response, resolution, SLA) from the index.
    __table_args__ = (
        Index(
            "ix_tickets_period",
            "opened_at",
            "first_response_at",
            "resolved_at",
            "first_response_due",
            "resolution_due",
        ),
    )


class TicketEvent(Base):
    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    from_value: Mapped[str | None] = mapped_column(String(100))
    to_value: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int | None] = _user_fk()
    occurred_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now, index=True)


class Feedback(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = _customer_fk()
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(8), index=True)
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now, index=True)


class Comment(Base):
    """A note on a customer, opportunity or ticket; filed under the customer for scoping."""

    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int] = mapped_column(Integer)
    customer_id: Mapped[int] = _customer_fk()
    author_id: Mapped[int | None] = _user_fk()
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now, index=True)

    __table_args__ = (Index("ix_comments_entity", "entity", "entity_id"),)


class Task(Timestamped, Base):
    """A piece of work assigned to a user, optionally about a record or made by a mention."""

    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    assignee_id: Mapped[int] = _user_fk(nullable=False)
    created_by_id: Mapped[int | None] = _user_fk()
    priority: Mapped[str] = mapped_column(String(8), default="medium")
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    due_date: Mapped[date | None] = mapped_column(Date, index=True)
    entity: Mapped[str | None] = mapped_column(String(32))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    comment_id: Mapped[int | None] = mapped_column(
        ForeignKey("comments.id", ondelete="SET NULL"), index=True
    )
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)


class Article(Timestamped, Base):
    """A knowledge-base article: how to solve a recurring question or problem."""

    __tablename__ = "kb_articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300), index=True)
    body: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(64), index=True)
    tags: Mapped[str | None] = mapped_column(String(500))
    author_id: Mapped[int | None] = _user_fk()


class TicketArticle(Base):
    """An article used on a ticket; counts of these show which articles resolve tickets."""

    __tablename__ = "ticket_articles"
    __table_args__ = (UniqueConstraint("ticket_id", "article_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("kb_articles.id", ondelete="CASCADE"), index=True
    )
    linked_by_id: Mapped[int | None] = _user_fk()
    linked_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now)


class Segment(Timestamped, Base):
    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    rule: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    owner_id: Mapped[int | None] = _user_fk()


class SegmentSize(Base):
    """How many customers a segment had on a day, so its size can be followed over time."""

    __tablename__ = "segment_sizes"
    __table_args__ = (UniqueConstraint("segment_id", "measured_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    segment_id: Mapped[int] = mapped_column(
        ForeignKey("segments.id", ondelete="CASCADE"), index=True
    )
    measured_on: Mapped[date] = mapped_column(Date, index=True)
    size: Mapped[int] = mapped_column(Integer)


class CustomField(Base):
    """A field an administrator added to a kind of record (customers): its key, its names
    by language (a JSON object: ``{"zh": "行业细分", "en": "Industry detail"}``), its type
    (text, number, money, date, choice) and, for a choice, its choices (a JSON list).
    Retired fields keep their values but leave forms and files."""

    __tablename__ = "custom_fields"
    __table_args__ = (UniqueConstraint("kind", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(40))
    names: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(16))
    choices: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now)


class CustomValue(Base):
    """One record's value of one custom field. ``text_value`` holds every value as text
    (dates as ISO days, numbers as plain decimals), ``number_value`` numbers and money as
    well, so rules filter and compare on either column alike on SQLite and PostgreSQL."""

    __tablename__ = "custom_values"
    __table_args__ = (
        UniqueConstraint("field_id", "record_id"),
        Index("ix_custom_values_text", "field_id", "text_value"),
        Index("ix_custom_values_number", "field_id", "number_value"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    field_id: Mapped[int] = mapped_column(ForeignKey("custom_fields.id", ondelete="CASCADE"))
    record_id: Mapped[int] = mapped_column(Integer, index=True)
    text_value: Mapped[str | None] = mapped_column(String(2000))
    number_value: Mapped[Decimal | None] = mapped_column(Numeric(24, 6, asdecimal=True))


class AuditEvent(Base):
    """One change of one field, or one whole-record action (create, delete, import, export).

    The actor is kept as a username rather than a key, so the log outlives users.
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now, index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(16), index=True)
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    ref: Mapped[str | None] = mapped_column(String(64), index=True)
    field: Mapped[str | None] = mapped_column(String(64))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    batch_id: Mapped[int | None] = mapped_column(Integer, index=True)

    __table_args__ = (Index("ix_audit_events_entity", "entity", "entity_id"),)


class ImportBatch(Base):
    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    file_name: Mapped[str] = mapped_column(String(300))
    file_hash: Mapped[str] = mapped_column(String(64), index=True)
    actor: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    strict: Mapped[bool] = mapped_column(Boolean, default=False)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_imported: Mapped[int] = mapped_column(Integer, default=0)
    rows_created: Mapped[int] = mapped_column(Integer, default=0)
    rows_updated: Mapped[int] = mapped_column(Integer, default=0)
    rows_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    output_dir: Mapped[str | None] = mapped_column(String(500))
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)


class ImportReject(Base):
    __tablename__ = "import_rejects"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(
        ForeignKey("import_batches.id", ondelete="CASCADE"), index=True
    )
    row_number: Mapped[int] = mapped_column(Integer)
    raw: Mapped[str] = mapped_column(Text)
    reasons: Mapped[str] = mapped_column(Text)


class QualityRun(Base):
    """One data-quality scorecard, kept so the scorecard can show its trend."""

    __tablename__ = "dq_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    overall: Mapped[float] = mapped_column()
    scores: Mapped[str] = mapped_column(Text)


class Merge(Base):
    __tablename__ = "merges"

    id: Mapped[int] = mapped_column(primary_key=True)
    survivor_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    merged_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    snapshot: Mapped[str] = mapped_column(Text)
    reasons: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(64))
    merged_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now, index=True)
    unmerged_at: Mapped[datetime | None] = mapped_column(DateTime)


class ReportRun(Base):
    __tablename__ = "report_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    report: Mapped[str] = mapped_column(String(100), index=True)
    parameters: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    actor: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    duration_s: Mapped[float | None] = mapped_column()
    outputs: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)


class CodeSequence(Base):
    """The last customer-code sequence number used on each business day."""

    __tablename__ = "code_sequences"

    prefix: Mapped[str] = mapped_column(String(16), primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer)


class TeamMode(Base):
    """The one row of a team database (:mod:`crmlib.team_mode`): the role that owns the
    CRM's tables, the group role of its users' logins, and the roles of the logins whose
    role sees every row or a scope. No row: no team mode."""

    __tablename__ = "team_mode"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_role: Mapped[str] = mapped_column(String(63))
    group_role: Mapped[str] = mapped_column(String(63))
    all_role: Mapped[str] = mapped_column(String(63))
    scoped_role: Mapped[str] = mapped_column(String(63))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now)


class Setting(Base):
    """Configurable business rules (grade thresholds, backup retention…), as JSON values."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now, onupdate=clock.now)
