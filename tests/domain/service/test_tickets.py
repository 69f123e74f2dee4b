"""Tickets: routing, SLA clocks and states, the status flow, CSAT and NPS, the importer
and the command line, on both databases."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from crmlib import AccessDenied, ValidationError, clock
from crmlib.cli import main
from crmlib.settings import set_setting
from crmlib.store.engine import make_engine
from crmlib.store.models import Feedback
from crmlib.workspace import Workspace
from tests.factories import Team, company


def rule_of(exc: pytest.ExceptionInfo[ValidationError]) -> str:
    return exc.value.errors[0].rule


def customer(team: Team, owner: Workspace | None = None) -> str:
    return (owner or team.zhang).customers.add(**company()).code


def opened(team: Team, **values: object) -> dict[str, object]:
    values.setdefault("type", "after_sales")
    values.setdefault("subject", "设备故障报修")
    return team.sun.tickets.open(customer(team), **values)  # type: ignore[arg-type]


def test_open_routes_sets_due_times_and_scopes(team: Team) -> None:
    code = customer(team)
    moment = clock.now() - timedelta(hours=1)
    ticket = team.zhang.tickets.open(
        code, type="technical", subject="系统登录异常", priority="high", opened_at=moment
    )
    assert ticket["team"] == "support" and ticket["assignee"] is None  # ticket_routing default
    assert ticket["first_response_due"] == moment + timedelta(hours=24)
    assert ticket["resolution_due"] == moment + timedelta(hours=72)
    assert ticket["status"] == "open" and ticket["sla_state"] == "ok"
    inquiry = team.zhang.tickets.open(code, type="inquiry", subject="咨询价格")
    assert inquiry["team"] is None and inquiry["priority"] == "medium"
    # the rep sees tickets of their own customers only; service sees all
    assert len(team.zhang.tickets.frame()) == 2 and team.zhao.tickets.frame().empty
    assert len(team.sun.tickets.frame()) == 2
    with pytest.raises(AccessDenied):
        team.zhao.tickets.get(ticket["id"])
    with pytest.raises(AccessDenied):
        team.zhao.tickets.open(code, type="inquiry", subject="x")
    with pytest.raises(AccessDenied):
        team.ana.tickets.open(code, type="inquiry", subject="x")
    with pytest.raises(AccessDenied):  # sales open tickets, service works them
        team.zhang.tickets.start(ticket["id"])
    with pytest.raises(AccessDenied):
        team.zhang.tickets.open(code, type="inquiry", subject="x", team="support")


def test_open_validates_every_field(team: Team) -> None:
    code = customer(team)
    with pytest.raises(ValidationError) as exc:
        team.sun.tickets.open(
            code,
            type="party",
            subject=" ",
            priority="urgent",
            opened_at=clock.now() + timedelta(days=1),
        )
    rules = {(e.field, e.rule) for e in exc.value.errors}
    assert rules == {
        ("type", "enum:ticket_type"),
        ("priority", "enum:priority"),
        ("subject", "required"),
        ("opened_at", "not_in_future"),
    }
    with pytest.raises(ValidationError) as exc:
        team.sun.tickets.open(code, type="inquiry", subject="x", assignee="zhang")
    assert rule_of(exc) == "ticket_assignee_role"
    assert team.sun.tickets.frame().empty


def test_business_hours_and_priority_changes_move_due_times(team: Team) -> None:
    with team.admin.ctx.session() as session:
        set_setting(
            session,
            "business_hours",
            {"start": "09:00", "end": "18:00", "weekdays": [1, 2, 3, 4, 5]},
        )
    friday = clock.now().replace(hour=17, minute=0, second=0)
    friday -= timedelta(days=(friday.isoweekday() - 5) % 7 or 7)
    ticket = opened(team, priority="high", opened_at=friday)
    wednesday = friday + timedelta(days=5)
    assert ticket["first_response_due"] == wednesday.replace(hour=14)  # 24 business hours
    low = team.sun.tickets.update(ticket["id"], priority="low")
    assert low["first_response_due"] > ticket["first_response_due"]
    with pytest.raises(ValidationError) as exc:
        team.sun.tickets.update(ticket["id"], status="closed")
    assert rule_of(exc) == "unknown_field"


def test_status_flow_response_resolution_and_reopen(team: Team) -> None:
    ticket = opened(team)
    tid = int(ticket["id"])  # type: ignore[call-overload]
    tickets = team.sun.tickets
    with pytest.raises(ValidationError) as exc:
        tickets.resolve(tid, "已处理")  # open -> resolved skips the work
    assert rule_of(exc) == "ticket_status_flow"
    with pytest.raises(ValidationError) as exc:
        tickets.close(tid, csat=5)
    assert rule_of(exc) == "ticket_status_flow"
    with pytest.raises(ValidationError) as exc:
        tickets.reopen(tid)
    assert rule_of(exc) == "ticket_status_flow"

    after = tickets.respond(tid, "已联系客户")
    assert after["status"] == "in_progress" and after["assignee"] == "sun"
    assert after["first_response_at"] is not None
    with pytest.raises(ValidationError) as exc:
        tickets.respond(tid, "再次回复")
    assert rule_of(exc) == "ticket_first_response_once"
    with pytest.raises(ValidationError) as exc:
        tickets.start(tid)  # already in progress
    assert rule_of(exc) == "ticket_status_flow"
    with pytest.raises(ValidationError) as exc:
        tickets.resolve(tid, "  ")
    assert rule_of(exc) == "ticket_resolution_required"

    tickets.comment(tid, "已申请备件")
    resolved = tickets.resolve(tid, "更换配件")
    assert resolved["status"] == "resolved" and resolved["resolved_at"] is not None
    reopened = tickets.reopen(tid, "客户反馈仍有问题")
    assert reopened["status"] == "in_progress" and reopened["resolved_at"] is None
    assert reopened["reopens"] == 1
    tickets.resolve(tid, "更换主板")
    closed = tickets.close(tid, csat=4, comment="满意")
    assert closed["status"] == "closed" and closed["closed_at"] is not None
    with pytest.raises(ValidationError) as exc:
        tickets.close(tid, csat=5)  # closed once, rated once
    assert rule_of(exc) == "ticket_status_flow"
    assert tickets.reopen(tid)["reopens"] == 2

    events = tickets.events(tid)
    assert list(events.kind) == [
        "response",
        "status",
        "transfer",
        "comment",
        "status",
        "status",
        "status",
        "status",
        "status",
    ]
    moves = events[events.kind == "status"]
    assert list(zip(moves.from_value, moves.to_value, strict=True)) == [
        ("open", "in_progress"),
        ("in_progress", "resolved"),
        ("resolved", "in_progress"),
        ("in_progress", "resolved"),
        ("resolved", "closed"),
        ("closed", "in_progress"),
    ]
    assert set(events.actor) == {"sun"}
    assert team.sun.tickets.frame().reopens.tolist() == [2]
    history = team.admin.history(str(ticket["customer_code"]))
    assert (history.entity == "tickets").any()


def test_close_records_csat_or_an_explicit_no_answer(team: Team) -> None:
    tickets = team.sun.tickets
    ids = []
    for _ in range(3):
        tid = int(opened(team)["id"])  # type: ignore[call-overload]
        tickets.start(tid)
        tickets.resolve(tid, "已解决")
        ids.append(tid)
    for bad in (0, 6, "很好", 4.5, True):
        with pytest.raises(ValidationError) as exc:
            tickets.close(ids[0], csat=bad)  # type: ignore[arg-type]
        assert rule_of(exc) == "csat_score"
    with pytest.raises(ValidationError) as exc:
        tickets.close(ids[0], csat=None, comment="没回答却有评价")
    assert rule_of(exc) == "csat_score"
    assert tickets.get(ids[0])["status"] == "resolved"  # nothing changed
    tickets.close(ids[0], csat=5, comment="很专业")
    tickets.close(ids[1], csat="2")  # type: ignore[arg-type]
    tickets.close(ids[2], csat=None)  # the customer did not answer
    answers = team.sun.feedback.frame(kind="csat")
    assert sorted(zip(answers.ticket_id, answers.score, strict=True)) == [(ids[0], 5), (ids[1], 2)]
    engine = make_engine(team.url)
    with engine.connect() as conn:
        assert (
            conn.execute(select(Feedback.ticket_id).where(Feedback.ticket_id == ids[2])).first()
            is None
        )
    engine.dispose()


def test_nps_answers(team: Team) -> None:
    code = customer(team)
    answer = team.zhang.feedback.nps(code, 9, "已推荐给同行")
    assert (answer["kind"], answer["score"]) == ("nps", 9)
    team.sun.feedback.nps(code, 0)
    for bad in (-1, 11, "十"):
        with pytest.raises(ValidationError) as exc:
            team.sun.feedback.nps(code, bad)
        assert rule_of(exc) == "nps_score"
    with pytest.raises(AccessDenied):
        team.zhao.feedback.nps(code, 7)
    with pytest.raises(AccessDenied):
        team.ana.feedback.nps(code, 7)
    assert team.zhang.feedback.frame("nps").score.tolist() == [0, 9]
    assert team.zhao.feedback.frame().empty


def test_take_and_transfer(team: Team) -> None:
    team.admin.users.add("qian", role="service", team="service")
    tid = int(opened(team, type="complaint")["id"])  # type: ignore[call-overload]
    tickets = team.sun.tickets
    assert tickets.take(tid)["assignee"] == "sun"
    moved = tickets.transfer(tid, assignee="qian", note="转售后主管协调")
    assert (moved["team"], moved["assignee"]) == ("service", "qian")
    queued = tickets.transfer(tid, team="support")
    assert (queued["team"], queued["assignee"]) == ("support", None)
    with pytest.raises(ValidationError) as exc:
        tickets.transfer(tid)
    assert rule_of(exc) == "ticket_transfer_target"
    with pytest.raises(ValidationError) as exc:
        tickets.transfer(tid, assignee="zhang")
    assert rule_of(exc) == "ticket_assignee_role"
    events = tickets.events(tid)
    transfers = events[events.kind == "transfer"]
    assert list(zip(transfers.from_value.fillna(""), transfers.to_value, strict=True)) == [
        ("", "support/sun"),
        ("support/sun", "service/qian"),
        ("service/qian", "support"),
    ]
    assert transfers.note.tolist()[1] == "转售后主管协调"
    tickets.start(tid)  # unassigned: the agent who starts it takes it
    tickets.resolve(tid, "已致歉并补偿")
    with pytest.raises(ValidationError) as exc:
        tickets.take(tid)
    assert rule_of(exc) == "ticket_transfer_open"
    with pytest.raises(ValidationError) as exc:
        tickets.respond(tid, "晚到的回复")
    assert rule_of(exc) == "ticket_response_open"


def test_at_risk_and_breached_lists(team: Team) -> None:
    now = clock.now()
    risky = opened(team, priority="high", opened_at=now - timedelta(hours=20))
    late = opened(team, priority="high", opened_at=now - timedelta(hours=30))
    fine = opened(team, priority="low", opened_at=now - timedelta(hours=1))
    answered = opened(team, priority="high", opened_at=now - timedelta(hours=30))
    team.sun.tickets.respond(int(answered["id"]), "已联系")  # type: ignore[call-overload]
    states = dict(zip(*team.sun.tickets.frame()[["id", "sla_state"]].T.values, strict=True))
    assert states == {
        risky["id"]: "at_risk",
        late["id"]: "breached",
        fine["id"]: "ok",
        answered["id"]: "breached",
    }
    assert team.sun.tickets.at_risk().id.tolist() == [risky["id"]]
    assert sorted(team.sun.tickets.breached().id) == sorted([late["id"], answered["id"]])
    assert team.sun.tickets.get(int(late["id"]))["sla_state"] == "breached"  # type: ignore[call-overload]
    assert team.sun.tickets.frame(priority="low").id.tolist() == [fine["id"]]
    with pytest.raises(ValidationError):
        team.sun.tickets.frame(colour="red")


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_import_computes_sla_routing_and_checks_status(team: Team, tmp_path: Path) -> None:
    code = customer(team)
    header = "external_id,客户编号,工单类型,优先级,主题,工单状态,创建时间,解决方案\n"
    first = write(
        tmp_path / "a.csv",
        header
        + f"T1,{code},技术支持,高,登录失败,待处理,2024-05-03 17:00,\n"
        + f"T2,{code},售后,低,报修,已解决,2024-05-03 17:00,\n"
        + f"T3,{code},咨询,中,开票,已关闭,2024-05-03 17:00,已开具\n"
        + f"T4,{code},咨询,中,开票,搁置,2024-05-03 17:00,\n",
    )
    result = team.sun.import_file("tickets", first)
    assert (result.created, result.rejected) == (2, 2)
    reasons = result.rejects_path.read_text(encoding="utf-8-sig")  # type: ignore[union-attr]
    assert "[ticket_resolution_required]" in reasons and "[enum:ticket_status]" in reasons
    frame = team.sun.tickets.frame().set_index("subject")
    login = frame.loc["登录失败"]
    assert login.team == "support"
    assert login.first_response_due - login.opened_at == timedelta(hours=24)
    assert login.resolution_due - login.opened_at == timedelta(hours=72)
    assert login.sla_state == "breached"
    moved = write(tmp_path / "b.csv", header + f"T1,{code},技术支持,低,登录失败,已关闭,,\n")
    result = team.sun.import_file("tickets", moved)
    assert result.rejected == 1
    assert "[ticket_status_flow]" in result.rejects_path.read_text(encoding="utf-8-sig")  # type: ignore[union-attr]
    started = write(tmp_path / "c.csv", header + f"T1,{code},技术支持,低,登录失败,处理中,,\n")
    assert team.sun.import_file("tickets", started).updated == 1
    login = team.sun.tickets.frame().set_index("subject").loc["登录失败"]
    assert login.status == "in_progress"
    assert login.first_response_due - login.opened_at == timedelta(hours=72)  # low priority
    events = team.sun.tickets.events(int(login.id))
    assert events[["kind", "from_value", "to_value"]].values.tolist() == [
        ["status", "open", "in_progress"]
    ]


def test_cli_works_a_ticket(team: Team) -> None:
    code = customer(team)
    runner = CliRunner()

    def crm(*args: str) -> str:
        result = runner.invoke(main, ["--url", team.url, "--user", "sun", "--lang", "en", *args])
        assert result.exit_code == 0, result.output
        return result.output

    out = crm(
        "tickets",
        "open",
        code,
        "--type",
        "technical",
        "--subject",
        "接口对接问题",
        "--priority",
        "high",
    )
    assert out.startswith("#1 ") and "Support team/-" in out and "[Open, High, SLA OK]" in out
    crm("tickets", "respond", "1", "已联系")
    crm("tickets", "resolve", "1", "已修复")
    refused = runner.invoke(
        main,
        [
            "--url",
            team.url,
            "--user",
            "sun",
            "--lang",
            "en",
            "tickets",
            "close",
            "1",
            "--csat",
            "9",
        ],
    )
    assert refused.exit_code == 1 and "[csat_score]" in refused.output
    assert (
        runner.invoke(main, ["--url", team.url, "--user", "sun", "tickets", "close", "1"]).exit_code
        == 2
    )  # neither --csat nor --no-answer
    assert "[Closed, High" in crm("tickets", "close", "1", "--csat", "5")
    assert "接口对接问题" in crm("tickets", "list", "--status", "closed")
    assert "(none)" in crm("tickets", "at-risk")
    assert "NPS 8" in crm("feedback", "nps", code, "8")
