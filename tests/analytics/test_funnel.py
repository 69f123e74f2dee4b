"""The sales funnel: the handbook's table, an independent pandas check on demo data, scoping."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, insert, select

import crmlib
from crmlib.errors import ValidationError
from crmlib.store.models import Customer, Lead, Opportunity, StageHistory
from tests.factories import SMALL_DEMO, Team, company
from tests.templates import Templates

START = datetime(2024, 1, 8, 9, 0)
DAY = timedelta(days=1)
# Each deal's walk: (stage, days spent) and how it ended.
WON_WALK = [("contact", 4), ("needs_analysis", 6), ("proposal", 7), ("negotiation", 3), ("won", 0)]
LOST_AT_NEGOTIATION = [("proposal", 7), ("negotiation", 3), ("lost", 0)]
LOST_AT_PROPOSAL = [("contact", 10), ("proposal", 7), ("lost", 0)]


def _handbook_rows(engine: Engine, customer_id: int) -> None:
    """200 leads in 2024-Q1 → 120 qualified → 80 proposal → 60 negotiation → 50 won, and
    five leads of April that the period leaves out."""
    leads: list[dict[str, Any]] = []
    deals: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    for i in range(205):
        created = START + i * timedelta(hours=5) if i < 200 else datetime(2024, 4, 2, 10)
        lead: dict[str, Any] = {
            "id": i + 1,
            "name": f"线索{i}",
            "source": "website",
            "created_at": created,
            "updated_at": created,
            "invalid_reason": None,
            "converted_at": None,
            "customer_id": None,
            "opportunity_id": None,
        }
        if i < 60:
            lead |= {"status": "invalid", "invalid_reason": "无采购需求" if i < 45 else "重复线索"}
        elif i < 80 or i >= 200:
            lead["status"] = "contacted"
        elif i < 120:
            lead["status"] = "qualified"
        else:  # 80 converted leads, each with its deal
            deal = len(deals) + 1
            walk = (
                WON_WALK if deal <= 50 else LOST_AT_NEGOTIATION if deal <= 60 else LOST_AT_PROPOSAL
            )
            converted = created + 2 * DAY
            lead |= {
                "status": "converted",
                "converted_at": converted,
                "customer_id": customer_id,
                "opportunity_id": deal,
            }
            moment = converted
            for stage, days in walk:
                left = moment + days * DAY if stage not in ("won", "lost") else None
                history.append(
                    {"opportunity_id": deal, "stage": stage, "entered_at": moment, "left_at": left}
                )
                moment = left or moment
            reason = None if deal <= 50 else "价格过高" if deal <= 60 else "选择竞品"
            deals.append(
                {
                    "id": deal,
                    "customer_id": customer_id,
                    "name": f"项目{deal}",
                    "stage": walk[-1][0],
                    "loss_reason": reason,
                    "created_at": converted,
                    "updated_at": moment,
                    "closed_at": moment,
                }
            )
        leads.append(lead)
    with engine.begin() as conn:
        conn.execute(insert(Opportunity), deals)
        conn.execute(insert(StageHistory), history)
        conn.execute(insert(Lead), leads)


def test_the_funnel_reproduces_the_handbook_table(db_url: str) -> None:
    ws = crmlib.open(db_url, user="admin", lang="zh")
    code = ws.customers.add(**company()).code
    with ws.engine.connect() as conn:
        customer_id = conn.execute(select(Customer.id).where(Customer.code == code)).scalar_one()
    _handbook_rows(ws.engine, customer_id)

    result = ws.funnel(period="2024-Q1")
    steps = result.steps.set_index("step")
    handbook = steps.loc[["lead", "qualified", "proposal", "won"]]
    assert list(handbook["count"]) == [200, 120, 80, 50]
    assert list(handbook["cumulative_conversion"]) == pytest.approx([1.0, 0.60, 0.40, 0.25])
    assert list(handbook["label"]) == ["线索", "意向客户", "方案报价", "赢单"]
    assert steps.loc["negotiation", "count"] == 60
    assert list(steps["step_conversion"]) == pytest.approx([1.0, 0.6, 80 / 120, 60 / 80, 50 / 60])
    # days: lead → conversion 2; contact + needs analysis 10 (won and lost-at-proposal
    # deals alike); proposal 7; negotiation 3; won is where the walk ends
    assert list(steps["avg_days"])[:4] == pytest.approx([2.0, 10.0, 7.0, 3.0])
    assert np.isnan(steps["avg_days"].iloc[-1])
    assert list(steps["lost"]) == [60, 0, 20, 10, 0]
    assert result.worst_step == "lead"
    losses = result.losses
    assert list(zip(losses["step"], losses["reason"], losses["count"], strict=True)) == [
        ("lead", "无采购需求", 45),
        ("proposal", "选择竞品", 20),
        ("lead", "重复线索", 15),
        ("negotiation", "价格过高", 10),
    ]
    assert losses["share"].sum() == pytest.approx(1.0)
    assert losses["share"].iloc[0] == pytest.approx(45 / 90)

    # all leads (the April ones too); then progress as of a day before any deal ended
    assert ws.funnel().steps["count"].tolist() == [205, 120, 80, 60, 50]
    early = ws.funnel(period="2024-Q1", as_of="2024-01-12").steps.set_index("step")["count"]
    assert early["won"] == 0 and early["proposal"] < 80
    # the deals' own funnel starts at qualified: every deal is a qualified prospect
    deals = ws.funnel(basis="deals", period="2024").steps
    assert deals["step"].tolist() == ["qualified", "proposal", "negotiation", "won"]
    assert deals["count"].tolist() == [80, 80, 60, 50]
    ws.close()


def _days(end: pd.Series, start: pd.Series) -> pd.Series:
    return (pd.to_datetime(end) - pd.to_datetime(start)).dt.total_seconds() / 86400


def expected_funnel(engine: Engine, start: date, end: date, basis: str) -> pd.DataFrame:
    """The funnel from the raw tables, in pandas, as the module doc defines it."""
    with engine.connect() as conn:
        leads = pd.read_sql("SELECT * FROM leads", conn)
        deals = pd.read_sql("SELECT * FROM opportunities", conn)
        history = pd.read_sql("SELECT * FROM opportunity_stage_history", conn)
        customers = pd.read_sql("SELECT * FROM customers", conn)
    for frame, column in (
        (leads, "created_at"),
        (leads, "converted_at"),
        (deals, "created_at"),
        (history, "entered_at"),
        (history, "left_at"),
    ):
        frame[column] = pd.to_datetime(frame[column])
    lo, hi = pd.Timestamp(start), pd.Timestamp(end)
    rank = {"contact": 1, "needs_analysis": 1, "proposal": 2, "negotiation": 3, "won": 4}
    history["rank"] = history["stage"].map(rank).fillna(0)
    furthest = history.groupby("opportunity_id")["rank"].max()
    if basis == "leads":
        cohort = leads[(leads.created_at >= lo) & (leads.created_at < hi)]
        reached = cohort["opportunity_id"].map(furthest).fillna(0)
        qualified = cohort["status"].isin(["qualified", "converted"]) | (reached >= 1)
        counts = [len(cohort), int(qualified.sum())]
        deal_ids = set(cohort["opportunity_id"].dropna().astype(int))
    else:
        unmerged = set(customers.loc[customers.merged_into_id.isna(), "id"])
        chosen = deals[
            (deals.created_at >= lo) & (deals.created_at < hi) & deals.customer_id.isin(unmerged)
        ]
        reached = chosen["id"].map(furthest).fillna(0)
        counts = [len(chosen)]
        deal_ids = set(chosen["id"])
    counts += [int((reached >= r).sum()) for r in (2, 3, 4)]
    mine = history[history.opportunity_id.isin(deal_ids) & history.left_at.notna()].copy()
    step_of = {
        "contact": "qualified",
        "needs_analysis": "qualified",
        "proposal": "proposal",
        "negotiation": "negotiation",
    }
    mine["step"] = mine["stage"].map(step_of)
    mine["days"] = _days(mine["left_at"], mine["entered_at"])
    per_deal = mine.dropna(subset=["step"]).groupby(["opportunity_id", "step"])["days"].sum()
    days = per_deal.groupby(level="step").mean()
    steps = ["lead", "qualified", "proposal", "negotiation", "won"]
    if basis == "leads":
        converted = cohort[cohort.converted_at.notna()]
        days["lead"] = _days(converted["converted_at"], converted["created_at"]).mean()
    else:
        steps = steps[1:]
    return pd.DataFrame({"step": steps, "count": counts, "avg_days": [days.get(s) for s in steps]})


@pytest.mark.parametrize(("basis", "period"), [("leads", "2024"), ("deals", "2025-H1")])
def test_the_funnel_matches_pandas_on_demo_data(
    db_url: str, templates: Templates, basis: str, period: str
) -> None:
    templates.fill(db_url, SMALL_DEMO)
    ws = crmlib.open(db_url, user="admin", lang="en")
    start, end = (
        (date(2024, 1, 1), date(2025, 1, 1))
        if period == "2024"
        else (date(2025, 1, 1), date(2025, 7, 1))
    )
    got = ws.funnel(basis=basis, period=period, as_of="2026-12-31").steps
    want = expected_funnel(ws.engine, start, end, basis)
    assert got["step"].tolist() == want["step"].tolist()
    assert got["count"].tolist() == want["count"].tolist()
    assert got["count"].iloc[-1] > 0  # the demo's cohort wins some deals
    assert got["avg_days"].to_numpy(dtype=float) == pytest.approx(
        want["avg_days"].to_numpy(dtype=float), nan_ok=True, rel=1e-6
    )
    first = got["count"].iloc[0]
    assert got["cumulative_conversion"].tolist() == pytest.approx(list(got["count"] / first))
    ws.close()


def _deal_at_proposal(ws: crmlib.Workspace, name: str, phone: str) -> None:
    lead = ws.leads.add(
        name=name,
        company=f"{name}机械有限公司",
        phone=phone,
        source="website",
        province="江苏",
        industry="34",
    )
    ws.leads.update(lead["id"], status="contacted")
    ws.leads.update(lead["id"], status="qualified")
    done = ws.leads.convert(
        lead["id"], opportunity={"name": f"{name}产线", "amount": "50万"}, ignore_duplicates=True
    )
    ws.opportunities.update(done.opportunity_id, stage="needs_analysis", need_description="产线")
    ws.opportunities.update(
        done.opportunity_id,
        stage="proposal",
        proposal_version="V1",
        amount="500000",
        expected_close_date="2030-03-15",
    )


def test_each_user_sees_the_funnel_of_their_own_leads(team: Team) -> None:
    _deal_at_proposal(team.zhang, "张一", "13912340001")
    team.zhang.leads.add(name="张二", phone="13912340002", source="phone")
    _deal_at_proposal(team.zhao, "赵一", "13912340003")

    def counts(ws: crmlib.Workspace, **filters: str) -> list[int]:
        return list(ws.funnel(**filters).steps["count"])

    assert counts(team.zhang) == [2, 1, 1, 0, 0]
    assert counts(team.li) == [0, 0, 0, 0, 0]
    assert counts(team.zhao) == [1, 1, 1, 0, 0]
    assert counts(team.ana) == [3, 2, 2, 0, 0]
    assert counts(team.ana, owner="zhao") == [1, 1, 1, 0, 0]
    assert counts(team.ana, period="2020") == [0, 0, 0, 0, 0]
    empty = team.li.funnel().steps
    assert empty["cumulative_conversion"].isna().all() and team.li.funnel().worst_step is None
    assert list(team.ana.funnel(basis="deals").steps["count"]) == [2, 2, 0, 0]
    assert list(team.zhang.funnel(basis="deals").steps["count"]) == [1, 1, 0, 0]


def test_bad_funnel_arguments_name_the_field(team: Team) -> None:
    with pytest.raises(ValidationError) as caught:
        team.ana.funnel(basis="orders")
    assert [(e.field, e.rule) for e in caught.value.errors] == [("basis", "funnel_basis")]
    with pytest.raises(ValidationError, match="period"):
        team.ana.funnel(period="2024-Q5")


def test_crm_funnel_prints_the_steps_and_refuses_a_bad_basis(team: Team) -> None:
    from click.testing import CliRunner

    from crmlib.cli import main

    _deal_at_proposal(team.zhang, "张一", "13912340001")
    base = ["--url", team.url, "--lang", "en", "--user", "zhang", "funnel"]
    shown = CliRunner().invoke(main, base)
    assert shown.exit_code == 0, shown.output
    assert "Sales funnel" in shown.output and "Proposal" in shown.output
    assert "100.0%" in shown.output and "Nothing lost" in shown.output
    refused = CliRunner().invoke(main, [*base, "--basis", "orders"])
    assert refused.exit_code == 1 and "funnel_basis" in refused.output
