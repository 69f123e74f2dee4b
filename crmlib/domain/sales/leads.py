"""Leads: people and companies that came in through a channel and are not customers yet.

The status rules are in :mod:`.lead_rules`; :meth:`Leads.convert` (see :mod:`.conversion`)
makes the customer and :meth:`Leads.assign` (see :mod:`.assignment`) hands out unassigned
leads. Leads are scoped by their owner (:meth:`crmlib.access.Scope.lead_filter`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from ... import clock
from ...access import PII_MASKS, UNSCOPED, mask_email, mask_frame, mask_phone
from ...context import Context, localised
from ...errors import AccessDenied, FieldError, NotFound, ValidationError
from ...i18n import t
from ...reference.enums import LEAD_STATUS, SOURCE, VALUE_TIER
from ...rules import (
    Rule,
    check_record,
    email,
    enum_of,
    identifier,
    industry,
    phone,
    province,
    text,
    validated,
)
from ...store.models import AuditEvent, Campaign, Customer, Lead, User
from ..customers.custom_fields import add_columns, entered, values_of
from ..customers.customers import Customers
from ..customers.values import stored_columns
from ..marketing.attribution import campaign_ref, require_campaign
from ..team.users import find_user
from .assignment import Assignment, assign_leads
from .conversion import Conversion, DuplicateCheck, convert_lead
from .lead_rules import LEAD_FLOW, refuse_manual_conversion, status_errors
from .records import Records

RULES: dict[str, Rule] = {
    "external_id": identifier(128),
    "name": text(100),
    "company": text(200),
    "phone": phone,
    "email": email,
    "source": enum_of(SOURCE),
    "province": province,
    "industry": industry,
    "value_tier": enum_of(VALUE_TIER),
    "status": enum_of(LEAD_STATUS),
    "invalid_reason": text(300),
    "owner": identifier(64),
    "campaign_id": campaign_ref,
}
REQUIRED = ("name", "source")
PII = ("phone", "email")
FILTERS = ("status", "source", "region", "province", "team", "owner", "value_tier", "campaign_id")


class Leads:
    """Leads as the acting user may see them; ``convert`` and ``assign`` are the workflows."""

    def __init__(
        self,
        ctx: Context,
        customers: Customers,
        contacts: Records,
        opportunities: Records,
        check_duplicates: DuplicateCheck,
    ) -> None:
        self._ctx = ctx
        self._customers = customers
        self._contacts = contacts
        self._opportunities = opportunities
        self._check_duplicates = check_duplicates

    # -- reading -----------------------------------------------------------------------

    @localised
    def get(self, lead_id: int) -> dict[str, Any]:
        with self._ctx.session() as session:
            return self._as_dict(session, self.find(session, lead_id))

    @localised
    def frame(self, **filters: Any) -> pd.DataFrame:
        """Visible leads as a DataFrame, filtered by equality on status, source, region,
        province, team, owner (username), value_tier or campaign_id."""
        unknown = sorted(set(filters) - set(FILTERS))
        if unknown:
            raise ValidationError(
                [
                    FieldError(k, filters[k], "filter", t("leads:not_a_filter", filters=FILTERS))
                    for k in unknown
                ]
            )
        owner = aliased(User)
        stmt = (
            select(
                *[c for c in Lead.__table__.columns],
                owner.username.label("owner"),
                Campaign.name.label("campaign"),
                Customer.code.label("customer_code"),
            )
            .outerjoin(owner, owner.id == Lead.owner_id)
            .outerjoin(Campaign, Campaign.id == Lead.campaign_id)
            .outerjoin(Customer, Customer.id == Lead.customer_id)
            .where(self._ctx.scope.lead_filter())
            .order_by(Lead.id)
        )
        for key, value in filters.items():
            column = owner.username if key == "owner" else getattr(Lead, key)
            stmt = stmt.where(column == value)
        df = self._ctx.frame(stmt)
        with self._ctx.reading() as conn:
            add_columns(conn, df, "leads", df["id"].tolist())
        if not self._ctx.actor.role.see_pii:
            mask_frame(df)
        return df

    @localised
    def history(self, lead_id: int) -> pd.DataFrame:
        """Every audited change of one lead, newest first (PII masked by role)."""
        with self._ctx.session() as session:
            self.find(session, lead_id)
        stmt = (
            select(
                AuditEvent.occurred_at,
                AuditEvent.actor,
                AuditEvent.action,
                AuditEvent.field,
                AuditEvent.old_value,
                AuditEvent.new_value,
            )
            .where(AuditEvent.entity == Lead.__tablename__, AuditEvent.entity_id == lead_id)
            .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        )
        df = self._ctx.frame(stmt).astype(object)
        df = df.where(df.notna(), None)
        if not self._ctx.actor.role.see_pii:
            for field, mask in PII_MASKS.items():
                rows = df["field"] == field
                df.loc[rows, "old_value"] = df.loc[rows, "old_value"].map(mask)
                df.loc[rows, "new_value"] = df.loc[rows, "new_value"].map(mask)
            df.loc[df["field"].isna(), ["old_value", "new_value"]] = None
        return df

    # -- writing -----------------------------------------------------------------------

    @localised
    def add(self, *, custom: Mapping[str, Any] | None = None, **values: Any) -> dict[str, Any]:
        """Enter a lead. A sales rep's lead is their own; other roles' leads stay unassigned
        (for :meth:`assign`) unless ``owner`` is given. Any status but ``converted``.
        ``custom`` gives custom fields by key or name, as for customers."""
        self._require_edit("add leads")
        clean, errors = self._check(values)
        with self._ctx.reading() as conn:
            extra = entered(conn, "leads", custom)
        errors += extra.errors
        clean["status"] = clean.get("status") or "new"
        refuse_manual_conversion(clean["status"])
        broken = {e.field for e in errors}
        errors += [
            FieldError(f, clean.get(f), "required", t("required"))
            for f in REQUIRED
            if clean.get(f) in (None, "") and f not in broken
        ]
        errors += status_errors(clean["status"], clean.get("invalid_reason"))
        if errors:
            raise ValidationError(errors)
        if clean.get("owner") is None and self._ctx.actor.role.scope == "own":
            clean["owner"] = self._ctx.actor.username
        with self._ctx.session() as session:
            lead = Lead()
            self._apply(session, lead, clean)
            session.add(lead)
            session.flush()
            extra.save(session, lead.id, actor=self._ctx.actor.username)
            return self._as_dict(session, lead)

    @localised
    def update(
        self, lead_id: int, *, custom: Mapping[str, Any] | None = None, **changes: Any
    ) -> dict[str, Any]:
        """Change a lead; a status change must follow :data:`LEAD_FLOW`. ``custom``
        changes custom fields by key or name (None clears one)."""
        self._require_edit("change leads")
        clean = self._validate(changes)
        with self._ctx.reading() as conn:
            extra = entered(conn, "leads", custom)
        if extra.errors:
            raise ValidationError(extra.errors)
        for key in REQUIRED:
            if key in clean and clean[key] in (None, ""):
                raise ValidationError(FieldError(key, changes[key], "required", t("required")))
        with self._ctx.session() as session:
            lead = self.find(session, lead_id)
            target = clean.get("status") or lead.status
            if target != lead.status:
                LEAD_FLOW.check(lead.status, target)
                refuse_manual_conversion(target)
            reason = clean.get("invalid_reason", lead.invalid_reason)
            errors = status_errors(target, reason, lead.customer_id)
            if errors:
                raise ValidationError(errors)
            self._apply(session, lead, clean)
            session.flush()
            extra.save(session, lead.id, actor=self._ctx.actor.username)
            return self._as_dict(session, lead)

    @localised
    def assign(self, *, dry_run: bool = False) -> Assignment:
        """Hand every unassigned open lead to a sales rep by the ``lead_assignment`` rules
        (see :mod:`crmlib.domain.sales.assignment`); a manager assigns within their team only."""
        role = self._ctx.actor.role
        self._ctx.scope.require(role.assign_leads, "assign leads")
        if dry_run:
            with self._ctx.session() as session:
                result = assign_leads(session, self._ctx.actor, clock.now())
                session.rollback()
                return result
        with self._ctx.session(action="assign") as session:
            return assign_leads(session, self._ctx.actor, clock.now())

    @localised
    def convert(
        self,
        lead_id: int,
        *,
        opportunity: Mapping[str, Any] | None = None,
        attach_to: str | None = None,
        ignore_duplicates: bool = False,
    ) -> Conversion:
        """Turn a qualified lead into a customer with its contact (and a deal, given
        ``opportunity`` values), all in one transaction; see :mod:`crmlib.domain.sales.conversion`.

        Likely duplicates of the new customer stop the conversion with
        :class:`~crmlib.domain.sales.conversion.PossibleDuplicates` listing them; pass
        ``attach_to=code`` to add the contact (and deal) to that customer instead, or
        ``ignore_duplicates=True`` to create the customer anyway.
        """
        role = self._ctx.actor.role
        self._ctx.scope.require(role.edit_leads and role.edit_customers, "convert leads")
        return convert_lead(
            self._ctx,
            self.find,
            self._customers,
            self._contacts,
            self._opportunities,
            self._check_duplicates,
            lead_id,
            opportunity=opportunity,
            attach_to=attach_to,
            ignore_duplicates=ignore_duplicates,
        )

    # -- helpers -----------------------------------------------------------------------

    def find(self, session: Session, lead_id: int) -> Lead:
        """The lead ``lead_id`` if the actor may see it; AccessDenied or NotFound otherwise."""
        lead = session.execute(select(Lead).where(Lead.id == lead_id)).scalar_one_or_none()
        if lead is not None:
            return lead
        hidden = session.execute(
            select(func.count())
            .select_from(Lead)
            .where(Lead.id == lead_id)
            .execution_options(**{UNSCOPED: True})
        ).scalar_one()
        if hidden:
            actor = self._ctx.actor
            raise AccessDenied(
                t("leads:out_of_scope", id=lead_id, username=actor.username, role=actor.role.name)
            )
        raise NotFound(t("leads:not_found", id=lead_id))

    def _require_edit(self, action: str) -> None:
        self._ctx.scope.require(self._ctx.actor.role.edit_leads, action)

    @staticmethod
    def _check(values: Mapping[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
        return check_record(RULES, values, "lead")

    @staticmethod
    def _validate(values: Mapping[str, Any]) -> dict[str, Any]:
        return validated(RULES, values, "lead")

    def _apply(self, session: Session, lead: Lead, clean: Mapping[str, Any]) -> None:
        values = dict(clean)
        if "owner" in values:
            self.hand_over(session, lead, values.pop("owner"), clock.now())
        if "campaign_id" in values:
            require_campaign(session, values["campaign_id"])
        for key, value in stored_columns(values).items():
            setattr(lead, key, value)

    def hand_over(self, session: Session, lead: Lead, username: str | None, when: Any) -> None:
        """Make ``username`` the lead's owner (None: unassigned), within the actor's reach."""
        if username is None:
            lead.owner_id = None
            lead.assigned_at = None
            return
        owner = find_user(session, username)
        if not self._ctx.scope.may_own(owner.id, owner.team):
            raise AccessDenied(
                t("leads:may_not_assign", username=self._ctx.actor.username, owner=username)
            )
        if lead.owner_id != owner.id:
            lead.owner_id = owner.id
            lead.team = owner.team
            lead.assigned_at = when

    def _as_dict(self, session: Session, lead: Lead) -> dict[str, Any]:
        values = {c.name: getattr(lead, c.name) for c in Lead.__table__.columns}
        owner = session.get(User, lead.owner_id) if lead.owner_id else None
        campaign = session.get(Campaign, lead.campaign_id) if lead.campaign_id else None
        customer = (
            session.execute(
                select(Customer.code)
                .where(Customer.id == lead.customer_id)
                .execution_options(**{UNSCOPED: True})
            ).scalar_one_or_none()
            if lead.customer_id
            else None
        )
        values.update(
            owner=owner.username if owner else None,
            campaign=campaign.name if campaign else None,
            customer_code=customer,
            custom=values_of(session, "leads", lead.id),
        )
        if not self._ctx.actor.role.see_pii:
            values["phone"] = mask_phone(values["phone"])
            values["email"] = mask_email(values["email"])
        return values
