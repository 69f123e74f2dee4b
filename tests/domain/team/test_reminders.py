"""Follow-ups (what they must say) and reminders (what is due), on both databases."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner

from crmlib import AccessDenied, ValidationError, clock
from crmlib.cli import main
from crmlib.domain.sales.followups import is_placeholder
from tests.factories import Team, company

NOTE = {"channel": "phone", "customer_need": "希望缩短交期", "next_step": "周五前发送报价"}


def follow_up(ws: Any, code: str, **values: Any) -> dict[str, Any]:
    return dict(ws.interactions.add(code, **{"summary": "电话沟通采购计划", **NOTE, **values}))


def rules(exc: pytest.ExceptionInfo[ValidationError]) -> set[tuple[str, str]]:
    return {(e.field, e.rule) for e in exc.value.errors}


# ---------------------------------------------------------------- follow-up rules


def test_follow_up_needs_summary_need_and_next_step(team: Team) -> None:
    code = team.zhang.customers.add(**company()).code
    with pytest.raises(ValidationError) as missing:
        team.zhang.interactions.add(code, channel="phone", summary="电话沟通采购计划")
    assert rules(missing) == {("customer_need", "required"), ("next_step", "required")}
    with pytest.raises(ValidationError) as no_summary:
        team.zhang.interactions.add(code, channel="visit", customer_need="x", next_step="y")
    assert rules(no_summary) == {("summary", "required")}
    made = follow_up(team.zhang, code)
    with pytest.raises(ValidationError) as cleared:
        team.zhang.interactions.update(made["id"], next_step="  ")
    assert rules(cleared) == {("next_step", "required")}
    assert len(team.zhang.interactions.frame(customer_code=code)) == 1


@pytest.mark.parametrize("summary", ["已联系", "Contacted.", " 跟进 ", "OK!", "已联系。"])
def test_placeholder_summaries_are_refused(team: Team, summary: str) -> None:
    code = team.zhang.customers.add(**company()).code
    with pytest.raises(ValidationError) as refused:
        follow_up(team.zhang, code, summary=summary)
    assert rules(refused) == {("summary", "summary_placeholder")}
    made = follow_up(team.zhang, code)
    with pytest.raises(ValidationError) as changed:
        team.zhang.interactions.update(made["id"], summary=summary)
    assert rules(changed) == {("summary", "summary_placeholder")}


def test_placeholder_is_judged_on_the_whole_summary() -> None:
    assert is_placeholder("已联系") and is_placeholder("contacted")
    assert not is_placeholder("已联系采购经理，确认下月下单数量")


def test_follow_up_deal_must_be_the_customers(team: Team) -> None:
    code = team.zhang.customers.add(**company()).code
    other = team.zhang.customers.add(**company(name="另一家公司")).code
    deal = team.zhang.opportunities.add(other, name="别家的项目")["id"]
    with pytest.raises(ValidationError) as refused:
        follow_up(team.zhang, code, opportunity_id=deal)
    assert rules(refused) == {("opportunity_id", "opportunity_of_customer")}
    with pytest.raises(ValidationError) as bad:
        follow_up(team.zhang, code, opportunity_id="abc")
    assert rules(bad) == {("opportunity_id", "record_id")}
    assert follow_up(team.zhang, other, opportunity_id=str(deal))["opportunity_id"] == deal


def test_follow_up_updates_last_contact(team: Team) -> None:
    code = team.zhang.customers.add(**company()).code
    recent = clock.now() - timedelta(days=1)
    follow_up(team.zhang, code, occurred_at=recent)
    assert team.zhang.customers.get(code).last_contact_at == recent
    follow_up(team.zhang, code, occurred_at=recent - timedelta(days=10))  # logged late
    assert team.zhang.customers.get(code).last_contact_at == recent


# ---------------------------------------------------------------- reminders


def test_reminders_list_due_and_overdue_follow_ups_and_tasks(team: Team) -> None:
    today = clock.today()
    first = team.zhang.customers.add(**company(name="甲公司")).code
    second = team.zhang.customers.add(**company(name="乙公司")).code
    third = team.zhang.customers.add(**company(name="丙公司")).code
    earlier = clock.now() - timedelta(days=5)
    overdue = follow_up(
        team.zhang, first, occurred_at=earlier, next_action_date=today - timedelta(days=3)
    )
    due = follow_up(team.zhang, second, next_action_date=today, next_step="上门拜访")
    follow_up(team.zhang, third, next_action_date=today + timedelta(days=2))  # not yet
    task = team.zhang.tasks.add("准备合同", due_date=today - timedelta(days=1), about=third)
    team.zhang.tasks.add("整理名片")  # no due date: never a reminder
    finished = team.zhang.tasks.add("已办", due_date=today - timedelta(days=9))
    team.zhang.tasks.done(finished["id"])
    team.li.tasks.add("li 的事", due_date=today)

    found = team.zhang.reminders()
    assert list(found.columns) == [
        "kind",
        "due_date",
        "overdue_days",
        "customer_code",
        "customer_name",
        "todo",
        "ref",
    ]
    assert found[["kind", "ref", "overdue_days"]].values.tolist() == [
        ["follow_up", overdue["id"], 3],
        ["task", task["id"], 1],
        ["follow_up", due["id"], 0],
    ]
    row = found.iloc[2]
    assert (row.customer_code, row.customer_name, row.todo) == (second, "乙公司", "上门拜访")
    assert found.iloc[1].customer_code == third

    # A later follow-up of the customer is the next action taken.
    follow_up(team.zhang, first, summary="按约回访，客户确认下单")
    left = team.zhang.reminders()
    assert left[["kind", "ref"]].values.tolist() == [["task", task["id"]], ["follow_up", due["id"]]]
    team.zhang.tasks.done(task["id"])
    assert team.zhang.reminders()["kind"].tolist() == ["follow_up"]


def test_reminders_of_others_only_for_managers_of_their_team(team: Team) -> None:
    code = team.li.customers.add(**company()).code
    follow_up(team.li, code, next_action_date=clock.today())
    assert len(team.wang.reminders("li")) == 1
    assert len(team.admin.reminders("li")) == 1
    assert len(team.li.reminders()) == 1 and len(team.wang.reminders()) == 0
    for ws, whom in ((team.zhang, "li"), (team.wang, "zhao"), (team.ana, "li")):
        with pytest.raises(AccessDenied):
            ws.reminders(whom)


def test_reminders_command(team: Team) -> None:
    code = team.li.customers.add(**company(name="丁公司")).code
    follow_up(team.li, code, next_action_date=clock.today(), next_step="寄样品")
    runner = CliRunner()
    base = ["--url", team.url, "--lang", "en"]
    out = runner.invoke(main, [*base, "--user", "wang", "reminders", "--of", "li"])
    assert out.exit_code == 0, out.output
    assert "寄样品" in out.output and code in out.output
    empty = runner.invoke(main, [*base, "--user", "zhang", "reminders"])
    assert empty.exit_code == 0 and "nothing due or overdue" in empty.output
    denied = runner.invoke(main, [*base, "--user", "zhang", "reminders", "--of", "li"])
    assert denied.exit_code == 1 and "error:" in denied.output
