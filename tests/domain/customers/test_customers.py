"""Customer files through the API: validation, normalisation, codes and frames."""

from __future__ import annotations

import pytest

from crmlib import ValidationError
from crmlib.clock import today
from tests.factories import Team, company


def test_add_normalises_and_derives(team: Team) -> None:
    record = team.zhang.customers.add(
        **company(
            name="  深圳鹏城电子有限公司 ",
            industry="计算机、通信和其他电子设备制造业",
            province="廣東",
            phone="138 1234 5678",
            email="Sales@PengCheng.CN",
            size="中型",
            source="展会",
        )
    )
    assert record.name == "深圳鹏城电子有限公司"
    assert (record.industry_section, record.industry_division) == ("C", "39")
    assert (record.province, record.region) == ("广东省", "华南")
    assert record.phone == "+8613812345678"
    assert record.email == "sales@pengcheng.cn"
    assert (record.size, record.source, record.status, record.owner) == (
        "medium",
        "exhibition",
        "potential",
        "zhang",
    )
    assert record.code.startswith(f"C{today():%Y%m%d}")


def test_every_broken_rule_is_reported_at_once(team: Team) -> None:
    with pytest.raises(ValidationError) as caught:
        team.zhang.customers.add(
            name="某公司", phone="12345", email="not-mail", province="火星", grade="D", colour="red"
        )
    problems = {(e.field, e.rule) for e in caught.value.errors}
    assert problems == {
        ("phone", "phone_format"),
        ("email", "email_format"),
        ("province", "province"),
        ("grade", "enum:grade"),
        ("colour", "unknown_field"),
        ("industry", "required"),
        ("contact", "required"),
        ("source", "required"),
    }
    by_field = {e.field: e for e in caught.value.errors}
    assert by_field["phone"].value == "12345"
    assert team.zhang.customers.frame().empty


def test_person_needs_a_way_to_reach_them(team: Team) -> None:
    with pytest.raises(ValidationError, match="required_any"):
        team.zhang.customers.add(name="王芳", kind="person")
    person = team.zhang.customers.add(
        name="王芳", kind="个人", email="wf@example.com", birthday="1990-05-01"
    )
    assert person.kind == "person" and str(person.birthday) == "1990-05-01"


def test_update_cannot_blank_a_required_field(team: Team) -> None:
    code = team.zhang.customers.add(**company()).code
    with pytest.raises(ValidationError, match="required"):
        team.zhang.customers.update(code, source=None)


def test_external_id_is_unique_across_owners(team: Team) -> None:
    team.zhao.customers.add(**company(external_id="ERP-1"))
    with pytest.raises(ValidationError, match="already used"):
        team.zhang.customers.add(**company(external_id="ERP-1"))


def test_codes_are_sequential_within_a_day(team: Team) -> None:
    codes = [team.zhang.customers.add(**company()).code for _ in range(3)]
    numbers = [int(code[9:]) for code in codes]
    assert numbers == [numbers[0], numbers[0] + 1, numbers[0] + 2]


def test_frame_filters(team: Team) -> None:
    a = team.zhang.customers.add(**company(province="广东", grade="A"), tags=["重点跟进"]).code
    team.zhang.customers.add(**company(province="北京", grade="B"))
    assert list(team.zhang.customers.frame(region="华南")["code"]) == [a]
    assert list(team.zhang.customers.frame(tag="重点跟进")["code"]) == [a]
    assert list(team.admin.customers.frame(owner="zhang", grade="A")["code"]) == [a]
    with pytest.raises(ValidationError, match="not a filter"):
        team.zhang.customers.frame(colour="red")


def test_tags_are_replaced_on_update(team: Team) -> None:
    code = team.zhang.customers.add(**company(), tags=["a", "b"]).code
    assert team.zhang.customers.update(code, tags=["b", "c"]).tags == ("b", "c")


def test_opportunity_stage_history_records_each_move(team: Team) -> None:
    code = team.zhang.customers.add(**company()).code
    opp = team.zhang.opportunities.add(code, name="ERP 项目", amount="120,000")
    assert opp["probability"] == 0.1
    team.zhang.opportunities.update(
        opp["id"], stage="proposal", need_description="ERP 选型", proposal_version="V1"
    )
    moved = team.zhang.opportunities.update(
        opp["id"], stage="won", expected_close_date="2024-06-30"
    )
    assert moved["closed_at"] is not None and moved["probability"] == 1.0
    from sqlalchemy import select

    from crmlib.store.models import StageHistory

    with team.zhang.ctx.session() as session:
        rows = (
            session.execute(
                select(StageHistory)
                .where(StageHistory.opportunity_id == opp["id"])
                .order_by(StageHistory.id)
            )
            .scalars()
            .all()
        )
        assert [r.stage for r in rows] == ["contact", "proposal", "won"]
        assert all(r.left_at is not None for r in rows[:-1]) and rows[-1].left_at is None


def test_follow_up_updates_last_contact(team: Team) -> None:
    code = team.zhang.customers.add(**company()).code
    team.zhang.interactions.add(
        code,
        channel="微信",
        summary="沟通报价",
        occurred_at="2024-05-01 10:00",
        customer_need="价格",
        next_step="发报价",
    )
    assert str(team.zhang.customers.get(code).last_contact_at) == "2024-05-01 10:00:00"
