"""``ws.settings``: the settings as the workspace's users see and change them."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import select

from ..context import Context, localised
from ..i18n import t
from ..store.models import AuditEvent
from .defaults import DEFAULTS, DESCRIPTIONS
from .rules import require_known, rule_text
from .store import Stored, get_setting, read_setting, write_setting

# ---------------------------------------------------------------- ws.settings


@dataclass(frozen=True)
class Change:
    """One change of a setting: the value before and after."""

    key: str
    old: Any
    new: Any


class Settings:
    """``ws.settings``: the business-rule settings. Everyone reads them (they decide what
    the tools do); changing one needs the role's ``manage_settings`` (admin) and is
    audited with the old and new value."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    @localised
    def get(self, key: str) -> Any:
        """The value in force (the default when none or an invalid one is stored)."""
        with self._ctx.reading() as conn:
            return get_setting(conn, key)

    @localised
    def set(self, key: str, value: Any) -> Change:
        """Validate ``value`` against the setting's rule and store it."""
        self._require(key)
        with self._ctx.session() as session:
            return Change(key, *write_setting(session, key, value, "update"))

    @localised
    def reset(self, key: str) -> Change:
        """Back to the default."""
        self._require(key)
        with self._ctx.session() as session:
            return Change(key, *write_setting(session, key, None, "reset"))

    @localised
    def rule(self, key: str) -> str:
        """The rule values of ``key`` must follow, in words."""
        require_known(key)
        return rule_text(key, self._ctx.lang)

    @localised
    def read(self, key: str) -> Stored:
        """The setting with what is stored, including an invalid stored value and why."""
        with self._ctx.reading() as conn:
            return read_setting(conn, key)

    @localised
    def history(self, key: str | None = None) -> pd.DataFrame:
        """Who changed which setting when, from what to what, newest first."""
        if key is not None:
            require_known(key)
        stmt = (
            select(
                AuditEvent.occurred_at,
                AuditEvent.actor,
                AuditEvent.action,
                AuditEvent.ref.label("key"),
                AuditEvent.old_value,
                AuditEvent.new_value,
            )
            .where(AuditEvent.entity == "settings")
            .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        )
        if key is not None:
            stmt = stmt.where(AuditEvent.ref == key)
        return self._ctx.frame(stmt)

    @localised
    def frame(self) -> pd.DataFrame:
        """One row per setting: key, value in force, default, whether it is changed, its
        name, description and rule in the workspace's language, and the problem of an invalid
        stored value (the stored value then in ``stored``)."""
        lang = self._ctx.lang
        with self._ctx.reading() as conn:
            rows = [read_setting(conn, key) for key in DEFAULTS]
        return pd.DataFrame(
            {
                "key": [s.key for s in rows],
                "value": [s.value for s in rows],
                "default": [copy.deepcopy(DEFAULTS[s.key]) for s in rows],
                "changed": [s.value != DEFAULTS[s.key] for s in rows],
                "title": [DESCRIPTIONS[s.key].title(lang) for s in rows],
                "description": [DESCRIPTIONS[s.key].description(lang) for s in rows],
                "rule": [rule_text(s.key, lang) for s in rows],
                "stored": [s.invalid for s in rows],
                "problem": [s.problem for s in rows],
            }
        )

    def list(self) -> pd.DataFrame:
        """Same as :meth:`frame`."""
        return self.frame()

    def _require(self, key: str) -> None:
        require_known(key)
        self._ctx.scope.require(
            self._ctx.actor.role.manage_settings, t("settings:change", setting=key)
        )
