"""RFM: recency, frequency and monetary value per customer, quintile scores and named
segments, computed in the database.

Figures, as of the filters' day (``Filters.day``) over the orders up to and including it
(and, when a period is given, only the orders inside the period):

- ``recency_days``: whole days from the last order to the day;
- ``frequency``: number of orders; ``monetary``: their total amount (CNY).

Scores 1-5 are quintiles within the customers asked for (a rep's scores rank the rep's own
customers; region, team, owner and segment filters narrow the population the same way):
``score = 1 + floor(5 × (rank − 1) / n)``, where ``rank`` is the SQL ``RANK()`` of the
customer's value in ascending order (the oldest last order for R, the fewest orders for
F, the smallest total for M) and ``n`` the number of customers scored. Equal values
always get the same score, the lowest their position allows, so a very common value
(many one-order customers) fills a low score and may leave the next one empty rather than
splitting equal customers at random; it is ``pandas.Series.rank(method="min")`` in
pandas terms. 5 is best on every axis.

Customers without an order in the window are not scored; the summary counts them in a
last ``no_purchase`` row, so the summary's shares add up to all customers in scope.

Segments: the first rule in :data:`SEGMENTS` that matches names the customer (every
(R, F, M) matches one), after the usual R × F grid, with M separating the very best:

=====================  ================================  ======================
segment                rule                              meaning
=====================  ================================  ======================
champions              R ≥ 4 and F ≥ 4 and M ≥ 4         buy often, much, lately
loyal                  R ≥ 3 and F ≥ 4                   regular buyers
cannot_lose            R ≤ 2 and F ≥ 4 and M ≥ 4         were the best, gone quiet
at_risk                R ≤ 2 and F ≥ 3                   were regular, gone quiet
new                    R ≥ 4 and F = 1                   first order lately
potential_loyalists    R ≥ 4 and F ≤ 3                   recent, a few orders
need_attention         R = 3 and F ≤ 3                   middling on both
hibernating            R = 2 and F ≤ 2                   few orders, long ago
lost                   R = 1 and F ≤ 2                   few orders, longest ago
=====================  ================================  ======================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import pandas as pd
from sqlalchemy import ColumnElement, Subquery, Table, and_, case, func, select

from ..context import Context
from ..i18n import t
from ..store.models import Customer, Order, User
from .days import calendar_days
from .filters import Filters

Test = Callable[[Any, Any, Any], ColumnElement[bool]]


@dataclass(frozen=True)
class RfmSegment:
    name: str
    rule: str
    test: Test


SEGMENTS: tuple[RfmSegment, ...] = (
    RfmSegment(
        "champions", "R >= 4 and F >= 4 and M >= 4", lambda r, f, m: and_(r >= 4, f >= 4, m >= 4)
    ),
    RfmSegment("loyal", "R >= 3 and F >= 4", lambda r, f, m: and_(r >= 3, f >= 4)),
    RfmSegment(
        "cannot_lose", "R <= 2 and F >= 4 and M >= 4", lambda r, f, m: and_(r <= 2, f >= 4, m >= 4)
    ),
    RfmSegment("at_risk", "R <= 2 and F >= 3", lambda r, f, m: and_(r <= 2, f >= 3)),
    RfmSegment("new", "R >= 4 and F = 1", lambda r, f, m: and_(r >= 4, f == 1)),
    RfmSegment("potential_loyalists", "R >= 4 and F <= 3", lambda r, f, m: and_(r >= 4, f <= 3)),
    RfmSegment("need_attention", "R = 3 and F <= 3", lambda r, f, m: and_(r == 3, f <= 3)),
    RfmSegment("hibernating", "R = 2 and F <= 2", lambda r, f, m: and_(r == 2, f <= 2)),
    RfmSegment("lost", "R = 1 and F <= 2", lambda r, f, m: and_(r == 1, f <= 2)),
)
#: The summary's row for customers in scope without an order in the window.
NO_PURCHASE = "no_purchase"
SEGMENT_NAMES = tuple(s.name for s in SEGMENTS)
#: Columns of :func:`rfm`, in this order.
COLUMNS = (
    "code",
    "name",
    "owner",
    "last_order",
    "recency_days",
    "frequency",
    "monetary",
    "r",
    "f",
    "m",
    "rfm",
    "segment",
    "label",
)
SUMMARY_COLUMNS = (
    "segment",
    "label",
    "customers",
    "share",
    "recency_days",
    "frequency",
    "monetary",
)
QUINTILES = 5


def label(segment: str, lang: str | None = None) -> str:
    """A segment's name in ``lang`` (zh or en)."""
    return t(f"rfm:{segment}", lang)


def _score(order_by: Any, n: Any) -> Any:
    """Quintile 1-5 by ascending ``order_by``; ties share the lowest (see the module doc)."""
    return 1 + (QUINTILES * (func.rank().over(order_by=order_by) - 1)) // n


def scored(ctx: Context, f: Filters) -> Subquery:
    """Per scored customer: id, last order, recency, frequency, monetary, R, F, M, segment."""
    day = f.day
    orders = cast(Table, Order.__table__)
    per_customer = (
        select(
            orders.c.customer_id,
            func.count().label("frequency"),
            func.sum(orders.c.amount).label("monetary"),
            func.max(orders.c.ordered_at).label("last_order"),
        )
        .where(
            orders.c.ordered_at <= day,
            f.within(orders.c.ordered_at),
            orders.c.customer_id.in_(f.customers(ctx)),
        )
        .group_by(orders.c.customer_id)
        .subquery("rfm_orders")
    )
    n = func.count().over()
    ranked = select(
        per_customer,
        calendar_days(per_customer.c.last_order, day).label("recency_days"),
        _score(per_customer.c.last_order, n).label("r"),
        _score(per_customer.c.frequency, n).label("f"),
        _score(per_customer.c.monetary, n).label("m"),
    ).subquery("rfm_ranked")
    r, fr, m = ranked.c.r, ranked.c.f, ranked.c.m
    segment = case(*((s.test(r, fr, m), s.name) for s in SEGMENTS[:-1]), else_=SEGMENTS[-1].name)
    return select(ranked, segment.label("segment")).subquery("rfm")


def rfm(ctx: Context, **filters: Any) -> pd.DataFrame:
    """One row per customer with orders in the window: figures, scores, segment (see the
    module doc), ordered by customer code."""
    s = scored(ctx, Filters.of(**filters))
    stmt = (
        select(
            Customer.code,
            Customer.name,
            User.username.label("owner"),
            s.c.last_order,
            s.c.recency_days,
            s.c.frequency,
            s.c.monetary,
            s.c.r,
            s.c.f,
            s.c.m,
            s.c.segment,
        )
        .join(Customer, Customer.id == s.c.customer_id)
        .outerjoin(User, User.id == Customer.owner_id)
        .order_by(Customer.code)
    )
    frame = ctx.frame(stmt)
    frame["last_order"] = pd.to_datetime(frame["last_order"]).dt.date
    frame["monetary"] = pd.to_numeric(frame["monetary"]).astype(float)
    for column in ("recency_days", "frequency", "r", "f", "m"):
        frame[column] = frame[column].astype("int64")
    frame["rfm"] = frame["r"].astype(str) + frame["f"].astype(str) + frame["m"].astype(str)
    frame["label"] = [label(name, ctx.lang) for name in frame["segment"]]
    return frame[list(COLUMNS)]


def rfm_summary(ctx: Context, **filters: Any) -> pd.DataFrame:
    """Per segment (all of them, in :data:`SEGMENTS` order, then ``no_purchase``): customers,
    share of all customers in scope, and average recency, frequency and monetary value."""
    f = Filters.of(**filters)
    s = scored(ctx, f)
    stmt = select(
        s.c.segment,
        func.count().label("customers"),
        func.avg(s.c.recency_days).label("recency_days"),
        func.avg(s.c.frequency).label("frequency"),
        func.avg(s.c.monetary).label("monetary"),
    ).group_by(s.c.segment)
    population = f.customers(ctx).subquery()
    with ctx.reading() as conn:
        groups = pd.read_sql(stmt, conn)
        total = int(conn.execute(select(func.count()).select_from(population)).scalar_one())
    groups = groups.set_index("segment").reindex(list(SEGMENT_NAMES))
    groups["customers"] = groups["customers"].fillna(0).astype("int64")
    groups.loc[NO_PURCHASE, "customers"] = total - int(groups["customers"].sum())
    frame = groups.rename_axis("segment").reset_index()
    for column in ("recency_days", "frequency", "monetary"):
        frame[column] = pd.to_numeric(frame[column]).astype(float)
    frame["customers"] = frame["customers"].astype("int64")
    frame["share"] = frame["customers"] / total if total else 0.0
    frame["label"] = [label(name, ctx.lang) for name in frame["segment"]]
    return frame[list(SUMMARY_COLUMNS)]
