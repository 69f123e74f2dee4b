"""What the data-quality scorecard checks, each check as SQL over the rows it applies to
(:class:`Check`), grouped by dimension. The rules decide validity: a stored value is valid
when it is what its field rule stores for it (:mod:`crmlib.rules.stored`), and a field is
complete by the completeness rule (:mod:`crmlib.rules.records`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, true

from ...access import Scope
from ...i18n import current_lang, t
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
#: Customers-file fields kept on the customer's primary contact, as contact columns.
ON_PRIMARY = {name: getattr(Contact, column) for name, column in CONTACT_FIELDS.items()}


def dimension_label(dimension: str, lang: str | None = None) -> str:
    """A dimension's name (完整性, Completeness …): ``scorecard:dimension.<dimension>``."""
    return t(f"scorecard:dimension.{dimension}", lang)


@dataclass(frozen=True)
class About:
    """What a check measures. Its label is ``check:<id>`` in the message catalogue, or, for
    the checks made alike from the customers file's columns, the sentence ``text`` with
    ``values`` filled in; a value that is a function (a column's header) is asked for in
    the label's language."""

    id: str
    dimension: str
    field: str | None = None
    required: bool = False
    text: str | None = None
    values: Mapping[str, Any] = dataclass_field(default_factory=dict)

    def label(self, lang: str | None = None) -> str:
        lang = current_lang(lang)
        values = {k: v(lang) if callable(v) else v for k, v in self.values.items()}
        return t(self.text or f"check:{self.id}", lang, **values)


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
    whom = {"company": "_companies", "person": "_persons"}
    checks = []
    for rule in completeness_checks():
        required = rule.field in CUSTOMERS.required
        text = "check:filled" + whom.get(rule.kind or "", "") + ("_required" if required else "")
        about = About(
            f"completeness.{rule.field}",
            "completeness",
            rule.field,
            required,
            text,
            {"column": CUSTOMERS.column(rule.field).header},
        )
        checks.append(Check(about, rule.applies, rule.fails))
    return checks


def validity(as_of: datetime) -> list[Check]:
    """Stored values the field rules would store (their SQL forms), dates from the rules'
    first date to ``as_of``, and the reference lists' industries, provinces and regions."""

    def enum(name: str, column: Any, enumeration: Enumeration) -> Check:
        header = CUSTOMERS.column(name).header
        about = About(
            f"validity.{name}",
            "validity",
            name,
            text="check:one_of_codes",
            values={"column": header},
        )
        return Check(about, filled(column), ~enum_of(enumeration).sql(column))

    def moment(name: str, column: Any, earliest: Any, latest: Any) -> Check:
        about = About(
            f"validity.{name}",
            "validity",
            name,
            text="check:date_range",
            values={"column": CUSTOMERS.column(name).header, "year": FIRST_DATE.year},
        )
        return Check(about, column.is_not(None), or_(column < earliest, column > latest))

    section = func.coalesce(Customer.industry_section, "")
    division = Customer.industry_division
    divisions = sorted(d.section + d.code for d in DIVISIONS.values())
    place = func.coalesce(Customer.province, "") + "|" + func.coalesce(Customer.region, "")
    industry = About("validity.industry", "validity", "industry")
    province = About("validity.province", "validity", "province")
    region = About("validity.region", "validity", "region")
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
        "freshness.last_contact", "freshness", "last_contact_at", values={"days": stale_days}
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
            About("consistency.won_has_orders", "consistency"),
            won,
            no_orders,
        ),
        Check(
            About("consistency.active_has_orders", "consistency", "status"),
            Customer.status == "active",
            no_orders,
        ),
    ]


def one_primary() -> Check:
    """A customer with contacts has exactly one primary contact."""
    primaries = (
        select(func.count()).where(Contact.customer_id == Customer.id, PRIMARY).scalar_subquery()
    )
    about = About("consistency.one_primary_contact", "consistency")
    return Check(about, has(Contact), primaries != 1)


def child_checks() -> list[tuple[Any, list[Check]]]:
    """The checks on deals and tickets, by table: closed ones say how they closed."""
    return [
        (
            Opportunity,
            [
                Check(
                    About("consistency.deal_closed_at", "consistency", "closed_at"),
                    Opportunity.stage.in_(("won", "lost")),
                    Opportunity.closed_at.is_(None),
                ),
                Check(
                    About("consistency.loss_reason", "consistency", "loss_reason"),
                    Opportunity.stage == "lost",
                    blank(Opportunity.loss_reason),
                ),
            ],
        ),
        (
            Ticket,
            [
                Check(
                    About("consistency.ticket_resolution", "consistency", "resolution"),
                    Ticket.status == "closed",
                    blank(Ticket.resolution),
                ),
                Check(
                    About("consistency.ticket_resolved_at", "consistency", "resolved_at"),
                    Ticket.status.in_(("resolved", "closed")),
                    Ticket.resolved_at.is_(None),
                ),
            ],
        ),
    ]


#: The contact checks, each with the contact-summary number it is a share of.
CONTACT_CHECKS = {
    "phone_primary": (
        About("validity.phone_primary", "validity", "phone"),
        "primary_phones",
    ),
    "phone": (
        About("validity.phone", "validity", "phone"),
        "phones",
    ),
    "email": (
        About("validity.email", "validity", "email"),
        "emails",
    ),
}


UNIQUENESS = About("uniqueness.duplicates", "uniqueness")
