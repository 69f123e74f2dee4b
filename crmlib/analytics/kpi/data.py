"""The data KPI: completeness, exactly the data-quality scorecard's completeness dimension
(:func:`crmlib.quality.scorecard.completeness_checks`), over the customers counted."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Connection, and_, case, func, select

from ...quality.scorecard import PRIMARY, completeness_checks
from ...store.models import Contact, Customer
from .query import Query


def completeness(q: Query, conn: Connection) -> pd.DataFrame:
    """The mean over fields of the share of customers (those the field applies to) that
    have it filled in; a field that applies to nobody counts for nothing.

    The fields kept on the primary contact are read in one pass over the contacts, joined
    to the customers, rather than by a look-up per customer and field.
    """
    checks = completeness_checks()
    on_contact = {n: c.on_primary for n, c in enumerate(checks) if c.on_primary is not None}
    contacts = (
        select(
            Contact.customer_id,
            *(
                func.max(case((and_(column.is_not(None), column != ""), 1), else_=0)).label(
                    f"has_{n}"
                )
                for n, column in on_contact.items()
            ),
        )
        .where(PRIMARY)
        .group_by(Contact.customer_id)
        .subquery("primary_contacts")
    )
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
        fails = func.coalesce(contacts.c[f"has_{n}"], 0) == 0 if n in on_contact else check.fails
        counts.append(func.count().filter(and_(check.applies, fails)).label(f"failed_{n}"))
    stmt = (
        select(*counts)
        .select_from(Customer)
        .outerjoin(contacts, contacts.c.customer_id == Customer.id)
        .where(q.counted())
    )
    stmt = q.grouped(stmt, Customer.id)
    rows = pd.DataFrame(conn.execute(stmt).mappings().all())
    keys = [q.by] if q.by else []
    scores = pd.DataFrame(
        {
            n: (rows[total_of[n]] - rows[f"failed_{n}"])
            / rows[total_of[n]].where(rows[total_of[n]] > 0)
            for n in range(len(checks))
        }
    )
    frame = (
        rows[keys].assign(value=scores.mean(axis=1, skipna=True))
        if len(rows)
        else (pd.DataFrame(columns=[*keys, "value"]))
    )
    if keys:
        frame = frame.sort_values(keys, na_position="last", ignore_index=True)
    return frame.reset_index(drop=True)
