"""Value KPIs: repurchase rate, average order value, revenue, historic CLV and CAC."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Float, Select, cast, func, select

from ... import clock
from ...settings import get_setting
from ...store.models import Campaign, CampaignMember, Customer, Order
from ..filters import Filters
from .customers import from_served
from .definition import FLOW, STOCK, kpi
from .query import Query


def _money(column: Any) -> Any:
    return cast(column, Float)


@kpi(
    "repurchase_rate",
    "value",
    "share",
    by=STOCK,
    cost=0.19,
)
def repurchase_rate(q: Query, conn: Connection) -> pd.DataFrame:
    per = (
        select(Order.customer_id, func.count().label("orders"))
        .where(q.filters.within(Order.ordered_at), q.of_customers(Order.customer_id))
        .group_by(Order.customer_id)
        .subquery("period_orders")
    )
    value = cast(func.count().filter(per.c.orders >= 2), Float) / func.nullif(func.count(), 0)
    stmt = select(value.label("value")).select_from(per)
    return q.frame(conn, q.grouped(stmt, per.c.customer_id))


def _orders(q: Query, value: Any) -> Select[*tuple[Any, ...]]:
    stmt = (
        select(value.label("value"))
        .select_from(Order)
        .where(q.filters.within(Order.ordered_at), q.of_customers(Order.customer_id))
    )
    return q.grouped(stmt, Order.customer_id, Order.ordered_at)


@kpi(
    "aov",
    "value",
    "CNY",
    by=FLOW,
    cost=0.04,
)
def aov(q: Query, conn: Connection) -> pd.DataFrame:
    value = func.sum(_money(Order.amount)) / func.nullif(func.count(), 0)
    return q.frame(conn, _orders(q, value))


@kpi(
    "revenue",
    "value",
    "CNY",
    by=FLOW,
    cost=0.03,
)
def revenue(q: Query, conn: Connection) -> pd.DataFrame:
    value = func.coalesce(func.sum(_money(Order.amount)), 0.0)
    return q.frame(conn, _orders(q, value))


@kpi(
    "clv",
    "value",
    "CNY",
    by=STOCK,
    cost=0.92,
    shares="served",
)
def clv(q: Query, conn: Connection) -> pd.DataFrame:
    """Historic CLV: all order amounts so far over the customers who ordered."""
    return from_served(q, conn, "spend", "buyers")


def months(start: date, end: date) -> float:
    """Calendar months from ``start`` to ``end`` (exclusive), fractions by the days of the
    month they fall in: 2024-Q1 is 3.0, one day of a 31-day month 1/31."""
    whole = 0
    while clock.add_months(start, whole + 1) <= end:
        whole += 1
    rest = clock.add_months(start, whole)
    if rest >= end:
        return float(whole)
    following = clock.add_months(rest, 1)
    return whole + (end - rest).days / (following - rest).days


def cac_period(q: Query) -> Filters:
    """The period CAC covers: the filters' own, or else the 12 months up to the as-of day."""
    f = q.filters
    if f.start is not None and f.end is not None:
        return f
    start = f.start or clock.add_months(q.day, -12) + timedelta(days=1)
    end = f.end or q.day + timedelta(days=1)
    return Filters(start, end, f.region, f.team, f.owner, f.segment, q.day)


@kpi(
    "cac",
    "value",
    "CNY",
    cost=0.03,
    lower_is_better=True,
)
def cac(q: Query, conn: Connection) -> pd.DataFrame:
    period = cac_period(q)
    assert period.start is not None and period.end is not None
    new = conn.execute(
        select(func.count()).where(q.counted(), period.within(Customer.created_at))
    ).scalar_one()
    everyone = (
        conn.execute(
            select(func.count()).where(
                Customer.merged_into_id.is_(None), period.within(Customer.created_at)
            )
        ).scalar_one()
        if q.narrowed
        else new
    )
    started = period.within(Campaign.start_date)
    cost = func.coalesce(_money(Campaign.actual_cost), 0.0)
    if q.narrowed:
        # Joined rather than ``count() FILTER (WHERE customer_id IN (...))``: PostgreSQL
        # cannot make a semi-join of a test inside an aggregate, and once the customers
        # counted outgrow work_mem (a large team at a million customers) it re-reads them
        # for every member instead of hashing them (minutes instead of a second).
        ours = q.customers().subquery("ours")
        members = (
            select(
                CampaignMember.campaign_id,
                func.count().label("members"),
                func.count(ours.c.id).label("ours"),
            )
            .outerjoin(ours, ours.c.id == CampaignMember.customer_id)
            .group_by(CampaignMember.campaign_id)
            .subquery("reach")
        )
        share = cast(members.c.ours, Float) / func.nullif(members.c.members, 0)
        campaigns = select(func.sum(cost * share)).join_from(
            Campaign, members, members.c.campaign_id == Campaign.id
        )
    else:
        campaigns = select(func.sum(cost))
    campaign_cost = float(conn.execute(campaigns.where(started)).scalar_one() or 0.0)
    per_month = float(get_setting(conn, "sales_cost_per_month") or 0)
    sales_cost = per_month * months(period.start, period.end) * (new / everyone if everyone else 0)
    value = (campaign_cost + sales_cost) / new if new else float("nan")
    return pd.DataFrame({"value": [value]})
