"""The shared field rules: examples of each accepted form, and properties over any input."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmlib.rules import (
    RuleViolation,
    amount,
    date_value,
    datetime_value,
    email,
    identifier,
    phone,
    postcode,
    text,
)
from crmlib.rules.fields import clean_text
from crmlib.transfer.catalogue import KINDS

ALL_RULES = sorted(
    {
        (f"{kind.name}.{c.name}", c.rule)
        for kind in (k.spec for k in KINDS.values())
        for c in kind.columns
    },
    key=lambda pair: pair[0],
)


@pytest.mark.parametrize(
    "raw",
    [
        "2024-05-01",
        "2024/5/1",
        "2024.5.1",
        "2024年5月1日",
        "20240501",
        45413,
        "45413",
        " 2024 - 05 - 01 ",
        "２０２４年５月１日",
        date(2024, 5, 1),
        datetime(2024, 5, 1, 9),
    ],
)
def test_dates_in_the_usual_forms(raw: Any) -> None:
    assert date_value(raw) == date(2024, 5, 1)


def test_times_are_kept_for_datetimes() -> None:
    assert datetime_value("2024年5月1日 10时30分") == datetime(2024, 5, 1, 10, 30)
    assert datetime_value("2024-05-01T10:30:15") == datetime(2024, 5, 1, 10, 30, 15)
    assert datetime_value(45413.5) == datetime(2024, 5, 1, 12)


@pytest.mark.parametrize("raw", ["2024-13-01", "2024-02-30", "yesterday", "5/1/2024", 0, -3, True])
def test_impossible_dates_are_refused(raw: Any) -> None:
    with pytest.raises(RuleViolation) as caught:
        date_value(raw)
    assert caught.value.rule == "date_format"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1,200.50", "1200.50"),
        ("¥1200", "1200.00"),
        ("1200元", "1200.00"),
        ("1.2万", "12000.00"),
        ("3亿", "300000000.00"),
        ("RMB 5,000", "5000.00"),
        ("１２００", "1200.00"),
        (99, "99.00"),
    ],
)
def test_amounts_in_the_usual_forms(raw: Any, expected: str) -> None:
    assert amount(raw) == Decimal(expected)


@pytest.mark.parametrize("raw", ["-5", "abc", "1.2.3", "NaN", "Infinity", "1e400", "万"])
def test_bad_amounts_are_refused(raw: str) -> None:
    with pytest.raises(RuleViolation) as caught:
        amount(raw)
    assert caught.value.rule == "amount"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13812345678", "+8613812345678"),
        ("138-1234-5678", "+8613812345678"),
        ("+86 138 1234 5678", "+8613812345678"),
        ("０１０－６２３４５６７８", "+861062345678"),
        ("021-62345678", "+862162345678"),
        ("+1 650 253 0000", "+16502530000"),
    ],
)
def test_phones_become_e164(raw: str, expected: str) -> None:
    assert phone(raw) == expected


@pytest.mark.parametrize("raw", ["1381234567", "12345678901", "62345678", "+86"])
def test_bad_phones_are_refused(raw: str) -> None:
    with pytest.raises(RuleViolation) as caught:
        phone(raw)
    assert caught.value.rule == "phone_format"


def test_emails_and_postcodes() -> None:
    assert email(" Chen.Jing@PengCheng.CN ") == "chen.jing@pengcheng.cn"
    for bad in ("chen.jing", "a@b", "a@@b.cn"):
        with pytest.raises(RuleViolation):
            email(bad)
    assert postcode("５１８０００") == "518000"
    with pytest.raises(RuleViolation):
        postcode("51800")


# -- properties ---------------------------------------------------------------------------

ANY_INPUT = st.one_of(
    st.none(),
    st.text(max_size=60),
    st.integers(),
    st.floats(allow_nan=True),
    st.booleans(),
    st.dates(),
    st.datetimes(),
    st.decimals(allow_nan=True),
)


@pytest.mark.parametrize(("name", "rule"), ALL_RULES, ids=[n for n, _ in ALL_RULES])
@given(value=ANY_INPUT)
def test_every_rule_returns_a_value_or_says_which_rule_broke(
    name: str, rule: Any, value: Any
) -> None:
    try:
        rule(value)
    except RuleViolation as violation:
        assert violation.rule and violation.message


@given(st.dates(min_value=date(1900, 3, 1), max_value=date(2099, 12, 31)))
def test_any_date_survives_every_written_form(day: date) -> None:
    serial = (day - date(1899, 12, 30)).days
    forms = [
        day.isoformat(),
        f"{day.year}/{day.month}/{day.day}",
        f"{day:%Y%m%d}",
        f"{day.year}年{day.month}月{day.day}日",
        serial,
        str(serial),
    ]
    assert {date_value(form) for form in forms} == {day}


@given(st.decimals(min_value=0, max_value=10**9, places=2))
def test_any_amount_survives_separators_and_wan(value: Decimal) -> None:
    assert amount(f"{value:,}") == value
    assert amount(f"¥{value}") == value
    assert amount(f"{value / 10000}万") == value


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
def test_valid_mobiles_normalise_idempotently(number: str) -> None:
    if not phonenumbers.is_valid_number(phonenumbers.parse(number, "CN")):
        with pytest.raises(RuleViolation):
            phone(number)
        return
    normalised = phone(number)
    assert normalised == f"+86{number}"
    assert phone(normalised) == normalised
    assert phone(f"{number[:3]} {number[3:7]} {number[7:]}") == normalised


@given(st.text(max_size=80))
def test_identifier_normalisation_is_idempotent_and_trimmed(value: str) -> None:
    once = clean_text(value)
    assert clean_text(once) == once
    if once is not None:
        assert once == once.strip() and once != ""
        try:
            assert identifier(80)(once) == once
        except RuleViolation as violation:  # a control character, or nothing visible
            assert violation.rule in ("text_control", "text_invisible")
            assert not once.isprintable() or violation.rule == "text_invisible"


@given(st.text(max_size=90))
def test_text_is_stored_as_written_but_for_the_ends(value: str) -> None:
    """The text rule changes nothing inside what was written: it gives back the value
    without white space at either end, or refuses it."""
    try:
        stored = text(80)(value)
    except RuleViolation as violation:
        assert violation.rule in ("too_long", "text_control", "text_invisible")
        assert violation.rule != "too_long" or len(value.strip()) > 80
        return
    assert stored == (value.strip() or None)


def test_full_width_text_is_kept_and_identifiers_are_folded() -> None:
    written = "\u3000鹏城科技（深圳）有限公司\u3000客户情绪较大，要求：３日内回复！ "
    assert text(200)(written) == "鹏城科技（深圳）有限公司\u3000客户情绪较大，要求：３日内回复！"
    assert identifier(24)(" ＥＲＰ－００１２３ ") == "ERP-00123"
    assert text(3)("（华）") == "（华）" and identifier(3)("（华）") == "(华)"
    with pytest.raises(RuleViolation) as refused:
        text(3)("（华为）")
    assert refused.value.rule == "too_long"
    with pytest.raises(RuleViolation) as refused:
        text(20)("客户\x00说明")
    assert refused.value.rule == "text_control"
    with pytest.raises(RuleViolation) as refused:
        text(20)("\u3000\u200b\u3000")
    assert refused.value.rule == "text_invisible"
    assert text(20)("\u3000 \t") is None
