"""What a file of each kind holds: its columns, their headers in three scripts, their rules.

Templates are written from these specs, imports read headers through them and exports
write them, so a file that goes out comes back in unchanged. Rules come from
:mod:`crmlib.rules`, the same ones the API and the entry forms use.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..reference.enums import (
    CUSTOMER_KIND,
    CUSTOMER_STATUS,
    GRADE,
    LEAD_STATUS,
    PRIORITY,
    SIZE,
    SOURCE,
    STAGE,
    TICKET_STATUS,
    TICKET_TYPE,
    VALUE_TIER,
    Enumeration,
)
from ..rules import (
    Rule,
    amount,
    date_value,
    datetime_value,
    email,
    enum_of,
    flag,
    industry,
    phone,
    postcode,
    province,
    text,
)


@dataclass(frozen=True)
class Column:
    """One column of an import or export file."""

    name: str
    zh: str
    zh_hant: str
    en: str
    rule: Rule
    example: str = ""
    enum: Enumeration | None = None
    choices: str | None = None  # a reference list for dropdowns: "industry" or "province"
    aliases: tuple[str, ...] = ()

    def header(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh

    def headers(self) -> Iterator[str]:
        yield from (self.name, self.zh, self.zh_hant, self.en, *self.aliases)


@dataclass(frozen=True)
class FileKind:
    """A kind of record that can be imported and exported."""

    name: str
    zh: str
    en: str
    columns: tuple[Column, ...]
    required: tuple[str, ...]
    #: Columns that identify an existing record, for idempotent upserts, in order of trust.
    keys: tuple[str, ...] = ("external_id",)
    #: Whether rows belong to a customer named by customer_code or customer_external_id.
    child: bool = False
    _index: dict[str, Column] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for column in self.columns:
            for header in column.headers():
                self._index.setdefault(header_key(header), column)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def find(self, header: str) -> Column | None:
        """The column a file header means, in English or simplified or traditional Chinese."""
        return self._index.get(header_key(header))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


_DECORATION = re.compile(r"[\s*＊_\-:：()（）\[\]【】]+")


def header_key(header: str) -> str:
    """Headers compare without case, width, spaces, required-markers (*) and brackets."""
    folded = unicodedata.normalize("NFKC", str(header)).casefold()
    return _DECORATION.sub("", folded)


def _c(
    name: str,
    zh: str,
    zh_hant: str,
    en: str,
    rule: Rule,
    example: str = "",
    *aliases: str,
    enum: Enumeration | None = None,
    choices: str | None = None,
) -> Column:
    return Column(name, zh, zh_hant, en, rule, example, enum, choices, aliases)


def _enum(
    name: str, zh: str, zh_hant: str, en: str, enum: Enumeration, example: str, *aliases: str
) -> Column:
    return _c(name, zh, zh_hant, en, enum_of(enum), example, *aliases, enum=enum)


EXTERNAL_ID = _c(
    "external_id",
    "外部编号",
    "外部編號",
    "External ID",
    text(128),
    "ERP-000123",
    "源系统编号",
    "外部ID",
)
CUSTOMER_CODE = _c(
    "customer_code", "客户编号", "客戶編號", "Customer code", text(24), "C20240501001", "客户代码"
)
CUSTOMER_EXTERNAL_ID = _c(
    "customer_external_id",
    "客户外部编号",
    "客戶外部編號",
    "Customer external ID",
    text(128),
    "ERP-000123",
)
OWNER = _c("owner", "负责人", "負責人", "Owner", text(64), "zhang.wei", "销售", "所属销售")
PHONE = _c(
    "phone",
    "电话",
    "電話",
    "Phone",
    phone,
    "13812345678",
    "手机",
    "手機",
    "联系电话",
    "聯繫電話",
    "mobile",
    "tel",
)
EMAIL = _c(
    "email",
    "邮箱",
    "郵箱",
    "E-mail",
    email,
    "chen.jing@pengcheng.cn",
    "电子邮箱",
    "電子郵箱",
    "电子邮件",
    "mail",
)
INDUSTRY = _c(
    "industry",
    "行业",
    "行業",
    "Industry",
    industry,
    "39",
    "所属行业",
    "所屬行業",
    choices="industry",
)
PROVINCE = _c(
    "province", "省份", "省份", "Province", province, "广东", "省", "所在省份", choices="province"
)
SOURCE_COLUMN = _enum("source", "客户来源", "客戶來源", "Source", SOURCE, "展会", "来源", "來源")

CUSTOMERS = FileKind(
    "customers",
    "客户",
    "Customers",
    (
        EXTERNAL_ID,
        _c("code", "客户编号", "客戶編號", "Code", text(24), "", "客户代码"),
        _c(
            "name",
            "客户名称",
            "客戶名稱",
            "Customer name",
            text(200),
            "深圳鹏城电子有限公司",
            "公司名称",
            "公司名稱",
            "企业名称",
            "企業名稱",
            "名称",
            "名稱",
            "姓名",
            "company",
        ),
        _enum("kind", "客户类型", "客戶類型", "Kind", CUSTOMER_KIND, "企业", "类型", "類型"),
        INDUSTRY,
        _enum("size", "企业规模", "企業規模", "Size", SIZE, "中型", "规模", "規模"),
        PROVINCE,
        _c("city", "城市", "城市", "City", text(64), "深圳", "所在城市"),
        _c("postcode", "邮编", "郵編", "Postcode", postcode, "518000", "邮政编码", "郵政編碼"),
        _c(
            "address",
            "地址",
            "地址",
            "Address",
            text(300),
            "南山区科技园科苑路 15 号",
            "详细地址",
            "詳細地址",
        ),
        _enum("grade", "客户等级", "客戶等級", "Grade", GRADE, "B", "等级", "等級"),
        _enum(
            "status", "客户状态", "客戶狀態", "Status", CUSTOMER_STATUS, "潜在客户", "状态", "狀態"
        ),
        SOURCE_COLUMN,
        OWNER,
        _c(
            "contact",
            "联系人",
            "聯繫人",
            "Contact",
            text(100),
            "陈静",
            "联系人姓名",
            "聯繫人姓名",
            "contact name",
        ),
        _c("title", "职务", "職務", "Title", text(100), "采购经理", "职位", "職位"),
        PHONE,
        EMAIL,
        _c("birthday", "生日", "生日", "Birthday", date_value, "", "出生日期"),
        _c(
            "consent_purpose",
            "授权用途",
            "授權用途",
            "Consent purpose",
            text(200),
            "",
            "个人信息授权用途",
        ),
        _c("consent_at", "授权日期", "授權日期", "Consent date", date_value, ""),
        _c("tags", "标签", "標籤", "Tags", text(500), "重点跟进", "標簽"),
    ),
    required=("name", "industry", "contact", "phone", "source"),
    keys=("external_id", "code"),
)

CONTACTS = FileKind(
    "contacts",
    "联系人",
    "Contacts",
    (
        CUSTOMER_CODE,
        CUSTOMER_EXTERNAL_ID,
        _c("name", "姓名", "姓名", "Name", text(100), "林涛", "联系人", "聯繫人"),
        _c("title", "职务", "職務", "Title", text(100), "采购经理", "职位", "職位"),
        PHONE,
        EMAIL,
        _c("is_primary", "主要联系人", "主要聯繫人", "Primary", flag, "是"),
    ),
    required=("name",),
    keys=(),
    child=True,
)

LEADS = FileKind(
    "leads",
    "线索",
    "Leads",
    (
        EXTERNAL_ID,
        _c("name", "姓名", "姓名", "Name", text(100), "王磊", "联系人", "聯繫人"),
        _c(
            "company",
            "公司名称",
            "公司名稱",
            "Company",
            text(200),
            "苏州启航机械有限公司",
            "公司",
            "企业名称",
        ),
        PHONE,
        EMAIL,
        _enum("source", "线索来源", "線索來源", "Source", SOURCE, "官网", "来源", "來源"),
        PROVINCE,
        INDUSTRY,
        _enum("value_tier", "价值等级", "價值等級", "Value tier", VALUE_TIER, "高"),
        _enum("status", "线索状态", "線索狀態", "Status", LEAD_STATUS, "新线索", "状态", "狀態"),
        _c("invalid_reason", "无效原因", "無效原因", "Invalid reason", text(300), ""),
        OWNER,
        _c("campaign", "营销活动", "營銷活動", "Campaign", text(200), "", "活动", "活動"),
        # A lead converted in the system the file comes from: the customer it became.
        CUSTOMER_CODE,
        CUSTOMER_EXTERNAL_ID,
        _c("converted_at", "转化时间", "轉化時間", "Converted at", datetime_value, ""),
    ),
    required=("name", "source"),
)

OPPORTUNITIES = FileKind(
    "opportunities",
    "商机",
    "Opportunities",
    (
        EXTERNAL_ID,
        CUSTOMER_CODE,
        CUSTOMER_EXTERNAL_ID,
        _c("name", "商机名称", "商機名稱", "Opportunity", text(200), "产线升级项目", "名称"),
        _enum("stage", "销售阶段", "銷售階段", "Stage", STAGE, "方案报价", "阶段", "階段"),
        _c("amount", "预计金额", "預計金額", "Amount", amount, "1,200,000", "金额", "金額"),
        _c(
            "expected_close_date",
            "预计成交日期",
            "預計成交日期",
            "Expected close date",
            date_value,
            "2024-06-30",
        ),
        _c("need_description", "需求描述", "需求描述", "Need", text(4000), "扩产需要两条新产线"),
        _c("proposal_version", "方案版本", "方案版本", "Proposal version", text(32), "V1.2"),
        _c("loss_reason", "输单原因", "輸單原因", "Loss reason", text(300), ""),
        OWNER,
        _c("campaign", "营销活动", "營銷活動", "Campaign", text(200), "", "活动", "活動"),
    ),
    required=("name",),
    child=True,
)

ORDERS = FileKind(
    "orders",
    "订单",
    "Orders",
    (
        EXTERNAL_ID,
        CUSTOMER_CODE,
        CUSTOMER_EXTERNAL_ID,
        _c(
            "ordered_at",
            "下单日期",
            "下單日期",
            "Order date",
            date_value,
            "2024-05-01",
            "订单日期",
            "訂單日期",
            "日期",
        ),
        _c("amount", "订单金额", "訂單金額", "Amount", amount, "35,600.00", "金额", "金額"),
        _c("product", "产品", "產品", "Product", text(200), "工业控制器 X200", "产品名称"),
        _c("category", "产品类别", "產品類別", "Category", text(64), "自动化设备", "类别", "類別"),
        _c("campaign", "营销活动", "營銷活動", "Campaign", text(200), "", "活动", "活動"),
    ),
    required=("ordered_at", "amount"),
    child=True,
)

TICKETS = FileKind(
    "tickets",
    "服务工单",
    "Tickets",
    (
        EXTERNAL_ID,
        CUSTOMER_CODE,
        CUSTOMER_EXTERNAL_ID,
        _enum("type", "工单类型", "工單類型", "Type", TICKET_TYPE, "售后", "类型", "類型"),
        _enum("priority", "优先级", "優先級", "Priority", PRIORITY, "高"),
        _enum("status", "工单状态", "工單狀態", "Status", TICKET_STATUS, "待处理", "状态", "狀態"),
        _c("subject", "主题", "主題", "Subject", text(300), "设备无法启动", "标题", "標題"),
        _c("description", "问题描述", "問題描述", "Description", text(4000), "", "描述"),
        _c("team", "处理团队", "處理團隊", "Team", text(64), "support"),
        _c("assignee", "处理人", "處理人", "Assignee", text(64), "", "负责人", "負責人"),
        _c("opened_at", "创建时间", "創建時間", "Opened at", datetime_value, "2024-05-01 09:30"),
        _c(
            "first_response_at",
            "首次响应时间",
            "首次響應時間",
            "First response at",
            datetime_value,
            "",
        ),
        _c("resolved_at", "解决时间", "解決時間", "Resolved at", datetime_value, ""),
        _c("resolution", "解决方案", "解決方案", "Resolution", text(4000), ""),
    ),
    required=("type", "priority", "subject"),
    child=True,
)
