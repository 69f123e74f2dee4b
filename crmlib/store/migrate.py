"""Schema migrations with alembic, driven from Python so ``crm init`` needs no alembic.ini.

Alembic itself is imported only to migrate: every ``crm`` command and every notebook
checks the schema revision when it opens a workspace, and importing alembic for that
would cost about 0.15 s each time, so the revisions are read from the migration files'
own ``revision`` / ``down_revision`` lines and the database's ``alembic_version`` table.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

from .engine import WRITE_INTENT

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 0x63726D  # "crm": the advisory lock key that serialises migrations
_REVISION_LINE = re.compile(r'^(down_revision|revision)\s*=\s*(?:"([^"]+)"|None)', re.MULTILINE)


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


@cache
def revisions() -> dict[str, str | None]:
    """Every migration's revision and the one it follows (None for the first)."""
    found: dict[str, str | None] = {}
    for script in sorted((MIGRATIONS / "versions").glob("*.py")):
        lines = dict(
            (name, value or None) for name, value in _REVISION_LINE.findall(script.read_text())
        )
        found[str(lines["revision"])] = lines.get("down_revision")
    return found


def head_revision() -> str:
    """The revision no other migration follows: what this crmlib's schema is."""
    known = revisions()
    heads = set(known) - set(known.values())
    assert len(heads) == 1, f"the migrations must form one line, not end in {sorted(heads)}"
    return heads.pop()


def revision_of(conn: Connection) -> str | None:
    """The schema revision of the database ``conn`` is on; None for a database alembic
    never migrated."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return revision_of(conn)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision``; a new database is created from scratch.

    Alembic runs each migration in the transaction of this connection, so a failed
    migration leaves the database as it was (both SQLite and PostgreSQL have
    transactional DDL).
    """
    with engine.connect() as conn, conn.execution_options(**{WRITE_INTENT: True}).begin():
        migrate(conn, revision)


def migrate(conn: Connection, revision: str = "head") -> None:
    """Bring the schema to ``revision`` in the transaction ``conn`` has begun, so a caller
    can do more in the same transaction (team mode: as the owner role, then its grants)."""
    # Two processes opening a new database at once: the second waits here for the
    # first (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory lock), then finds the
    # schema at head and does nothing.
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    from alembic import command

    command.upgrade(alembic_config(conn), revision)
