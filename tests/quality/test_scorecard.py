"""The data-quality scorecard, on SQLite and PostgreSQL.

A small customer base is built through the API, then broken the ways bulk loads break
data (written straight into the tables, past the rules). Every check is compared with a
count made independently here, in pandas, and a few with counts made by hand.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import phonenumbers
import pytest
from sqlalchemy import Engine, insert, select, update

import crmlib
from crmlib.context import Context
from crmlib.i18n import MESSAGES
from crmlib.quality.scorecard import DIMENSIONS, Scorecard, checks, scorecard, trend
from crmlib.reference.enums import CUSTOMER_KIND, CUSTOMER_STATUS, GRADE, SIZE, SOURCE
from crmlib.reference.industries import DIVISIONS, SECTIONS
from crmlib.reference.regions import PROVINCES
from crmlib.reporting.scorecard import format_text, write_xlsx
from crmlib.rules.fields import EMAIL
from crmlib.store.engine import make_engine
from crmlib.store.models import (
    Contact,
    Customer,
    Opportunity,
    Order,
    QualityRun,
    Ticket,
)
from tests.factories import Team, company

AS_OF = datetime(2025, 6, 30, 12, 0)
NO_PAIRS = pd.DataFrame({"code_a": [], "code_b": []})


# -- the data ---------------------------------------------------------------------------


@dataclass
class Planted:
    """Codes of the customers the tests refer to by role."""

    good: list[str]  # zhang's, through the API
    raw: dict[str, str]  # zhang's, written past the rules, by name
    li: list[str]
    zhao: list[str]
    merged: str


@pytest.fixture
def engine(team: Team) -> Iterator[Engine]:
    built = make_engine(team.url)
    yield built
    built.dispose()


def _ids(engine: Engine, codes: list[str]) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(select(Customer.code, Customer.id).where(Customer.code.in_(codes)))
        return {code: customer_id for code, customer_id in rows}


def _insert(engine: Engine, model: Any, rows: list[dict[str, Any]]) -> None:
    """Rows written past the rules; one statement each, so each may leave out other columns."""
    with engine.begin() as conn:
        for values in rows:
            conn.execute(insert(model).values(**values))


@pytest.fixture
def planted(team: Team, engine: Engine) -> Planted:
    """zhang: four clean customers and a person through the API, and seven broken ones;
    li and zhao: a few of their own, one of zhao's broken too."""
    good = [
        team.zhang.customers.add(
            **company(name="上海星辰科技有限公司", email="info@xingchen.cn", size="中型")
        ).code,
        team.zhang.customers.add(**company(name="杭州云帆网络有限公司", grade="A")).code,
        team.zhang.customers.add(**company(name="苏州启航机械有限公司", city="苏州")).code,
        team.zhang.customers.add(**company(name="南京金陵物流有限公司", postcode="210000")).code,
        team.zhang.customers.add(
            name="王芳", kind="个人", phone="13912345678", birthday="1990-05-01", source="referral"
        ).code,
    ]
    li = [team.li.customers.add(**company(name=f"李氏{n}号贸易公司")).code for n in range(2)]
    zhao = [team.zhao.customers.add(**company(name=f"蜀道{n}号贸易公司")).code for n in range(3)]
    zhang_id, zhao_id = team.zhang.user.id, team.zhao.user.id
    raw: dict[str, dict[str, Any]] = {
        "junk": dict(
            name="",
            kind="robot",
            size="huge",
            grade="D",
            status="zombie",
            source="tv",
            province="火星",
            region="华南",
            industry_section="Z",
        ),
        "person": dict(
            name="赵敏",
            kind="person",
            birthday=date(1850, 1, 1),
            consent_at=AS_OF + timedelta(days=1),
            consent_purpose="营销",
            province="广东省",
            region=None,
            industry_section="A",
            industry_division="39",
            source="other",
        ),
        "short": dict(
            name="广州短名有限公司",
            province="广东",
            region="华南",
            industry_division="39",
            status="active",
            source="phone",
            last_contact_at=AS_OF - timedelta(days=3),
        ),
        "archived": dict(
            name="归档公司",
            status="archived",
            source="website",
            province="北京市",
            region="华北",
            industry_section="I",
            industry_division="65",
        ),
        "future": dict(
            name="钱多多",
            kind="person",
            birthday=date(2025, 7, 15),
            consent_at=datetime(2024, 1, 1),
            source="website",
            last_contact_at=AS_OF - timedelta(days=90),
        ),
        "mismatch": dict(
            name="成都错区公司",
            province="四川省",
            region="华东",
            size="small",
            industry_section="C",
            industry_division="39",
            grade="B",
            source="exhibition",
            last_contact_at=AS_OF - timedelta(days=91),
        ),
        "merged": dict(name="已合并公司", status="archived", grade="X"),
    }
    codes = {key: f"C20250101{900 + n}" for n, key in enumerate(raw)}
    _insert(
        engine,
        Customer,
        [{"code": codes[key], "owner_id": zhang_id, **values} for key, values in raw.items()]
        + [{"code": "C20250101999", "owner_id": zhao_id, "name": "赵的坏客户", "grade": "Z"}],
    )
    ids = _ids(engine, [*good, *codes.values(), *li, *zhao])
    with engine.begin() as conn:
        conn.execute(
            update(Customer)
            .where(Customer.id == ids[codes["merged"]])
            .values(merged_into_id=ids[codes["short"]])
        )
        conn.execute(
            update(Customer)
            .where(Customer.id == ids[good[0]])
            .values(last_contact_at=AS_OF - timedelta(days=10), status="active")
        )
        conn.execute(
            update(Customer)
            .where(Customer.id == ids[good[1]])
            .values(last_contact_at=AS_OF - timedelta(days=200))
        )
    contact = {"title": None, "email": None, "is_primary": True}
    _insert(
        engine,
        Contact,
        [
            {
                **contact,
                "customer_id": ids[codes["junk"]],
                "name": "甲",
                "phone": "12345",
                "email": "not-mail",
            },
            {
                **contact,
                "customer_id": ids[codes["junk"]],
                "name": "乙",
                "phone": "+8614012345678",
                "email": "Good@Example.COM",
            },
            {
                **contact,
                "customer_id": ids[codes["person"]],
                "name": "丙",
                "is_primary": False,
                "phone": "+862088886666",
                "email": "a@b",
            },
            {
                **contact,
                "customer_id": ids[codes["short"]],
                "name": "",
                "title": "总经理",
                "phone": "13812345678",
            },
            {
                **contact,
                "customer_id": ids[codes["archived"]],
                "name": "丁",
                "phone": "+8613812a45678",
                "email": "",
            },
            {
                **contact,
                "customer_id": ids[codes["future"]],
                "name": "戊",
                "phone": "+14155552671",
                "email": "x@y.cn",
            },
            {
                **contact,
                "customer_id": ids[codes["mismatch"]],
                "name": "己",
                "phone": "+86１３８１２３４５６７８",
            },
            {
                **contact,
                "customer_id": ids[good[2]],
                "name": "庚",
                "is_primary": False,
                "phone": "+8613700001111",
                "email": "a.b@c.com.cn\n",
            },
            {**contact, "customer_id": ids[zhao[0]], "name": "辛", "phone": "54321"},
        ],
    )
    a, b, c = ids[good[0]], ids[good[1]], ids[good[2]]
    _insert(
        engine,
        Opportunity,
        [
            {"customer_id": a, "name": "赢单无关闭时间", "stage": "won", "closed_at": None},
            {
                "customer_id": a,
                "name": "输单无原因",
                "stage": "lost",
                "loss_reason": "",
                "closed_at": AS_OF,
            },
            {
                "customer_id": b,
                "name": "输单无关闭时间",
                "stage": "lost",
                "loss_reason": "价格",
                "closed_at": None,
            },
            {"customer_id": b, "name": "赢单", "stage": "won", "closed_at": AS_OF},
            {"customer_id": c, "name": "进行中", "stage": "proposal"},
            {"customer_id": ids[zhao[0]], "name": "赵的赢单", "stage": "won", "closed_at": None},
        ],
    )
    _insert(
        engine,
        Order,
        [{"customer_id": b, "ordered_at": date(2025, 1, 5), "amount": Decimal("100.00")}],
    )
    ticket = {"type": "inquiry", "priority": "low", "subject": "问题"}
    _insert(
        engine,
        Ticket,
        [
            {**ticket, "customer_id": a, "status": "closed", "resolution": None},
            {**ticket, "customer_id": b, "status": "resolved", "resolved_at": AS_OF},
            {
                **ticket,
                "customer_id": c,
                "status": "closed",
                "resolution": "已更换",
                "resolved_at": AS_OF,
            },
            {**ticket, "customer_id": c, "status": "open"},
        ],
    )
    return Planted(
        good, {k: v for k, v in codes.items() if k != "merged"}, li, zhao, codes["merged"]
    )


# -- the same counts, made independently -------------------------------------------------


def _reference_phone(value: str) -> bool:
    """Whether the value is what the phone rule stores, straight from phonenumbers: a
    valid number in E.164, written as phonenumbers writes it."""
    if not re.fullmatch(r"\+[1-9][0-9]{1,14}", value):
        return False
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return False
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return bool(phonenumbers.is_valid_number(parsed)) and e164 == value


def _blank(values: pd.Series) -> pd.Series:
    return values.isna() | (values.astype(object) == "")


def _moments(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values.astype(object), errors="raise")


def independent(
    engine: Engine, owners: list[int] | None, as_of: datetime = AS_OF, stale_days: int = 90
) -> dict[str, tuple[int, int]]:
    """(passed, total) of every scored check, computed in pandas from the raw tables."""
    read = {
        m: pd.read_sql(select(m.__table__), engine)
        for m in (Customer, Contact, Opportunity, Order, Ticket)
    }
    c = read[Customer]
    c = c[c["merged_into_id"].isna()]
    if owners is not None:
        c = c[c["owner_id"].isin(owners)]
    contacts = read[Contact][read[Contact]["customer_id"].isin(c["id"])]
    deals = read[Opportunity][read[Opportunity]["customer_id"].isin(c["id"])]
    tickets = read[Ticket][read[Ticket]["customer_id"].isin(c["id"])]
    ordered = set(read[Order]["customer_id"])
    everyone = pd.Series(True, index=c.index)
    companies, persons = c["kind"] == "company", c["kind"] == "person"
    out: dict[str, tuple[int, int]] = {}

    def put(check: str, applies: pd.Series, fails: pd.Series) -> None:
        applies = applies.fillna(False).astype(bool)
        fails = fails.fillna(False).astype(bool)
        out[check] = (int((applies & ~fails).sum()), int(applies.sum()))

    columns = {
        "name": "name",
        "kind": "kind",
        "industry": "industry_section",
        "size": "size",
        "province": "province",
        "city": "city",
        "postcode": "postcode",
        "address": "address",
        "grade": "grade",
        "status": "status",
        "source": "source",
        "owner": "owner_id",
        "birthday": "birthday",
        "consent_purpose": "consent_purpose",
        "consent_at": "consent_at",
    }
    applies_to = {
        "industry": companies,
        "size": companies,
        "birthday": persons,
        "consent_purpose": persons,
        "consent_at": persons,
    }
    for field, column in columns.items():
        put(f"completeness.{field}", applies_to.get(field, everyone), _blank(c[column]))
    primary = contacts[contacts["is_primary"]]
    for field, column in {
        "contact": "name",
        "title": "title",
        "phone": "phone",
        "email": "email",
    }.items():
        having = primary.loc[~_blank(primary[column]), "customer_id"]
        put(f"completeness.{field}", everyone, ~c["id"].isin(having))

    enums = {
        "kind": CUSTOMER_KIND,
        "size": SIZE,
        "grade": GRADE,
        "status": CUSTOMER_STATUS,
        "source": SOURCE,
    }
    for field, enumeration in enums.items():
        put(f"validity.{field}", ~_blank(c[field]), ~c[field].isin(enumeration.codes))
    earliest = pd.Timestamp(1900, 1, 1)
    birthday = _moments(c["birthday"])
    put(
        "validity.birthday",
        birthday.notna(),
        (birthday < earliest) | (birthday > pd.Timestamp(as_of.date())),
    )
    consent = _moments(c["consent_at"])
    put(
        "validity.consent_at",
        consent.notna(),
        (consent < earliest) | (consent > pd.Timestamp(as_of)),
    )
    section = c["industry_section"].fillna("")
    pairs = {d.section + d.code for d in DIVISIONS.values()}
    put(
        "validity.industry",
        c["industry_section"].notna() | c["industry_division"].notna(),
        ~section.isin(list(SECTIONS))
        | (
            c["industry_division"].notna()
            & ~(section + c["industry_division"].fillna("")).isin(list(pairs))
        ),
    )
    put(
        "validity.province", c["province"].notna(), ~c["province"].isin([p.name for p in PROVINCES])
    )
    regions = {(p.name, p.region) for p in PROVINCES}
    place = [
        (p if isinstance(p, str) else "", r if isinstance(r, str) else "")
        for p, r in zip(c["province"], c["region"], strict=True)
    ]
    put(
        "validity.region",
        c["province"].notna() | c["region"].notna(),
        pd.Series([pair not in regions for pair in place], index=c.index),
    )
    phones = contacts[~_blank(contacts["phone"])]
    phone_ok = phones["phone"].map(_reference_phone)
    put("validity.phone", pd.Series(True, index=phones.index), ~phone_ok)
    put("validity.phone_primary", phones["is_primary"], ~phone_ok)
    emails = contacts[~_blank(contacts["email"])]
    email_ok = emails["email"].map(lambda v: bool(EMAIL.match(v)) and not v.endswith("\n"))
    put("validity.email", pd.Series(True, index=emails.index), ~email_ok)

    last = _moments(c["last_contact_at"])
    put(
        "freshness.last_contact",
        c["status"] != "archived",
        last.isna() | (last < pd.Timestamp(as_of - timedelta(days=stale_days))),
    )

    won = set(deals.loc[deals["stage"] == "won", "customer_id"])
    put("consistency.won_has_orders", c["id"].isin(won), ~c["id"].isin(ordered))
    put("consistency.active_has_orders", c["status"] == "active", ~c["id"].isin(ordered))
    primaries = primary.groupby("customer_id").size()
    put(
        "consistency.one_primary_contact",
        c["id"].isin(contacts["customer_id"]),
        c["id"].map(primaries).fillna(0) != 1,
    )
    put(
        "consistency.deal_closed_at",
        deals["stage"].isin(["won", "lost"]),
        deals["closed_at"].isna(),
    )
    put("consistency.loss_reason", deals["stage"] == "lost", _blank(deals["loss_reason"]))
    put(
        "consistency.ticket_resolution",
        tickets["status"] == "closed",
        _blank(tickets["resolution"]),
    )
    put(
        "consistency.ticket_resolved_at",
        tickets["status"].isin(["resolved", "closed"]),
        tickets["resolved_at"].isna(),
    )
    out["uniqueness.duplicates"] = (len(c), len(c))
    return out


def measured(card: Scorecard) -> dict[str, tuple[int, int]]:
    scored = card.checks[card.checks["passed"].notna()]
    return {
        row["check"]: (int(row["passed"]), int(row["total"])) for row in scored.to_dict("records")
    }


def row(card: Scorecard, check: str) -> dict[str, Any]:
    found = card.checks[card.checks["check"] == check]
    assert len(found) == 1, check
    return dict(found.iloc[0])


# -- counts -----------------------------------------------------------------------------


def _every_check() -> list[checks.About]:
    made = [
        *checks.completeness(),
        *checks.validity(AS_OF),
        checks.freshness(AS_OF, 90),
        *checks.order_checks(),
        checks.one_primary(),
        *(check for _, on_table in checks.child_checks() for check in on_table),
    ]
    contact = [about for about, _ in checks.CONTACT_CHECKS.values()]
    return [c.about for c in made] + contact + [checks.UNIQUENESS]


def test_every_check_is_labelled_in_each_language_and_no_label_is_left_over() -> None:
    """A check's label is its own catalogue key, or a sentence shared by checks made alike
    from the customers file's columns, with the column's header in the label's language."""
    abouts = _every_check()
    for about in abouts:
        assert re.search(r"[\u4e00-\u9fff]", about.label("zh")), about.id
        assert not re.search(r"[\u4e00-\u9fff]", about.label("en")), about.id
    labels = {about.text or f"check:{about.id}" for about in abouts}
    assert labels == {key for key in MESSAGES if key.startswith("check:")}
    by_id = {about.id: about for about in abouts}
    assert by_id["completeness.industry"].label("zh") == "行业已填写（企业，必填）"
    assert by_id["completeness.industry"].label("en") == "Industry filled in (companies, required)"
    assert by_id["freshness.last_contact"].label("en") == (
        "Contacted in the last 90 days (archived excepted)"
    )


@pytest.mark.parametrize("who", ["admin", "zhang", "wang", "ana"])
def test_every_check_matches_an_independent_count(
    team: Team, planted: Planted, engine: Engine, who: str
) -> None:
    ws = getattr(team, who)
    owners = {
        "admin": None,
        "ana": None,
        "zhang": [team.zhang.user.id],
        "wang": [team.zhang.user.id, team.li.user.id, team.wang.user.id],
    }[who]
    card = scorecard(ws.ctx, as_of=AS_OF, save=False, duplicate_pairs=NO_PAIRS)
    assert measured(card) == independent(engine, owners)


def test_hand_counts_of_the_broken_data(team: Team, planted: Planted) -> None:
    card = scorecard(team.zhang.ctx, as_of=AS_OF, save=False, duplicate_pairs=NO_PAIRS)
    raw = planted.raw
    numbers = {
        check: (r["passed"], r["total"])
        for check, r in ((c, row(card, c)) for c in card.checks["check"])
    }
    # 5 API customers + 6 written directly; the merged one is gone.
    assert numbers["completeness.name"] == (10, 11)
    assert numbers["validity.kind"] == (10, 11)
    assert numbers["validity.grade"] == (2, 3)  # A, B and the made-up D
    # 火星; 广东省 without a region; 广东, not a stored name; 四川省 in 华东.
    assert numbers["validity.region"] == (5, 9)
    # Phones: 12345, +8614012345678 (no such prefix), 13812345678 (not E.164), a letter,
    # full-width digits; +862088886666 (a landline) and +14155552671 are valid.
    assert numbers["validity.phone"] == (8, 13)
    assert numbers["validity.phone_primary"] == (6, 11)
    # not-mail, a@b, and an address ending in a newline; Good@Example.COM is well formed.
    assert numbers["validity.email"] == (3, 6)
    assert numbers["validity.birthday"] == (1, 3)  # 1850 and 2025-07-15 are out
    assert numbers["validity.consent_at"] == (1, 2)
    assert numbers["consistency.won_has_orders"] == (1, 2)
    assert numbers["consistency.active_has_orders"] == (0, 2)
    # junk has two primary contacts, person only a non-primary one.
    assert numbers["consistency.one_primary_contact"] == (9, 11)
    assert numbers["consistency.deal_closed_at"] == (2, 4)
    assert numbers["consistency.loss_reason"] == (1, 2)
    assert numbers["consistency.ticket_resolution"] == (1, 2)
    assert numbers["consistency.ticket_resolved_at"] == (2, 3)
    # Fresh: contacted 10, 3 and 90 days before; 91 and 200 days are stale; archived is out.
    assert numbers["freshness.last_contact"] == (3, 10)
    assert row(card, "validity.grade")["examples"] == [raw["junk"]]
    assert row(card, "validity.phone")["examples"] == [
        raw["junk"],
        raw["short"],
        raw["archived"],
        raw["mismatch"],
    ]
    assert row(card, "consistency.won_has_orders")["examples"] == [planted.good[0]]
    assert row(card, "completeness.contact")["examples"] == [raw["person"], raw["short"]]
    required = card.checks.loc[card.checks["required"], "field"]
    assert set(required) == {"name", "industry", "contact", "phone", "source"}


def test_examples_are_failing_customers_first_come_first(team: Team, planted: Planted) -> None:
    extra = [team.zhang.customers.add(**company(name=f"无邮箱{n}")).code for n in range(6)]
    card = scorecard(team.zhang.ctx, as_of=AS_OF, save=False, duplicate_pairs=NO_PAIRS)
    email = row(card, "completeness.email")
    assert email["examples"] == [*planted.good[1:5], planted.raw["person"]]
    assert (email["passed"], email["total"]) == (3, 11 + len(extra))
    assert all(not r["examples"] for r in card.checks.to_dict("records") if r["score"] == 1)


def test_parameters_move_freshness_and_the_target(team: Team, planted: Planted) -> None:
    card = scorecard(
        team.zhang.ctx,
        as_of=AS_OF,
        stale_days=200,
        target=0.5,
        save=False,
        duplicate_pairs=NO_PAIRS,
    )
    fresh = row(card, "freshness.last_contact")
    assert (fresh["passed"], fresh["total"]) == (5, 10)
    assert fresh["target"] == 0.5 and fresh["meets_target"]
    assert "200" in fresh["label"]
    later = scorecard(
        team.zhang.ctx, as_of=AS_OF + timedelta(days=400), save=False, duplicate_pairs=NO_PAIRS
    )
    assert row(later, "validity.birthday")["passed"] == 2  # 2025-07-15 is past by then


# -- scope ------------------------------------------------------------------------------


def test_a_sales_rep_measures_only_their_own_customers(team: Team, planted: Planted) -> None:
    mine = scorecard(team.zhang.ctx, as_of=AS_OF, save=False, duplicate_pairs=NO_PAIRS)
    everyone = scorecard(team.admin.ctx, as_of=AS_OF, save=False, duplicate_pairs=NO_PAIRS)
    li = scorecard(team.li.ctx, as_of=AS_OF, save=False, duplicate_pairs=NO_PAIRS)
    assert row(mine, "completeness.name")["total"] == 11
    assert row(li, "completeness.name")["total"] == 2
    assert row(everyone, "completeness.name")["total"] == 11 + 2 + 3 + 1
    zhang_codes = set(planted.good) | set(planted.raw.values())
    for r in mine.checks.to_dict("records"):
        assert set(r["examples"]) <= zhang_codes, r["check"]
    assert "C20250101999" in row(everyone, "validity.grade")["examples"]
    assert row(li, "validity.phone")["total"] == 2 and row(li, "validity.phone")["passed"] == 2


# -- uniqueness -------------------------------------------------------------------------


def test_uniqueness_counts_the_extra_copies_in_each_cluster(team: Team, planted: Planted) -> None:
    g, z = planted.good, planted.zhao
    pairs = pd.DataFrame(
        {"code_a": [g[0], g[1], g[3], g[0]], "code_b": [g[1], g[2], g[4], z[0]]}
    )  # one cluster of three, one of two, and a pair reaching another rep's customer
    card = scorecard(team.zhang.ctx, as_of=AS_OF, save=False, duplicate_pairs=pairs)
    unique = row(card, "uniqueness.duplicates")
    assert (unique["passed"], unique["total"]) == (11 - 3, 11)
    assert unique["examples"] == [g[1], g[2], g[4]]
    everyone = scorecard(team.admin.ctx, as_of=AS_OF, save=False, duplicate_pairs=pairs)
    assert row(everyone, "uniqueness.duplicates")["examples"] == [g[1], g[2], z[0], g[4]]


def test_uniqueness_runs_the_duplicate_scan_when_given_no_pairs(team: Team) -> None:
    first = team.zhang.customers.add(
        **company(name="深圳鹏城电子有限公司", phone="13800138000", province="广东", city="深圳")
    ).code
    copy = team.zhang.customers.add(  # an exact duplicate, let in on purpose
        **company(name="深圳鹏城电子有限公司", phone="13800138000", province="广东", city="深圳"),
        allow_duplicate=True,
    ).code
    team.zhang.customers.add(**company(name="哈尔滨冰城食品厂", province="黑龙江"))
    card = scorecard(team.zhang.ctx, save=False)
    unique = row(card, "uniqueness.duplicates")
    assert first < copy
    assert (unique["passed"], unique["total"], unique["examples"]) == (2, 3, [copy])


# -- runs and trend ---------------------------------------------------------------------


def test_runs_are_kept_and_make_a_trend(team: Team, planted: Planted, engine: Engine) -> None:
    cards = [scorecard(team.zhang.ctx, as_of=AS_OF, duplicate_pairs=NO_PAIRS) for _ in range(3)]
    scorecard(team.admin.ctx, as_of=AS_OF, duplicate_pairs=NO_PAIRS)
    unsaved = scorecard(team.zhang.ctx, as_of=AS_OF, save=False, duplicate_pairs=NO_PAIRS)
    assert unsaved.run_id is None
    history = trend(team.zhang.ctx)
    assert list(history["run_id"]) == [card.run_id for card in cards]
    assert list(history.columns) == ["run_id", "run_at", "actor", "overall", *DIMENSIONS]
    assert history["run_at"].is_monotonic_increasing
    assert set(history["actor"]) == {"zhang"}
    assert history["overall"].tolist() == pytest.approx([c.overall for c in cards])
    assert history["completeness"].tolist() == pytest.approx(
        [c.dimensions.set_index("dimension").loc["completeness", "score"] for c in cards]
    )
    assert cards[0].trend(team.zhang.ctx).equals(history)
    assert len(trend(team.admin.ctx)) == 1  # everyone's customers make another trend
    assert len(trend(team.li.ctx)) == 0
    with engine.connect() as conn:
        actor, overall, text = conn.execute(
            select(QualityRun.actor, QualityRun.overall, QualityRun.scores).where(
                QualityRun.id == cards[0].run_id
            )
        ).one()
    scores = json.loads(text)
    assert actor == "zhang" and overall == pytest.approx(cards[0].overall)
    assert set(scores["checks"]) == set(cards[0].checks["check"])
    assert scores["checks"]["validity.phone"] == {
        "dimension": "validity",
        "passed": 8,
        "total": 13,
        "score": pytest.approx(8 / 13),
    }
    assert all(isinstance(check["passed"], int) for check in scores["checks"].values())


def test_overall_is_the_mean_of_the_dimensions(team: Team, planted: Planted) -> None:
    card = scorecard(team.zhang.ctx, as_of=AS_OF, save=False, duplicate_pairs=NO_PAIRS)
    scored = card.checks.dropna(subset=["score"])
    means = scored.groupby("dimension")["score"].mean()
    assert card.dimensions.set_index("dimension")["score"].to_dict() == pytest.approx(
        means.to_dict()
    )
    assert card.overall == pytest.approx(means.mean())
    assert 0 <= card.overall <= 1


def test_an_empty_database_has_no_score_and_keeps_no_run(team: Team, tmp_path: Path) -> None:
    card = scorecard(team.zhang.ctx, duplicate_pairs=NO_PAIRS)
    assert math.isnan(card.overall) and card.run_id is None
    assert (card.checks["total"] == 0).all() or card.checks["score"].isna().all()
    assert trend(team.zhang.ctx).empty
    assert "–" in format_text(card)
    write_xlsx(card, tmp_path / "empty.xlsx")


# -- output -----------------------------------------------------------------------------


def _zh(ctx: Context) -> Context:
    return Context(ctx.engine, ctx.actor, "zh")


def test_xlsx_has_summary_checks_trend_and_examples(
    team: Team, planted: Planted, tmp_path: Path
) -> None:
    card = scorecard(team.zhang.ctx, as_of=AS_OF, duplicate_pairs=NO_PAIRS)
    path = write_xlsx(card, tmp_path / "dq.xlsx", trend=trend(team.zhang.ctx))
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Summary", "Checks", "Trend", "Examples"]
    checks = book["Checks"]
    assert [cell.value for cell in checks[1]] == [
        "Dimension",
        "Check",
        "Description",
        "Field",
        "Required",
        "Passed",
        "Total",
        "Score",
        "Target",
        "Meets target",
        "Failing customers (examples)",
    ]
    assert checks.max_row == len(card.checks) + 1
    summary = [[cell.value for cell in r] for r in book["Summary"].iter_rows()]
    assert summary[0][:3] == ["Dimension", "Checks", "Score"]
    assert [r[0] for r in summary[1:]] == [
        "Completeness",
        "Validity",
        "Uniqueness",
        "Freshness",
        "Consistency",
        "Overall",
    ]
    assert summary[-1][2] == pytest.approx(card.overall)
    assert book["Summary"]["C2"].number_format == "0.0%"
    trend_rows = list(book["Trend"].iter_rows(values_only=True))
    assert trend_rows[0][:4] == ("Run", "Run at", "User", "Overall") and len(trend_rows) == 2
    examples = list(book["Examples"].iter_rows(values_only=True))
    assert examples[0] == ("Dimension", "Description", "Customer code")
    assert len(examples) - 1 == sum(len(e) for e in card.checks["examples"])

    chinese = scorecard(_zh(team.zhang.ctx), as_of=AS_OF, save=False, duplicate_pairs=NO_PAIRS)
    book = openpyxl.load_workbook(write_xlsx(chinese, tmp_path / "zh.xlsx"))
    assert book.sheetnames == ["汇总", "检查项", "趋势", "问题示例"]
    assert book["检查项"]["C1"].value == "说明"
    assert book["检查项"]["A2"].value == "完整性"
    assert book["检查项"]["C2"].value == "客户名称已填写（必填）"


def test_text_report_has_the_overall_score_and_a_line_per_check(
    team: Team, planted: Planted
) -> None:
    card = scorecard(team.zhang.ctx, as_of=AS_OF, save=False, duplicate_pairs=NO_PAIRS)
    text = format_text(card)
    assert f"Overall {card.overall:.1%}" in text
    lines = text.splitlines()
    for r in card.checks.to_dict("records"):
        [line] = [line for line in lines if line.strip().startswith(r["label"])]
        if r["total"] == 0:
            assert line.rstrip().endswith("(no data)")
        else:
            assert f"{r['passed']:,}/{r['total']:,}" in line
            assert line.rstrip().endswith("✓" if r["meets_target"] else "✗")
            assert f"{r['score']:.1%}" in line
    chinese = format_text(
        scorecard(_zh(team.zhang.ctx), as_of=AS_OF, save=False, duplicate_pairs=NO_PAIRS)
    )
    assert "数据质量评分卡" in chinese and "总分" in chinese and "电话已填写（必填）" in chinese


def test_an_in_memory_database_is_measured_on_its_one_connection() -> None:
    with crmlib.open("sqlite://", user="admin", lang="en") as ws:
        ws.customers.add(**company(name="内存数据库公司"))
        card = scorecard(ws.ctx, duplicate_pairs=NO_PAIRS)
        assert row(card, "completeness.name")["total"] == 1
        assert card.run_id is not None and len(trend(ws.ctx)) == 1
