"""Rules over a whole customer record as stored: which customers-file fields are kept on
the primary contact, and when a field counts as filled in (completeness). One definition
for the API, the importer, the data-quality scorecard and the ``completeness`` KPI."""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, and_, or_, select, true

from ..store.models import Contact, Customer

#: Customers-file fields kept on the customer's primary contact, and their contact column.
CONTACT_FIELDS = {"contact": "name", "title": "title", "phone": "phone", "email": "email"}
#: A contact row that is its customer's primary contact.
PRIMARY = Contact.is_primary.is_(True)
#: Customers-file columns not measured for completeness: codes are always set, only
#: records from other systems carry an external ID, tags are optional labels and remarks
#: optional notes.
NOT_MEASURED = frozenset({"code", "external_id", "tags", "remarks"})


def blank(column: Any) -> ColumnElement[bool]:
    """NULL or empty. Values that came through the rules are trimmed and never empty, so
    whitespace is not looked for: trimming every value would cost more than all else."""
    if column.type.python_type is str:
        return or_(column.is_(None), column == "")
    return column.is_(None)


def filled(column: Any) -> ColumnElement[bool]:
    """Neither NULL nor empty."""
    return and_(column.is_not(None), column != "")


def has(model: Any, *criteria: ColumnElement[bool]) -> ColumnElement[bool]:
    """The customer has a row in ``model`` matching ``criteria``."""
    return select(model.id).where(model.customer_id == Customer.id, *criteria).exists()


class CompletenessCheck(NamedTuple):
    """One completeness check over ``customers``: ``fails`` on the customers it ``applies``
    to (those of kind ``kind``, or all when None). ``on_primary`` is the contact column for
    the fields kept on the primary contact (``fails`` then tests it with a subquery per
    customer; a caller counting many customers can join the contacts once instead)."""

    field: str
    applies: ColumnElement[bool]
    fails: ColumnElement[bool]
    on_primary: Any = None
    kind: str | None = None


def completeness_checks() -> list[CompletenessCheck]:
    """Every measured customers-file field, in the file's order, with the customers it
    applies to: the one completeness rule of the scorecard and the ``completeness`` KPI."""
    everyone: ColumnElement[bool] = true()
    companies = Customer.kind == "company"
    persons = Customer.kind == "person"
    on_primary = {name: getattr(Contact, column) for name, column in CONTACT_FIELDS.items()}

    def own(name: str, column: Any, applies: ColumnElement[bool] = everyone) -> CompletenessCheck:
        kind = "company" if applies is companies else "person" if applies is persons else None
        return CompletenessCheck(name, applies, blank(column), None, kind)

    return [
        own("name", Customer.name),
        own("kind", Customer.kind),
        own("industry", Customer.industry_section, companies),
        own("size", Customer.size, companies),
        own("province", Customer.province),
        own("city", Customer.city),
        own("postcode", Customer.postcode),
        own("address", Customer.address),
        own("grade", Customer.grade),
        own("status", Customer.status),
        own("source", Customer.source),
        own("owner", Customer.owner_id),
        *(
            CompletenessCheck(name, everyone, ~has(Contact, PRIMARY, filled(column)), column)
            for name, column in on_primary.items()
        ),
        own("birthday", Customer.birthday, persons),
        own("consent_purpose", Customer.consent_purpose, persons),
        own("consent_at", Customer.consent_at, persons),
    ]
