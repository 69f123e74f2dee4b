"""Tasks (status flow, scoping, links to records) and comments with @mentions, on both
databases."""

from __future__ import annotations

from datetime import date

import pytest
from click.testing import CliRunner

from crmlib import AccessDenied, NotFound, ValidationError, clock
from crmlib.cli import main
from crmlib.domain.team.comments import mentions
from tests.factories import Team, company


def rules(exc: pytest.ExceptionInfo[ValidationError]) -> set[tuple[str, str]]:
    return {(e.field, e.rule) for e in exc.value.errors}


# ---------------------------------------------------------------- tasks


def test_task_status_flow(team: Team) -> None:
    task = team.zhang.tasks.add("回访客户", priority="high", due_date="2030-01-15")
    assert (task["status"], task["priority"], task["assignee"]) == ("open", "high", "zhang")
    assert task["due_date"] == date(2030, 1, 15)
    assert team.zhang.tasks.start(task["id"])["status"] == "in_progress"
    with pytest.raises(ValidationError) as back:
        team.zhang.tasks.update(task["id"], status="open")
    assert rules(back) == {("status", "task_status_flow")}
    done = team.zhang.tasks.done(task["id"])
    assert done["status"] == "done" and done["completed_at"] is not None
    for target in ("open", "in_progress", "cancelled"):
        with pytest.raises(ValidationError) as final:
            team.zhang.tasks.update(task["id"], status=target)
        assert rules(final) == {("status", "task_status_flow")}
    other = team.zhang.tasks.add("作废的事")
    assert team.zhang.tasks.cancel(other["id"])["status"] == "cancelled"
    with pytest.raises(ValidationError) as cancelled:
        team.zhang.tasks.done(other["id"])
    assert rules(cancelled) == {("status", "task_status_flow")}


def test_task_fields_are_validated(team: Team) -> None:
    with pytest.raises(ValidationError) as untitled:
        team.zhang.tasks.add("  ")
    assert rules(untitled) == {("title", "required")}
    with pytest.raises(ValidationError) as bad:
        team.zhang.tasks.add("x", priority="urgent", due_date="someday")
    assert rules(bad) == {("priority", "enum:priority"), ("due_date", "date_format")}
    with pytest.raises(ValidationError) as nobody:
        team.zhang.tasks.add("x", assignee="ghost")
    assert rules(nobody) == {("assignee", "unknown_user")}
    task = team.zhang.tasks.add("x")
    with pytest.raises(ValidationError) as unknown:
        team.zhang.tasks.update(task["id"], colour="red")
    assert rules(unknown) == {("colour", "unknown_field")}
    with pytest.raises(ValidationError) as blank:
        team.zhang.tasks.update(task["id"], title="")
    assert rules(blank) == {("title", "required")}
    assert team.zhang.tasks.list()["title"].tolist() == ["x"]


def test_tasks_are_seen_by_assignee_creator_and_their_managers(team: Team) -> None:
    given = team.zhang.tasks.add("请 li 寄样品", assignee="li", due_date=clock.today())
    assert given["assignee"] == "li"
    assert team.li.tasks.list()["id"].tolist() == [given["id"]]
    assert team.zhang.tasks.list().empty  # mine: assigned to me
    assert team.zhang.tasks.list(everyone=True)["id"].tolist() == [given["id"]]  # I made it
    assert team.wang.tasks.list(assignee="li")["id"].tolist() == [given["id"]]
    assert team.zhao.tasks.list(everyone=True).empty
    with pytest.raises(AccessDenied):
        team.zhao.tasks.get(given["id"])
    with pytest.raises(AccessDenied):
        team.zhao.tasks.done(given["id"])
    with pytest.raises(NotFound):
        team.zhang.tasks.get(9999)
    moved = team.wang.tasks.update(given["id"], assignee="zhang", priority="low")
    assert (moved["assignee"], moved["priority"]) == ("zhang", "low")
    assert team.li.tasks.list().empty and len(team.zhang.tasks.list()) == 1
    team.zhang.tasks.done(given["id"])
    assert team.zhang.tasks.list().empty
    assert team.zhang.tasks.list(status="done")["id"].tolist() == [given["id"]]
    assert len(team.zhang.tasks.list(include_finished=True)) == 1


def test_task_about_a_record_in_scope(team: Team) -> None:
    code = team.zhang.customers.add(**company()).code
    deal = team.zhang.opportunities.add(code, name="扩产项目")["id"]
    about_customer = team.zhang.tasks.add("拜访", about=code)
    assert (about_customer["entity"], about_customer["customer_code"]) == ("customer", code)
    about_deal = team.zhang.tasks.add("改方案", about=f"opportunity:{deal}")
    assert (about_deal["entity"], about_deal["entity_id"]) == ("opportunity", deal)
    assert about_deal["customer_code"] == code
    assert team.zhang.tasks.list().set_index("id").loc[about_deal["id"], "customer_code"] == code
    with pytest.raises(AccessDenied):
        team.zhao.tasks.add("窥探", about=code)
    with pytest.raises(AccessDenied):
        team.zhao.tasks.add("窥探", about=f"opportunity:{deal}")
    with pytest.raises(NotFound):
        team.zhang.tasks.add("x", about="ticket:12345")
    with pytest.raises(ValidationError) as bad:
        team.zhang.tasks.add("x", about="not a code")
    assert rules(bad) == {("about", "about_format")}


def test_tasks_commands(team: Team) -> None:
    runner = CliRunner()
    base = ["--url", team.url, "--lang", "en", "--user", "zhang"]
    added = runner.invoke(
        main, [*base, "tasks", "add", "打电话", "--due", "2030-01-02", "--assignee", "li"]
    )
    assert added.exit_code == 0, added.output
    assert "added for li" in added.output
    listed = runner.invoke(main, [*base, "tasks", "list", "--all"])
    assert "打电话" in listed.output
    task_id = int(team.li.tasks.list()["id"].iloc[0])
    started = runner.invoke(main, [*base, "tasks", "set", str(task_id), "in_progress"])
    assert started.exit_code == 0 and "is now In progress" in started.output
    done = runner.invoke(main, [*base, "tasks", "done", str(task_id)])
    assert done.exit_code == 0 and "is now Done" in done.output
    again = runner.invoke(main, [*base, "tasks", "set", str(task_id), "open"])
    assert again.exit_code == 1 and "task_status_flow" in again.output


# ---------------------------------------------------------------- comments


def test_mention_pattern() -> None:
    assert mentions("请 @li 和 @zhang.wei 看一下。") == ("li", "zhang.wei")
    assert mentions("请@li跟进，@li 也看看") == ("li",)
    assert mentions("mail li@example.com or zhang.wei@corp.cn") == ()
    assert mentions("@wang_2: ok; @-x @") == ("wang_2",)


def test_comment_mentions_make_tasks_and_unknown_names_are_reported(team: Team) -> None:
    code = team.zhang.customers.add(**company()).code
    made = team.zhang.comments.add(
        "customer", code, "请 @li 和 @wang 看一下报价，抄送 li@example.com，还有 @nobody"
    )
    assert made["mentioned"] == ["li", "wang"]
    assert made["unknown_mentions"] == ["nobody"]
    assert len(made["task_ids"]) == 2
    mine = team.li.tasks.list()
    assert mine["id"].tolist() == [made["task_ids"][0]]
    task = mine.iloc[0]
    assert task.title.startswith("zhang mentioned you: 请 @li")
    assert (task.comment_id, task.entity, task.customer_code) == (made["id"], "customer", code)
    assert task.due_date == clock.today()
    reminders = team.li.reminders()
    assert reminders[["kind", "ref"]].values.tolist() == [["task", made["task_ids"][0]]]
    comments = team.zhang.comments.list("customer", code)
    assert comments[["author", "body"]].values.tolist() == [["zhang", made["body"]]]
    assert len(team.wang.comments.list("customer", code)) == 1


def test_comments_only_on_records_one_may_see(team: Team) -> None:
    code = team.zhang.customers.add(**company()).code
    deal = team.zhang.opportunities.add(code, name="扩产项目")["id"]
    on_deal = team.zhang.comments.add("opportunity", deal, "客户要求 V2 方案 @zhao")
    assert (on_deal["entity"], on_deal["entity_id"], on_deal["mentioned"]) == (
        "opportunity",
        deal,
        ["zhao"],
    )
    assert len(team.zhao.tasks.list()) == 1  # the mention reaches across teams
    with pytest.raises(AccessDenied):
        team.zhao.comments.add("customer", code, "看看")
    with pytest.raises(AccessDenied):
        team.zhao.comments.list("opportunity", deal)
    with pytest.raises(NotFound):
        team.zhang.comments.add("opportunity", 9999, "x")
    with pytest.raises(ValidationError) as entity:
        team.zhang.comments.add("invoice", 1, "x")
    assert rules(entity) == {("on", "enum:entity")}
    with pytest.raises(ValidationError) as empty:
        team.zhang.comments.add("customer", code, " ")
    assert rules(empty) == {("body", "required")}
    assert len(team.ana.comments.list("opportunity", deal)) == 1  # analysts see all


def test_comments_on_tickets_reach_the_service_team(team: Team) -> None:
    code = team.zhang.customers.add(**company()).code
    ticket = team.zhang.tickets.open(code, type="complaint", subject="交货延迟", priority="high")
    made = team.zhang.comments.add("ticket", ticket["id"], "客户很着急，@sun 请今天回电")
    assert (made["entity"], made["entity_id"], made["mentioned"]) == (
        "ticket",
        ticket["id"],
        ["sun"],
    )
    (task,) = team.sun.tasks.list().itertuples()
    assert (task.entity, task.customer_code) == ("ticket", code)
    assert team.sun.comments.list("ticket", ticket["id"])["body"].tolist() == [made["body"]]
    with pytest.raises(AccessDenied):
        team.zhao.comments.list("ticket", ticket["id"])


def test_inactive_users_are_not_mentioned(team: Team) -> None:
    team.admin.users.deactivate("zhao")
    code = team.zhang.customers.add(**company()).code
    made = team.zhang.comments.add("customer", code, "@zhao 已离职")
    assert (made["mentioned"], made["unknown_mentions"]) == ([], ["zhao"])


def test_comment_commands(team: Team) -> None:
    code = team.zhang.customers.add(**company()).code
    runner = CliRunner()
    base = ["--url", team.url, "--lang", "en", "--user", "zhang"]
    out = runner.invoke(main, [*base, "comment", "add", "customer", code, "@li 请跟进 @ghost"])
    assert out.exit_code == 0, out.output
    assert "tasks created for li" in out.output and "ghost" in out.output
    listed = runner.invoke(main, [*base, "comment", "list", "customer", code])
    assert "请跟进" in listed.output
