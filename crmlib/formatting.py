"""How a number, a yes/no or a missing value reads for people, one rule everywhere: the
``crm`` tables, the notebook grids, the KPI lines, the reports and the Excel workbooks
(which keep numbers as numbers and carry the same rule as a cell number format).

A column's *kind* says how its numbers read: money with thousands separators and two
decimals, shares as percentages with one decimal, counts as whole numbers with
separators, identifiers as they are, measures (days, hours, scores) with one decimal and
any other number with at most two.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Literal

import pandas as pd

from .i18n import t
from .missing import is_missing

Kind = Literal["money", "share", "count", "measure", "number", "id", "text"]

#: Money columns, by name.
MONEY: frozenset[str] = frozenset(
    {
        "amount",
        "budget",
        "actual_cost",
        "cost",
        "won_amount",
        "revenue",
        "weighted",
        "aov",
        "monetary",
        "clv",
        "price",
        "total",
        "value_amount",
        "expected_amount",
        "spend",
    }
)
#: Share columns (fractions of one), by name; names ending in _rate or _share are too.
SHARE: frozenset[str] = frozenset(
    {
        "share",
        "roi",
        "retention",
        "probability",
        "step_conversion",
        "cumulative_conversion",
        "conversion",
        "risk",
        "churn_risk",
        "risk_score",
        "win_rate",
        "compliance",
    }
)
#: Measures read with one decimal; names ending in _days or _hours are too.
MEASURE: frozenset[str] = frozenset({"days", "hours", "avg_follow_ups", "csat", "nps"})
#: Identifiers: printed as they are, without thousands separators.
ID: frozenset[str] = frozenset({"id", "ref", "cluster", "merge_id", "year", "rank", "row"})
#: A KPI's unit (``crmlib.analytics.kpi``) as a kind.
UNIT_KINDS: dict[str, Kind] = {
    "CNY": "money",
    "share": "share",
    "count": "count",
    "days": "measure",
    "hours": "measure",
    "score": "measure",
}
#: Excel number formats of the kinds: the cell keeps its number, people read the format.
EXCEL_FORMATS: dict[str, str] = {
    "money": "#,##0.00",
    "share": "0.0%",
    "count": "#,##0",
    "measure": "#,##0.0",
    "number": "#,##0.##",
    "id": "0",
}


def kind_of(column: str, values: pd.Series | None = None) -> Kind:
    """The kind of ``column`` by its name, else by its values (whole numbers count)."""
    name = str(column).removesuffix("_a").removesuffix("_b") if column else ""
    if name in ID or name.endswith("_id"):
        return "id"
    if name in MONEY or name.endswith(("_amount", "_revenue", "_cost")):
        return "money"
    if name in SHARE or name.endswith(("_rate", "_share", "_conversion")):
        return "share"
    measure = (
        name in MEASURE or name.endswith(("_days", "_hours", "_score")) or name.startswith("avg_")
    )
    if values is None or not pd.api.types.is_numeric_dtype(values.dtype):
        return "measure" if measure else "text"
    if pd.api.types.is_bool_dtype(values.dtype):
        return "text"
    present = values.dropna()
    if pd.api.types.is_integer_dtype(values.dtype) or bool((present % 1 == 0).all()):
        return "count"  # whole days or scores too
    return "measure" if measure else "number"


def number_text(value: Any, kind: str) -> str:
    """A number as people read it: ``1,234,567.89`` money, ``12.5%`` a share, ``1,234``
    a count, ``3.5`` a measure, ``0.17`` another number; an identifier as it is."""
    if is_missing(value):
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:
            value = float(value)  # Decimal, numpy scalars
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if kind == "money":
        return f"{value:,.2f}"
    if kind == "share":
        return f"{value:.1%}"
    if kind == "count":
        return f"{round(value):,}"
    if kind == "measure":
        return f"{value:,.1f}"
    if kind == "id":
        return str(int(value)) if float(value).is_integer() else str(value)
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def value_text(value: Any, kind: str = "text", lang: str | None = None) -> str:
    """Any cell as text: blank when missing, 是/否 for booleans, dates without a midnight,
    numbers by ``kind``, lists joined."""
    if is_missing(value):
        return ""
    if isinstance(value, bool):
        return t("format:yes" if value else "format:no", lang)
    if isinstance(value, datetime | pd.Timestamp):
        stamp = pd.Timestamp(value)
        return str(stamp.date()) if stamp == stamp.normalize() else stamp.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ", ".join(value_text(v, kind, lang) for v in value)
    if isinstance(value, str):
        return value
    if hasattr(value, "dtype") and getattr(value.dtype, "kind", "") == "b":  # numpy bool
        return value_text(bool(value), kind, lang)
    return number_text(value, "number" if kind == "text" else kind)


def kinds_of(frame: pd.DataFrame, given: Mapping[str, str] | None = None) -> dict[str, str]:
    """Each column's kind: ``given`` first (a KPI's unit, say), then :func:`kind_of`."""
    chosen = dict(given or {})
    chosen.update(frame.attrs.get("kinds", {}))
    return {str(c): chosen.get(str(c)) or kind_of(str(c), frame[c]) for c in frame.columns}


def row_kinds(frame: pd.DataFrame) -> list[str] | None:
    """Per-row kinds of a ``value`` column when the frame says each row's ``unit`` (the
    KPI catalogue), else None."""
    if "value" not in frame.columns or "unit" not in frame.columns:
        return None
    return [UNIT_KINDS.get(str(u), "number") for u in frame["unit"]]


def frame_text(frame: pd.DataFrame, lang: str | None = None, **kinds: str) -> pd.DataFrame:
    """``frame`` with every cell as the text people read (see :func:`value_text`)."""
    columns = kinds_of(frame, kinds)
    shown = pd.DataFrame(index=frame.index)
    per_row = row_kinds(frame)
    for position, column in enumerate(frame.columns):
        values = frame.iloc[:, position]
        if per_row is not None and column == "value":
            cells = [value_text(v, k, lang) for v, k in zip(values, per_row, strict=True)]
        else:
            kind = columns[str(column)]
            cells = [value_text(v, kind, lang) for v in values]
        shown[column] = pd.Series(cells, index=frame.index, dtype=object)
    return shown
