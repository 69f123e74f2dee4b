"""Campaigns: rules, permissions, members and their responses, attribution and ROI."""

from __future__ import annotations

import pytest

from crmlib.errors import AccessDenied, NotFound, ValidationError
from tests.factories import Team, company


def test_a_campaign_cannot_end_before_it_starts(team: Team) -> None:
    with pytest.raises(ValidationError) as exc:
        team.admin.campaigns.add(
            name="展会", channel="exhibition", start_date="2024-05-02", end_date="2024-05-01"
        )
    assert [e.rule for e in exc.value.errors] == ["end_after_start"]
    done = team.admin.campaigns.add(
        name="展会", channel="展会", start_date="2024-05-01", end_date="2024-05-03", budget="10万"
    )
    assert (done["channel"], str(done["budget"])) == ("exhibition", "100000.00")
    with pytest.raises(ValidationError) as exc:
        team.admin.campaigns.update("展会", end_date="2024-04-30")
    assert [e.rule for e in exc.value.errors] == ["end_after_start"]
    with pytest.raises(ValidationError) as exc:
        team.admin.campaigns.add(name="展会", channel="sms")
    assert [e.rule for e in exc.value.errors] == ["unique"]


def test_only_marketing_admins_and_managers_edit(team: Team) -> None:
    with pytest.raises(AccessDenied):
        team.zhang.campaigns.add(name="短信", channel="sms")
    made = team.wang.campaigns.add(name="短信", channel="sms")
    assert team.ana.campaigns.get(made["id"])["owner"] == "wang"
    with pytest.raises(AccessDenied):
        team.ana.campaigns.update(made["id"], goal="更多")
    assert team.ana.campaigns.frame()["name"].tolist() == ["短信"]


def test_members_respond_then_convert(team: Team) -> None:
    mine = team.zhang.customers.add(**company())
    theirs = team.zhao.customers.add(**company(name="成都天府贸易有限公司"))
    team.admin.campaigns.add(name="回馈", channel="email")
    assert team.admin.campaigns.add_members("回馈", [mine.code, theirs.code]) == 2
    assert team.admin.campaigns.add_members("回馈", [mine.code]) == 0
    with pytest.raises(AccessDenied):
        team.wang.campaigns.add_members("回馈", [theirs.code])
    with pytest.raises(ValidationError) as exc:
        team.admin.campaigns.add_members("回馈", ["C20990101001"])
    assert [e.rule for e in exc.value.errors] == ["unknown_customer"]
    with pytest.raises(ValidationError) as exc:
        team.admin.campaigns.mark_converted("回馈", mine.code)
    assert [e.rule for e in exc.value.errors] == ["member_status_flow"]
    answer = team.admin.campaigns.record_response("回馈", mine.code, "想了解新品")
    assert (answer["status"], answer["response"]) == ("responded", "想了解新品")
    assert team.admin.campaigns.mark_converted("回馈", mine.code)["status"] == "converted"
    with pytest.raises(ValidationError) as exc:
        team.admin.campaigns.record_response("回馈", mine.code, "again")
    assert [e.rule for e in exc.value.errors] == ["member_status_flow"]
    other = team.admin.customers.add(**company(name="广州白云有限公司"))
    with pytest.raises(NotFound):
        team.admin.campaigns.record_response("回馈", other.code, "?")
    assert team.zhang.campaigns.members("回馈")["customer_code"].tolist() == [mine.code]


def test_reps_record_the_answers_of_their_own_customers(team: Team) -> None:
    mine = team.zhang.customers.add(**company())
    theirs = team.zhao.customers.add(**company(name="成都天府贸易有限公司"))
    team.admin.campaigns.add(name="回馈", channel="email")
    team.admin.campaigns.add_members("回馈", [mine.code, theirs.code])
    answer = team.zhang.campaigns.record_response("回馈", mine.code, "下月再联系")
    assert (answer["status"], answer["response"]) == ("responded", "下月再联系")
    assert team.zhang.campaigns.mark_converted("回馈", mine.code)["status"] == "converted"
    with pytest.raises(AccessDenied):
        team.zhang.campaigns.record_response("回馈", theirs.code, "?")
    with pytest.raises(AccessDenied):
        team.ana.campaigns.record_response("回馈", theirs.code, "?")
    statuses = team.admin.campaigns.members("回馈").set_index("customer_code")["status"]
    assert statuses.to_dict() == {mine.code: "converted", theirs.code: "sent"}


def test_members_come_from_the_target_segment(team: Team) -> None:
    a = team.zhang.customers.add(**company(name="甲公司", grade="A")).code
    team.zhang.customers.add(**company(name="乙公司", grade="B"))
    west = team.zhao.customers.add(**company(name="丙公司", grade="A")).code
    team.admin.segments.define("A类客户", 'grade == "A"')
    team.admin.campaigns.add(name="A类回馈", channel="email")
    with pytest.raises(ValidationError) as exc:
        team.admin.campaigns.add_segment_members("A类回馈")
    assert [e.rule for e in exc.value.errors] == ["campaign_needs_segment"]
    team.admin.campaigns.update("A类回馈", target_segment="A类客户")
    assert team.admin.campaigns.add_segment_members("A类回馈") == 2
    assert team.admin.campaigns.add_segment_members("A类回馈") == 0
    members = team.admin.campaigns.members("A类回馈")
    assert sorted(members["customer_code"]) == sorted([a, west])
    # A manager adds only the members of the segment within their team.
    team.wang.campaigns.add(name="华东回馈", channel="sms", target_segment="A类客户")
    assert team.wang.campaigns.add_segment_members("华东回馈") == 1


def test_attribution_needs_an_existing_campaign(team: Team) -> None:
    customer = team.zhang.customers.add(**company())
    with pytest.raises(ValidationError) as exc:
        team.zhang.orders.add(customer.code, ordered_at="2024-05-01", amount=1, campaign_id=42)
    assert [e.rule for e in exc.value.errors] == ["unknown_campaign"]
    with pytest.raises(ValidationError) as exc:
        team.zhang.opportunities.add(customer.code, name="x", campaign_id="abc")
    assert [e.rule for e in exc.value.errors] == ["record_id"]


def test_roi_counts_attributed_revenue_within_scope(team: Team) -> None:
    fair = team.admin.campaigns.add(name="展会", channel="exhibition", actual_cost=1000)
    free = team.admin.campaigns.add(name="公众号", channel="wechat")
    mine = team.zhang.customers.add(**company())
    theirs = team.zhao.customers.add(**company(name="成都天府贸易有限公司"))
    team.zhang.orders.add(mine.code, ordered_at="2024-05-01", amount=3000, campaign_id=fair["id"])
    team.zhao.orders.add(theirs.code, ordered_at="2024-05-02", amount=500, campaign_id=fair["id"])
    deal = team.zhang.opportunities.add(mine.code, name="扩产", amount=800, campaign_id=fair["id"])
    team.zhang.leads.add(name="王磊", source="campaign", campaign_id=free["id"])
    assert deal["campaign_id"] == fair["id"]
    roi = team.admin.campaigns.roi().set_index("name")
    assert roi.loc["展会", ["cost", "revenue", "orders", "opportunities"]].tolist() == [
        1000.0,
        3500.0,
        2,
        1,
    ]
    assert roi.loc["展会", "roi"] == pytest.approx(2.5)
    assert roi.loc["公众号", "roi"] is None
    assert roi.loc["公众号", "leads"] == 1
    scoped = team.zhang.campaigns.roi().set_index("name")
    assert scoped.loc["展会", "revenue"] == 3000.0
    assert scoped.loc["展会", "roi"] == pytest.approx(2.0)


def test_crm_campaigns_members_from_a_segment(team: Team) -> None:
    from click.testing import CliRunner

    from crmlib.cli import main

    team.zhang.customers.add(**company(name="甲公司", grade="A"))
    team.admin.segments.define("A类客户", 'grade == "A"')
    team.admin.campaigns.add(name="A类回馈", channel="email", target_segment="A类客户")
    base = ["--url", team.url, "--lang", "en", "--user", "admin", "campaigns", "members"]
    added = CliRunner().invoke(main, [*base, "A类回馈"])
    assert added.exit_code == 0 and "1 members added" in added.output, added.output
    both = CliRunner().invoke(main, [*base, "A类回馈", "C20240101001", "--segment", "A类客户"])
    assert both.exit_code == 2 and "not both" in both.output
