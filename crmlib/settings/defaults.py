"""The settings' defaults and what each means, for people (the reference page and
``crm settings`` show them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DEFAULTS: dict[str, Any] = {
    # Grade from trailing-12-month spend in CNY: A at or above the first, B at or above the second.
    "grade_thresholds": {"A": 500_000, "B": 100_000},
    "backup_retention_days": 30,
    # Fields a customer file must have, per kind (the handbook's company template).
    "required_fields": {
        "company": ["name", "industry", "contact", "phone", "source"],
        "person": ["name"],
    },
    "size_headcount": {"medium": 100, "large": 1000},
    "stage_probability": {
        "contact": 0.1,
        "needs_analysis": 0.25,
        "proposal": 0.5,
        "negotiation": 0.75,
        "won": 1.0,
        "lost": 0.0,
    },
    # An open opportunity with no follow-up, stage change or edit for this long is stale.
    "stale_opportunity_days": 30,
    # Lead routing: the first rule whose region and industry section match (None matches
    # anything) names the team; within the team, "round_robin" or "fewest_open" picks the rep.
    "lead_assignment": {"rules": [], "method": "round_robin"},
    # Hours to the first response and to resolution, per ticket priority.
    "sla_policy": {
        "high": {"first_response_hours": 24, "resolution_hours": 72},
        "medium": {"first_response_hours": 48, "resolution_hours": 120},
        "low": {"first_response_hours": 72, "resolution_hours": 240},
    },
    # None: SLA clocks run around the clock; else e.g.
    # {"start": "09:00", "end": "18:00", "weekdays": [1, 2, 3, 4, 5]} (ISO weekdays).
    "business_hours": None,
    # A ticket is at risk once this share of an SLA allowance has elapsed.
    "sla_at_risk_share": 0.75,
    # Ticket type -> the team that handles it (e.g. technical -> support).
    "ticket_routing": {"technical": "support"},
    # Lifecycle refresh: active -> lost after this many days without an order; customers
    # with neither orders nor follow-ups for archive_after_days are flagged for archiving.
    "lifecycle": {"lost_after_days": 365, "archive_after_days": 730},
    # Churn risk: a buyer has churned when no order follows within horizon_days; scoring
    # tags customers whose risk reaches the threshold 高流失风险.
    "churn": {"horizon_days": 180, "threshold": 0.7},
    # CAC: sales cost per month in CNY (salaries, travel) added to campaign costs.
    "sales_cost_per_month": 0,
}


@dataclass(frozen=True)
class SettingInfo:
    """What a setting holds and what it changes, for people (docs/reference/settings.md,
    ``crm settings``): a short name, the kind of value, and a description, each language."""

    title_en: str
    title_zh: str
    type: str
    en: str
    zh: str

    def title(self, lang: str) -> str:
        return self.title_zh if lang == "zh" else self.title_en


#: One description per key of :data:`DEFAULTS` (a test keeps the two in step).
DESCRIPTIONS: dict[str, SettingInfo] = {
    "grade_thresholds": SettingInfo(
        "Customer grade thresholds",
        "客户等级阈值",
        "object: grade → CNY",
        "Customer grade from the trailing-12-month order amount: A at or above `A`, B at or "
        "above `B`, else C. Applied by `crm refresh` (the nightly lifecycle refresh).",
        "按近 12 个月订单金额定客户等级：不低于 `A` 为 A 类，不低于 `B` 为 B 类，其余为 C 类。"
        "由 `crm refresh`（每晚的生命周期刷新）应用。",
    ),
    "backup_retention_days": SettingInfo(
        "Backup retention",
        "备份保留天数",
        "integer (days)",
        "`crm backup` removes backups older than this (`--keep-days` overrides it).",
        "`crm backup` 删除早于此天数的备份（`--keep-days` 优先）。",
    ),
    "required_fields": SettingInfo(
        "Required customer fields",
        "客户必填字段",
        "object: customer kind → list of fields",
        "Fields a customer of each kind (`company`, `person`) must have, on every entry path: "
        "the API, the notebooks, `crm import` and its templates.",
        "各类客户（`company` 企业、`person` 个人）必填的字段，适用于所有录入途径：API、笔记本、"
        "`crm import` 及其模板。",
    ),
    "size_headcount": SettingInfo(
        "Company size by headcount",
        "企业规模人数界限",
        "object: size → headcount",
        "Headcounts at which a company counts as `medium` and `large`. No code reads it yet.",
        "企业规模为中型（`medium`）和大型（`large`）的人数下限。目前尚未被代码使用。",
    ),
    "stage_probability": SettingInfo(
        "Win probability by stage",
        "各阶段赢单概率",
        "object: stage → share 0..1",
        "The win probability an opportunity takes when it enters each stage; the weighted "
        "forecast multiplies amounts by it.",
        "商机进入各阶段时设定的赢单概率；加权预测以金额乘以该概率。",
    ),
    "stale_opportunity_days": SettingInfo(
        "Stale opportunity after",
        "商机停滞天数",
        "integer (days)",
        "An open opportunity with no follow-up, stage change or edit for this long is stale "
        "(`crm stale`; `--days` overrides it).",
        "未关闭的商机在这么多天内没有跟进、阶段变化或修改即视为停滞"
        "（`crm stale`；`--days` 优先）。",
    ),
    "lead_assignment": SettingInfo(
        "Lead assignment rules",
        "线索分配规则",
        "object: `rules` (list of region, industry, team) and `method`",
        "How `crm leads assign` hands out unassigned leads: the first rule whose region and "
        "industry section match (null matches anything) names the team; within the team "
        "`round_robin` or `fewest_open` picks the sales rep.",
        "`crm leads assign` 分配未分配线索的方式：第一条大区和行业门类匹配的规则（null 匹配任何值）"
        "决定团队；团队内按 `round_robin`（轮流）或 `fewest_open`（在办最少）选定销售。",
    ),
    "sla_policy": SettingInfo(
        "Ticket SLA hours",
        "工单服务时限",
        "object: priority → first_response_hours, resolution_hours",
        "Hours to the first response and to resolution, per ticket priority.",
        "各工单优先级的首次响应时限和解决时限（小时）。",
    ),
    "business_hours": SettingInfo(
        "Business hours",
        "工作时间",
        "null, or object: start, end, weekdays",
        "null: SLA clocks run around the clock; else they run only within these hours, e.g. "
        '`{"start": "09:00", "end": "18:00", "weekdays": [1, 2, 3, 4, 5]}` (ISO weekdays).',
        "null：SLA 计时全天候进行；否则只在这些工作时间内计时，例如 "
        '`{"start": "09:00", "end": "18:00", "weekdays": [1, 2, 3, 4, 5]}`（ISO 星期）。',
    ),
    "sla_at_risk_share": SettingInfo(
        "SLA at-risk share",
        "服务时限预警比例",
        "number 0..1",
        "A ticket is at risk (`crm tickets at-risk`) once this share of an SLA allowance has "
        "elapsed.",
        "SLA 时限已用去这个比例后，工单即为有风险（`crm tickets at-risk`）。",
    ),
    "ticket_routing": SettingInfo(
        "Ticket routing",
        "工单分派",
        "object: ticket type → team",
        "The team a new ticket of each type goes to when no team is given.",
        "未指定团队时，各类型新工单分派到的团队。",
    ),
    "lifecycle": SettingInfo(
        "Customer lifecycle",
        "客户生命周期",
        "object: lost_after_days, archive_after_days",
        "`crm refresh`: an active customer becomes lost after `lost_after_days` without an "
        "order; customers with neither orders nor follow-ups for `archive_after_days` are "
        "flagged for archiving.",
        "`crm refresh`：活跃客户在 `lost_after_days` 天内无订单即转为流失；`archive_after_days` "
        "天内既无订单也无跟进的客户标记为待归档。",
    ),
    "churn": SettingInfo(
        "Churn risk",
        "流失风险",
        "object: horizon_days, threshold",
        "Churn risk: a buyer has churned when no order follows within `horizon_days`; "
        "`crm churn score` tags customers whose risk reaches `threshold` 高流失风险.",
        "流失风险：客户在 `horizon_days` 天内没有后续订单即为流失；`crm churn score` "
        "给风险达到 `threshold` 的客户打上“高流失风险”标签。",
    ),
    "sales_cost_per_month": SettingInfo(
        "Monthly sales cost",
        "每月销售成本",
        "number (CNY)",
        "Sales cost per month (salaries, travel) that the `cac` KPI adds to campaign costs.",
        "每月销售成本（薪资、差旅），获客成本指标 `cac` 将其计入营销活动成本。",
    ),
}
