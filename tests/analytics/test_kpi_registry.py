"""Every KPI is one registration (``@kpi`` on its computation): each must be complete
(computes, named in both languages, its groupings work, the pass it claims to share is the
one it reads), a name is registered once, and the catalogue's order of work follows from
the registrations' costs and shared passes."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

import pandas as pd
import pytest

import crmlib
from crmlib import admin
from crmlib.analytics.filters import Filters
from crmlib.analytics.kpi import CATALOGUE, FAMILIES, UNITS, kpi
from crmlib.analytics.kpi.catalogue import family_name, schedule
from crmlib.analytics.kpi.query import Query
from crmlib.errors import ValidationError
from crmlib.i18n import MESSAGES
from crmlib.reporting import REPORTS
from crmlib.workspace import Workspace

CJK = re.compile(r"[\u4e00-\u9fff]")
PERIOD = "2025"


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    url = f"sqlite:///{tmp_path_factory.mktemp('kpi_registry') / 'crm.db'}"
    opened = crmlib.open(url, user="admin", lang="en")
    admin.build_demo(opened.engine, customers=120, seed=3, fresh=True)
    yield opened
    opened.close()


def _nothing(q: Query, conn: object) -> pd.DataFrame:
    raise AssertionError("a refused registration is never computed")


# -- each registration is complete --------------------------------------------------------


@pytest.mark.parametrize("kpi_id", list(CATALOGUE))
def test_every_kpi_is_described_in_both_languages(kpi_id: str) -> None:
    k = CATALOGUE[kpi_id]
    for zh in (k.name("zh"), k.formula("zh"), k.period("zh"), family_name(k.family, "zh")):
        assert CJK.search(zh), (kpi_id, zh)
    # a Chinese reader meets no English word in the Chinese name
    name = k.name("zh")
    assert not re.search(r"[A-Za-z]{4,}", name.replace("CSAT", "").replace("NPS", "")), name
    for en in (k.name("en"), k.formula("en"), k.period("en"), family_name(k.family, "en")):
        assert en and not CJK.search(en), (kpi_id, en)
    assert k.family in FAMILIES and k.unit in UNITS
    assert k.cost > 0


def test_the_catalogue_describes_exactly_the_registered_kpis_and_families() -> None:
    """A KPI's texts are catalogue keys named after it: none missing, none left behind by
    a KPI that was removed or renamed (``kpi:`` keys without a dot are the KPI errors)."""
    described = {
        key
        for key in MESSAGES
        if key.startswith("kpi_family:") or (key.startswith("kpi:") and "." in key)
    }
    expected = {f"kpi:{k}.{text}" for k in CATALOGUE for text in ("name", "formula", "period")}
    assert described == expected | {f"kpi_family:{family}" for family in FAMILIES}


@pytest.mark.parametrize("kpi_id", list(CATALOGUE))
def test_every_kpi_computes_alone_and_in_each_grouping(ws: Workspace, kpi_id: str) -> None:
    k = CATALOGUE[kpi_id]
    alone = ws.kpi(kpi_id, period=PERIOD)
    assert "value" in alone.columns and len(alone) >= 1
    assert pd.api.types.is_numeric_dtype(alone["value"])
    for by in k.by:
        grouped = ws.kpi(kpi_id, by=by, period=PERIOD)
        assert list(grouped.columns) == [by, "value"], (kpi_id, by)
        assert pd.api.types.is_numeric_dtype(grouped["value"]), (kpi_id, by)


@pytest.mark.parametrize("kpi_id", list(CATALOGUE))
def test_a_kpi_shares_exactly_the_pass_it_reads(ws: Workspace, kpi_id: str) -> None:
    """The pass a registration names is the one its computation reads through
    ``Query.once``: a pass read but not declared would be scheduled as if unshared."""
    k = CATALOGUE[kpi_id]
    query = Query(ws.ctx, Filters.of(period=PERIOD))
    with ws.ctx.reading() as conn:
        k.compute(query, conn)
    assert set(query._memo) == ({k.shares} if k.shares else set())


def test_every_shared_pass_is_shared() -> None:
    passes = [k.shares for k in CATALOGUE.values() if k.shares]
    assert passes and all(passes.count(p) >= 2 for p in passes)


# -- registering ---------------------------------------------------------------------------


def _register(kpi_id: str, family: str = "value", unit: str = "CNY") -> None:
    kpi(
        kpi_id,
        family,
        unit,
        cost=0.01,
    )(_nothing)


def test_a_kpi_is_registered_once() -> None:
    before = CATALOGUE.items()
    with pytest.raises(ValueError, match="revenue"):
        _register("revenue")
    assert CATALOGUE.items() == before  # the first registration stands


@pytest.mark.parametrize(("family", "unit"), [("profit", "CNY"), ("value", "USD")])
def test_a_kpi_of_no_family_or_unit_is_refused(family: str, unit: str) -> None:
    with pytest.raises(ValueError, match="margin"):
        _register("margin", family, unit)
    assert "margin" not in CATALOGUE


def test_an_unknown_kpi_names_the_known_ones_in_chinese(ws: Workspace) -> None:
    zh = crmlib.open(str(ws.engine.url), user="admin", lang="zh")
    with zh, pytest.raises(ValidationError) as caught:
        zh.kpi("profit")
    error = caught.value.errors[0]
    assert (error.field, error.value, error.rule) == ("kpi", "profit", "known_kpi")
    assert "指标" in error.message and "win_rate" in error.message
    assert "KPI" not in error.message


# -- the order of work ---------------------------------------------------------------------


def _check_order(ids: list[str]) -> None:
    order = schedule(ids)
    assert sorted(order) == sorted(set(ids))
    runs: dict[str, int] = {}
    for position, kpi_id in enumerate(order):
        shared = CATALOGUE[kpi_id].shares
        if shared is not None:
            runs.setdefault(shared, position)
    for position, kpi_id in enumerate(order):
        shared = CATALOGUE[kpi_id].shares
        if shared is not None and runs[shared] != position:
            # a KPI reading a pass another one runs comes after every KPI that runs one
            assert position > max(runs.values()), (order, kpi_id)
    started = [k for k in order if CATALOGUE[k].shares is None or order.index(k) in runs.values()]
    costs = [CATALOGUE[k].cost for k in started]
    assert costs == sorted(costs, reverse=True), order  # the costliest first


def test_the_catalogue_runs_each_pass_first_and_its_readers_last() -> None:
    order = schedule(CATALOGUE)
    _check_order(list(CATALOGUE))
    assert order[0] == max(CATALOGUE.values(), key=lambda k: k.cost).id
    for shared in {k.shares for k in CATALOGUE.values() if k.shares}:
        readers = [k for k in order if CATALOGUE[k].shares == shared]
        runner = max((CATALOGUE[k] for k in readers), key=lambda k: k.cost)
        assert readers[0] == runner.id


def test_any_selection_is_ordered_by_the_same_rule() -> None:
    for report in REPORTS.values():
        _check_order(list(report.headline))
    for ids in itertools.combinations(list(CATALOGUE)[::2], 4):
        _check_order(list(ids))
    # without the KPI that would run it, a reader runs its pass itself, in cost order
    assert schedule(["retention_12m", "nps"]) == ["retention_12m", "nps"]
