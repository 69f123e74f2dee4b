"""What the data-quality scorecard checks, each check as SQL over the rows it applies to
(:class:`Check`), grouped by dimension. The rules decide validity: a stored value is valid
when it is what its field rule stores for it (:mod:`crmlib.rules.stored`), and a field is
complete by the completeness rule (:mod:`crmlib.rules.records`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, true

from ...access import Scope
from ...reference.enums import CUSTOMER_KIND, CUSTOMER_STATUS, GRADE, SIZE, SOURCE, Enumeration
from ...reference.industries import DIVISIONS, SECTIONS
from ...reference.regions import PROVINCES
from ...rules import enum_of
from ...rules import province as province_rule
from ...rules.fields import FIRST_DATE
from ...rules.records import CONTACT_FIELDS, PRIMARY, blank, completeness_checks, filled, has
from ...store.models import Contact, Customer, Opportunity, Order, Ticket
from ...transfer.kinds import CUSTOMERS

DIMENSIONS = ("completeness", "validity", "uniqueness", "freshness", "consistency")
#: The handbook's target: 95 % of the records pass each check.
DEFAULT_TARGET = 0.95
#: A customer not contacted for this many days is stale.
DEFAULT_STALE_DAYS = 90
DIMENSION_LABELS = {
    "completeness": ("完整性", "Completeness"),
    "validity": ("有效性", "Validity"),
    "uniqueness": ("唯一性", "Uniqueness"),
    "freshness": ("时效性", "Freshness"),
    "consistency": ("一致性", "Consistency"),
}
#: Customers-file fields kept on the customer's primary contact, as contact columns.
ON_PRIMARY = {name: getattr(Contact, column) for name, column in CONTACT_FIELDS.items()}


def say(pair: tuple[str, str], lang: str) -> str:
    """The Chinese or the English of a pair."""
    return pair[0] if lang == "zh" else pair[1]


@dataclass(frozen=True)
class About:
    """What a check measures, and its name in both languages."""

    id: str
    dimension: str
    zh: str
    en: str
    field: str | None = None
    required: bool = False


@dataclass(frozen=True, eq=False)
class Check:
    """A check in SQL: ``fails`` is tested on the rows ``applies`` to.

    Both must be true or false, never NULL, on every row they are tested on.
    """

    about: About
    applies: ColumnElement[bool]
    fails: ColumnElement[bool]


def visible(scope: Scope) -> ColumnElement[bool]:
    """The customers the user may see; merged-away customers are gone."""
    return and_(scope.customer_filter(), Customer.merged_into_id.is_(None))


def of_visible(model: Any, scope: Scope) -> ColumnElement[bool]:
    """Rows of a child table under visible customers. When everyone's customers are
    visible, so is every row: merging moves all of a customer's rows to the survivor."""
    if scope.owner_ids() is None:
        return true()
    return model.customer_id.in_(select(Customer.id).where(visible(scope)))


def completeness() -> list[Check]:
    """Every measured customers-file column (:func:`crmlib.rules.records.completeness_checks`),
    labelled from the customers file, on the customers it applies to."""
    whom = {"company": ("企业", "companies"), "person": ("个人", "persons")}
    checks = []
    for rule in completeness_checks():
        column = CUSTOMERS.column(rule.field)
        required = rule.field in CUSTOMERS.required
        zh_whom, en_whom = whom.get(rule.kind or "", ("", ""))
        zh_notes = "，".join(n for n in (zh_whom, "必填" if required else "") if n)
        en_notes = ", ".join(n for n in (en_whom, "required" if required else "") if n)
        about = About(
            f"completeness.{rule.field}",
            "completeness",
            f"{column.zh}已填写" + (f"（{zh_notes}）" if zh_notes else ""),
            f"{column.en} filled in" + (f" ({en_notes})" if en_notes else ""),
            rule.field,
            required,
        )
        checks.append(Check(about, rule.applies, rule.fails))
    return checks


def validity(as_of: datetime) -> list[Check]:
    """Stored values the field rules would store (their SQL forms), dates from the rules'
    first date to ``as_of``, and the reference lists' industries, provinces and regions."""

    def enum(name: str, column: Any, enumeration: Enumeration) -> Check:
        header = CUSTOMERS.column(name)
        about = About(
            f"validity.{name}",
            "validity",
            f"{header.zh}为可选值之一",
            f"{header.en} is one of its codes",
            name,
        )
        return Check(about, filled(column), ~enum_of(enumeration).sql(column))

    def moment(name: str, column: Any, earliest: Any, latest: Any) -> Check:
        header = CUSTOMERS.column(name)
        about = About(
            f"validity.{name}",
            "validity",
            f"{header.zh}在 {FIRST_DATE.year} 年以后且不晚于当日",
            f"{header.en} from {FIRST_DATE.year} on and not in the future",
            name,
        )
        return Check(about, column.is_not(None), or_(column < earliest, column > latest))

    section = func.coalesce(Customer.industry_section, "")
    division = Customer.industry_division
    divisions = sorted(d.section + d.code for d in DIVISIONS.values())
    place = func.coalesce(Customer.province, "") + "|" + func.coalesce(Customer.region, "")
    industry = About(
        "validity.industry",
        "validity",
        "行业为 GB/T 4754-2017 的门类或大类",
        "Industry is a GB/T 4754-2017 section or division",
        "industry",
    )
    province = About(
        "validity.province",
        "validity",
        "省份为中国的省级行政区",
        "Province is a province of China",
        "province",
    )
    region = About(
        "validity.region", "validity", "大区与省份相符", "Region matches the province", "region"
    )
    return [
        enum("kind", Customer.kind, CUSTOMER_KIND),
        enum("size", Customer.size, SIZE),
        enum("grade", Customer.grade, GRADE),
        enum("status", Customer.status, CUSTOMER_STATUS),
        enum("source", Customer.source, SOURCE),
        moment("birthday", Customer.birthday, FIRST_DATE, as_of.date()),
        moment("consent_at", Customer.consent_at, datetime.combine(FIRST_DATE, time()), as_of),
        Check(
            industry,
            or_(Customer.industry_section.is_not(None), division.is_not(None)),
            or_(
                section.not_in(sorted(SECTIONS)),
                and_(division.is_not(None), (section + division).not_in(divisions)),
            ),
        ),
        Check(
            province,
            Customer.province.is_not(None),
            ~province_rule.sql(Customer.province),
        ),
        Check(
            region,
            or_(Customer.province.is_not(None), Customer.region.is_not(None)),
            place.not_in(sorted(f"{p.name}|{p.region}" for p in PROVINCES)),
        ),
    ]


def freshness(as_of: datetime, stale_days: int) -> Check:
    """Customers contacted within ``stale_days`` of ``as_of``; archived ones are not due."""
    about = About(
        "freshness.last_contact",
        "freshness",
        f"近 {stale_days} 天内联系过（不含已归档）",
        f"Contacted in the last {stale_days} days (archived excepted)",
        "last_contact_at",
    )
    cutoff = as_of - timedelta(days=stale_days)
    return Check(
        about,
        or_(Customer.status.is_(None), Customer.status != "archived"),
        or_(Customer.last_contact_at.is_(None), Customer.last_contact_at < cutoff),
    )


def order_checks() -> list[Check]:
    """Customers who won a deal, or are active, have orders."""
    # "Has won" as IN: the won customers are few, and a database starts from them.
    won = Customer.id.in_(select(Opportunity.customer_id).where(Opportunity.stage == "won"))
    no_orders = ~has(Order)
    return [
        Check(
            About(
                "consistency.won_has_orders",
                "consistency",
                "有赢单的客户有订单",
                "Customers with a won deal have orders",
            ),
            won,
            no_orders,
        ),
        Check(
            About(
                "consistency.active_has_orders",
                "consistency",
                "活跃客户有订单",
                "Active customers have orders",
                "status",
            ),
            Customer.status == "active",
            no_orders,
        ),
    ]


def one_primary() -> Check:
    """A customer with contacts has exactly one primary contact."""
    primaries = (
        select(func.count()).where(Contact.customer_id == Customer.id, PRIMARY).scalar_subquery()
    )
    about = About(
        "consistency.one_primary_contact",
        "consistency",
        "有联系人的客户恰有一位主联系人",
        "Customers with contacts have exactly one primary contact",
    )
    return Check(about, has(Contact), primaries != 1)


def child_checks() -> list[tuple[Any, list[Check]]]:
    """The checks on deals and tickets, by table: closed ones say how they closed."""
    return [
        (
            Opportunity,
            [
                Check(
                    About(
                        "consistency.deal_closed_at",
                        "consistency",
                        "赢单/输单的商机有关闭时间",
                        "Won and lost deals have a close time",
                        "closed_at",
                    ),
                    Opportunity.stage.in_(("won", "lost")),
                    Opportunity.closed_at.is_(None),
                ),
                Check(
                    About(
                        "consistency.loss_reason",
                        "consistency",
                        "输单的商机有输单原因",
                        "Lost deals have a loss reason",
                        "loss_reason",
                    ),
                    Opportunity.stage == "lost",
                    blank(Opportunity.loss_reason),
                ),
            ],
        ),
        (
            Ticket,
            [
                Check(
                    About(
                        "consistency.ticket_resolution",
                        "consistency",
                        "已关闭的工单有解决方案",
                        "Closed tickets have a resolution",
                        "resolution",
                    ),
                    Ticket.status == "closed",
                    blank(Ticket.resolution),
                ),
                Check(
                    About(
                        "consistency.ticket_resolved_at",
                        "consistency",
                        "已解决/已关闭的工单有解决时间",
                        "Resolved and closed tickets have a resolution time",
                        "resolved_at",
                    ),
                    Ticket.status.in_(("resolved", "closed")),
                    Ticket.resolved_at.is_(None),
                ),
            ],
        ),
    ]


#: The contact checks, each with the contact-summary number it is a share of.
CONTACT_CHECKS = {
    "phone_primary": (
        About(
            "validity.phone_primary",
            "validity",
            "主联系人电话有效（E.164）",
            "Primary contacts' phones are valid (E.164)",
            "phone",
        ),
        "primary_phones",
    ),
    "phone": (
        About(
            "validity.phone",
            "validity",
            "所有联系人电话有效（E.164）",
            "All contacts' phones are valid (E.164)",
            "phone",
        ),
        "phones",
    ),
    "email": (
        About(
            "validity.email",
            "validity",
            "联系人邮箱格式有效",
            "Contacts' e-mails are well formed",
            "email",
        ),
        "emails",
    ),
}


UNIQUENESS = About(
    "uniqueness.duplicates",
    "uniqueness",
    "不是其他客户的重复档案",
    "Not a duplicate of another customer",
)
