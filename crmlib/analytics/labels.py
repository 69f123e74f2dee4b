"""Names people read on the profile, the funnel and the charts, in Chinese and English.

Kept apart from :mod:`crmlib.analytics.charts` so that the ``crm`` command can label its
tables without importing Altair.
"""

from __future__ import annotations

from ..i18n import MESSAGES, register, t
from ..reference.enums import ENUMS
from ..reference.industries import find_industry
from ..reference.regions import REGION_EN, find_province

register(
    {
        "not_set": {"zh": "未填写", "en": "Not set"},
        "other": {"zh": "其他", "en": "Other"},
        # funnel steps
        "lead": {"zh": "线索", "en": "Leads"},
        "qualified": {"zh": "意向客户", "en": "Qualified"},
        "proposal": {"zh": "方案报价", "en": "Proposal"},
        "negotiation": {"zh": "商务谈判", "en": "Negotiation"},
        "won": {"zh": "赢单", "en": "Won"},
        # days since the last follow-up
        "days_0_30": {"zh": "30天内", "en": "Within 30 days"},
        "days_31_90": {"zh": "31-90天", "en": "31-90 days"},
        "days_91_180": {"zh": "91-180天", "en": "91-180 days"},
        "days_181_365": {"zh": "181-365天", "en": "181-365 days"},
        "days_over_365": {"zh": "超过365天", "en": "Over 365 days"},
        "never": {"zh": "从未跟进", "en": "Never followed up"},
        # table headers and axis titles
        "customers": {"zh": "客户数", "en": "Customers"},
        "share": {"zh": "占比", "en": "Share"},
        "region": {"zh": "区域", "en": "Region"},
        "province": {"zh": "省份", "en": "Province"},
        "industry": {"zh": "行业", "en": "Industry"},
        "size": {"zh": "企业规模", "en": "Company size"},
        "grade": {"zh": "客户等级", "en": "Grade"},
        "kind": {"zh": "客户类型", "en": "Customer kind"},
        "category": {"zh": "产品品类", "en": "Product category"},
        "orders": {"zh": "订单数", "en": "Orders"},
        "amount": {"zh": "金额（元）", "en": "Amount (CNY)"},
        "follow_ups": {"zh": "跟进次数", "en": "Follow-ups"},
        "channel": {"zh": "跟进渠道", "en": "Channel"},
        "last_contact": {"zh": "距上次跟进", "en": "Since last follow-up"},
        "step": {"zh": "环节", "en": "Step"},
        "count": {"zh": "数量", "en": "Count"},
        "step_conversion": {"zh": "环节转化率", "en": "Step conversion"},
        "cumulative_conversion": {"zh": "累计转化率", "en": "Cumulative conversion"},
        "avg_days": {"zh": "平均停留天数", "en": "Average days in step"},
        "lost": {"zh": "流失数", "en": "Lost"},
        "reason": {"zh": "流失原因", "en": "Loss reason"},
        "value": {"zh": "数值", "en": "Value"},
        "period": {"zh": "期间", "en": "Period"},
        "group": {"zh": "分组", "en": "Group"},
        "cohort": {"zh": "首购月份", "en": "Cohort"},
        "months_since": {"zh": "间隔月数", "en": "Months since first order"},
        "retention": {"zh": "留存率", "en": "Retention"},
        "segment": {"zh": "客户分群", "en": "Segment"},
        "team": {"zh": "团队", "en": "Team"},
        "owner": {"zh": "负责人", "en": "Owner"},
        "month": {"zh": "月份", "en": "Month"},
        "unit": {"zh": "单位", "en": "Unit"},
        "formula": {"zh": "计算方法", "en": "Formula"},
        "bucket": {"zh": "距上次跟进", "en": "Since last follow-up"},
        "recency_days": {"zh": "距上次购买天数", "en": "Days since last order"},
        "frequency": {"zh": "购买次数", "en": "Orders"},
        "monetary": {"zh": "消费金额", "en": "Amount spent"},
        "active": {"zh": "活跃客户数", "en": "Active customers"},
        "bin": {"zh": "风险分段", "en": "Risk bin"},
        "start": {"zh": "风险下限", "en": "Risk from"},
        "end": {"zh": "风险上限", "en": "Risk to"},
        "stage": {"zh": "阶段", "en": "Stage"},
        "source": {"zh": "来源", "en": "Source"},
        "risk": {"zh": "流失风险", "en": "Churn risk"},
        "risk_band": {"zh": "风险等级", "en": "Risk band"},
        # chart titles
        "title_regions": {"zh": "客户区域分布", "en": "Customers by region"},
        "title_provinces": {"zh": "客户省份分布（前{n}）", "en": "Customers by province (top {n})"},
        "title_industries": {"zh": "前五大行业", "en": "Top 5 industries"},
        "title_sizes": {"zh": "企业规模分布", "en": "Customers by company size"},
        "title_preferences": {
            "zh": "各{group}的产品偏好（金额占比）",
            "en": "Product preference by {group} (share of amount)",
        },
        "title_recency": {"zh": "距上次跟进天数分布", "en": "Days since the last follow-up"},
        "title_channels": {"zh": "跟进渠道偏好", "en": "Follow-up channel preference"},
        "title_funnel": {"zh": "销售漏斗", "en": "Sales funnel"},
        "title_stage_days": {"zh": "各环节平均停留天数", "en": "Average days in each step"},
        "title_losses": {"zh": "流失原因", "en": "Loss reasons"},
        "title_kpi_groups": {"zh": "{kpi}（按{group}）", "en": "{kpi} by {group}"},
        "title_kpi_trend": {"zh": "{kpi}趋势", "en": "{kpi} over time"},
        "title_cohorts": {"zh": "月度同期群留存", "en": "Monthly cohort retention"},
        "title_rfm": {"zh": "RFM 客户分群", "en": "RFM segments"},
        "title_churn": {"zh": "流失风险分布", "en": "Churn risk distribution"},
    },
    namespace="figures",
)

#: The figure groups a profile's product preference can be split by.
GROUP_COLUMNS = ("grade", "industry", "size", "region", "kind")


def label(key: str, lang: str | None = None, **values: object) -> str:
    """A figure label such as ``label("customers")`` in ``lang``."""
    return t(f"figures:{key}", lang, **values)


def group_label(column: str, lang: str | None = None) -> str:
    """The name of a group column (``by="team"`` reads 团队); a column without one keeps
    its name, which is then a name already."""
    return label(column, lang) if f"figures:{column}" in MESSAGES else column


def value_label(column: str, code: object, lang: str) -> str:
    """How a stored value of ``column`` (a region, province, industry section, enum code)
    reads in ``lang``; missing values read "not set"."""
    if code is None or code == "" or (isinstance(code, float) and code != code):
        return label("not_set", lang)
    text = str(code)
    english = not lang.startswith("zh")
    if column == "region":
        return REGION_EN.get(text, text) if english else text
    if column == "province":
        province = find_province(text)
        return province.label(lang) if province else text
    if column == "industry":
        industry = find_industry(text)
        return industry.label(lang) if industry else text
    enum = ENUMS.get(column)
    return enum.label(text, lang) if enum else text
