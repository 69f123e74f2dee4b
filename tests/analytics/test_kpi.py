"""The KPI catalogue against an independent pandas computation on demo data, on SQLite and
PostgreSQL: every KPI, the filters, role scoping, ``by=`` grouping and the errors.

The reference reads the raw tables with plain ``SELECT *`` and computes each KPI from its
written definition; it never calls the code under test.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

import crmlib
from crmlib.analytics.kpi import CATALOGUE
from crmlib.cli import main
from crmlib.demo import generate
from crmlib.errors import ValidationError
from crmlib.settings import set_setting
from crmlib.store import make_engine

TABLES = (
    "users",
    "customers",
    "contacts",
    "orders",
    "leads",
    "opportunities",
    "opportunity_stage_history",
    "tickets",
    "feedback",
    "campaigns",
    "campaign_members",
)
MOMENTS = {
    "customers": ("created_at", "consent_at", "birthday"),
    "orders": ("ordered_at",),
    "leads": ("created_at", "converted_at"),
    "opportunities": ("created_at", "closed_at"),
    "opportunity_stage_history": ("entered_at", "left_at"),
    "tickets": (
        "opened_at",
        "first_response_at",
        "first_response_due",
        "resolved_at",
        "resolution_due",
    ),
    "feedback": ("answered_at",),
    "campaigns": ("start_date",),
}
SALES_COST = 30_000.0
Q2 = (pd.Timestamp("2025-04-01"), pd.Timestamp("2025-07-01"))
Y2024 = (pd.Timestamp("2024-01-01"), pd.Timestamp("2025-01-01"))


@dataclass
class Demo:
    url: str
    tables: dict[str, pd.DataFrame]
    rep: str  # a sales rep with customers
    team: str  # that rep's team


def read_tables(url: str) -> dict[str, pd.DataFrame]:
    """Every table the pandas reference needs, read whole (the naive approach), with the
    moments parsed as timestamps."""
    raw = create_engine(url)
    tables = {}
    with raw.connect() as conn:
        for name in TABLES:
            frame = pd.read_sql(text(f"SELECT * FROM {name}"), conn)
            for column in MOMENTS.get(name, ()):
                frame[column] = pd.to_datetime(frame[column], format="ISO8601")
            tables[name] = frame
    raw.dispose()
    return tables


@pytest.fixture(scope="module")
def demo(module_db_url: str) -> Iterator[Demo]:
    engine = make_engine(module_db_url)
    generate(engine, customers=400, seed=7, start=date(2024, 1, 1))
    engine.dispose()
    with crmlib.open(module_db_url, user="admin") as ws, ws.ctx.session() as session:
        set_setting(session, "sales_cost_per_month", SALES_COST)
    tables = read_tables(module_db_url)
    users, customers = tables["users"], tables["customers"]
    reps = users[users["role"] == "sales"]
    busiest = customers["owner_id"].value_counts()
    rep = reps.set_index("id").loc[next(i for i in busiest.index if i in set(reps["id"]))]
    yield Demo(module_db_url, tables, str(rep["username"]), str(rep["team"]))


# -- the reference ----------------------------------------------------------------------


@dataclass
class Ref:
    """The KPIs computed in pandas from the raw tables, for one set of filters."""

    t: dict[str, pd.DataFrame]
    ids: set[int]  # customers counted
    leads: pd.DataFrame  # leads counted
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    day: pd.Timestamp  # midnight of the as-of day
    narrowed: bool
    segment: bool = False
    sales_cost: float = SALES_COST  # the setting sales_cost_per_month

    @property
    def day_end(self) -> pd.Timestamp:
        return self.day + pd.Timedelta(days=1)

    def within(self, s: pd.Series) -> pd.Series:
        mask = pd.Series(True, index=s.index)
        if self.start is not None:
            mask &= s >= self.start
        if self.end is not None:
            mask &= s < self.end
        return mask & s.notna()

    def mine(self, table: str) -> pd.DataFrame:
        frame = self.t[table]
        return frame[frame["customer_id"].isin(self.ids)]

    def _served(self, lo: pd.Timestamp, hi: pd.Timestamp) -> set[int]:
        o = self.mine("orders")
        return set(o.loc[(o["ordered_at"] >= lo) & (o["ordered_at"] <= hi), "customer_id"])

    def _window(self, day: pd.Timestamp, months: int = 12) -> tuple[pd.Timestamp, pd.Timestamp]:
        return day - pd.DateOffset(months=months) + pd.Timedelta(days=1), day

    def new_customers(self) -> float:
        c = self.t["customers"]
        return float(len(c[c["id"].isin(self.ids) & self.within(c["created_at"])]))

    def active_customers(self) -> float:
        return float(len(self._served(*self._window(self.day))))

    def retention_12m(self) -> float:
        recent = self._served(*self._window(self.day))
        year_ago = self.day - pd.DateOffset(months=12)
        before = self._served(self._window(self.day, 24)[0], year_ago)
        return len(recent & before) / len(before) if before else math.nan

    def churn_rate(self) -> float:
        opening = (
            self.start - pd.Timedelta(days=1)
            if self.start is not None
            else self.day - pd.DateOffset(months=12)
        )
        was = self._served(*self._window(opening))
        still = self._served(*self._window(self.day))
        return len(was - still) / len(was) if was else math.nan

    def _orders(self) -> pd.DataFrame:
        o = self.mine("orders")
        return o[self.within(o["ordered_at"])]

    def repurchase_rate(self) -> float:
        counts = self._orders()["customer_id"].value_counts()
        return float((counts >= 2).sum() / len(counts)) if len(counts) else math.nan

    def aov(self) -> float:
        o = self._orders()
        return float(o["amount"].astype(float).mean()) if len(o) else math.nan

    def revenue(self) -> float:
        return float(self._orders()["amount"].astype(float).sum())

    def clv(self) -> float:
        o = self.mine("orders")
        o = o[o["ordered_at"] <= self.day]
        return float(o["amount"].astype(float).sum() / o["customer_id"].nunique())

    def cac(self) -> float:
        start = self.start if self.start is not None else self._window(self.day)[0]
        end = self.end if self.end is not None else self.day_end
        c = self.t["customers"]
        created = (c["created_at"] >= start) & (c["created_at"] < end)
        everyone = int((created & c["merged_into_id"].isna()).sum())
        new = int((created & c["id"].isin(self.ids)).sum())
        camps = self.t["campaigns"]
        camps = camps[(camps["start_date"] >= start) & (camps["start_date"] < end)]
        members = self.t["campaign_members"]
        cost = 0.0
        for cid, actual in zip(camps["id"], camps["actual_cost"].fillna(0), strict=True):
            m = members[members["campaign_id"] == cid]
            share = 1.0
            if self.narrowed:
                share = m["customer_id"].isin(self.ids).sum() / len(m) if len(m) else 0.0
            cost += float(actual) * share
        months = (end.year - start.year) * 12 + end.month - start.month  # whole months here
        sales = self.sales_cost * months * (new / everyone if everyone else 0)
        return (cost + sales) / new if new else math.nan

    def lead_conversion(self) -> float:
        if self.segment:
            return math.nan
        leads = self.leads[self.within(self.leads["created_at"])]
        done = (leads["converted_at"] < self.day_end).sum()
        return float(done / len(leads)) if len(leads) else math.nan

    def _closed(self) -> pd.DataFrame:
        o = self.mine("opportunities")
        return o[self.within(o["closed_at"])]

    def win_rate(self) -> float:
        o = self._closed()
        o = o[o["stage"].isin(["won", "lost"])]
        return float((o["stage"] == "won").mean()) if len(o) else math.nan

    def sales_cycle_days(self) -> float:
        o = self._closed()
        o = o[o["stage"] == "won"]
        return float(((o["closed_at"] - o["created_at"]).dt.total_seconds() / 86400).mean())

    def _open(self) -> pd.DataFrame:
        o = self.mine("opportunities")
        still = (o["closed_at"] >= self.day_end) | (
            o["closed_at"].isna() & ~o["stage"].isin(["won", "lost"])
        )
        return o[(o["created_at"] < self.day_end) & still]

    def pipeline_value(self) -> float:
        return float(self._open()["amount"].astype(float).sum())

    def weighted_forecast(self) -> float:
        o = self._open()
        return float((o["amount"].astype(float) * o["probability"].fillna(0)).sum())

    def stage_days(self) -> pd.Series:
        h = self.t["opportunity_stage_history"]
        opp = self.mine("opportunities")
        h = h[h["opportunity_id"].isin(opp["id"])]
        h = h[(h["left_at"] < self.day_end) & self.within(h["entered_at"])]
        days = (h["left_at"] - h["entered_at"]).dt.total_seconds() / 86400
        return days.groupby(h["stage"]).mean()

    def _tickets(self) -> pd.DataFrame:
        tk = self.mine("tickets")
        return tk[self.within(tk["opened_at"])]

    def first_response_hours(self) -> float:
        tk = self._tickets()
        tk = tk[tk["first_response_at"] < self.day_end]
        return float(((tk["first_response_at"] - tk["opened_at"]).dt.total_seconds() / 3600).mean())

    def resolution_hours(self) -> float:
        tk = self._tickets()
        tk = tk[tk["resolved_at"] < self.day_end]
        return float(((tk["resolved_at"] - tk["opened_at"]).dt.total_seconds() / 3600).mean())

    def sla_compliance(self) -> float:
        tk = self._tickets()
        resolved = tk["resolved_at"] < self.day_end
        tk = tk[
            tk["first_response_due"].notna()
            & tk["resolution_due"].notna()
            & (resolved | (tk["resolution_due"] < self.day_end))
        ]
        met = (
            (tk["first_response_at"] <= tk["first_response_due"])
            & (tk["resolved_at"] < self.day_end)
            & (tk["resolved_at"] <= tk["resolution_due"])
        )
        return float(met.mean()) if len(tk) else math.nan

    def _answers(self, kind: str) -> pd.Series:
        f = self.mine("feedback")
        return f.loc[(f["kind"] == kind) & self.within(f["answered_at"]), "score"]

    def csat(self) -> float:
        s = self._answers("csat")
        return float((s >= 4).mean()) if len(s) else math.nan

    def nps(self) -> float:
        s = self._answers("nps")
        return float(((s >= 9).sum() - (s <= 6).sum()) * 100 / len(s)) if len(s) else math.nan

    def completeness(self) -> float:
        c = self.t["customers"]
        c = c[c["id"].isin(self.ids)]

        def filled(s: pd.Series) -> pd.Series:
            return s.notna() & (s.astype(str) != "")

        contacts = self.t["contacts"]
        primary = contacts[contacts["is_primary"].astype(bool)]
        shares = []
        for column, applies in [
            ("name", None),
            ("kind", None),
            ("industry_section", "company"),
            ("size", "company"),
            ("province", None),
            ("city", None),
            ("postcode", None),
            ("address", None),
            ("grade", None),
            ("status", None),
            ("source", None),
            ("owner_id", None),
            ("birthday", "person"),
            ("consent_purpose", "person"),
            ("consent_at", "person"),
        ]:
            rows = c if applies is None else c[c["kind"] == applies]
            if len(rows):
                shares.append(filled(rows[column]).mean())
        for column in ("name", "title", "phone", "email"):
            having = set(primary.loc[filled(primary[column]), "customer_id"])
            if len(c):
                shares.append(c["id"].isin(having).mean())
        return float(np.mean(shares)) if shares else math.nan


def reference(
    demo: Demo,
    user: str = "admin",
    *,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    as_of: pd.Timestamp | None = None,
    region: str | None = None,
    team: str | None = None,
    owner: str | None = None,
    region_is_null: bool = False,
) -> Ref:
    t = demo.tables
    users = t["users"].set_index("username")
    actor = users.loc[user]
    c = t["customers"]
    keep = c["merged_into_id"].isna()
    leads = t["leads"]
    lead_keep = pd.Series(True, index=leads.index)
    if actor["role"] == "sales":
        keep &= c["owner_id"] == actor["id"]
        lead_keep &= leads["owner_id"] == actor["id"]
    elif actor["role"] == "manager":
        mates = set(users.loc[users["team"] == actor["team"], "id"])
        keep &= c["owner_id"].isin(mates)
        waiting = leads["owner_id"].isna() & (
            leads["team"].isna() | (leads["team"] == actor["team"])
        )
        lead_keep &= leads["owner_id"].isin(mates) | waiting
    if region is not None:
        keep &= c["region"] == region
        lead_keep &= leads["region"] == region
    if region_is_null:
        keep &= c["region"].isna()
    if team is not None:
        keep &= c["owner_id"].isin(set(users.loc[users["team"] == team, "id"]))
        lead_keep &= leads["team"] == team
    if owner is not None:
        keep &= c["owner_id"] == users.loc[owner, "id"]
        lead_keep &= leads["owner_id"] == users.loc[owner, "id"]
    if as_of is not None:
        day = as_of
    else:
        today = pd.Timestamp(crmlib.clock.today())
        day = min(end - pd.Timedelta(days=1), today) if end is not None else today
    narrowed = (
        actor["role"] in ("sales", "manager")
        or any(v is not None for v in (region, team, owner))
        or region_is_null
    )
    return Ref(t, set(c.loc[keep, "id"]), leads[lead_keep], start, end, day, narrowed)


def value(ws: crmlib.Workspace, kpi_id: str, **filters: Any) -> float:
    frame = ws.kpi(kpi_id, **filters)
    assert list(frame.columns) == ["value"] and len(frame) == 1
    return float(frame["value"].iloc[0])


def same(actual: float, expected: float) -> bool:
    if math.isnan(expected):
        return math.isnan(actual)
    return actual == pytest.approx(expected, rel=1e-9, abs=1e-9)


SINGLE = [k for k in CATALOGUE if k != "stage_days"]


# -- every KPI --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "bounds"),
    [
        ({"period": "2025-Q2"}, {"start": Q2[0], "end": Q2[1]}),
        ({"period": "2024"}, {"start": Y2024[0], "end": Y2024[1]}),
        ({"as_of": "2025-10-31"}, {"as_of": pd.Timestamp("2025-10-31")}),
        (
            {"period_start": "2025-02-01", "period_end": "2025-11-30", "region": "华东"},
            {
                "start": pd.Timestamp("2025-02-01"),
                "end": pd.Timestamp("2025-12-01"),
                "region": "华东",
            },
        ),
    ],
    ids=["quarter", "year", "as_of", "range_region"],
)
def test_every_kpi_matches_pandas(
    demo: Demo, filters: dict[str, str], bounds: dict[str, Any]
) -> None:
    ref = reference(demo, **bounds)
    with crmlib.open(demo.url, user="admin", lang="en") as ws:
        wrong = {}
        for kpi_id in SINGLE:
            got, want = value(ws, kpi_id, **filters), getattr(ref, kpi_id)()
            if not same(got, want):
                wrong[kpi_id] = (got, want)
        stages = ws.kpi("stage_days", **filters).set_index("stage")["value"]
    assert wrong == {}
    expected = ref.stage_days()
    assert list(stages.index) == [s for s in CATALOGUE_STAGES if s in expected.index]
    assert stages.to_numpy() == pytest.approx(expected[stages.index].to_numpy(), rel=1e-9)


CATALOGUE_STAGES = ("contact", "needs_analysis", "proposal", "negotiation", "won", "lost")


def test_demo_gives_every_kpi_a_value(demo: Demo) -> None:
    """The demo exercises every figure: nothing is empty for a recent quarter."""
    with crmlib.open(demo.url, user="admin", lang="en") as ws:
        frame = ws.kpis(period="2025-Q2")
    assert set(frame["id"]) == set(CATALOGUE)
    assert frame["value"].notna().all(), frame[frame["value"].isna()]
    assert (frame.loc[frame["id"] == "stage_days", "stage"].notna()).all()
    assert frame["id"].value_counts()["stage_days"] >= 3


def test_kpis_is_the_catalogue_with_the_same_values(demo: Demo) -> None:
    with crmlib.open(demo.url, user="admin", lang="zh") as ws:
        frame = ws.kpis(period="2025-Q2", region="华南")
        single = {k: value(ws, k, period="2025-Q2", region="华南") for k in SINGLE}
    assert list(frame.columns) == [
        "id",
        "family",
        "name",
        "stage",
        "value",
        "unit",
        "formula",
        "period",
    ]
    rows = frame[frame["id"] != "stage_days"].set_index("id")
    assert all(same(rows.loc[k, "value"], v) for k, v in single.items())
    assert rows.loc["aov", "name"] == "客单价" and rows.loc["aov", "unit"] == "CNY"
    assert rows.loc["nps", "formula"] == CATALOGUE["nps"].formula("zh")


def test_kpis_computes_the_ids_asked_for_in_their_order(demo: Demo) -> None:
    """A headline asks for a few KPIs at once: only those, with the catalogue's values."""
    ids = ["churn_rate", "revenue", "active_customers", "retention_12m"]
    with crmlib.open(demo.url, user=demo.rep, lang="en") as ws:
        some = ws.kpis(ids, period="2025-Q2")
        whole = ws.kpis(period="2025-Q2").set_index("id")
        with pytest.raises(ValidationError) as exc:
            ws.kpis(["revenue", "profit"], period="2025-Q2")
    assert some["id"].tolist() == ids
    assert all(same(v, whole.loc[k, "value"]) for k, v in zip(ids, some["value"], strict=True))
    assert [(e.field, e.value, e.rule) for e in exc.value.errors] == [
        ("kpi", "profit", "known_kpi")
    ]


# -- filters and scoping ----------------------------------------------------------------


def test_a_sales_reps_kpis_cover_only_their_customers(demo: Demo) -> None:
    ref = reference(
        demo, demo.rep, start=pd.Timestamp("2024-01-01"), end=pd.Timestamp("2026-01-01")
    )
    everyone = reference(demo, start=pd.Timestamp("2024-01-01"), end=pd.Timestamp("2026-01-01"))
    assert 0 < len(ref.ids) < len(everyone.ids)
    with crmlib.open(demo.url, user=demo.rep, lang="en") as ws:
        got = {k: value(ws, k, period_start="2024-01-01", period_end="2025-12-31") for k in SINGLE}
    want = {k: getattr(ref, k)() for k in SINGLE}
    assert {k for k in SINGLE if not same(got[k], want[k])} == set()
    assert got["revenue"] < everyone.revenue()
    # The admin filtering by that owner sees the same customers' figures.
    with crmlib.open(demo.url, user="admin", lang="en") as ws:
        assert value(ws, "revenue", period="2025", owner=demo.rep) == pytest.approx(
            reference(
                demo,
                start=pd.Timestamp("2025-01-01"),
                end=pd.Timestamp("2026-01-01"),
                owner=demo.rep,
            ).revenue()
        )


def test_team_and_owner_filters(demo: Demo) -> None:
    bounds = {"start": Q2[0], "end": Q2[1]}
    with crmlib.open(demo.url, user="admin", lang="en") as ws:
        for kpi_id in ("new_customers", "revenue", "win_rate", "csat", "lead_conversion", "cac"):
            assert same(
                value(ws, kpi_id, period="2025-Q2", team=demo.team),
                getattr(reference(demo, team=demo.team, **bounds), kpi_id)(),
            )
            assert same(
                value(ws, kpi_id, period="2025-Q2", owner=demo.rep),
                getattr(reference(demo, owner=demo.rep, **bounds), kpi_id)(),
            )


def test_segment_filter(demo: Demo) -> None:
    with crmlib.open(demo.url, user="admin", lang="en") as ws:
        members = set(ws.segments.members('grade == "A"', as_of=date(2025, 6, 30))["code"])
        got = value(ws, "revenue", period="2025-Q2", segment='grade == "A"')
        assert math.isnan(value(ws, "lead_conversion", period="2025-Q2", segment='grade == "A"'))
    c = demo.tables["customers"]
    ref = reference(demo, start=Q2[0], end=Q2[1])
    ref.ids = set(c.loc[c["code"].isin(members), "id"])
    assert 0 < got == pytest.approx(ref.revenue())


# -- grouping ---------------------------------------------------------------------------


def test_by_region_month_and_owner(demo: Demo) -> None:
    bounds = {"start": pd.Timestamp("2025-01-01"), "end": pd.Timestamp("2026-01-01")}
    with crmlib.open(demo.url, user="admin", lang="en") as ws:
        by_region = ws.kpi("revenue", by="region", period="2025")
        by_month = ws.kpi("win_rate", by="month", period="2025")
        by_owner = ws.kpi("active_customers", by="owner", period="2025")
        leads = ws.kpi("lead_conversion", by="region", period="2025")
    assert list(by_region.columns) == ["region", "value"]
    for region, got in zip(by_region["region"], by_region["value"], strict=True):
        ref = reference(
            demo,
            **bounds,
            region=None if pd.isna(region) else region,
            region_is_null=pd.isna(region),
        )
        assert same(got, ref.revenue())
    assert by_region["value"].sum() == pytest.approx(reference(demo, **bounds).revenue())
    assert list(by_month["month"]) == [f"2025-{m:02d}" for m in range(1, 13)]
    for month, got in zip(by_month["month"], by_month["value"], strict=True):
        start = pd.Timestamp(f"{month}-01")
        assert same(
            got,
            reference(
                demo,
                start=start,
                end=start + pd.DateOffset(months=1),
                as_of=pd.Timestamp("2025-12-31"),
            ).win_rate(),
        )
    owners = by_owner.set_index("owner")["value"]
    assert owners[demo.rep] == reference(demo, **bounds, owner=demo.rep).active_customers()
    assert owners.sum() == reference(demo, **bounds).active_customers()
    regional = leads.dropna(subset=["region"]).set_index("region")["value"]
    for region, got in regional.items():
        assert same(got, reference(demo, **bounds, region=str(region)).lead_conversion())


# -- cohorts and the CLV forecast --------------------------------------------------------


def test_cohort_retention(demo: Demo) -> None:
    with crmlib.open(demo.url, user="admin", lang="en") as ws:
        cohorts = ws.cohort_retention(period="2024", as_of="2025-12-31")
    o = demo.tables["orders"]
    first = o.groupby("customer_id")["ordered_at"].min()
    o = o.assign(first=o["customer_id"].map(first))
    o = o[o["first"].dt.year == 2024]
    month = o["ordered_at"].dt.year * 12 + o["ordered_at"].dt.month
    o = o.assign(
        cohort=o["first"].dt.strftime("%Y-%m"),
        since=month - (o["first"].dt.year * 12 + o["first"].dt.month),
    )
    active = o.groupby(["cohort", "since"])["customer_id"].nunique()
    sizes = o.groupby("cohort")["customer_id"].nunique()
    assert list(cohorts.columns) == ["cohort", "months_since", "customers", "active", "share"]
    assert len(cohorts) == len(active)
    for row in cohorts.itertuples():
        assert row.active == active[(row.cohort, row.months_since)]
        assert row.customers == sizes[row.cohort]
        assert row.share == pytest.approx(row.active / row.customers)
    assert (cohorts.loc[cohorts["months_since"] == 0, "share"] == 1).all()


def test_clv_forecast_histories_and_fit(demo: Demo) -> None:
    with crmlib.open(demo.url, user="admin", lang="en") as ws:
        frame = ws.clv_forecast(months=12, as_of="2025-12-31")
    o = demo.tables["orders"]
    c = demo.tables["customers"].set_index("id")["code"]
    days = o.groupby(["customer_id", "ordered_at"])["amount"].sum().reset_index()
    per = days.groupby("customer_id").agg(
        n=("ordered_at", "size"),
        first=("ordered_at", "min"),
        last=("ordered_at", "max"),
        spend=("amount", "sum"),
    )
    per.index = per.index.map(c)
    frame = frame.set_index("code")
    assert set(frame.index) == set(per.index)
    per = per.loc[frame.index]
    assert (frame["frequency"] == per["n"] - 1).all()
    weeks = (per["last"] - per["first"]).dt.days / 7
    assert frame["recency"].to_numpy() == pytest.approx(weeks.to_numpy())
    age = (pd.Timestamp("2025-12-31") - per["first"]).dt.days / 7
    assert frame["age"].to_numpy() == pytest.approx(age.to_numpy())
    assert frame["monetary"].to_numpy() == pytest.approx((per["spend"] / per["n"]).to_numpy())
    assert (frame["clv"] >= 0).all() and frame["clv"].sum() > 0
    assert np.isfinite(frame["clv"]).all() and frame.attrs["model"].p > 0


def test_bgnbd_fit_recovers_simulated_parameters() -> None:
    from crmlib.analytics.kpi.clv import fit

    rng = np.random.default_rng(3)
    n, r, alpha, a, b, weeks = 4000, 0.8, 6.0, 1.2, 3.0, 52.0
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    rows = []
    for li, pi in zip(lam, p, strict=True):
        t, x, last = 0.0, 0, 0.0
        while True:
            t += rng.exponential(1 / li)
            if t > weeks:
                break
            x, last = x + 1, t
            if rng.random() < pi:
                break
        rows.append((x, last, weeks, 100.0 + 10 * rng.random()))
    history = pd.DataFrame(rows, columns=["frequency", "recency", "age", "monetary"])
    model = fit(history)
    assert model.r == pytest.approx(r, rel=0.25)
    assert model.alpha == pytest.approx(alpha, rel=0.3)


# -- errors and the command line --------------------------------------------------------


def test_errors_name_what_is_wrong(demo: Demo) -> None:
    with crmlib.open(demo.url, user="admin", lang="en") as ws:
        with pytest.raises(ValidationError) as unknown:
            ws.kpi("profit")
        error = unknown.value.errors[0]
        assert (error.field, error.value, error.rule) == ("kpi", "profit", "known_kpi")
        assert "win_rate" in error.message and "completeness" in error.message
        with pytest.raises(ValidationError) as by:
            ws.kpi("cac", by="region")
        assert (by.value.errors[0].field, by.value.errors[0].rule) == ("by", "kpi_by")
        with pytest.raises(ValidationError, match="kpi_by"):
            ws.kpi("active_customers", by="month")
        with pytest.raises(ValidationError) as bad:
            ws.kpi("revenue", quarter="2024-Q1")
        assert bad.value.errors[0].field == "quarter"
        with pytest.raises(ValidationError, match="period"):
            ws.kpis(period="2024-Q5")
        with pytest.raises(ValidationError, match="region"):
            ws.kpi("revenue", region="火星")
    with crmlib.open(demo.url, user="admin", lang="zh") as ws, pytest.raises(ValidationError) as zh:
        ws.kpi("profit")
    assert "没有名为“profit”的指标" in zh.value.errors[0].message


def test_crm_kpi_command(demo: Demo) -> None:
    runner = CliRunner()
    base = ["--url", demo.url, "--user", "admin"]
    whole = runner.invoke(main, [*base, "--lang", "zh", "kpi", "--period", "2025-Q2"])
    assert whole.exit_code == 0, whole.output
    assert "客单价" in whole.output and "净推荐值" in whole.output
    one = runner.invoke(
        main, [*base, "--lang", "en", "kpi", "win_rate", "--by", "region", "--period", "2025"]
    )
    assert one.exit_code == 0, one.output
    assert "Win rate" in one.output and "East China" in one.output and "%" in one.output
    assert "华东" not in one.output  # regions read in English too
    bad = runner.invoke(main, [*base, "--lang", "en", "kpi", "profit"])
    assert bad.exit_code == 1 and "there is no KPI called 'profit'" in bad.output


# -- the catalogue and its documentation ------------------------------------------------


def test_catalogue_is_complete_and_documented() -> None:
    issue = [
        "new_customers",
        "active_customers",
        "retention_12m",
        "churn_rate",
        "repurchase_rate",
        "aov",
        "revenue",
        "clv",
        "cac",
        "lead_conversion",
        "win_rate",
        "sales_cycle_days",
        "pipeline_value",
        "weighted_forecast",
        "stage_days",
        "first_response_hours",
        "sla_compliance",
        "resolution_hours",
        "csat",
        "nps",
        "completeness",
    ]
    assert list(CATALOGUE) == issue
    for kpi in CATALOGUE.values():
        assert re.fullmatch(r"[a-z][a-z0-9_]*", kpi.id)
        assert kpi.name("zh") and kpi.name("en") and kpi.formula("zh") and kpi.formula("en")
        assert kpi.period("en")
        assert kpi.unit in ("count", "share", "CNY", "days", "hours", "score")


def test_the_reference_lists_the_catalogue() -> None:
    from crmlib.analytics.kpi.docs import markdown_table

    page = Path(__file__).resolve().parents[2] / "docs" / "reference" / "kpis.md"
    assert markdown_table() in page.read_text(encoding="utf-8")
