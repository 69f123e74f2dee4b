"""The data KPI: completeness, exactly the data-quality scorecard's completeness dimension
(the completeness rule, :func:`crmlib.rules.records.completeness_checks`), over the
customers counted."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Connection, and_, case, distinct, func, select

from ...rules.records import PRIMARY, CompletenessCheck, completeness_checks
from ...store.models import Contact, Customer
from .definition import STOCK, kpi
from .query import Query


def _filled(column: Any) -> Any:
    return and_(column.is_not(None), column != "")


def _on_customers(
    q: Query, conn: Connection, checks: list[CompletenessCheck]
) -> tuple[pd.DataFrame, list[str]]:
    """One pass over the customers, per group: how many customers each check applies to
    and how many of them fail the checks of the customer's own fields. Also, per check,
    the column counting the customers it applies to."""
    # Most checks apply to every customer: count each distinct "applies" once.
    wholes: dict[str, Any] = {}
    total_of: list[str] = []
    counts = []
    for n, check in enumerate(checks):
        key = str(check.applies.compile(compile_kwargs={"literal_binds": True}))
        if key not in wholes:
            wholes[key] = func.count().filter(check.applies).label(f"total_{len(wholes)}")
            counts.append(wholes[key])
        total_of.append(wholes[key].name)
        if check.on_primary is None:
            failed = func.count().filter(and_(check.applies, check.fails))
            counts.append(failed.label(f"failed_{n}"))
    stmt = select(*counts).select_from(Customer).where(q.counted())
    return q.rows(conn, q.grouped(stmt, Customer.id)), total_of


def _on_primary_contacts(q: Query, conn: Connection, columns: dict[int, Any]) -> pd.DataFrame:
    """Per group, how many customers have each field (``filled_<n>``) on a primary contact.

    A customer has one primary contact as a rule, and then plain counts over the primary
    contacts are the answer: one pass, no grouping by customer. Only when some customer
    has several does a field count once per customer, through a grouping per customer.
    """
    mine = (PRIMARY, q.of_customers(Contact.customer_id))
    flat = select(
        func.count().label("primaries"),
        func.count(distinct(Contact.customer_id)).label("holders"),
        *(func.count().filter(_filled(c)).label(f"filled_{n}") for n, c in columns.items()),
    ).where(*mine)
    rows = q.rows(conn, q.grouped(flat, Contact.customer_id))
    if (rows["primaries"] == rows["holders"]).all():
        return rows.drop(columns=["primaries", "holders"])
    per = (
        select(
            Contact.customer_id,
            *(
                func.max(case((_filled(c), 1), else_=0)).label(f"has_{n}")
                for n, c in columns.items()
            ),
        )
        .where(*mine)
        .group_by(Contact.customer_id)
        .subquery("primary_contacts")
    )
    stmt = select(
        *(func.count().filter(per.c[f"has_{n}"] == 1).label(f"filled_{n}") for n in columns)
    ).select_from(per)
    return q.rows(conn, q.grouped(stmt, per.c.customer_id))


@kpi(
    "completeness",
    "data",
    "share",
    by=STOCK,
    cost=1.0,
)
def completeness(q: Query, conn: Connection) -> pd.DataFrame:
    """The mean over fields of the share of customers (those the field applies to) that
    have it filled in; a field that applies to nobody counts for nothing.

    The fields kept on the primary contact apply to every customer (as in the scorecard):
    their failures are the customers less those with the field on a primary contact,
    counted in a pass over the contacts rather than by a look-up per customer and field.
    """
    checks = completeness_checks()
    on_contact = {n: c.on_primary for n, c in enumerate(checks) if c.on_primary is not None}
    rows, total_of = _on_customers(q, conn, checks)
    keys = [q.by] if q.by else []
    if not len(rows):
        return pd.DataFrame(columns=[*keys, "value"])
    contacts = _on_primary_contacts(q, conn, on_contact)
    if keys:
        rows = rows.merge(contacts, on=keys, how="left")
    else:
        rows = rows.assign(**{c: contacts[c].iloc[0] for c in contacts.columns})
    for n in on_contact:
        rows[f"failed_{n}"] = rows[total_of[n]] - rows[f"filled_{n}"].fillna(0)
    scores = pd.DataFrame(
        {
            n: (rows[total_of[n]] - rows[f"failed_{n}"])
            / rows[total_of[n]].where(rows[total_of[n]] > 0)
            for n in range(len(checks))
        }
    )
    frame = rows[keys].assign(value=scores.mean(axis=1, skipna=True))
    if keys:
        frame = frame.sort_values(keys, na_position="last", ignore_index=True)
    return frame.reset_index(drop=True)
