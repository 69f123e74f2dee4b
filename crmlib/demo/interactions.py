"""Follow-ups: the calls, visits, WeChat messages, e-mails and meetings reps log.

Buyers are contacted more often than prospects, and every open deal gets its own
follow-ups while it runs. Only a customer's latest follow-up may carry a next action date
(the reminder); those in the last weeks before the as-of date have one, so a few
reminders are overdue and most are upcoming, as in a working CRM. Every follow-up says
what the customer needs and what comes next, as the follow-up rules require.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..reference.enums import CHANNEL
from .contacts import Contacts
from .customers import Chunk
from .orders import MONTH, Orders
from .phrases import CUSTOMER_NEEDS, NEXT_STEPS, SUMMARIES
from .sales import Deals
from .timeline import DAY, HOUR, Timeline
from .vectors import Array, Rows, choose, gather, group_max, pool

PER_MONTH = {"buyer": 0.25, "prospect": 0.1}
PERSON_FACTOR = 0.5
DEAL_TOUCHES = 1.5  # follow-ups of a deal beyond the first
CHANNELS = pool(list(CHANNEL.codes))  # phone, email, visit, wechat, meeting
CHANNEL_WEIGHTS = (0.35, 0.15, 0.12, 0.3, 0.08)
REMINDER_WINDOW = 30 * DAY  # latest follow-ups this recent carry a reminder …
REMINDER_SHARE = 0.6  # … this often
REMINDER_DAYS = (3, 45)  # after the follow-up


@dataclass(frozen=True)
class FollowUps:
    rows: Rows
    last: Array  # per customer of the chunk: seconds of the latest follow-up (-1: none)


def interaction_rows(
    rng: np.random.Generator,
    chunk: Chunk,
    contacts: Contacts,
    deals: Deals,
    orders: Orders,
    timeline: Timeline,
    first_id: int,
) -> FollowUps:
    n = len(chunk)
    buyer = np.bincount(orders.customer, minlength=n) > 0
    rate = np.where(buyer, PER_MONTH["buyer"], PER_MONTH["prospect"])
    rate = rate * np.where(chunk.company, 1.0, PERSON_FACTOR)
    months = np.maximum(0, timeline.seconds - HOUR - chunk.created) / MONTH
    general = np.repeat(np.arange(n), rng.poisson(rate * months))
    general_at = timeline.moments(rng, chunk.created[general] + HOUR)

    deal_end = np.where(deals.closed >= 0, deals.closed, timeline.seconds)
    touches = np.repeat(
        np.arange(len(deals.customer)), 1 + rng.poisson(DEAL_TOUCHES, len(deals.customer))
    )
    touch_at = timeline.moments(rng, deals.created[touches], deal_end[touches])

    customer = np.concatenate([general, deals.customer[touches]])
    at = np.concatenate([general_at, touch_at])
    deal = np.concatenate([np.full(len(general), -1), touches])
    order = np.lexsort((at, customer))
    customer, at, deal = customer[order], at[order], deal[order]
    m = len(customer)

    channel = choose(rng, CHANNEL_WEIGHTS, m)
    summary = np.empty(m, dtype=object)
    for i, code in enumerate(CHANNEL.codes):
        chosen = channel == i
        texts = SUMMARIES[code]
        summary[chosen] = texts[rng.integers(0, len(texts), int(chosen.sum()))]
    latest = np.ones(m, dtype=bool)
    latest[:-1] = customer[:-1] != customer[1:]
    remind = latest & (at >= timeline.seconds - REMINDER_WINDOW) & (rng.random(m) < REMINDER_SHARE)
    reminder = at + rng.integers(*REMINDER_DAYS, m) * DAY
    logged = np.minimum(at + rng.integers(60, 4 * HOUR, m), np.maximum(at, timeline.seconds - 1))
    return FollowUps(
        rows={
            "id": np.arange(first_id, first_id + m),
            "customer_id": chunk.ids[customer],
            "contact_id": contacts.pick(rng, customer),
            "opportunity_id": gather(deals.rows["id"], deal),
            "channel": CHANNELS[channel],
            "occurred_at": timeline.stamp(at),
            "summary": summary,
            "customer_need": CUSTOMER_NEEDS[rng.integers(0, len(CUSTOMER_NEEDS), m)],
            "next_step": NEXT_STEPS[rng.integers(0, len(NEXT_STEPS), m)],
            "next_action_date": timeline.dates(reminder, remind),
            "owner_id": chunk.owner[customer],
            "created_at": timeline.stamp(logged),
        },
        last=group_max(customer, at, n, -1),
    )
