"""Churn features: what each buyer's history looks like as of a cutoff day, in SQL.

See :mod:`crmlib.analytics.churn` for what the features are for; all are computed in the
database for every customer in the filters who ordered on or before the cutoff.

- ``recency_days`` (days since the last order), ``frequency`` (orders), ``monetary``
  (total spend), ``aov`` (monetary / frequency);
- the trend: ``orders_6m``/``spend_6m`` in the 6 months up to the cutoff and
  ``orders_prev_6m``/``spend_prev_6m`` in the 6 before, and ``monetary_trend`` =
  (spend_6m − spend_prev_6m) / (spend_6m + spend_prev_6m), −1 … 1 (0 without spend);
- ``tenure_days`` (days since the first order);
- ``tickets_12m``, ``complaints_12m``: tickets (complaints) opened in the 12 months up to
  the cutoff;
- ``follow_ups_12m``: follow-ups in those 12 months; ``days_since_contact``: days since the
  last follow-up, or since the customer was created when nobody followed up;
  ``followup_gap_days``: days from creation to the cutoff / (all follow-ups + 1), the
  average spacing of touches;
- ``is_company``: 1 for a company, 0 for a person.

With a horizon, ``churned`` is 1 when the customer has no order in (cutoff, cutoff +
horizon].
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, cast

import numpy as np
import pandas as pd
from sqlalchemy import Float, Select, Table, and_, case, func, select
from sqlalchemy import cast as sql_cast

from .. import clock
from ..context import Context
from ..i18n import t
from ..store.models import Customer, Interaction, Order, Ticket
from .days import calendar_days
from .filters import Filters

#: Model features, in this order; the log1p-transformed ones are counts, amounts and days.
FEATURES = (
    "recency_days",
    "frequency",
    "monetary",
    "aov",
    "orders_6m",
    "orders_prev_6m",
    "spend_6m",
    "spend_prev_6m",
    "monetary_trend",
    "tenure_days",
    "tickets_12m",
    "complaints_12m",
    "follow_ups_12m",
    "days_since_contact",
    "followup_gap_days",
    "is_company",
)
UNLOGGED = frozenset({"monetary_trend", "is_company"})


def feature_label(name: str, lang: str | None = None) -> str:
    return t(f"churn_features:{name}", lang)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time())


def features(ctx: Context, f: Filters, cutoff: date, horizon: int | None = None) -> Select[Any]:
    """Per customer in the filters with an order on or before ``cutoff``: id, code and the
    :data:`FEATURES` as of the cutoff; with ``horizon``, also ``churned`` (1 when no order
    follows within ``horizon`` days)."""
    orders = cast(Table, Order.__table__)
    tickets = cast(Table, Ticket.__table__)
    touches = cast(Table, Interaction.__table__)
    half, year = clock.add_months(cutoff, -6), clock.add_months(cutoff, -12)
    recent = orders.c.ordered_at > half
    before = and_(orders.c.ordered_at > year, orders.c.ordered_at <= half)
    amount = orders.c.amount
    per_order = (
        select(
            orders.c.customer_id,
            func.count().label("frequency"),
            sql_cast(func.sum(amount), Float).label("monetary"),
            func.min(orders.c.ordered_at).label("first_order"),
            func.max(orders.c.ordered_at).label("last_order"),
            func.count().filter(recent).label("orders_6m"),
            func.count().filter(before).label("orders_prev_6m"),
            sql_cast(func.coalesce(func.sum(amount).filter(recent), 0), Float).label("spend_6m"),
            sql_cast(func.coalesce(func.sum(amount).filter(before), 0), Float).label(
                "spend_prev_6m"
            ),
        )
        .where(orders.c.ordered_at <= cutoff, orders.c.customer_id.in_(f.customers(ctx)))
        .group_by(orders.c.customer_id)
        .subquery("churn_orders")
    )
    end, since = _midnight(cutoff + timedelta(days=1)), _midnight(year + timedelta(days=1))
    per_ticket = (
        select(
            tickets.c.customer_id,
            func.count().label("tickets_12m"),
            func.count().filter(tickets.c.type == "complaint").label("complaints_12m"),
        )
        .where(tickets.c.opened_at >= since, tickets.c.opened_at < end)
        .group_by(tickets.c.customer_id)
        .subquery("churn_tickets")
    )
    per_touch = (
        select(
            touches.c.customer_id,
            func.count().label("follow_ups"),
            func.count().filter(touches.c.occurred_at >= since).label("follow_ups_12m"),
            func.max(touches.c.occurred_at).label("last_follow_up"),
        )
        .where(touches.c.occurred_at < end)
        .group_by(touches.c.customer_id)
        .subquery("churn_touches")
    )
    o = per_order.c
    spend_year = o.spend_6m + o.spend_prev_6m
    columns: list[Any] = [
        Customer.id,
        Customer.code,
        calendar_days(o.last_order, cutoff).label("recency_days"),
        o.frequency,
        o.monetary,
        (o.monetary / o.frequency).label("aov"),
        o.orders_6m,
        o.orders_prev_6m,
        o.spend_6m,
        o.spend_prev_6m,
        func.coalesce((o.spend_6m - o.spend_prev_6m) / func.nullif(spend_year, 0), 0).label(
            "monetary_trend"
        ),
        calendar_days(o.first_order, cutoff).label("tenure_days"),
        func.coalesce(per_ticket.c.tickets_12m, 0).label("tickets_12m"),
        func.coalesce(per_ticket.c.complaints_12m, 0).label("complaints_12m"),
        func.coalesce(per_touch.c.follow_ups_12m, 0).label("follow_ups_12m"),
        calendar_days(func.coalesce(per_touch.c.last_follow_up, Customer.created_at), cutoff).label(
            "days_since_contact"
        ),
        (
            sql_cast(calendar_days(Customer.created_at, cutoff), Float)
            / (func.coalesce(per_touch.c.follow_ups, 0) + 1)
        ).label("followup_gap_days"),
        case((Customer.kind == "company", 1), else_=0).label("is_company"),
    ]
    if horizon is not None:
        later = select(orders.c.customer_id).where(
            orders.c.ordered_at > cutoff, orders.c.ordered_at <= cutoff + timedelta(days=horizon)
        )
        columns.append(case((Customer.id.in_(later), 0), else_=1).label("churned"))
    return (
        select(*columns)
        .join(per_order, per_order.c.customer_id == Customer.id)
        .outerjoin(per_ticket, per_ticket.c.customer_id == Customer.id)
        .outerjoin(per_touch, per_touch.c.customer_id == Customer.id)
        .order_by(Customer.id)
    )


def matrix(frame: pd.DataFrame) -> np.ndarray[Any, np.dtype[np.float64]]:
    """The model's inputs: counts, amounts and days log1p-transformed (never below 0:
    a customer created after an imported order would otherwise count negative days)."""
    columns = []
    for name in FEATURES:
        values = pd.to_numeric(frame[name]).astype(float).fillna(0.0).to_numpy()
        columns.append(values if name in UNLOGGED else np.log1p(np.maximum(values, 0.0)))
    return np.column_stack(columns) if columns else np.empty((len(frame), 0))
