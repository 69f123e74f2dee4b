"""The demo's staff: an administrator, managers, regional sales teams and the marketing,
service, finance and analyst users that campaigns, tickets and reports need.

Sales reps are about one per 250 customers, in teams named after the regions (east, south,
north …) so that scoping by team works on the demo as it would in a real company. A small
region without a rep of its own is served by a neighbouring team.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from ..reference.regions import REGIONS
from .names import GIVEN, GIVEN_PINYIN, SURNAME, SURNAME_PINYIN, draw_people
from .places import TEAMS, region_shares
from .vectors import Array, Rows, pool

ADMIN = "admin"
CUSTOMERS_PER_REP = 250
MIN_REPS = 4
CUSTOMERS_PER_AGENT = 20_000
MIN_AGENTS = 3
CORE_REGIONS = ("华东", "华南", "华北")
# A region without reps is served by this one's team.
NEIGHBOUR = {"华中": "华东", "西南": "华南", "西北": "华北", "东北": "华北"}
SERVICE_TEAM = "service"
# Technical tickets go to this team (the default ``ticket_routing``): a third of the agents.
SUPPORT_TEAM = "support"
MARKETING_TEAM = "marketing"
FINANCE_TEAM = "finance"
ANALYTICS_TEAM = "analytics"


@dataclass(frozen=True)
class Roster:
    """Who does the work: database ids of the users each kind of record is assigned to."""

    rows: Rows  # the new users to insert
    reps: Array  # sales rep ids, grouped by region
    region_first: Array  # per region: first position of its team in ``reps``
    region_count: Array  # per region: size of its team
    marketing: Array
    service: Array
    service_names: Array  # usernames of ``service``, for ticket transfer events
    service_teams: Array  # teams of ``service`` (service or support)

    def owners(self, rng: np.random.Generator, region: Array) -> Array:
        """A sales rep of the team serving each region (indices into REGIONS)."""
        pick = (rng.random(len(region)) * self.region_count[region]).astype(np.int64)
        return self.reps[self.region_first[region] + pick]


def build_roster(
    rng: np.random.Generator, customers: int, taken: set[str], first_id: int, since: datetime
) -> Roster:
    """The staff for ``customers`` customers; ``taken`` usernames exist already and are kept."""
    names = _Namer(rng, taken)
    staff: list[tuple[str, str, str, str | None]] = []  # username, display name, role, team
    if ADMIN not in taken:
        staff.append((ADMIN, "系统管理员", "admin", None))
    reps_per_region = _reps_per_region(max(MIN_REPS, round(customers / CUSTOMERS_PER_REP)))
    team_of = {
        region: region if reps_per_region[i] else NEIGHBOUR[region]
        for i, region in enumerate(REGIONS)
    }
    managed = CORE_REGIONS[: 2 if customers < 2_000 else 3]
    staff += [(*names.next(), "manager", TEAMS[region]) for region in managed]
    rep_region: list[int] = []
    for i, region in enumerate(REGIONS):
        for _ in range(reps_per_region[i]):
            staff.append((*names.next(), "sales", TEAMS[region]))
            rep_region.append(i)
    agents = max(MIN_AGENTS, math.ceil(customers / CUSTOMERS_PER_AGENT))
    support = max(1, agents // 3)
    others = [
        ("marketing", MARKETING_TEAM, 2),
        ("service", SERVICE_TEAM, agents - support),
        ("service", SUPPORT_TEAM, support),
    ]
    extra = 1 if customers > 100_000 else 0
    others += [("finance", FINANCE_TEAM, 1 + extra), ("analyst", ANALYTICS_TEAM, 1 + extra)]
    for role, team, count in others:
        staff += [(*names.next(), role, team) for _ in range(count)]

    ids = np.arange(first_id, first_id + len(staff))
    roles = np.array([s[2] for s in staff])
    rows: Rows = {
        "id": ids,
        "username": pool([s[0] for s in staff]),
        "display_name": pool([s[1] for s in staff]),
        "role": roles.astype(object),
        "team": pool([s[3] for s in staff]),
        "active": np.ones(len(staff), dtype=bool),
        "created_at": np.full(len(staff), np.datetime64(since - timedelta(days=30), "s")),
    }
    reps = ids[roles == "sales"]
    rep_regions = np.array(rep_region)
    served = np.array([REGIONS.index(team_of[r]) for r in REGIONS])
    order = np.argsort(rep_regions, kind="stable")
    team_first = np.searchsorted(rep_regions[order], np.arange(len(REGIONS)))
    team_size = np.bincount(rep_regions, minlength=len(REGIONS))
    return Roster(
        rows=rows,
        reps=reps[order],
        region_first=team_first[served],
        region_count=team_size[served],
        marketing=ids[roles == "marketing"],
        service=ids[roles == "service"],
        service_names=rows["username"][roles == "service"],
        service_teams=rows["team"][roles == "service"],
    )


def _reps_per_region(reps: int) -> list[int]:
    """Reps per region, proportional to customers, at least one in each core region."""
    shares = region_shares()
    counts = np.array([1 if region in CORE_REGIONS else 0 for region in REGIONS])
    wanted = shares * reps - counts
    for _ in range(reps - int(counts.sum())):
        best = int(np.argmax(wanted))
        counts[best] += 1
        wanted[best] -= 1
    return [int(c) for c in counts]


class _Namer:
    """Chinese display names with unique pinyin logins (zhang.wei, zhang.wei2 …)."""

    def __init__(self, rng: np.random.Generator, taken: set[str]) -> None:
        self._rng = rng
        self._taken = set(taken)

    def next(self) -> tuple[str, str]:
        surname, given = (int(x[0]) for x in draw_people(self._rng, 1))
        base = f"{SURNAME_PINYIN[surname]}.{GIVEN_PINYIN[given]}"
        username, n = base, 1
        while username in self._taken:
            n += 1
            username = f"{base}{n}"
        self._taken.add(username)
        return username, f"{SURNAME[surname]}{GIVEN[given]}"
