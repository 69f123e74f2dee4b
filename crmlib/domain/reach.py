"""Loading one record within the actor's scope, telling "not yours" from "missing"."""

from __future__ import annotations

from typing import Any, NoReturn

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ..access import UNSCOPED, Actor
from ..context import Context
from ..errors import AccessDenied, NotFound
from ..i18n import t
from ..store.models import Customer


def reach(session: Session, ctx: Context, stmt: Select[Any], what: str) -> Any:
    """The one entity ``stmt`` selects; AccessDenied when it exists outside the actor's
    scope, NotFound when it does not exist at all."""
    found = session.execute(stmt).scalar_one_or_none()
    if found is not None:
        return found
    deny_or_missing(session, ctx.actor, stmt, what)


def deny_or_missing(session: Session, actor: Actor, stmt: Select[Any], what: str) -> NoReturn:
    """For ``stmt`` that selected nothing: AccessDenied when the record exists outside
    ``actor``'s scope, else NotFound; ``what`` names it in the message."""
    hidden = session.execute(
        select(func.count()).select_from(stmt.subquery()).execution_options(**{UNSCOPED: True})
    ).scalar_one()
    if hidden:
        raise AccessDenied(
            t("access:out_of_scope", what=what, username=actor.username, role=actor.role.name)
        )
    raise NotFound(t("access:not_found", what=what))


def customer_by_code(session: Session, ctx: Context, code: str) -> Customer:
    customer: Customer = reach(
        session, ctx, select(Customer).where(Customer.code == code), f"customer {code}"
    )
    return customer
