"""Customer files: create, read, change, archive and delete customers, scoped and audited.

A customer's phone, e-mail and contact name live on its primary contact; the API takes and
returns them on the customer, because that is how users think of a customer file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, aliased

from ... import audit, clock
from ...access import UNSCOPED, customer_out_of_scope, mask_email, mask_frame, mask_phone
from ...context import Context, localised
from ...errors import AccessDenied, FieldError, NotFound, ValidationError
from ...i18n import t
from ...reference.industries import DIVISIONS, SECTIONS
from ...rules import (
    check_record,
    validate,
)
from ...rules.customers import RULES, TAGS
from ...rules.fields import trimmed_text
from ...rules.records import CONTACT_FIELDS
from ...settings import get_setting
from ...store.codes import next_customer_codes
from ...store.models import Contact, Customer, CustomerTag, Opportunity, Order, User
from ..team.users import find_user
from . import custom_fields
from .duplicates import ALLOWED, Candidate, Twin, find_twins
from .lifecycle import starting_values
from .values import stored_columns

#: Fields of the customer row itself (the rest live on the primary contact, or are tags).
CUSTOMER_FIELDS = frozenset(RULES) - set(CONTACT_FIELDS) - {"owner"}
FILTERS = (
    "kind",
    "industry_section",
    "industry_division",
    "province",
    "city",
    "region",
    "grade",
    "status",
    "source",
    "owner",
    "tag",
)
#: A person must be reachable or identifiable by at least one of these.
PERSON_REACH = ("phone", "email", "external_id")
#: Fields the nightly refresh recomputes, which a person may set by hand instead.
OVERRIDABLE = ("grade", "status")
#: Longest reason for a value set by hand.
MAX_REASON = 500


@dataclass(frozen=True)
class CustomerRecord:
    """A customer file as the acting user may see it (PII masked by role)."""

    code: str
    name: str
    kind: str
    status: str
    external_id: str | None = None
    industry_section: str | None = None
    industry_division: str | None = None
    size: str | None = None
    province: str | None = None
    city: str | None = None
    postcode: str | None = None
    region: str | None = None
    address: str | None = None
    remarks: str | None = None
    grade: str | None = None
    source: str | None = None
    owner: str | None = None
    birthday: date | None = None
    consent_purpose: str | None = None
    consent_at: datetime | None = None
    contact: str | None = None
    title: str | None = None
    phone: str | None = None
    email: str | None = None
    tags: tuple[str, ...] = ()
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_contact_at: datetime | None = None
    archive_flagged_at: datetime | None = None
    grade_override_by: str | None = None
    grade_override_reason: str | None = None
    grade_override_until: date | None = None
    status_override_by: str | None = None
    status_override_reason: str | None = None
    status_override_until: date | None = None
    #: The values of the custom fields (:mod:`.custom_fields`) by key.
    custom: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def by_hand(value: Any, before: Any) -> bool:
    """Whether a grade or status ``value`` given for a customer holding ``before`` (a new
    customer: :func:`.lifecycle.starting_values`) is a person's statement that the refresh
    must keep (see :meth:`Customers.override`). Only a change is: a value equal to the one
    there already states nothing new, and holding it would freeze every grade an unchanged
    export brings back in; a blank changes nothing."""
    return value is not None and value != before


def check_required(
    kind: str, values: Mapping[str, Any], required: Mapping[str, list[str]]
) -> list[FieldError]:
    """Every missing required field, and for persons the missing way to reach them."""
    errors = [
        FieldError(f, values.get(f), "required", t("required"))
        for f in required.get(kind, [])
        if values.get(f) in (None, "")
    ]
    unreachable = unreachable_person(kind, values)
    return errors + ([unreachable] if unreachable else [])


def unreachable_person(kind: str, values: Mapping[str, Any]) -> FieldError | None:
    """A person customer needs at least one way to reach or identify them."""
    if kind != "person" or any(values.get(f) for f in PERSON_REACH):
        return None
    return FieldError(
        "phone", None, "required_any", t("required_any", fields=", ".join(PERSON_REACH))
    )


def has_won_business(session: Session, customer_id: int) -> bool:
    """A customer who has bought or won a deal: their history must survive (archive only)."""
    won = exists().where(Opportunity.customer_id == customer_id, Opportunity.stage == "won")
    ordered = exists().where(Order.customer_id == customer_id)
    return bool(session.execute(select(won | ordered)).scalar())


class Customers:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    # -- reading -----------------------------------------------------------------------

    @localised
    def get(self, code: str) -> CustomerRecord:
        with self._ctx.session() as session:
            return self._record(session, self._load(session, code))

    @localised
    def frame(self, **filters: Any) -> pd.DataFrame:
        """Visible customers as a DataFrame, one row each, filtered by equality.

        Filters: kind, industry_section, industry_division, province, city, region, grade,
        status, source, owner (username) and tag.
        """
        unknown = sorted(set(filters) - set(FILTERS))
        if unknown:
            raise ValidationError(
                [
                    FieldError(
                        k, filters[k], "filter", t("customers:not_a_filter", filters=FILTERS)
                    )
                    for k in unknown
                ]
            )
        owner = aliased(User)
        primary = aliased(Contact)
        stmt = (
            select(
                Customer.id,
                Customer.code,
                Customer.external_id,
                Customer.kind,
                Customer.name,
                Customer.industry_section,
                Customer.industry_division,
                Customer.size,
                Customer.province,
                Customer.city,
                Customer.region,
                Customer.postcode,
                Customer.address,
                Customer.remarks,
                Customer.grade,
                Customer.status,
                Customer.source,
                owner.username.label("owner"),
                primary.name.label("contact"),
                primary.phone,
                primary.email,
                Customer.birthday,
                Customer.created_at,
                Customer.updated_at,
                Customer.last_contact_at,
                Customer.archive_flagged_at,
            )
            .outerjoin(owner, owner.id == Customer.owner_id)
            .outerjoin(primary, (primary.customer_id == Customer.id) & primary.is_primary.is_(True))
            .where(self._ctx.scope.customer_filter(), Customer.merged_into_id.is_(None))
            .order_by(Customer.code)
        )
        for key, value in filters.items():
            if key == "owner":
                stmt = stmt.where(owner.username == value)
            elif key == "tag":
                stmt = stmt.where(
                    exists().where(CustomerTag.customer_id == Customer.id, CustomerTag.tag == value)
                )
            else:
                stmt = stmt.where(getattr(Customer, key) == value)
        with self._ctx.reading() as conn:
            df = pd.read_sql(stmt, conn)
            ids = df.pop("id").tolist()
            custom_fields.add_columns(conn, df, "customers", ids)
        df.insert(
            list(df.columns).index("industry_division") + 1,
            "industry",
            [
                industry_label(section, division, self._ctx.lang)
                for section, division in zip(
                    df["industry_section"], df["industry_division"], strict=True
                )
            ],
        )
        if not self._ctx.actor.role.see_pii:
            mask_frame(df)
        return df

    # -- writing -----------------------------------------------------------------------

    @localised
    def add(
        self,
        *,
        tags: Iterable[str] = (),
        allow_duplicate: bool = False,
        custom: Mapping[str, Any] | None = None,
        **values: Any,
    ) -> CustomerRecord:
        """Create a customer with a new code; ``owner`` defaults to the acting user.

        Every broken rule and every missing required field is reported in one error. An
        exact duplicate of a stored customer (see :mod:`.duplicates`) is refused unless
        ``allow_duplicate``, which the audit log records. ``custom`` gives values of custom
        fields by key or by name (``{"行业细分": "汽车零部件"}``), checked by their types.
        A grade or status other than a new customer's (:func:`by_hand`) is held against
        the refresh as set by hand, as :meth:`update` holds a changed one.
        """
        self._require_edit("add customers")
        with self._ctx.session() as session:
            customer = self.create(
                session, values, tags=tags, allow_duplicate=allow_duplicate, custom=custom
            )
            return self._record(session, customer)

    def create(
        self,
        session: Session,
        values: Mapping[str, Any],
        *,
        tags: Iterable[str] = (),
        allow_duplicate: bool = False,
        custom: Mapping[str, Any] | None = None,
    ) -> Customer:
        """Create a customer inside the caller's transaction, with every rule of :meth:`add`;
        a lead conversion uses it so that customer, contact and deal land together or not."""
        self._require_edit("add customers")
        tags = list(tags)
        clean, errors = self._check(values, tags)
        extra = custom_fields.definitions(session, "customers")
        custom_clean, custom_errors = custom_fields.check_values(extra, custom or {}, "customers")
        errors += custom_errors
        kind = clean.get("kind") or "company"
        broken = {e.field for e in errors}
        required = get_setting(session, "required_fields")
        errors += [e for e in check_required(kind, clean, required) if e.field not in broken]
        if errors:
            raise ValidationError(errors)
        owner = self._owner(session, clean.get("owner") or self._ctx.actor.username)
        self._check_external_id(session, clean.get("external_id"), None)
        candidate = Candidate(kind, clean.get("name"), clean.get("phone"), clean.get("email"))
        twin = find_twins(session.connection(), {0: candidate}).get(0)
        if twin is not None and not allow_duplicate:
            raise ValidationError(twin.problem(self._visible(session, twin), candidate))
        code = next_customer_codes(session)[0]
        customer = Customer(code=code, owner_id=owner.id, kind=kind, status="potential")
        self._apply(customer, clean)
        starting = starting_values(session)
        held = [f for f in OVERRIDABLE if by_hand(clean.get(f), starting[f])]
        self._held(session, customer, held)
        session.add(customer)
        session.flush()
        self._apply_contact(session, customer, clean)
        self._set_tags(session, customer, tags)
        session.flush()
        self._write_custom(session, extra, customer, custom_clean)
        if twin is not None:
            self._audit_allowed(session, twin, customer.code)
        return customer

    @localised
    def update(
        self,
        code: str,
        *,
        tags: Iterable[str] | None = None,
        custom: Mapping[str, Any] | None = None,
        **changes: Any,
    ) -> CustomerRecord:
        """Change fields of a customer; only what is passed changes, and every change is
        audited. ``custom`` changes custom fields by key or name (None clears one)."""
        self._require_edit("change customers")
        if "code" in changes:
            raise ValidationError(
                FieldError("code", changes["code"], "immutable", t("customers:immutable"))
            )
        tags = None if tags is None else list(tags)
        clean = self._validate(changes, tags)
        with self._ctx.session() as session:
            extra = custom_fields.definitions(session, "customers")
            custom_clean, custom_errors = custom_fields.check_values(
                extra, custom or {}, "customers"
            )
            if custom_errors:
                raise ValidationError(custom_errors)
            customer = self._load(session, code)
            after = {**self._record(session, customer, masked=False).as_dict(), **clean}
            after["industry"] = clean.get("industry", customer.industry_section)
            errors = check_required(after["kind"], after, get_setting(session, "required_fields"))
            if errors:
                raise ValidationError(errors)
            if "owner" in clean:
                customer.owner_id = self._owner(session, clean["owner"]).id
            self._check_external_id(session, clean.get("external_id"), customer.id)
            held = [f for f in OVERRIDABLE if by_hand(clean.get(f), getattr(customer, f))]
            self._apply(customer, clean)
            self._held(session, customer, held)
            self._apply_contact(session, customer, clean)
            if tags is not None:
                self._set_tags(session, customer, tags)
            session.flush()
            self._write_custom(session, extra, customer, custom_clean)
            return self._record(session, customer)

    @localised
    def override(
        self, code: str, field: str, value: str, *, reason: str, until: date | None = None
    ) -> CustomerRecord:
        """Set a customer's grade or status by hand, saying why: the nightly refresh
        (:mod:`.lifecycle`) leaves it until :meth:`clear_override` or until the day
        ``until`` has passed (default: ``manual_override_days`` from today)."""
        self._require_edit("change customers")
        if field not in OVERRIDABLE:
            raise ValidationError(
                FieldError("field", field, "choice", t("customers:override_field"))
            )
        clean = self._validate({field: value})
        why = trimmed_text(reason)
        if not why or len(why) > MAX_REASON:
            rule = "required" if not why else "too_long"
            message = t("required") if not why else t("too_long", limit=MAX_REASON)
            raise ValidationError(FieldError("reason", reason, rule, message))
        today = clock.today()
        if until is not None and until < today:
            raise ValidationError(
                FieldError("until", until, "past", t("customers:override_until_past"))
            )
        with self._ctx.session() as session:
            customer = self._load(session, code)
            setattr(customer, field, clean[field])
            self._held(session, customer, [field], why, until)
            session.flush()
            return self._record(session, customer)

    @localised
    def clear_override(self, code: str, field: str) -> CustomerRecord:
        """Let the nightly refresh decide the grade or status again."""
        self._require_edit("change customers")
        if field not in OVERRIDABLE:
            raise ValidationError(
                FieldError("field", field, "choice", t("customers:override_field"))
            )
        with self._ctx.session() as session:
            customer = self._load(session, code)
            for suffix in ("by", "reason", "until"):
                setattr(customer, f"{field}_override_{suffix}", None)
            session.flush()
            return self._record(session, customer)

    @localised
    def archive(self, code: str) -> CustomerRecord:
        """Archive instead of delete: the file leaves active lists but keeps its history."""
        self._require_edit("archive customers")
        with self._ctx.session(action="archive") as session:
            customer = self._load(session, code)
            customer.status = "archived"
            session.flush()
            return self._record(session, customer)

    @localised
    def delete(self, code: str) -> None:
        """Delete a customer and everything under it; customers with won business are
        kept for everyone but administrators (archive them instead)."""
        role = self._ctx.actor.role
        self._ctx.scope.require(role.delete_customers, "delete customers")
        with self._ctx.session() as session:
            customer = self._load(session, code)
            if not role.delete_won_customers and has_won_business(session, customer.id):
                raise AccessDenied(t("customers:has_business", code=code))
            custom_fields.forget_record(session, "customers", customer.id)
            session.delete(customer)

    # -- helpers -----------------------------------------------------------------------

    def _require_edit(self, action: str) -> None:
        self._ctx.scope.require(self._ctx.actor.role.edit_customers, action)

    @staticmethod
    def _check(
        values: Mapping[str, Any], tags: list[str] | None = None
    ) -> tuple[dict[str, Any], list[FieldError]]:
        """The customer rules on ``values``, and the tags rule on ``tags`` as one text, as
        the entry form and an import give them."""
        clean, errors = check_record(RULES, values, "customer")
        if tags is not None:
            errors += validate({"tags": TAGS}, {"tags": ",".join(tags)})[1]
        return clean, errors

    @classmethod
    def _validate(cls, values: Mapping[str, Any], tags: list[str] | None = None) -> dict[str, Any]:
        clean, errors = cls._check(values, tags)
        if errors:
            raise ValidationError(errors)
        return clean

    def find(self, session: Session, code: str) -> Customer:
        """The customer ``code`` within the caller's transaction (AccessDenied / NotFound)."""
        return self._load(session, code)

    def _load(self, session: Session, code: str) -> Customer:
        customer = session.execute(
            select(Customer).where(Customer.code == code)
        ).scalar_one_or_none()
        if customer is not None:
            return customer
        hidden = session.execute(
            select(func.count())
            .select_from(Customer)
            .where(Customer.code == code)
            .execution_options(**{UNSCOPED: True})
        ).scalar_one()
        if hidden:
            raise customer_out_of_scope(self._ctx.actor, code)
        raise NotFound(t("access:customer_not_found", code=code))

    def _owner(self, session: Session, username: str) -> User:
        owner = find_user(session, username)
        if not self._ctx.scope.may_own(owner.id, owner.team):
            raise AccessDenied(
                t("customers:may_not_assign", username=self._ctx.actor.username, owner=username)
            )
        return owner

    def _held(
        self,
        session: Session,
        customer: Customer,
        fields: Iterable[str],
        reason: str | None = None,
        until: date | None = None,
    ) -> None:
        """Mark ``fields`` as set by hand by the acting user, so the refresh keeps them."""
        for name in fields:
            if until is None:
                days = int(get_setting(session, "manual_override_days"))
                until = clock.today() + timedelta(days=days)
            setattr(customer, f"{name}_override_by", self._ctx.actor.username)
            setattr(customer, f"{name}_override_reason", reason)
            setattr(customer, f"{name}_override_until", until)

    def _write_custom(
        self,
        session: Session,
        extra: list[custom_fields.FieldDef],
        customer: Customer,
        clean: Mapping[str, Any],
    ) -> None:
        """Store the checked custom values of ``customer``, each change in its history."""
        custom_fields.write_values(
            session,
            extra,
            {customer.id: clean},
            refs={customer.id: customer.code},
            actor=self._ctx.actor.username,
            action="update",
        )

    @staticmethod
    def _visible(session: Session, twin: Twin) -> bool:
        """Whether the acting user may see the customer ``twin`` (the session is scoped)."""
        found = session.execute(select(Customer.id).where(Customer.id == twin.customer_id))
        return found.first() is not None

    def _audit_allowed(self, session: Session, twin: Twin, code: str) -> None:
        """File the duplicate created on purpose under the customer it duplicates."""
        audit.record(
            session,
            actor=self._ctx.actor.username,
            action=ALLOWED,
            entity="customers",
            entity_id=twin.customer_id,
            ref=twin.code,
            field=twin.what,
            new_value=code,
        )

    def _check_external_id(
        self, session: Session, external_id: str | None, own_id: int | None
    ) -> None:
        if not external_id:
            return
        other = session.execute(
            select(Customer.code, Customer.id)
            .where(Customer.external_id == external_id)
            .execution_options(**{UNSCOPED: True})
        ).first()
        if other is not None and other.id != own_id:
            raise ValidationError(
                FieldError("external_id", external_id, "unique", t("unique", other=other.code))
            )

    @staticmethod
    def _apply(customer: Customer, clean: Mapping[str, Any]) -> None:
        fields = {k: v for k, v in clean.items() if k in CUSTOMER_FIELDS}
        for key, value in stored_columns(fields).items():
            setattr(customer, key, value)

    @staticmethod
    def _primary(session: Session, customer: Customer) -> Contact | None:
        return session.execute(
            select(Contact)
            .where(Contact.customer_id == customer.id, Contact.is_primary.is_(True))
            .limit(1)
        ).scalar_one_or_none()

    def _apply_contact(
        self, session: Session, customer: Customer, clean: Mapping[str, Any]
    ) -> None:
        given = {CONTACT_FIELDS[k]: clean[k] for k in CONTACT_FIELDS if k in clean}
        if not any(v is not None for v in given.values()):
            return
        contact = self._primary(session, customer)
        if contact is None:
            contact = Contact(customer_id=customer.id, is_primary=True, name=customer.name)
            session.add(contact)
        for key, value in given.items():
            setattr(contact, key, value if value is not None or key != "name" else customer.name)

    @staticmethod
    def _set_tags(session: Session, customer: Customer, tags: Iterable[str]) -> None:
        wanted = {tag.strip() for tag in tags if tag and tag.strip()}
        current = {
            row.tag: row
            for row in session.execute(
                select(CustomerTag).where(CustomerTag.customer_id == customer.id)
            ).scalars()
        }
        for tag in wanted - set(current):
            session.add(CustomerTag(customer_id=customer.id, tag=tag))
        for tag in set(current) - wanted:
            session.delete(current[tag])

    def _record(
        self, session: Session, customer: Customer, *, masked: bool = True
    ) -> CustomerRecord:
        contact = self._primary(session, customer)
        owner = session.get(User, customer.owner_id) if customer.owner_id else None
        tags = session.execute(
            select(CustomerTag.tag)
            .where(CustomerTag.customer_id == customer.id)
            .order_by(CustomerTag.tag)
        ).scalars()
        hide = masked and not self._ctx.actor.role.see_pii
        phone_value = contact.phone if contact else None
        email_value = contact.email if contact else None
        return CustomerRecord(
            code=customer.code,
            name=customer.name,
            kind=customer.kind,
            status=customer.status,
            external_id=customer.external_id,
            industry_section=customer.industry_section,
            industry_division=customer.industry_division,
            size=customer.size,
            province=customer.province,
            city=customer.city,
            postcode=customer.postcode,
            region=customer.region,
            address=customer.address,
            remarks=customer.remarks,
            grade=customer.grade,
            source=customer.source,
            owner=owner.username if owner else None,
            birthday=customer.birthday,
            consent_purpose=customer.consent_purpose,
            consent_at=customer.consent_at,
            contact=contact.name if contact else None,
            title=contact.title if contact else None,
            phone=mask_phone(phone_value) if hide else phone_value,
            email=mask_email(email_value) if hide else email_value,
            tags=tuple(tags),
            created_at=customer.created_at,
            updated_at=customer.updated_at,
            last_contact_at=customer.last_contact_at,
            archive_flagged_at=customer.archive_flagged_at,
            grade_override_by=customer.grade_override_by,
            grade_override_reason=customer.grade_override_reason,
            grade_override_until=customer.grade_override_until,
            status_override_by=customer.status_override_by,
            status_override_reason=customer.status_override_reason,
            status_override_until=customer.status_override_until,
            custom=custom_fields.stored_values(
                session, custom_fields.definitions(session, "customers"), [customer.id]
            ).get(customer.id, {}),
        )


def industry_label(section: str | None, division: str | None, lang: str = "zh") -> str | None:
    """The most precise industry name known for a customer."""
    if division and division in DIVISIONS:
        return DIVISIONS[division].label(lang)
    if section and section in SECTIONS:
        return SECTIONS[section].label(lang)
    return None
