"""The data-quality scorecard for people: a workbook (summary, every check, the trend and
the failing customers) and the text ``crm dq report`` prints, in the scorecard's language."""

from __future__ import annotations

import math
import unicodedata
from pathlib import Path
from typing import Any

import pandas as pd

from ..i18n import MESSAGES, t
from ..quality.scorecard import DIMENSIONS, TREND_COLUMNS, Scorecard, dimension_label


def _headers(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Columns headed in ``lang``: a dimension's name for the trend's column of each
    dimension, else ``scorecard:header.<column>`` where the catalogue has one."""
    names = {d: dimension_label(d, lang) for d in DIMENSIONS if d in frame.columns}
    names |= {
        c: t(f"scorecard:header.{c}", lang)
        for c in frame.columns
        if c not in names and f"scorecard:header.{c}" in MESSAGES
    }
    return frame.rename(columns=names)


def write_xlsx(card: Scorecard, path: str | Path, *, trend: pd.DataFrame | None = None) -> Path:
    """The scorecard as a workbook for people: summary, every check, the trend and the
    failing customers, headed in the scorecard's language, scores as percentages."""
    lang = card.lang
    dimension_names = {d: dimension_label(d, lang) for d in DIMENSIONS}
    summary = card.dimensions.drop(columns="dimension").rename(columns={"label": "dimension"})
    meets = None if math.isnan(card.overall) else card.overall >= card.target
    overall = {
        "dimension": t("scorecard:overall", lang),
        "score": card.overall,
        "target": card.target,
        "meets_target": meets,
    }
    summary = pd.concat([summary, pd.DataFrame([overall])], ignore_index=True)
    checks = card.checks.assign(
        dimension=card.checks["dimension"].map(dimension_names),
        examples=card.checks["examples"].map(", ".join),
    )
    examples = card.checks[["dimension", "label", "examples"]].explode("examples").dropna()
    examples = examples.rename(columns={"examples": "code"}).assign(
        dimension=lambda f: f["dimension"].map(dimension_names)
    )
    history = trend if trend is not None else pd.DataFrame(columns=list(TREND_COLUMNS))
    sheets = {"summary": summary, "checks": checks, "trend": history, "examples": examples}
    path = Path(path)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for key, frame in sheets.items():
            name = t(f"scorecard:sheet.{key}", lang)
            _headers(frame, lang).to_excel(writer, sheet_name=name, index=False)
            _format(writer.sheets[name], list(frame.columns))
    return path


def _format(sheet: Any, columns: list[str]) -> None:
    """Percentages for scores, a frozen header, and columns wide enough to read."""
    percent = {"score", "target", "overall", *DIMENSIONS}
    for n, column in enumerate(columns, start=1):
        cells = next(sheet.iter_cols(min_col=n, max_col=n))
        if column in percent:
            for cell in cells[1:]:
                cell.number_format = "0.0%"
        widest = max((_width(str(c.value)) for c in cells if c.value is not None), default=8)
        sheet.column_dimensions[cells[0].column_letter].width = min(max(widest + 2, 8), 60)
    sheet.freeze_panes = "A2"


def _width(text: str) -> int:
    """Columns a text takes in a terminal or a sheet: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(width - _width(text), 0)


def _percent(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.1%}"


def format_text(card: Scorecard) -> str:
    """The scorecard for a terminal (``crm dq report``): one line per check with its score,
    passed/total and ✓ or ✗ against the target, grouped by dimension."""
    lang = card.lang
    width = max(_width(label) for label in card.checks["label"]) + 2
    lines = [
        f"{t('scorecard:title', lang)}  {t('scorecard:as_of', lang)} "
        f"{card.as_of:%Y-%m-%d %H:%M}  {t('scorecard:target', lang)} {card.target:.0%}",
        f"{t('scorecard:overall', lang)} {_percent(card.overall)}",
    ]
    for dimension in card.dimensions.to_dict("records"):
        score = dimension["score"]
        mark = "" if math.isnan(score) else _mark(score, card.target)
        lines += ["", f"{dimension['label']} {_percent(score)} {mark}".rstrip()]
        for check in card.checks[card.checks["dimension"] == dimension["dimension"]].to_dict(
            "records"
        ):
            passed, total = check["passed"], check["total"]
            if total == 0:
                numbers, mark = "0/0", f"({t('scorecard:no_data', lang)})"
            else:
                numbers, mark = f"{passed:,}/{total:,}", _mark(check["score"], card.target)
            label = _pad(check["label"], width)
            lines.append(f"  {label}{_percent(check['score']):>7}  {numbers:>17}  {mark}")
    return "\n".join(lines)


def _mark(score: float, target: float) -> str:
    return "✓" if score >= target else "✗"
