"""Tasks: a piece of work for one user, with a priority and a due date, optionally about a
customer, an opportunity or a ticket.

Anyone may give a task to any active colleague (work crosses teams); the task is then
seen by its assignee and its creator, and by the managers who see either of them
(:meth:`~crmlib.access.Scope.task_filter`), and whoever sees it may change it. Its status
walks open → in_progress → done | cancelled (rule ``task_status_flow``); a task can be
done or cancelled straight from open, and done and cancelled are final. Open tasks with a
due date show in the assignee's reminders (:mod:`.reminders`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from ... import clock
from ...access import UNSCOPED
from ...context import Context, localised
from ...errors import AccessDenied, FieldError, NotFound, ValidationError
from ...i18n import t
from ...reference.enums import PRIORITY, TASK_STATUS
from ...rules import date_value, enum_of, identifier, text, validate, validated
from ...store.models import Customer, Task, User
from ..flows import Flow
from .targets import find_target, parse_about

TASK_FLOW = Flow.of(
    "task_status_flow",
    "status",
    TASK_STATUS,
    {"open": ("in_progress", "done", "cancelled"), "in_progress": ("done", "cancelled")},
)
OPEN_STATUSES = ("open", "in_progress")
FINISHED = ("done", "cancelled")
TASK_RULES = {
    "title": text(300),
    "description": text(4000),
    "priority": enum_of(PRIORITY),
    "due_date": date_value,
    "status": enum_of(TASK_STATUS),
    "assignee": identifier(64),
}


def active_user(session: Session, username: str, field: str) -> User:
    """The active user ``username``; otherwise a ValidationError naming ``field``."""
    user = session.execute(
        select(User).where(User.username == username, User.active.is_(True))
    ).scalar_one_or_none()
    if user is None:
        raise ValidationError(FieldError(field, username, "unknown_user", t("unknown_user")))
    return user


def new_task(
    session: Session,
    *,
    title: str,
    assignee: User,
    created_by: int,
    priority: str = "medium",
    due_date: date | None = None,
    description: str | None = None,
    entity: str | None = None,
    entity_id: int | None = None,
    customer_id: int | None = None,
    comment_id: int | None = None,
) -> Task:
    """Add a task inside the caller's transaction (a mention makes one with its comment)."""
    task = Task(
        title=title,
        description=description,
        assignee_id=assignee.id,
        created_by_id=created_by,
        priority=priority,
        status="open",
        due_date=due_date,
        entity=entity,
        entity_id=entity_id,
        customer_id=customer_id,
        comment_id=comment_id,
    )
    session.add(task)
    session.flush()
    return task


class Tasks:
    """Add, list, change and finish tasks."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    @localised
    def add(
        self,
        title: str,
        *,
        assignee: str | None = None,
        priority: str = "medium",
        due_date: Any = None,
        about: str | None = None,
        description: str | None = None,
    ) -> dict[str, Any]:
        """A new open task for ``assignee`` (default: yourself). ``about`` is a customer
        code, ``"opportunity:ID"`` or ``"ticket:ID"`` of a record you may see."""
        clean = self._validate(
            {"title": title, "priority": priority, "due_date": due_date, "description": description}
        )
        if not clean.get("title"):
            raise ValidationError(FieldError("title", title, "required", t("required")))
        with self._ctx.session(action="create") as session:
            user = active_user(session, assignee or self._ctx.actor.username, "assignee")
            link: dict[str, Any] = {}
            if about:
                entity, ref = parse_about(about)
                target = find_target(session, self._ctx.actor, entity, ref, "about")
                link = {
                    "entity": target.entity,
                    "entity_id": target.entity_id,
                    "customer_id": target.customer_id,
                }
            task = new_task(
                session,
                title=clean["title"],
                assignee=user,
                created_by=self._ctx.actor.id,
                priority=clean.get("priority") or "medium",
                due_date=clean.get("due_date"),
                description=clean.get("description"),
                **link,
            )
            return self._as_dict(session, task)

    @localised
    def get(self, task_id: int) -> dict[str, Any]:
        with self._ctx.session() as session:
            return self._as_dict(session, self._load(session, task_id))

    @localised
    def update(self, task_id: int, **changes: Any) -> dict[str, Any]:
        """Change title, description, priority, due date, assignee or status (along
        ``task_status_flow``)."""
        clean = validated(TASK_RULES, changes, "task")
        for key in ("title", "status", "priority", "assignee"):
            if key in clean and not clean[key]:
                raise ValidationError(FieldError(key, changes[key], "required", t("required")))
        with self._ctx.session() as session:
            task = self._load(session, task_id)
            if "status" in clean:
                TASK_FLOW.check(task.status, clean["status"])
                if clean["status"] != task.status:
                    task.completed_at = clock.now() if clean["status"] in FINISHED else None
            if "assignee" in clean:
                task.assignee_id = active_user(session, clean.pop("assignee"), "assignee").id
            for key, value in clean.items():
                setattr(task, key, value)
            session.flush()
            return self._as_dict(session, task)

    def done(self, task_id: int) -> dict[str, Any]:
        return self.update(task_id, status="done")

    def cancel(self, task_id: int) -> dict[str, Any]:
        return self.update(task_id, status="cancelled")

    def start(self, task_id: int) -> dict[str, Any]:
        return self.update(task_id, status="in_progress")

    @localised
    def list(
        self,
        *,
        assignee: str | None = None,
        status: str | None = None,
        everyone: bool = False,
        include_finished: bool = False,
    ) -> pd.DataFrame:
        """Your tasks (or ``assignee``'s, or all you may see with ``everyone=True``), open
        ones only unless ``status`` or ``include_finished`` says otherwise; by due date."""
        who, creator = aliased(User), aliased(User)
        stmt = (
            select(
                Task.id,
                Task.title,
                who.username.label("assignee"),
                creator.username.label("created_by"),
                Task.priority,
                Task.status,
                Task.due_date,
                Task.entity,
                Task.entity_id,
                Customer.code.label("customer_code"),
                Customer.name.label("customer_name"),
                Task.comment_id,
                Task.created_at,
                Task.completed_at,
            )
            .join(who, who.id == Task.assignee_id)
            .outerjoin(creator, creator.id == Task.created_by_id)
            .outerjoin(Customer, Customer.id == Task.customer_id)
            .where(self._ctx.scope.task_filter())
            .order_by(Task.due_date.is_(None), Task.due_date, Task.id)
        )
        if not everyone:
            stmt = stmt.where(who.username == (assignee or self._ctx.actor.username))
        if status is not None:
            stmt = stmt.where(Task.status == self._validate({"status": status})["status"])
        elif not include_finished:
            stmt = stmt.where(Task.status.in_(OPEN_STATUSES))
        return self._ctx.frame(stmt)

    # -- helpers -----------------------------------------------------------------------

    def _validate(self, values: Mapping[str, Any]) -> dict[str, Any]:
        clean, errors = validate(TASK_RULES, values)
        if errors:
            raise ValidationError(errors)
        return clean

    def _load(self, session: Session, task_id: int) -> Task:
        task = session.execute(select(Task).where(Task.id == task_id)).scalar_one_or_none()
        if task is not None:
            return task
        hidden = session.execute(
            select(func.count())
            .select_from(Task)
            .where(Task.id == task_id)
            .execution_options(**{UNSCOPED: True})
        ).scalar_one()
        actor = self._ctx.actor
        if hidden:
            raise AccessDenied(
                t("tasks:out_of_scope", id=task_id, username=actor.username, role=actor.role.name)
            )
        raise NotFound(t("tasks:not_found", id=task_id))

    def _as_dict(self, session: Session, task: Task) -> dict[str, Any]:
        values = {c.name: getattr(task, c.name) for c in Task.__table__.columns}
        assignee = session.get(User, task.assignee_id)
        values["assignee"] = assignee.username if assignee else None
        customer = session.get(Customer, task.customer_id) if task.customer_id else None
        values["customer_code"] = customer.code if customer else None
        return values
