"""Who may see and change what.

A :class:`Scope` is built once per workspace from the acting user. It is applied to every
ORM query of the session automatically (see :func:`install_scoping`), so a forgotten
filter cannot leak another rep's customers; Core queries (reports) call
:meth:`Scope.customer_ids` themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, Select, and_, event, or_, select, true
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from .errors import AccessDenied
from .i18n import t
from .missing import is_missing
from .store.models import (
    CampaignMember,
    Comment,
    Contact,
    Customer,
    CustomerTag,
    Feedback,
    Interaction,
    Lead,
    Opportunity,
    Order,
    StageHistory,
    Task,
    Ticket,
    TicketArticle,
    TicketEvent,
    User,
)

UNSCOPED = "crm_unscoped"


@dataclass(frozen=True)
class Role:
    """What a role may do. ``scope`` is ``own``, ``team`` or ``all`` customers."""

    name: str
    scope: str
    edit_customers: bool
    see_pii: bool
    delete_customers: bool
    delete_won_customers: bool = False
    manage_users: bool = False
    edit_leads: bool = False
    edit_tickets: bool = False
    #: Hand out unassigned leads by the assignment rules (a manager within their team).
    assign_leads: bool = False
    edit_campaigns: bool = False
    #: Privileged operations on the whole workspace (admin only by default): a full,
    #: unmasked copy of the data; rolling everyone's work back to a copy; emptying the
    #: database (``crm demo --fresh``, ``crm init`` over a database that has data); changing
    #: the business-rule settings.
    backup_data: bool = False
    restore_data: bool = False
    reset_database: bool = False
    manage_settings: bool = False


ROLES: dict[str, Role] = {
    r.name: r
    for r in (
        Role(
            "admin",
            "all",
            True,
            True,
            True,
            delete_won_customers=True,
            manage_users=True,
            edit_leads=True,
            edit_tickets=True,
            assign_leads=True,
            edit_campaigns=True,
            backup_data=True,
            restore_data=True,
            reset_database=True,
            manage_settings=True,
        ),
        Role(
            "manager",
            "team",
            True,
            True,
            True,
            edit_leads=True,
            edit_tickets=True,
            assign_leads=True,
            edit_campaigns=True,
        ),
        Role("sales", "own", True, True, True, edit_leads=True),
        Role(
            "marketing",
            "all",
            False,
            False,
            False,
            edit_leads=True,
            assign_leads=True,
            edit_campaigns=True,
        ),
        Role("service", "all", False, True, False, edit_tickets=True),
        Role("finance", "all", False, False, False),
        Role("analyst", "all", False, False, False),
    )
}


CUSTOMER_CHILDREN: tuple[type[Any], ...] = (
    Contact,
    CustomerTag,
    Opportunity,
    Interaction,
    Order,
    Ticket,
    Feedback,
    CampaignMember,
    Comment,
)


@dataclass(frozen=True)
class Actor:
    """The user a workspace acts as."""

    id: int
    username: str
    role: Role
    team: str | None

    @classmethod
    def of(cls, user: User) -> Actor:
        return cls(user.id, user.username, ROLES[user.role], user.team)


@dataclass(frozen=True)
class Scope:
    actor: Actor

    def owner_ids(self) -> Select[int] | None:
        """Owners whose customers the actor may see; None means everyone's."""
        if self.actor.role.scope == "own":
            return select(User.id).where(User.id == self.actor.id)
        if self.actor.role.scope == "team":
            if self.actor.team is None:
                return select(User.id).where(User.id == self.actor.id)
            return select(User.id).where(User.team == self.actor.team)
        return None

    def customer_filter(self) -> ColumnElement[bool]:
        owners = self.owner_ids()
        return true() if owners is None else Customer.owner_id.in_(owners)

    def customer_ids(self) -> Select[int]:
        """A subquery of the visible customers' ids, for Core queries and child tables."""
        return select(Customer.id).where(self.customer_filter())

    def child_filter(self, entity: type[Any]) -> ColumnElement[bool]:
        if self.owner_ids() is None:
            return true()
        return entity.customer_id.in_(self.customer_ids())

    def lead_filter(self) -> ColumnElement[bool]:
        """Leads the actor may see: their own; a manager also the team's and the team's
        unassigned leads (to hand them out); everyone's for scope ``all``."""
        owners = self.owner_ids()
        if owners is None:
            return true()
        if self.actor.role.scope == "team" and self.actor.team is not None:
            waiting = and_(
                Lead.owner_id.is_(None), or_(Lead.team.is_(None), Lead.team == self.actor.team)
            )
            return or_(Lead.owner_id.in_(owners), waiting)
        return Lead.owner_id.in_(owners)

    def task_filter(self) -> ColumnElement[bool]:
        """Tasks the actor may see: assigned to or created by the users in scope."""
        owners = self.owner_ids()
        if owners is None:
            return true()
        return or_(Task.assignee_id.in_(owners), Task.created_by_id.in_(owners))

    def may_own(self, owner_id: int, owner_team: str | None) -> bool:
        """Whether the actor may assign a record to the user ``owner_id`` of ``owner_team``."""
        scope = self.actor.role.scope
        if scope == "all":
            return True
        if scope == "team":
            return owner_id == self.actor.id or (
                self.actor.team is not None and owner_team == self.actor.team
            )
        return owner_id == self.actor.id

    def require(self, allowed: bool, action: str) -> None:
        if not allowed:
            raise AccessDenied(
                t(
                    "access:not_allowed",
                    username=self.actor.username,
                    role=self.actor.role.name,
                    action=action,
                )
            )


def customer_out_of_scope(actor: Actor, code: str) -> AccessDenied:
    """The error for customer ``code``, which exists but outside ``actor``'s scope."""
    return AccessDenied(
        t(
            "access:customer_out_of_scope",
            code=code,
            username=actor.username,
            role=actor.role.name,
            scope=actor.role.scope,
        )
    )


def install_scoping(session: Session, scope: Scope) -> None:
    """Add the scope's criteria to every ORM statement the session runs.

    Statements executed with ``execution_options(crm_unscoped=True)`` are left alone:
    they tell "not yours" from "does not exist" and check uniqueness across owners.
    """

    def add_criteria(state: ORMExecuteState) -> None:
        if state.is_column_load or state.is_relationship_load:
            return
        if state.execution_options.get(UNSCOPED) or scope.owner_ids() is None:
            return
        if not (state.is_select or state.is_update or state.is_delete):
            return
        options = [
            with_loader_criteria(Customer, scope.customer_filter(), include_aliases=True),
            with_loader_criteria(
                StageHistory,
                StageHistory.opportunity_id.in_(
                    select(Opportunity.id).where(Opportunity.customer_id.in_(scope.customer_ids()))
                ),
            ),
            with_loader_criteria(
                TicketEvent,
                TicketEvent.ticket_id.in_(
                    select(Ticket.id).where(Ticket.customer_id.in_(scope.customer_ids()))
                ),
            ),
            with_loader_criteria(
                TicketArticle,
                TicketArticle.ticket_id.in_(
                    select(Ticket.id).where(Ticket.customer_id.in_(scope.customer_ids()))
                ),
            ),
            with_loader_criteria(Lead, scope.lead_filter(), include_aliases=True),
            with_loader_criteria(Task, scope.task_filter(), include_aliases=True),
        ]
        options += [
            with_loader_criteria(child, scope.child_filter(child), include_aliases=True)
            for child in CUSTOMER_CHILDREN
        ]
        state.statement = state.statement.options(*options)

    event.listen(session, "do_orm_execute", add_criteria)


def mask_phone(phone: str | None) -> str | None:
    """138****5678: keeps the first three and last four digits of the national number.
    A missing phone (None, NaN, pd.NA) is None."""
    if is_missing(phone):
        return None
    if not phone:
        return phone
    digits = phone[3:] if phone.startswith("+86") else phone
    if len(digits) <= 7:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"


def mask_email(email: str | None) -> str | None:
    """z***@example.com: the domain stays, so a masked list still shows a company's domain.
    A missing e-mail (None, NaN, pd.NA) is None."""
    if is_missing(email):
        return None
    if not email or "@" not in email:
        return email
    local, domain = email.split("@", 1)
    return f"{local[:1]}***@{domain}"


#: The personal fields a role without ``see_pii`` sees masked, and how.
PII_MASKS: dict[str, Callable[[str | None], str | None]] = {
    "phone": mask_phone,
    "email": mask_email,
}


def mask_frame(df: pd.DataFrame, fields: Iterable[str] = tuple(PII_MASKS)) -> pd.DataFrame:
    """``df`` with its ``fields`` columns masked in place. Missing values are left alone, so
    they stay missing as the column marks them (NaN in a ``str`` column, pd.NA in a
    nullable ``string`` one)."""
    for field in fields:
        df[field] = df[field].map(PII_MASKS[field], na_action="ignore")
    return df
