"""Where each customer stands at the as-of date: status, grade and last contact, derived
from the history generated for it, so that reports recomputing them agree with the data."""

from __future__ import annotations

import numpy as np

from .customers import Chunk, Outcome
from .orders import Orders
from .timeline import DAY, Timeline, add_months
from .vectors import Array, group_max

# Customers without orders: a few were archived, and most of those not heard of for
# LOST_AFTER are marked lost.
ARCHIVED_SHARE = 0.01
LOST_AFTER = 300 * DAY
LOST_SHARE = 0.7


def outcome(
    rng: np.random.Generator,
    chunk: Chunk,
    orders: Orders,
    last_contact: Array,
    timeline: Timeline,
    thresholds: dict[str, float],
) -> Outcome:
    """Customers who ordered are active; grades follow the trailing-12-month spend."""
    n = len(chunk)
    recent = orders.at >= trailing_year(timeline)
    spend = np.bincount(orders.customer[recent], weights=orders.amount[recent], minlength=n)
    spend = np.round(spend, 2)
    grade = np.select([spend >= thresholds["A"], spend >= thresholds["B"]], ["A", "B"], "C")
    quiet = np.maximum(chunk.created, last_contact) < timeline.seconds - LOST_AFTER
    status = np.select(
        [
            np.bincount(orders.customer, minlength=n) > 0,
            rng.random(n) < ARCHIVED_SHARE,
            quiet & (rng.random(n) < LOST_SHARE),
        ],
        ["active", "archived", "lost"],
        "potential",
    )
    last_order = group_max(orders.customer, orders.at, n, -1)
    return Outcome(
        status=status.astype(object),
        grade=grade.astype(object),
        last_contact=last_contact,
        updated=np.maximum(chunk.created, np.maximum(last_contact, last_order)),
    )


def trailing_year(timeline: Timeline) -> int:
    """Start (seconds) of the twelve months before the as-of date, over which grades count."""
    return (add_months(timeline.end, -12) - timeline.start).days * DAY
