"""The customer profile (客户画像): who the customers are, what they buy and how we reach them.

Customers counted are those :meth:`Filters.customers` allows (the user's scope, unmerged,
region/team/owner/segment) that exist at the end of the period (created before it ends).
Orders and follow-ups count when they fall in the period. Every figure is one SQL
aggregation; pandas only adds shares and labels to the small results.

- ``regions``, ``provinces``: customers per sales region and per province;
- ``industries``: the five GB/T 4754 sections with most customers (ties: by code);
- ``sizes``: company customers per size (small/medium/large; persons have no size);
- ``value``: ``orders``, ``revenue``, ``buyers`` (customers with an order),
  ``aov`` = revenue / orders (客单价), ``repeat_buyers`` (customers with two or more
  orders) and ``repurchase_rate`` = repeat_buyers / buyers (复购率);
- ``preferences``: product preference per customer group: for each group (by default the
  grade A/B/C; also industry section, size, region or kind) and order category, the
  orders, the amount and ``share`` = the category's part of the group's amount;
- ``engagement``: ``follow_ups`` in the period, ``contacted`` customers,
  ``avg_follow_ups`` = follow_ups / customers, and ``last_interaction`` (the latest);
- ``recency``: customers by whole days from their last follow-up (any time up to the
  as-of day) to the as-of day: 0-30, 31-90, 91-180, 181-365, over 365, never;
- ``channels``: follow-ups in the period per channel, with shares (channel preference).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Float, Select, case, cast, distinct, func, literal, select

from ..context import Context
from ..errors import FieldError, ValidationError
from ..i18n import t
from ..store.models import Customer, Interaction, Order
from .filters import Filters
from .labels import GROUP_COLUMNS, value_label

TOP_INDUSTRIES = 5

#: Recency buckets: (label key, fewest days, most days); the last is open-ended.
RECENCY = (
    ("days_0_30", 0, 30),
    ("days_31_90", 31, 90),
    ("days_91_180", 91, 180),
    ("days_181_365", 181, 365),
    ("days_over_365", 366, None),
)

_GROUP_COLUMN = {
    "grade": Customer.grade,
    "industry": Customer.industry_section,
    "size": Customer.size,
    "region": Customer.region,
    "kind": Customer.kind,
}


@dataclass(frozen=True)
class Profile:
    """The profile's tables, each a tidy DataFrame."""

    regions: pd.DataFrame
    provinces: pd.DataFrame
    industries: pd.DataFrame
    sizes: pd.DataFrame
    value: pd.DataFrame
    preferences: pd.DataFrame
    engagement: pd.DataFrame
    recency: pd.DataFrame
    channels: pd.DataFrame

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table by name (for an Excel workbook of a report, one sheet each)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def customer_profile(ctx: Context, *, by: str = "grade", **filters: Any) -> Profile:
    """The profile of the customers the filters select; ``by`` names the customer group
    of the product preference (grade, industry, size, region or kind)."""
    if by not in GROUP_COLUMNS:
        choices = ", ".join(GROUP_COLUMNS)
        raise ValidationError(
            FieldError("by", by, "profile_group", t("profile:bad_group", choices=choices))
        )
    f = Filters.of(**filters)
    base = f.customers(ctx)
    if f.end is not None:
        base = base.where(Customer.created_at < _midnight(f.end))
    lang = ctx.lang
    with ctx.reading() as conn:

        def read(stmt: Select[*tuple[Any, ...]]) -> pd.DataFrame:
            return pd.read_sql(stmt, conn)

        total = int(conn.execute(select(func.count()).select_from(base.subquery())).scalar_one())
        counted = func.count().label("customers")
        in_base = Customer.id.in_(base)
        regions = read(select(Customer.region, counted).where(in_base).group_by(Customer.region))
        provinces = read(
            select(Customer.region, Customer.province, counted)
            .where(in_base)
            .group_by(Customer.region, Customer.province)
        )
        industries = read(
            select(Customer.industry_section.label("industry"), counted)
            .where(in_base, Customer.industry_section.is_not(None))
            .group_by(Customer.industry_section)
            .order_by(func.count().desc(), Customer.industry_section)
            .limit(TOP_INDUSTRIES)
        )
        sizes = read(
            select(Customer.size, counted)
            .where(in_base, Customer.kind == "company")
            .group_by(Customer.size)
        )
        value = read(_value(base, f))
        preferences = read(_preferences(base, f, _GROUP_COLUMN[by]))
        engagement = read(_engagement(base, f))
        recency = read(_recency(base, f.day))
        channels = read(
            select(Interaction.channel, func.count().label("follow_ups"))
            .where(Interaction.customer_id.in_(base), f.within(Interaction.occurred_at))
            .group_by(Interaction.channel)
        )

    engagement.insert(0, "customers", total)
    engagement["avg_follow_ups"] = engagement["follow_ups"] / total if total else float("nan")
    return Profile(
        regions=_shared(_labelled(regions, "region", lang), "customers", total),
        provinces=_shared(_labelled(provinces, "province", lang), "customers", total),
        industries=_shared(_labelled(industries, "industry", lang), "customers", total),
        sizes=_shared(_labelled(sizes, "size", lang), "customers"),
        value=value,
        preferences=_group_shares(_labelled(preferences, "group", lang, by), by),
        engagement=engagement,
        recency=_recency_frame(recency, total, lang),
        channels=_shared(_labelled(channels, "channel", lang), "follow_ups"),
    )


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time())


def _value(base: Select[Any], f: Filters) -> Select[*tuple[Any, ...]]:
    per_customer = (
        select(
            Order.customer_id,
            func.count().label("orders"),
            func.sum(cast(Order.amount, Float)).label("amount"),
        )
        .where(Order.customer_id.in_(base), f.within(Order.ordered_at))
        .group_by(Order.customer_id)
        .subquery()
    )
    orders = func.coalesce(func.sum(per_customer.c.orders), 0)
    revenue = func.coalesce(func.sum(per_customer.c.amount), 0.0)
    buyers = func.count()
    repeat = func.coalesce(func.sum(case((per_customer.c.orders >= 2, 1), else_=0)), 0)
    return select(
        orders.label("orders"),
        revenue.label("revenue"),
        buyers.label("buyers"),
        (revenue / func.nullif(cast(orders, Float), 0.0)).label("aov"),
        repeat.label("repeat_buyers"),
        (cast(repeat, Float) / func.nullif(cast(buyers, Float), 0.0)).label("repurchase_rate"),
    ).select_from(per_customer)


def _preferences(base: Select[Any], f: Filters, group: Any) -> Select[*tuple[Any, ...]]:
    return (
        select(
            group.label("group"),
            Order.category,
            func.count().label("orders"),
            func.sum(cast(Order.amount, Float)).label("amount"),
        )
        .join(Customer, Customer.id == Order.customer_id)
        .where(Order.customer_id.in_(base), f.within(Order.ordered_at))
        .group_by(group, Order.category)
    )


def _engagement(base: Select[Any], f: Filters) -> Select[*tuple[Any, ...]]:
    return select(
        func.count().label("follow_ups"),
        func.count(distinct(Interaction.customer_id)).label("contacted"),
        func.max(Interaction.occurred_at).label("last_interaction"),
    ).where(Interaction.customer_id.in_(base), f.within(Interaction.occurred_at))


def _recency(base: Select[Any], day: date) -> Select[*tuple[Any, ...]]:
    """Customers per bucket of whole days since their last follow-up up to ``day``.

    Whole days are ``day - date(last)``; "at most n days" is "on or after midnight of the
    day n days before", a comparison of stored values that runs alike on both databases.
    """
    last = (
        select(Interaction.customer_id, func.max(Interaction.occurred_at).label("at"))
        .where(Interaction.occurred_at < _midnight(day + timedelta(days=1)))
        .group_by(Interaction.customer_id)
        .subquery()
    )
    whens: list[tuple[Any, Any]] = [(last.c.at.is_(None), literal("never"))]
    whens += [
        (last.c.at >= _midnight(day - timedelta(days=most)), literal(key))
        for key, _, most in RECENCY
        if most is not None
    ]
    bucket = case(*whens, else_=literal(RECENCY[-1][0])).label("bucket")
    return (
        select(bucket, func.count().label("customers"))
        .select_from(Customer)
        .outerjoin(last, last.c.customer_id == Customer.id)
        .where(Customer.id.in_(base))
        .group_by(bucket)
    )


def _labelled(frame: pd.DataFrame, column: str, lang: str, kind: str | None = None) -> pd.DataFrame:
    """``frame`` with a ``label`` column after ``column`` (values in words)."""
    kind = kind or column
    frame.insert(
        list(frame.columns).index(column) + 1,
        "label",
        [value_label(kind, v, lang) for v in frame[column]],
    )
    return frame


def _shared(frame: pd.DataFrame, count: str, total: int | None = None) -> pd.DataFrame:
    """Sorted by ``count`` (largest first), with ``share`` of ``total`` (default: the sum)."""
    whole = frame[count].sum() if total is None else total
    frame = frame.sort_values([count, frame.columns[0]], ascending=[False, True], kind="stable")
    frame["share"] = frame[count] / whole if whole else float("nan")
    return frame.reset_index(drop=True)


def _group_shares(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    frame = frame.sort_values(["group", "amount"], ascending=[True, False], na_position="last")
    frame["share"] = frame["amount"] / frame.groupby("group", dropna=False)["amount"].transform(
        "sum"
    )
    frame.attrs["group_by"] = by
    return frame.reset_index(drop=True)


def _recency_frame(frame: pd.DataFrame, total: int, lang: str) -> pd.DataFrame:
    """All buckets in order, empty ones with 0."""
    keys = [key for key, _, _ in RECENCY] + ["never"]
    counts = dict(zip(frame["bucket"], frame["customers"], strict=True))
    return pd.DataFrame(
        {
            "bucket": keys,
            "label": [t(f"figures:{k}", lang) for k in keys],
            "customers": [int(counts.get(k, 0)) for k in keys],
            "share": [counts.get(k, 0) / total if total else float("nan") for k in keys],
        }
    )
