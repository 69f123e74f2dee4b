"""Small builders for test data through the public API."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import count
from pathlib import Path

from sqlalchemy import create_engine, select

import crmlib
from crmlib.demo import generate
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


def build_team(url: str) -> Team:
    admin = crmlib.open(url, user="admin", lang="en")
    admin.users.add("zhang", role="sales", team="east")
    admin.users.add("li", role="sales", team="east")
    admin.users.add("wang", role="manager", team="east")
    admin.users.add("zhao", role="sales", team="west")
    admin.users.add("ana", role="analyst")
    admin.users.add("sun", role="service", team="support")
    return Team(
        url,
        admin,
        *(
            crmlib.open(url, user=name, lang="en")
            for name in ("zhang", "li", "wang", "zhao", "ana", "sun")
        ),
    )


def demo_database(path: Path, customers: int, seed: int) -> str:
    """A demo database of ``customers`` in the SQLite file ``path``; its URL."""
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    try:
        generate(engine, customers=customers, seed=seed)
    finally:
        engine.dispose()
    return url


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
