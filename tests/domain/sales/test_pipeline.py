"""Opportunities: the stage flow, each stage's required fields (API and importer), the
weighted forecast and stale deals, on both databases."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

import crmlib
from crmlib import ValidationError, clock
from crmlib.cli import main
from crmlib.domain.sales.followups import is_placeholder
from crmlib.domain.sales.stages import stage_field_errors
from crmlib.domain.team.comments import mentions
from crmlib.settings import set_setting
from crmlib.store.engine import make_engine
from crmlib.store.models import Comment, Interaction, Opportunity, StageHistory, Task, User
from tests.factories import Team, company, generated_demo
from tests.templates import Templates

READY = {
    "need_description": "两条新产线",
    "proposal_version": "V1",
    "amount": "100000",
    "expected_close_date": "2030-03-15",
}


def rules(exc: pytest.ExceptionInfo[ValidationError]) -> set[tuple[str, str]]:
    return {(e.field, e.rule) for e in exc.value.errors}


def deal(ws: Any, code: str, **values: Any) -> dict[str, Any]:
    return dict(ws.opportunities.add(code, name=values.pop("name", "产线升级"), **values))


# ---------------------------------------------------------------- stage flow


def test_stages_move_forward_skipping_and_one_step_back(team: Team) -> None:
    code = team.zhang.customers.add(**company()).code
    opp = deal(team.zhang, code)
    assert opp["stage"] == "contact"
    moved = team.zhang.opportunities.update(opp["id"], stage="proposal", **READY)
    assert (moved["stage"], moved["probability"]) == ("proposal", 0.5)
    back = team.zhang.opportunities.update(opp["id"], stage="needs_analysis")
    assert back["stage"] == "needs_analysis"
    assert team.zhang.opportunities.update(opp["id"], stage="negotiation")["stage"] == "negotiation"
    with pytest.raises(ValidationError) as refused:
        team.zhang.opportunities.update(opp["id"], stage="needs_analysis")  # two steps back
    assert rules(refused) == {("stage", "opportunity_stage_flow")}
    assert "proposal" in refused.value.errors[0].message.lower()
    won = team.zhang.opportunities.update(opp["id"], stage="won")
    assert won["closed_at"] is not None and won["probability"] == 1.0
    for target in ("negotiation", "lost", "contact"):
        with pytest.raises(ValidationError) as final:
            team.zhang.opportunities.update(opp["id"], stage=target)
        assert rules(final) == {("stage", "opportunity_stage_flow")}
        assert "final" in final.value.errors[0].message
    engine = make_engine(team.url)
    with engine.connect() as conn:
        stages = conn.execute(select(StageHistory.stage).order_by(StageHistory.id)).scalars().all()
    engine.dispose()
    assert stages == ["contact", "proposal", "needs_analysis", "negotiation", "won"]


def test_lost_is_final_and_needs_a_reason(team: Team) -> None:
    code = team.zhang.customers.add(**company()).code
    opp = deal(team.zhang, code)
    with pytest.raises(ValidationError) as refused:
        team.zhang.opportunities.update(opp["id"], stage="lost")
    assert rules(refused) == {("loss_reason", "stage_requires_field")}
    assert team.zhang.opportunities.get(opp["id"])["stage"] == "contact"
    lost = team.zhang.opportunities.update(opp["id"], stage="lost", loss_reason="价格过高")
    assert (lost["stage"], lost["probability"]) == ("lost", 0.0)
    with pytest.raises(ValidationError) as final:
        team.zhang.opportunities.update(opp["id"], stage="needs_analysis")
    assert rules(final) == {("stage", "opportunity_stage_flow")}
    with pytest.raises(ValidationError) as cleared:
        team.zhang.opportunities.update(opp["id"], loss_reason="")
    assert rules(cleared) == {("loss_reason", "stage_requires_field")}


# ---------------------------------------------------------------- required fields


def test_each_stage_requires_its_fields_on_add(team: Team) -> None:
    code = team.zhang.customers.add(**company()).code
    with pytest.raises(ValidationError) as needs:
        deal(team.zhang, code, stage="needs_analysis")
    assert rules(needs) == {("need_description", "stage_requires_field")}
    with pytest.raises(ValidationError) as proposal:
        deal(team.zhang, code, stage="proposal", need_description="扩产")
    assert rules(proposal) == {("proposal_version", "stage_requires_field")}
    with pytest.raises(ValidationError) as negotiation:
        deal(team.zhang, code, stage="negotiation", need_description="扩产", proposal_version="V2")
    assert rules(negotiation) == {
        ("amount", "stage_requires_field"),
        ("expected_close_date", "stage_requires_field"),
    }
    assert "negotiation" in negotiation.value.errors[0].message.lower()
    with pytest.raises(ValidationError) as won:
        deal(team.zhang, code, stage="won", need_description="扩产")
    assert {field for field, _ in rules(won)} == {
        "proposal_version",
        "amount",
        "expected_close_date",
    }
    assert len(team.zhang.opportunities.frame(customer_code=code)) == 0  # nothing was saved
    assert deal(team.zhang, code, stage="won", **READY)["stage"] == "won"


def test_stage_fields_are_checked_on_update_and_when_cleared(team: Team) -> None:
    code = team.zhang.customers.add(**company()).code
    opp = deal(team.zhang, code)
    with pytest.raises(ValidationError) as refused:
        team.zhang.opportunities.update(opp["id"], stage="negotiation", need_description="扩产")
    assert rules(refused) == {
        ("proposal_version", "stage_requires_field"),
        ("amount", "stage_requires_field"),
        ("expected_close_date", "stage_requires_field"),
    }
    assert team.zhang.opportunities.get(opp["id"])["need_description"] is None  # rolled back
    team.zhang.opportunities.update(opp["id"], stage="negotiation", **READY)
    for field in READY:
        with pytest.raises(ValidationError) as cleared:
            team.zhang.opportunities.update(opp["id"], **{field: ""})
        assert rules(cleared) == {(field, "stage_requires_field")}
    kept = team.zhang.opportunities.get(opp["id"])
    assert kept["proposal_version"] == "V1" and float(kept["amount"]) == 100000


def test_message_in_chinese(team: Team) -> None:
    code = team.zhang.customers.add(**company()).code
    team.zhang.ctx.lang = "zh"
    with pytest.raises(ValidationError) as refused:
        deal(team.zhang, code, stage="needs_analysis")
    assert "需求分析" in refused.value.errors[0].message


# ---------------------------------------------------------------- importer


def _write(path: Path, rows: list[list[str]]) -> Path:
    header = [
        "external_id",
        "customer_code",
        "商机名称",
        "销售阶段",
        "预计金额",
        "预计成交日期",
        "需求描述",
        "方案版本",
        "输单原因",
    ]
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_importer_enforces_stage_fields_and_flow(team: Team, tmp_path: Path) -> None:
    code = team.zhang.customers.add(**company()).code
    first = _write(
        tmp_path / "o1.csv",
        [
            ["OP-1", code, "产线升级", "方案报价", "", "", "扩产", "V1", ""],
            ["OP-2", code, "仓储系统", "方案报价", "", "", "扩产", "", ""],
            ["OP-3", code, "旧项目", "输单", "", "", "", "", ""],
            ["OP-4", code, "大单", "赢单", "50万", "2024-06-30", "扩产", "V3", ""],
        ],
    )
    result = team.zhang.import_file("opportunities", first)
    assert (result.created, result.rejected) == (2, 2)
    with open(result.rejects_path, encoding="utf-8-sig") as handle:
        reasons = {row["row_number"]: row["reasons"] for row in csv.DictReader(handle)}
    assert "proposal_version" in reasons["3"] and "[stage_requires_field]" in reasons["3"]
    assert "loss_reason" in reasons["4"] and "[stage_requires_field]" in reasons["4"]

    second = _write(
        tmp_path / "o2.csv",
        [
            ["OP-1", code, "产线升级", "商务谈判", "", "", "", "", ""],  # amount, date missing
            ["OP-4", code, "大单", "方案报价", "", "", "", "", ""],  # won is final
        ],
    )
    result = team.zhang.import_file("opportunities", second)
    assert (result.updated, result.rejected) == (0, 2)
    with open(result.rejects_path, encoding="utf-8-sig") as handle:
        reasons = {row["row_number"]: row["reasons"] for row in csv.DictReader(handle)}
    assert "amount" in reasons["2"] and "expected_close_date" in reasons["2"]
    assert "[opportunity_stage_flow]" in reasons["3"]

    third = _write(
        tmp_path / "o3.csv",
        [["OP-1", code, "产线升级", "商务谈判", "80万", "2024-09-30", "", "", ""]],
    )
    assert team.zhang.import_file("opportunities", third).updated == 1
    frame = team.zhang.opportunities.frame(customer_code=code).set_index("external_id")
    assert frame.loc["OP-1", "stage"] == "negotiation"
    assert frame.loc["OP-1", "probability"] == 0.75
    assert frame.loc["OP-1", "need_description"] == "扩产"  # a blank cell keeps the value
    engine = make_engine(team.url)
    with engine.connect() as conn:
        history = conn.execute(
            select(StageHistory.stage, StageHistory.left_at)
            .where(StageHistory.opportunity_id == int(frame.loc["OP-1", "id"]))
            .order_by(StageHistory.id)
        ).all()
        open_rows = conn.execute(
            select(func.count()).select_from(StageHistory).where(StageHistory.left_at.is_(None))
        ).scalar()
    engine.dispose()
    assert [h.stage for h in history] == ["proposal", "negotiation"]
    assert history[0].left_at is not None and history[1].left_at is None
    assert open_rows == 2  # OP-1 and OP-4: one open history row per deal


# ---------------------------------------------------------------- forecast


def _pipeline(team: Team) -> None:
    mine = team.zhang.customers.add(**company(name="甲公司")).code
    theirs = team.li.customers.add(**company(name="乙公司")).code
    west = team.zhao.customers.add(**company(name="丙公司")).code
    ready = {k: v for k, v in READY.items() if k not in ("amount", "expected_close_date")}
    deal(
        team.zhang,
        mine,
        stage="negotiation",
        amount="100000",
        expected_close_date="2030-03-10",
        **ready,
    )
    deal(
        team.zhang,
        mine,
        stage="proposal",
        amount="200000",
        expected_close_date="2030-04-01",
        **ready,
    )
    deal(team.zhang, mine, stage="won", **READY)  # closed: not in the forecast
    deal(team.zhang, mine, name="early")  # no amount, no date yet
    deal(
        team.li, theirs, stage="proposal", amount="50000", expected_close_date="2030-03-20", **ready
    )
    deal(
        team.zhao,
        west,
        stage="negotiation",
        amount="400000",
        expected_close_date="2030-03-05",
        **ready,
    )


def test_forecast_by_month_owner_and_team_within_scope(team: Team) -> None:
    _pipeline(team)
    months = team.zhang.forecast("month").set_index("month")
    assert list(months.columns) == ["count", "amount", "weighted"]
    assert months.loc["2030-03"].tolist() == [1, 100000.0, 75000.0]
    assert months.loc["2030-04"].tolist() == [1, 200000.0, 100000.0]
    assert pd.isna(months.index[-1]) and months.iloc[-1]["count"] == 1  # date not known yet
    owners = team.wang.forecast("owner").set_index("owner")
    assert set(owners.index) == {"zhang", "li"}
    assert owners.loc["li"].tolist() == [1, 50000.0, 25000.0]
    teams = team.admin.forecast("team").set_index("team")
    assert teams.loc["east", "count"] == 4 and teams.loc["west", "weighted"] == 300000.0
    march = team.admin.forecast("month", start=date(2030, 3, 1), end=date(2030, 3, 31))
    assert march["month"].tolist() == ["2030-03"]
    assert march.iloc[0].tolist() == ["2030-03", 3, 550000.0, 100000 * 0.75 + 25000 + 300000]
    with pytest.raises(ValidationError) as bad:
        team.admin.forecast("region")
    assert rules(bad) == {("by", "enum:by")}


def test_forecast_command(team: Team) -> None:
    _pipeline(team)
    out = CliRunner().invoke(
        main, ["--url", team.url, "--user", "wang", "--lang", "en", "forecast", "--by", "owner"]
    )
    assert out.exit_code == 0, out.output
    assert "zhang" in out.output and "li" in out.output and "zhao" not in out.output


# ---------------------------------------------------------------- stale deals


def test_stale_opportunities(team: Team, monkeypatch: pytest.MonkeyPatch) -> None:
    code = team.zhang.customers.add(**company()).code
    quiet = deal(team.zhang, code, name="quiet")["id"]
    followed = deal(team.zhang, code, name="followed")["id"]
    moved = deal(team.zhang, code, name="moved")["id"]
    customer_only = deal(team.zhang, code, name="customer only")["id"]
    closed = deal(team.zhang, code, name="closed", stage="lost", loss_reason="预算取消")["id"]
    assert len(team.zhang.opportunities.stale()) == 0  # everything was just edited
    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(days=35))
    note = {"channel": "phone", "customer_need": "报价", "next_step": "发方案"}
    team.zhang.interactions.add(
        code,
        summary="讨论方案",
        opportunity_id=followed,
        occurred_at=start + timedelta(days=35),
        **note,
    )
    team.zhang.interactions.add(
        code, summary="节日问候", occurred_at=start + timedelta(days=35), **note
    )
    team.zhang.opportunities.update(moved, stage="needs_analysis", need_description="扩产")
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(days=40))
    stale = team.zhang.opportunities.stale()
    assert set(stale["id"]) == {quiet, customer_only}
    assert closed not in set(stale["id"])
    assert (stale["idle_days"] >= 40).all()
    assert {"customer_code", "owner", "last_activity", "stage"} <= set(stale.columns)
    assert len(team.zhang.opportunities.stale(days=3)) == 4
    assert len(team.zhao.opportunities.stale()) == 0  # not zhao's deals
    with team.admin.ctx.session() as session:
        set_setting(session, "stale_opportunity_days", 60)
    assert len(team.zhang.opportunities.stale()) == 0


# ---------------------------------------------------------------- demo data


def test_demo_satisfies_the_rules_and_fills_reminders(db_url: str, templates: Templates) -> None:
    templates.fill(db_url, partial(generated_demo, customers=300, seed=3))
    engine = make_engine(db_url)
    with engine.connect() as conn:
        deals = pd.read_sql(select(Opportunity.__table__), conn)
        notes = pd.read_sql(select(Interaction.__table__), conn)
        comments = pd.read_sql(select(Comment.__table__), conn)
        tasks = pd.read_sql(select(Task.__table__), conn)
        sales = conn.execute(select(User.username).where(User.role == "sales")).scalars().all()
    engine.dispose()
    for record in deals.astype(object).where(deals.notna(), None).to_dict("records"):
        assert stage_field_errors(record["stage"], record) == [], record
    assert notes[["summary", "customer_need", "next_step"]].notna().all().all()
    assert not notes.summary.map(is_placeholder).any()
    assert len(comments) > 0 and comments.body.map(mentions).map(len).eq(1).all()
    from_comments = tasks[tasks.comment_id.notna()]
    assert set(from_comments.comment_id.astype(int)) == set(comments.id)
    assert set(tasks.status) <= {"open", "in_progress"} and tasks.due_date.notna().all()
    admin = crmlib.open(db_url, user="admin")
    try:
        due = pd.concat([admin.reminders(rep) for rep in sales])
    finally:
        admin.close()
    assert set(due.kind) == {"task", "follow_up"}, due
