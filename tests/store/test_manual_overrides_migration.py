"""Migration 0008 adds who set a grade or status by hand, why and until when; existing
customers have none (the refresh keeps deciding for them), and a downgrade takes the
columns away again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text

from crmlib.store import current_revision, head_revision, make_engine, upgrade
from crmlib.store.migrate import alembic_config

BEFORE = "0007"
COLUMNS = {
    f"{field}_override_{part}"
    for field in ("grade", "status")
    for part in ("by", "reason", "until")
}


@pytest.fixture
def engine(empty_db_url: str) -> Iterator[Engine]:
    engine = make_engine(empty_db_url)
    yield engine
    engine.dispose()


def columns(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return {c["name"] for c in inspect(conn).get_columns("customers")}


def test_existing_customers_hold_nothing_and_a_downgrade_removes_the_columns(
    engine: Engine,
) -> None:
    upgrade(engine, BEFORE)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO customers (id, code, kind, name, status, grade, created_at, "
                "updated_at) VALUES (1, 'C20240501001', 'company', '甲', 'active', 'A', :t, :t)"
            ),
            {"t": "2024-05-01 09:00:00"},
        )
    upgrade(engine, "0008")
    assert columns(engine) >= COLUMNS
    with engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM customers")).mappings().one()
    assert row["grade"] == "A" and all(row[name] is None for name in COLUMNS)
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), BEFORE)
    assert not COLUMNS & columns(engine)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
