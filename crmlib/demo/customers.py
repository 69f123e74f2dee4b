"""Customers: a numeric plan of the whole customer base, made into rows chunk by chunk.

The plan holds every attribute of every customer as numbers (a million customers take
about 150 MB). Having it whole is what lets a duplicate copy any earlier customer, keeps
the daily sequence of customer codes global, and lets ``injected_duplicates`` recompute
the truth without a database. Text is only made for the chunk being written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from ..reference.enums import SIZE, SOURCE
from ..store.codes import CUSTOMER_PREFIX, format_code
from . import emails, names, noise, phones, places
from .phrases import CONSENT_PURPOSES, TAGS
from .plan import CustomerPlan
from .roster import Roster
from .timeline import DAY, Timeline, office_time
from .vectors import Array, Rows, choose, concat, expand, nullable, pool, zfill

PLAN_STREAM = 1
COMPANY_SHARE = 0.85
SIZES = pool(list(SIZE.codes))  # small, medium, large
SIZE_WEIGHTS = (0.62, 0.28, 0.10)
SOURCES = pool(list(SOURCE.codes))
# website, exhibition, referral, phone, campaign, social, other
SOURCE_WEIGHTS = (0.24, 0.16, 0.16, 0.15, 0.12, 0.10, 0.07)
ERP_SHARE = 0.8  # customers synchronised from the ERP carry its number
ERP_DIGITS = 6
EMAIL_SHARE = {False: 0.5, True: 0.85}  # persons, companies
CONSENT_SHARE = 0.85
AGE_YEARS = (22, 65)
# Typical order value in CNY per company size; persons buy small.
ORDER_SCALE = {"small": 12_000, "medium": 50_000, "large": 200_000}
PERSON_SCALE = 3_000
SCALE_SPREAD = 0.6
TAG_SHARES = (0.3, 0.08)  # customers with at least one tag, with two


def plan_customers(customers: int, seed: int, timeline: Timeline) -> CustomerPlan:
    """The whole customer base; depends only on its arguments."""
    rng = np.random.default_rng([seed, PLAN_STREAM])
    n = customers
    created = np.sort(timeline.growth.sample(rng, n) * DAY + office_time(rng, n))
    day = created // DAY
    company = rng.random(n) < COMPANY_SHARE
    city = places.draw_cities(rng, n)
    division = np.where(company, names.draw_divisions(rng, n), -1)
    has_email = rng.random(n) < np.where(company, EMAIL_SHARE[True], EMAIL_SHARE[False])
    erp = rng.random(n) < ERP_SHARE
    surname, given = names.draw_people(rng, n)
    plan = CustomerPlan(
        created=created,
        sequence=np.arange(n) - np.searchsorted(day, day) + 1,
        company=company,
        city=city,
        division=division,
        size=np.where(company, choose(rng, SIZE_WEIGHTS, n), -1),
        source=choose(rng, SOURCE_WEIGHTS, n),
        names=names.draw_companies(rng, np.maximum(division, 0), city),
        surname=surname,
        given=given,
        title=names.draw_titles(rng, n, main=True),
        phone=phones.mobiles(rng, np.arange(n)),
        has_email=has_email,
        email_style=emails.draw_styles(rng, n),
        email_number=rng.integers(0, 10**10, n),
        email_domain=np.where(
            company,
            choose(rng, emails.COMPANY_TLD_WEIGHTS, n),
            choose(rng, emails.PUBLIC_WEIGHTS, n),
        ),
        address=places.draw_addresses(rng, city),
        erp=np.where(erp, np.cumsum(erp), 0),
    )
    noise.inject(rng, plan)
    return plan


def codes(plan: CustomerPlan, rows: slice | Array, timeline: Timeline, offsets: Array) -> Array:
    """Customer codes: C + creation date + daily number, shifted by ``offsets[day]`` past
    numbers the database had already issued that day."""
    day = plan.created[rows] // DAY
    number = plan.sequence[rows] + offsets[day]
    dates = [timeline.start + timedelta(days=d) for d in range(timeline.days)]
    return pool(
        [
            format_code(CUSTOMER_PREFIX, dates[d], k)
            for d, k in zip(day.tolist(), number.tolist(), strict=True)
        ]
    )


def daily_counts(plan: CustomerPlan, timeline: Timeline) -> Array:
    """How many customers were created on each day of the span."""
    return np.bincount(plan.created // DAY, minlength=timeline.days)


@dataclass(frozen=True)
class Chunk:
    """Consecutive customers (in creation order) that are generated and written together."""

    rows: slice  # positions in the plan
    ids: Array
    created: Array  # seconds since the span start
    company: Array
    city: Array
    division: Array
    size: Array
    source: Array
    owner: Array
    scale: Array  # typical order value in CNY
    name: Array

    def __len__(self) -> int:
        return len(self.ids)


def make_chunk(
    rng: np.random.Generator, plan: CustomerPlan, rows: slice, first_id: int, roster: Roster
) -> Chunk:
    company, city, size = plan.company[rows], plan.city[rows], plan.size[rows]
    n = len(company)
    median = np.where(
        company, np.array([ORDER_SCALE[s] for s in SIZE.codes])[np.maximum(size, 0)], PERSON_SCALE
    )
    cn = plan.names
    name = np.where(
        company,
        noise.company_names(
            places.CITY_PREFIX[city],
            cn.prefixed[rows],
            names.brand_names(cn.brand[rows]),
            names.WORD[cn.word[rows]],
            cn.suffix[rows],
            plan.name_variant[rows],
        ),
        noise.person_names(plan.surname[rows], plan.given[rows], plan.name_variant[rows]),
    )
    return Chunk(
        rows=rows,
        ids=np.arange(first_id, first_id + n),
        created=plan.created[rows],
        company=company,
        city=city,
        division=plan.division[rows],
        size=size,
        source=plan.source[rows],
        owner=roster.owners(rng, places.REGION_INDEX[city]),
        scale=median * rng.lognormal(0.0, SCALE_SPREAD, n),
        name=name,
    )


@dataclass(frozen=True)
class Outcome:
    """What each customer's history made of it."""

    status: Array  # customer status codes
    grade: Array
    last_contact: Array  # seconds; -1: never contacted
    updated: Array  # seconds of the last change


def customer_rows(
    rng: np.random.Generator,
    plan: CustomerPlan,
    chunk: Chunk,
    code: Array,
    outcome: Outcome,
    timeline: Timeline,
) -> Rows:
    rows, company, city, n = chunk.rows, chunk.company, chunk.city, len(chunk)
    bad = plan.bad[rows]
    person = ~company
    industry = company & (chunk.division >= 0) & (bad != noise.NO_INDUSTRY)
    located = bad != noise.NO_PROVINCE
    division = np.maximum(chunk.division, 0)
    age = rng.integers(AGE_YEARS[0] * 365, AGE_YEARS[1] * 365, n)
    consent = person & (rng.random(n) < CONSENT_SHARE)
    erp = plan.erp[rows]
    erp_digits = max(ERP_DIGITS, len(str(len(plan.created))))
    address = plan.address.take(rows)
    return {
        "id": chunk.ids,
        "code": code,
        "external_id": nullable(concat("ERP-", zfill(erp, erp_digits)), erp > 0),
        "kind": np.where(company, "company", "person").astype(object),
        "name": chunk.name,
        "industry_section": nullable(names.SECTION[division], industry),
        "industry_division": nullable(names.DIVISION[division], industry),
        "size": nullable(SIZES[np.maximum(chunk.size, 0)], company),
        "province": nullable(places.PROVINCE_NAME[city], located),
        "city": places.CITY[city],
        "postcode": places.postcodes(city, address),
        "region": nullable(places.REGION[city], located),
        "address": places.address_text(city, address, plan.short_address[rows]),
        "grade": outcome.grade,
        "status": outcome.status,
        "source": SOURCES[chunk.source],
        "owner_id": chunk.owner,
        "birthday": timeline.dates(chunk.created - age * DAY, person),
        "consent_purpose": nullable(
            CONSENT_PURPOSES[rng.integers(0, len(CONSENT_PURPOSES), n)], consent
        ),
        "consent_at": timeline.stamp(chunk.created, consent),
        "last_contact_at": timeline.stamp(outcome.last_contact, outcome.last_contact >= 0),
        "created_at": timeline.stamp(chunk.created),
        "updated_at": timeline.stamp(outcome.updated),
    }


def tag_rows(rng: np.random.Generator, chunk: Chunk, first_id: int) -> Rows:
    """Free tags on about a third of the customers (never the same tag twice on one)."""
    u = rng.random(len(chunk))
    count = (u < TAG_SHARES[0]).astype(np.int64) + (u < TAG_SHARES[1])
    parent, nth = expand(count)
    first = rng.integers(0, len(TAGS), len(chunk))
    step = rng.integers(1, len(TAGS), len(chunk))
    tag = (first[parent] + nth * step[parent]) % len(TAGS)
    return {
        "id": np.arange(first_id, first_id + len(parent)),
        "customer_id": chunk.ids[parent],
        "tag": TAGS[tag],
    }


def duplicate_pairs(plan: CustomerPlan, timeline: Timeline) -> list[tuple[str, str]]:
    """(original code, duplicate code) of every injected duplicate, as numbered in a
    database that had no customer codes on those days before."""
    duplicate = np.flatnonzero(plan.original >= 0)
    none = np.zeros(timeline.days, dtype=np.int64)
    originals = codes(plan, plan.original[duplicate], timeline, none)
    copies = codes(plan, duplicate, timeline, none)
    return list(zip(originals.tolist(), copies.tolist(), strict=True))
