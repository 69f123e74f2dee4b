"""KPIs for a terminal: values formatted by unit, names and headers in the user's language."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

import pandas as pd

from ...formatting import UNIT_KINDS, number_text
from ...i18n import current_lang, t
from ...missing import is_missing
from ...reference.enums import STAGE


def format_value(value: Any, unit: str) -> str:
    """``12.5%`` for shares, ``1,234,567.89`` for money, ``1,234`` for counts, one decimal
    for days, hours and scores; a dash when there is no value."""
    if is_missing(value):
        return "–"
    return number_text(value, UNIT_KINDS.get(unit, "measure"))


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(width - _width(text), 0)


def _lines(rows: list[list[str]]) -> str:
    widths = [max(_width(row[n]) for row in rows) for n in range(len(rows[0]))]
    return "\n".join(
        "  ".join(_pad(cell, w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def catalogue_text(frame: pd.DataFrame, lang: str | None = None) -> str:
    """The frame of ``ws.kpis()`` as a table: name, value with its unit, and the date the
    period applies to."""
    lang = current_lang(lang)
    rows = [[t("kpi_text:kpi", lang), t("kpi_text:value", lang), t("kpi_text:period", lang)]]
    for record in frame.to_dict("records"):
        name = record["name"]
        if not is_missing(record["stage"]):
            name = f"{name} · {STAGE.label(record['stage'], lang)}"
        value = format_value(record["value"], record["unit"])
        if value != "–" and record["unit"] != "share":
            unit = t(f"kpi_text:{record['unit']}", lang)
            value = f"{value} {unit}"
        rows.append([name, value, record["period"]])
    return _lines(rows)


def kpi_text(
    frame: pd.DataFrame, unit: str, lang: str | None = None, heading: Callable[[str], str] = str
) -> str:
    """The frame of ``ws.kpi()``: one line per group (or the single value); ``heading``
    gives a group column's header (the ``crm`` command's labels; default the identifier)."""
    lang = current_lang(lang)
    if frame.empty:
        return t("kpi_text:none", lang)
    keys = [c for c in frame.columns if c != "value"]
    rows = [[*map(heading, keys), t("kpi_text:value", lang)]] if keys else []
    for record in frame.to_dict("records"):
        cells = ["–" if is_missing(record[k]) else str(record[k]) for k in keys]
        if "stage" in keys:
            cells[keys.index("stage")] = STAGE.label(record["stage"], lang)
        rows.append([*cells, format_value(record["value"], unit)])
    return _lines(rows)
