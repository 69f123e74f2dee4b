"""What a file of each kind holds: its columns, the words people use for them, their rules.

Templates are written from these specs, imports read headers through them and exports
write them, so a file that goes out comes back in unchanged. Rules come from
:mod:`crmlib.rules`, the same ones the API and the entry forms use. A column's labels
(the headers templates and exports write) are in the message catalogue as
``column:<kind>.<field>``; every other header and value word an import accepts is in
:data:`SYNONYMS`, the one table of them.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from types import MappingProxyType

import numpy as np
import pandas as pd

from ..errors import FieldError, ValidationError
from ..i18n import LANGUAGES, catalogue, t
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
from ..registry import Registry
from ..rules import (
    Rule,
    amount,
    date_value,
    datetime_value,
    email,
    enum_of,
    flag,
    identifier,
    industry,
    phone,
    postcode,
    province,
    text,
)
from ..rules.columns import apply_rule
from ..rules.customers import TAGS
from ..store.codes import CODE

_DECORATION = re.compile(r"[\s*＊_\-:：()（）\[\]【】]+")


def header_key(header: str) -> str:
    """Headers compare without case, width, spaces, required-markers (*) and brackets."""
    folded = unicodedata.normalize("NFKC", str(header)).casefold()
    return _DECORATION.sub("", folded)


def parse_mapping(items: Iterable[str]) -> dict[str, str]:
    """``列名=field`` items (``crm import --map``, a line of the import notebook's mapping)
    as header to field; an item without ``=`` or with an empty side is a clear error."""
    mapping: dict[str, str] = {}
    for item in items:
        header, equals, target = item.partition("=")
        if not (equals and header.strip() and target.strip()):
            raise ValidationError(FieldError("map", item, "mapping", t("import_mapping_syntax")))
        mapping[header.strip()] = target.strip()
    return mapping


def value_key(value: str) -> str:
    """Value words compare without case, width and surrounding spaces."""
    return unicodedata.normalize("NFKC", value).casefold().strip()


@dataclass(frozen=True)
class Words:
    """What people write for one field besides its labels: other headers (traditional
    Chinese forms, other systems' and handbooks' names) and other words for its values,
    each to the code the field stores."""

    headers: tuple[str, ...] = ()
    values: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @cached_property
    def codes(self) -> dict[str, str]:
        """Each value word as :func:`value_key` folds it, to its code."""
        return {value_key(word): code for word, code in self.values.items()}


def _words(*headers: str, values: Mapping[str, str] | None = None) -> Words:
    return Words(headers, MappingProxyType(dict(values or {})))


# Words shared by the fields of several kinds.
_EXTERNAL_ID = _words("外部編號", "源系统编号", "源系統編號", "外部ID")
_CUSTOMER_CODE = _words("客戶編號", "客户代码", "客戶代碼")
_CUSTOMER_EXTERNAL_ID = _words("客戶外部編號")
_OWNER = _words("負責人", "销售", "銷售", "所属销售", "所屬銷售")
_PHONE = _words(
    "電話",
    "手机",
    "手機",
    "联系电话",
    "聯繫電話",
    "联系方式",
    "聯繫方式",
    "聯絡方式",
    "mobile",
    "tel",
)
_EMAIL = _words("郵箱", "电子邮箱", "電子郵箱", "电子邮件", "電子郵件", "mail")
#: GB/T 4754 sections as traditional Chinese writes them (simplified names and codes are
#: the industry rule's own).
_INDUSTRY = _words(
    "行業",
    "所属行业",
    "所屬行業",
    values={
        "農、林、牧、漁業": "A",
        "採礦業": "B",
        "製造業": "C",
        "制造業": "C",
        "電力、熱力、燃氣及水生產和供應業": "D",
        "建築業": "E",
        "批發和零售業": "F",
        "交通運輸、倉儲和郵政業": "G",
        "住宿和餐飲業": "H",
        "信息傳輸、軟件和信息技術服務業": "I",
        "金融業": "J",
        "房地產業": "K",
        "租賃和商務服務業": "L",
        "科學研究和技術服務業": "M",
        "水利、環境和公共設施管理業": "N",
        "居民服務、修理和其他服務業": "O",
        "衛生和社會工作": "Q",
        "文化、體育和娛樂業": "R",
        "公共管理、社會保障和社會組織": "S",
        "國際組織": "T",
    },
)
_PROVINCE = _words("省", "所在省份")
_SOURCE_VALUES = {
    "官网表单": "website",
    "官網表單": "website",
    "官網": "website",
    "官方网站": "website",
    "官方網站": "website",
    "展會": "exhibition",
    "轉介紹": "referral",
    "電話": "phone",
    "營銷活動": "campaign",
    "社交媒體": "social",
}
_CAMPAIGN = _words("營銷活動", "活动", "活動")
_TITLE = _words("職務", "职位", "職位")

#: Every header and value word an import accepts besides a column's name and its labels
#: (the catalogue's ``column:<kind>.<field>``), by ``<kind>.<field>``: traditional Chinese
#: forms, other systems' names and the implementation handbook's appendix-1 template
#: (客户名称, 所属行业, 联系人, 联系方式, 客户地址, 信息来源, 备注; 官网表单, 重要/一般/潜在,
#: 成交客户). Values are read case- and width-blind; a word that is also a label of the
#: field's list keeps its label's meaning. Administrators add headers of their own with
#: the ``import_synonyms`` setting or ``crm import --map``.
SYNONYMS: Mapping[str, Words] = MappingProxyType(
    {
        "customers.external_id": _EXTERNAL_ID,
        "customers.code": _CUSTOMER_CODE,
        "customers.name": _words(
            "客戶名稱",
            "公司名称",
            "公司名稱",
            "企业名称",
            "企業名稱",
            "名称",
            "名稱",
            "姓名",
            "company",
        ),
        "customers.kind": _words(
            "客戶類型", "类型", "類型", values={"企業": "company", "個人": "person"}
        ),
        "customers.industry": _INDUSTRY,
        "customers.size": _words("企業規模", "规模", "規模"),
        "customers.province": _PROVINCE,
        "customers.city": _words("所在城市"),
        "customers.postcode": _words("郵編", "邮政编码", "郵政編碼"),
        "customers.address": _words("客户地址", "客戶地址", "详细地址", "詳細地址"),
        "customers.remarks": _words("備註", "備注", "备注信息", "備註信息", "remark", "notes"),
        "customers.grade": _words(
            "客戶等級",
            "等级",
            "等級",
            "客户分级",
            "客戶分級",
            values={
                "重要": "A",
                "重要客户": "A",
                "重要客戶": "A",
                "一般": "B",
                "一般客户": "B",
                "一般客戶": "B",
                "潜在": "C",
                "潛在": "C",
                "A類": "A",
                "B類": "B",
                "C類": "C",
            },
        ),
        "customers.status": _words(
            "客戶狀態",
            "状态",
            "狀態",
            values={
                "成交客户": "active",
                "成交客戶": "active",
                "活躍客戶": "active",
                "流失客戶": "lost",
                "潛在客戶": "potential",
                "已歸檔": "archived",
            },
        ),
        "customers.source": _words(
            "客戶來源", "来源", "來源", "信息来源", "信息來源", values=_SOURCE_VALUES
        ),
        "customers.owner": _OWNER,
        "customers.contact": _words("聯繫人", "聯絡人", "联系人姓名", "聯繫人姓名", "contact name"),
        "customers.title": _TITLE,
        "customers.phone": _PHONE,
        "customers.email": _EMAIL,
        "customers.birthday": _words("出生日期"),
        "customers.consent_purpose": _words("授權用途", "个人信息授权用途", "個人信息授權用途"),
        "customers.consent_at": _words("授權日期"),
        "customers.tags": _words("標籤", "標簽"),
        "contacts.customer_code": _CUSTOMER_CODE,
        "contacts.customer_external_id": _CUSTOMER_EXTERNAL_ID,
        "contacts.name": _words("联系人", "聯繫人", "聯絡人"),
        "contacts.title": _TITLE,
        "contacts.phone": _PHONE,
        "contacts.email": _EMAIL,
        "contacts.is_primary": _words("主要聯繫人"),
        "leads.external_id": _EXTERNAL_ID,
        "leads.code": _words("線索編號", "线索代码", "線索代碼"),
        "leads.name": _words("联系人", "聯繫人"),
        "leads.company": _words("公司名稱", "公司", "企业名称", "企業名稱"),
        "leads.phone": _PHONE,
        "leads.email": _EMAIL,
        "leads.source": _words(
            "線索來源", "来源", "來源", "信息来源", "信息來源", values=_SOURCE_VALUES
        ),
        "leads.province": _PROVINCE,
        "leads.industry": _INDUSTRY,
        "leads.value_tier": _words("價值等級"),
        "leads.status": _words("線索狀態", "状态", "狀態"),
        "leads.invalid_reason": _words("無效原因"),
        "leads.owner": _OWNER,
        "leads.campaign": _CAMPAIGN,
        "leads.customer_code": _CUSTOMER_CODE,
        "leads.customer_external_id": _CUSTOMER_EXTERNAL_ID,
        "leads.converted_at": _words("轉化時間"),
        "opportunities.external_id": _EXTERNAL_ID,
        "opportunities.code": _words("商機編號", "商机代码", "商機代碼"),
        "opportunities.customer_code": _CUSTOMER_CODE,
        "opportunities.customer_external_id": _CUSTOMER_EXTERNAL_ID,
        "opportunities.name": _words("商機名稱", "名称", "名稱"),
        "opportunities.stage": _words("銷售階段", "阶段", "階段"),
        "opportunities.amount": _words("預計金額", "金额", "金額"),
        "opportunities.expected_close_date": _words("預計成交日期"),
        "opportunities.loss_reason": _words("輸單原因"),
        "opportunities.owner": _OWNER,
        "opportunities.campaign": _CAMPAIGN,
        "orders.external_id": _EXTERNAL_ID,
        "orders.customer_code": _CUSTOMER_CODE,
        "orders.customer_external_id": _CUSTOMER_EXTERNAL_ID,
        "orders.ordered_at": _words("下單日期", "订单日期", "訂單日期", "日期"),
        "orders.amount": _words("訂單金額", "金额", "金額"),
        "orders.product": _words("產品", "产品名称", "產品名稱"),
        "orders.category": _words("產品類別", "类别", "類別"),
        "orders.campaign": _CAMPAIGN,
        "tickets.external_id": _EXTERNAL_ID,
        "tickets.code": _words("工單編號", "工单号", "工單號"),
        "tickets.customer_code": _CUSTOMER_CODE,
        "tickets.customer_external_id": _CUSTOMER_EXTERNAL_ID,
        "tickets.type": _words("工單類型", "类型", "類型"),
        "tickets.priority": _words("優先級"),
        "tickets.status": _words("工單狀態", "状态", "狀態"),
        "tickets.subject": _words("主題", "标题", "標題"),
        "tickets.description": _words("問題描述", "描述"),
        "tickets.team": _words("處理團隊"),
        "tickets.assignee": _words("處理人", "负责人", "負責人"),
        "tickets.opened_at": _words("創建時間"),
        "tickets.first_response_at": _words("首次響應時間"),
        "tickets.resolved_at": _words("解決時間"),
        "tickets.resolution": _words("解決方案"),
    }
)
_NO_WORDS = Words()


def _label(key: str, lang: str) -> str:
    """A label from the catalogue; a language without a catalogue reads English."""
    return catalogue(lang if lang in LANGUAGES else "en")[key]


@dataclass(frozen=True)
class Column:
    """One column of an import or export file; ``kind`` is set by its :class:`FileKind`."""

    name: str
    rule: Rule
    example: str = ""
    enum: Enumeration | None = None
    choices: str | None = None  # a reference list for dropdowns: "industry" or "province"
    kind: str = ""

    @property
    def key(self) -> str:
        """``<kind>.<field>``: the column's key in :data:`SYNONYMS` and the catalogue."""
        return f"{self.kind}.{self.name}"

    @property
    def words(self) -> Words:
        return SYNONYMS.get(self.key, _NO_WORDS)

    @property
    def zh(self) -> str:
        return self.header("zh")

    @property
    def en(self) -> str:
        return self.header("en")

    def header(self, lang: str) -> str:
        """The label templates and exports write: English for ``en``, else Chinese."""
        return _label(f"column:{self.key}", "en" if lang == "en" else "zh")

    def headers(self) -> Iterator[str]:
        """Every header that means this column: its name, labels and synonyms."""
        yield from (self.name, *(self.header(lang) for lang in LANGUAGES), *self.words.headers)

    def check(self, values: pd.Series) -> tuple[pd.Series, pd.Series]:
        """Clean values and violations per row, as :func:`~crmlib.rules.columns.apply_rule`
        gives them, a value the rule refuses read once more as its value word's code
        (重要 → A). Only refused values are looked up: a file without value words costs
        nothing more, and a word that is also a label of the field keeps its label's
        meaning."""
        clean, violations = apply_rule(self.rule, values)
        codes = self.words.codes
        if not codes:
            return clean, violations
        refused = violations.notna().to_numpy()
        if not refused.any():
            return clean, violations
        where = np.flatnonzero(refused)
        cells = values.iloc[where].tolist()
        meant = {v: codes.get(value_key(v)) for v in set(cells) if isinstance(v, str)}
        words = np.array([meant.get(v) if isinstance(v, str) else None for v in cells], object)
        known = np.flatnonzero(words != None)  # noqa: E711 (elementwise)
        if not len(known):
            return clean, violations
        rows = where[known]
        read, still = apply_rule(self.rule, pd.Series(words[known], dtype=object))
        clean.iloc[rows] = read.to_numpy()
        violations.iloc[rows] = still.to_numpy()
        return clean, violations


@dataclass(frozen=True)
class FileKind:
    """A kind of record that can be imported and exported."""

    name: str
    columns: tuple[Column, ...]
    required: tuple[str, ...]
    #: Columns that identify an existing record, for idempotent upserts, in order of trust.
    keys: tuple[str, ...] = ("external_id",)
    #: Whether rows belong to a customer named by customer_code or customer_external_id.
    child: bool = False
    #: What becomes of a chunk's clean values before they are matched and written, when
    #: one field's value belongs in another (see :func:`_other_systems_numbers`).
    settle: Callable[[pd.DataFrame], pd.DataFrame] | None = None
    _fields: Registry[Column] = field(
        default_factory=lambda: Registry("field"), compare=False, repr=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", tuple(replace(c, kind=self.name) for c in self.columns))
        for column in self.columns:
            self._fields.add(column.name, column)

    @cached_property
    def _index(self) -> dict[str, Column]:
        """Each header, as :func:`header_key` folds it, to its column (the first column
        that has it); made on first use, as the labels come from the catalogue."""
        index: dict[str, Column] = {}
        for column in self.columns:
            for header in column.headers():
                index.setdefault(header_key(header), column)
        return index

    @property
    def zh(self) -> str:
        return self.label("zh")

    @property
    def en(self) -> str:
        return self.label("en")

    def label(self, lang: str) -> str:
        """What people call the kind (the catalogue's ``file_kind:<kind>``)."""
        return _label(f"file_kind:{self.name}", lang)

    def settled(self, clean: pd.DataFrame) -> pd.DataFrame:
        """``clean`` as the writer takes it (see :attr:`settle`)."""
        return self.settle(clean) if self.settle is not None else clean

    def column(self, name: str) -> Column:
        """The column called ``name``; an unknown name is a clear, translated error."""
        return self._fields.get(name)

    def find(self, header: str) -> Column | None:
        """The column a file header means, in English or simplified or traditional Chinese."""
        return self._index.get(header_key(header))

    def target(self, given: str) -> Column:
        """The column a mapping names: a field name, or any header the kind recognises;
        anything else is a translated error listing the fields."""
        return self.find(given) or self._fields.get(given)

    def mapped(self, mapping: Mapping[str, str]) -> dict[str, Column]:
        """A mapping of file headers to fields (``--map 列名=field``, the
        ``import_synonyms`` setting) as header keys to columns, every target checked."""
        return {header_key(header): self.target(field) for header, field in mapping.items()}

    def suggest(self, header: str, limit: int = 3) -> list[Column]:
        """The columns whose headers are closest to ``header``, best first: for a header
        no column recognises, what it may have meant."""
        wanted = header_key(header)
        close = difflib.get_close_matches(wanted, list(self._index), n=limit * 4, cutoff=0.6)
        # A header that holds a known one (客户地址2) is as close as one misspelt.
        inside = [key for key in self._index if len(key) > 1 and key in wanted]
        found: list[Column] = []
        for key in [*close, *sorted(inside, key=len, reverse=True)]:
            column = self._index[key]
            if column not in found:
                found.append(column)
        return found[:limit]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _c(
    name: str,
    rule: Rule,
    example: str = "",
    *,
    enum: Enumeration | None = None,
    choices: str | None = None,
) -> Column:
    return Column(name, rule, example, enum, choices)


def _enum(name: str, enum: Enumeration, example: str) -> Column:
    return _c(name, enum_of(enum), example, enum=enum)


EXTERNAL_ID = _c("external_id", identifier(128), "ERP-000123")
CUSTOMER_CODE = _c("customer_code", identifier(24), "C20240501001")
CUSTOMER_EXTERNAL_ID = _c("customer_external_id", identifier(128), "ERP-000123")
OWNER = _c("owner", identifier(64), "zhang.wei")
PHONE = _c("phone", phone, "13812345678")
EMAIL = _c("email", email, "chen.jing@pengcheng.cn")
INDUSTRY = _c("industry", industry, "39", choices="industry")
PROVINCE = _c("province", province, "广东", choices="province")
CAMPAIGN = _c("campaign", text(200), "")
TITLE = _c("title", text(100), "采购经理")


def _other_systems_numbers(clean: pd.DataFrame) -> pd.DataFrame:
    """A customer number in the code column that is not shaped like a code of ours (the
    handbook's CUS0001, another system's KH-12) is that system's key: it becomes the row's
    external ID when the row gives none, so the customer gets a code of ours and importing
    the file again finds it. A code shaped like ours but wrong (C20241399001) stays a
    code, which the writer refuses."""
    if "code" not in clean:
        return clean
    codes = clean["code"]
    external = clean.get("external_id")
    foreign = codes.notna() & ~codes.astype("string").str.match(CODE.pattern).fillna(False)
    if external is not None:
        foreign &= external.isna()
    if not foreign.any():
        return clean
    clean = clean.copy()
    clean.loc[foreign, "external_id"] = codes[foreign]
    clean.loc[foreign, "code"] = None
    return clean


CUSTOMERS = FileKind(
    "customers",
    (
        EXTERNAL_ID,
        _c("code", identifier(24), ""),
        _c("name", text(200), "深圳鹏城电子有限公司"),
        _enum("kind", CUSTOMER_KIND, "企业"),
        INDUSTRY,
        _enum("size", SIZE, "中型"),
        PROVINCE,
        _c("city", text(64), "深圳"),
        _c("postcode", postcode, "518000"),
        _c("address", text(300), "南山区科技园科苑路 15 号"),
        _enum("grade", GRADE, "B"),
        _enum("status", CUSTOMER_STATUS, "潜在客户"),
        _enum("source", SOURCE, "展会"),
        OWNER,
        _c("contact", text(100), "陈静"),
        TITLE,
        PHONE,
        EMAIL,
        _c("birthday", date_value, ""),
        _c("consent_purpose", text(200), ""),
        _c("consent_at", datetime_value, ""),
        _c("tags", TAGS, "重点跟进"),
        _c("remarks", text(2000), "年底有扩产计划"),
    ),
    required=("name", "industry", "contact", "phone", "source"),
    keys=("external_id", "code"),
    settle=_other_systems_numbers,
)

CONTACTS = FileKind(
    "contacts",
    (
        CUSTOMER_CODE,
        CUSTOMER_EXTERNAL_ID,
        _c("name", text(100), "林涛"),
        TITLE,
        PHONE,
        EMAIL,
        _c("is_primary", flag, "是"),
    ),
    required=("name",),
    keys=(),
    child=True,
)

LEADS = FileKind(
    "leads",
    (
        EXTERNAL_ID,
        _c("code", identifier(24), ""),
        _c("name", text(100), "王磊"),
        _c("company", text(200), "苏州启航机械有限公司"),
        PHONE,
        EMAIL,
        _enum("source", SOURCE, "官网"),
        PROVINCE,
        INDUSTRY,
        _enum("value_tier", VALUE_TIER, "高"),
        _enum("status", LEAD_STATUS, "新线索"),
        _c("invalid_reason", text(300), ""),
        OWNER,
        CAMPAIGN,
        # A lead converted in the system the file comes from: the customer it became.
        CUSTOMER_CODE,
        CUSTOMER_EXTERNAL_ID,
        _c("converted_at", datetime_value, ""),
    ),
    required=("name", "source"),
    keys=("external_id", "code"),
)

OPPORTUNITIES = FileKind(
    "opportunities",
    (
        EXTERNAL_ID,
        _c("code", identifier(24), ""),
        CUSTOMER_CODE,
        CUSTOMER_EXTERNAL_ID,
        _c("name", text(200), "产线升级项目"),
        _enum("stage", STAGE, "方案报价"),
        _c("amount", amount, "1,200,000"),
        _c("expected_close_date", date_value, "2024-06-30"),
        _c("need_description", text(4000), "扩产需要两条新产线"),
        _c("proposal_version", text(32), "V1.2"),
        _c("loss_reason", text(300), ""),
        OWNER,
        CAMPAIGN,
    ),
    required=("name",),
    keys=("external_id", "code"),
    child=True,
)

ORDERS = FileKind(
    "orders",
    (
        EXTERNAL_ID,
        CUSTOMER_CODE,
        CUSTOMER_EXTERNAL_ID,
        _c("ordered_at", date_value, "2024-05-01"),
        _c("amount", amount, "35,600.00"),
        _c("product", text(200), "工业控制器 X200"),
        _c("category", text(64), "自动化设备"),
        CAMPAIGN,
    ),
    required=("ordered_at", "amount"),
    child=True,
)

TICKETS = FileKind(
    "tickets",
    (
        EXTERNAL_ID,
        _c("code", identifier(24), ""),
        CUSTOMER_CODE,
        CUSTOMER_EXTERNAL_ID,
        _enum("type", TICKET_TYPE, "售后"),
        _enum("priority", PRIORITY, "高"),
        _enum("status", TICKET_STATUS, "待处理"),
        _c("subject", text(300), "设备无法启动"),
        _c("description", text(4000), ""),
        _c("team", identifier(64), "support"),
        _c("assignee", identifier(64), ""),
        _c("opened_at", datetime_value, "2024-05-01 09:30"),
        _c("first_response_at", datetime_value, ""),
        _c("resolved_at", datetime_value, ""),
        _c("resolution", text(4000), ""),
    ),
    required=("type", "priority", "subject"),
    keys=("external_id", "code"),
    child=True,
)
