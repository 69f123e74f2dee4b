"""Service KPIs: response and resolution times, SLA compliance, CSAT and NPS.

Times are calendar hours (the SLA clock's business hours are for due times only).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Connection, Float, Select, and_, cast, func, or_, select

from ...store.models import Feedback, Ticket
from ..days import days_between
from .query import Query


def _tickets(q: Query, value: Any, *where: Any) -> Select[*tuple[Any, ...]]:
    stmt = (
        select(value.label("value"))
        .select_from(Ticket)
        .where(q.filters.within(Ticket.opened_at), q.of_customers(Ticket.customer_id), *where)
    )
    return q.grouped(stmt, Ticket.customer_id, Ticket.opened_at)


def first_response_hours(q: Query, conn: Connection) -> pd.DataFrame:
    value = func.avg(days_between(Ticket.first_response_at, Ticket.opened_at)) * 24
    return q.frame(conn, _tickets(q, value, Ticket.first_response_at < q.day_end))


def resolution_hours(q: Query, conn: Connection) -> pd.DataFrame:
    value = func.avg(days_between(Ticket.resolved_at, Ticket.opened_at)) * 24
    return q.frame(conn, _tickets(q, value, Ticket.resolved_at < q.day_end))


def sla_compliance(q: Query, conn: Connection) -> pd.DataFrame:
    """Tickets whose outcome is known by the as-of day: resolved, or past their resolution
    due time. Both due times must be met; tickets without due times have no SLA."""
    end = q.day_end
    resolved = Ticket.resolved_at < end
    met = and_(
        Ticket.first_response_at <= Ticket.first_response_due,
        resolved,
        Ticket.resolved_at <= Ticket.resolution_due,
    )
    value = cast(func.count().filter(met), Float) / func.nullif(func.count(), 0)
    known = [
        Ticket.first_response_due.is_not(None),
        Ticket.resolution_due.is_not(None),
        or_(resolved, Ticket.resolution_due < end),
    ]
    return q.frame(conn, _tickets(q, value, *known))


def _answers(q: Query, kind: str, value: Any) -> Select[*tuple[Any, ...]]:
    stmt = (
        select(value.label("value"))
        .select_from(Feedback)
        .where(
            Feedback.kind == kind,
            q.filters.within(Feedback.answered_at),
            q.of_customers(Feedback.customer_id),
        )
    )
    return q.grouped(stmt, Feedback.customer_id, Feedback.answered_at)


def csat(q: Query, conn: Connection) -> pd.DataFrame:
    value = cast(func.count().filter(Feedback.score >= 4), Float) / func.nullif(func.count(), 0)
    return q.frame(conn, _answers(q, "csat", value))


def nps(q: Query, conn: Connection) -> pd.DataFrame:
    promoters = func.count().filter(Feedback.score >= 9)
    detractors = func.count().filter(Feedback.score <= 6)
    value = cast(promoters - detractors, Float) * 100 / func.nullif(func.count(), 0)
    return q.frame(conn, _answers(q, "nps", value))
