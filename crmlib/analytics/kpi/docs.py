"""The KPI catalogue as a Markdown table, for the README (a test keeps the two in step)."""

from __future__ import annotations

from .catalogue import CATALOGUE, family_name


def markdown_table() -> str:
    """One row per KPI: id, names, formula, unit, the date the period applies to, and the
    groupings ``by=`` accepts."""
    lines = [
        "| id | 名称 / name | formula | unit | period applies to | by |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for kpi in CATALOGUE.values():
        family = family_name(kpi.family, "en")
        by = ", ".join(kpi.by) or "–"
        lines.append(
            f"| `{kpi.id}` | {kpi.name('zh')} / {kpi.name('en')} ({family}) "
            f"| {kpi.formula('en')} | {kpi.unit} | {kpi.period('en')} | {by} |"
        )
    return "\n".join(lines)
