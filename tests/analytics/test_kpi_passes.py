"""The KPI catalogue's shared passes and planner hints, on SQLite and PostgreSQL: KPIs that
read one pass (over the orders, the open deals, the period's tickets, the primary
contacts) give the pandas reference's values, grouped and narrowed too, and completeness
counts a customer with several primary contacts once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date

import pandas as pd
import pytest
from sqlalchemy import text
from sqlalchemy.dialects import postgresql, sqlite

import crmlib
from crmlib.analytics.filters import Filters
from crmlib.analytics.kpi import CATALOGUE, Kpis
from crmlib.analytics.kpi.query import Query, unindexed
from crmlib.demo import generate
from crmlib.rules.records import completeness_checks
from crmlib.settings import set_setting
from crmlib.store import make_engine
from crmlib.store.models import Customer, Opportunity
from tests.analytics.test_kpi import SALES_COST, Demo, read_tables, reference, same

START, END = pd.Timestamp("2025-01-01"), pd.Timestamp("2026-01-01")


@pytest.fixture(scope="module")
def demo(module_db_url: str) -> Iterator[Demo]:
    engine = make_engine(module_db_url)
    generate(engine, customers=300, seed=11, start=date(2024, 1, 1))
    engine.dispose()
    with crmlib.open(module_db_url, user="admin") as ws, ws.ctx.session() as session:
        set_setting(session, "sales_cost_per_month", SALES_COST)
    tables = read_tables(module_db_url)
    users, customers = tables["users"], tables["customers"]
    reps = users[users["role"] == "sales"].set_index("id")
    busiest = next(i for i in customers["owner_id"].value_counts().index if i in reps.index)
    rep = reps.loc[busiest]
    yield Demo(module_db_url, tables, str(rep["username"]), str(rep["team"]))


def test_completeness_counts_a_customer_with_two_primary_contacts_once(demo: Demo) -> None:
    contacts, customers = demo.tables["contacts"], demo.tables["customers"]
    kept = set(customers.loc[customers["merged_into_id"].isna(), "id"])
    primary = contacts[
        contacts["is_primary"].astype(bool)
        & contacts["email"].notna()
        & contacts["customer_id"].isin(kept)
    ]
    doubled = customers.set_index("id").loc[primary["customer_id"].unique()[:3], "code"]
    with crmlib.open(demo.url, user="admin", lang="en") as ws:
        for n, code in enumerate(doubled):
            ws.contacts.add(
                code,
                name=f"Second {n}",
                title="经理",
                email=f"second{n}@example.com",
                is_primary=True,
            )
        got = ws.kpi("completeness")["value"].iloc[0]
        by_region = ws.kpi("completeness", by="region")
        narrowed = ws.kpi("completeness", region="华东")["value"].iloc[0]
    again = Demo(demo.url, read_tables(demo.url), demo.rep, demo.team)
    assert (again.tables["contacts"].groupby("customer_id")["is_primary"].sum() > 1).sum() == 3
    # Counted per contact, the doubled emails would lift the share above the reference's.
    assert same(got, reference(again).completeness())
    assert same(narrowed, reference(again, region="华东").completeness())
    for region, value in zip(by_region["region"], by_region["value"], strict=True):
        ref = reference(
            again, region=None if pd.isna(region) else region, region_is_null=pd.isna(region)
        )
        assert same(value, ref.completeness())


def test_contact_fields_apply_to_every_customer() -> None:
    """Completeness counts a contact field's failures as the customers less those having
    it: right only while such a field applies to every customer, as in the scorecard."""
    on_contact = [c for c in completeness_checks() if c.on_primary is not None]
    assert len(on_contact) == 4
    assert {str(c.applies.compile(dialect=sqlite.dialect())) for c in on_contact} == {"1"}


def test_service_times_by_month_share_one_pass(demo: Demo) -> None:
    with crmlib.open(demo.url, user="admin", lang="en") as ws:
        frames = {
            kpi_id: ws.kpi(kpi_id, by="month", period="2025").set_index("month")["value"]
            for kpi_id in ("first_response_hours", "resolution_hours", "sla_compliance")
        }
    for kpi_id, values in frames.items():
        assert len(values) >= 6
        for month, got in values.items():
            start = pd.Timestamp(f"{month}-01")
            ref = reference(
                demo,
                start=start,
                end=start + pd.DateOffset(months=1),
                as_of=pd.Timestamp("2025-12-31"),
            )
            assert same(got, getattr(ref, kpi_id)()), (kpi_id, month)


def test_open_deals_and_stock_kpis_by_region(demo: Demo) -> None:
    with crmlib.open(demo.url, user="admin", lang="en") as ws:
        frames = {
            kpi_id: ws.kpi(kpi_id, by="region", period="2025")
            for kpi_id in ("pipeline_value", "weighted_forecast", "retention_12m", "clv")
        }
    for kpi_id, frame in frames.items():
        for region, got in zip(frame["region"], frame["value"], strict=True):
            ref = reference(
                demo,
                start=START,
                end=END,
                region=None if pd.isna(region) else region,
                region_is_null=pd.isna(region),
            )
            assert same(got, getattr(ref, kpi_id)()), (kpi_id, region)


def test_a_sales_reps_stage_days_cover_only_their_deals(demo: Demo) -> None:
    ref = reference(demo, demo.rep, start=START, end=END).stage_days()
    everyone = reference(demo, start=START, end=END).stage_days()
    with crmlib.open(demo.url, user=demo.rep, lang="en") as ws:
        got = ws.kpi("stage_days", period="2025").set_index("stage")["value"]
    assert set(got.index) == set(ref.index)
    assert got.to_numpy() == pytest.approx(ref[got.index].to_numpy(), rel=1e-9)
    assert got.to_numpy() != pytest.approx(everyone[got.index].to_numpy(), rel=1e-9)


def test_catalogue_equals_the_single_kpis_for_a_rep(demo: Demo) -> None:
    """The catalogue runs the passes side by side; each KPI alone runs its own."""
    with crmlib.open(demo.url, user=demo.rep, lang="en") as ws:
        frame = ws.kpis(period="2025")
        alone = {k: ws.kpi(k, period="2025") for k in CATALOGUE}
    for kpi_id, single in alone.items():
        rows = frame[frame["id"] == kpi_id]
        assert len(rows) == len(single), kpi_id
        for got, want in zip(rows["value"], single["value"], strict=True):
            assert same(got, want), kpi_id


def test_kpi_connections_read_sqlite_through_a_memory_map(demo: Demo) -> None:
    with crmlib.open(demo.url, user="admin") as ws, Kpis(ws.ctx)._reading() as conn:
        if conn.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA mmap_size").scalar() > 0
        assert conn.execute(text("SELECT 1")).scalar() == 1


def test_unindexed_is_a_unary_plus_on_sqlite_only() -> None:
    test = unindexed(Opportunity.stage) == "won"
    assert str(test.compile(dialect=sqlite.dialect())) == "+opportunities.stage = ?"
    assert "+" not in str(test.compile(dialect=postgresql.dialect()))
    assert unindexed(Customer.created_at).type is Customer.__table__.c.created_at.type


def test_once_runs_different_passes_side_by_side(demo: Demo) -> None:
    """Each shared pass has its own lock: while one runs, another may start (with one
    lock for all, both computations below would wait for each other until the timeout)."""
    with crmlib.open(demo.url, user="admin") as ws:
        q = Query(ws.ctx, Filters.of("2025"))
    both = threading.Barrier(2, timeout=10)
    calls: list[str] = []

    def compute(key: str) -> str:
        calls.append(key)
        both.wait()
        return key

    threads = [threading.Thread(target=lambda k=k: q.once(k, lambda: compute(k))) for k in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(calls) == ["a", "b"] and not both.broken
    assert q.once("a", lambda: "again") == "a"
