"""Comments on customers, opportunities and tickets, with @mentions that hand out work.

Whoever may see a record may comment on it. A mention is ``@`` followed by a username
(ASCII letters, digits and ``. _ -``, not ending in one of those three), where the ``@``
does not follow an ASCII letter, digit or ``. _ % + -``: so ``@li`` and ``请@zhang.wei跟进``
mention, while ``li@example.com`` does not. Each active user mentioned gets a task in
their list, linked to the comment and its record, titled from the comment and due today,
so it shows in their reminders. A name that is no active user is not an error (the
comment is still worth keeping): it comes back in ``unknown_mentions`` for the author to
correct.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import pandas as pd
from sqlalchemy import select

from ... import clock
from ...context import Context, localised
from ...errors import FieldError, ValidationError
from ...i18n import t
from ...rules import text, validate
from ...store.models import Comment, Customer, User
from .targets import find_target
from .tasks import new_task

MENTION = re.compile(r"(?<![A-Za-z0-9._%+\-])@([A-Za-z0-9](?:[A-Za-z0-9._\-]*[A-Za-z0-9])?)")
EXCERPT = 80
BODY_RULES = {"body": text(4000)}


def mentions(body: str) -> tuple[str, ...]:
    """The usernames ``body`` mentions, in order, each once. The body is read folded to
    half-width (NFKC), as user names are, so "＠ｚｈａｎｇ" mentions zhang; it is stored as
    written."""
    return tuple(dict.fromkeys(MENTION.findall(unicodedata.normalize("NFKC", body))))


def _excerpt(body: str) -> str:
    flat = " ".join(body.split())
    return flat if len(flat) <= EXCERPT else f"{flat[: EXCERPT - 1]}…"


class Comments:
    """Comment on records and read a record's comments."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    @localised
    def add(self, on: str, ref: Any, body: str) -> dict[str, Any]:
        """Comment on the customer (code), opportunity (id) or ticket (id) ``ref``.

        Returns the comment with ``mentioned`` (usernames that got a task), ``task_ids``
        and ``unknown_mentions`` (names that are no active user).
        """
        clean, errors = validate(BODY_RULES, {"body": body})
        if errors:
            raise ValidationError(errors)
        if not clean.get("body"):
            raise ValidationError(FieldError("body", body, "required", t("required")))
        actor = self._ctx.actor
        with self._ctx.session(action="create") as session:
            target = find_target(session, actor, on, ref, "on")
            comment = Comment(
                entity=target.entity,
                entity_id=target.entity_id,
                customer_id=target.customer_id,
                author_id=actor.id,
                body=clean["body"],
                created_at=clock.now(),
            )
            session.add(comment)
            session.flush()
            names = mentions(clean["body"])
            users = {
                u.username: u
                for u in session.execute(
                    select(User).where(User.username.in_(names), User.active.is_(True))
                ).scalars()
            }
            title = t("comments:mention_title", author=actor.username, excerpt=_excerpt(body))
            tasks = [
                new_task(
                    session,
                    title=title[:300],
                    assignee=users[name],
                    created_by=actor.id,
                    due_date=clock.today(),
                    description=clean["body"],
                    entity=target.entity,
                    entity_id=target.entity_id,
                    customer_id=target.customer_id,
                    comment_id=comment.id,
                )
                for name in names
                if name in users
            ]
            return {
                "id": comment.id,
                "entity": comment.entity,
                "entity_id": comment.entity_id,
                "author": actor.username,
                "body": comment.body,
                "created_at": comment.created_at,
                "mentioned": [name for name in names if name in users],
                "task_ids": [task.id for task in tasks],
                "unknown_mentions": [name for name in names if name not in users],
            }

    @localised
    def list(self, on: str, ref: Any) -> pd.DataFrame:
        """The comments on one record, oldest first."""
        with self._ctx.session() as session:
            target = find_target(session, self._ctx.actor, on, ref, "on")
        stmt = (
            select(
                Comment.id,
                Comment.created_at,
                User.username.label("author"),
                Comment.body,
                Customer.code.label("customer_code"),
            )
            .join(Customer, Customer.id == Comment.customer_id)
            .outerjoin(User, User.id == Comment.author_id)
            .where(
                Comment.entity == target.entity,
                Comment.entity_id == target.entity_id,
                self._ctx.scope.customer_filter(),
            )
            .order_by(Comment.created_at, Comment.id)
        )
        return self._ctx.frame(stmt)
