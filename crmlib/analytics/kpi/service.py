"""Service KPIs: response and resolution times, SLA compliance, CSAT and NPS.

Times are calendar hours (the SLA clock's business hours are for due times only).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Connection, Float, Select, and_, cast, func, or_, select

from ...store.models import Feedback, Ticket
from ..days import days_between
from .definition import FLOW, kpi
from .query import Query


def _tickets(q: Query, conn: Connection) -> pd.DataFrame:
    """One pass over the period's tickets for the three time figures: the mean first
    response and resolution hours of the tickets answered / resolved by the as-of day and
    the SLA counts, each with the number of tickets it is over (``n_<figure>``).

    SLA: tickets whose outcome is known by the as-of day (resolved, or past their
    resolution due time); both due times must be met; tickets without due times have no
    SLA.
    """

    def compute() -> pd.DataFrame:
        end = q.day_end
        answered = Ticket.first_response_at < end
        resolved = Ticket.resolved_at < end
        met = and_(
            Ticket.first_response_at <= Ticket.first_response_due,
            resolved,
            Ticket.resolved_at <= Ticket.resolution_due,
        )
        known = and_(
            Ticket.first_response_due.is_not(None),
            Ticket.resolution_due.is_not(None),
            or_(resolved, Ticket.resolution_due < end),
        )
        hours = {
            "first_response": (answered, days_between(Ticket.first_response_at, Ticket.opened_at)),
            "resolution": (resolved, days_between(Ticket.resolved_at, Ticket.opened_at)),
        }
        stmt = (
            select(
                *(
                    (func.avg(days).filter(taken) * 24).label(name)
                    for name, (taken, days) in hours.items()
                ),
                *(
                    func.count().filter(taken).label(f"n_{name}")
                    for name, (taken, _) in hours.items()
                ),
                func.count().filter(known, met).label("sla"),
                func.count().filter(known).label("n_sla"),
            )
            .select_from(Ticket)
            .where(q.filters.within(Ticket.opened_at), q.of_customers(Ticket.customer_id))
        )
        stmt = q.grouped(stmt, Ticket.customer_id, Ticket.opened_at)
        return q.rows(conn, stmt)

    return q.once("tickets", compute)


def _from_tickets(q: Query, conn: Connection, figure: str) -> pd.DataFrame:
    """One figure of the tickets pass; grouped, only the groups it has tickets in."""
    frame = _tickets(q, conn)
    keys = [q.by] if q.by else []
    taken = frame[f"n_{figure}"]
    value = frame[figure].astype(float)
    if figure == "sla":
        value = value / taken.where(taken > 0)
    result = frame[keys].assign(value=value)
    if keys:
        result = result[taken > 0].sort_values(keys, na_position="last", ignore_index=True)
    return result


@kpi(
    "first_response_hours",
    "service",
    "hours",
    by=FLOW,
    cost=0.09,
    shares="tickets",
    lower_is_better=True,
)
def first_response_hours(q: Query, conn: Connection) -> pd.DataFrame:
    return _from_tickets(q, conn, "first_response")


@kpi(
    "sla_compliance",
    "service",
    "share",
    by=FLOW,
    cost=0.09,
    shares="tickets",
)
def sla_compliance(q: Query, conn: Connection) -> pd.DataFrame:
    """Tickets whose outcome is known by the as-of day that met both due times."""
    return _from_tickets(q, conn, "sla")


@kpi(
    "resolution_hours",
    "service",
    "hours",
    by=FLOW,
    cost=0.09,
    shares="tickets",
    lower_is_better=True,
)
def resolution_hours(q: Query, conn: Connection) -> pd.DataFrame:
    return _from_tickets(q, conn, "resolution")


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


@kpi(
    "csat",
    "service",
    "share",
    by=FLOW,
    cost=0.03,
)
def csat(q: Query, conn: Connection) -> pd.DataFrame:
    value = cast(func.count().filter(Feedback.score >= 4), Float) / func.nullif(func.count(), 0)
    return q.frame(conn, _answers(q, "csat", value))


@kpi(
    "nps",
    "service",
    "score",
    by=FLOW,
    cost=0.02,
)
def nps(q: Query, conn: Connection) -> pd.DataFrame:
    promoters = func.count().filter(Feedback.score >= 9)
    detractors = func.count().filter(Feedback.score <= 6)
    value = cast(promoters - detractors, Float) * 100 / func.nullif(func.count(), 0)
    return q.frame(conn, _answers(q, "nps", value))
