"""The field rules themselves."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import phonenumbers

from ..errors import FieldError
from ..i18n import t
from ..reference.enums import Enumeration
from ..reference.industries import Industry, find_industry
from ..reference.regions import Province, find_province

DEFAULT_PHONE_REGION = "CN"
EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$")
POSTCODE = re.compile(r"^\d{6}$")


class RuleViolation(ValueError):
    """A value broke ``rule``; ``message`` says how, in the user's language."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


Rule = Callable[[Any], Any]


def clean_text(value: Any) -> str | None:
    """Trimmed, full-width folded to half-width (NFKC); empty becomes None."""
    if value is None:
        return None
    folded = unicodedata.normalize("NFKC", str(value)).strip()
    return folded or None


def text(limit: int) -> Rule:
    def rule(value: Any) -> str | None:
        cleaned = clean_text(value)
        if cleaned is not None and len(cleaned) > limit:
            raise RuleViolation("too_long", t("too_long", limit=limit))
        return cleaned

    return rule


def phone(value: Any) -> str | None:
    """A phone in E.164 (+8613812345678): mobiles, landlines with area code, or +country."""
    cleaned = clean_text(value)
    if cleaned is None:
        return None
    try:
        parsed = phonenumbers.parse(cleaned, DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException:
        raise RuleViolation("phone_format", t("phone_format")) from None
    if not phonenumbers.is_valid_number(parsed):
        raise RuleViolation("phone_format", t("phone_format"))
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def email(value: Any) -> str | None:
    cleaned = clean_text(value)
    if cleaned is None:
        return None
    if not EMAIL.match(cleaned):
        raise RuleViolation("email_format", t("email_format"))
    return cleaned.lower()


def enum_of(enumeration: Enumeration) -> Rule:
    def rule(value: Any) -> str | None:
        cleaned = clean_text(value)
        if cleaned is None:
            return None
        choice = enumeration.lookup(cleaned)
        if choice is None:
            raise RuleViolation(
                f"enum:{enumeration.name}", t("enum", choices=", ".join(enumeration.codes))
            )
        return choice.code

    return rule


def province(value: Any) -> Province | None:
    cleaned = clean_text(value)
    if cleaned is None:
        return None
    found = find_province(cleaned)
    if found is None:
        raise RuleViolation("province", t("province"))
    return found


def industry(value: Any) -> Industry | None:
    cleaned = clean_text(value)
    if cleaned is None:
        return None
    found = find_industry(cleaned)
    if found is None:
        raise RuleViolation("industry", t("industry"))
    return found


def postcode(value: Any) -> str | None:
    cleaned = clean_text(value)
    if cleaned is None:
        return None
    if not POSTCODE.match(cleaned):
        raise RuleViolation("postcode", t("postcode"))
    return cleaned


def date_value(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    cleaned = clean_text(value)
    if cleaned is None:
        return None
    try:
        return date.fromisoformat(cleaned.replace("/", "-"))
    except ValueError:
        raise RuleViolation("date_format", t("date_format")) from None


def amount(value: Any) -> Decimal | None:
    """A non-negative amount in CNY; thousands separators are accepted."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise RuleViolation("amount", t("amount"))
    try:
        number = Decimal(str(clean_text(value)).replace(",", ""))
    except InvalidOperation:
        raise RuleViolation("amount", t("amount")) from None
    if not number.is_finite() or number < 0:
        raise RuleViolation("amount", t("amount"))
    return number.quantize(Decimal("0.01"))


def datetime_value(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=None, microsecond=0)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    cleaned = clean_text(value)
    if cleaned is None:
        return None
    try:
        return datetime.fromisoformat(cleaned.replace("/", "-")).replace(tzinfo=None)
    except ValueError:
        raise RuleViolation("date_format", t("date_format")) from None


def flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    cleaned = (clean_text(value) or "").casefold()
    if cleaned in ("1", "true", "yes", "y", "是"):
        return True
    if cleaned in ("", "0", "false", "no", "n", "否"):
        return False
    raise RuleViolation("flag", t("flag"))


def validate(
    rules: Mapping[str, Rule], data: Mapping[str, Any]
) -> tuple[dict[str, Any], list[FieldError]]:
    """Apply ``rules`` to the fields present in ``data``; return clean values and all errors."""
    clean: dict[str, Any] = {}
    errors: list[FieldError] = []
    for field, value in data.items():
        rule = rules.get(field)
        if rule is None:
            clean[field] = value
            continue
        try:
            clean[field] = rule(value)
        except RuleViolation as violation:
            errors.append(FieldError(field, value, violation.rule, violation.message))
    return clean, errors
