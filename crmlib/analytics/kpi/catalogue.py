"""The KPI catalogue: every figure's id, names, formula, unit, period date and groupings,
defined once here so the dashboard, the ``crm kpi`` command and the README all say the same.

``period`` names the date the period filter applies to; ``as of`` figures are stocks
measured on the as-of day (``as_of``, else the period's last day, else today).
"""

from __future__ import annotations

from dataclasses import dataclass

#: Units: a count, a share 0..1, money in CNY, a duration, or a score.
UNITS = ("count", "share", "CNY", "days", "hours", "score")
#: Figures where lower is better (costs, durations, churn); higher is better for the rest.
LOWER_IS_BETTER = frozenset(
    {
        "churn_rate",
        "cac",
        "sales_cycle_days",
        "stage_days",
        "first_response_hours",
        "resolution_hours",
    }
)
#: Customer attributes every customer-based KPI can be grouped by (the customer's owner).
CUSTOMER_GROUPS = ("region", "province", "team", "owner", "industry")
FAMILIES = {
    "customers": ("客户", "Customers"),
    "value": ("价值", "Value"),
    "sales": ("销售", "Sales"),
    "service": ("服务", "Service"),
    "data": ("数据", "Data"),
}


@dataclass(frozen=True)
class Kpi:
    """One figure: what it is called, how it is computed and how it may be grouped."""

    id: str
    family: str
    zh: str
    en: str
    formula_zh: str
    formula_en: str
    unit: str
    period_zh: str
    period_en: str
    by: tuple[str, ...] = ()

    def name(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en

    def formula(self, lang: str) -> str:
        return self.formula_zh if lang == "zh" else self.formula_en

    def period(self, lang: str) -> str:
        return self.period_zh if lang == "zh" else self.period_en


FLOW = (*CUSTOMER_GROUPS, "month")
STOCK = CUSTOMER_GROUPS

_ALL = (
    # -- customers ------------------------------------------------------------------
    Kpi(
        "new_customers",
        "customers",
        "新增客户数",
        "New customers",
        "期间内建档的客户数",
        "Customers created in the period",
        "count",
        "客户建档时间",
        "customer created_at",
        FLOW,
    ),
    Kpi(
        "active_customers",
        "customers",
        "活跃客户数",
        "Active customers",
        "截至日前 12 个月内（含截至日）有订单的客户数",
        "Customers with an order in the 12 months up to and including the as-of day",
        "count",
        "截至日（存量）",
        "as of (stock)",
        STOCK,
    ),
    Kpi(
        "retention_12m",
        "customers",
        "12 个月留存率",
        "12-month retention",
        "前一个 12 个月有订单、且最近 12 个月也有订单的客户数 ÷ 前一个 12 个月有订单的客户数",
        "Customers with orders both in the last 12 months and in the 12 months before, "
        "over customers with orders in the 12 months before",
        "share",
        "截至日（最近 24 个月的订单）",
        "as of (orders of the last 24 months)",
        STOCK,
    ),
    Kpi(
        "churn_rate",
        "customers",
        "流失率",
        "Churn rate",
        "期初活跃（期初前 12 个月有订单）的客户中，截至日前 12 个月没有订单的比例",
        "Of the customers active at the period's start (an order in the 12 months before "
        "it), the share with no order in the 12 months up to the as-of day",
        "share",
        "期初与截至日（无期间时为截至日前 12 个月）",
        "period start and as-of day (no period: the 12 months up to as of)",
        STOCK,
    ),
    # -- value ----------------------------------------------------------------------
    Kpi(
        "repurchase_rate",
        "value",
        "复购率",
        "Repurchase rate",
        "期间内下单 2 次及以上的客户数 ÷ 期间内下单的客户数",
        "Customers with two or more orders in the period over customers with an order in it",
        "share",
        "订单日期",
        "order ordered_at",
        STOCK,
    ),
    Kpi(
        "aov",
        "value",
        "客单价",
        "Average order value",
        "期间内订单金额合计 ÷ 订单数",
        "Order amount in the period over the number of orders",
        "CNY",
        "订单日期",
        "order ordered_at",
        FLOW,
    ),
    Kpi(
        "revenue",
        "value",
        "销售额",
        "Revenue",
        "期间内订单金额合计",
        "Sum of order amounts in the period",
        "CNY",
        "订单日期",
        "order ordered_at",
        FLOW,
    ),
    Kpi(
        "clv",
        "value",
        "客户终身价值（历史）",
        "Customer lifetime value (historic)",
        "截至日为止的订单金额合计 ÷ 有过订单的客户数（预测值见客户终身价值预测）",
        "Order amount up to the as-of day over the customers with an order "
        "(for the forecast see clv_forecast)",
        "CNY",
        "截至日（全部历史订单）",
        "as of (all orders so far)",
        STOCK,
    ),
    Kpi(
        "cac",
        "value",
        "获客成本",
        "Customer acquisition cost",
        "（期间内开始的营销活动实际成本，按活动成员中本范围客户的比例分摊 + 每月销售成本"
        "（设置）× 月数，按新增客户平均分摊）÷ 新增客户数",
        "(actual cost of the campaigns started in the period, apportioned by the share of "
        "their members among these customers, + sales cost sales_cost_per_month × months, "
        "spread evenly over all new customers) over new customers",
        "CNY",
        "活动开始日期、客户建档时间",
        "campaign start_date, customer created_at",
    ),
    # -- sales ----------------------------------------------------------------------
    Kpi(
        "lead_conversion",
        "sales",
        "线索转化率",
        "Lead conversion",
        "期间内创建的线索中，截至日前已转化为客户的比例（按线索自身的大区/团队/负责人筛选）",
        "Share of the leads created in the period that were converted to customers by the "
        "as-of day (filtered by the lead's own region, team and owner)",
        "share",
        "线索创建时间",
        "lead created_at",
        (*FLOW,),
    ),
    Kpi(
        "win_rate",
        "sales",
        "赢单率",
        "Win rate",
        "期间内关闭的商机中赢单的比例：赢单 ÷（赢单 + 输单）",
        "Won over won plus lost, of the opportunities closed in the period",
        "share",
        "商机关闭时间",
        "opportunity closed_at",
        FLOW,
    ),
    Kpi(
        "sales_cycle_days",
        "sales",
        "平均销售周期",
        "Average sales cycle",
        "期间内赢单的商机从创建到关闭的平均天数",
        "Mean days from creation to close of the opportunities won in the period",
        "days",
        "商机关闭时间",
        "opportunity closed_at",
        FLOW,
    ),
    Kpi(
        "pipeline_value",
        "sales",
        "商机管道金额",
        "Pipeline value",
        "截至日仍未关闭（截至日及以前创建，且未关闭或在截至日后关闭）的商机金额合计",
        "Amount of the opportunities open on the as-of day (created by then and not closed "
        "by then)",
        "CNY",
        "截至日（存量）",
        "as of (stock)",
        STOCK,
    ),
    Kpi(
        "weighted_forecast",
        "sales",
        "加权预测",
        "Weighted forecast",
        "截至日未关闭商机的 金额 × 赢单概率 合计（概率为商机自身的，随阶段设定）",
        "Sum of amount × probability of the opportunities open on the as-of day (each "
        "deal's own probability, set from its stage)",
        "CNY",
        "截至日（存量）",
        "as of (stock)",
        STOCK,
    ),
    Kpi(
        "stage_days",
        "sales",
        "各阶段平均停留天数",
        "Average days in each stage",
        "期间内进入、且已离开该阶段的停留记录的平均天数（每阶段一行）",
        "Mean days of the completed stays in each stage that began in the period "
        "(one row per stage)",
        "days",
        "进入阶段时间",
        "stage history entered_at",
    ),
    # -- service --------------------------------------------------------------------
    Kpi(
        "first_response_hours",
        "service",
        "平均首次响应时长",
        "Average first response time",
        "期间内创建且已响应的工单，从创建到首次响应的平均小时数（日历时间）",
        "Mean hours from opening to first response of the tickets opened in the period and "
        "answered (calendar time)",
        "hours",
        "工单创建时间",
        "ticket opened_at",
        FLOW,
    ),
    Kpi(
        "sla_compliance",
        "service",
        "SLA 达成率",
        "SLA compliance",
        "期间内创建、已解决或解决时限已过的工单中，按时首次响应且按时解决的比例",
        "Of the tickets opened in the period that are resolved or past their resolution due "
        "time, the share answered and resolved within their due times",
        "share",
        "工单创建时间",
        "ticket opened_at",
        FLOW,
    ),
    Kpi(
        "resolution_hours",
        "service",
        "平均解决时长",
        "Average resolution time",
        "期间内创建且已解决的工单，从创建到解决的平均小时数（日历时间）",
        "Mean hours from opening to resolution of the tickets opened in the period and "
        "resolved (calendar time)",
        "hours",
        "工单创建时间",
        "ticket opened_at",
        FLOW,
    ),
    Kpi(
        "csat",
        "service",
        "客户满意度（CSAT）",
        "CSAT",
        "期间内满意度答卷中 4 分或 5 分的比例",
        "Share of 4 and 5 among the CSAT answers",
        "share",
        "答卷时间",
        "feedback answered_at",
        FLOW,
    ),
    Kpi(
        "nps",
        "service",
        "净推荐值（NPS）",
        "NPS",
        "（推荐者 9-10 分 − 贬损者 0-6 分）÷ 答卷数 × 100",
        "(promoters 9-10 minus detractors 0-6) over answers, × 100",
        "score",
        "答卷时间",
        "feedback answered_at",
        FLOW,
    ),
    # -- data -----------------------------------------------------------------------
    Kpi(
        "completeness",
        "data",
        "资料完整度",
        "Completeness",
        "数据质量评分卡的完整性维度：每个客户字段已填写的比例的平均值",
        "The data-quality scorecard's completeness: the mean over customer fields of the "
        "share of customers that have the field filled in",
        "share",
        "当前（不随期间变化）",
        "now (the period does not apply)",
        STOCK,
    ),
)

CATALOGUE: dict[str, Kpi] = {kpi.id: kpi for kpi in _ALL}
