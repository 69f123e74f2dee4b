"""Rules applied to whole columns, for imports of a million rows.

A rule is still the one scalar function of :mod:`crmlib.rules.fields`; here it is called
once per distinct value of a column instead of once per row. Phones get one shortcut:
mainland mobiles are judged by their seven-digit number segment (号段), the unit in which
numbers are allocated, so the phone rule runs once per segment.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .fields import Rule, RuleViolation, phone

_MOBILE = r"(?:\+?86)?(1[3-9]\d{9})"
_SEPARATORS = r"[\s\-()（）]"


def apply_rule(rule: Rule, raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Clean values (None where empty or broken) and violations (None where fine), per row."""
    if rule is phone:
        return _apply_phone(raw)
    return _apply_each_distinct(rule, raw)


def _apply_each_distinct(rule: Rule, raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    results: dict[Any, Any] = {}
    violations: dict[Any, RuleViolation] = {}
    for value in pd.unique(raw):
        try:
            results[value] = rule(value)
        except RuleViolation as violation:
            violations[value] = violation
    values = raw.map(results).astype(object)
    values = values.where(values.notna(), None)
    errors = raw.map(violations).astype(object)
    return values, errors.where(errors.notna(), None)


def _apply_phone(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    compact = raw.str.replace(_SEPARATORS, "", regex=True)
    mobile = compact.str.fullmatch(_MOBILE)
    values, errors = _apply_each_distinct(phone, raw.where(~mobile, ""))
    if not mobile.any():
        return values, errors
    numbers = compact[mobile].str.extract(_MOBILE, expand=False)
    segments = numbers.str[:7]
    valid: dict[str, bool] = {}
    for segment in pd.unique(segments):
        try:
            phone(f"{segment}0000")
            valid[segment] = True
        except RuleViolation as violation:
            valid[segment] = False
            refusal = violation
    ok = segments.map(valid).astype(bool)
    values.loc[ok[ok].index] = "+86" + numbers[ok]
    if not ok.all():
        errors.loc[ok[~ok].index] = refusal
    return values, errors
