"""What a KPI is and how one is registered: :func:`kpi` on the function computing it
carries everything about the figure (names, formula, unit, period date, groupings, cost
and the pass it shares), so a new KPI is one decorated function and nothing else.

``period`` names the date the period filter applies to; ``as of`` figures are stocks
measured on the as-of day (``as_of``, else the period's last day, else today).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Connection

from ...i18n import t
from ...registry import Registry
from .query import Query

#: Units: a count, a share 0..1, money in CNY, a duration, or a score.
UNITS = ("count", "share", "CNY", "days", "hours", "score")
#: Customer attributes every customer-based KPI can be grouped by (the customer's owner).
CUSTOMER_GROUPS = ("region", "province", "team", "owner", "industry")
#: Groupings of a flow figure (counted over the period): also by month.
FLOW = (*CUSTOMER_GROUPS, "month")
#: Groupings of a stock figure (measured on the as-of day).
STOCK = CUSTOMER_GROUPS
#: The families KPIs are listed under, in order; each is named in the message catalogue
#: as ``kpi_family:<family>``.
FAMILIES = ("customers", "value", "sales", "service", "data")

#: Computes a KPI for a request on a connection: a ``value`` column, after the group key.
Compute = Callable[[Query, Connection], pd.DataFrame]


@dataclass(frozen=True)
class Kpi:
    """One figure: what it is called, how it is computed and how it may be grouped.

    ``cost`` is the seconds it takes alone at a million customers on SQLite (the
    ``per_kpi_s`` of ``benchmarks/kpis.py``, its shared pass included): the catalogue
    starts the costliest first. ``shares`` names the pass over a table it reads through
    :meth:`Query.once`, which the KPIs asking for the same pass in one request share.

    Its name, formula and the date its period applies to are in the message catalogue, as
    ``kpi:<id>.name``, ``kpi:<id>.formula`` and ``kpi:<id>.period``, so a translator
    edits only the catalogue files.
    """

    id: str
    family: str
    unit: str
    by: tuple[str, ...]
    compute: Compute
    cost: float
    shares: str | None = None
    lower_is_better: bool = False

    def name(self, lang: str | None = None) -> str:
        return t(f"kpi:{self.id}.name", lang)

    def formula(self, lang: str | None = None) -> str:
        return t(f"kpi:{self.id}.formula", lang)

    def period(self, lang: str | None = None) -> str:
        return t(f"kpi:{self.id}.period", lang)


def family_name(family: str, lang: str | None = None) -> str:
    """The name of a family of KPIs (Customers, Value …) in ``lang``."""
    return t(f"kpi_family:{family}", lang)


#: Every KPI, in the order the dashboard and the reference list them (registration order).
CATALOGUE: Registry[Kpi] = Registry("kpi")


def kpi(
    id: str,
    family: str,
    unit: str,
    *,
    cost: float,
    by: tuple[str, ...] = (),
    shares: str | None = None,
    lower_is_better: bool = False,
) -> Callable[[Compute], Compute]:
    """Register the decorated function as the computation of KPI ``id`` (see :class:`Kpi`;
    its texts go in the message catalogue); a family or unit that does not exist, or an id
    registered before, is refused."""
    if family not in FAMILIES:
        raise ValueError(f"KPI {id}: family {family!r} is not one of {', '.join(FAMILIES)}")
    if unit not in UNITS:
        raise ValueError(f"KPI {id}: unit {unit!r} is not one of {', '.join(UNITS)}")

    def register(compute: Compute) -> Compute:
        CATALOGUE.add(
            id,
            Kpi(id, family, unit, by, compute, cost, shares, lower_is_better),
        )
        return compute

    return register


def schedule(ids: Iterable[str]) -> list[str]:
    """The order in which to compute the KPIs ``ids`` (each once) on side-by-side
    connections: the costliest first, so that the connections finish together rather than
    one waiting on a long query started last. Of the KPIs sharing a pass, the costliest
    runs it in that order; the others go last and find it done instead of waiting on it."""
    wanted = set(ids)
    chosen = [k for k in CATALOGUE.values() if k.id in wanted]
    runs: dict[str, Kpi] = {}
    for k in sorted(chosen, key=lambda k: -k.cost):
        if k.shares is not None:
            runs.setdefault(k.shares, k)
    first = [k for k in chosen if k.shares is None or runs[k.shares] is k]
    last = [k.id for k in chosen if k.shares is not None and runs[k.shares] is not k]
    return [k.id for k in sorted(first, key=lambda k: -k.cost)] + last
