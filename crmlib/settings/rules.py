"""What value each setting accepts: one rule per key, which refuses a bad value with the
key, the value and the rule in the user's language (the rule in words is in the message
catalogue)."""

from __future__ import annotations

import json
import re
import reprlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import time
from math import isfinite
from typing import Any

import yaml

from ..errors import FieldError, ValidationError
from ..i18n import t
from ..reference.enums import CUSTOMER_KIND, PRIORITY, STAGE, TICKET_TYPE
from ..reference.industries import DIVISIONS, SECTIONS
from ..reference.regions import REGIONS
from ..rules.customers import RULES as CUSTOMER_RULES
from .defaults import DEFAULTS

# ---------------------------------------------------------------- the schema

#: Upper bounds that keep a typo from becoming a rule: ten years of days, a year of hours.
MAX_DAYS = 3650
MAX_HOURS = 8760
MAX_AMOUNT = 10**12
MAX_HEADCOUNT = 10**7
MAX_TEAM = 64
MAX_RULES = 1000
#: How ``lead_assignment`` may hand out leads (:mod:`crmlib.domain.sales.assignment`).
ASSIGNMENT_METHODS = ("round_robin", "fewest_open")
#: The kinds of import file (:data:`crmlib.transfer.catalogue.KINDS`, which sits above the
#: settings; a test keeps the two in step). Which fields a kind has is checked by the
#: import that reads the setting, as ``crm import --map`` is.
IMPORT_KINDS = ("customers", "contacts", "leads", "opportunities", "orders", "tickets")
#: Headers of one kind ``import_synonyms`` holds at most, and the longest header or field.
MAX_SYNONYMS = 1000
MAX_HEADER = 200
#: Values (numbers, texts, entries) one setting holds at most: a YAML alias bomb stops here.
MAX_VALUES = 100_000


def _number_text(value: float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


def _listed(items: Iterable[Any]) -> str:
    return ", ".join(str(i) for i in items)


class _Check:
    """Collects the broken rules of one setting's value, each naming where it broke."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.errors: list[FieldError] = []

    def fail(self, path: str, value: Any, rule: str, **fields: Any) -> None:
        self.errors.append(
            FieldError(path, value, f"setting_{rule}", t(f"settings:{rule}", **fields))
        )

    def object(
        self, path: str, value: Any, required: Iterable[str], optional: Iterable[str] = ()
    ) -> dict[str, Any] | None:
        """``value`` as an object with every ``required`` entry and maybe some ``optional``
        ones; None (and the reasons recorded) when it is not."""
        needed = list(required)
        allowed = [*needed, *optional]
        if not isinstance(value, dict):
            example = json.dumps({k: "…" for k in (needed or allowed)[:2]}, ensure_ascii=False)
            self.fail(path, value, "object", example=example)
            return None
        unknown = [k for k in value if k not in allowed]
        if unknown:
            self.fail(
                path, value, "unknown_entries", entries=_listed(unknown), allowed=_listed(allowed)
            )
        missing = [k for k in needed if k not in value]
        if missing:
            self.fail(
                path, value, "missing_entries", entries=_listed(missing), allowed=_listed(needed)
            )
        return None if unknown or missing else value

    def items(self, path: str, value: Any, limit: int, *, nonempty: bool = False) -> list[Any]:
        """``value`` as a list of at most ``limit`` entries (empty when it is not one)."""
        if not isinstance(value, list):
            self.fail(path, value, "list")
            return []
        if len(value) > limit:
            self.fail(path, value, "too_many", count=len(value), limit=limit)
            return []
        if nonempty and not value:
            self.fail(path, value, "empty")
        hashable = [v for v in value if isinstance(v, str | int | float)]
        repeated = sorted({str(v) for v in hashable if hashable.count(v) > 1})
        if repeated:
            self.fail(path, value, "repeated", items=_listed(repeated))
        return value

    def number(
        self,
        path: str,
        value: Any,
        low: float,
        high: float,
        *,
        above: bool = False,
        below: bool = False,
        whole: bool = False,
    ) -> float | None:
        """A number within [low, high] (``above``/``below``: low/high themselves excluded)."""
        if whole and not (isinstance(value, int) and not isinstance(value, bool)):
            self.fail(path, value, "integer")
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not isfinite(value):
            self.fail(path, value, "number")
            return None
        if value < low or value > high or (above and value == low) or (below and value == high):
            rule = "inside" if above and below else "above" if above else "between"
            self.fail(path, value, rule, low=_number_text(low), high=_number_text(high))
            return None
        return float(value)

    def days(self, path: str, value: Any) -> None:
        self.number(path, value, 1, MAX_DAYS, whole=True)

    def order(
        self, path: str, value: float | None, other: str, limit: float | None, *, least: bool
    ) -> None:
        """``value`` (at ``path``) must not be below (``least``) or above ``other``'s."""
        if value is None or limit is None:
            return
        if value < limit if least else value > limit:
            rule = "not_below" if least else "not_above"
            shown = int(limit) if limit == int(limit) else limit
            self.fail(path, shown_number(value), rule, other=other, limit=_number_text(shown))

    def choice(self, path: str, value: Any, choices: Iterable[str]) -> bool:
        options = list(choices)
        if value not in options:
            self.fail(path, value, "choice", choices=_listed(options))
            return False
        return True

    def team(self, path: str, value: Any) -> None:
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEAM:
            self.fail(path, value, "team", limit=MAX_TEAM)

    def clock_time(self, path: str, value: Any) -> time | None:
        match = _TIME.fullmatch(value) if isinstance(value, str) else None
        if match is None or int(match[1]) > 23 or int(match[2]) > 59:
            self.fail(path, value, "time")
            return None
        return time(int(match[1]), int(match[2]))


_TIME = re.compile(r"(\d{1,2}):(\d{2})")


def shown_number(value: float) -> int | float:
    """A number as a message quotes it: 500000 rather than 500000.0."""
    return int(value) if value == int(value) else value


def _grade_thresholds(c: _Check, value: Any) -> None:
    grades = c.object(c.key, value, ["A", "B"])
    if grades is None:
        return
    a = c.number(f"{c.key}.A", grades["A"], 0, MAX_AMOUNT)
    b = c.number(f"{c.key}.B", grades["B"], 0, MAX_AMOUNT)
    c.order(f"{c.key}.A", a, "B", b, least=True)


def _days(c: _Check, value: Any) -> None:
    c.days(c.key, value)


def _required_fields(c: _Check, value: Any) -> None:
    kinds = c.object(c.key, value, [], CUSTOMER_KIND.codes)
    for kind, names in (kinds or {}).items():
        for i, name in enumerate(c.items(f"{c.key}.{kind}", names, len(CUSTOMER_RULES))):
            c.choice(f"{c.key}.{kind}[{i}]", name, CUSTOMER_RULES)


def _size_headcount(c: _Check, value: Any) -> None:
    sizes = c.object(c.key, value, ["medium", "large"])
    if sizes is None:
        return
    medium = c.number(f"{c.key}.medium", sizes["medium"], 1, MAX_HEADCOUNT, whole=True)
    large = c.number(f"{c.key}.large", sizes["large"], 1, MAX_HEADCOUNT, whole=True)
    c.order(f"{c.key}.large", large, "medium", medium, least=True)


def _stage_probability(c: _Check, value: Any) -> None:
    stages = c.object(c.key, value, STAGE.codes)
    for stage, share in (stages or {}).items():
        c.number(f"{c.key}.{stage}", share, 0, 1)


def _lead_assignment(c: _Check, value: Any) -> None:
    policy = c.object(c.key, value, ["rules", "method"])
    if policy is None:
        return
    c.choice(f"{c.key}.method", policy["method"], ASSIGNMENT_METHODS)
    industries = [*SECTIONS, *DIVISIONS]
    for i, rule in enumerate(c.items(f"{c.key}.rules", policy["rules"], MAX_RULES)):
        path = f"{c.key}.rules[{i}]"
        checked = c.object(path, rule, ["team"], ["region", "industry"])
        if checked is None:
            continue
        c.team(f"{path}.team", checked["team"])
        if checked.get("region") is not None:
            c.choice(f"{path}.region", checked["region"], REGIONS)
        if checked.get("industry") is not None:
            c.choice(f"{path}.industry", checked["industry"], industries)


def _sla_policy(c: _Check, value: Any) -> None:
    priorities = c.object(c.key, value, PRIORITY.codes)
    for priority, hours in (priorities or {}).items():
        path = f"{c.key}.{priority}"
        allowance = c.object(path, hours, ["first_response_hours", "resolution_hours"])
        if allowance is None:
            continue
        first = c.number(
            f"{path}.first_response_hours",
            allowance["first_response_hours"],
            0,
            MAX_HOURS,
            above=True,
        )
        done = c.number(
            f"{path}.resolution_hours", allowance["resolution_hours"], 0, MAX_HOURS, above=True
        )
        c.order(f"{path}.first_response_hours", first, "resolution_hours", done, least=False)


def _business_hours(c: _Check, value: Any) -> None:
    if value is None:
        return
    hours = c.object(c.key, value, ["start", "end", "weekdays"])
    if hours is None:
        return
    start = c.clock_time(f"{c.key}.start", hours["start"])
    end = c.clock_time(f"{c.key}.end", hours["end"])
    if start is not None and end is not None and end <= start:
        c.fail(f"{c.key}.end", hours["end"], "start_end", start=hours["start"])
    days = c.items(f"{c.key}.weekdays", hours["weekdays"], 7, nonempty=True)
    for i, day in enumerate(days):
        c.number(f"{c.key}.weekdays[{i}]", day, 1, 7, whole=True)


def _share(c: _Check, value: Any) -> None:
    c.number(c.key, value, 0, 1, above=True, below=True)


def _ticket_routing(c: _Check, value: Any) -> None:
    routes = c.object(c.key, value, [], TICKET_TYPE.codes)
    for kind, team in (routes or {}).items():
        c.team(f"{c.key}.{kind}", team)


def _lifecycle(c: _Check, value: Any) -> None:
    rules = c.object(c.key, value, ["lost_after_days", "archive_after_days"])
    for name, days in (rules or {}).items():
        c.days(f"{c.key}.{name}", days)


def _churn(c: _Check, value: Any) -> None:
    rules = c.object(c.key, value, ["horizon_days", "threshold"])
    if rules is None:
        return
    c.days(f"{c.key}.horizon_days", rules["horizon_days"])
    c.number(f"{c.key}.threshold", rules["threshold"], 0, 1)


def _amount(c: _Check, value: Any) -> None:
    c.number(c.key, value, 0, MAX_AMOUNT)


def _import_synonyms(c: _Check, value: Any) -> None:
    kinds = c.object(c.key, value, [], IMPORT_KINDS)
    for kind, headers in (kinds or {}).items():
        path = f"{c.key}.{kind}"
        if not isinstance(headers, dict):
            c.fail(path, headers, "object", example='{"客户说明": "remarks"}')
            continue
        if len(headers) > MAX_SYNONYMS:
            c.fail(path, headers, "too_many", count=len(headers), limit=MAX_SYNONYMS)
            continue
        for header, field_name in headers.items():
            for text in (header, field_name):
                if not isinstance(text, str) or not text.strip() or len(text) > MAX_HEADER:
                    c.fail(f"{path}.{header}", text, "header", limit=MAX_HEADER)


@dataclass(frozen=True)
class Rule:
    """What values a setting accepts: the check, and the blanks of the rule in words, which
    is ``setting_rule:<key>`` in the message catalogue (for the docs and ``crm settings``).
    A blank is a number, or a list of items written out the language's way (``a, b`` or
    ``a、b``)."""

    check: Callable[[_Check, Any], None]
    blanks: Mapping[str, Any] = field(default_factory=dict)


def _code(items: Iterable[str]) -> list[str]:
    return [f"`{item}`" for item in items]


#: The rule of each key of :data:`DEFAULTS` (a test keeps the three in step).
RULES: dict[str, Rule] = {
    "grade_thresholds": Rule(_grade_thresholds, {"max": MAX_AMOUNT}),
    "backup_retention_days": Rule(_days, {"max": MAX_DAYS}),
    "required_fields": Rule(_required_fields),
    "size_headcount": Rule(_size_headcount, {"max": MAX_HEADCOUNT}),
    "stage_probability": Rule(_stage_probability, {"stages": _code(STAGE.codes)}),
    "stale_opportunity_days": Rule(_days, {"max": MAX_DAYS}),
    "lead_assignment": Rule(_lead_assignment, {"max": MAX_RULES, "regions": list(REGIONS)}),
    "sla_policy": Rule(_sla_policy, {"max": MAX_HOURS, "priorities": _code(PRIORITY.codes)}),
    "business_hours": Rule(_business_hours),
    "sla_at_risk_share": Rule(_share),
    "ticket_routing": Rule(_ticket_routing, {"max": MAX_TEAM, "types": _code(TICKET_TYPE.codes)}),
    "lifecycle": Rule(_lifecycle, {"max": MAX_DAYS}),
    "manual_override_days": Rule(_days, {"max": MAX_DAYS}),
    "churn": Rule(_churn, {"max": MAX_DAYS}),
    "sales_cost_per_month": Rule(_amount, {"max": MAX_AMOUNT}),
    "import_synonyms": Rule(
        _import_synonyms,
        {"kinds": _code(IMPORT_KINDS), "max": MAX_SYNONYMS, "length": MAX_HEADER},
    ),
}


def rule_text(key: str, lang: str | None = None) -> str:
    """The rule of setting ``key`` in words, in ``lang``: the catalogue's sentence with the
    limits and lists of the code filled in, so the two never disagree."""
    separator = t("settings:list_separator", lang)
    blanks = {
        name: separator.join(value) if isinstance(value, list) else value
        for name, value in RULES[key].blanks.items()
    }
    return t(f"setting_rule:{key}", lang, **blanks)


def require_known(key: str) -> None:
    if key not in DEFAULTS:
        raise ValidationError(
            FieldError(
                "setting", key, "setting_unknown", t("settings:unknown", known=", ".join(DEFAULTS))
            )
        )


def _plain(value: Any) -> Any:
    """``value`` as JSON stores it (tuples as lists, numpy numbers as numbers); refused
    when JSON cannot hold it (sets, dates, NaN, objects)."""

    def scalar(obj: Any) -> Any:
        if hasattr(obj, "item") and callable(obj.item):  # a numpy scalar
            return obj.item()
        raise TypeError(type(obj).__name__)

    try:
        return json.loads(json.dumps(value, allow_nan=False, default=scalar))
    except (TypeError, ValueError):
        return NOT_JSON


NOT_JSON = object()


def _too_large(value: Any) -> bool:
    """Whether ``value`` holds more than :data:`MAX_VALUES` values, counted without
    expanding it (shared parts, as YAML aliases make them, count each time they appear)."""
    todo, seen = [value], 0
    while todo:
        item = todo.pop()
        seen += 1
        if seen > MAX_VALUES:
            return True
        if isinstance(item, dict):
            todo.extend(item.values())
        elif isinstance(item, list | tuple):
            todo.extend(item)
    return False


def problems(key: str, value: Any) -> list[FieldError]:
    """What is wrong with ``value`` as the setting ``key`` (empty: nothing)."""
    require_known(key)
    check = _Check(key)
    if _too_large(value):
        # quoted in brief: the whole of it can be too large to even write out
        check.fail(key, reprlib.repr(value), "too_large", limit=MAX_VALUES)
        return check.errors
    plain = _plain(value)
    if plain is NOT_JSON:
        check.fail(key, value, "not_json")
    else:
        RULES[key].check(check, plain)
    return check.errors


def validated(key: str, value: Any) -> Any:
    """``value`` as the setting ``key`` stores it; a ValidationError naming the key, the
    value and the rule when it breaks the rule."""
    errors = problems(key, value)
    if errors:
        raise ValidationError(errors)
    return _plain(value)


def parse_value(key: str, text: str) -> Any:
    """A value typed on the command line: JSON, else YAML, so ``21``, ``round_robin``,
    ``null`` and ``{"A": 500000, "B": 100000}`` all read as meant."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        detail = str(getattr(exc, "problem", None) or exc).splitlines()[0]
        raise ValidationError(
            FieldError(key, text, "setting_syntax", t("settings:syntax", detail=detail))
        ) from None
