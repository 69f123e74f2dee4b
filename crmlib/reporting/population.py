"""How much a report would cover: the count behind the "skip if empty" option.

One cheap count per report kind, with the same filters the report applies, so a scheduled
report for a region or team with nothing in the period is skipped instead of mailed empty.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from ..analytics.filters import Filters
from ..context import Context
from ..store.models import Customer, Ticket


def population(ctx: Context, kind: str, **filters: Any) -> int:
    """Customers (existing by the period's end), leads (created in the period) or tickets
    (opened in the period) the filters select for ``ctx``'s user."""
    f = Filters.of(**filters)
    if kind == "leads":
        ids = f.leads(ctx)
    elif kind == "tickets":
        ids = select(Ticket.id).where(
            Ticket.customer_id.in_(f.customers(ctx)), f.within(Ticket.opened_at)
        )
    elif kind == "customers":
        ids = f.customers(ctx)
        if f.end is not None:
            end = datetime.combine(f.end, datetime.min.time())
            ids = ids.where(Customer.created_at < end)
    else:
        raise ValueError(f"unknown population kind {kind!r}")
    with ctx.reading() as conn:
        return int(conn.execute(select(func.count()).select_from(ids.subquery())).scalar_one())
