"""Users and roles. Only administrators manage users; anyone may list them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ... import team_mode
from ...access import ROLES, UNSCOPED
from ...audit import record
from ...context import Context, localised
from ...errors import ConfigError, Conflict, FieldError, NotFound, ValidationError
from ...i18n import t
from ...reference.enums import ROLE
from ...rules import enum_of, identifier, text, validate
from ...store.models import Customer, Lead, Opportunity, User


def admin_display_name(lang: str | None = None) -> str:
    """The name the first administrator is shown by, in the workspace's language."""
    return t("users:admin_display_name", lang)


USER_RULES = {
    "username": identifier(64),
    "display_name": text(128),
    "role": enum_of(ROLE),
    "team": identifier(64),
}


@dataclass(frozen=True)
class UserRecord:
    username: str
    display_name: str
    role: str
    team: str | None
    active: bool

    @classmethod
    def of(cls, user: User) -> UserRecord:
        return cls(user.username, user.display_name, user.role, user.team, user.active)


def find_user(session: Session, username: str, *, active_only: bool = True) -> User:
    """The user called ``username``; raises NotFound naming it."""
    user = session.execute(
        select(User).where(User.username == username).execution_options(**{UNSCOPED: True})
    ).scalar_one_or_none()
    if user is None:
        raise NotFound(t("users:unknown", username=username))
    if active_only and not user.active:
        raise NotFound(t("users:deactivated", username=username))
    return user


class Users:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    @localised
    def add(
        self,
        username: str,
        *,
        role: str,
        team: str | None = None,
        display_name: str | None = None,
        password: str | None = None,
    ) -> UserRecord:
        """Add a user; on a team database (:mod:`crmlib.team_mode`) also their database
        login, with ``password``."""
        self._ctx.scope.require(self._ctx.actor.role.manage_users, "add users")
        clean, errors = validate(
            USER_RULES,
            {"username": username, "role": role, "team": team, "display_name": display_name},
        )
        if not clean.get("username"):
            errors.append(FieldError("username", username, "required", t("required")))
        if errors:
            raise ValidationError(errors)
        with self._ctx.session() as session:
            exists = session.execute(
                select(func.count()).select_from(User).where(User.username == clean["username"])
            ).scalar_one()
            if exists:
                raise Conflict(t("users:exists", username=clean["username"]))
            user = User(
                username=clean["username"],
                display_name=clean["display_name"] or clean["username"],
                role=clean["role"],
                team=clean["team"],
                active=True,
            )
            session.add(user)
            session.flush()
            if team_mode.team_roles(session.connection()) is not None:
                team_mode.create_login(session.connection(), user.username, password or "")
            return UserRecord.of(user)

    @localised
    def set_password(self, username: str, password: str) -> None:
        """A new password for ``username``'s database login (team databases only): anyone
        their own, a user manager anyone's; the database checks both."""
        if username != self._ctx.actor.username:
            self._ctx.scope.require(self._ctx.actor.role.manage_users, "change passwords")
        with self._ctx.session() as session:
            user = find_user(session, username)
            if team_mode.team_roles(session.connection()) is None:
                raise ConfigError(t("team_mode:no_logins"))
            team_mode.set_password(session.connection(), user.username, password)
            record(
                session.connection(),
                actor=self._ctx.actor.username,
                action="password",
                entity=User.__tablename__,
                entity_id=user.id,
                ref=user.username,
            )

    @localised
    def get(self, username: str) -> UserRecord:
        with self._ctx.session() as session:
            return UserRecord.of(find_user(session, username, active_only=False))

    @localised
    def frame(self, *, include_inactive: bool = True) -> pd.DataFrame:
        stmt = select(
            User.username, User.display_name, User.role, User.team, User.active, User.created_at
        ).order_by(User.username)
        if not include_inactive:
            stmt = stmt.where(User.active.is_(True))
        return self._ctx.frame(stmt)

    @localised
    def set_role(self, username: str, role: str, team: str | None = None) -> UserRecord:
        """Give ``username`` another role (and team), by the rules a new user's are checked
        with; the last active administrator keeps the role, so the workspace keeps one."""
        self._ctx.scope.require(self._ctx.actor.role.manage_users, "change roles")
        given = {"role": role} if team is None else {"role": role, "team": team}
        clean, errors = validate(USER_RULES, given)
        if errors:
            raise ValidationError(errors)
        with self._ctx.session() as session:
            user = find_user(session, username, active_only=False)
            if user.role == "admin" and clean["role"] != "admin" and user.active:
                admins = session.execute(
                    select(func.count())
                    .select_from(User)
                    .where(User.role == "admin", User.active.is_(True))
                    .execution_options(**{UNSCOPED: True})
                ).scalar_one()
                if admins == 1:
                    raise Conflict(t("users:last_admin", username=username))
            user.role = clean["role"]
            if team is not None:
                user.team = clean["team"]
            if team_mode.team_roles(session.connection()) is not None:
                session.flush()  # the database reads the new role
                team_mode.sync_scope(session.connection(), user.username)
            return UserRecord.of(user)

    @localised
    def deactivate(self, username: str, *, reassign_to: str | None = None) -> int:
        """Deactivate a user; their customers, open leads and opportunities must move.

        Returns how many customers were reassigned. Without ``reassign_to`` a user who
        still owns customers is refused, so no customer is left without an owner.
        """
        self._ctx.scope.require(self._ctx.actor.role.manage_users, "deactivate users")
        with self._ctx.session() as session:
            user = find_user(session, username)
            owned = (
                session.execute(select(Customer).where(Customer.owner_id == user.id))
                .scalars()
                .all()
            )
            if owned and reassign_to is None:
                raise Conflict(t("users:still_owns", username=username, count=len(owned)))
            if reassign_to is not None:
                heir = find_user(session, reassign_to)
                if heir.id == user.id:
                    raise Conflict(t("users:self_heir"))
                for customer in owned:
                    customer.owner_id = heir.id
                models: tuple[Any, ...] = (Lead, Opportunity)
                for model in models:
                    records = session.execute(select(model).where(model.owner_id == user.id))
                    for record in records.scalars():
                        record.owner_id = heir.id
            user.active = False
            if team_mode.team_roles(session.connection()) is not None:
                team_mode.close_login(session.connection(), user.username)
            return len(owned)

    @staticmethod
    def roles() -> list[str]:
        return list(ROLES)
