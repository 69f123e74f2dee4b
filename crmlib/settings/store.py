"""Reading and writing settings in the ``settings`` table: a stored value that breaks
its rule reads as the default with a :class:`SettingWarning`; every change is checked
against the acting role and audited."""

from __future__ import annotations

import copy
import json
import warnings
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.orm import Session

from .. import audit, clock
from ..access import ROLES, UNSCOPED
from ..audit import ACTOR
from ..errors import AccessDenied, FieldError
from ..i18n import t
from ..store.models import Setting, User
from .defaults import DEFAULTS
from .rules import NOT_JSON, problems, require_known, validated

# ---------------------------------------------------------------- reading and writing


class SettingWarning(UserWarning):
    """A stored setting broke its rule (it was written before the rules existed, or by
    hand), so the default applies: people keep working and an administrator can see why."""


@dataclass(frozen=True)
class Stored:
    """A setting as the database holds it: the value in force and, when the stored one
    breaks its rule, that value and why (the default is in force then)."""

    key: str
    value: Any
    stored: bool
    invalid: Any = None
    problem: str | None = None


def _stored_text(source: Session | Connection, key: str) -> str | None:
    return source.execute(select(Setting.value).where(Setting.key == key)).scalar_one_or_none()


def read_setting(source: Session | Connection, key: str) -> Stored:
    """The setting ``key`` with what the database holds; never raises for a bad stored value."""
    require_known(key)
    text = _stored_text(source, key)
    if text is None:
        return Stored(key, copy.deepcopy(DEFAULTS[key]), stored=False)
    try:
        value = json.loads(text)
    except ValueError:
        value = NOT_JSON
    errors = (
        [FieldError(key, text, "setting_not_json", t("settings:not_json"))]
        if (value is NOT_JSON)
        else problems(key, value)
    )
    if errors:
        shown = text if value is NOT_JSON else value
        problem = "; ".join(str(e) for e in errors)
        return Stored(key, copy.deepcopy(DEFAULTS[key]), True, shown, problem)
    return Stored(key, value, stored=True)


def get_setting(source: Session | Connection, key: str) -> Any:
    """The value of setting ``key`` in force: the stored one, else the default.

    A stored value that breaks the rule (written before the rules existed, or by hand)
    gives the default and a :class:`SettingWarning`, so one bad value cannot stop every
    user's work; ``crm settings list`` shows it to the administrator.
    """
    setting = read_setting(source, key)
    if setting.problem is not None:
        default = json.dumps(DEFAULTS[key], ensure_ascii=False)
        warnings.warn(
            SettingWarning(
                t("settings:fallback", setting=key, problem=setting.problem, default=default)
            ),
            stacklevel=2,
        )
    return setting.value


def _acting_role(session: Session) -> tuple[str, str]:
    """The username and role of the session's actor (``?`` for none)."""
    username = session.info.get(ACTOR)
    role = None
    if username:
        role = session.execute(
            select(User.role)
            .where(User.username == username, User.active.is_(True))
            .execution_options(**{UNSCOPED: True})
        ).scalar_one_or_none()
    return username or "?", role or "?"


def require_manager(session: Session, key: str) -> None:
    """Refuse unless the session acts for a user whose role may manage settings."""
    username, role = _acting_role(session)
    known = ROLES.get(role)
    if known is None or not known.manage_settings:
        raise AccessDenied(
            t(
                "access:not_allowed",
                username=username,
                role=role,
                action=t("settings:change", setting=key),
            )
        )


def write_setting(session: Session, key: str, value: Any, action: str) -> tuple[Any, Any]:
    """Store ``value`` (``action`` "update") or remove the stored value ("reset") and
    audit the change; returns the old and the new value."""
    require_manager(session, key)
    before = read_setting(session, key)
    old = before.invalid if before.problem is not None else before.value
    # Core statements: the audit event below says more than the flush hook's would
    # (the old value of a setting never stored is its default).
    if action == "reset":
        session.execute(delete(Setting).where(Setting.key == key))
        new = copy.deepcopy(DEFAULTS[key])
    else:
        new = validated(key, value)
        text = json.dumps(new, ensure_ascii=False)
        now = clock.now()
        if before.stored:
            session.execute(
                update(Setting).where(Setting.key == key).values(value=text, updated_at=now)
            )
        else:
            session.execute(insert(Setting).values(key=key, value=text, updated_at=now))
    audit.record(
        session,
        actor=session.info.get(ACTOR, "system"),
        action=action,
        entity="settings",
        ref=key,
        field=key,
        old_value=json.dumps(old, ensure_ascii=False),
        new_value=json.dumps(new, ensure_ascii=False),
    )
    return old, new


def set_setting(session: Session, key: str, value: Any) -> Any:
    """Validate and store ``value`` as setting ``key`` in a workspace session
    (``ws.ctx.session()``) of a user who may manage settings; audited. Returns the
    value stored. ``ws.settings.set`` is the same for people."""
    return write_setting(session, key, value, "update")[1]


def reset_setting(session: Session, key: str) -> Any:
    """Remove the stored value of ``key``, so the default applies again; audited."""
    return write_setting(session, key, None, "reset")[1]
