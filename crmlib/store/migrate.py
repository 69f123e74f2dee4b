"""Schema migrations with alembic, driven from Python so ``crm init`` needs no alembic.ini."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from .engine import WRITE_INTENT

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 0x63726D  # "crm": the advisory lock key that serialises migrations


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the migrations folder has no revision"
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision``; a new database is created from scratch.

    Alembic runs each migration in the transaction of this connection, so a failed
    migration leaves the database as it was (both SQLite and PostgreSQL have
    transactional DDL).
    """
    with engine.connect() as conn, conn.execution_options(**{WRITE_INTENT: True}).begin():
        # Two processes opening a new database at once: the second waits here for the
        # first (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory lock), then finds the
        # schema at head and does nothing.
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        command.upgrade(alembic_config(conn), revision)
