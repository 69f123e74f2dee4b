"""Opening a workspace: schema creation, the first administrator, who acts."""

from __future__ import annotations

import multiprocessing
import sqlite3

import pytest
from click.testing import CliRunner
from sqlalchemy import text

import crmlib
from crmlib import ConfigError, DatabaseBusy, NotFound
from crmlib.cli import main
from crmlib.store import engine as engine_module
from crmlib.store.engine import make_engine


def _open_as_admin(url: str) -> str:
    with crmlib.open(url, user="admin") as ws:
        return ws.user.role.name


@pytest.mark.slow
def test_processes_opening_a_new_database_at_once_all_succeed(empty_db_url: str) -> None:
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        roles = pool.map(_open_as_admin, [empty_db_url] * 4)
    assert roles == ["admin"] * 4
    with crmlib.open(empty_db_url, user="admin") as ws:
        assert list(ws.users.frame()["username"]) == ["admin"]


def test_first_user_of_a_new_database_must_be_admin(db_url: str) -> None:
    with pytest.raises(NotFound, match="unknown user 'zhang'"):
        crmlib.open(db_url, user="zhang", lang="en")


def test_user_comes_from_the_environment(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    crmlib.open(db_url, user="admin").close()
    monkeypatch.setenv("JUPYTERHUB_USER", "admin")
    with crmlib.open(db_url) as ws:
        assert ws.user.username == "admin"
    monkeypatch.delenv("JUPYTERHUB_USER")
    with pytest.raises(ConfigError, match="no user given"):
        crmlib.open(db_url, lang="en")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_database_held_too_long_is_reported_as_busy(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    """A large import that started alone with an SQLite file writes through the rollback
    journal and locks out new readers until it commits; one that waits past the busy
    timeout is told so in its language (through the API and the ``crm`` command), not
    given SQLite's bare "database is locked"."""
    crmlib.open(sqlite_url, user="admin").close()
    holder = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("PRAGMA journal_mode=DELETE")
    holder.execute("BEGIN EXCLUSIVE")
    monkeypatch.setattr(engine_module, "SQLITE_BUSY_TIMEOUT_MS", 200)
    expected = {"en": "the database is busy", "zh": "数据库正忙"}[lang]
    try:
        with pytest.raises(DatabaseBusy, match=expected) as raised:
            crmlib.open(sqlite_url, user="admin", lang=lang)
        assert "0.2" in str(raised.value)
        command = ["--url", sqlite_url, "--user", "admin", "--lang", lang, "status"]
        result = CliRunner().invoke(main, command)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 1
    assert expected in result.output and "Traceback" not in result.output
    with crmlib.open(sqlite_url, user="admin") as ws:  # free again: nothing was changed
        assert ws.customers.frame().empty


def test_a_foreign_database_is_refused(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE invoices (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    with pytest.raises(ConfigError, match="is it a CRM database"):
        crmlib.open(sqlite_url, user="admin", lang="en")
