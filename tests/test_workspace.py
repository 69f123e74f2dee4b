"""Opening a workspace: schema creation, the first administrator, who acts."""

from __future__ import annotations

import multiprocessing

import pytest
from sqlalchemy import text

import crmlib
from crmlib import ConfigError, NotFound
from crmlib.store.engine import make_engine


def _open_as_admin(url: str) -> str:
    with crmlib.open(url, user="admin") as ws:
        return ws.user.role.name


def test_processes_opening_a_new_database_at_once_all_succeed(db_url: str) -> None:
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        roles = pool.map(_open_as_admin, [db_url] * 4)
    assert roles == ["admin"] * 4
    with crmlib.open(db_url, user="admin") as ws:
        assert list(ws.users.frame()["username"]) == ["admin"]


def test_first_user_of_a_new_database_must_be_admin(db_url: str) -> None:
    with pytest.raises(NotFound, match="unknown user 'zhang'"):
        crmlib.open(db_url, user="zhang")


def test_user_comes_from_the_environment(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    crmlib.open(db_url, user="admin").close()
    monkeypatch.setenv("JUPYTERHUB_USER", "admin")
    with crmlib.open(db_url) as ws:
        assert ws.user.username == "admin"
    monkeypatch.delenv("JUPYTERHUB_USER")
    with pytest.raises(ConfigError, match="no user given"):
        crmlib.open(db_url)


def test_a_foreign_database_is_refused(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE invoices (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    with pytest.raises(ConfigError, match="is it a CRM database"):
        crmlib.open(sqlite_url, user="admin")
