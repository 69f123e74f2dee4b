"""Duplicates: matching keys, the entry check, the bulk scan, merge and unmerge.

Database tests run on SQLite and PostgreSQL (``team``); the demo test scores the scan
against the duplicates the demo generator planted.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import insert, select

import crmlib
from crmlib import AccessDenied, Conflict, NotFound, ValidationError
from crmlib.demo import generate, injected_duplicates
from crmlib.quality.duplicates import Duplicates, clusters, merging
from crmlib.rules.matching import (
    address_key,
    company_name,
    email_key,
    mail_domain,
    person_name,
    phone_key,
)
from crmlib.store.models import (
    AuditEvent,
    Campaign,
    CampaignMember,
    Contact,
    Customer,
    CustomerTag,
    Feedback,
    Interaction,
    Lead,
    Merge,
    Opportunity,
    Order,
    StageHistory,
    Ticket,
)
from crmlib.workspace import Workspace
from tests.factories import Team, company

STAR = "上海星辰科技有限公司"
#: Every table a merge touches, compared row by row before a merge and after its undo.
TABLES = (
    Customer,
    Contact,
    CustomerTag,
    Opportunity,
    StageHistory,
    Interaction,
    Order,
    Ticket,
    Feedback,
    CampaignMember,
    Lead,
)


def dup(ws: Workspace) -> Duplicates:
    return Duplicates(ws.ctx)


def rows(ws: Workspace) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table a merge touches, as plain dicts."""
    with ws.engine.connect() as conn:
        return {
            model.__tablename__: [
                dict(row._mapping)
                for row in conn.execute(select(model.__table__).order_by(model.__table__.c.id))
            ]
            for model in TABLES
        }


# -- matching keys ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "上海星辰科技有限公司",
        "上海星辰科技股份有限公司",
        "上海星辰科技有限责任公司",
        "上海星辰科技集团有限公司",
        "上海星辰科技 Co., Ltd.",
        "上海星辰科技Co.,Ltd",
        "上海星辰科技 Limited",
        "上海　星辰科技有限公司",  # full-width space
        " 上海 星辰 科技 有限公司 ",
        "上海市星辰科技有限公司",
        "星辰科技(上海)有限公司",
        "星辰科技（上海）有限公司",  # full-width brackets
    ],
)
def test_company_name_variants_share_place_and_core(name: str) -> None:
    parts = company_name(name)
    assert (parts.prefix, parts.core) == ("上海", "星辰科技")


def test_company_name_keeps_what_tells_companies_apart() -> None:
    assert company_name("北京星辰科技有限公司").prefix == "北京"
    assert company_name("上海华瑞科技有限公司").core == "华瑞科技"
    branch = company_name("星辰科技有限公司杭州分公司")
    assert (branch.core, branch.branch) == ("星辰科技", "杭州")
    # a bare city name opens a name only for a customer of that city (金华 is also a brand)
    assert company_name("金华软件有限公司").core == "金华软件"
    assert company_name("金华软件有限公司", "金华").core == "软件"
    assert company_name("ＡＢＣ Trading Inc.").core == "abctrading"
    assert company_name("Costco Wholesale").core == "costcowholesale"
    # generic words people drop are split off as the tail
    parts = company_name("星辰软件科技有限公司")
    assert (parts.stem, parts.tail) == ("星辰软件", "科技")


def test_person_phone_email_and_address_keys() -> None:
    assert person_name("王　伟").core == person_name(" 王 伟").core == "王伟"
    assert phone_key("+8613812345678") == phone_key("138 1234 5678") == "8613812345678"
    assert phone_key("010-8888 1234") == "861088881234"
    assert email_key(" Zhang.Wei@Example.COM ") == "zhang.wei@example.com"
    assert mail_domain("a@qq.com") == "" and mail_domain("a@xingchen.cn") == "xingchen.cn"
    full = address_key("上海市浦东新区世纪大道100号", "上海")
    assert full == address_key("浦东新区世纪大道100号", "上海") == "浦东新区世纪大道100号"


# -- the entry check ----------------------------------------------------------------------


def test_check_finds_same_phone_and_similar_name_with_reasons(team: Team) -> None:
    existing = team.zhang.customers.add(**company(name=STAR, phone="13911112222"))
    matches = dup(team.zhang).check({"name": "上海星辰科技股份有限公司", "phone": "139 1111 2222"})
    assert [m.code for m in matches] == [existing.code]
    match = matches[0]
    assert match.score >= 90 and match.visible
    assert "same phone" in match.reasons
    assert "similar name 100" in match.reasons
    assert match.phone == "+8613911112222"


def test_check_speaks_the_users_language(team: Team) -> None:
    team.zhang.customers.add(**company(name=STAR, phone="13911112223"))
    zh = Duplicates(crmlib.open(team.url, user="zhang", lang="zh").ctx)
    assert "电话相同" in zh.check({"name": STAR, "phone": "13911112223"})[0].reasons


@pytest.mark.parametrize(
    "typed",
    [
        "上海星辰科技股份有限公司",
        "上海星辰科技 Co., Ltd.",
        "上海星辰科技Co.,Ltd",
        "上海　星辰科技有限公司",
        "上海 星辰科技 有限公司",
        "星辰科技有限公司",
        "上海星辰科技",
    ],
)
def test_check_finds_suffix_width_and_space_variants_by_name(team: Team, typed: str) -> None:
    existing = team.zhang.customers.add(**company(name=STAR, city="上海"))
    matches = dup(team.zhang).check({"name": typed, "province": "上海", "city": "上海"})
    assert [m.code for m in matches] == [existing.code]
    assert matches[0].score >= 80


def test_check_finds_a_stored_full_width_or_spaced_name(team: Team) -> None:
    spaced = team.zhang.customers.add(**company(name="上海 星辰科技有限公司", city="上海"))
    latin = team.zhang.customers.add(**company(name="ＡＢＣ Trading Co., Ltd.", city="上海"))
    found = dup(team.zhang).check({"name": STAR, "city": "上海"})
    assert spaced.code in [m.code for m in found]
    found = dup(team.zhang).check({"name": "abc trading limited", "city": "上海"})
    assert [m.code for m in found] == [latin.code]


def test_check_does_not_match_different_companies_sharing_a_generic_word(team: Team) -> None:
    team.zhang.customers.add(**company(name=STAR, city="上海"))
    check = dup(team.zhang).check
    assert check({"name": "上海华瑞科技有限公司", "city": "上海", "phone": "13500001111"}) == []
    assert check({"name": "上海星辰贸易有限公司", "city": "上海", "phone": "13500001112"}) == []
    beijing = check({"name": "北京星辰科技有限公司", "province": "北京", "phone": "13500001113"})
    assert beijing == []


def test_check_leaves_out_the_customer_being_edited(team: Team) -> None:
    existing = team.zhang.customers.add(**company(name=STAR, phone="13911112224"))
    assert (
        dup(team.zhang).check({"code": existing.code, "name": STAR, "phone": "13911112224"}) == []
    )


def test_check_outside_scope_reveals_only_that_a_match_exists(team: Team) -> None:
    theirs = team.zhao.customers.add(
        **company(name=STAR, phone="13922223333", email="chen@xingchen.cn", address="世纪大道1号")
    )
    [match] = dup(team.zhang).check({"name": STAR, "phone": "13922223333"})
    assert (match.code, match.name, match.owner, match.visible) == ("", "", None, False)
    assert theirs.code not in repr(match) and "zhao" not in repr(match)
    assert (match.phone, match.email, match.address, match.city, match.kind) == (None,) * 5
    assert match.score >= 90 and "same phone" in match.reasons


def test_check_masks_pii_for_roles_without_it(team: Team) -> None:
    team.zhang.customers.add(**company(name=STAR, phone="13922224444"))
    [match] = dup(team.ana).check({"name": STAR, "phone": "13922224444"})
    assert match.visible and match.phone == "139****4444"


def test_check_finds_same_email_and_external_id(team: Team) -> None:
    by_mail = team.zhang.customers.add(**company(name="深圳鹏城电子有限公司", email="lin@pc.cn"))
    by_erp = team.zhang.customers.add(**company(name="杭州西溪软件有限公司", external_id="ERP-9"))
    [mail] = dup(team.zhang).check({"name": "鹏城电子", "email": "LIN@pc.cn"})
    assert mail.code == by_mail.code and "same e-mail" in mail.reasons
    [erp] = dup(team.zhang).check({"name": "西溪", "external_id": "ERP-9"})
    assert erp.code == by_erp.code and erp.score == 100


# -- the scan -----------------------------------------------------------------------------


def _three_of_a_kind(ws: Workspace, phone: str, city: str = "上海") -> list[str]:
    """One company entered three times (different legal forms, spacing), and a namesake
    elsewhere with nothing else in common."""
    codes = [
        ws.customers.add(**company(name=STAR, phone=phone, city=city)).code,
        ws.customers.add(**company(name="上海星辰科技股份有限公司", phone=phone, city=city)).code,
        ws.customers.add(
            **company(name="上海　星辰科技 Co., Ltd.", address="浦东新区世纪大道100号", city=city)
        ).code,
    ]
    ws.customers.update(codes[0], address="上海市浦东新区世纪大道100号")
    ws.customers.add(**company(name="北京星辰科技有限公司", province="北京", city="北京"))
    return codes


def test_scan_pairs_and_clusters(team: Team) -> None:
    codes = _three_of_a_kind(team.zhang, "13933334444")
    pairs = dup(team.zhang).scan()
    assert set(pairs.columns) >= {
        "code_a",
        "code_b",
        "external_id_a",
        "external_id_b",
        "name_a",
        "name_b",
        "score",
        "reasons",
    }
    found = {frozenset(p) for p in zip(pairs["code_a"], pairs["code_b"], strict=True)}
    assert found == {frozenset(p) for p in [(codes[0], codes[1]), (codes[0], codes[2])]} | (
        {frozenset((codes[1], codes[2]))} & found
    )
    assert (pairs["code_a"] < pairs["code_b"]).all()
    assert pairs["score"].between(80, 100).all()
    first = (pairs["code_a"] == codes[0]) & (pairs["code_b"] == codes[1])
    assert "same phone" in pairs.loc[first, "reasons"].item()
    grouped = clusters(pairs)
    assert list(grouped["code"]) == sorted(codes)
    assert grouped["cluster"].nunique() == 1 and (grouped["size"] == 3).all()


def test_scan_of_a_sales_rep_covers_only_their_customers(team: Team) -> None:
    mine = _three_of_a_kind(team.zhang, "13944445555")
    theirs = _three_of_a_kind(team.zhao, "13944446666", city="上海")
    zhang = dup(team.zhang).scan()
    assert set(zhang["code_a"]) | set(zhang["code_b"]) == set(mine)
    everyone = dup(team.admin).scan()
    assert set(everyone["code_a"]) | set(everyone["code_b"]) >= set(mine) | set(theirs)


def test_scan_of_an_empty_crm_is_empty(team: Team) -> None:
    pairs = dup(team.zhang).scan()
    assert pairs.empty and "reasons" in pairs.columns
    assert clusters(pairs).empty


def test_scan_skips_merged_customers(team: Team) -> None:
    codes = _three_of_a_kind(team.zhang, "13955556666")
    dup(team.zhang).merge(codes[0], codes[1])
    pairs = dup(team.zhang).scan()
    assert codes[1] not in set(pairs["code_a"]) | set(pairs["code_b"])


@pytest.mark.parametrize(
    ("there", "agrees"),
    [("鼓楼区中山路491号", "near address"), ("鼓楼区中山路347号", "same address")],
    ids=["near", "same"],
)
def test_addresses_in_different_cities_do_not_agree(team: Team, there: str, agrees: str) -> None:
    """Address keys leave the city out, and 南京 and 福州 both have a 鼓楼区 with a 中山路:
    two namesakes sharing a public mailbox, one in each city, are not a pair."""
    person = {"kind": "person", "name": "黄雪", "email": "huangxue@126.com"}
    nanjing = {"province": "江苏", "city": "南京"}
    ws = team.zhang
    first = ws.customers.add(
        **person, **nanjing, address="鼓楼区中山路347号", phone="19126624417", birthday="1998-03-08"
    )
    other = {
        **person,
        "province": "福建",
        "city": "福州",
        "address": there,
        "phone": "15198512572",
        "birthday": "1981-03-04",
    }
    second = ws.customers.add(allow_duplicate=True, **other)  # one mailbox: exact otherwise
    assert dup(ws).scan().empty
    [match] = dup(ws).check(other | {"code": second.code})
    assert match.code == first.code and match.score < 80
    assert {"different address", "different city"} <= set(match.reasons)
    assert agrees not in match.reasons
    # The same two records in one city: the address counts again, and scan and check agree.
    ws.customers.update(second.code, **nanjing)
    [pair] = dup(ws).scan().itertuples()
    [match] = dup(ws).check(other | nanjing | {"code": second.code})
    assert match.score == pair.score >= 80
    assert {"same e-mail", agrees} <= set(match.reasons)


# -- merge and unmerge --------------------------------------------------------------------


def _file(ws: Workspace, name: str, phone: str, **extra: Any) -> str:
    """A customer with one record of every kind the workspace can add, and tags."""
    code = ws.customers.add(**company(name=name, phone=phone, **extra)).code
    ws.contacts.add(code, name="林涛", title="采购经理", phone="0755-86001234")
    ws.opportunities.add(code, name="产线升级", amount="120000")
    ws.interactions.add(
        code, channel="visit", summary="现场拜访", customer_need="年度采购", next_step="发报价"
    )
    ws.orders.add(code, ordered_at=date(2024, 5, 1), amount="1200.50")
    return code


def _marketing(ws: Workspace, code: str) -> None:
    """A campaign that reached the customer, and a lead converted into it (no service adds
    these yet, so they are written directly)."""
    with ws.engine.begin() as conn:
        customer = conn.execute(select(Customer.id).where(Customer.code == code)).scalar_one()
        campaign = conn.execute(
            insert(Campaign)
            .values(name=f"展会 {code}", channel="exhibition")
            .returning(Campaign.id)
        ).scalar_one()
        conn.execute(insert(CampaignMember).values(campaign_id=campaign, customer_id=customer))
        conn.execute(insert(Lead).values(name="陈静", company=STAR, customer_id=customer))


@pytest.fixture
def pair(team: Team) -> tuple[str, str]:
    """zhang's customer entered twice: the survivor lacks a city, the other has one."""
    survivor = _file(team.zhang, STAR, "13966667777", tags=["重点跟进", "展会"])
    other = _file(
        team.zhang, "上海星辰科技股份有限公司", "13966668888", city="上海", tags=["展会", "老客户"]
    )
    _marketing(team.zhang, other)
    return survivor, other


def test_merge_moves_children_and_keeps_a_snapshot(team: Team, pair: tuple[str, str]) -> None:
    survivor, other = pair
    before = rows(team.admin)
    merge_id = dup(team.zhang).merge(survivor, other, choices={"name": "other"})
    after = rows(team.admin)
    ids = {c["code"]: c["id"] for c in before["customers"]}
    for table in ("contacts", "opportunities", "interactions", "orders", "leads"):
        assert {r["customer_id"] for r in after[table]} == {ids[survivor]}, table
    assert {r["customer_id"] for r in after["campaign_members"]} == {ids[survivor]}
    assert sorted(r["tag"] for r in after["customer_tags"]) == ["展会", "老客户", "重点跟进"]
    primaries = [r for r in after["contacts"] if r["is_primary"]]
    assert [r["phone"] for r in primaries] == ["+8613966667777"]

    kept = team.zhang.customers.get(survivor)
    assert (kept.name, kept.city, kept.phone) == (
        "上海星辰科技股份有限公司",
        "上海",
        "+8613966667777",
    )
    gone = next(c for c in after["customers"] if c["code"] == other)
    assert (gone["merged_into_id"], gone["status"]) == (ids[survivor], "archived")

    with team.admin.engine.connect() as conn:
        row = conn.execute(select(Merge).where(Merge.id == merge_id)).one()
        events = conn.execute(
            select(AuditEvent.ref, AuditEvent.field).where(AuditEvent.action == "merge")
        ).all()
    snapshot = json.loads(row.snapshot)
    assert snapshot["survivor"]["code"] == survivor and snapshot["other"]["city"] == "上海"
    moved = {r["id"] for r in snapshot["moved"]["orders"]}
    assert moved == {r["id"] for r in before["orders"] if r["customer_id"] == ids[other]}
    assert len(snapshot["moved"]["contacts"]) == 2
    assert sorted(tag for _, tag in snapshot["tags"]["other"]) == ["展会", "老客户"]
    assert json.loads(row.reasons)["score"] >= 80
    assert (row.survivor_id, row.merged_id, row.actor) == (ids[survivor], ids[other], "zhang")
    assert {(survivor, "name"), (other, "merged_into_id"), (other, "status")} <= set(events)
    assert (other, "merged_into") in set(events)


def test_merge_takes_the_others_primary_contact_when_chosen(
    team: Team, pair: tuple[str, str]
) -> None:
    survivor, other = pair
    dup(team.zhang).merge(survivor, other, choices={"phone": "other"})
    assert team.zhang.customers.get(survivor).phone == "+8613966668888"


def test_unmerge_restores_the_exact_prior_state(team: Team, pair: tuple[str, str]) -> None:
    survivor, other = pair
    team.zhang.customers.update(other, external_id="ERP-1", address="浦东新区世纪大道100号")
    before = rows(team.admin)
    merge_id = dup(team.zhang).merge(survivor, other, choices={"name": "other", "phone": "other"})
    assert team.zhang.customers.get(survivor).external_id == "ERP-1"
    later = team.zhang.interactions.add(
        survivor, channel="phone", summary="合并后回访", customer_need="需求", next_step="再访"
    )["id"]
    dup(team.zhang).unmerge(merge_id)
    after = rows(team.admin)
    added = [r for r in after["interactions"] if r["id"] == later]
    after["interactions"] = [r for r in after["interactions"] if r["id"] != later]
    assert after == before
    assert added[0]["customer_id"] == next(
        c["id"] for c in before["customers"] if c["code"] == survivor
    )
    with team.admin.engine.connect() as conn:
        assert conn.execute(select(Merge.unmerged_at)).scalar_one() is not None


def test_unmerge_twice_is_refused(team: Team, pair: tuple[str, str]) -> None:
    merge_id = dup(team.zhang).merge(*pair)
    dup(team.zhang).unmerge(merge_id)
    with pytest.raises(Conflict, match="undone already"):
        dup(team.zhang).unmerge(merge_id)
    with pytest.raises(NotFound):
        dup(team.zhang).unmerge(merge_id + 100)


def test_unmerge_out_of_order_is_refused(team: Team, pair: tuple[str, str]) -> None:
    survivor, other = pair
    third = team.zhang.customers.add(**company(name=STAR, phone="13966669999")).code
    first = dup(team.zhang).merge(survivor, other)
    second = dup(team.zhang).merge(survivor, third)
    with pytest.raises(Conflict, match=f"unmerge {second} first"):
        dup(team.zhang).unmerge(first)
    dup(team.zhang).unmerge(second)
    dup(team.zhang).unmerge(first)
    assert team.zhang.customers.get(other).status == "potential"


def test_merge_history_lists_what_can_be_undone_and_in_which_order(
    team: Team, pair: tuple[str, str]
) -> None:
    survivor, other = pair
    third = team.zhang.customers.add(**company(name=STAR, phone="13966669999")).code
    first = dup(team.zhang).merge(survivor, other)
    second = dup(team.zhang).merge(survivor, third)
    history = dup(team.zhang).merges()
    assert history["merge_id"].tolist() == [second, first]  # newest first
    assert history["survivor_code"].tolist() == [survivor, survivor]
    assert history["merged_code"].tolist() == [third, other]
    assert history["actor"].tolist() == ["zhang", "zhang"]
    # the second blocks the first, exactly as unmerge decides
    assert history["undoable"].tolist() == [True, False]
    assert history["score"].notna().all()
    dup(team.zhang).unmerge(second)
    after = dup(team.zhang).merges().set_index("merge_id")
    assert pd.notna(after.loc[second, "unmerged_at"]) and not after.loc[second, "undoable"]
    assert bool(after.loc[first, "undoable"])
    assert dup(team.zhao).merges().empty  # another rep's customers stay hidden
    assert dup(team.admin).merges()["merge_id"].tolist() == [second, first]


def test_merged_customers_cannot_be_merged_again(team: Team, pair: tuple[str, str]) -> None:
    survivor, other = pair
    dup(team.zhang).merge(survivor, other)
    with pytest.raises(Conflict, match="merged into another"):
        dup(team.zhang).merge(other, survivor)
    with pytest.raises(ValidationError, match="survivor itself"):
        dup(team.zhang).merge(survivor, survivor)


def test_merge_needs_edit_rights_on_both_customers(team: Team, pair: tuple[str, str]) -> None:
    survivor, _ = pair
    theirs = team.zhao.customers.add(**company(name=STAR, phone="13977778888")).code
    before = rows(team.admin)
    with pytest.raises(AccessDenied, match="outside the scope of user 'zhang'"):
        dup(team.zhang).merge(survivor, theirs)
    with pytest.raises(AccessDenied, match="outside the scope of user 'zhang'"):
        dup(team.zhang).merge(theirs, survivor)
    with pytest.raises(AccessDenied, match="may not merge"):
        dup(team.ana).merge(survivor, theirs)
    with pytest.raises(NotFound):
        dup(team.zhang).merge(survivor, "C19990101001")
    assert rows(team.admin) == before


def test_merge_rejects_unknown_choices(team: Team, pair: tuple[str, str]) -> None:
    with pytest.raises(ValidationError) as err:
        dup(team.zhang).merge(*pair, choices={"colour": "other", "name": "both"})
    assert [e.field for e in err.value.errors] == ["colour", "name"]


def test_merge_is_atomic(
    team: Team, pair: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = rows(team.admin)

    def fail(*_args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(merging, "_log", fail)  # the last step, after every row moved
    with pytest.raises(RuntimeError, match="disk full"):
        dup(team.zhang).merge(*pair, choices={"name": "other"})
    assert rows(team.admin) == before
    with team.admin.engine.connect() as conn:
        assert conn.execute(select(Merge)).first() is None


# -- against the demo's planted duplicates ------------------------------------------------


def test_scan_finds_the_demos_duplicates(db_url: str) -> None:
    customers, seed = 2000, 7
    with crmlib.open(db_url, user="admin") as ws:
        generate(ws.engine, customers=customers, seed=seed)
        pairs = dup(ws).scan()
    truth = injected_duplicates(customers, seed)
    same: dict[str, str] = {}

    def root(code: str) -> str:
        while same.get(code, code) != code:
            code = same[code]
        return code

    for original, copy in truth:
        same[root(copy)] = root(original)
    found = {frozenset(p) for p in zip(pairs["code_a"], pairs["code_b"], strict=True)}
    recall = sum(frozenset(p) in found for p in truth) / len(truth)
    right = sum(root(a) == root(b) for a, b in map(tuple, found))
    precision = right / len(found)
    assert recall >= 0.9, recall
    assert precision >= 0.9, precision


def test_merge_and_unmerge_demo_customers_with_every_kind_of_record(db_url: str) -> None:
    """Demo customers have tickets, feedback, leads and campaign memberships too."""
    with crmlib.open(db_url, user="admin") as ws:
        generate(ws.engine, customers=600, seed=3)
        before = rows(ws)
        survivor, other = _busiest_pair(before, injected_duplicates(600, 3))
        merge_id = dup(ws).merge(survivor, other)
        merged = rows(ws)
        other_id = next(c["id"] for c in before["customers"] if c["code"] == other)
        for table in ("contacts", "orders", "tickets", "feedback"):
            assert all(r["customer_id"] != other_id for r in merged[table]), table
        dup(ws).unmerge(merge_id)
        assert rows(ws) == before


def _busiest_pair(
    tables: dict[str, list[dict[str, Any]]], truth: list[tuple[str, str]]
) -> tuple[str, str]:
    """A planted pair, ordered so that the customer merged away has records of the most
    kinds under it."""
    ids = {c["code"]: c["id"] for c in tables["customers"]}
    kinds = [t for t in tables if t not in ("customers", "opportunity_stage_history")]

    def records(code: str) -> tuple[int, int]:
        counts = [sum(r["customer_id"] == ids[code] for r in tables[t]) for t in kinds]
        return sum(c > 0 for c in counts), sum(counts)

    both_ways = [*truth, *((b, a) for a, b in truth)]
    return max(both_ways, key=lambda pair: records(pair[1]))
