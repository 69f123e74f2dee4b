"""Row scoping, PII masking and role permissions, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest

from crmlib import AccessDenied, Conflict, NotFound
from tests.factories import Team, company


@pytest.fixture
def zhao_file(team: Team) -> dict[str, object]:
    """A customer of zhao (team west) with one record of every child kind."""
    customer = team.zhao.customers.add(**company(name="成都蜀道贸易有限公司", province="四川"))
    code = customer.code
    return {
        "code": code,
        "contact": team.zhao.contacts.add(code, name="刘洋", phone="13900001111")["id"],
        "opportunity": team.zhao.opportunities.add(code, name="年度采购")["id"],
        "interaction": team.zhao.interactions.add(
            code, channel="phone", summary="首次电话", customer_need="年度采购", next_step="发报价"
        )["id"],
        "order": team.zhao.orders.add(code, ordered_at=date(2024, 5, 1), amount="50000")["id"],
    }


CHILDREN = ("contacts", "opportunities", "interactions", "orders")
CHILD_KEYS = {
    "contacts": "contact",
    "opportunities": "opportunity",
    "interactions": "interaction",
    "orders": "order",
}
CHANGES = {
    "contacts": {"title": "经理"},
    "opportunities": {"amount": "1"},
    "interactions": {"summary": "改"},
    "orders": {"amount": "1"},
}


def test_sales_rep_cannot_read_or_list_another_reps_customer(team: Team, zhao_file: dict) -> None:
    code = zhao_file["code"]
    with pytest.raises(AccessDenied, match="outside the scope of user 'zhang'"):
        team.zhang.customers.get(code)
    assert code not in set(team.zhang.customers.frame()["code"])
    with pytest.raises(AccessDenied):
        team.zhang.history(code)


def test_sales_rep_cannot_change_another_reps_customer(team: Team, zhao_file: dict) -> None:
    code = zhao_file["code"]
    with pytest.raises(AccessDenied):
        team.zhang.customers.update(code, city="成都")
    with pytest.raises(AccessDenied):
        team.zhang.customers.archive(code)
    with pytest.raises(AccessDenied):
        team.zhang.customers.delete(code)
    record = team.admin.customers.get(code)
    assert (record.city, record.status) == (None, "potential")


@pytest.mark.parametrize("kind", CHILDREN)
def test_sales_rep_cannot_touch_another_reps_child_records(
    team: Team, zhao_file: dict, kind: str
) -> None:
    record_id = zhao_file[CHILD_KEYS[kind]]
    service = getattr(team.zhang, kind)
    with pytest.raises(AccessDenied):
        service.get(record_id)
    with pytest.raises(AccessDenied):
        service.update(record_id, **CHANGES[kind])
    with pytest.raises(AccessDenied):
        service.delete(record_id)
    with pytest.raises(AccessDenied):
        service.add(zhao_file["code"], **_valid_child(kind))
    assert service.frame().empty
    assert service.frame(customer_code=zhao_file["code"]).empty
    # the owner still has it, unchanged
    assert getattr(team.zhao, kind).get(record_id)["id"] == record_id


def _valid_child(kind: str) -> dict[str, object]:
    return {
        "contacts": {"name": "某人"},
        "opportunities": {"name": "某商机"},
        "interactions": {"channel": "visit", "summary": "拜访"},
        "orders": {"ordered_at": "2024-05-02", "amount": "10"},
    }[kind]


def test_unknown_records_are_not_found_rather_than_denied(team: Team) -> None:
    with pytest.raises(NotFound):
        team.zhang.customers.get("C19990101001")
    with pytest.raises(NotFound):
        team.zhang.orders.get(999_999)


def test_manager_sees_exactly_their_team(team: Team) -> None:
    mine = team.zhang.customers.add(**company(name="杭州一号公司")).code
    colleague = team.li.customers.add(**company(name="杭州二号公司")).code
    other_team = team.zhao.customers.add(**company(name="重庆三号公司")).code
    assert set(team.wang.customers.frame()["code"]) == {mine, colleague}
    assert set(team.admin.customers.frame()["code"]) == {mine, colleague, other_team}
    team.wang.customers.update(colleague, grade="B")
    with pytest.raises(AccessDenied):
        team.wang.customers.get(other_team)
    # a manager may hand a customer to a rep of their team, not to another team
    assert team.wang.customers.update(mine, owner="li").owner == "li"
    with pytest.raises(AccessDenied, match="may not assign"):
        team.wang.customers.update(mine, owner="zhao")


def test_sales_rep_cannot_give_customers_away(team: Team) -> None:
    code = team.zhang.customers.add(**company()).code
    with pytest.raises(AccessDenied, match="may not assign"):
        team.zhang.customers.update(code, owner="li")
    with pytest.raises(AccessDenied, match="may not assign"):
        team.zhang.customers.add(**company(owner="li"))


def test_roles_without_pii_permission_see_masked_phones(team: Team) -> None:
    code = team.zhang.customers.add(**company(phone="13812345678", email="zw@xingchen.cn")).code
    assert team.zhang.customers.get(code).phone == "+8613812345678"
    masked = team.ana.customers.get(code)
    assert masked.phone == "138****5678"
    assert masked.email == "z***@xingchen.cn"
    row = team.ana.customers.frame().set_index("code").loc[code]
    assert (row["phone"], row["email"]) == ("138****5678", "z***@xingchen.cn")
    contact_id = int(team.ana.contacts.frame(customer_code=code)["id"].iloc[0])
    assert team.ana.contacts.get(contact_id)["phone"] == "138****5678"
    team.zhang.customers.update(code, phone="13987654321")
    changes = team.ana.history(code).query("field == 'phone'")
    assert set(changes["old_value"]) == {"138****5678"}
    assert set(changes["new_value"]) == {"139****4321"}
    assert team.sun.customers.get(code).phone == "+8613987654321"  # service may call back


def test_read_only_roles_cannot_change_customers(team: Team) -> None:
    code = team.zhang.customers.add(**company()).code
    for ws in (team.ana, team.sun):
        with pytest.raises(AccessDenied, match="may not change customers"):
            ws.customers.update(code, city="上海")
        with pytest.raises(AccessDenied):
            ws.customers.add(**company())
        with pytest.raises(AccessDenied):
            ws.orders.add(code, ordered_at="2024-01-01", amount="1")


def test_won_customers_are_archived_not_deleted_by_non_admins(team: Team) -> None:
    code = team.zhang.customers.add(**company()).code
    team.zhang.orders.add(code, ordered_at="2024-03-01", amount="1200.50")
    with pytest.raises(AccessDenied, match="archive it instead"):
        team.zhang.customers.delete(code)
    with pytest.raises(AccessDenied, match="archive it instead"):
        team.wang.customers.delete(code)
    assert team.zhang.customers.archive(code).status == "archived"
    team.admin.customers.delete(code)
    with pytest.raises(NotFound):
        team.admin.customers.get(code)


def test_customer_with_won_opportunity_counts_as_won(team: Team) -> None:
    code = team.zhang.customers.add(**company()).code
    opp = team.zhang.opportunities.add(code, name="大单")
    team.zhang.opportunities.update(
        opp["id"],
        stage="won",
        need_description="扩产",
        proposal_version="V1",
        amount="100000",
        expected_close_date="2024-06-30",
    )
    with pytest.raises(AccessDenied):
        team.zhang.customers.delete(code)


def test_rep_may_delete_own_customer_without_business(team: Team) -> None:
    code = team.zhang.customers.add(**company()).code
    team.zhang.contacts.add(code, name="另一个联系人")
    team.zhang.customers.delete(code)
    with pytest.raises(NotFound):
        team.admin.customers.get(code)
    assert team.admin.contacts.frame(customer_code=code).empty


def test_deactivating_a_user_requires_reassigning_their_customers(team: Team) -> None:
    code = team.zhang.customers.add(**company()).code
    opp = team.zhang.opportunities.add(code, name="续约")["id"]
    with pytest.raises(Conflict, match="still owns 1 customers"):
        team.admin.users.deactivate("zhang")
    assert team.admin.users.get("zhang").active
    assert team.admin.users.deactivate("zhang", reassign_to="li") == 1
    assert team.admin.customers.get(code).owner == "li"
    assert team.admin.opportunities.get(opp)["owner"] == "li"
    assert not team.admin.users.get("zhang").active
    with pytest.raises(NotFound, match="deactivated"):
        import crmlib

        crmlib.open(team.url, user="zhang", lang="en")


def test_only_admins_manage_users(team: Team) -> None:
    with pytest.raises(AccessDenied, match="may not add users"):
        team.wang.users.add("newbie", role="sales")
    with pytest.raises(AccessDenied):
        team.wang.users.deactivate("li", reassign_to="zhang")
