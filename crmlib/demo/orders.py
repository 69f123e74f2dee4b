"""Orders: repeat buying by customers who became buyers, the orders of won deals, and
orders that campaign responses brought.

Amounts are log-normal around each customer's typical order (a few thousand CNY for a
person, hundreds of thousands for a large company), so AOV, RFM, CLV and the A/B/C
grades spread the way they do in a real B2B customer base.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import catalog
from .customers import Chunk
from .marketing import REPLY_DAYS, Reached
from .sales import Deals
from .timeline import DAY, Timeline
from .vectors import Array, Rows, choose, concat, nullable, zfill

BUYER_SHARE = {True: 0.55, False: 0.35}  # companies, persons
FIRST_ORDER_DAYS = 45  # median time from creation to the first order
ORDERS_PER_MONTH = {True: 0.25, False: 0.12}  # median repeat rate of buyers
RATE_SPREAD = 0.7
CHURN_SHARE = 0.25  # buyers who stop ordering at some point
AMOUNT_SPREAD = 0.5
MIN_AMOUNT = 100.0
MONTH = 30 * DAY


@dataclass(frozen=True)
class Orders:
    rows: Rows
    customer: Array  # chunk position
    at: Array  # seconds
    amount: Array


def order_rows(
    rng: np.random.Generator,
    chunk: Chunk,
    deals: Deals,
    reached: Reached,
    timeline: Timeline,
    first_id: int,
) -> Orders:
    n = len(chunk)
    first = chunk.created + (rng.lognormal(np.log(FIRST_ORDER_DAYS), 1.0, n) * DAY).astype(np.int64)
    buyer = (rng.random(n) < np.where(chunk.company, BUYER_SHARE[True], BUYER_SHARE[False])) & (
        first < timeline.seconds
    )
    stop = np.where(
        rng.random(n) < CHURN_SHARE,
        first + (rng.random(n) * (timeline.seconds - first)).astype(np.int64),
        timeline.seconds,
    )
    rate = np.where(chunk.company, ORDERS_PER_MONTH[True], ORDERS_PER_MONTH[False])
    rate = rate * rng.lognormal(0.0, RATE_SPREAD, n)
    repeats = np.where(buyer, rng.poisson(rate * np.maximum(0, stop - first) / MONTH), 0)
    repeat = np.repeat(np.arange(n), repeats)
    won = np.flatnonzero(deals.won)
    campaign_at = reached.converted_at + (rng.random(len(reached.converted)) * REPLY_DAYS * DAY)
    sources = (
        # customer, time, product, amount, campaign
        (np.flatnonzero(buyer), first[buyer], None, None, None),
        (repeat, timeline.moments(rng, first[repeat], stop[repeat]), None, None, None),
        (deals.customer[won], deals.closed[won], deals.product[won], deals.amount[won], None),
        (
            reached.converted,
            np.minimum(campaign_at.astype(np.int64), timeline.seconds - 1),
            None,
            None,
            reached.converted_by,
        ),
    )
    parts: list[tuple[Array, ...]] = []
    for who, when, product, amount, campaign in sources:
        if product is None:
            product = choose(rng, catalog.SALES_WEIGHTS, len(who))
        if amount is None:
            value = chunk.scale[who] * catalog.PRICE_LEVEL[product]
            amount = np.maximum(
                MIN_AMOUNT, np.round(value * rng.lognormal(0, AMOUNT_SPREAD, len(who)), 2)
            )
        if campaign is None:
            campaign = np.full(len(who), -1, dtype=np.int64)
        parts.append((who, when, product, amount, campaign))
    customer, at, product, amount, campaign = (
        np.concatenate(column) for column in zip(*parts, strict=True)
    )
    m = len(customer)

    order = np.lexsort((at, customer))
    customer, at, product, amount, campaign = (
        a[order] for a in (customer, at, product, amount, campaign)
    )
    ids = np.arange(first_id, first_id + m)
    return Orders(
        rows={
            "id": ids,
            "external_id": concat("SO", zfill(ids, 8)),
            "customer_id": chunk.ids[customer],
            "ordered_at": timeline.dates(at),
            "amount": amount,
            "product": catalog.PRODUCT[product],
            "category": catalog.CATEGORY[product],
            "campaign_id": nullable(campaign, campaign >= 0),
            "created_at": timeline.stamp(at),
        },
        customer=customer,
        at=at,
        amount=amount,
    )
