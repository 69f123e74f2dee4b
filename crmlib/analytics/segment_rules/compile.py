"""Segment rules as SQL: the per-customer figures rules speak of, and the WHERE clause of a
parsed rule, in SQLAlchemy Core so the same rule runs on SQLite and PostgreSQL.

The fields mean, as of the evaluation day:

- ``orders``, ``revenue``: number and total of all orders up to that day (0 without orders);
- ``spend_12m``: total of the orders of the twelve months before (what grades count);
- ``aov``: revenue / orders (no value without orders, so ``aov < 1000`` skips non-buyers);
- ``days_since_contact``: whole days since the last follow-up, or since the customer was
  created if nobody has followed up yet, so "no contact in 90 days" includes the never
  contacted;
- ``days_since_order``: whole days since the last order (no value without orders);
- ``age_days``: whole days since the customer was created;
- ``owner``, ``team``: the owner's username and team; ``tag``: the customer has that tag
  (``tag != "x"``: has no such tag); ``industry``: a section letter matches the whole
  section, a division code (``"C39"``) the division;
- the others are the customer's own columns.

``!=`` and ``not in`` include customers without a value (a customer with no size is
"not small"); other comparisons with no value are false, and ``not`` of a false
comparison is true (``not grade == "A"`` includes customers without a grade).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Select,
    Subquery,
    Table,
    and_,
    exists,
    false,
    func,
    not_,
    or_,
    select,
)
from sqlalchemy.orm import aliased

from ... import clock
from ...access import Scope
from ...store.models import Customer, CustomerTag, CustomField, CustomValue, Order, User
from .language import Comparison, Junction, Node, Not, Value

#: The stored columns that days fields count from.
DAY_SOURCES = {
    "days_since_contact": "last_touch",
    "days_since_order": "last_order",
    "age_days": "created_at",
}


def customer_figures(scope: Scope, as_of: date) -> Subquery:
    """One row per visible, unmerged customer with everything a rule may ask about."""
    orders = cast(Table, Order.__table__)
    year_ago = clock.add_months(as_of, -12)
    per_customer = (
        select(
            orders.c.customer_id,
            func.count().label("orders"),
            func.sum(orders.c.amount).label("revenue"),
            func.sum(orders.c.amount).filter(orders.c.ordered_at >= year_ago).label("spend_12m"),
            func.max(orders.c.ordered_at).label("last_order"),
        )
        .where(orders.c.ordered_at <= as_of)
        .group_by(orders.c.customer_id)
        .subquery("order_figures")
    )
    owner = aliased(User, name="owner_user")
    revenue = func.coalesce(per_customer.c.revenue, 0)
    count = func.coalesce(per_customer.c.orders, 0)
    return (
        select(
            Customer.id,
            Customer.code,
            Customer.name,
            Customer.kind,
            Customer.status,
            Customer.grade,
            Customer.region,
            Customer.province,
            Customer.city,
            Customer.industry_section,
            Customer.industry_division,
            Customer.size,
            Customer.source,
            owner.username.label("owner"),
            owner.team.label("team"),
            Customer.created_at,
            Customer.last_contact_at,
            func.coalesce(Customer.last_contact_at, Customer.created_at).label("last_touch"),
            count.label("orders"),
            revenue.label("revenue"),
            func.coalesce(per_customer.c.spend_12m, 0).label("spend_12m"),
            (revenue / func.nullif(count, 0)).label("aov"),
            per_customer.c.last_order,
        )
        .outerjoin(per_customer, per_customer.c.customer_id == Customer.id)
        .outerjoin(owner, owner.id == Customer.owner_id)
        .where(scope.customer_filter(), Customer.merged_into_id.is_(None))
        .subquery("customer_figures")
    )


def condition(node: Node, figures: Subquery, as_of: date) -> ColumnElement[bool]:
    """The WHERE clause of a parsed rule over :func:`customer_figures`."""
    if isinstance(node, Junction):
        parts = [condition(n, figures, as_of) for n in node.operands]
        return and_(*parts) if node.op == "and" else or_(*parts)
    if isinstance(node, Not):
        # Two-valued: a comparison with no value counts as false, so "not" makes it true.
        inner = func.coalesce(condition(node.operand, figures, as_of), false())
        return not_(cast(ColumnElement[bool], inner))
    return _comparison(node, figures, as_of)


def _comparison(node: Comparison, figures: Subquery, as_of: date) -> ColumnElement[bool]:
    name = node.field.name
    if name == "tag":
        return _tag(node, figures)
    if name == "industry":
        matched = or_(*(_industry(figures, str(v)) for v in node.values))
        if node.op in ("!=", "not in"):
            return or_(not_(matched), figures.c.industry_section.is_(None))
        return matched
    if node.field.kind == "custom":
        return _custom(node, figures)
    if node.field.kind == "days":
        source = DAY_SOURCES[name]
        return _days(node, figures.c[source], source == "last_order", as_of)
    column = figures.c[name]
    if node.op in ("in", "not in"):
        test = column.in_([_param(v) for v in node.values])
        return or_(not_(test), column.is_(None)) if node.op == "not in" else test
    return _compare(column, node.op, _param(node.values[0]))


def _compare(column: Any, op: str, value: Any) -> ColumnElement[bool]:
    if op == "!=":
        return or_(column != value, column.is_(None))
    return cast(
        ColumnElement[bool],
        {
            "==": column == value,
            ">": column > value,
            ">=": column >= value,
            "<": column < value,
            "<=": column <= value,
        }[op],
    )


def _industry(figures: Subquery, code: str) -> ColumnElement[bool]:
    if len(code) == 1:
        return cast(ColumnElement[bool], figures.c.industry_section == code)
    return cast(ColumnElement[bool], figures.c.industry_division == code)


def _custom(node: Comparison, figures: Subquery) -> ColumnElement[bool]:
    """A custom field's stored value: its number when every value of the comparison is a
    number, else its text (ISO days for dates, so ``>`` compares days)."""
    numeric = all(isinstance(v, Decimal) for v in node.values)
    stored = CustomValue.number_value if numeric else CustomValue.text_value
    column = (
        select(stored)
        .join(CustomField, CustomField.id == CustomValue.field_id)
        .where(
            CustomField.kind == "customers",
            CustomField.key == node.field.name.removeprefix("custom."),
            CustomValue.record_id == figures.c.id,
        )
        .scalar_subquery()
    )
    values = [_param(v) if numeric else str(v) for v in node.values]
    if node.op in ("in", "not in"):
        test = column.in_(values)
        return or_(not_(test), column.is_(None)) if node.op == "not in" else test
    return _compare(column, node.op, values[0])


def _tag(node: Comparison, figures: Subquery) -> ColumnElement[bool]:
    tagged = exists().where(
        CustomerTag.customer_id == figures.c.id,
        CustomerTag.tag.in_([str(v) for v in node.values]),
    )
    return not_(tagged) if node.op in ("!=", "not in") else tagged


def _days(node: Comparison, column: Any, is_date: bool, as_of: date) -> ColumnElement[bool]:
    """``days_since_x OP n`` as a comparison of the stored value with the day n days ago.

    Whole days ago is ``as_of - date(value)``. Comparing values with that day (or, for
    timestamps, with the midnights around it) rather than computing differences keeps the
    query index-friendly and identical on both databases.
    """

    def one(n: int) -> ColumnElement[bool]:
        day = as_of - timedelta(days=n)
        if is_date:  # a date column: compare with the day itself
            tests = {
                ">": column < day,
                ">=": column <= day,
                "<": column > day,
                "<=": column >= day,
                "==": column == day,
                "!=": column != day,
            }
        else:  # a timestamp: compare with the midnights that start the day and the next
            start = datetime.combine(day, datetime.min.time())
            after = start + timedelta(days=1)
            tests = {
                ">": column < start,
                ">=": column < after,
                "<": column >= after,
                "<=": column >= start,
                "==": and_(column >= start, column < after),
                "!=": or_(column < start, column >= after),
            }
        return cast(ColumnElement[bool], tests[node.op if node.op in tests else "=="])

    days = [int(v) for v in node.values]
    if node.op in ("in", "not in"):
        matched = or_(*(one(n) for n in days))
        return not_(matched) if node.op == "not in" else matched
    return one(days[0])


def _param(value: Value) -> Any:
    return float(value) if isinstance(value, Decimal) else value


def members_query(node: Node, scope: Scope, as_of: date) -> Select[Any]:
    """The figures of every customer the rule selects, by code."""
    figures = customer_figures(scope, as_of)
    return select(figures).where(condition(node, figures, as_of)).order_by(figures.c.code)
