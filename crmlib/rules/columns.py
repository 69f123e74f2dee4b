"""Rules applied to whole columns, for imports of a million rows.

A rule is still the one scalar function of :mod:`crmlib.rules.fields`; here it is called
once per distinct value of a column instead of once per row. Phones get one shortcut:
mainland mobile numbers, the bulk of any customer file, are checked against the mobile
pattern of the same phonenumbers metadata the phone rule uses, without parsing them;
everything else goes through the phone rule itself.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import phonenumbers

from .fields import Rule, RuleViolation, phone

_SEPARATORS = re.compile(r"[\s\-()（）]")


def _mainland_mobile_pattern() -> re.Pattern[str]:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("CN")
    assert metadata and metadata.mobile and metadata.mobile.national_number_pattern
    # ASCII: a full-width digit goes through the phone rule, which folds it first.
    return re.compile(rf"(?:\+?86)?({metadata.mobile.national_number_pattern})", re.ASCII)


_MAINLAND_MOBILE = _mainland_mobile_pattern()


def apply_rule(rule: Rule, raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Clean values (None where empty or broken) and violations (None where fine), per row."""
    cells = raw.tolist()
    distinct = dict.fromkeys(cells)
    results: dict[Any, Any] = {}
    violations: dict[Any, RuleViolation] = {}
    check = _mobile_or(phone) if rule is phone else rule
    for value in distinct:
        try:
            results[value] = check(value)
        except RuleViolation as violation:
            # Without its traceback: that would keep the whole chunk alive (its frames).
            violations[value] = violation.with_traceback(None)
    values = [results.get(cell) for cell in cells]
    errors = [violations.get(cell) for cell in cells] if violations else [None] * len(cells)
    return (
        pd.Series(values, index=raw.index, dtype=object),
        pd.Series(errors, index=raw.index, dtype=object),
    )


def _mobile_or(rule: Rule) -> Rule:
    """``rule``, after a quick look for a mainland mobile number (stored as +86…)."""

    def check(value: Any) -> Any:
        if isinstance(value, str):
            mobile = _MAINLAND_MOBILE.fullmatch(_SEPARATORS.sub("", value))
            if mobile is not None:
                return "+86" + mobile[1]
        return rule(value)

    return check
