"""Migration 0009 gives existing leads, deals and tickets codes, numbered in id order
within the day they were created and continuing that day's sequence."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text

from crmlib.store import current_revision, head_revision, make_engine, upgrade
from crmlib.store.migrate import alembic_config

BEFORE_CODES = "0008"


@pytest.fixture
def engine(empty_db_url: str) -> Iterator[Engine]:
    engine = make_engine(empty_db_url)
    yield engine
    engine.dispose()


def test_existing_records_are_numbered_in_id_order_per_day(engine: Engine) -> None:
    upgrade(engine, BEFORE_CODES)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO customers (id, code, kind, name, status, created_at, updated_at) "
                "VALUES (1, 'C20240501001', 'company', '甲', 'active', :t, :t)"
            ),
            {"t": "2024-05-01 09:00:00"},
        )
        # a lead code of 2 May was handed out already: numbering continues after it
        conn.execute(text("INSERT INTO code_sequences VALUES ('L20240502', 4)"))
        days = ["2024-05-02 18:00:00", "2024-05-01 10:00:00", "2024-05-02 08:00:00"]
        for number, day in enumerate(days, start=1):
            values = {"id": number, "t": day}
            conn.execute(
                text(
                    "INSERT INTO leads (id, name, status, created_at, updated_at) "
                    "VALUES (:id, '线索', 'new', :t, :t)"
                ),
                values,
            )
            conn.execute(
                text(
                    "INSERT INTO opportunities (id, customer_id, name, stage, created_at, "
                    "updated_at) VALUES (:id, 1, '商机', 'contact', :t, :t)"
                ),
                values,
            )
            conn.execute(
                text(
                    "INSERT INTO tickets (id, customer_id, type, priority, status, subject, "
                    "opened_at, created_at, updated_at) "
                    "VALUES (:id, 1, 'inquiry', 'high', 'open', '问题', :t, :t, :t)"
                ),
                values,
            )
    upgrade(engine)
    with engine.connect() as conn:
        codes = {
            table: conn.execute(text(f"SELECT code FROM {table} ORDER BY id")).scalars().all()
            for table in ("leads", "opportunities", "tickets")
        }
        sequences = {
            prefix: last
            for prefix, last in conn.execute(text("SELECT prefix, last_value FROM code_sequences"))
        }
        unique = {
            table: [u["column_names"] for u in inspect(conn).get_unique_constraints(table)]
            for table in codes
        }
    assert codes == {
        "leads": ["L20240502005", "L20240501001", "L20240502006"],
        "opportunities": ["D20240502001", "D20240501001", "D20240502002"],
        "tickets": ["T20240502001", "T20240501001", "T20240502002"],
    }
    assert sequences["L20240502"] == 6 and sequences["D20240501"] == 1
    assert all(["code"] in found for found in unique.values())


def test_downgrading_takes_the_codes_away(engine: Engine) -> None:
    upgrade(engine)
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), BEFORE_CODES)
    with engine.connect() as conn:
        columns = {
            table: {c["name"] for c in inspect(conn).get_columns(table)}
            for table in ("leads", "opportunities", "tickets")
        }
    assert not any("code" in names for names in columns.values())
    upgrade(engine)
    assert current_revision(engine) == head_revision()
