"""What an export of each kind reads: the expressions of its columns and the rows the
actor may see, as a statement (registered with the kind in :mod:`crmlib.transfer.catalogue`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, SQLColumnExpression, func, select
from sqlalchemy.orm import aliased

from ..access import Scope
from ..store.models import (
    Campaign,
    Contact,
    Customer,
    CustomerTag,
    Lead,
    Opportunity,
    Order,
    Ticket,
    User,
)

#: Joins a customer's tags inside the database; no tag contains it.
TAG_SEPARATOR = "\x1f"

Source = tuple[dict[str, SQLColumnExpression[Any]], Select[Any]]


def customers(scope: Scope) -> Source:
    """Customers with their primary contact (the first one, should there be two) and tags."""
    owner = aliased(User)
    primary = aliased(Contact)
    first_primary = (
        select(func.min(Contact.id))
        .where(Contact.customer_id == Customer.id, Contact.is_primary.is_(True))
        .scalar_subquery()
    )
    tags = (
        select(func.aggregate_strings(CustomerTag.tag, TAG_SEPARATOR))
        .where(CustomerTag.customer_id == Customer.id)
        .scalar_subquery()
    )
    expressions: dict[str, SQLColumnExpression[Any]] = {
        "external_id": Customer.external_id,
        "code": Customer.code,
        "name": Customer.name,
        "kind": Customer.kind,
        "industry": func.coalesce(Customer.industry_division, Customer.industry_section),
        "size": Customer.size,
        "province": Customer.province,
        "city": Customer.city,
        "postcode": Customer.postcode,
        "address": Customer.address,
        "grade": Customer.grade,
        "status": Customer.status,
        "source": Customer.source,
        "owner": owner.username,
        "contact": primary.name,
        "title": primary.title,
        "phone": primary.phone,
        "email": primary.email,
        "birthday": Customer.birthday,
        "consent_purpose": Customer.consent_purpose,
        "consent_at": Customer.consent_at,
        "tags": tags,
        "remarks": Customer.remarks,
    }
    stmt = (
        select()
        .select_from(Customer)
        .outerjoin(owner, owner.id == Customer.owner_id)
        .outerjoin(primary, primary.id == first_primary)
        .where(scope.customer_filter(), Customer.merged_into_id.is_(None))
        .order_by(Customer.id)
    )
    return expressions, stmt


def _under_customer(model: Any, scope: Scope) -> Select[Any]:
    """Records of a child table whose customer the actor may see, named by its customer.

    Whatever still hangs under a merged-away customer is left out with it: the importer
    would not find that customer, and the merge keeps it only for an unmerge.
    """
    return (
        select()
        .select_from(model)
        .join(Customer, Customer.id == model.customer_id)
        .where(scope.customer_filter(), Customer.merged_into_id.is_(None))
        .order_by(model.id)
    )


def _customer_keys() -> dict[str, SQLColumnExpression[Any]]:
    return {"customer_code": Customer.code, "customer_external_id": Customer.external_id}


def contacts(scope: Scope) -> Source:
    expressions: dict[str, SQLColumnExpression[Any]] = {
        **_customer_keys(),
        "name": Contact.name,
        "title": Contact.title,
        "phone": Contact.phone,
        "email": Contact.email,
        "is_primary": Contact.is_primary,
    }
    return expressions, _under_customer(Contact, scope)


def leads(scope: Scope) -> Source:
    """Leads belong to no customer: they are scoped by their owner."""
    owner = aliased(User)
    expressions: dict[str, SQLColumnExpression[Any]] = {
        "external_id": Lead.external_id,
        "code": Lead.code,
        "name": Lead.name,
        "company": Lead.company,
        "phone": Lead.phone,
        "email": Lead.email,
        "source": Lead.source,
        "province": Lead.province,
        "industry": func.coalesce(Lead.industry_division, Lead.industry_section),
        "value_tier": Lead.value_tier,
        "status": Lead.status,
        "invalid_reason": Lead.invalid_reason,
        "owner": owner.username,
        "campaign": Campaign.name,
        **_customer_keys(),
        "converted_at": Lead.converted_at,
    }
    stmt = (
        select()
        .select_from(Lead)
        .outerjoin(owner, owner.id == Lead.owner_id)
        .outerjoin(Campaign, Campaign.id == Lead.campaign_id)
        .outerjoin(Customer, Customer.id == Lead.customer_id)
        .order_by(Lead.id)
    )
    owners = scope.owner_ids()
    if owners is not None:
        stmt = stmt.where(Lead.owner_id.in_(owners))
    return expressions, stmt


def opportunities(scope: Scope) -> Source:
    owner = aliased(User)
    expressions: dict[str, SQLColumnExpression[Any]] = {
        "external_id": Opportunity.external_id,
        "code": Opportunity.code,
        **_customer_keys(),
        "name": Opportunity.name,
        "stage": Opportunity.stage,
        "amount": Opportunity.amount,
        "expected_close_date": Opportunity.expected_close_date,
        "need_description": Opportunity.need_description,
        "proposal_version": Opportunity.proposal_version,
        "loss_reason": Opportunity.loss_reason,
        "owner": owner.username,
        "campaign": Campaign.name,
    }
    stmt = (
        _under_customer(Opportunity, scope)
        .outerjoin(owner, owner.id == Opportunity.owner_id)
        .outerjoin(Campaign, Campaign.id == Opportunity.campaign_id)
    )
    return expressions, stmt


def orders(scope: Scope) -> Source:
    expressions: dict[str, SQLColumnExpression[Any]] = {
        "external_id": Order.external_id,
        **_customer_keys(),
        "ordered_at": Order.ordered_at,
        "amount": Order.amount,
        "product": Order.product,
        "category": Order.category,
        "campaign": Campaign.name,
    }
    stmt = _under_customer(Order, scope).outerjoin(Campaign, Campaign.id == Order.campaign_id)
    return expressions, stmt


def tickets(scope: Scope) -> Source:
    assignee = aliased(User)
    expressions: dict[str, SQLColumnExpression[Any]] = {
        "external_id": Ticket.external_id,
        "code": Ticket.code,
        **_customer_keys(),
        "type": Ticket.type,
        "priority": Ticket.priority,
        "status": Ticket.status,
        "subject": Ticket.subject,
        "description": Ticket.description,
        "team": Ticket.team,
        "assignee": assignee.username,
        "opened_at": Ticket.opened_at,
        "first_response_at": Ticket.first_response_at,
        "resolved_at": Ticket.resolved_at,
        "resolution": Ticket.resolution,
    }
    stmt = _under_customer(Ticket, scope).outerjoin(assignee, assignee.id == Ticket.assignee_id)
    return expressions, stmt
