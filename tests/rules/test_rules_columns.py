"""Whole-column validation gives exactly what the scalar rule gives, value by value."""

from __future__ import annotations

import random
import string
import subprocess
import sys
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pandas as pd
import phonenumbers
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmlib.rules import RuleViolation, columns, email, identifier, phone, text
from crmlib.rules.columns import apply_rule
from crmlib.rules.fields import EMAIL
from crmlib.transfer.catalogue import KINDS

FULL_WIDTH = str.maketrans("0123456789+-@.", "０１２３４５６７８９＋－＠．")
SPACES = [" ", "\u3000", "\t", "\xa0", "\u2003", "\x1c", "\n", ""]

MOBILE_PREFIXES = [
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
#: Printable ASCII that polars decides itself: the separators the phone rule knows in ASCII
#: and some it does not.
ASCII_SEPARATORS = [" ", "-", "(", ")", "  ", " - ", ".", "/", "+", "x", "#", "*", "~"]

mobiles = st.builds(
    lambda prefix, rest: prefix + rest,
    st.sampled_from(MOBILE_PREFIXES),
    st.text("0123456789", min_size=6, max_size=10),
)
#: A mobile number one digit short, read as a plain national number (mostly invalid).
one_short = st.builds(
    lambda prefix, rest: (prefix + rest)[:10],
    st.sampled_from(MOBILE_PREFIXES),
    st.text("0123456789", min_size=10, max_size=10),
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


def _put_in(value: str, insertions: list[tuple[int, str]]) -> str:
    for at, piece in insertions:
        at %= len(value) + 1
        value = value[:at] + piece + value[at:]
    return value


def _sprinkled(core: st.SearchStrategy[str], pieces: list[str]) -> st.SearchStrategy[str]:
    """``core`` with up to four of ``pieces`` put in anywhere."""
    insertions = st.lists(st.tuples(st.integers(0, 20), st.sampled_from(pieces)), max_size=4)
    return st.builds(_put_in, core, insertions)


#: What a Chinese customer file holds, and what next to it NFKC folds or ``str.strip``
#: strips: full-width forms, the ideographic space, compatibility ideographs, radicals,
#: combining marks; and the code points either side of the ranges polars decides.
TEXT_TRAPS = [
    "\u3000",
    "（",
    "）",
    "Ａ",
    "１",
    "，",
    "\uff5e",
    "\uf900",
    "\ufa0e",
    "\u2f00",
    "\u2e9f",
    "\u2ee5",
    "\u3099",
    "\u0301",
    "\u1161",
    "ﬁ",
    "①",
    "\t",
    "\n",
    "\r",
    "\x0b",
    "\x0c",
    "\x1c",
    "\x1f",
    "\x7f",
    "\x85",
    "\xa0",
    "\u2003",
    "\u2028",
    "\x00",
    "\u33ff",
    "\u4dc0",
    "\u4dff",
    "\ua000",
    "\u3005",
    "\u3007",
    "\U00020000",
]
cjk_chars = st.one_of(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E),
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
    st.characters(min_codepoint=0x3400, max_codepoint=0x4DBF),
    st.sampled_from(["华", "a", " ", "9", "\u4e00", "\u9fff", "\u3400", "\u4dbf", "~"]),
)
#: Text of a Chinese customer file: mostly ideographs and ASCII, at times something else
#: in it or around it, and often about as long as the limit (:data:`TEXT_LIMITS`).
cjk_texts = st.one_of(
    _sprinkled(st.text(cjk_chars, max_size=10), TEXT_TRAPS),
    st.builds(
        lambda before, core, times, after: before + core * times + after,
        st.sampled_from(["", "", " ", "  ", "\u3000", "\t", " \t", "\n", "\x1c", "（"]),
        st.sampled_from(["华", "a", "\u3400", "华a", " ", "Ａ", "\uf900", "\u3000"]),
        st.integers(0, 9),
        st.sampled_from(["", "", " ", "  ", "\u3000", "\t", "\t ", "\r\n", "\x1f", "）"]),
    ),
    st.text(st.one_of(cjk_chars, st.sampled_from(TEXT_TRAPS)), max_size=12),
)
TEXT_LIMITS = [0, 1, 2, 3, 5, 8, 64]

ascii_phones = _sprinkled(
    st.builds(
        lambda prefix, number: prefix + number,
        st.sampled_from(["", "", "+86", "86", "+", "0086", "8686", "+86 86", "0", "00", "+1"]),
        st.one_of(st.text("0123456789", min_size=2, max_size=17), mobiles, one_short, landlines),
    ),
    ASCII_SEPARATORS,
)
ascii_emails = st.one_of(
    st.builds(
        lambda before, user, host, tld, after: f"{before}{user}@{host}.{tld}{after}",
        st.sampled_from(["", " ", "  ", "\t"]),
        st.text(
            string.ascii_letters + string.digits + "._%+-'\" !#$&*=?^`{|}~()<>,;:[]\\@", max_size=10
        ),
        st.text(string.ascii_letters + string.digits + "-. _", max_size=10),
        st.sampled_from(
            ["cn", "CN", "Com", "c", "com.cn", "c0m", "cn.", "", "-cn", "co-uk", "x y"]
        ),
        st.sampled_from(["", " ", "  ", ".", "\n"]),
    ),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20),
    st.emails().map(str.upper),
)


def _scalar(rule: Any, value: Any) -> tuple[Any, tuple[str, str] | None]:
    try:
        return rule(value), None
    except RuleViolation as violation:
        return None, (violation.rule, violation.message)


def _assert_agrees(rule: Any, values: list[Any]) -> None:
    """Per cell, what the scalar rule gives, from a column of pandas' str dtype (a CSV's)
    and of object dtype alike, as two object Series indexed like the column."""
    for dtype in (str, object):
        raw = pd.Series(values, index=range(2, len(values) + 2), dtype=dtype)
        clean, violations = apply_rule(rule, raw)
        for got in (clean, violations):
            assert got.dtype == object and got.index.equals(raw.index)
        for value, got, violation in zip(values, clean.tolist(), violations.tolist(), strict=True):
            error = None if violation is None else (violation.rule, violation.message)
            assert (got, error) == _scalar(rule, value), repr(value)


@contextmanager
def _through_polars(on: bool) -> Iterator[None]:
    """Columns of any length through polars (on) or through the Python passes (off)."""
    threshold = 0 if on else sys.maxsize
    with (
        mock.patch.object(columns, "_POLARS_FROM", threshold),
        mock.patch.object(columns, "_TEXT_POLARS_FROM", threshold),
    ):
        yield


@pytest.mark.slow
@pytest.mark.parametrize("polars", [False, True], ids=["python", "polars"])
@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.one_of(phones, ascii_phones), min_size=1, max_size=30))
def test_phone_columns_agree_with_the_phone_rule(polars: bool, values: list[str]) -> None:
    with _through_polars(polars):
        _assert_agrees(phone, values)


@pytest.mark.slow
@pytest.mark.parametrize("polars", [False, True], ids=["python", "polars"])
@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.one_of(emails, ascii_emails), min_size=1, max_size=30))
def test_email_columns_agree_with_the_email_rule(polars: bool, values: list[str]) -> None:
    with _through_polars(polars):
        _assert_agrees(email, values)


@pytest.mark.slow
@pytest.mark.parametrize("polars", [False, True], ids=["python", "polars"])
@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.one_of(texts, cjk_texts), min_size=1, max_size=30),
    st.sampled_from([*TEXT_LIMITS, 200]),
    st.sampled_from([text, identifier]),
)
def test_text_columns_agree_with_the_text_rule(
    polars: bool, values: list[str], limit: int, kind: Callable[[int], Any]
) -> None:
    """Both text rules, the one that keeps what was written and the one that folds
    identifiers, decide a column as they decide each value."""
    with _through_polars(polars):
        _assert_agrees(kind(limit), values)


@pytest.mark.parametrize(
    ("rule", "values"),
    [
        (
            phone,
            [
                "138 0013 8000",
                "+86 139-0013-8000",
                "１３８００１３８０００",
                "010-62345678",
                "+1 650 253 0000",
                "1380013800",
                "",
                "   ",
                "+86+86",
                "8613800138000",
                "86 13800138000",
                "+(86)138-0013-8000",
                "()",
                "+",
                "4001234567",
                "8008101234",
                "16012345",
                "95512345",
                "12345",
                "+86 010 6234 5678",
                "1064812345678",
            ],
        ),
        (
            email,
            [
                "User@Example.CN",
                "张三@例子.中国",
                " a@b.co ",
                "a@b",
                "",
                "ｕ＠ｅｘ．ｃｎ",
                "a@b.cn.",
                "a.@b.cn",
                '"a"@b.cn',
                "a@-b.cn",
                "a b@c.cn",
                "a@b.c1",
                "A+B@C.CN",
                "a@b.cn\n",
                " ",
                "a@b.cn\x1c",
            ],
        ),
        (text(4), ["ａｂｃｄ", " abcd ", "abcde", "", "ｶﾞｶﾞ", "ﬁﬁﬁ"]),
        (identifier(4), ["ａｂｃｄ", " abcd ", "abcde", "", "ｶﾞｶﾞ", "ﬁﬁﬁ", "（华）"]),
        (
            text(3),
            [
                "华为",
                " 华为 ",
                "\u3000华为\u3000",
                "华\u3000为",
                "（华）",
                "(华)",
                "华为公司",
                "  华为公司 ",
                "华为\t",
                "\t华",
                "\uf900",
                "\u2f00为",
                "\u2e9f",
                "㐀㐀㐀",
                "㐀㐀㐀㐀",
                " ",
                "\u3000",
                "",
                "a b",
                "ＡＢＣ",
                "华\x1c",
                "\x85华",
                "华\n",
                "\u4dc0",
                "\ua000",
                "\U00020000",
                "\u3099",
                "\u200b",
                " \u200b ",
                "\u3164",
                "\u2800",
                "\ufe0f华",
                "华\u200b",
                "a\x00",
                "\x00",
                "\x7f",
                "华\x9f",
                "\ud800",
                "\ue000",
                "\U000e0041",
            ],
        ),
    ],
)
@pytest.mark.parametrize("polars", [False, True], ids=["python", "polars"])
def test_known_hard_values_agree(rule: Any, values: list[str], polars: bool) -> None:
    with _through_polars(polars):
        _assert_agrees(rule, values)


@pytest.mark.parametrize("polars", [False, True], ids=["python", "polars"])
def test_the_fast_path_decides_the_common_values_itself(polars: bool) -> None:
    """Ordinary mobiles, plain national numbers, e-mails and names never reach the rule;
    polars also decides e-mails that are broken."""
    cells = ["138 0013 8000", "+8613900138000", "1381234567", "01062345678", "\t", "1 (0) 10"]
    cells += ["+86 10 6234 5678", "+86 1062345", "+86 010 6234 5678"]
    form, limited = phone.kind.column, text(3)
    assert form is not None and email.kind.column is not None and limited.kind.column is not None
    with _through_polars(polars):
        values, decided, errors = form(phone, cells)
    assert decided.tolist() == [True, True, True, False, False, True, True, True, False]
    assert values[:2] == ["+8613800138000", "+8613900138000"] and values[6] == "+861062345678"
    assert [(p, e.rule) for p, e in errors.items()] == [
        (2, "phone_format"),
        (5, "phone_format"),
        (7, "phone_format"),
    ]
    with _through_polars(polars):
        values, decided, errors = email.kind.column(email, ["A@B.cn", "", "no at all", "é"])
    assert decided.tolist() == [True, True, polars, False] and values[:2] == ["a@b.cn", None]
    assert [(p, e.rule) for p, e in errors.items()] == ([(2, "email_format")] if polars else [])
    with _through_polars(polars):
        values, decided, errors = limited.kind.column(limited, [" ａｂｃ ", "abcd", " 华为 ", ""])
    assert decided.tolist() == [True, False, True, True] and not errors
    assert [values[0], *values[2:]] == ["ａｂｃ", "华为", None]
    with _through_polars(polars):
        values, decided, errors = limited.kind.column(limited, ["华\u3000为", "（华）", "\u3000"])
    assert decided.tolist() == [True, True, True] and not errors  # text as written: kept
    assert values == ["华\u3000为", "（华）", None]
    key = identifier(3)
    assert key.kind.column is not None
    with _through_polars(polars):
        values, decided, errors = key.kind.column(key, [" ａｂｃ ", "abcd", " 华为 ", ""])
    assert decided.tolist() == [True, False, True, True] and not errors
    assert [values[0], *values[2:]] == ["abc", "华为", None]


@pytest.mark.slow
@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.integers(), st.floats(), st.booleans(), texts), max_size=20)
)
def test_every_import_rule_agrees_on_mixed_cells(values: list[Any]) -> None:
    """Workbook cells (numbers, booleans, None) go through each rule as they are."""
    for kind in (k.spec for k in KINDS.values()):
        for column in kind.columns:
            clean, violations = apply_rule(column.rule, pd.Series(values, dtype=object))
            for value, got, violation in zip(values, clean, violations, strict=True):
                expected, error = _scalar(column.rule, value)
                assert (violation is None) == (error is None), (column.name, value)
                if error is None:
                    assert got == expected or (got != got and expected != expected)


def _decisions(passed: columns.Passed) -> list[tuple[Any, tuple[str, str] | None] | None]:
    """Per cell, what :func:`apply_rule` makes of a pass: None where undecided, else the
    value and the error."""
    values, decided, errors = passed
    return [
        None
        if not here
        else (None, (errors[i].rule, errors[i].message))
        if i in errors
        else (values[i], None)
        for i, here in enumerate(decided.tolist())
    ]


def _assert_stage_decides_as_python(
    rule: Any, stage: Callable[[list[str]], columns.Staged], values: list[str]
) -> None:
    """The polars stage speaks for the printable ASCII cells; on them it decides all that
    the Python pass decides, as it does, and what else it decides as the rule does."""
    python_pass = {phone: columns._phone_in_python, email: columns._email_in_python}[rule]
    staged, spoken = stage(values)
    assert spoken.tolist() == [value.isascii() and value.isprintable() for value in values]
    python = _decisions(python_pass(values))
    for value, speaks, here, there in zip(values, spoken, _decisions(staged), python, strict=True):
        if speaks:
            assert here == there or (there is None and here in (None, _scalar(rule, value))), repr(
                value
            )


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(ascii_phones, phones), min_size=1, max_size=30))
def test_the_polars_phone_stage_decides_as_the_python_pass(values: list[str]) -> None:
    found = columns._phone_expressions()
    assert found is not None
    _assert_stage_decides_as_python(
        phone, lambda cells: columns._phone_in_polars(cells, found), values
    )


@pytest.mark.slow
@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(ascii_emails, emails), min_size=1, max_size=30))
def test_the_polars_email_stage_decides_as_the_python_pass(values: list[str]) -> None:
    pattern = columns._email_pattern()
    assert pattern == EMAIL.pattern
    _assert_stage_decides_as_python(
        email, lambda cells: columns._email_in_polars(cells, pattern), values
    )


#: A column all of printable ASCII, the usual one, which the stages read at once.
printable_columns = st.lists(
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12),
    min_size=1,
    max_size=30,
)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        printable_columns,
        st.lists(st.one_of(ascii_phones, ascii_emails), min_size=1, max_size=30),
        st.lists(st.one_of(ascii_emails, emails, st.sampled_from(TEXT_TRAPS)), max_size=30),
    )
)
def test_printable_columns_are_told_at_once_as_cell_by_cell(values: list[str]) -> None:
    """A column is found all printable ASCII at once exactly when each of its cells is,
    and :func:`columns._printable` says so per cell either way."""
    printable = [value.isascii() and value.isprintable() for value in values]
    column = columns._printable_column(values)
    assert (column is not None) == all(printable)
    assert column is None or column == "".join(values).encode("ascii")
    assert columns._printable(pl.Series(values, dtype=pl.String), column).to_list() == printable


@pytest.mark.slow
@pytest.mark.parametrize("rule", [phone, email], ids=["phone", "email"])
@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.lists(st.one_of(ascii_phones, ascii_emails), min_size=1, max_size=30),
        st.lists(st.one_of(ascii_emails, ascii_emails.map(str.lower)), min_size=1, max_size=30),
        printable_columns,
    )
    .map(lambda values: [value for value in values if value.isascii() and value.isprintable()])
    .filter(bool)
)
def test_printable_columns_agree_with_the_rule(rule: Any, values: list[str]) -> None:
    """Columns of printable ASCII only (the polars stages speak for all of them), with
    mobiles as they stand and others, capitals and spaces or none anywhere."""
    with _through_polars(True):
        _assert_agrees(rule, values)
    found, pattern = columns._phone_expressions(), columns._email_pattern()
    assert found is not None and pattern is not None
    if rule is phone:
        _, spoken = columns._phone_in_polars(values, found)
    else:
        _, spoken = columns._email_in_polars(values, pattern)
    assert spoken.all()


def test_a_subclass_of_str_goes_through_the_rule_as_it_is() -> None:
    """Only a column of exactly str goes column-wise; the rule makes a str of a subclass."""

    class Name(str):
        pass

    cells = [Name("华为"), Name(" a "), "b"]
    with _through_polars(True):
        clean, _ = apply_rule(text(5), pd.Series(cells, dtype=object))
    assert [type(value) for value in clean] == [str, str, str]
    assert clean.tolist() == ["华为", "a", "b"]


def _stable(value: str) -> bool:
    """Whether the polars text stage speaks for ``value``: all its characters are in the
    ranges of :data:`columns._NFKC_STABLE`."""
    ranges = columns._NFKC_STABLE
    return all(any(first <= ord(c) <= last for first, last in ranges) for c in value)


@pytest.mark.slow
@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(cjk_texts, texts), min_size=1, max_size=30), st.sampled_from(TEXT_LIMITS))
def test_the_polars_text_stage_decides_as_the_python_pass(values: list[str], limit: int) -> None:
    """The polars text stage speaks for the cells of NFKC-stable characters, and on them
    decides exactly what the Python pass decides, as it does and as the rule does."""
    staged, spoken = columns._text_in_polars(values, limit)
    assert spoken.tolist() == list(map(_stable, values))
    for kind, clean in ((text, columns._trimmed), (identifier, columns._folded)):
        python = _decisions(columns._text_in_python(values, limit, clean))
        decisions = zip(values, spoken.tolist(), _decisions(staged), python, strict=True)
        for value, speaks, here, there in decisions:
            if speaks:
                assert here == there, repr(value)
                assert here in (None, _scalar(kind(limit), value)), repr(value)


def _stable_code_points() -> list[int]:
    return [code for first, last in columns._NFKC_STABLE for code in range(first, last + 1)]


def test_nfkc_leaves_strings_of_the_stable_characters_alone() -> None:
    """What the equality of the polars text stage rests on, for every code point it takes
    (printable ASCII, CJK ideographs and Extension A): it has no decomposition (NFKD keeps
    it) and no combining class (nothing is reordered), NFKC keeps it, and it is not the
    second of any canonical composition, so it composes with nothing before it: NFKC keeps
    any string of them. ``str.strip`` strips none of them but the space, and each is one
    character to ``len`` as to polars. What NFKC folds is not among them."""
    seconds = set(range(0x1161, 0x1176)) | set(range(0x11A8, 0x11C3))  # Hangul V and T
    for code in range(0x110000):
        decomposition = unicodedata.decomposition(chr(code)).split()
        if len(decomposition) == 2 and not decomposition[0].startswith("<"):
            seconds.add(int(decomposition[1], 16))
    stable = _stable_code_points()
    wrong = [
        hex(code)
        for code, c in zip(stable, map(chr, stable), strict=True)
        if unicodedata.decomposition(c)
        or unicodedata.combining(c)
        or unicodedata.normalize("NFKC", c) != c
        or code in seconds
        or len(c) != 1
    ]
    assert wrong == []
    assert [code for code in stable if chr(code).strip() != chr(code)] == [0x20]
    everything = "".join(map(chr, stable))
    assert unicodedata.is_normalized("NFKC", everything)
    assert unicodedata.is_normalized("NFKC", everything[::-1])
    assert everything.strip() == everything.strip(" ")
    assert len(stable) == 95 + 6592 + 20992  # no more than these three ranges
    # Not all of U+F900-U+FAFF: U+FA0E and a few more are unified ideographs NFKC keeps.
    folded = ["\u3000", "（", "）", "Ａ", "，", "\uf900", "\ufa10", "\u2f00", "\u2e9f", "\u33ff"]
    assert all(unicodedata.normalize("NFKC", c) != c for c in folded)
    assert not any(map(_stable, folded))


def test_the_text_patterns_take_exactly_the_stable_characters() -> None:
    """Rust's regex crate reads the patterns of the text stage as Python's judgement says,
    on every code point (but the surrogates, which polars cannot hold): it takes a cell
    of it alone or with others exactly when the code point is one of the stable ranges,
    each of which NFKC keeps and ``str.strip`` does not strip (but the space); and it
    leaves a cell as it is only if it is not a space at either end."""
    chars = [chr(code) for code in (*range(0xD800), *range(0xE000, 0x110000))]
    cell = pl.col("cell")
    read = pl.DataFrame({"cell": chars}).select(
        alone=cell.str.contains(columns._STABLE_TEXT),
        among=pl.concat_str(pl.lit("华 "), cell, pl.lit("a")).str.contains(columns._STABLE_TEXT),
        bare=cell.str.contains(columns._BARE_TEXT),
        inside=pl.concat_str(pl.lit("a"), cell, pl.lit("华")).str.contains(columns._BARE_TEXT),
        first=pl.concat_str(cell, pl.lit("华")).str.contains(columns._BARE_TEXT),
        last=pl.concat_str(pl.lit("a"), cell).str.contains(columns._BARE_TEXT),
    )
    stable = set(map(chr, _stable_code_points()))
    taken = [c in stable for c in chars]
    kept = [unicodedata.normalize("NFKC", c) == c and (c.strip() == c or c == " ") for c in chars]
    assert all(ok for ok, take in zip(kept, taken, strict=True) if take)
    assert read["alone"].to_list() == taken
    assert read["among"].to_list() == taken
    assert read["inside"].to_list() == taken
    not_space = [take and c != " " for c, take in zip(chars, taken, strict=True)]
    assert read["bare"].to_list() == not_space
    assert read["first"].to_list() == not_space
    assert read["last"].to_list() == not_space
    edges = ["", " ", "  ", "a", " a", "a ", "a a", "华 华", " 华", "华  "]
    read = pl.DataFrame({"cell": edges}).select(
        stable=cell.str.contains(columns._STABLE_TEXT), bare=cell.str.contains(columns._BARE_TEXT)
    )
    assert read["stable"].all()
    assert read["bare"].to_list() == [c != "" and c.strip(" ") == c for c in edges]


def test_what_polars_decides_reads_alike_to_both() -> None:
    """What the equality of the polars stages rests on, character by character: on printable
    ASCII, NFKC changes nothing, strip() strips only spaces, the separators are the phone
    rule's and a digit is [0-9] in both regex engines; nothing else is printable ASCII."""
    printable = [chr(c) for c in range(0x20, 0x7F)]
    assert all(unicodedata.normalize("NFKC", c) == c for c in printable)
    assert [c for c in printable if c.strip() != c] == [" "]
    cells = [chr(c) for c in range(0xD800)] + ["", "a\u3000", "1\n", "\U0001d7d9"]
    read = pl.DataFrame({"cell": cells}).select(
        printable=pl.col("cell").str.contains(columns._PRINTABLE_ASCII),
        separator=pl.col("cell").str.contains(f"^{columns._ASCII_SEPARATORS}$"),
        digit=pl.col("cell").str.contains(r"^\d$"),
    )
    expected = [c.isascii() and c.isprintable() for c in cells]
    assert read["printable"].to_list() == expected
    separators = [
        ok and bool(columns._SEPARATORS.fullmatch(c)) for c, ok in zip(cells, expected, strict=True)
    ]
    assert read["separator"].to_list() == separators
    digits = [ok and c in set(string.digits) for c, ok in zip(cells, expected, strict=True)]
    assert (read["digit"] & read["printable"]).to_list() == digits  # Rust's \d is Unicode


def _national_numbers() -> list[str]:
    """Every 3- and 4-digit prefix at every length from 5 to 12, each ending in zeros, in
    nines and in random digits."""
    rng = random.Random(86)
    numbers = []
    for prefix in map(str, range(100, 10_000)):
        for length in range(max(5, len(prefix)), 13):
            rest = length - len(prefix)
            for ending in ("0" * rest, "9" * rest, "".join(rng.choices(string.digits, k=rest))):
                numbers.append(prefix + ending)
    return numbers


def test_polars_validity_of_national_numbers_is_phonenumbers() -> None:
    found = columns._phone_expressions()
    assert found is not None and columns._PLAIN_NATIONAL is not None
    numbers = _national_numbers()
    read = pl.DataFrame({"plain": numbers}).select(national=found.national, valid=found.valid)
    national = map(columns._PLAIN_NATIONAL.fullmatch, numbers)
    valid = (
        phonenumbers.is_valid_number(phonenumbers.PhoneNumber(country_code=86, national_number=n))
        for n in map(int, numbers)
    )
    wrong = [
        (number, here, bool(there))
        for number, here, there in zip(numbers, read["national"], national, strict=True)
        if here != bool(there)
    ]
    assert wrong == []
    wrong = [
        (number, here, there)
        for number, here, there in zip(numbers, read["valid"], valid, strict=True)
        if here != there
    ]
    assert wrong == []


def test_without_patterns_rust_reads_the_python_passes_decide(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A pattern Rust's regex crate refuses (look-ahead) leaves the column to Python."""
    assert not columns._rust_accepts(pl.col("plain").str.contains("(?!0)1"))
    monkeypatch.setattr(columns, "_rust_accepts", lambda *expressions: False)
    columns._phone_expressions.cache_clear()
    columns._email_pattern.cache_clear()
    try:
        assert columns._phone_expressions() is None and columns._email_pattern() is None
        with _through_polars(True):
            _assert_agrees(phone, ["13800138000", "1381234567", "010-62345678"])
            _assert_agrees(email, ["a@b.cn", "broken"])
    finally:
        columns._phone_expressions.cache_clear()
        columns._email_pattern.cache_clear()


def test_a_lone_surrogate_sends_the_column_to_python() -> None:
    with _through_polars(True):
        _assert_agrees(text(5), ["华为", "华\udc80", " a "])
        _assert_agrees(phone, ["13800138000", "1\udc80"])
        _assert_agrees(email, ["a@b.cn", "a\udc80@b.cn"])


def test_long_columns_go_through_polars() -> None:
    """Past the threshold a column goes through polars, with the same results."""
    cells = (["138 0013 8000", "1381234567", "（010）62345678", "a@b.cn"] * 1000)[
        : columns._POLARS_FROM + 1
    ]
    with mock.patch.object(columns, "_phone_in_python", wraps=columns._phone_in_python) as spy:
        _assert_agrees(phone, cells)
    assert len(spy.call_args.args[0]) == cells.count("（010）62345678")
    cells = (["华为", " 华为科技 ", "（华为）", "\u3000华", "华为技术有限公司"] * 5000)[
        : columns._TEXT_POLARS_FROM + 1
    ]
    with mock.patch.object(columns, "_text_in_python", wraps=columns._text_in_python) as spy:
        _assert_agrees(text(5), cells)
    assert len(spy.call_args.args[0]) == cells.count("（华为）") + cells.count("\u3000华")


@pytest.mark.slow
def test_importing_the_column_rules_does_not_import_polars() -> None:
    """``crm --help`` and every import of small files do without it."""
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, crmlib.rules.columns, crmlib.cli; print('polars' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "False"
