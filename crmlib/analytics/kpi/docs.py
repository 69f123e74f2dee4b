"""The KPI catalogue as a Markdown table, for the README (a test keeps the two in step)."""

from __future__ import annotations

from .catalogue import CATALOGUE, FAMILIES


def markdown_table() -> str:
    """One row per KPI: id, names, formula, unit, the date the period applies to, and the
    groupings ``by=`` accepts."""
    lines = [
        "| id | 名称 / name | formula | unit | period applies to | by |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for kpi in CATALOGUE.values():
        family = FAMILIES[kpi.family][1]
        by = ", ".join(kpi.by) or "–"
        lines.append(
            f"| `{kpi.id}` | {kpi.zh} / {kpi.en} ({family}) | {kpi.formula_en} | {kpi.unit} "
            f"| {kpi.period_en} | {by} |"
        )
    return "\n".join(lines)
