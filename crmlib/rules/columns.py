"""Rules applied to whole columns, for imports of a million rows.

A rule is still the one scalar function of :mod:`crmlib.rules.fields`. For the columns
where every value is distinct (names, external ids, e-mails, phones) a column of text is
first run through the rule's own steps mapped over the whole column by built-in functions
(NFKC folding, trimming, the length limit, the e-mail pattern; for phones the mobile
pattern of the same phonenumbers metadata the phone rule uses), with no Python frame per
value. That pass only ever says that a value passes and what it becomes; every value it
cannot vouch for (broken, empty phone, landline, foreign number, a workbook's number or
date) goes through the scalar rule, once per distinct value, so every error is the rule's
own. ``tests/test_rules_columns.py`` checks on generated values that both ways agree.
"""

from __future__ import annotations

import operator
import re
import unicodedata
from collections.abc import Callable
from itertools import repeat
from typing import Any, Literal

import numpy as np
import pandas as pd
import phonenumbers

from ..i18n import t
from .fields import EMAIL, Rule, RuleViolation, Text, email, phone

#: What the phone rule reads as punctuation inside a number (other spaces and control
#: characters it refuses, so they go through it).
_SEPARATORS = re.compile(r"[ \u3000\-()（）]")

#: Per row: the clean value where the row is decided, which rows are, and the violations
#: among them (by position).
Passed = tuple[list[Any], np.ndarray, dict[int, RuleViolation]]


def _mainland_mobile_pattern() -> re.Pattern[str]:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("CN")
    assert metadata and metadata.mobile and metadata.mobile.national_number_pattern
    # ASCII: a full-width digit goes through the phone rule, which folds it first.
    return re.compile(rf"(?:\+?86)?({metadata.mobile.national_number_pattern})", re.ASCII)


_MAINLAND_MOBILE = _mainland_mobile_pattern()


def _plain_national_pattern() -> re.Pattern[str] | None:
    """ASCII digits that the phone rule parses as a mainland national number just as they
    stand: nothing it would strip first (national prefix 0, international prefix 00,
    country code 86, carrier codes 11xx, 12xx, 179xx) and a length it accepts. None if
    the metadata no longer says so."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("CN")
    expected = (86, "(1(?:[12]\\d|79)\\d\\d)|0", "00|1(?:[12]\\d|79)\\d\\d00")
    if (
        metadata is None
        or (
            metadata.country_code,
            metadata.national_prefix_for_parsing,
            metadata.international_prefix,
        )
        != expected
    ):
        return None
    return re.compile(r"(?!0|86|1[12]|179)[0-9]{2,17}")


_PLAIN_NATIONAL = _plain_national_pattern()


def apply_rule(rule: Rule, raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Clean values (None where empty or broken) and violations (None where fine), per row."""
    cells = raw.tolist()
    textual = set(map(type, cells)) <= {str}
    columnwise = _COLUMNWISE.get(type(rule) if isinstance(rule, Text) else rule)
    if textual and columnwise is not None:
        values, decided, found = columnwise(rule, cells)
        errors: list[RuleViolation | None] = [None] * len(cells)
        for i, violation in found.items():
            values[i], errors[i] = None, violation
        undecided = np.flatnonzero(~decided).tolist()
        if undecided:
            rest, rest_errors = by_distinct(rule, [cells[i] for i in undecided], textual=True)
            for i, value, error in zip(undecided, rest, rest_errors, strict=True):
                values[i], errors[i] = value, error
    else:
        values, errors = by_distinct(rule, cells, textual=textual)
    return (
        pd.Series(values, index=raw.index, dtype=object),
        pd.Series(errors, index=raw.index, dtype=object),
    )


def by_distinct(
    rule: Rule, cells: list[Any], *, textual: bool
) -> tuple[list[Any], list[RuleViolation | None]]:
    """The scalar rule, called once per distinct value: results and violations per cell.

    A column of text is factorised by pandas (in C); other cells (a workbook's numbers,
    dates and booleans) are told apart by a dict keyed by type and value, since True, 1
    and 1.0 are equal keys but not the same value to a rule.
    """
    if textual:
        codes, uniques = pd.factorize(np.array(cells, dtype=object))
        distinct: list[Any] = uniques.tolist()
    else:
        typed = list(zip(map(type, cells), cells, strict=True))
        positions = {key: i for i, key in enumerate(dict.fromkeys(typed))}
        distinct = [value for _, value in positions]
        codes = np.fromiter(map(positions.__getitem__, typed), dtype=np.intp, count=len(cells))
    results = np.empty(len(distinct), dtype=object)
    violations = np.empty(len(distinct), dtype=object)
    broken = False
    for i, value in enumerate(distinct):
        try:
            results[i] = rule(value)
        except RuleViolation as violation:
            # Without its traceback: that would keep the whole chunk alive (its frames).
            violations[i] = violation.with_traceback(None)
            broken = True
    values = results[codes].tolist()
    errors = violations[codes].tolist() if broken else [None] * len(cells)
    return values, errors


def _folded(cells: list[str]) -> list[str]:
    """What :func:`crmlib.rules.fields.clean_text` makes of each cell, '' for empty."""
    form: Literal["NFKC"] = "NFKC"
    return list(map(str.strip, map(unicodedata.normalize, repeat(form), cells)))


def _text(rule: Rule, cells: list[str]) -> Passed:
    assert isinstance(rule, Text)
    folded = _folded(cells)
    lengths = np.fromiter(map(len, folded), dtype=np.int64, count=len(folded))
    return [value or None for value in folded], lengths <= rule.limit, {}


def _email(rule: Rule, cells: list[str]) -> Passed:
    folded = _folded(cells)
    matched = np.fromiter(map(bool, map(EMAIL.match, folded)), dtype=bool, count=len(folded))
    empty = np.fromiter(map(operator.not_, folded), dtype=bool, count=len(folded))
    return [value or None for value in map(str.lower, folded)], matched | empty, {}


def _phone(rule: Rule, cells: list[str]) -> Passed:
    """Mainland mobile numbers, the bulk of any customer file, stored as +86…; other plain
    national numbers are checked against the metadata without parsing them."""
    plain = list(map(_SEPARATORS.sub, repeat(""), cells))
    found = list(map(_MAINLAND_MOBILE.fullmatch, plain))
    decided = np.fromiter(map(bool, found), dtype=bool, count=len(found))
    values = [None if match is None else "+86" + match[1] for match in found]
    errors: dict[int, RuleViolation] = {}
    if _PLAIN_NATIONAL is None:
        return values, decided, errors
    for position in np.flatnonzero(~decided).tolist():
        digits = plain[position]
        if _PLAIN_NATIONAL.fullmatch(digits):
            number = phonenumbers.PhoneNumber(country_code=86, national_number=int(digits))
            if phonenumbers.is_valid_number(number):
                values[position] = "+86" + digits
            else:
                errors[position] = RuleViolation("phone_format", t("phone_format"))
            decided[position] = True
    return values, decided, errors


_COLUMNWISE: dict[Any, Callable[[Rule, list[str]], Passed]] = {
    Text: _text,
    email: _email,
    phone: _phone,
}
