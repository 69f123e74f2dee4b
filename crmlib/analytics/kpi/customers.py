"""Customer KPIs: new and active customers, 12-month retention, churn and monthly cohorts.

"Served" means "had an order": a customer is active on a day when they ordered in the 12
months up to and including it. Orders are dates, so windows are whole days.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Float, Integer, Select, cast, extract, func, select

from ... import clock
from ...store.models import Customer, Order
from ..days import month_of
from .definition import FLOW, STOCK, kpi
from .query import Query, months_back


@kpi(
    "new_customers",
    "customers",
    "count",
    by=FLOW,
    cost=0.04,
)
def new_customers(q: Query, conn: Connection) -> pd.DataFrame:
    stmt = select(func.count().label("value")).select_from(Customer)
    stmt = stmt.where(q.counted(), q.filters.within(Customer.created_at))
    return q.frame(conn, q.grouped(stmt, Customer.id, Customer.created_at))


def served(q: Query, conn: Connection) -> pd.DataFrame:
    """One pass over the orders up to the as-of day, per customer then per group: how many
    customers were served in each window the stock KPIs compare, and what they spent.

    Columns: ``active`` (an order in the 12 months up to the as-of day), ``kept`` and
    ``before`` (retention: served in both 12-month windows / in the earlier one), ``lost``
    and ``was`` (churn: active at the period's opening but not at its end / active at its
    opening), ``buyers`` and ``spend`` (historic CLV: every order so far).
    """

    def compute() -> pd.DataFrame:
        f, day = q.filters, q.day
        year_ago = clock.add_months(day, -12)
        opening = f.start - timedelta(days=1) if f.start else year_ago
        ordered = Order.ordered_at
        # Orders in each window per customer: a filtered count costs SQLite a comparison
        # on the rows it takes, far less than a max() over an expression on every row.
        per = (
            select(
                Order.customer_id,
                func.count().filter(ordered >= months_back(day, 12)).label("recent"),
                func.count()
                .filter(ordered.between(months_back(day, 24), year_ago))
                .label("earlier"),
                func.count()
                .filter(ordered.between(months_back(opening, 12), opening))
                .label("opening"),
                func.sum(cast(Order.amount, Float)).label("spend"),
            )
            .where(ordered <= day, q.of_customers(Order.customer_id))
            .group_by(Order.customer_id)
            .subquery("served")
        )
        c = per.c
        stmt = select(
            func.count().filter(c.recent > 0).label("active"),
            func.count().filter(c.recent > 0, c.earlier > 0).label("kept"),
            func.count().filter(c.earlier > 0).label("before"),
            func.count().filter(c.opening > 0, c.recent == 0).label("lost"),
            func.count().filter(c.opening > 0).label("was"),
            func.count().label("buyers"),
            func.sum(c.spend).label("spend"),
        ).select_from(per)
        stmt = q.grouped(stmt, c.customer_id)
        frame = q.rows(conn, stmt)
        return frame.astype({"spend": float})

    return q.once("served", compute)


def from_served(q: Query, conn: Connection, part: str, whole: str | None) -> pd.DataFrame:
    """``part`` of the pass over the orders per group, over ``whole`` if given."""
    frame = served(q, conn)
    keys = [q.by] if q.by else []
    numbers = frame[part].astype(float)
    if whole is not None:
        numbers = numbers / frame[whole].where(frame[whole] > 0)
    result = frame[keys].assign(value=numbers)
    if keys:
        result = result.sort_values(keys, na_position="last", ignore_index=True)
    return result


@kpi(
    "active_customers",
    "customers",
    "count",
    by=STOCK,
    cost=0.92,
    shares="served",
)
def active_customers(q: Query, conn: Connection) -> pd.DataFrame:
    return from_served(q, conn, "active", None)


@kpi(
    "retention_12m",
    "customers",
    "share",
    by=STOCK,
    cost=0.92,
    shares="served",
)
def retention_12m(q: Query, conn: Connection) -> pd.DataFrame:
    return from_served(q, conn, "kept", "before")


@kpi(
    "churn_rate",
    "customers",
    "share",
    by=STOCK,
    cost=0.92,
    shares="served",
    lower_is_better=True,
)
def churn_rate(q: Query, conn: Connection) -> pd.DataFrame:
    return from_served(q, conn, "lost", "was")


def _month_number(column: Any) -> Any:
    return extract("year", column) * 12 + extract("month", column)


def cohort_retention(q: Query, conn: Connection) -> pd.DataFrame:
    """Cohorts by month of first order (the period selects cohorts): for each month since,
    how many of the cohort ordered in that month and their share of the cohort."""
    mine = [Order.ordered_at <= q.day, q.of_customers(Order.customer_id)]
    first = (
        select(Order.customer_id, func.min(Order.ordered_at).label("first"))
        .where(*mine)
        .group_by(Order.customer_id)
        .subquery("first_orders")
    )
    months = (
        select(Order.customer_id, _month_number(Order.ordered_at).label("month"))
        .where(*mine)
        .distinct()
        .subquery("order_months")
    )
    since = cast(months.c.month - _month_number(first.c.first), Integer)
    cohort = month_of(first.c.first)
    stmt: Select[*tuple[Any, ...]] = (
        select(cohort.label("cohort"), since.label("months_since"), func.count().label("active"))
        .join_from(months, first, first.c.customer_id == months.c.customer_id)
        .where(q.filters.within(first.c.first))
        .group_by(cohort, since)
        .order_by(cohort, since)
    )
    frame = pd.DataFrame(conn.execute(stmt).all(), columns=["cohort", "months_since", "active"])
    frame["months_since"] = frame["months_since"].astype(int)
    frame["active"] = frame["active"].astype(int)
    sizes = frame[frame["months_since"] == 0].set_index("cohort")["active"]
    frame.insert(2, "customers", frame["cohort"].map(sizes).astype(int))
    frame["share"] = frame["active"] / frame["customers"]
    return frame
