"""Opportunities and their stage history.

Each deal walks contact → needs_analysis → proposal → negotiation and ends won, or is lost
at some stage; the walk is cut at the as-of date, so recent deals are still open. Every
stage entered is one history row whose ``left_at`` is when the next began, so durations
and funnels computed from the history agree with the deals themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..reference.enums import SIZE, STAGE
from . import catalog
from .customers import Chunk
from .marketing import Campaigns
from .phrases import LOSS_REASONS, LOSS_WEIGHTS, NEEDS, OPPORTUNITY_SUFFIXES, VERSIONS
from .timeline import DAY, HOUR, Timeline
from .vectors import Array, Rows, choose, concat, nullable, pool

STAGES = pool(list(STAGE.codes))
STAGE_INDEX = {code: i for i, code in enumerate(STAGE.codes)}
OPEN = 4  # contact, needs_analysis, proposal, negotiation: the first four stages
PROPOSAL = STAGE_INDEX["proposal"]
WON, LOST = "won", "lost"
SIZES = SIZE.codes
# Deals per customer and year; bigger companies buy through more projects.
DEALS_PER_YEAR = {"small": 0.25, "medium": 0.4, "large": 0.7, "person": 0.05}
STAGE_DAYS = (10, 18, 21, 14)  # median time spent in each open stage
STAGE_SPREAD = 0.6
WIN_SHARE = 0.35
LOST_AT = (0.3, 0.3, 0.25, 0.15)  # where lost deals were lost
DEAL_SIZE = 2.5  # a deal is worth this many typical orders
DEAL_SPREAD = 0.6
ESTIMATE_SPREAD = 0.3  # how far the expected close date is from the typical cycle
CAMPAIGN_SHARE = 0.15
ROUND_TO = 1_000


@dataclass(frozen=True)
class Deals:
    rows: Rows
    history: Rows
    customer: Array  # chunk position of each deal's customer
    created: Array  # seconds
    closed: Array  # seconds; -1 while open
    won: Array  # bool
    product: Array  # index into catalog.PRODUCTS
    amount: Array


def opportunity_rows(
    rng: np.random.Generator,
    chunk: Chunk,
    timeline: Timeline,
    first_id: int,
    first_history_id: int,
    probability: dict[str, float],
    campaigns: Campaigns,
) -> Deals:
    kind = np.where(chunk.company, chunk.size, len(SIZES))
    rate = np.array([DEALS_PER_YEAR[k] for k in (*SIZES, "person")])[kind]
    years = np.maximum(0, timeline.seconds - HOUR - chunk.created) / (365 * DAY)
    customer = np.repeat(np.arange(len(chunk)), rng.poisson(rate * years))
    n = len(customer)
    rows_n = np.arange(n)
    created = timeline.moments(rng, chunk.created[customer] + HOUR)

    # When each open stage is entered (columns 0-3) and left (column k + 1). A deal that
    # ends after stage ``last`` is won or lost when that stage is left: at column last + 1.
    days = rng.lognormal(np.log(STAGE_DAYS), STAGE_SPREAD, (n, OPEN))
    steps = np.cumsum((days * DAY).astype(np.int64), axis=1)
    enter = created[:, None] + np.concatenate([np.zeros((n, 1), dtype=np.int64), steps], axis=1)
    won = rng.random(n) < WIN_SHARE
    last = np.where(won, OPEN - 1, choose(rng, LOST_AT, n))
    stage = np.tile(np.arange(OPEN + 1), (n, 1))  # index into STAGE.codes
    stage[rows_n, last + 1] = np.where(won, STAGE_INDEX[WON], STAGE_INDEX[LOST])
    reached = (np.arange(OPEN + 1)[None, :] <= (last + 1)[:, None]) & (enter < timeline.seconds)
    entered = reached.sum(axis=1)  # at least 1: a deal starts in "contact" when created
    current = stage[rows_n, entered - 1]
    ended = entered == last + 2
    closed = np.where(ended, enter[rows_n, last + 1], -1)

    product = choose(rng, catalog.SALES_WEIGHTS, n)
    value = chunk.scale[customer] * catalog.PRICE_LEVEL[product] * DEAL_SIZE
    value *= rng.lognormal(0.0, DEAL_SPREAD, n)
    amount = np.maximum(ROUND_TO, np.round(value / ROUND_TO) * ROUND_TO)
    expected = created + (sum(STAGE_DAYS) * DAY * rng.lognormal(0.0, ESTIMATE_SPREAD, n)).astype(
        np.int64
    )
    proposed = reached[:, PROPOSAL] & (last >= PROPOSAL)
    negotiated = reached[:, PROPOSAL + 1] & (last >= PROPOSAL + 1)
    version = np.minimum(len(VERSIONS) - 1, rng.poisson(0.8, n) + negotiated)
    ids = np.arange(first_id, first_id + n)

    deal, nth = np.nonzero(reached)
    following = np.minimum(nth + 1, OPEN)
    left = np.where((nth < OPEN) & reached[deal, following], enter[deal, following], -1)
    history: Rows = {
        "id": np.arange(first_history_id, first_history_id + len(deal)),
        "opportunity_id": ids[deal],
        "stage": STAGES[stage[deal, nth]],
        "entered_at": timeline.stamp(enter[deal, nth]),
        "left_at": timeline.stamp(left, left >= 0),
    }
    campaign = campaigns.attribute(rng, created, CAMPAIGN_SHARE)
    suffix = OPPORTUNITY_SUFFIXES[rng.integers(0, len(OPPORTUNITY_SUFFIXES), n)]
    rows: Rows = {
        "id": ids,
        "customer_id": chunk.ids[customer],
        "name": concat(catalog.PRODUCT[product], suffix),
        "stage": STAGES[current],
        "amount": amount,
        "expected_close_date": timeline.dates(expected),
        "probability": np.array([probability[code] for code in STAGE.codes])[current],
        "need_description": NEEDS[rng.integers(0, len(NEEDS), n)],
        "proposal_version": nullable(VERSIONS[version], proposed),
        "loss_reason": nullable(LOSS_REASONS[choose(rng, LOSS_WEIGHTS, n)], ended & ~won),
        "owner_id": chunk.owner[customer],
        "campaign_id": nullable(campaign, campaign >= 0),
        "closed_at": timeline.stamp(closed, ended),
        "created_at": timeline.stamp(created),
        "updated_at": timeline.stamp(enter[rows_n, entered - 1]),
    }
    return Deals(rows, history, customer, created, closed, ended & won, product, amount)
