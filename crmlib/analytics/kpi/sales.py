"""Sales KPIs: lead conversion, win rate, sales cycle, pipeline, weighted forecast and the
days deals spend in each stage.

Opportunities count under their customer (scope, region, team and owner are the
customer's). Leads may have no customer yet, so they are scoped by the lead rules of
:class:`~crmlib.access.Scope` and filtered by their own region, team and owner.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, Connection, Float, Select, cast, func, or_, select
from sqlalchemy.orm import aliased

from ...domain.sales.stages import OPEN_STAGES
from ...reference.enums import STAGE
from ...store.models import Lead, Opportunity, StageHistory, User
from ..days import days_between, month_of
from .definition import FLOW, STOCK, kpi
from .query import Query, row_by_row, unindexed


def _lead_groups(q: Query, stmt: Select[*tuple[Any, ...]]) -> Select[*tuple[Any, ...]]:
    if q.by is None:
        return stmt
    key: ColumnElement[Any]
    if q.by == "month":
        key = month_of(Lead.created_at).label("month")
    elif q.by == "owner":
        owner = aliased(User, name="lead_owner")
        stmt = stmt.outerjoin(owner, owner.id == Lead.owner_id)
        key = owner.username.label("owner")
    else:
        column = {
            "region": Lead.region,
            "province": Lead.province,
            "team": Lead.team,
            "industry": Lead.industry_section,
        }[q.by]
        key = column.label(q.by)
    return stmt.add_columns(key).group_by(key)


@kpi(
    "lead_conversion",
    "sales",
    "share",
    by=FLOW,
    cost=0.02,
)
def lead_conversion(q: Query, conn: Connection) -> pd.DataFrame:
    """Leads have no segment (they are not customers yet): with a segment there is no value."""
    f = q.filters
    if f.segment is not None:
        return pd.DataFrame({"value": [float("nan")]})
    converted = func.count().filter(Lead.converted_at < q.day_end)
    value = cast(converted, Float) / func.nullif(func.count(), 0)
    stmt = select(value.label("value")).select_from(Lead)
    scoped = q.ctx.scope.lead_filter()
    if q.ctx.actor.role.scope == "team":
        # A team owns a large share of the leads: through the owner index SQLite would
        # read every lead the team ever had (1.8 s at a million customers), through the
        # period's index only the period's (0.2 s). A rep's own few are best by owner.
        scoped = row_by_row(scoped, Lead.owner_id)
    stmt = stmt.where(scoped, f.within(Lead.created_at))
    if f.region is not None:
        stmt = stmt.where(Lead.region == f.region)
    if f.team is not None:
        stmt = stmt.where(Lead.team == f.team)
    if f.owner is not None:
        stmt = stmt.where(Lead.owner_id.in_(select(User.id).where(User.username == f.owner)))
    return q.frame(conn, _lead_groups(q, stmt))


def _closed(q: Query, value: Any, *where: Any) -> Select[*tuple[Any, ...]]:
    stmt = (
        select(value.label("value"))
        .select_from(Opportunity)
        .where(
            q.filters.within(Opportunity.closed_at),
            q.of_customers(Opportunity.customer_id),
            *where,
        )
    )
    return q.grouped(stmt, Opportunity.customer_id, Opportunity.closed_at)


@kpi(
    "win_rate",
    "sales",
    "share",
    by=FLOW,
    cost=0.05,
)
def win_rate(q: Query, conn: Connection) -> pd.DataFrame:
    won = func.count().filter(Opportunity.stage == "won")
    value = cast(won, Float) / func.nullif(func.count(), 0)
    # Most deals are won or lost: the period's are found by close time, not by stage.
    closed = unindexed(Opportunity.stage).in_(("won", "lost"))
    return q.frame(conn, _closed(q, value, closed))


@kpi(
    "sales_cycle_days",
    "sales",
    "days",
    by=FLOW,
    cost=0.05,
    lower_is_better=True,
)
def sales_cycle_days(q: Query, conn: Connection) -> pd.DataFrame:
    value = func.avg(days_between(Opportunity.closed_at, Opportunity.created_at))
    return q.frame(conn, _closed(q, value, unindexed(Opportunity.stage) == "won"))


def _open(q: Query, conn: Connection) -> pd.DataFrame:
    """Opportunities open on the as-of day (created by then, not closed by then; a deal in
    an open stage with no close time is open), one pass for both figures: ``amount`` and
    ``weighted`` (the same weighting as :func:`crmlib.domain.sales.pipeline.forecast`)."""

    def compute() -> pd.DataFrame:
        end = q.day_end
        amount = cast(Opportunity.amount, Float)
        weighted = amount * func.coalesce(Opportunity.probability, 0.0)
        stmt = (
            select(
                func.coalesce(func.sum(amount), 0.0).label("amount"),
                func.coalesce(func.sum(weighted), 0.0).label("weighted"),
            )
            .select_from(Opportunity)
            .where(
                # Nearly every deal was created by then: the few still open are found
                # through the close time's index, not by reading all deals by creation.
                unindexed(Opportunity.created_at) < end,
                or_(
                    Opportunity.closed_at >= end,
                    Opportunity.closed_at.is_(None) & Opportunity.stage.in_(OPEN_STAGES),
                ),
                q.of_customers(Opportunity.customer_id),
            )
        )
        stmt = q.grouped(stmt, Opportunity.customer_id)
        return q.rows(conn, stmt)

    return q.once("open", compute)


def _from_open(q: Query, conn: Connection, column: str) -> pd.DataFrame:
    frame = _open(q, conn)
    keys = [q.by] if q.by else []
    result = frame[keys].assign(value=frame[column].astype(float))
    if keys:
        result = result.sort_values(keys, na_position="last", ignore_index=True)
    return result


@kpi(
    "pipeline_value",
    "sales",
    "CNY",
    by=STOCK,
    cost=0.03,
    shares="open",
)
def pipeline_value(q: Query, conn: Connection) -> pd.DataFrame:
    return _from_open(q, conn, "amount")


@kpi(
    "weighted_forecast",
    "sales",
    "CNY",
    by=STOCK,
    cost=0.03,
    shares="open",
)
def weighted_forecast(q: Query, conn: Connection) -> pd.DataFrame:
    return _from_open(q, conn, "weighted")


@kpi(
    "stage_days",
    "sales",
    "days",
    cost=0.1,
    lower_is_better=True,
)
def stage_days(q: Query, conn: Connection) -> pd.DataFrame:
    stmt = (
        select(
            StageHistory.stage,
            func.avg(days_between(StageHistory.left_at, StageHistory.entered_at)).label("value"),
        )
        .where(StageHistory.left_at < q.day_end, q.filters.within(StageHistory.entered_at))
        .group_by(StageHistory.stage)
    )
    if q.narrowed:  # the deal's customer decides; otherwise every deal's history counts
        stmt = stmt.join(Opportunity, Opportunity.id == StageHistory.opportunity_id).where(
            q.of_customers(Opportunity.customer_id)
        )
    frame = pd.DataFrame(conn.execute(stmt).all(), columns=["stage", "value"])
    order = {code: n for n, code in enumerate(STAGE.codes)}
    frame = frame.sort_values("stage", key=lambda s: s.map(order), ignore_index=True)
    frame["value"] = frame["value"].astype(float)
    return frame
