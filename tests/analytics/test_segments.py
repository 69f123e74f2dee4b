"""Rule segments: the safe filter language, membership, tracking, tags and export."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import crmlib
from crmlib import clock
from crmlib.analytics.segment_rules import parse
from crmlib.analytics.segment_rules.language import Comparison, Junction, Not
from crmlib.errors import AccessDenied, Conflict, NotFound, ValidationError
from crmlib.i18n import speaking
from tests.commands import crm
from tests.factories import Team, company

TODAY = clock.today()


def rule_message(rule: str, lang: str = "en") -> str:
    with speaking(lang), pytest.raises(ValidationError) as caught:
        parse(rule)
    (error,) = caught.value.errors
    assert (error.field, error.value, error.rule) == ("rule", rule, "segment_rule")
    return error.message


# -- the language --------------------------------------------------------------------------


def test_rules_parse_into_trees_with_normalised_values() -> None:
    tree = parse('aov > 10万 and (grade == "A类" or not region == "East China")')
    assert isinstance(tree, Junction) and tree.op == "and"
    aov, either = tree.operands
    assert isinstance(aov, Comparison) and (aov.op, aov.values) == (">", (100_000,))
    assert isinstance(either, Junction) and either.op == "or"
    grade, negated = either.operands
    assert isinstance(grade, Comparison) and grade.values == ("A",)
    assert isinstance(negated, Not)
    assert isinstance(negated.operand, Comparison) and negated.operand.values == ("华东",)
    listed = parse("province not in ['广东', 'Zhejiang']")
    assert isinstance(listed, Comparison)
    assert (listed.op, listed.values) == ("not in", ("广东省", "浙江省"))
    assert parse("GRADE == 'B' AND orders >= 2").op == "and"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("rule", "message", "pointer"),
    [
        ("aovv > 100", "unknown field 'aovv'", "^^^^"),
        ('grade == "D"', "'D' is not a valid grade", "         ^^^"),
        ('grade > "A"', "can only be compared with ==, != or in", "      ^"),
        ('aov > "x"', "aov is numeric and 'x' is not a number", "      ^^^"),
        ("days_since_contact > 9.5", "counts whole days", "                     ^^^"),
        ('grade = "A"', "use == to compare", "      ^"),
        ("(aov > 1", "expected a closing ), found the end of the rule", "        ^"),
        ("aov > 1 and", "expected a field name, found the end", "           ^"),
        ("aov > 1 aov < 5", "expected the end of the rule, found 'aov'", "        ^^^"),
        ('name == "abc', "the string is not closed", "        ^^^^"),
        ("name == abc", "expected a value", "        ^^^"),
        ("aov ; 1", "unexpected character ';'", "    ^"),
        ('region == "火星"', "is not a valid region", "          ^^^^^^"),
        ("", "the rule is empty", "^"),
    ],
)
def test_bad_rules_point_at_the_offending_part(rule: str, message: str, pointer: str) -> None:
    text = rule_message(rule)
    assert message in text
    _, quoted, marker = text.split("\n")
    assert quoted == f"  {rule}"
    assert marker == f"  {pointer}"


def test_errors_speak_chinese_and_measure_wide_characters() -> None:
    text = rule_message('name == "星辰" and 等级 == "A"', lang="zh")
    assert text.startswith("无法识别的字符 '等'")
    # 星辰 is four columns wide in a terminal, so the caret sits under 等.
    assert text.split("\n")[2] == "  " + " " * 19 + "^^"


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("ab_ =!<>()[],\"'0123456789.万 andortgdeiv")), max_size=40
    )
)
def test_any_text_either_parses_or_is_refused_clearly(rule: str) -> None:
    try:
        parse(rule)
    except ValidationError as exc:
        assert exc.errors[0].rule == "segment_rule"


# -- membership ------------------------------------------------------------------------------


@pytest.fixture
def book(team: Team) -> dict[str, str]:
    """Customers of zhang's with known orders, follow-ups, tags and attributes."""
    ws = team.zhang
    codes = {
        "big": ws.customers.add(
            **company(name="甲公司", grade="A", size="large", industry="C39"), tags=["重点跟进"]
        ).code,
        "small": ws.customers.add(**company(name="乙公司", grade="C", province="广东")).code,
        "person": ws.customers.add(name="王芳", kind="person", phone="13911112222").code,
    }
    ws.orders.add(codes["big"], ordered_at=TODAY - timedelta(days=10), amount=300_000)
    ws.orders.add(codes["big"], ordered_at=TODAY - timedelta(days=400), amount=100_000)
    ws.orders.add(codes["small"], ordered_at=TODAY - timedelta(days=100), amount=2_000)
    ws.interactions.add(
        codes["small"],
        channel="phone",
        occurred_at=f"{TODAY - timedelta(days=5)} 09:30",
        summary="电话回访",
        customer_need="询价",
        next_step="发报价单",
    )
    return codes


def members(team: Team, rule: str, as_of: date | None = None) -> set[str]:
    return set(team.zhang.segments.members(rule, as_of=as_of)["code"])


def test_membership_follows_each_field(team: Team, book: dict[str, str]) -> None:
    big, small, person = book["big"], book["small"], book["person"]
    assert members(team, 'aov > 10万 and grade == "A"') == {big}
    assert members(team, "orders >= 1") == {big, small}
    assert members(team, "revenue == 400000") == {big}
    assert members(team, "spend_12m < 5000") == {small, person}
    assert members(team, "aov < 5000") == {small}  # no orders: no average, not "below"
    assert members(team, "days_since_order > 30") == {small}
    assert members(team, "days_since_order == 100") == {small}
    assert members(team, 'tag == "重点跟进"') == {big}
    assert members(team, 'tag != "重点跟进"') == {small, person}
    assert members(team, 'industry == "C"') == {big}
    assert members(team, 'industry == "C39"') == {big}
    assert members(team, 'industry != "C"') == {small, person}
    assert members(team, 'size != "large"') == {small, person}  # no size is "not large"
    assert members(team, 'province in ["广东", "上海"]') == {big, small}
    assert members(team, 'kind == "个人"') == {person}
    assert members(team, 'owner == "zhang" and team == "east"') == {big, small, person}
    assert members(team, "not (orders >= 1 or grade == 'A')") == {person}


def test_days_since_contact_counts_from_creation_when_never_contacted(
    team: Team, book: dict[str, str]
) -> None:
    assert members(team, "days_since_contact > 90") == set()
    later = TODAY + timedelta(days=91)
    assert members(team, "days_since_contact > 90", as_of=later) == set(book.values())
    # small was called five days before today; the others were created today.
    assert members(team, "days_since_contact > 91", as_of=later) == {book["small"]}
    assert members(team, "days_since_contact >= 96", as_of=later) == {book["small"]}
    assert members(team, "days_since_contact == 96", as_of=later) == {book["small"]}
    assert members(team, "days_since_contact > 96", as_of=later) == set()
    assert members(team, "days_since_contact < 92", as_of=later) == {book["big"], book["person"]}
    assert members(team, "age_days <= 91", as_of=later) == set(book.values())
    frame = team.zhang.segments.members("age_days >= 0", as_of=later).set_index("code")
    assert frame.loc[book["small"], "days_since_contact"] == 96


def test_membership_is_scoped_to_the_user(team: Team, book: dict[str, str]) -> None:
    theirs = team.zhao.customers.add(**company(name="丙公司")).code
    assert members(team, "age_days >= 0") == set(book.values())
    assert set(team.zhao.segments.members("age_days >= 0")["code"]) == {theirs}
    assert set(team.ana.segments.members("age_days >= 0")["code"]) == {*book.values(), theirs}


def test_values_are_bound_not_spliced(team: Team, book: dict[str, str]) -> None:
    assert members(team, 'name == "x\'; DROP TABLE customers; --"') == set()
    assert len(team.zhang.customers.frame()) == 3


# -- saved segments ----------------------------------------------------------------------------


def test_define_list_replace_and_delete(team: Team, book: dict[str, str]) -> None:
    seg = team.zhang.segments
    seg.define("大客户", 'grade == "A"', description="A 类客户")
    with pytest.raises(Conflict, match="exists already"):
        seg.define("大客户", 'grade == "B"')
    with pytest.raises(ValidationError):
        seg.define("坏规则", "grade >")
    assert list(seg.list()["name"]) == ["大客户"]
    assert set(seg.members("大客户")["code"]) == {book["big"]}
    seg.define("大客户", "orders >= 1", replace=True)
    assert seg.count("大客户") == 2
    with pytest.raises(AccessDenied, match="belongs to another user"):
        team.zhao.segments.delete("大客户")
    seg.delete("大客户")
    with pytest.raises(NotFound, match="大客户"):
        seg.members("大客户")


def test_sizes_are_tracked_per_day(team: Team, book: dict[str, str]) -> None:
    seg = team.admin.segments
    seg.define("buyers", "orders >= 1")
    seg.define("quiet", "days_since_contact > 90")
    seg.track(as_of=TODAY)
    team.zhang.orders.add(book["person"], ordered_at=TODAY, amount=800)
    seg.track(as_of=TODAY)  # the same day again: replaced, not added
    seg.track(as_of=TODAY + timedelta(days=120))
    history = seg.history("buyers")
    assert list(history["size"]) == [3, 3]
    assert list(seg.history("quiet")["size"]) == [0, 3]
    assert dict(zip(seg.list()["name"], seg.list()["last_size"], strict=True)) == {
        "buyers": 3,
        "quiet": 3,
    }


def test_tagging_members_is_audited_and_repeatable(team: Team, book: dict[str, str]) -> None:
    seg = team.zhang.segments
    seg.define("高价值", "revenue >= 2000")
    assert seg.tag("高价值", "重点跟进") == 1  # big has the tag already
    assert "重点跟进" in team.zhang.customers.get(book["small"]).tags
    assert seg.tag("高价值", "重点跟进") == 0
    events = team.zhang.history(book["small"])
    tagged = events[events["action"] == "tag"]
    assert list(tagged["new_value"]) == ["重点跟进"]
    with pytest.raises(AccessDenied, match="tag customers"):
        team.ana.segments.tag("高价值", "x")


def test_members_export_to_the_import_layout(
    team: Team, book: dict[str, str], tmp_path: Path
) -> None:
    team.zhang.segments.define("buyers", "orders >= 1")
    result = team.zhang.segments.export("buyers", tmp_path / "buyers.csv")
    exported = pd.read_csv(result.path, encoding="utf-8-sig", dtype=str)
    assert set(exported.iloc[:, 1]) == {book["big"], book["small"]}  # the code column


def test_a_misspelt_segment_name_is_not_taken_for_a_rule(team: Team) -> None:
    with pytest.raises(NotFound, match="there is no segment '大客户'"):
        team.zhang.segments.members("大客户")
    with pytest.raises(ValidationError, match="unknown field"):
        team.zhang.segments.members("vip == 1")


def test_segment_commands(db_url: str, tmp_path: Path) -> None:
    with crmlib.open(db_url, user="admin") as ws:
        big = ws.customers.add(**company(name="甲公司", grade="A")).code
        ws.orders.add(big, ordered_at=TODAY, amount=600_000)  # so the refresh keeps grade A
        ws.customers.add(**company(name="乙公司", grade="C"))
    saved = crm("segments", "define", "大客户", 'grade == "A"', url=db_url)
    assert saved.returncode == 0, saved.stderr
    assert "segment '大客户' saved: 1 customers today" in saved.stdout
    bad = crm("segments", "define", "坏", "grade >> 1", url=db_url)
    assert bad.returncode == 1
    assert "grade >> 1" in bad.stderr and "^" in bad.stderr
    listed = crm("segments", "members", "大客户", url=db_url)
    assert big in listed.stdout and "1 customers" in listed.stdout
    assert "tagged 1 customers" in crm("segments", "tag", "大客户", "重点跟进", url=db_url).stdout
    out = tmp_path / "big.csv"
    exported = crm("export", "customers", "--segment", "大客户", "-o", str(out), url=db_url)
    assert exported.returncode == 0, exported.stderr
    assert pd.read_csv(out, encoding="utf-8-sig", dtype=str).iloc[:, 1].tolist() == [big]
    refreshed = crm("refresh", url=db_url)
    assert "sizes of 1 segments recorded" in refreshed.stdout
    assert '大客户: grade == "A"  (1 on' in crm("segments", "list", url=db_url).stdout
    wrong_kind = crm("export", "orders", "--segment", "大客户", url=db_url)
    assert wrong_kind.returncode == 1 and "segments select customers" in wrong_kind.stderr
