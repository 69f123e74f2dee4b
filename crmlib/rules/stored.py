"""Rules over stored values, in SQL: each function here is registered as the SQL form of
its rule (:meth:`crmlib.rules.base.RuleKind.sql_form`), true where a stored value is what
the rule stores for it (:meth:`crmlib.rules.base.FieldRule.stores`), so that counting the
valid values of a million rows (the data-quality scorecard) needs no Python per row.

An exact form decides every value. The phone rule's form is not exact: it vouches in SQL
for the bulk of a phone column, mainland mobiles, and leaves the other numbers to the
rule itself (:func:`crmlib.rules.columns.apply_rule`). ``tests/rules/test_rules_forms.py``
compares every form with the rule on SQLite and PostgreSQL.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_

from ..reference.regions import PROVINCES
from .base import FieldRule
from .fields import EMAIL, ENUM, email, phone, province

#: The e-mail rule's pattern ending in \Z, the very end of the text in Python and
#: PostgreSQL alike (a $ also lets Python accept a trailing newline).
EMAIL_PATTERN = EMAIL.pattern.removesuffix("$") + r"\Z"


@functools.cache
def mobile_heads() -> tuple[str, ...]:
    """The three-digit prefixes (139…) under which the phone rule stores every +86 number
    of eleven digits as it is; prefixes valid only in part (1740x) are left to the rule."""
    fills = ("00000000", "99999999", "27182818", "31415926", "50505050")
    return tuple(
        head
        for head in map(str, range(100, 200))
        if all(phone.stores(f"+86{head}{fill}") for fill in fills)
    )


@phone.kind.sql_form(exact=False)
def _plain_mobile(rule: FieldRule[Any], column: Any) -> ColumnElement[bool]:
    """+86, a mobile prefix of :func:`mobile_heads` and eight more digits. The cheap
    tests come first; stripping trailing digits must leave only the "+"."""
    return and_(
        func.length(column) == 14,
        func.substr(column, 1, 6).in_([f"+86{head}" for head in mobile_heads()]),
        func.rtrim(column, "0123456789") == "+",
    )


@email.kind.sql_form(exact=True)
def _email(rule: FieldRule[Any], column: Any) -> ColumnElement[bool]:
    """The e-mail pattern, over the whole text: the address the rule stores, in any case."""
    return column.regexp_match(EMAIL_PATTERN)


@ENUM.sql_form(exact=True)
def _enum(rule: FieldRule[Any], column: Any) -> ColumnElement[bool]:
    """One of the enumeration's codes. A few comparisons cost SQLite less than a lookup
    in an IN list."""
    return or_(*(column == code for code in rule.parameters["enumeration"].codes))


@province.kind.sql_form(exact=True)
def _province(rule: FieldRule[Any], column: Any) -> ColumnElement[bool]:
    """The full name of a province-level division."""
    return column.in_([p.name for p in PROVINCES])
