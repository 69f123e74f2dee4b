"""Converting a qualified lead: its customer, contact and (optionally) deal in one transaction.

The customer's fields come from the lead (company or person name, industry, province,
phone, e-mail, source; the lead's owner, else the converting user, owns it) and pass every
customer rule, so a lead missing a required field says which. Before anything is written
the duplicate check runs: likely matches stop the conversion with
:class:`PossibleDuplicates`, and the caller either attaches the lead to one of them
(``attach_to=code``: the contact and the deal go under that customer) or confirms the new
customer (``ignore_duplicates=True``). The lead's campaign carries over to the deal, and
the lead's campaign membership becomes ``converted``, so attribution follows the lead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import clock
from ...access import UNSCOPED
from ...context import Context
from ...errors import Conflict, FieldError, ValidationError
from ...i18n import t
from ...store.models import CampaignMember, Contact, Customer, Lead, User
from ..customers.customers import Customers
from .lead_rules import LEAD_FLOW
from .records import Records


class Match(Protocol):
    """What conversion needs of a duplicate-check match."""

    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def score(self) -> int: ...
    @property
    def reasons(self) -> tuple[str, ...]: ...


DuplicateCheck = Callable[[Mapping[str, Any]], Sequence[Match]]
FindLead = Callable[[Session, int], Lead]


class PossibleDuplicates(Conflict):
    """The lead's customer probably exists already; ``matches`` are the candidates."""

    rule = "possible_duplicate"

    def __init__(self, lead_id: int, matches: Sequence[Match]) -> None:
        self.lead_id = lead_id
        self.matches = list(matches)
        listed = "; ".join(
            t(
                "conversion:match",
                code=m.code,
                name=m.name,
                score=m.score,
                reasons=", ".join(m.reasons),
            )
            for m in self.matches
        )
        super().__init__(t("conversion:possible_duplicate", lead=lead_id, matches=listed))


@dataclass(frozen=True)
class Conversion:
    """What a conversion made: the customer (new or attached to), contact and deal."""

    lead_id: int
    customer_code: str
    new_customer: bool
    contact_id: int
    opportunity_id: int | None


def convertible(lead: Lead) -> None:
    """Only a qualified lead converts, and only once (rule ``lead_status_flow``)."""
    if lead.status == "converted":
        raise ValidationError(
            FieldError("status", lead.status, LEAD_FLOW.rule, t("conversion:already", lead=lead.id))
        )
    LEAD_FLOW.check(lead.status, "converted")


def customer_values(lead: Lead, owner: str) -> dict[str, Any]:
    """A customer file from a lead: a company if the lead names one, else a person."""
    values = {
        "name": lead.company or lead.name,
        "kind": "company" if lead.company else "person",
        "industry": lead.industry_division or lead.industry_section,
        "province": lead.province,
        "contact": lead.name,
        "phone": lead.phone,
        "email": lead.email,
        "source": lead.source,
        "owner": owner,
    }
    return {k: v for k, v in values.items() if v is not None}


def convert_lead(
    ctx: Context,
    find_lead: FindLead,
    customers: Customers,
    contacts: Records,
    opportunities: Records,
    check_duplicates: DuplicateCheck,
    lead_id: int,
    *,
    opportunity: Mapping[str, Any] | None = None,
    attach_to: str | None = None,
    ignore_duplicates: bool = False,
) -> Conversion:
    """Convert lead ``lead_id`` (see the module's docstring)."""
    with ctx.session() as session:
        lead = find_lead(session, lead_id)
        convertible(lead)
        values = customer_values(lead, _owner_name(session, lead) or ctx.actor.username)
    if attach_to is None and not ignore_duplicates:
        matches = check_duplicates(values)
        if matches:
            raise PossibleDuplicates(lead_id, matches)
    with ctx.session() as session:
        lead = find_lead(session, lead_id)
        convertible(lead)  # it may have moved meanwhile
        if attach_to is not None:
            customer = customers.find(session, attach_to)
            contact = contacts.create(
                session,
                customer,
                {
                    k: v
                    for k, v in {
                        "name": lead.name,
                        "phone": lead.phone,
                        "email": lead.email,
                    }.items()
                    if v is not None
                },
            )
        else:
            customer = customers.create(session, values)
            contact = session.execute(
                select(Contact).where(Contact.customer_id == customer.id, Contact.is_primary)
            ).scalar_one()
        deal = None
        if opportunity is not None:
            wanted = dict(opportunity)
            if lead.campaign_id is not None:
                wanted.setdefault("campaign_id", lead.campaign_id)
            wanted.setdefault("owner", values["owner"])
            deal = opportunities.create(session, customer, wanted)
        moment = clock.now()
        lead.status = "converted"
        lead.customer_id = customer.id
        lead.opportunity_id = deal.id if deal is not None else None
        lead.converted_at = moment
        _member_converted(session, lead, customer, moment)
        session.flush()
        return Conversion(
            lead_id, customer.code, attach_to is None, contact.id, deal.id if deal else None
        )


def _owner_name(session: Session, lead: Lead) -> str | None:
    owner = session.get(User, lead.owner_id) if lead.owner_id else None
    return owner.username if owner and owner.active else None


def _member_converted(session: Session, lead: Lead, customer: Customer, moment: Any) -> None:
    """The lead's campaign counts it as converted (its membership is created if missing)."""
    if lead.campaign_id is None:
        return
    member = session.execute(
        select(CampaignMember)
        .where(CampaignMember.campaign_id == lead.campaign_id, CampaignMember.lead_id == lead.id)
        .execution_options(**{UNSCOPED: True})
    ).scalar_one_or_none()
    if member is None:
        member = CampaignMember(
            campaign_id=lead.campaign_id,
            lead_id=lead.id,
            sent_at=lead.created_at,
            responded_at=lead.created_at,
        )
        session.add(member)
    member.status = "converted"
    member.customer_id = customer.id
    member.converted_at = moment
