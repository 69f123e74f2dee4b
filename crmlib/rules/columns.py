"""Rules applied to whole columns, for imports of a million rows.

A rule is still the one scalar function of :mod:`crmlib.rules.fields`; here it is called
once per distinct value of a column instead of once per row. Phones get one shortcut:
mainland mobile numbers, the bulk of any customer file, are checked in one vectorised
pass against the mobile pattern of the same phonenumbers metadata the phone rule uses;
everything else goes through the phone rule itself.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import phonenumbers

from .fields import Rule, RuleViolation, phone

_SEPARATORS = r"[\s\-()（）]"


def _mainland_mobile_pattern() -> str:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("CN")
    assert metadata and metadata.mobile and metadata.mobile.national_number_pattern
    return rf"(?:\+?86)?({metadata.mobile.national_number_pattern})"


_MAINLAND_MOBILE = _mainland_mobile_pattern()


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
    compact = raw.astype(str).str.replace(_SEPARATORS, "", regex=True)
    numbers = compact.str.extract(f"^{_MAINLAND_MOBILE}$", expand=False)
    mobile = numbers.notna()
    values, errors = _apply_each_distinct(phone, raw.where(~mobile, ""))
    values[mobile] = "+86" + numbers[mobile]
    return values, errors
