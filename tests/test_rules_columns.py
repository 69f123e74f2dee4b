"""Whole-column validation gives exactly what the scalar rule gives, value by value."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmlib.quality.kinds import KINDS
from crmlib.rules import RuleViolation, email, phone, text
from crmlib.rules.columns import _COLUMNWISE, apply_rule
from crmlib.rules.fields import Text

FULL_WIDTH = str.maketrans("0123456789+-@.", "０１２３４５６７８９＋－＠．")
SPACES = [" ", "\u3000", "\t", "\xa0", "\u2003", "\x1c", "\n", ""]

mobiles = st.builds(
    lambda prefix, rest: prefix + rest,
    st.sampled_from(
        [
            "138",
            "139",
            "150",
            "177",
            "186",
            "199",
            "170",
            "145",
            "192",
            "100",
            "110",
            "125",
            "1795",
            "86",
            "17951",
            "1",
        ]
    ),
    st.text("0123456789", min_size=6, max_size=10),
)
landlines = st.builds(
    lambda area, number: area + number,
    st.sampled_from(["010-", "021 ", "0755", "(0571)", "（020）", "0", "", "+86 10 ", "86-21"]),
    st.text("0123456789", min_size=5, max_size=9),
)
international = st.builds(
    lambda code, number: code + number,
    st.sampled_from(["+1 ", "+44 ", "+852 ", "00852", "+86", "86", "+8686", "0086 "]),
    st.text("0123456789 -", min_size=4, max_size=12),
)


def _dressed(core: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """``core`` with spaces around it, separators inside, maybe in full width."""
    return st.builds(
        lambda before, value, after, wide, dash: (
            before + (value.translate(FULL_WIDTH) if wide else value).replace("5", dash) + after
        ),
        st.sampled_from(SPACES),
        core,
        st.sampled_from(SPACES),
        st.booleans(),
        st.sampled_from(
            [
                "5",
                "5",
                "5-",
                " 5",
                "(5)",
                "５",
                "\u30005",
                "5\t",
                "\x1c5",
                "5.",
                "/5",
                "5\u2003",
                "x5",
                "5\n",
                "（5）",
                "-5-",
            ]
        ),
    )


phones = _dressed(st.one_of(mobiles, landlines, international, st.text(max_size=16)))
emails = _dressed(
    st.one_of(
        st.emails().map(str),
        st.builds(
            lambda user, host, tld: f"{user}@{host}.{tld}",
            st.text(min_size=0, max_size=8),
            st.text(min_size=0, max_size=8),
            st.sampled_from(["cn", "COM", "中国", "c", "com.cn", ""]),
        ),
        st.text(max_size=20),
    )
)
texts = st.one_of(
    st.text(max_size=12),
    _dressed(st.text("華盛鑫ＡＢＣabc１２３ ﹣　①ｶﾞ\u00e9e\u0301ﬁ", max_size=12)),
)


def _scalar(rule: Any, value: Any) -> tuple[Any, tuple[str, str] | None]:
    try:
        return rule(value), None
    except RuleViolation as violation:
        return None, (violation.rule, violation.message)


def _assert_agrees(rule: Any, values: list[Any]) -> None:
    clean, violations = apply_rule(rule, pd.Series(values, index=range(2, len(values) + 2)))
    for value, got, violation in zip(values, clean.tolist(), violations.tolist(), strict=True):
        error = None if violation is None else (violation.rule, violation.message)
        assert (got, error) == _scalar(rule, value), repr(value)


@settings(max_examples=300, deadline=None)
@given(st.lists(phones, min_size=1, max_size=30))
def test_phone_columns_agree_with_the_phone_rule(values: list[str]) -> None:
    _assert_agrees(phone, values)


@settings(max_examples=300, deadline=None)
@given(st.lists(emails, min_size=1, max_size=30))
def test_email_columns_agree_with_the_email_rule(values: list[str]) -> None:
    _assert_agrees(email, values)


@settings(max_examples=300, deadline=None)
@given(st.lists(texts, min_size=1, max_size=30), st.sampled_from([1, 2, 5, 8, 200]))
def test_text_columns_agree_with_the_text_rule(values: list[str], limit: int) -> None:
    _assert_agrees(text(limit), values)


@pytest.mark.parametrize(
    ("rule", "values"),
    [
        (phone, ["138 0013 8000", "+86 139-0013-8000", "１３８００１３８０００", "010-62345678",
                 "+1 650 253 0000", "1380013800", "", "   ", "+86+86", "8613800138000"]),
        (email, ["User@Example.CN", "张三@例子.中国", " a@b.co ", "a@b", "", "ｕ＠ｅｘ．ｃｎ"]),
        (text(4), ["ａｂｃｄ", " abcd ", "abcde", "", "ｶﾞｶﾞ", "ﬁﬁﬁ"]),
    ],
)  # fmt: skip
def test_known_hard_values_agree(rule: Any, values: list[str]) -> None:
    _assert_agrees(rule, values)


def test_the_fast_path_decides_the_common_values_itself() -> None:
    """Ordinary mobiles, plain national numbers, e-mails and names never reach the rule."""
    cells = ["138 0013 8000", "+8613900138000", "1381234567", "01062345678", "\t"]
    values, decided, errors = _COLUMNWISE[phone](phone, cells)
    assert decided.tolist() == [True, True, True, False, False]
    assert values[:2] == ["+8613800138000", "+8613900138000"]
    assert [(p, e.rule) for p, e in errors.items()] == [(2, "phone_format")]
    values, decided, errors = _COLUMNWISE[email](email, ["A@B.cn", "", "no at all"])
    assert decided.tolist() == [True, True, False] and values[:2] == ["a@b.cn", None]
    values, decided, errors = _COLUMNWISE[Text](text(3), [" ａｂｃ ", "abcd"])
    assert decided.tolist() == [True, False] and values[0] == "abc" and not errors


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.integers(), st.floats(), st.booleans(), texts), max_size=20)
)
def test_every_import_rule_agrees_on_mixed_cells(values: list[Any]) -> None:
    """Workbook cells (numbers, booleans, None) go through each rule as they are."""
    for kind in KINDS.values():
        for column in kind.columns:
            clean, violations = apply_rule(column.rule, pd.Series(values, dtype=object))
            for value, got, violation in zip(values, clean, violations, strict=True):
                expected, error = _scalar(column.rule, value)
                assert (violation is None) == (error is None), (column.name, value)
                if error is None:
                    assert got == expected or (got != got and expected != expected)
