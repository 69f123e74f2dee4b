"""The demo data as a deterministic stream of rows, table by table and chunk by chunk.

Everything the data depends on is in a :class:`Recipe`, so any process that follows the
same recipe makes exactly the same rows. That is what lets a helper process write some of
the tables while the main process writes the others (see :mod:`.helper`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np

from ..store.codes import CUSTOMER_PREFIX
from . import marketing
from .contacts import contact_rows
from .customers import codes, customer_rows, daily_counts, make_chunk, plan_customers, tag_rows
from .interactions import interaction_rows
from .leads import lead_rows
from .orders import order_rows
from .outcome import outcome
from .roster import build_roster
from .sales import opportunity_rows
from .service import article_rows, event_rows, feedback_rows, link_rows, ticket_rows
from .teamwork import teamwork_rows
from .timeline import Timeline
from .vectors import Array, Rows, pool, stack

CHUNK = 25_000
# The tables filled chunk by chunk, parents before children (for foreign keys checked
# per row); all of them and the campaigns are empty before the demo.
CHUNK_TABLES = (
    "customers",
    "customer_tags",
    "contacts",
    "opportunities",
    "opportunity_stage_history",
    "orders",
    "interactions",
    "tickets",
    "ticket_events",
    "feedback",
    "ticket_articles",
    "leads",
    "campaign_members",
    "comments",
    "tasks",
)
ID_TABLES = ("users", "campaigns", "kb_articles", *CHUNK_TABLES)
# Independent random streams, so that each part only depends on the seed and its own inputs.
ROSTER_STREAM, CAMPAIGN_STREAM, CHUNK_STREAM = 2, 3, 4


@dataclass(frozen=True)
class Recipe:
    """Everything the demo data depends on."""

    customers: int
    seed: int
    start: date | None
    first_ids: dict[str, int]  # per table in ID_TABLES: the first free id
    taken: frozenset[str]  # usernames that exist already
    issued: Array  # per day of the span: customer-code numbers issued before the demo
    thresholds: dict[str, float]  # grade thresholds (settings)
    probability: dict[str, float]  # stage probabilities (settings)
    chunk: int = field(default=CHUNK)

    @property
    def chunks(self) -> int:
        return -(-self.customers // self.chunk)


@dataclass(frozen=True)
class Batch:
    tables: dict[str, Rows]
    customers: int = 0  # customers among the rows, for progress


def batches(recipe: Recipe) -> Iterator[Batch]:
    """Staff and campaigns, then the customers chunk by chunk with everything around them,
    and last the ``code_sequences`` rows: each day's last customer-code number."""
    timeline = Timeline.of(recipe.start)
    plan = plan_customers(recipe.customers, recipe.seed, timeline)
    ids = dict(recipe.first_ids)
    since = datetime.combine(timeline.start, datetime.min.time())
    roster = build_roster(
        np.random.default_rng([recipe.seed, ROSTER_STREAM]),
        recipe.customers,
        set(recipe.taken),
        ids["users"],
        since,
    )
    campaigns = marketing.plan_campaigns(
        np.random.default_rng([recipe.seed, CAMPAIGN_STREAM]),
        timeline,
        ids["campaigns"],
        roster.marketing,
    )
    first_article = ids["kb_articles"]
    articles = article_rows(roster, np.datetime64(since, "s"), first_article)
    yield _counted(
        ids, Batch({"users": roster.rows, "campaigns": campaigns.rows, "kb_articles": articles})
    )
    # Phone keys: the plan's main contacts use [0, n), its duplicates [n, 2n).
    keys = 2 * recipe.customers
    for index, lo in enumerate(range(0, recipe.customers, recipe.chunk)):
        rng = np.random.default_rng([recipe.seed, CHUNK_STREAM, index])
        rows = slice(lo, min(lo + recipe.chunk, recipe.customers))
        chunk = make_chunk(rng, plan, rows, ids["customers"], roster)
        contacts = contact_rows(rng, plan, chunk, ids["contacts"], keys, timeline)
        deals = opportunity_rows(
            rng,
            chunk,
            timeline,
            ids["opportunities"],
            ids["opportunity_stage_history"],
            recipe.probability,
            campaigns,
        )
        reached = marketing.customer_members(rng, chunk, campaigns, timeline)
        orders = order_rows(rng, chunk, deals, reached, timeline, ids["orders"])
        follow_ups = interaction_rows(
            rng, chunk, contacts, deals, orders, timeline, ids["interactions"]
        )
        result = outcome(rng, chunk, orders, follow_ups.last, timeline, recipe.thresholds)
        code = codes(plan, rows, timeline, recipe.issued)
        customers = customer_rows(rng, plan, chunk, code, result, timeline)
        tickets = ticket_rows(rng, chunk, contacts, orders, roster, timeline, ids["tickets"])
        events = event_rows(rng, tickets, roster, timeline, ids["ticket_events"])
        feedback = feedback_rows(rng, chunk, tickets, orders, timeline, ids["feedback"])
        links = link_rows(tickets, timeline, first_article, ids["ticket_articles"])
        leads = lead_rows(
            rng,
            chunk,
            customers,
            contacts,
            deals,
            campaigns,
            roster,
            timeline,
            ids["leads"],
            keys + contacts.keys_used,
        )
        keys += contacts.keys_used + leads.keys_used
        members = stack(
            reached.rows,
            marketing.lead_members(
                leads.rows["id"], leads.campaign, leads.customer, leads.created, timeline
            ),
        )
        first_member = ids["campaign_members"]
        members["id"] = np.arange(first_member, first_member + len(members["campaign_id"]))
        tags = tag_rows(rng, chunk, ids["customer_tags"])
        work = teamwork_rows(rng, deals, roster, timeline, ids["tasks"], ids["comments"])
        tables = (
            customers,
            tags,
            contacts.rows,
            deals.rows,
            deals.history,
            orders.rows,
            follow_ups.rows,
            tickets.rows,
            events,
            feedback,
            links,
            leads.rows,
            members,
            work.comments,
            work.tasks,
        )
        yield _counted(ids, Batch(dict(zip(CHUNK_TABLES, tables, strict=True)), len(chunk)))
    created = daily_counts(plan, timeline)
    days = np.flatnonzero(created)
    prefixes = [f"{CUSTOMER_PREFIX}{timeline.start + timedelta(days=int(d)):%Y%m%d}" for d in days]
    yield Batch(
        {
            "code_sequences": {
                "prefix": pool(prefixes),
                "last_value": (recipe.issued + created)[days],
            }
        }
    )


def _counted(ids: dict[str, int], batch: Batch) -> Batch:
    """Move each table's next id past the ids of ``batch``."""
    for table, rows in batch.tables.items():
        if len(rows["id"]):
            ids[table] = int(rows["id"].max()) + 1
    return batch
