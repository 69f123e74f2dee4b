"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, func, inspect, select, table

from crmlib.store import current_revision, head_revision, make_engine, upgrade
from crmlib.store.migrate import alembic_config, revision_of, revisions
from crmlib.store.models import Base


@pytest.fixture
def engine(empty_db_url: str) -> Iterator[Engine]:
    engine = make_engine(empty_db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def migrated(engine: Engine) -> Engine:
    upgrade(engine)
    return engine


def schema_diff(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, Base.metadata))


def snapshot(engine: Engine) -> dict[str, Any]:
    """Tables, columns, indexes, constraints and row counts: what an upgrade may change."""
    # One connection for everything: on SQLite every crmlib transaction takes the write
    # lock (BEGIN IMMEDIATE), so a second connection would wait for the first.
    with engine.connect() as conn:
        inspector = inspect(conn)
        tables = sorted(inspector.get_table_names())
        return {
            name: {
                "columns": [
                    (c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(name)
                ],
                "indexes": sorted(
                    (i["name"] or "", tuple(i["column_names"])) for i in inspector.get_indexes(name)
                ),
                "foreign_keys": sorted(
                    (tuple(fk["constrained_columns"]), fk["referred_table"])
                    for fk in inspector.get_foreign_keys(name)
                ),
                "unique": sorted(
                    tuple(u["column_names"]) for u in inspector.get_unique_constraints(name)
                ),
                "rows": conn.execute(select(func.count()).select_from(table(name))).scalar_one(),
            }
            for name in tables
        }


def test_new_database_has_no_revision(engine: Engine) -> None:
    assert current_revision(engine) is None


def test_upgrade_reaches_head(migrated: Engine) -> None:
    assert current_revision(migrated) == head_revision()


def test_migrations_match_models(migrated: Engine) -> None:
    diff = schema_diff(migrated)
    assert diff == [], "models and migrations disagree:\n" + "\n".join(map(repr, diff))


def test_every_model_table_exists(migrated: Engine) -> None:
    assert set(Base.metadata.tables) <= set(inspect(migrated).get_table_names())


def test_every_foreign_key_is_indexed(migrated: Engine) -> None:
    inspector = inspect(migrated)
    missing = []
    for name in inspector.get_table_names():
        leading = [tuple(i["column_names"]) for i in inspector.get_indexes(name)]
        leading += [tuple(u["column_names"]) for u in inspector.get_unique_constraints(name)]
        pk = inspector.get_pk_constraint(name)["constrained_columns"]
        if pk:
            leading.append(tuple(pk))
        for fk in inspector.get_foreign_keys(name):
            columns = tuple(fk["constrained_columns"])
            # An index serves the foreign key when the key's columns lead it.
            if not any(index[: len(columns)] == columns for index in leading):
                missing.append(f"{name}({', '.join(columns)}) -> {fk['referred_table']}")
    assert missing == [], "foreign keys without an index: " + "; ".join(missing)


def test_upgrade_twice_is_a_no_op(migrated: Engine) -> None:
    before = snapshot(migrated)
    upgrade(migrated)
    assert current_revision(migrated) == head_revision()
    assert snapshot(migrated) == before
    assert schema_diff(migrated) == []


def test_revisions_read_from_the_files_are_alembics() -> None:
    """The schema check reads revisions without alembic; alembic must agree on every one."""
    scripts = ScriptDirectory.from_config(alembic_config())
    assert revisions() == {
        script.revision: script.down_revision for script in scripts.walk_revisions()
    }
    assert head_revision() == scripts.get_current_head()


def test_revision_of_a_database_matches_alembics(migrated: Engine) -> None:
    with migrated.connect() as conn:
        assert revision_of(conn) == MigrationContext.configure(conn).get_current_revision()


@pytest.mark.slow
def test_opening_the_command_line_does_not_import_alembic() -> None:
    """Every `crm` command and notebook pays for what importing crmlib loads."""
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, crmlib.cli; print('alembic' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "False"
