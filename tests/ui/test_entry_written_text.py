"""The entry forms store what was typed: full-width punctuation and ideographic spaces are
kept, a consent time keeps its time of day when the form is saved again (SQLite and
PostgreSQL through ``team``)."""

from __future__ import annotations

from datetime import datetime

from crmlib import ui
from tests.factories import Team, company

NAME = "鹏城科技（深圳）有限公司"
ADDRESS = "南山区　科苑路１５号，Ａ座（北门）"
REMARKS = "年底有扩产计划，需重点跟进（老客户）！"
SUMMARY = "电话沟通：客户计划明年扩产，需报价（含安装）。"
NEED = "两条新产线，预算约１２０万"
STEP = "周五前发送报价　并约上门"
REPLY = "已安排工程师上门，预计２小时内到达。"
RESOLUTION = "更换主板（保修期内），客户确认可用！"


def test_the_customer_form_stores_what_was_typed_and_keeps_the_consent_time(team: Team) -> None:
    entry = ui.CustomerEntry(team.zhang)
    typed = {
        "name": f" {NAME}\u3000",
        "industry": "39",
        "contact": "陈　静",
        "phone": "138 1234 5670",
        "source": "website",
        "address": ADDRESS,
        "remarks": REMARKS,
        "consent_at": "2024-05-01 10:30:15",
    }
    for name, value in typed.items():
        entry.form[name].value = value
    entry.save_button.click()
    assert entry.status.kind == "ok", entry.status.value
    assert entry.code is not None
    saved = team.zhang.customers.get(entry.code)
    assert (saved.name, saved.contact, saved.address, saved.remarks) == (
        NAME,
        "陈　静",
        ADDRESS,
        REMARKS,
    )
    assert saved.consent_at == datetime(2024, 5, 1, 10, 30, 15)

    # Opened again, the form shows the time; changing another field leaves it as it was.
    assert entry.form["consent_at"].value == "2024-05-01 10:30:15"
    assert entry.form["name"].value == NAME
    entry.form["city"].value = "深圳"
    assert entry.form.changes() == {"city": "深圳"}
    entry.save_button.click()
    assert entry.status.kind == "ok", entry.status.value
    again = team.zhang.customers.get(entry.code)
    assert (again.name, again.city, again.consent_at) == (NAME, "深圳", saved.consent_at)


def test_a_follow_up_and_a_ticket_keep_what_was_typed(team: Team) -> None:
    code = team.zhang.customers.add(**company()).code
    follow_ups = ui.FollowUps(team.zhang)
    follow_ups.form["channel"].value = "phone"
    follow_ups.form["summary"].value = SUMMARY
    follow_ups.form["customer_need"].value = NEED
    follow_ups.form["next_step"].value = STEP
    follow_ups.log_button.click()
    assert follow_ups.status.kind == "ok", follow_ups.status.value
    logged = team.zhang.interactions.frame(code).iloc[0]
    assert (logged["summary"], logged["customer_need"], logged["next_step"]) == (
        SUMMARY,
        NEED,
        STEP,
    )

    ticket = team.zhang.tickets.open(code, type="complaint", subject="设备异响（二号线）")
    desk = ui.TicketDesk(team.sun)
    desk.buttons["take"].click()
    desk.reply.value = REPLY
    desk.buttons["respond"].click()
    desk.resolution.value = RESOLUTION
    desk.buttons["resolve"].click()
    assert desk.status.kind == "ok", desk.status.value
    stored = team.sun.tickets.get(ticket["id"])
    assert (stored["subject"], stored["resolution"]) == ("设备异响（二号线）", RESOLUTION)
    assert REPLY in set(team.sun.tickets.events(ticket["id"])["note"])
