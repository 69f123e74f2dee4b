"""The catalogue works out the customers it counts once per request (a temporary table per
connection): a manager's catalogue must equal the single KPIs and the pandas reference, and
nothing of one request may reach a later one on the same engine or connection."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import DBAPIError

import crmlib
from crmlib.analytics.kpi.compute import Kpis
from crmlib.analytics.kpi.query import COUNTED
from crmlib.context import Context
from tests.analytics.test_kpi import Q2, SINGLE, Demo, demo, reference, same, value

__all__ = ["demo"]  # the fixture: its own 400-customer demo per backend for this module

BOUNDS = {"start": Q2[0], "end": Q2[1]}


def _manager(demo: Demo) -> str:
    """The manager whose team owns the most customers."""
    users, customers = demo.tables["users"], demo.tables["customers"]
    owned = customers["owner_id"].map(users.set_index("id")["team"]).value_counts()
    managers = users[users["role"] == "manager"].set_index("team")["username"]
    return str(managers[next(team for team in owned.index if team in managers.index)])


def _values(frame: pd.DataFrame) -> dict[str, float]:
    return {
        k: float(v) for k, v in zip(frame["id"], frame["value"], strict=True) if k != "stage_days"
    }


def _leftover(engine: Engine) -> list[bool]:
    """For every connection the pool holds, whether it still has the counted customers."""
    held = [engine.connect() for _ in range(engine.pool.checkedin())]  # type: ignore[attr-defined]
    found = []
    try:
        for conn in held:
            try:
                conn.execute(select(func.count()).select_from(COUNTED))
                found.append(True)
            except DBAPIError:
                found.append(False)
            conn.rollback()
    finally:
        for conn in held:
            conn.close()
    return found


def test_a_managers_catalogue_is_the_single_kpis_and_the_reference(demo: Demo) -> None:
    manager = _manager(demo)
    ref = reference(demo, manager, **BOUNDS)
    everyone = reference(demo, **BOUNDS)
    assert 0 < len(ref.ids) < len(everyone.ids)
    with crmlib.open(demo.url, user=manager, lang="en") as ws:
        frame = ws.kpis(period="2025-Q2")
        single = {k: value(ws, k, period="2025-Q2") for k in SINGLE}
        stages = ws.kpi("stage_days", period="2025-Q2").set_index("stage")["value"]
    got = _values(frame)
    assert {k for k in SINGLE if not same(got[k], single[k])} == set()
    assert {k for k in SINGLE if not same(got[k], getattr(ref, k)())} == set()
    rows = frame[frame["id"] == "stage_days"].set_index("stage")["value"]
    assert rows.to_dict() == stages.to_dict()
    assert got["revenue"] < everyone.revenue()


def test_a_managers_region_filter_narrows_the_team(demo: Demo) -> None:
    manager = _manager(demo)
    bounds = {**BOUNDS, "region": "华东"}
    ref, team = reference(demo, manager, **bounds), reference(demo, manager, **BOUNDS)
    assert 0 < len(ref.ids) < len(team.ids)
    with crmlib.open(demo.url, user=manager, lang="en") as ws:
        got = _values(ws.kpis(period="2025-Q2", region="华东"))
    assert {k for k in SINGLE if not same(got[k], getattr(ref, k)())} == set()


def test_the_counted_customers_do_not_reach_a_later_request(demo: Demo) -> None:
    """Manager, then an admin filtering by region, then the admin unfiltered, all on one
    engine: each sees its own figures, and the pool's connections keep no table."""
    manager = _manager(demo)
    with (
        crmlib.open(demo.url, user="admin", lang="en") as admin,
        crmlib.open(demo.url, user=manager, lang="en") as mine,
    ):
        as_manager = Kpis(Context(admin.engine, mine.ctx.actor, "en"))
        first = _values(as_manager.kpis(period="2025-Q2"))
        assert _leftover(admin.engine) and not any(_leftover(admin.engine))
        south = _values(admin.kpis(period="2025-Q2", region="华南"))
        assert not any(_leftover(admin.engine))
        everyone = _values(admin.kpis(period="2025-Q2"))
        again = _values(as_manager.kpis(period="2025-Q2"))
    for got, ref in (
        (first, reference(demo, manager, **BOUNDS)),
        (south, reference(demo, region="华南", **BOUNDS)),
        (everyone, reference(demo, **BOUNDS)),
        (again, reference(demo, manager, **BOUNDS)),
    ):
        assert {k for k in SINGLE if not same(got[k], getattr(ref, k)())} == set()


def test_a_failing_kpi_leaves_no_table_behind(demo: Demo) -> None:
    """CSAT fails for real (its table is renamed away); the catalogue's connections go back
    to the pool without the request's table, and the next request computes right."""
    manager = _manager(demo)
    with crmlib.open(demo.url, user=manager, lang="en") as ws:
        with ws.engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE feedback RENAME TO feedback_away")
        try:
            with pytest.raises(DBAPIError, match="feedback"):
                ws.kpis(period="2025-Q2")
        finally:
            with ws.engine.begin() as conn:
                conn.exec_driver_sql("ALTER TABLE feedback_away RENAME TO feedback")
        assert not any(_leftover(ws.engine))
        got = _values(ws.kpis(period="2025-Q2", region="华东"))
    ref = reference(demo, manager, region="华东", **BOUNDS)
    assert {k for k in SINGLE if not same(got[k], getattr(ref, k)())} == set()
