"""The fields a segment rule may name, and how each checks and normalises its values.

Values are checked while the rule is parsed, with the same reference data the entry forms
use, so ``grade == "D"`` or ``province == "广冬"`` is refused when the segment is saved,
not silently matched by nobody. Labels are accepted and stored as codes (``grade ==
"A类"`` means ``grade == "A"``, ``region == "East China"`` means ``region == "华东"``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from ...i18n import current_lang, t
from ...reference.enums import CUSTOMER_KIND, CUSTOMER_STATUS, GRADE, SIZE, SOURCE, Enumeration
from ...reference.industries import find_industry
from ...reference.regions import REGIONS, find_province, find_region

Value = Decimal | str
Normaliser = Callable[[str], "str | None"]


@dataclass(frozen=True)
class Field:
    """A field of the rule language. ``kind`` is text, number, days (whole days ago) or
    custom (a custom field, ``custom.<key>``: numbers compare as numbers, text as text,
    dates as ISO days ``"2024-05-01"``)."""

    name: str
    kind: str
    normaliser: Normaliser | None = None
    problem_key: str = ""
    choices: Callable[[], tuple[str, ...]] = tuple

    @property
    def ordered(self) -> bool:
        return self.kind in ("number", "days", "custom")

    def check(self, value: Value) -> str | None:
        """Why ``value`` cannot be compared with this field, or None."""
        if self.kind == "custom":
            return None
        if self.kind == "text":
            if not isinstance(value, str):
                return t("segment_rule:needs_text", name=self.name, value=value)
            if self.normaliser and self.normaliser(value) is None:
                reason = t(f"segment_field:{self.problem_key}", choices=", ".join(self.choices()))
                return t("segment_rule:bad_value", name=self.name, value=value, reason=reason)
            return None
        if not isinstance(value, Decimal):
            return t("segment_rule:needs_number", name=self.name, value=repr(value))
        if self.kind == "days" and value != value.to_integral_value():
            return t("segment_rule:needs_whole_days", name=self.name, value=value)
        return None

    def normalise(self, value: Value) -> Value:
        if isinstance(value, str) and self.normaliser:
            return self.normaliser(value) or value
        return value


def _text(name: str) -> Field:
    return Field(name, "text")


def _enum(name: str, enum: Enumeration) -> Field:
    def code(value: str) -> str | None:
        choice = enum.lookup(value)
        return choice.code if choice else None

    def labels() -> tuple[str, ...]:
        return tuple(c.label(current_lang()) for c in enum)

    return Field(name, "text", code, "enum", labels)


def _province(value: str) -> str | None:
    found = find_province(value)
    return found.name if found else None


def _industry(value: str) -> str | None:
    found = find_industry(value)
    return found.code if found else None


#: What the name of a custom field starts with in a rule (``custom.industry_detail``).
CUSTOM_PREFIX = "custom."


def custom_field(name: str) -> Field | None:
    """The field of a custom field's name in a rule, or None for another name."""
    key = name.removeprefix(CUSTOM_PREFIX)
    return Field(name, "custom") if name.startswith(CUSTOM_PREFIX) and key else None


FIELDS: dict[str, Field] = {
    f.name: f
    for f in (
        _text("name"),
        _text("code"),
        _text("city"),
        _text("owner"),
        _text("team"),
        _text("tag"),
        _enum("grade", GRADE),
        _enum("status", CUSTOMER_STATUS),
        _enum("size", SIZE),
        _enum("source", SOURCE),
        _enum("kind", CUSTOMER_KIND),
        Field("region", "text", find_region, "region", lambda: REGIONS),
        Field("province", "text", _province, "province"),
        Field("industry", "text", _industry, "industry"),
        Field("orders", "number"),
        Field("revenue", "number"),
        Field("spend_12m", "number"),
        Field("aov", "number"),
        Field("days_since_contact", "days"),
        Field("days_since_order", "days"),
        Field("age_days", "days"),
    )
}
"""Every field, by name. What each means is documented in :mod:`.compile`."""
