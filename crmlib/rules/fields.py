"""The field rules themselves."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import phonenumbers

from ..errors import FieldError, ValidationError
from ..i18n import t
from ..reference.enums import Enumeration
from ..reference.industries import Industry, find_industry
from ..reference.regions import Province, find_province
from .base import FieldRule, RuleViolation, field_rule, rule_kind

DEFAULT_PHONE_REGION = "CN"
EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$")
POSTCODE = re.compile(r"^\d{6}$")


#: Anything applied as a rule: a :class:`~crmlib.rules.base.FieldRule`, or a function.
Rule = Callable[[Any], Any]


def clean_text(value: Any) -> str | None:
    """Trimmed, full-width folded to half-width (NFKC); empty becomes None. For what is
    read or matched (codes, phones, choices, numbers, dates), never for text that is stored
    as people wrote it (:func:`trimmed_text`)."""
    if value is None:
        return None
    folded = unicodedata.normalize("NFKC", str(value)).strip()
    return folded or None


def trimmed_text(value: Any) -> str | None:
    """The text as typed without white space at either end (``str.strip``: spaces, tabs,
    line breaks, the ideographic space U+3000); empty becomes None. Nothing inside is
    changed: full-width punctuation and spaces are what the writer chose."""
    if value is None:
        return None
    return str(value).strip() or None


#: Categories of characters that show nothing: controls, format characters (zero-width
#: space U+200B, joiners, bidi marks, U+FEFF) and separators (spaces, line breaks).
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})
#: Characters of other categories that show nothing either: Unicode's default-ignorable
#: code points outside those categories (the Hangul fillers U+115F, U+1160, U+3164, U+FFA0,
#: variation selectors, U+034F) and the blank Braille pattern U+2800. Each of them is
#: printable to ``str.isprintable``, so :mod:`crmlib.rules.columns` looks for them too.
BLANK_PRINTABLE = re.compile(
    "[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2800\u3164\ufe00-\ufe0f"
    "\uffa0\ufff0-\ufff8\U000e0000-\U000e0fff]"
)
#: Controls a text field may hold: tab and line breaks (notes and descriptions).
_ALLOWED_CONTROLS = frozenset("\t\n\r")


def check_characters(cleaned: str, typed: Any) -> None:
    """Refuse text that cannot be stored everywhere or shows nothing, rather than strip it:
    a control character (NUL, which PostgreSQL refuses, or any other but tab and line
    breaks) or a lone surrogate, and a value with no visible character (only U+200B, say).
    ``str.isprintable`` is true only of text with neither, so most values cost one call."""
    if not cleaned.isprintable():
        for char in cleaned:
            if char not in _ALLOWED_CONTROLS and unicodedata.category(char) in ("Cc", "Cs"):
                position = str(typed).find(char) + 1 or cleaned.find(char) + 1
                raise RuleViolation(
                    "text_control",
                    t("text_control", character=f"U+{ord(char):04X}", position=position),
                )
    if not any(map(_visible, cleaned)):
        raise RuleViolation("text_invisible", t("text_invisible"))


def _visible(char: str) -> bool:
    return (
        unicodedata.category(char) not in _INVISIBLE_CATEGORIES
        and BLANK_PRINTABLE.match(char) is None
    )


def _checked(cleaned: str | None, typed: Any, limit: int) -> str | None:
    """``cleaned`` if it has at most ``limit`` characters, something visible and no control
    character but tab and line breaks (:func:`check_characters`)."""
    if cleaned is None:
        return None
    if len(cleaned) > limit:
        raise RuleViolation("too_long", t("too_long", limit=limit))
    check_characters(cleaned, typed)
    return cleaned


def _text(value: Any, *, limit: int) -> str | None:
    """Text as written, trimmed (:func:`trimmed_text`), of at most ``limit`` characters."""
    return _checked(trimmed_text(value), value, limit)


def _identifier(value: Any, *, limit: int) -> str | None:
    """An identifier, folded (:func:`clean_text`), of at most ``limit`` characters."""
    return _checked(clean_text(value), value, limit)


TEXT = rule_kind("text", _text)
IDENTIFIER = rule_kind("identifier", _identifier)


def text(limit: int) -> FieldRule[str | None]:
    """Text people write (names, descriptions, summaries, notes), stored as written but
    for white space at either end, of at most ``limit`` characters (the limit is the rule's
    parameter, which its whole-column form reads too)."""
    return FieldRule(TEXT, limit=limit)


def identifier(limit: int) -> FieldRule[str | None]:
    """A code, an external ID or a user name, of at most ``limit`` characters: folded to
    half-width (NFKC) and trimmed, so that "ＥＲＰ－００１" and "ERP-001" are one key."""
    return FieldRule(IDENTIFIER, limit=limit)


#: An extension after the number: "ext 5", "x5", "转 5", "分机 5", "#5", ",5" (a pause).
_PHONE_EXTENSION = re.compile(
    r"(?:(?:ext(?:ension|n)?|x|转|轉|分机号?|分機號?)\s*+[.:]?|[#,;])\s*+(\d++)\s*+#?\Z",
    re.IGNORECASE,
)
#: How a phone starts: Excel's text marker ('), a + in front, maybe in brackets.
_PHONE_START = re.compile(r"'?\(?\+?\s*\(?")
#: What follows: digits with spaces, hyphens or dashes, dots and brackets between them.
_PHONE_REST = re.compile(r"\d[\d\s.()\-\u2010-\u2015\u2212]*")


@field_rule("phone")
def phone(value: Any) -> str | None:
    """A phone in E.164 (+8613812345678): mobiles, landlines with area code, or +country.

    Only what the user typed is read: letters are refused rather than read off a keypad
    (138ABCD5678, 1-800-FLOWERS), and an extension is refused rather than dropped, since
    a contact has no field for one; a leading '-' or other stray characters are refused
    too, rather than skipped.
    """
    cleaned = clean_text(value)
    if cleaned is None:
        return None
    _check_phone_text(cleaned)
    try:
        parsed = phonenumbers.parse(cleaned, DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException:
        raise RuleViolation("phone_format", t("phone_format")) from None
    if not phonenumbers.is_valid_number(parsed):
        raise RuleViolation("phone_format", t("phone_format"))
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _check_phone_text(cleaned: str) -> None:
    """Refuse what the phone library would quietly convert or drop."""
    extension = _PHONE_EXTENSION.search(cleaned)
    if extension and extension.start() > 0 and _misplaced(cleaned[: extension.start()]) is None:
        raise RuleViolation("phone_extension", t("phone_extension", extension=extension[1]))
    letters = "".join(dict.fromkeys(ch for ch in cleaned if ch.isalpha()))
    if letters:
        raise RuleViolation("phone_letters", t("phone_letters", letters=letters))
    wrong = _misplaced(cleaned)
    if wrong is not None:
        raise RuleViolation("phone_characters", t("phone_characters", character=wrong))


def _misplaced(cleaned: str) -> str | None:
    """The first character that has no place in a phone number where it stands, if any."""
    start = _PHONE_START.match(cleaned)
    at = start.end() if start else 0
    rest = _PHONE_REST.match(cleaned, at)
    if rest is None:
        return cleaned[at] if at < len(cleaned) else cleaned[-1]
    return cleaned[rest.end()] if rest.end() < len(cleaned) else None


def _same_address(stored: str | None, value: Any) -> bool:
    """An e-mail address is the same whatever the case of its letters: the rule stores it
    in lower case, so that one address is found one way."""
    return isinstance(value, str) and stored == value.lower()


@field_rule("email", same=_same_address)
def email(value: Any) -> str | None:
    """A well-formed e-mail address (:data:`EMAIL`), kept in lower case."""
    cleaned = clean_text(value)
    if cleaned is None:
        return None
    if not EMAIL.match(cleaned):
        raise RuleViolation("email_format", t("email_format"))
    return cleaned.lower()


def _enum(value: Any, *, enumeration: Enumeration) -> str | None:
    """The code of the choice whose code or label ``value`` is."""
    cleaned = clean_text(value)
    if cleaned is None:
        return None
    choice = enumeration.lookup(cleaned)
    if choice is None:
        raise RuleViolation(
            f"enum:{enumeration.name}", t("enum", choices=", ".join(enumeration.codes))
        )
    return choice.code


ENUM = rule_kind("enum", _enum)


def enum_of(enumeration: Enumeration) -> FieldRule[Any]:
    """One of ``enumeration``'s choices, stored as its code (None for an empty value;
    typed Any, as callers that require a value have already said so)."""
    return FieldRule(ENUM, enumeration=enumeration)


def _same_province(stored: Province | None, value: Any) -> bool:
    """A province is stored by its full name (广东省, not 广东)."""
    return stored is not None and stored.name == value


@field_rule("province", same=_same_province)
def province(value: Any) -> Province | None:
    """A province-level division of China, by its name, short name or English name."""
    cleaned = clean_text(value)
    if cleaned is None:
        return None
    found = find_province(cleaned)
    if found is None:
        raise RuleViolation("province", t("province"))
    return found


@field_rule("industry")
def industry(value: Any) -> Industry | None:
    cleaned = clean_text(value)
    if cleaned is None:
        return None
    found = find_industry(cleaned)
    if found is None:
        raise RuleViolation("industry", t("industry"))
    return found


@field_rule("postcode")
def postcode(value: Any) -> str | None:
    cleaned = clean_text(value)
    if cleaned is None:
        return None
    if not POSTCODE.match(cleaned):
        raise RuleViolation("postcode", t("postcode"))
    return cleaned


EXCEL_EPOCH = date(1899, 12, 30)
#: Serial numbers Excel shows as dates from 1900-01-01 to 2099-12-31.
EXCEL_SERIALS = range(2, 73051)
_DATE = re.compile(
    r"^(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
    r"(?:[\sT]+(?P<H>\d{1,2})\s*[:时時]\s*(?P<M>\d{1,2})(?:\s*[:分]\s*(?P<S>\d{1,2})\s*秒?)?\s*分?)?$"
)
_COMPACT_DATE = re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$")


def _parse_moment(value: Any) -> datetime | None:
    """Dates as people type them: 2024-05-01, 2024/5/1, 2024.5.1, 2024年5月1日, 20240501,
    an Excel serial number (45413), each with an optional time (10:30, 10时30分)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=None, microsecond=0)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, bool):
        raise RuleViolation("date_format", t("date_format"))
    if isinstance(value, int | float):
        return _excel_serial(float(value))
    cleaned = clean_text(value)
    if cleaned is None:
        return None
    match = _DATE.match(cleaned) or _COMPACT_DATE.match(cleaned)
    if match:
        parts = {k: int(v) for k, v in match.groupdict().items() if v is not None}
        try:
            return datetime(
                parts["y"],
                parts["m"],
                parts["d"],
                parts.get("H", 0),
                parts.get("M", 0),
                parts.get("S", 0),
            )
        except ValueError:
            raise RuleViolation("date_format", t("date_format")) from None
    try:
        return _excel_serial(float(cleaned))
    except ValueError:
        raise RuleViolation("date_format", t("date_format")) from None


def _excel_serial(serial: float) -> datetime:
    if not EXCEL_SERIALS.start <= serial < EXCEL_SERIALS.stop:
        raise RuleViolation("date_format", t("date_format"))
    day = EXCEL_EPOCH + timedelta(days=int(serial))
    seconds = round((serial - int(serial)) * 86_400)
    return datetime(day.year, day.month, day.day) + timedelta(seconds=seconds)


#: The dates a record may carry, those Excel shows for its serial numbers
#: (:data:`EXCEL_SERIALS`): a business date outside them (9999-12-31, 0001-01-01) is a
#: placeholder or a typing slip, and other systems (spreadsheets, reports) cannot show it.
FIRST_DATE = date(1900, 1, 1)
LAST_DATE = date(2099, 12, 31)


def _plausible(moment: datetime | None) -> datetime | None:
    if moment is not None and not FIRST_DATE <= moment.date() <= LAST_DATE:
        raise RuleViolation("date_range", t("date_range", first=FIRST_DATE, last=LAST_DATE))
    return moment


@field_rule("date_value")
def date_value(value: Any) -> date | None:
    """A date from 1900-01-01 to 2099-12-31 (:func:`_parse_moment` reads how it is typed)."""
    moment = _plausible(_parse_moment(value))
    return moment.date() if moment else None


@field_rule("datetime_value")
def datetime_value(value: Any) -> datetime | None:
    """A date and time from 1900-01-01 to 2099-12-31."""
    return _plausible(_parse_moment(value))


MAX_AMOUNT = Decimal(10) ** 12  # what Numeric(14, 2) holds
_UNITS = {
    "万": Decimal(10_000),
    "萬": Decimal(10_000),
    "亿": Decimal(100_000_000),
    "億": Decimal(100_000_000),
}
_CURRENCY = re.compile(r"^(?:RMB|CNY|¥|￥|人民币)?\s*|\s*(?:元|RMB|CNY|人民币)$", re.IGNORECASE)


#: Digits with thousands separators: groups of three after the first, one separator
#: throughout (1,200.50 or 1 200.50); 1,2,3 is not 123.
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:(?P<sep>[, ])\d{3})(?:(?P=sep)\d{3})*(?:\.\d*)?")


@field_rule("amount")
def amount(value: Any) -> Decimal | None:
    """A non-negative amount in CNY: 1,200.50, ¥1200, 1200元, 1.2万, 3亿; thousands
    separators only between groups of three digits."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise RuleViolation("amount", t("amount"))
    cleaned = _CURRENCY.sub("", clean_text(value) or "")
    factor = Decimal(1)
    if cleaned[-1:] in _UNITS:
        factor, cleaned = _UNITS[cleaned[-1]], cleaned[:-1].rstrip()
    if "," in cleaned or " " in cleaned:
        if not _GROUPED.fullmatch(cleaned):
            raise RuleViolation("amount_grouping", t("amount_grouping"))
        cleaned = cleaned.replace(",", "").replace(" ", "")
    try:
        number = Decimal(cleaned) * factor
    except InvalidOperation:
        raise RuleViolation("amount", t("amount")) from None
    if not number.is_finite() or number < 0 or number >= MAX_AMOUNT:
        raise RuleViolation("amount", t("amount"))
    return number.quantize(Decimal("0.01"))


@field_rule("probability")
def probability(value: Any) -> float | None:
    """A win probability from 0 to 1; 35% and 35 are read as 0.35."""
    if value is None or value == "":
        return None
    cleaned = (clean_text(value) or "").rstrip("%")
    try:
        number = float(cleaned)
    except ValueError:
        raise RuleViolation("probability", t("probability")) from None
    if number > 1:
        number /= 100
    if not 0 <= number <= 1:
        raise RuleViolation("probability", t("probability"))
    return number


@field_rule("flag")
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


def check_record(
    rules: Mapping[str, Rule], data: Mapping[str, Any], entity: str, *, also: Iterable[str] = ()
) -> tuple[dict[str, Any], list[FieldError]]:
    """:func:`validate`, plus an ``unknown_field`` error for each field that ``entity`` does
    not have (its rules' fields and ``also``), so a misspelt keyword is never ignored."""
    known = set(rules) | set(also)
    unknown = [
        FieldError(k, v, "unknown_field", t("unknown_field", entity=entity))
        for k, v in data.items()
        if k not in known
    ]
    clean, errors = validate(rules, {k: v for k, v in data.items() if k in known})
    return clean, unknown + errors


def validated(
    rules: Mapping[str, Rule], data: Mapping[str, Any], entity: str, *, also: Iterable[str] = ()
) -> dict[str, Any]:
    """:func:`check_record`, raising one :class:`ValidationError` with every problem."""
    clean, errors = check_record(rules, data, entity, also=also)
    if errors:
        raise ValidationError(errors)
    return clean
