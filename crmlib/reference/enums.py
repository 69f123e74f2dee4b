"""Enumerations of the data model. The stored value is the English code; labels are for people."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Choice:
    code: str
    zh: str
    en: str

    def label(self, lang: str = "zh") -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class Enumeration:
    """A closed list of choices that accepts its code or either label as input."""

    name: str
    choices: tuple[Choice, ...]

    def __iter__(self) -> Iterator[Choice]:
        return iter(self.choices)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.choices)

    def lookup(self, text: str) -> Choice | None:
        """The choice whose code or label equals ``text`` (case-insensitive, trimmed)."""
        key = text.strip().casefold()
        for choice in self.choices:
            if key in (choice.code.casefold(), choice.zh.casefold(), choice.en.casefold()):
                return choice
        return None

    def label(self, code: str, lang: str = "zh") -> str:
        choice = self.lookup(code)
        return choice.label(lang) if choice else code


def _enum(name: str, *rows: tuple[str, str, str]) -> Enumeration:
    return Enumeration(name, tuple(Choice(*row) for row in rows))


ROLE = _enum(
    "role",
    ("admin", "管理员", "Administrator"),
    ("manager", "经理", "Manager"),
    ("sales", "销售", "Sales"),
    ("marketing", "市场", "Marketing"),
    ("service", "客服", "Service"),
    ("finance", "财务", "Finance"),
    ("analyst", "分析师", "Analyst"),
)
CUSTOMER_KIND = _enum("kind", ("company", "企业", "Company"), ("person", "个人", "Person"))
GRADE = _enum("grade", ("A", "A类", "Grade A"), ("B", "B类", "Grade B"), ("C", "C类", "Grade C"))
SIZE = _enum(
    "size",
    ("small", "小型", "Small"),
    ("medium", "中型", "Medium"),
    ("large", "大型", "Large"),
)
CUSTOMER_STATUS = _enum(
    "status",
    ("potential", "潜在客户", "Potential"),
    ("active", "活跃客户", "Active"),
    ("lost", "流失客户", "Lost"),
    ("archived", "已归档", "Archived"),
)
SOURCE = _enum(
    "source",
    ("website", "官网", "Website"),
    ("exhibition", "展会", "Exhibition"),
    ("referral", "转介绍", "Referral"),
    ("phone", "电话", "Phone"),
    ("campaign", "营销活动", "Campaign"),
    ("social", "社交媒体", "Social media"),
    ("other", "其他", "Other"),
)
LEAD_STATUS = _enum(
    "lead_status",
    ("new", "新线索", "New"),
    ("contacted", "已联系", "Contacted"),
    ("qualified", "已确认", "Qualified"),
    ("converted", "已转化", "Converted"),
    ("invalid", "无效", "Invalid"),
)
VALUE_TIER = _enum(
    "value_tier", ("high", "高", "High"), ("medium", "中", "Medium"), ("low", "低", "Low")
)
STAGE = _enum(
    "stage",
    ("contact", "初步接触", "Contact"),
    ("needs_analysis", "需求分析", "Needs analysis"),
    ("proposal", "方案报价", "Proposal"),
    ("negotiation", "商务谈判", "Negotiation"),
    ("won", "赢单", "Won"),
    ("lost", "输单", "Lost"),
)
CHANNEL = _enum(
    "channel",
    ("phone", "电话", "Phone"),
    ("email", "邮件", "E-mail"),
    ("visit", "拜访", "Visit"),
    ("wechat", "微信", "WeChat"),
    ("meeting", "会议", "Meeting"),
)
CAMPAIGN_CHANNEL = _enum(
    "campaign_channel",
    ("email", "邮件", "E-mail"),
    ("sms", "短信", "SMS"),
    ("wechat", "微信", "WeChat"),
    ("exhibition", "展会", "Exhibition"),
    ("webinar", "线上研讨会", "Webinar"),
    ("advertising", "广告", "Advertising"),
)
MEMBER_STATUS = _enum(
    "member_status",
    ("sent", "已触达", "Sent"),
    ("responded", "已响应", "Responded"),
    ("converted", "已转化", "Converted"),
)
TICKET_TYPE = _enum(
    "ticket_type",
    ("inquiry", "咨询", "Inquiry"),
    ("complaint", "投诉", "Complaint"),
    ("after_sales", "售后", "After-sales"),
    ("technical", "技术支持", "Technical"),
)
PRIORITY = _enum(
    "priority", ("high", "高", "High"), ("medium", "中", "Medium"), ("low", "低", "Low")
)
TICKET_STATUS = _enum(
    "ticket_status",
    ("open", "待处理", "Open"),
    ("in_progress", "处理中", "In progress"),
    ("resolved", "已解决", "Resolved"),
    ("closed", "已关闭", "Closed"),
)
TICKET_EVENT = _enum(
    "ticket_event",
    ("status", "状态变更", "Status change"),
    ("transfer", "转派", "Transfer"),
    ("comment", "备注", "Comment"),
    ("response", "首次响应", "First response"),
)
FEEDBACK_KIND = _enum("feedback_kind", ("csat", "满意度", "CSAT"), ("nps", "净推荐值", "NPS"))
TASK_STATUS = _enum(
    "task_status",
    ("open", "待办", "Open"),
    ("in_progress", "进行中", "In progress"),
    ("done", "已完成", "Done"),
    ("cancelled", "已取消", "Cancelled"),
)

#: Teams are free text; these are the ones the demo and the default ticket routing use,
#: named after the regions of :mod:`crmlib.reference.regions`. Other teams read as typed.
TEAM = _enum(
    "team",
    ("east", "华东团队", "East China team"),
    ("south", "华南团队", "South China team"),
    ("north", "华北团队", "North China team"),
    ("central", "华中团队", "Central China team"),
    ("southwest", "西南团队", "Southwest China team"),
    ("northwest", "西北团队", "Northwest China team"),
    ("northeast", "东北团队", "Northeast China team"),
    ("service", "客服团队", "Service team"),
    ("support", "技术支持团队", "Support team"),
    ("marketing", "市场团队", "Marketing team"),
    ("finance", "财务团队", "Finance team"),
    ("analytics", "数据分析团队", "Analytics team"),
)
SLA_STATE = _enum(
    "sla_state",
    ("ok", "正常", "OK"),
    ("at_risk", "即将超时", "At risk"),
    ("breached", "已超时", "Breached"),
)
RECORD_KIND = _enum(
    "record_kind",
    ("customer", "客户", "Customer"),
    ("opportunity", "商机", "Opportunity"),
    ("ticket", "工单", "Ticket"),
    ("lead", "线索", "Lead"),
)
REMINDER_KIND = _enum("reminder_kind", ("follow_up", "跟进", "Follow-up"), ("task", "任务", "Task"))
REPORT_RUN_STATUS = _enum(
    "report_run_status",
    ("running", "运行中", "Running"),
    ("ok", "已完成", "Done"),
    ("warning", "已完成（有提示）", "Done, with a note"),
    ("skipped", "已跳过", "Skipped"),
    ("failed", "失败", "Failed"),
)
REPORT_OUTPUT = _enum(
    "report_output",
    ("notebook", "笔记本", "Notebook"),
    ("html", "网页", "Web page"),
    ("pdf", "PDF 文件", "PDF"),
    ("xlsx", "Excel 工作簿", "Excel workbook"),
)
#: Lists people read but never type into a record's field (no validation rule uses them).
SHOWN_ONLY: tuple[Enumeration, ...] = (
    TEAM,
    SLA_STATE,
    RECORD_KIND,
    REMINDER_KIND,
    REPORT_RUN_STATUS,
    REPORT_OUTPUT,
)

ENUMS: dict[str, Enumeration] = {
    e.name: e
    for e in (
        ROLE,
        CUSTOMER_KIND,
        GRADE,
        SIZE,
        CUSTOMER_STATUS,
        SOURCE,
        LEAD_STATUS,
        VALUE_TIER,
        STAGE,
        CHANNEL,
        CAMPAIGN_CHANNEL,
        MEMBER_STATUS,
        TICKET_TYPE,
        PRIORITY,
        TICKET_STATUS,
        TICKET_EVENT,
        FEEDBACK_KIND,
        TASK_STATUS,
    )
}


def enumeration(name: str) -> Enumeration:
    return ENUMS[name]
