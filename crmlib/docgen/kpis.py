"""docs/reference/kpis.md: the KPI catalogue, from the KPIs registered in crmlib/analytics/kpi/."""

from __future__ import annotations

from ..access import ROLES
from ..analytics.kpi.catalogue import CATALOGUE, FAMILIES, Kpi, family_name
from ..analytics.kpi.docs import markdown_table
from ..reference.enums import ROLE
from ..reporting.catalogue import REPORTS
from .markdown import banner, code, table

#: What each role's scope covers, in words.
SCOPES = {
    "own": ("自己负责的客户", "the customers they own"),
    "team": ("本团队的客户", "their team's customers"),
    "all": ("全部客户", "all customers"),
}
#: Unit ids in words.
UNITS = {
    "count": ("个数", "count"),
    "share": ("比例（0..1，显示为百分比）", "share 0..1, shown as a percentage"),
    "CNY": ("人民币元", "CNY"),
    "days": ("天", "days"),
    "hours": ("小时", "hours"),
    "score": ("分值", "score"),
}


def _roles() -> str:
    rows = [
        (
            code(role.name),
            f"{ROLE.label(role.name, 'zh')} / {ROLE.label(role.name, 'en')}",
            f"{SCOPES[role.scope][0]} / {SCOPES[role.scope][1]}",
        )
        for role in ROLES.values()
    ]
    return table(("Role", "角色 / name", "A KPI covers / 指标范围"), rows)


def _section(kpi: Kpi) -> str:
    unit_words = UNITS[kpi.unit]
    better = "lower / 越低越好" if kpi.lower_is_better else "higher / 越高越好"
    reports = [r for r in REPORTS.values() if kpi.id in r.headline]
    headline = (
        ", ".join(f"{r.title_name('zh')} / {r.title_name('en')} ({code(r.name)})" for r in reports)
        or "–"
    )
    by = ", ".join(code(g) for g in kpi.by) or "– (not grouped / 不分组)"
    rows = [
        ("Family / 类别", f"{family_name(kpi.family, 'zh')} / {family_name(kpi.family, 'en')}"),
        ("Formula", kpi.formula("en")),
        ("公式", kpi.formula("zh")),
        ("Unit / 单位", f"{code(kpi.unit)}: {unit_words[1]} / {unit_words[0]}"),
        ("Better / 方向", better),
        ("Period applies to", kpi.period("en")),
        ("期间依据", kpi.period("zh")),
        ("`by=` / 分组", by),
        ("Headline of / 报表头条", headline),
    ]
    title = f"### {kpi.id}: {kpi.name('zh')} / {kpi.name('en')}"
    return "\n".join([title, "", table(("", ""), rows)])


def render() -> str:
    parts = [
        banner("the @kpi registrations in crmlib/analytics/kpi/"),
        "",
        "# KPI catalogue / 指标目录",
        "",
        "Every figure `crm kpi`, `ws.kpi()` / `ws.kpis()`, the KPI dashboard and the reports "
        "compute, each defined once where it is computed (`@kpi` in "
        "`crmlib/analytics/kpi/<family>.py`). A KPI takes the "
        "filters `period` (such as `2025-Q4`, `2025-11`), `region`, `team`, `owner`, "
        "`segment` and `as_of`, and may be grouped with `by=` as listed.",
        "",
        "## Who sees what / 谁能看到",
        "",
        "Every role may compute every KPI; the figure covers the customers (and their leads, "
        "deals and tickets) in the role's scope, so a sales rep's win rate is their own.",
        "每个角色都可以计算全部指标；指标只统计该角色权限范围内的客户（及其线索、商机和工单）。",
        "",
        _roles(),
        "",
        "## Overview / 总览",
        "",
        markdown_table(),
    ]
    for family in FAMILIES:
        parts += ["", f"## {family_name(family, 'en')} / {family_name(family, 'zh')}"]
        parts += ["", *(_section(k) + "\n" for k in CATALOGUE.values() if k.family == family)]
    return "\n".join(parts).rstrip() + "\n"
