"""Small builders for test data through the public API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import partial
from itertools import count
from pathlib import Path

from sqlalchemy import create_engine, select

import crmlib
from crmlib.admin import build_demo
from crmlib.demo import generate
from crmlib.store import make_engine
from crmlib.store.models import User
from crmlib.workspace import Workspace

_phones = count(13800000001)


def company(**overrides: object) -> dict[str, object]:
    """Keyword arguments for a valid company customer, each call with a fresh phone."""
    values: dict[str, object] = {
        "name": "上海星辰科技有限公司",
        "industry": "I65",
        "province": "上海",
        "contact": "张伟",
        "phone": str(next(_phones)),
        "source": "website",
    }
    values.update(overrides)
    return values


@dataclass
class Team:
    """Two sales reps and a manager in team east, a rep in team west, and other roles."""

    url: str
    admin: Workspace
    zhang: Workspace
    li: Workspace
    wang: Workspace
    zhao: Workspace
    ana: Workspace
    sun: Workspace

    def close(self) -> None:
        for ws in (self.admin, self.zhang, self.li, self.wang, self.zhao, self.ana, self.sun):
            ws.close()


TEAM = ("admin", "zhang", "li", "wang", "zhao", "ana", "sun")


def add_team(url: str) -> None:
    """The users of :class:`Team` in a new database (the administrator bootstrapped)."""
    with crmlib.open(url, user="admin", lang="en") as admin:
        admin.users.add("zhang", role="sales", team="east")
        admin.users.add("li", role="sales", team="east")
        admin.users.add("wang", role="manager", team="east")
        admin.users.add("zhao", role="sales", team="west")
        admin.users.add("ana", role="analyst")
        admin.users.add("sun", role="service", team="support")


def open_team(url: str) -> Team:
    """A workspace for each user of :func:`add_team`, speaking English."""
    return Team(url, *(crmlib.open(url, user=name, lang="en") for name in TEAM))


def build_team(url: str) -> Team:
    """:func:`add_team` then :func:`open_team`: for a database other than a fresh ``db_url``
    (the ``team`` fixture copies the users from a template instead)."""
    add_team(url)
    return open_team(url)


def demo_database(path: Path, customers: int, seed: int) -> str:
    """A demo database of ``customers`` in the SQLite file ``path``; its URL."""
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    try:
        generate(engine, customers=customers, seed=seed)
    finally:
        engine.dispose()
    return url


def generated_demo(
    url: str, *, customers: int, seed: int, start: date | None = None, admin_lang: str | None = None
) -> dict[str, int]:
    """``generate``'s demo in the new database at ``url``, after the administrator's first
    ``crmlib.open`` in ``admin_lang`` when given; its rows per table. A template builder
    (``templates.fill(db_url, partial(generated_demo, ...))``)."""
    if admin_lang is not None:
        crmlib.open(url, user="admin", lang=admin_lang).close()
    engine = make_engine(url)
    try:
        return generate(engine, customers=customers, seed=seed, start=start)
    finally:
        engine.dispose()


#: The demo of the analytics tests (rfm, churn, funnel, profile): one template for all.
SMALL_DEMO = partial(generated_demo, customers=300, seed=7, start=date(2024, 1, 1), admin_lang="en")


def built_demo(url: str, *, customers: int, seed: int, lang: str) -> None:
    """``crm demo --fresh`` (:func:`crmlib.admin.build_demo`) in the new database at ``url``,
    first opened by the administrator in ``lang``: a template builder."""
    with crmlib.open(url, user="admin", lang=lang) as ws:
        build_demo(ws.engine, customers=customers, seed=seed, fresh=True)


def first_user(url: str, role: str) -> str:
    """A user of the database at ``url`` with ``role`` (a demo's first sales rep, say)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            name = conn.execute(select(User.username).where(User.role == role)).scalar()
    finally:
        engine.dispose()
    assert name is not None, f"no {role} user in {url}"
    return str(name)
