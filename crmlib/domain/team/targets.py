"""The records a task or a comment can be about: a customer (by code), an opportunity or a
ticket (by id). Finding one goes through the actor's scoped session, so "about a record"
never reaches past what the actor may see."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...access import Actor
from ...errors import FieldError, ValidationError
from ...i18n import t
from ...store.models import Customer, Opportunity, Ticket
from ..reach import deny_or_missing

ENTITIES = ("customer", "opportunity", "ticket")
_ABOUT = re.compile(r"^\s*(opportunity|ticket)\s*[:#\s]\s*(\d+)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Target:
    """A record something is about, with the customer it is filed under."""

    entity: str
    entity_id: int
    customer_id: int
    label: str


def parse_about(about: str) -> tuple[str, str]:
    """``"C20240501001"`` → (customer, code); ``"opportunity:12"`` / ``"ticket:7"`` → (kind, id)."""
    match = _ABOUT.match(about)
    if match:
        return match.group(1).lower(), match.group(2)
    if about.strip() and not any(c.isspace() for c in about.strip()):
        return "customer", about.strip()
    raise ValidationError(FieldError("about", about, "about_format", t("targets:bad_about")))


def find_target(session: Session, actor: Actor, entity: str, ref: Any, field: str) -> Target:
    """The record ``entity`` ``ref`` as the actor sees it; AccessDenied when it exists but
    lies outside the actor's scope, NotFound when it does not exist."""
    if entity not in ENTITIES:
        raise ValidationError(FieldError(field, entity, "enum:entity", t("targets:bad_entity")))
    if entity == "customer":
        stmt: Any = select(Customer).where(Customer.code == str(ref).strip())
    else:
        try:
            record_id = int(ref)
        except (TypeError, ValueError):
            raise ValidationError(
                FieldError(field, ref, "about_format", t("targets:bad_about"))
            ) from None
        model: Any = Opportunity if entity == "opportunity" else Ticket
        stmt = select(model).where(model.id == record_id)
    record = session.execute(stmt).scalar_one_or_none()
    if record is None:
        deny_or_missing(session, actor, stmt, f"{entity} {ref}")
    if isinstance(record, Customer):
        return Target("customer", record.id, record.id, record.code)
    return Target(entity, record.id, record.customer_id, f"{entity} #{record.id}")
