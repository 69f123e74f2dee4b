"""Leads: people and companies that came in through a channel before they were customers.

Most customers who came through a lead channel and made a deal still have their lead
(few of those without a deal do): converted when the customer was created, and linked to
it and to its first deal. The other leads are new, being worked, qualified, or invalid
with the reason why; half of the new ones wait unassigned for ``crm leads assign`` (rules:
:func:`assignment_policy`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..reference.enums import LEAD_STATUS, SOURCE, VALUE_TIER
from ..reference.regions import REGIONS
from . import emails, names, noise, phones, places
from .contacts import Contacts
from .customers import Chunk
from .marketing import Campaigns
from .phrases import INVALID_REASONS
from .places import TEAMS
from .roster import NEIGHBOUR, Roster
from .sales import Deals
from .timeline import DAY, Timeline, office_time
from .vectors import Array, Rows, choose, concat, nullable, pool

LEAD_CHANNELS = frozenset({"website", "exhibition", "referral", "phone", "campaign", "social"})
# Customers won through a lead channel who still have their lead: most of those with a
# deal (conversion made the deal), few of the others, so the funnel's later steps fill.
CONVERTED_WITH_DEAL = 0.8
CONVERTED_WITHOUT_DEAL = 0.15
LEAD_DAYS = 14  # median time from lead to customer
OPEN_LEADS = 1.0  # leads that did not (yet) become customers, per customer
SOURCES = pool(list(SOURCE.codes))
OPEN_SOURCE_WEIGHTS = (0.3, 0.2, 0.05, 0.15, 0.15, 0.12, 0.03)  # in SOURCE order
COMPANY_LEADS = 0.8
EMAIL_SHARE = 0.5
STATUSES = pool(list(LEAD_STATUS.codes))  # new, contacted, qualified, converted, invalid
NEW, CONTACTED, QUALIFIED, CONVERTED, INVALID = range(5)
FRESH_DAYS = 14
FRESH_STATUS = (0.6, 0.4, 0.0, 0.0, 0.0)
OLD_STATUS = (0.1, 0.3, 0.1, 0.0, 0.5)
UNASSIGNED_NEW = 0.5  # new leads not yet given to a rep
TIERS = pool(list(VALUE_TIER.codes))  # high, medium, low
TIER_BY_SIZE = np.array([2, 1, 0, 2])  # small, medium, large, person
TIER_NOISE = 0.2
# How often a lead of each source is attributed to a campaign running at the time.
CAMPAIGN_SHARE = {"campaign": 1.0, "exhibition": 0.7}
OTHER_CAMPAIGN_SHARE = 0.1


@dataclass(frozen=True)
class Leads:
    rows: Rows
    campaign: Array  # campaign id, -1: none
    customer: Array  # customer id it became, -1: none
    created: Array  # seconds
    keys_used: int


def lead_rows(
    rng: np.random.Generator,
    chunk: Chunk,
    customers: Rows,
    contacts: Contacts,
    deals: Deals,
    campaigns: Campaigns,
    roster: Roster,
    timeline: Timeline,
    first_id: int,
    key_base: int,
) -> Leads:
    """Converted leads of the chunk's customers, and as many open leads as the chunk needs."""
    n = len(chunk)
    channel = np.isin(SOURCES[chunk.source], list(LEAD_CHANNELS))
    first_deal = np.full(n, -1, dtype=np.int64)
    by_start = np.lexsort((deals.created, deals.customer))
    dealt, earliest = np.unique(deals.customer[by_start], return_index=True)
    first_deal[dealt] = deals.rows["id"][by_start[earliest]]
    share = np.where(first_deal >= 0, CONVERTED_WITH_DEAL, CONVERTED_WITHOUT_DEAL)
    won_over = np.flatnonzero(channel & (rng.random(n) < share))
    became = chunk.created[won_over]
    lead_time = rng.lognormal(np.log(LEAD_DAYS), 0.8, len(won_over)) * DAY
    # Customers of the first days had their leads shortly before the span began.
    lead_time = np.minimum(lead_time, became * rng.random(len(won_over)))
    converted_created = became - lead_time.astype(np.int64)
    size = np.where(chunk.company, chunk.size, len(TIER_BY_SIZE) - 1)[won_over]
    converted: Rows = {
        "name": contacts.main("name")[won_over],
        "company": nullable(chunk.name[won_over], chunk.company[won_over]),
        "phone": contacts.main("phone")[won_over],
        "email": contacts.main("email")[won_over],
        "source": SOURCES[chunk.source[won_over]],
        "province": customers["province"][won_over],
        "region": customers["region"][won_over],
        "industry_section": customers["industry_section"][won_over],
        "industry_division": customers["industry_division"][won_over],
        "value_tier": TIERS[_tier(rng, TIER_BY_SIZE[size])],
        "status": np.full(len(won_over), STATUSES[CONVERTED], dtype=object),
        "invalid_reason": np.full(len(won_over), None, dtype=object),
        "owner_id": chunk.owner[won_over],
        "team": _teams(roster, chunk.owner[won_over]),
        "assigned_at": timeline.stamp(converted_created),
        "customer_id": chunk.ids[won_over],
        "opportunity_id": nullable(first_deal[won_over], first_deal[won_over] >= 0),
        "converted_at": timeline.stamp(became),
    }

    k = rng.poisson(OPEN_LEADS * n)
    created = np.sort(timeline.activity.sample(rng, k) * DAY + office_time(rng, k))
    city = places.draw_cities(rng, k)
    division = names.draw_divisions(rng, k)
    surname, given = names.draw_people(rng, k)
    company = rng.random(k) < COMPANY_LEADS
    parts = names.draw_companies(rng, division, city)
    company_name = noise.company_names(
        places.CITY_PREFIX[city],
        parts.prefixed,
        names.brand_names(parts.brand),
        names.WORD[parts.word],
        parts.suffix,
        np.zeros(k, dtype=np.int64),
    )
    style = emails.draw_styles(rng, k)
    number = rng.integers(0, 10**10, k)
    domain = np.where(
        company,
        emails.company_domain(parts.brand, parts.word, choose(rng, emails.COMPANY_TLD_WEIGHTS, k)),
        emails.PUBLIC_DOMAINS[choose(rng, emails.PUBLIC_WEIGHTS, k)],
    )
    fresh = created >= timeline.seconds - FRESH_DAYS * DAY
    status = np.where(fresh, choose(rng, FRESH_STATUS, k), choose(rng, OLD_STATUS, k))
    region = places.REGION_INDEX[city]
    assigned = (status != NEW) | (rng.random(k) >= UNASSIGNED_NEW)
    rep = roster.owners(rng, region)
    source = choose(rng, OPEN_SOURCE_WEIGHTS, k)
    open_rows: Rows = {
        "name": names.person_names(surname, given),
        "company": nullable(company_name, company),
        "phone": phones.mobile_e164(phones.mobiles(rng, key_base + np.arange(k))),
        "email": nullable(
            concat(emails.mailbox(surname, given, style, number), "@", domain),
            rng.random(k) < EMAIL_SHARE,
        ),
        "source": SOURCES[source],
        "province": places.PROVINCE_NAME[city],
        "region": places.REGION[city],
        "industry_section": nullable(names.SECTION[division], company),
        "industry_division": nullable(names.DIVISION[division], company),
        "value_tier": TIERS[choose(rng, (0.15, 0.35, 0.5), k)],
        "status": STATUSES[status],
        "invalid_reason": nullable(
            INVALID_REASONS[rng.integers(0, len(INVALID_REASONS), k)], status == INVALID
        ),
        "owner_id": nullable(rep, assigned),
        "team": nullable(_teams(roster, rep), assigned),
        "assigned_at": timeline.stamp(created, assigned),
        "customer_id": np.full(k, None, dtype=object),
        "opportunity_id": np.full(k, None, dtype=object),
        "converted_at": timeline.stamp(created, np.zeros(k, dtype=bool)),
    }

    lead_created = np.concatenate([converted_created, created])
    rows = {name: np.concatenate([converted[name], open_rows[name]]) for name in converted}
    lead_source = rows["source"]
    share = np.full(len(lead_created), OTHER_CAMPAIGN_SHARE)
    for source_code, source_share in CAMPAIGN_SHARE.items():
        share[lead_source == source_code] = source_share
    campaign = campaigns.attribute(rng, lead_created, share)
    ids = np.arange(first_id, first_id + len(lead_created))
    return Leads(
        rows={
            "id": ids,
            **rows,
            "campaign_id": nullable(campaign, campaign >= 0),
            "created_at": timeline.stamp(lead_created),
            "updated_at": timeline.stamp(np.concatenate([became, created])),
        },
        campaign=campaign,
        customer=np.concatenate([chunk.ids[won_over], np.full(k, -1)]),
        created=lead_created,
        keys_used=k,
    )


def _teams(roster: Roster, owners: Array) -> Array:
    """The team of each rep id (reps are the roster's new users, ids ascending)."""
    position = np.searchsorted(roster.rows["id"], np.asarray(owners, dtype=np.int64))
    teams: Array = roster.rows["team"][position]
    return teams


def assignment_policy(reps: Mapping[str | None, int]) -> dict[str, Any]:
    """``lead_assignment`` rules for the demo's teams: each region goes to its own team,
    or to the neighbouring team that serves it (``reps``: sales reps per team)."""
    rules = []
    for region in REGIONS:
        team = TEAMS[region] if reps.get(TEAMS[region]) else TEAMS[NEIGHBOUR.get(region, region)]
        rules.append({"region": region, "industry": None, "team": team})
    return {"rules": rules, "method": "round_robin"}


def _tier(rng: np.random.Generator, expected: Array) -> Array:
    """The expected value tier, or a neighbouring one for some leads."""
    shift = np.where(rng.random(len(expected)) < TIER_NOISE, rng.choice([-1, 1], len(expected)), 0)
    out: Array = np.clip(expected + shift, 0, len(TIERS) - 1)
    return out
