"""The data-quality scorecard for people: a workbook (summary, every check, the trend and
the failing customers) and the text ``crm dq report`` prints, in the scorecard's language."""

from __future__ import annotations

import math
import unicodedata
from pathlib import Path
from typing import Any

import pandas as pd

from ..missing import is_missing
from ..quality.scorecard import DIMENSION_LABELS, DIMENSIONS, TREND_COLUMNS, Scorecard, say

HEADERS = {
    "dimension": ("维度", "Dimension"),
    "check": ("检查项", "Check"),
    "label": ("说明", "Description"),
    "field": ("字段", "Field"),
    "required": ("必填", "Required"),
    "passed": ("通过", "Passed"),
    "total": ("总数", "Total"),
    "score": ("得分", "Score"),
    "target": ("目标", "Target"),
    "meets_target": ("达标", "Meets target"),
    "examples": ("问题客户示例", "Failing customers (examples)"),
    "checks": ("检查项数", "Checks"),
    "overall": ("总分", "Overall"),
    "run_id": ("编号", "Run"),
    "run_at": ("时间", "Run at"),
    "actor": ("用户", "User"),
    "code": ("客户编号", "Customer code"),
}
SHEETS = {
    "summary": ("汇总", "Summary"),
    "checks": ("检查项", "Checks"),
    "trend": ("趋势", "Trend"),
    "examples": ("问题示例", "Examples"),
}
TEXT = {
    "title": ("数据质量评分卡", "Data-quality scorecard"),
    "as_of": ("截至", "as of"),
    "target": ("目标", "target"),
    "overall": ("总分", "Overall"),
    "info": ("仅供参考", "for information"),
    "no_data": ("无数据", "no data"),
}


def _headers(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    names = {**HEADERS, **{d: DIMENSION_LABELS[d] for d in DIMENSIONS}}
    return frame.rename(columns={c: say(names[c], lang) for c in frame.columns if c in names})


def write_xlsx(card: Scorecard, path: str | Path, *, trend: pd.DataFrame | None = None) -> Path:
    """The scorecard as a workbook for people: summary, every check, the trend and the
    failing customers, headed in the scorecard's language, scores as percentages."""
    lang = card.lang
    dimension_names = {d: say(DIMENSION_LABELS[d], lang) for d in DIMENSIONS}
    summary = card.dimensions.drop(columns="dimension").rename(columns={"label": "dimension"})
    meets = None if math.isnan(card.overall) else card.overall >= card.target
    overall = {
        "dimension": say(TEXT["overall"], lang),
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
            name = say(SHEETS[key], lang)
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
        f"{say(TEXT['title'], lang)}  {say(TEXT['as_of'], lang)} {card.as_of:%Y-%m-%d %H:%M}"
        f"  {say(TEXT['target'], lang)} {card.target:.0%}",
        f"{say(TEXT['overall'], lang)} {_percent(card.overall)}",
    ]
    for dimension in card.dimensions.to_dict("records"):
        score = dimension["score"]
        mark = "" if math.isnan(score) else _mark(score, card.target)
        lines += ["", f"{dimension['label']} {_percent(score)} {mark}".rstrip()]
        for check in card.checks[card.checks["dimension"] == dimension["dimension"]].to_dict(
            "records"
        ):
            passed, total = check["passed"], check["total"]
            if is_missing(passed):
                numbers, mark = f"{total:,}", f"({say(TEXT['info'], lang)})"
            elif total == 0:
                numbers, mark = "0/0", f"({say(TEXT['no_data'], lang)})"
            else:
                numbers, mark = f"{passed:,}/{total:,}", _mark(check["score"], card.target)
            label = _pad(check["label"], width)
            lines.append(f"  {label}{_percent(check['score']):>7}  {numbers:>17}  {mark}")
    return "\n".join(lines)


def _mark(score: float, target: float) -> str:
    return "✓" if score >= target else "✗"
