"""Reminders: what a user should do today, and what is already late.

Two things remind:

* a follow-up's next action date. The reminder belongs to the follow-up's owner, on the
  customers that user may see, and counts as done once a later follow-up of the same
  customer is logged (by anyone): the later follow-up is the next action taken;
* an open or in-progress task with a due date, for its assignee.

Items due today or earlier are listed, the most overdue first. A user sees their own
reminders; a manager also those of their team's members, an administrator anyone's.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import exists, literal, select
from sqlalchemy.orm import Session, aliased

from ... import clock
from ...access import Actor, Scope
from ...context import Context
from ...errors import AccessDenied
from ...i18n import t
from ...store.models import Customer, Interaction, Task
from .tasks import OPEN_STATUSES
from .users import find_user

COLUMNS = ["kind", "due_date", "overdue_days", "customer_code", "customer_name", "todo", "ref"]


def may_see_reminders(actor: Actor, target: Actor) -> bool:
    """Your own; a manager their team's; an administrator everyone's."""
    if target.id == actor.id or actor.role.manage_users:
        return True
    return actor.role.scope == "team" and actor.team is not None and target.team == actor.team


def reminders(ctx: Context, user: str | None = None) -> pd.DataFrame:
    """Due and overdue follow-up next actions and tasks of ``user`` (default: the actor)
    as a DataFrame with ``kind`` (follow_up / task), ``due_date``, ``overdue_days``,
    ``customer_code``, ``customer_name``, ``todo`` and ``ref`` (follow-up or task id)."""
    with Session(ctx.engine) as session:
        target = Actor.of(find_user(session, user or ctx.actor.username))
    if not may_see_reminders(ctx.actor, target):
        raise AccessDenied(
            t(
                "reminders:not_allowed",
                username=ctx.actor.username,
                role=ctx.actor.role.name,
                other=target.username,
            )
        )
    today = clock.today()
    later = aliased(Interaction)
    follow_ups = (
        select(
            literal("follow_up").label("kind"),
            Interaction.next_action_date.label("due_date"),
            Customer.code.label("customer_code"),
            Customer.name.label("customer_name"),
            Interaction.next_step.label("todo"),
            Interaction.id.label("ref"),
        )
        .join(Customer, Customer.id == Interaction.customer_id)
        .where(
            Interaction.owner_id == target.id,
            Interaction.next_action_date <= today,
            Customer.id.in_(Scope(target).customer_ids()),
            ~exists().where(
                later.customer_id == Interaction.customer_id,
                later.occurred_at > Interaction.occurred_at,
            ),
        )
    )
    tasks = (
        select(
            literal("task").label("kind"),
            Task.due_date,
            Customer.code.label("customer_code"),
            Customer.name.label("customer_name"),
            Task.title.label("todo"),
            Task.id.label("ref"),
        )
        .outerjoin(Customer, Customer.id == Task.customer_id)
        .where(
            Task.assignee_id == target.id,
            Task.status.in_(OPEN_STATUSES),
            Task.due_date <= today,
        )
    )
    frames = [ctx.frame(follow_ups), ctx.frame(tasks)]
    filled = [f for f in frames if len(f)]
    found = pd.concat(filled, ignore_index=True) if filled else frames[0]
    found["overdue_days"] = [(today - _day(d)).days for d in found["due_date"]]
    found["due_date"] = [_day(d) for d in found["due_date"]]
    found = found.sort_values(["due_date", "kind", "ref"], kind="stable", ignore_index=True)
    return found[COLUMNS]


def _day(value: Any) -> Any:
    """A date from what the driver returned (a date, or a pandas Timestamp)."""
    return value.date() if hasattr(value, "date") and callable(value.date) else value
