"""Every write path of the API stores what people wrote, trimmed at either end only:
full-width punctuation, ideographic spaces and mixed widths come back identical (SQLite and
PostgreSQL through ``team``)."""

from __future__ import annotations

import pytest

from crmlib import ValidationError
from tests.factories import Team, company

#: Full-width punctuation, an ideographic space, full-width digits and letters, mixed widths.
WRITTEN = "客户情绪较大，要求：３日内上门！　设备“X200”（Ｂ型）无法启动；已重启…"


def test_follow_ups_deals_and_leads_keep_what_was_written(team: Team) -> None:
    zhang = team.zhang
    code = zhang.customers.add(**company()).code
    logged = zhang.interactions.add(
        code, channel="phone", summary=f" {WRITTEN}\u3000", customer_need=WRITTEN, next_step=WRITTEN
    )
    stored = zhang.interactions.get(logged["id"])
    assert (stored["summary"], stored["customer_need"], stored["next_step"]) == (WRITTEN,) * 3
    deal = zhang.opportunities.add(
        code, name="产线升级（二期）", need_description=WRITTEN, proposal_version="Ｖ１．２"
    )
    stored = zhang.opportunities.get(deal["id"])
    assert (stored["name"], stored["need_description"], stored["proposal_version"]) == (
        "产线升级（二期）",
        WRITTEN,
        "Ｖ１．２",
    )
    lead = zhang.leads.add(name="王　磊", company="启航机械（苏州）有限公司", source="website")
    assert (lead["name"], lead["company"]) == ("王　磊", "启航机械（苏州）有限公司")


def test_tickets_comments_and_tasks_keep_what_was_written(team: Team) -> None:
    code = team.zhang.customers.add(**company()).code
    ticket = team.zhang.tickets.open(
        code, type="complaint", subject="设备异响（二号线）", description=WRITTEN
    )
    assert team.sun.tickets.get(ticket["id"])["description"] == WRITTEN
    team.sun.tickets.take(ticket["id"])
    team.sun.tickets.respond(ticket["id"], WRITTEN)
    team.sun.tickets.comment(ticket["id"], f"备注：{WRITTEN}")
    resolved = team.sun.tickets.resolve(ticket["id"], f"\n{WRITTEN}\n")
    assert resolved["resolution"] == WRITTEN
    notes = set(team.sun.tickets.events(ticket["id"])["note"])
    assert {WRITTEN, f"备注：{WRITTEN}"} <= notes

    body = f"{WRITTEN}　请＠li 今天回电"
    comment = team.zhang.comments.add("customer", code, body)
    assert comment["body"] == body
    assert comment["mentioned"] == ["li"]  # a full-width ＠ still mentions, read folded
    assert team.zhang.comments.list("customer", code)["body"].tolist() == [body]
    task = team.zhang.tasks.add("回访（重要）", description=WRITTEN)
    assert (task["title"], task["description"]) == ("回访（重要）", WRITTEN)


def test_validation_still_refuses_what_it_refused(team: Team) -> None:
    code = team.zhang.customers.add(**company()).code
    for summary, rule in (
        ("已联系\x00", "text_control"),
        ("\u3000\u200b ", "text_invisible"),
        ("长" * 4001, "too_long"),
        ("已　联系！", "summary_placeholder"),
    ):
        with pytest.raises(ValidationError) as refused:
            team.zhang.interactions.add(
                code, channel="phone", summary=summary, customer_need="库存", next_step="报价"
            )
        assert [e.rule for e in refused.value.errors] == [rule], summary
