"""The report catalogue: each report notebook's name, titles and headline KPIs, defined once
for the notebooks, the runner, the landing page and the ``crm report`` command."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import FieldError, ValidationError
from ..i18n import register, t

register(
    {"unknown": {"zh": "不是报表（可用：{known}）", "en": "is not a report (known: {known})"}},
    namespace="report_catalogue",
)

#: Where the report notebooks live, relative to the project (``crm report`` and Voila).
NOTEBOOKS = Path("notebooks") / "reports"


@dataclass(frozen=True)
class Report:
    """One report notebook."""

    name: str
    zh: str
    en: str
    about_zh: str
    about_en: str
    headline: tuple[str, ...]  # KPI ids shown as the report's headline numbers
    population: str  # what "empty" means: no customers, leads or tickets in the filters

    def title_name(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en

    def about(self, lang: str) -> str:
        return self.about_zh if lang == "zh" else self.about_en

    @property
    def notebook(self) -> str:
        return f"{self.name}.ipynb"


REPORTS: dict[str, Report] = {
    r.name: r
    for r in (
        Report(
            "kpi_dashboard",
            "经营指标看板",
            "KPI dashboard",
            "客户、价值、销售、服务与数据质量的全部指标",
            "Every KPI: customers, value, sales, service and data quality",
            (
                "new_customers",
                "active_customers",
                "revenue",
                "aov",
                "win_rate",
                "lead_conversion",
                "sla_compliance",
                "csat",
            ),
            "customers",
        ),
        Report(
            "customer_profile",
            "客户画像分析报告",
            "Customer profile report",
            "区域、行业、规模、价值、产品偏好与跟进情况",
            "Regions, industries, sizes, value, product preference and follow-ups",
            ("new_customers", "active_customers", "aov", "repurchase_rate"),
            "customers",
        ),
        Report(
            "sales_funnel",
            "销售漏斗分析报告",
            "Sales funnel report",
            "线索到赢单的转化、各阶段停留天数与丢单原因",
            "Conversion from lead to won deal, days per stage and loss reasons",
            (
                "lead_conversion",
                "win_rate",
                "sales_cycle_days",
                "pipeline_value",
                "weighted_forecast",
            ),
            "leads",
        ),
        Report(
            "segments",
            "客户分群分析报告",
            "Customer segments report",
            "RFM 分群、留存队列与流失风险",
            "RFM segments, retention cohorts and churn risk",
            ("active_customers", "retention_12m", "churn_rate", "clv"),
            "customers",
        ),
        Report(
            "service_quality",
            "客户服务质量报告",
            "Service quality report",
            "响应与解决时长、SLA 达成率、满意度与净推荐值",
            "Response and resolution times, SLA compliance, CSAT and NPS",
            ("first_response_hours", "resolution_hours", "sla_compliance", "csat", "nps"),
            "tickets",
        ),
    )
}


def report(name: str) -> Report:
    """The report called ``name``; an unknown name is a clear error."""
    try:
        return REPORTS[name]
    except KeyError:
        known = ", ".join(REPORTS)
        raise ValidationError(
            FieldError("report", name, "report", t("report_catalogue:unknown", known=known))
        ) from None
