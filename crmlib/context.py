"""The per-workspace context every service shares: engine, acting user and language.

``session()`` is the only way domain code gets an ORM session, and every session it hands
out is scoped to the actor and audited, so services cannot forget either.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import pandas as pd
from sqlalchemy import Connection, Engine, Select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from .access import Actor, Scope, install_scoping
from .audit import ACTION, ACTOR, install_audit
from .errors import Conflict
from .i18n import speaking, t
from .store.engine import WRITE_INTENT
from .team_audit import in_database, tell_action

R = TypeVar("R")


@dataclass
class Context:
    engine: Engine
    actor: Actor
    lang: str = "zh"
    _factory: sessionmaker[Session] = field(init=False, repr=False)
    #: A team database writes its audit events itself (:mod:`crmlib.team_audit`).
    _audited_by_database: bool = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._factory = sessionmaker(
            self.engine, expire_on_commit=False, execution_options={WRITE_INTENT: True}
        )
        self._audited_by_database = in_database(self.engine)

    @property
    def scope(self) -> Scope:
        return Scope(self.actor)

    @contextmanager
    def session(self, action: str | None = None) -> Iterator[Session]:
        """A transaction as the actor: committed on success, rolled back on any error.

        ``action`` names what the audit log records for field changes (default "update").
        """
        session = self._factory()
        session.info[ACTOR] = self.actor.username
        if action:
            session.info[ACTION] = action
        install_scoping(session, self.scope)
        if not self._audited_by_database:
            install_audit(session)
        elif action:
            tell_action(session, action)
        try:
            yield session
            session.commit()
        except IntegrityError as exc:
            session.rollback()
            raise Conflict(t("context:clash", detail=exc.orig)) from None
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for Core queries; it never takes SQLite's write lock."""
        with self.engine.connect() as conn:
            yield conn

    def frame(self, stmt: Select[*tuple[Any, ...]]) -> pd.DataFrame:
        with self.reading() as conn:
            return pd.read_sql(stmt, conn)


class Service(Protocol):
    _ctx: Context


def localised(method: Callable[..., R]) -> Callable[..., R]:
    """Run a service method so that its messages are in the workspace's language."""

    @functools.wraps(method)
    def wrapper(self: Service, *args: Any, **kwargs: Any) -> R:
        with speaking(self._ctx.lang):
            return method(self, *args, **kwargs)

    return wrapper
