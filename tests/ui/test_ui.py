"""The notebook widgets, driven as a user would: set values, click buttons, read what they
show; every click goes to a real database (SQLite and PostgreSQL through ``team``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import func, select

import crmlib
from crmlib import ui
from crmlib.store.models import AuditEvent, Customer, Feedback, Merge
from crmlib.ui.entry import CustomerEntry
from crmlib.ui.fields import industry_choices
from crmlib.workspace import Workspace
from tests.factories import Team, company


def count(ws: Workspace, model: Any) -> int:
    with ws.ctx.reading() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


def fill(entry: CustomerEntry, **values: Any) -> None:
    for name, value in values.items():
        entry.form[name].value = value


GOOD = {
    "name": "杭州云帆软件有限公司",
    "industry": "65",
    "province": "浙江省",
    "city": "杭州",
    "contact": "王芳",
    "phone": "139 1234 5678",
    "email": "wang.fang@yunfan.cn",
    "source": "exhibition",
    "tags": "重点，VIP",
}


# -- the customer entry form -------------------------------------------------------------


def test_a_valid_save_writes_the_customer_through_the_audit_log(team: Team) -> None:
    entry = ui.CustomerEntry(team.zhang)
    fill(entry, **GOOD)
    entry.save_button.click()

    assert entry.status.kind == "ok", entry.status.value
    assert entry.code is not None
    saved = team.zhang.customers.get(entry.code)
    assert (saved.name, saved.phone, saved.industry_division, saved.owner) == (
        "杭州云帆软件有限公司",
        "+8613912345678",
        "65",
        "zhang",
    )
    assert saved.tags == ("VIP", "重点")
    history = team.zhang.history(entry.code)
    assert set(history["actor"]) == {"zhang"}
    assert "customers" in set(history["entity"])
    # The form now edits the saved file, and shows its history.
    assert "C" in entry.title.value and entry.code in entry.title.value
    assert len(entry.history.frame) == len(history)


def test_an_exact_duplicate_is_refused_until_the_box_is_ticked(team: Team) -> None:
    first = ui.CustomerEntry(team.zhang)
    fill(first, **GOOD)
    first.save_button.click()
    entry = ui.CustomerEntry(team.zhang)
    fill(entry, **GOOD)
    entry.save_button.click()
    assert entry.status.kind == "error" and entry.code is None
    assert first.code in entry.form["phone"].message.value
    entry.allow_duplicate.value = True
    entry.save_button.click()
    assert entry.status.kind == "ok" and entry.code not in (None, first.code)
    assert not entry.allow_duplicate.value  # ticked for one save only
    assert len(team.zhang.customers.frame()) == 2


def test_an_invalid_save_shows_every_message_and_writes_nothing(team: Team) -> None:
    before = (count(team.admin, Customer), count(team.admin, AuditEvent))
    entry = ui.CustomerEntry(team.zhang)
    fill(entry, name="杭州云帆软件有限公司", phone="12345", email="not-an-email", postcode="3100")
    entry.save_button.click()

    assert entry.status.kind == "error"
    assert entry.code is None
    problems = {name: f.problem for name, f in entry.form.fields.items() if f.problem}
    assert problems["phone"].startswith("is not a valid phone number")
    assert problems["email"] == "is not a valid e-mail address"
    assert problems["postcode"] == "is not a six-digit postcode"
    assert problems["industry"] == problems["source"] == problems["contact"] == "is required"
    assert "name" not in problems
    assert (count(team.admin, Customer), count(team.admin, AuditEvent)) == before


def test_fields_are_checked_as_they_are_typed_in_the_users_language(team: Team) -> None:
    entry = ui.CustomerEntry(team.zhang)
    entry.form["email"].input.value = "wang@"
    assert entry.form["email"].problem == "is not a valid e-mail address"
    entry.form["email"].input.value = "wang@yunfan.cn"
    assert entry.form["email"].problem == ""

    chinese = crmlib.open(team.url, user="zhang", lang="zh")
    try:
        form = ui.CustomerEntry(chinese).form
        form["phone"].input.value = "123"
        assert form["phone"].problem.startswith("不是有效的电话号码")
        assert form["name"].input.description == "客户名称 *"
        labels = dict((code, label) for label, code in form["kind"].input.options)
        assert labels["person"] == "个人"
    finally:
        chinese.close()


def test_dropdowns_come_from_the_reference_data(team: Team) -> None:
    form = ui.CustomerEntry(team.zhang).form
    industries = [code for _, code in form["industry"].input.options]
    assert industries == ["", *(code for _, code in industry_choices("en"))]
    assert {"C", "39", "I", "65"} <= set(industries)
    assert "浙江省" in [code for _, code in form["province"].input.options]
    assert [code for _, code in form["source"].input.options][1:4] == [
        "website",
        "exhibition",
        "referral",
    ]
    # A person needs less than a company: the required marks follow the kind.
    assert form["industry"].input.description.endswith("*")
    form["kind"].value = "person"
    assert not form["industry"].input.description.endswith("*")


def test_a_duplicate_warning_appears_while_typing_and_opens_the_match(team: Team) -> None:
    existing = team.zhang.customers.add(**company(name="上海星辰科技有限公司", phone="13812345678"))
    entry = ui.CustomerEntry(team.zhang)
    entry.form["name"].input.value = "上海星辰科技"
    assert [m.code for m in entry.warning.matches] == [existing.code]
    assert "上海星辰科技有限公司" in str(entry.warning.children[1].children[0].value)

    entry.form["phone"].input.value = "138 1234 5678"
    assert entry.warning.matches[0].score >= 90

    opener = entry.warning.children[1].children[1]
    opener.click()
    assert entry.code == existing.code
    assert entry.form["name"].value == "上海星辰科技有限公司"
    assert entry.warning.matches == []


def test_a_match_outside_the_scope_is_only_said_to_exist(team: Team) -> None:
    team.zhang.customers.add(**company(name="上海星辰科技有限公司", phone="13812345678"))
    entry = ui.CustomerEntry(team.zhao)  # sales in team west: zhang's customers are not his
    entry.form["name"].input.value = "上海星辰科技有限公司"
    entry.form["phone"].input.value = "13812345678"
    (match,) = entry.warning.matches
    assert not match.visible and (match.code, match.owner, match.phone) == ("", None, None)
    warning = entry.warning.children[1].value
    assert "outside your scope" in warning and "zhang" not in warning and "星辰" not in warning


def test_search_opens_an_existing_customer_for_editing(team: Team) -> None:
    saved = team.zhang.customers.add(
        **company(name="深圳鹏城电子有限公司", phone="13712345678"), tags=["展会线索"]
    )
    team.zhang.customers.add(**company(name="北京华夏物流有限公司"))
    entry = ui.CustomerEntry(team.zhang)
    for query in (saved.code, "鹏城电子", "深圳朋城电子", "12345678", "展会线索"):
        entry.query.value = query
        entry.search_button.click()
        assert entry.results.frame["code"].iloc[0] == saved.code, query
    entry.open_button.click()
    assert entry.code == saved.code

    entry.form["city"].value = "深圳"
    entry.save_button.click()
    assert entry.status.kind == "ok", entry.status.value
    assert team.zhang.customers.get(saved.code).city == "深圳"
    changes = entry.history.frame["text"].tolist()
    assert any("City" in line and "深圳" in line for line in changes)  # the field by its label
    # Another rep's search does not find it.
    assert team.zhao.find_customers("鹏城电子").empty


def test_a_role_that_may_not_edit_sees_a_read_only_form(team: Team) -> None:
    entry = ui.CustomerEntry(team.ana)
    assert entry.save_button.disabled
    assert "may look but not change" in str(entry.children[1].value)


# -- duplicates review ---------------------------------------------------------------------


def test_a_merge_followed_by_an_unmerge(team: Team) -> None:
    name, phone = "上海星辰科技有限公司", "13812345678"
    first = team.admin.customers.add(**company(name=name, phone=phone, address="张江路 1 号"))
    second = team.admin.customers.add(
        allow_duplicate=True,
        **company(name=name, phone=phone, address="张江路 100 号", city="上海"),
    )
    review = ui.DuplicateReview(team.admin)
    assert review.pairs.selected == f"{first.code}|{second.code}"
    assert "address" in review.comparison.differing
    assert "crm-differs" in review.comparison.table.value
    review.comparison.toggles["address"].value = "other"

    review.merge_button.click()
    assert review.status.kind == "ok", review.status.value
    merge_id = review.merge_id.value
    assert review.merge_id.options == (
        (
            f"#{merge_id} {first.code} ← {second.code} "
            f"({team.admin.duplicates.merges()['merged_at'][0]:%Y-%m-%d %H:%M})",
            merge_id,
        ),
    )  # the merges that can be undone, by number and codes
    survivor = team.admin.customers.get(first.code)
    assert survivor.address == "张江路 100 号" and survivor.city == "上海"
    assert team.admin.customers.get(second.code).status == "archived"
    assert review.pairs.frame.empty
    assert count(team.admin, Merge) == 1

    review.unmerge_button.click()
    assert review.status.kind == "ok", review.status.value
    assert team.admin.customers.get(first.code).address == "张江路 1 号"
    assert team.admin.customers.get(second.code).status == "potential"
    assert review.pairs.selected == f"{first.code}|{second.code}"
    assert merge_id > 0
    assert review.merge_id.options == ()  # undone: nothing left to undo
    review.unmerge_button.click()  # with nothing chosen: nothing happens
    assert team.admin.customers.get(second.code).status == "potential"


def test_a_role_that_may_not_edit_cannot_merge(team: Team) -> None:
    review = ui.DuplicateReview(team.ana)
    assert review.merge_button.disabled and review.unmerge_button.disabled


# -- follow-ups, tickets, imports, quality -------------------------------------------------------


def test_logging_a_follow_up_checks_what_it_must_say(team: Team) -> None:
    code = team.zhang.customers.add(**company()).code
    deal = team.zhang.opportunities.add(code, name="ERP 升级")
    follow_ups = ui.FollowUps(team.zhang)
    assert follow_ups.customers.frame["code"].tolist() == [code]
    assert follow_ups.customers.frame["status"].tolist() == ["Potential"]  # a label, not a code
    assert follow_ups.deals.frame["stage"].tolist() == ["Contact"]
    assert follow_ups.form["customer_code"].value == code  # picked from "my customers"
    assert [v for _, v in follow_ups.form["opportunity_id"].input.options] == ["", str(deal["id"])]

    follow_ups.form["channel"].value = "phone"
    follow_ups.form["summary"].value = "ok"
    follow_ups.log_button.click()
    assert follow_ups.form["customer_need"].problem == "is required"
    assert follow_ups.form["next_step"].problem == "is required"
    follow_ups.form["customer_need"].value = "库存模块"
    follow_ups.form["next_step"].value = "发送报价"
    follow_ups.log_button.click()
    assert follow_ups.form["summary"].problem == "is only a placeholder: say what was discussed"
    assert follow_ups.status.kind == "error"
    assert team.zhang.interactions.frame().empty

    follow_ups.form["summary"].value = "电话沟通了 ERP 升级范围"
    follow_ups.form["next_action_date"].value = "2020-01-01"
    follow_ups.form["opportunity_id"].value = str(deal["id"])
    follow_ups.log_button.click()
    assert follow_ups.status.kind == "ok", follow_ups.status.value
    logged = team.zhang.interactions.frame()
    assert logged["opportunity_id"].tolist() == [deal["id"]]
    assert follow_ups.reminders.frame["todo"].tolist() == ["发送报价"]  # overdue already


def test_moving_a_deal_to_another_stage_asks_for_what_the_stage_needs(team: Team) -> None:
    code = team.zhang.customers.add(**company()).code
    deal = team.zhang.opportunities.add(code, name="ERP 升级")
    follow_ups = ui.FollowUps(team.zhang)
    assert follow_ups.deals.selected == deal["id"]
    follow_ups.stage.value = "proposal"
    follow_ups.stage_button.click()
    assert follow_ups.stage_form["need_description"].problem.startswith("is required")
    assert team.zhang.opportunities.get(deal["id"])["stage"] == "contact"

    follow_ups.stage_form["need_description"].value = "库存与财务一体化"
    follow_ups.stage_form["proposal_version"].value = "v1"
    follow_ups.stage_button.click()
    assert follow_ups.deal_status.kind == "ok", follow_ups.deal_status.value
    assert team.zhang.opportunities.get(deal["id"])["stage"] == "proposal"


def test_a_ticket_is_taken_answered_resolved_and_closed_with_csat(team: Team) -> None:
    code = team.zhang.customers.add(**company()).code
    ticket = team.zhang.tickets.open(code, type="complaint", subject="设备异响", priority="high")
    desk = ui.TicketDesk(team.sun)
    assert desk.queue.selected == ticket["id"]
    assert "#ecfdf3" in desk.queue.table.value  # the SLA colour of a fresh ticket: ok
    shown = desk.queue.frame.iloc[0]
    assert (shown["type"], shown["priority"], shown["status"]) == ("Complaint", "High", "Open")

    desk.buttons["take"].click()
    assert team.sun.tickets.get(ticket["id"])["assignee"] == "sun"
    desk.buttons["resolve"].click()  # not in progress yet, and no resolution text
    assert desk.status.kind == "error"
    desk.reply.value = "已安排工程师上门"
    desk.buttons["respond"].click()
    desk.resolution.value = "更换风扇"
    desk.buttons["resolve"].click()
    assert team.sun.tickets.get(ticket["id"])["status"] == "resolved"

    desk.filter.value = "resolved"
    desk.csat.value = 4
    desk.comment.value = "响应及时"
    desk.buttons["close"].click()
    assert desk.status.kind == "ok", desk.status.value
    assert team.sun.tickets.get(ticket["id"])["status"] == "closed"
    assert count(team.admin, Feedback) == 1
    assert desk.queue.frame.empty  # closed: gone from the resolved ones
    desk.filter.value = "all"
    assert desk.queue.selected == ticket["id"]
    assert {"transfer", "response", "status"} <= set(desk.events.frame["kind"])


def test_a_sales_rep_cannot_work_tickets(team: Team) -> None:
    desk = ui.TicketDesk(team.zhang)
    assert all(b.disabled for b in desk.buttons.values())


def upload(review: Any, name: str, text: str) -> None:
    data = text.encode("utf-8")
    review.upload.value = (
        {
            "name": name,
            "type": "text/csv",
            "size": len(data),
            "content": memoryview(data),
            "last_modified": datetime(2024, 5, 1, tzinfo=UTC),
        },
    )


def test_an_import_is_previewed_dry_run_with_rejects_and_committed(team: Team) -> None:
    review = ui.ImportReview(team.zhang)
    review.dry_button.click()
    assert review.status.kind == "warn"  # no file yet
    upload(
        review,
        "客户.csv",
        "客户名称,行业,联系人,电话,客户来源\n"
        "杭州云帆软件有限公司,65,王芳,13912345678,展会\n"
        "宁波海曙贸易有限公司,51,李强,12345,官网\n",
    )
    assert review.preview.frame.shape == (2, 5)

    review.dry_button.click()
    assert review.result is not None and review.result.dry_run
    assert (review.result.ok, review.result.rejected) == (1, 1)
    assert "phone" in review.rejects.frame.to_string()
    assert "data:text/csv;base64," in review.download.value
    assert team.zhang.customers.frame().empty

    review.commit_button.click()
    assert review.result.committed and review.result.created == 1
    assert review.progress.bar.bar_style == "success"
    assert team.zhang.customers.frame()["name"].tolist() == ["杭州云帆软件有限公司"]


def test_the_import_notebook_maps_columns_it_does_not_know(team: Team) -> None:
    review = ui.ImportReview(team.zhang)
    upload(
        review,
        "客户.csv",
        "客户名称,行业,联系人,手机号码,客户来源,客户说明\n"
        "杭州云帆软件有限公司,65,王芳,13912345678,官网表单,年底扩产\n",
    )
    review.dry_button.click()
    assert review.result is not None and review.result.rejected == 1
    assert "&quot;手机号码&quot;: perhaps Phone" in review.summary.value
    review.mapping.value = "手机号码=phone\n\n客户说明=备注"
    review.commit_button.click()
    assert review.result.committed and review.result.created == 1, review.summary.value
    [remarks] = team.zhang.customers.frame()["remarks"].tolist()
    assert remarks == "年底扩产"
    review.mapping.value = "客户说明"  # no field named: refused before anything is read
    review.dry_button.click()
    assert review.status.kind == "error" and "=" in review.status.value


def test_data_quality_drills_into_a_failing_check_and_fixes_inline(team: Team) -> None:
    codes: list[str] = []
    for n in range(3):
        codes.append(team.zhang.customers.add(**company(name=f"公司{n}号有限公司")).code)
    review = ui.QualityReview(team.zhang)
    checks = [value for _, value in review.drill.options]
    assert "completeness.postcode" in checks
    review.drill.value = "completeness.postcode"
    rows = review.fixes.children
    assert [row.code for row in rows] == codes

    rows[0].input.input.value = "2000"
    rows[0].fix_button.click()
    assert rows[0].status.kind == "error"
    assert team.zhang.customers.get(codes[0]).postcode is None
    rows[0].input.input.value = "200120"
    rows[0].fix_button.click()
    assert rows[0].status.kind == "ok", rows[0].status.value
    assert team.zhang.customers.get(codes[0]).postcode == "200120"
    history = team.zhang.history(codes[0])
    assert ((history["field"] == "postcode") & (history["actor"] == "zhang")).any()

    review.measure_button.click()
    assert len(review.trend.frame) == 2


# -- building blocks ---------------------------------------------------------------------------


def test_a_grid_never_renders_more_than_a_page() -> None:
    frame = pd.DataFrame({"n": range(100_000), "text": ["x" * 300] * 100_000})
    grid = ui.Grid(frame, "en", page_size=20, key="n")
    assert grid.table.value.count("<tr") == 21  # header + 20 rows
    assert grid.where.value == "page 1 of 5,000, 100,000 rows"
    assert len(grid.table.value) < 20_000
    grid.next.click()
    assert grid.selected == 20 and grid.previous.disabled is False
    grid.set_frame(frame.iloc[:0])
    assert "nothing to show" in grid.table.value and grid.next.disabled


def test_the_progress_widget_follows_the_import_callback() -> None:
    progress = ui.Progress("en")
    progress(250, 1000)
    assert (progress.bar.value, progress.bar.max, progress.label.value) == (
        250,
        1000,
        "250 / 1,000",
    )
    progress(1200, None)
    assert progress.label.value == "1,200"
    progress.finish()
    assert progress.bar.bar_style == "success"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_banner_names_the_acting_user_and_role(team: Team, lang: str) -> None:
    ws = crmlib.open(team.url, user="wang", lang=lang)
    try:
        text = ui.banner(ws).value
    finally:
        ws.close()
    assert "wang" in text
    assert ("经理" if lang == "zh" else "Manager") in text


def test_crm_notebooks_serve_needs_a_known_user(team: Team) -> None:
    from click.testing import CliRunner

    from crmlib.cli import main

    command = ["--url", team.url, "--user", "nobody", "--lang", "en", "notebooks", "serve"]
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 1
    assert "unknown user 'nobody'" in result.output
