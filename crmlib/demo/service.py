"""Service: tickets with their SLA clocks and events, and the CSAT and NPS answers.

Due times follow the default service levels per priority (setting ``sla_policy``: high,
first response within 24 h, resolution within 72 h; medium 48/120 h; low 72/240 h; clocks
around the clock). Tickets are routed as the default ``ticket_routing`` says (technical →
the support team, the rest to the service team) and assigned within that team. Actual
times are log-normal around a fraction of the allowance, so most tickets meet their SLA
and some miss it, and customers rate breached tickets lower, which the service-quality
report should show. A few tickets are reopened once before their final resolution, and
about a third of the worked tickets link the knowledge-base article the agent used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..reference.enums import PRIORITY, TICKET_STATUS, TICKET_TYPE
from ..settings import DEFAULTS
from .contacts import Contacts
from .customers import Chunk
from .orders import Orders
from .phrases import (
    COMMENTS,
    CSAT_COMMENTS,
    KB_ARTICLES,
    NPS_COMMENTS,
    REOPEN_NOTES,
    RESOLUTIONS,
    RESPONSE_NOTE,
    TICKET_TEXT,
    TRANSFER_NOTES,
)
from .roster import SERVICE_TEAM, Roster
from .timeline import DAY, HOUR, Timeline
from .vectors import Array, Rows, choose, nullable, pool

TICKETS_PER_ORDER = 0.15
PROSPECT_TICKETS = 0.03  # per prospect over the span, mostly questions
TYPES = pool(list(TICKET_TYPE.codes))  # inquiry, complaint, after_sales, technical
TYPE_WEIGHTS = (0.35, 0.13, 0.3, 0.22)
PRIORITIES = pool(list(PRIORITY.codes))  # high, medium, low
PRIORITY_BY_TYPE = {
    "inquiry": (0.05, 0.35, 0.6),
    "complaint": (0.5, 0.4, 0.1),
    "after_sales": (0.2, 0.5, 0.3),
    "technical": (0.25, 0.5, 0.25),
}
SLA_HOURS = {
    p: (hours["first_response_hours"], hours["resolution_hours"])
    for p, hours in DEFAULTS["sla_policy"].items()
}
ROUTED = np.array(
    [DEFAULTS["ticket_routing"].get(code, SERVICE_TEAM) for code in TICKET_TYPE.codes]
)
REOPEN_SHARE = 0.05  # of tickets resolved by the end
LINK_SHARE = 0.35  # of worked tickets, to an article of their type
# Own random streams (seeded by the first ids), so these extras leave the chunk's stream alone.
REOPEN_STREAM, LINK_STREAM = 11, 12
# Median share of the allowance that responding and resolving take, and its spread.
RESPONSE_LOAD, RESOLUTION_LOAD = (0.3, 0.8), (0.4, 0.7)
CLOSED_SHARE = 0.85  # resolved tickets the customer confirms …
CLOSE_DAYS = (1, 6)  # … after this many days
TRANSFER_SHARE, COMMENT_SHARE = 0.15, 0.3
STATUSES = pool(list(TICKET_STATUS.codes))  # open, in_progress, resolved, closed
OPEN, IN_PROGRESS, RESOLVED, CLOSED = range(4)

CSAT_SHARE = 0.6  # of closed tickets
CSAT_MET = (0.02, 0.04, 0.14, 0.38, 0.42)  # scores 1-5 when the SLA was met
CSAT_MISSED = (0.12, 0.18, 0.3, 0.25, 0.15)
NPS_SHARE = 0.2  # of buyers
NPS_WEIGHTS = (0.02, 0.01, 0.02, 0.03, 0.03, 0.05, 0.08, 0.14, 0.18, 0.2, 0.24)  # scores 0-10
COMMENT_ANSWERS = 0.4

Value = Array | str | None
"""A column of events: one value per ticket, or the same for all."""


@dataclass(frozen=True)
class Tickets:
    rows: Rows
    customer: Array  # chunk position
    opened: Array  # seconds
    response: Array  # seconds, also when still in the future
    resolved: Array
    closed: Array
    status: Array  # OPEN … CLOSED
    breached: Array  # a response or resolution came later than due


def ticket_rows(
    rng: np.random.Generator,
    chunk: Chunk,
    contacts: Contacts,
    orders: Orders,
    roster: Roster,
    timeline: Timeline,
    first_id: int,
) -> Tickets:
    n = len(chunk)
    bought = np.bincount(orders.customer, minlength=n)
    first_order = np.full(n, timeline.seconds, dtype=np.int64)
    np.minimum.at(first_order, orders.customer, orders.at)
    since = np.where(bought > 0, first_order, chunk.created) + HOUR
    count = rng.poisson(TICKETS_PER_ORDER * bought + PROSPECT_TICKETS * (bought == 0))
    customer = np.repeat(np.arange(n), np.where(since < timeline.seconds, count, 0))
    m = len(customer)
    opened = timeline.moments(rng, since[customer])

    kind = choose(rng, TYPE_WEIGHTS, m)
    team = ROUTED[kind].astype(object)
    priority = np.empty(m, dtype=np.int64)
    subject = np.empty(m, dtype=object)
    description = np.empty(m, dtype=object)
    for i, code in enumerate(TICKET_TYPE.codes):
        chosen = kind == i
        k = int(chosen.sum())
        priority[chosen] = choose(rng, PRIORITY_BY_TYPE[code], k)
        subjects, descriptions = TICKET_TEXT[code]
        subject[chosen] = subjects[rng.integers(0, len(subjects), k)]
        description[chosen] = descriptions[rng.integers(0, len(descriptions), k)]
    response_sla = np.array([SLA_HOURS[p][0] for p in PRIORITY.codes])[priority] * HOUR
    resolution_sla = np.array([SLA_HOURS[p][1] for p in PRIORITY.codes])[priority] * HOUR
    response = opened + (_load(rng, RESPONSE_LOAD, m) * response_sla).astype(np.int64)
    resolved = np.maximum(
        response + 10 * 60,
        opened + (_load(rng, RESOLUTION_LOAD, m) * resolution_sla).astype(np.int64),
    )
    closes = rng.random(m) < CLOSED_SHARE
    closed = resolved + rng.integers(CLOSE_DAYS[0] * DAY, CLOSE_DAYS[1] * DAY, m)
    end = timeline.seconds
    status = np.select(
        [response >= end, resolved >= end, ~closes | (closed >= end)],
        [OPEN, IN_PROGRESS, RESOLVED],
        CLOSED,
    )
    closed = np.where(closes, closed, end)
    times = np.stack([opened, response, resolved, closed], axis=1)
    rows: Rows = {
        "id": np.arange(first_id, first_id + m),
        "customer_id": chunk.ids[customer],
        "contact_id": contacts.pick(rng, customer),
        "type": TYPES[kind],
        "priority": PRIORITIES[priority],
        "status": STATUSES[status],
        "subject": subject,
        "description": description,
        "team": team,
        "assignee_id": _agents(roster, team, rng.integers(0, len(roster.service), m)),
        "opened_at": timeline.stamp(opened),
        "first_response_due": timeline.stamp(opened + response_sla),
        "resolution_due": timeline.stamp(opened + resolution_sla),
        "first_response_at": timeline.stamp(response, status > OPEN),
        "resolved_at": timeline.stamp(resolved, status > IN_PROGRESS),
        "closed_at": timeline.stamp(closed, status == CLOSED),
        "resolution": nullable(
            RESOLUTIONS[rng.integers(0, len(RESOLUTIONS), m)], status > IN_PROGRESS
        ),
        "created_at": timeline.stamp(opened),
        "updated_at": timeline.stamp(np.max(np.where(times < end, times, opened[:, None]), axis=1)),
    }
    breached = (response > opened + response_sla) | (resolved > opened + resolution_sla)
    return Tickets(rows, customer, opened, response, resolved, closed, status, breached)


def event_rows(
    rng: np.random.Generator, tickets: Tickets, roster: Roster, timeline: Timeline, first_id: int
) -> Rows:
    """Status changes, first responses, transfers, comments and reopens, in time order per
    ticket. Transfers name holders as the ticket service does: ``team/username``."""
    opened, response, resolved, status = (
        tickets.opened,
        tickets.response,
        tickets.resolved,
        tickets.status,
    )
    assignee = tickets.rows["assignee_id"]
    m = len(opened)
    agent = np.searchsorted(roster.service, assignee)
    other = (agent + rng.integers(1, max(2, len(roster.service)), m)) % len(roster.service)
    transfer = (rng.random(m) < TRANSFER_SHARE) & (len(roster.service) > 1)
    comment = (status > OPEN) & (rng.random(m) < COMMENT_SHARE)
    seen_until = np.minimum(response, timeline.seconds - 1)
    work_until = np.minimum(resolved, timeline.seconds - 1)
    holders = roster.service_teams + "/" + roster.service_names
    extra = np.random.default_rng([REOPEN_STREAM, first_id])
    reopened = (status > IN_PROGRESS) & (extra.random(m) < REOPEN_SHARE)
    first_fix = response + ((resolved - response) * extra.uniform(0.3, 0.6, m)).astype(np.int64)
    reopen_at = first_fix + ((resolved - first_fix) * extra.uniform(0.2, 0.5, m)).astype(np.int64)
    events: tuple[tuple[Array, Array, str, Value, Value, Value, Array | None], ...] = (
        # when, happened, kind, from, to, note, actor
        (
            opened + ((seen_until - opened) * rng.random(m)).astype(np.int64),
            transfer,
            "transfer",
            holders[other],
            holders[agent],
            TRANSFER_NOTES[rng.integers(0, len(TRANSFER_NOTES), m)],
            roster.service[other],
        ),
        (response, status > OPEN, "response", None, None, RESPONSE_NOTE, None),
        (response, status > OPEN, "status", "open", "in_progress", None, None),
        (first_fix, reopened, "status", "in_progress", "resolved", None, None),
        (
            reopen_at,
            reopened,
            "status",
            "resolved",
            "in_progress",
            REOPEN_NOTES[extra.integers(0, len(REOPEN_NOTES), m)],
            None,
        ),
        (
            response + ((work_until - response) * rng.random(m)).astype(np.int64),
            comment,
            "comment",
            None,
            None,
            COMMENTS[rng.integers(0, len(COMMENTS), m)],
            None,
        ),
        (resolved, status > IN_PROGRESS, "status", "in_progress", "resolved", None, None),
        (tickets.closed, status == CLOSED, "status", "resolved", "closed", None, None),
    )
    columns: dict[str, list[Array]] = {
        k: [] for k in ("ticket", "at", "step", "kind", "from", "to", "note", "actor")
    }
    for step, (at, happened, kind, before, after, note, actor) in enumerate(events):
        rows = np.flatnonzero(happened)
        columns["ticket"].append(rows)
        columns["at"].append(at[rows])
        columns["step"].append(np.full(len(rows), step))
        for name, value in (("kind", kind), ("from", before), ("to", after), ("note", note)):
            columns[name].append(_pick(value, rows))
        columns["actor"].append(assignee[rows] if actor is None else actor[rows])
    merged = {name: np.concatenate(parts) for name, parts in columns.items()}
    order = np.lexsort((merged["step"], merged["at"], merged["ticket"]))
    return {
        "id": np.arange(first_id, first_id + len(order)),
        "ticket_id": tickets.rows["id"][merged["ticket"][order]],
        "kind": merged["kind"][order],
        "from_value": merged["from"][order],
        "to_value": merged["to"][order],
        "note": merged["note"][order],
        "actor_id": merged["actor"][order],
        "occurred_at": timeline.stamp(merged["at"][order]),
    }


def feedback_rows(
    rng: np.random.Generator,
    chunk: Chunk,
    tickets: Tickets,
    orders: Orders,
    timeline: Timeline,
    first_id: int,
) -> Rows:
    """CSAT on closed tickets (lower when the SLA was missed) and NPS survey answers."""
    closed = tickets.closed
    answered = closed + rng.integers(HOUR, 48 * HOUR, len(closed))
    rated = np.flatnonzero(
        (tickets.status == CLOSED)
        & (rng.random(len(closed)) < CSAT_SHARE)
        & (answered < timeline.seconds)
    )
    missed = tickets.breached[rated]
    csat = (
        np.where(missed, choose(rng, CSAT_MISSED, len(rated)), choose(rng, CSAT_MET, len(rated)))
        + 1
    )

    buyers = np.unique(orders.customer)
    first_order = np.full(len(chunk), timeline.seconds, dtype=np.int64)
    np.minimum.at(first_order, orders.customer, orders.at)
    since = first_order[buyers] + 7 * DAY
    surveyed = buyers[(rng.random(len(buyers)) < NPS_SHARE) & (since < timeline.seconds)]
    nps = choose(rng, NPS_WEIGHTS, len(surveyed))
    nps_at = timeline.moments(rng, first_order[surveyed] + 7 * DAY)

    kind = np.concatenate(
        [np.full(len(rated), "csat", dtype=object), np.full(len(surveyed), "nps", dtype=object)]
    )
    score = np.concatenate([csat, nps])
    low = np.concatenate([csat <= 3, nps <= 6])
    k = len(score)
    comment = np.where(
        kind == "csat",
        np.where(
            low, _choice(rng, CSAT_COMMENTS["low"], k), _choice(rng, CSAT_COMMENTS["high"], k)
        ),
        np.where(low, _choice(rng, NPS_COMMENTS["low"], k), _choice(rng, NPS_COMMENTS["high"], k)),
    )
    ticket = np.concatenate([tickets.rows["id"][rated], np.full(len(surveyed), -1)])
    return {
        "id": np.arange(first_id, first_id + k),
        "customer_id": chunk.ids[np.concatenate([tickets.customer[rated], surveyed])],
        "ticket_id": nullable(ticket, ticket >= 0),
        "kind": kind,
        "score": score,
        "comment": nullable(comment, rng.random(k) < COMMENT_ANSWERS),
        "answered_at": timeline.stamp(np.concatenate([answered[rated], nps_at])),
    }


def article_rows(roster: Roster, since: np.datetime64, first_id: int) -> Rows:
    """The knowledge base: a few articles per ticket type, written by the agents."""
    n = len(KB_ARTICLES)
    return {
        "id": np.arange(first_id, first_id + n),
        "title": pool([a[1] for a in KB_ARTICLES]),
        "body": pool([a[2] for a in KB_ARTICLES]),
        "category": pool([TICKET_TYPE.label(a[0]) for a in KB_ARTICLES]),
        "tags": pool([a[3] for a in KB_ARTICLES]),
        "author_id": roster.service[np.arange(n) % len(roster.service)],
        "created_at": np.full(n, since),
        "updated_at": np.full(n, since),
    }


def link_rows(tickets: Tickets, timeline: Timeline, first_article: int, first_id: int) -> Rows:
    """Worked tickets linked to an article of their type, when the agent responded."""
    rng = np.random.default_rng([LINK_STREAM, first_id])
    kinds = np.array([a[0] for a in KB_ARTICLES])
    ticket_kind = tickets.rows["type"]
    linked = np.flatnonzero((tickets.status > OPEN) & (rng.random(len(ticket_kind)) < LINK_SHARE))
    article = np.empty(len(linked), dtype=np.int64)
    for code in TICKET_TYPE.codes:
        mine = ticket_kind[linked] == code
        choices = np.flatnonzero(kinds == code)
        article[mine] = choices[rng.integers(0, len(choices), int(mine.sum()))]
    return {
        "id": np.arange(first_id, first_id + len(linked)),
        "ticket_id": tickets.rows["id"][linked],
        "article_id": first_article + article,
        "linked_by_id": tickets.rows["assignee_id"][linked],
        "linked_at": timeline.stamp(tickets.response[linked]),
    }


def _agents(roster: Roster, team: Array, pick: Array) -> Array:
    """An agent of each ticket's team (``pick`` a random position among all agents)."""
    agents = np.empty(len(team), dtype=np.int64)
    for name in np.unique(team):
        members = roster.service[roster.service_teams == name]
        if len(members) == 0:
            members = roster.service
        chosen = team == name
        agents[chosen] = members[pick[chosen] % len(members)]
    return agents


def _load(rng: np.random.Generator, load: tuple[float, float], size: int) -> Array:
    return rng.lognormal(np.log(load[0]), load[1], size)


def _choice(rng: np.random.Generator, texts: Array, size: int) -> Array:
    return texts[rng.integers(0, len(texts), size)]


def _pick(value: Array | str | None, rows: Array) -> Array:
    """``value`` for the given rows: an array is indexed, a constant repeated."""
    if isinstance(value, np.ndarray):
        return value[rows]
    out = np.empty(len(rows), dtype=object)
    out[:] = value
    return out
