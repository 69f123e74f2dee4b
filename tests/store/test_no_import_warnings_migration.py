"""Migration 0011 drops what import warnings needed (``import_warnings``,
``import_batches.rows_warned``) and keeps every import batch and its rejects; a downgrade
brings both back, empty."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text

from crmlib.store import current_revision, head_revision, make_engine, upgrade
from crmlib.store.migrate import alembic_config, revisions

BEFORE = revisions()["0011"]
COUNTS = ("total", "imported", "created", "updated", "unchanged", "rejected")


@pytest.fixture
def engine(empty_db_url: str) -> Iterator[Engine]:
    engine = make_engine(empty_db_url)
    yield engine
    engine.dispose()


def shape(engine: Engine) -> tuple[set[str], set[str]]:
    """The tables, and the columns of import_batches."""
    with engine.connect() as conn:
        inspector = inspect(conn)
        columns = {c["name"] for c in inspector.get_columns("import_batches")}
        return set(inspector.get_table_names()), columns


def kept(engine: Engine) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with engine.connect() as conn:
        batches = conn.execute(text("SELECT id, kind, rows_rejected FROM import_batches")).all()
        rejects = conn.execute(text("SELECT batch_id, row_number, reasons FROM import_rejects"))
        return [tuple(b) for b in batches], [tuple(r) for r in rejects]


def test_the_warnings_go_and_every_batch_and_reject_stays(engine: Engine) -> None:
    assert BEFORE is not None
    upgrade(engine, BEFORE)
    counts = ", ".join(f"rows_{name}" for name in COUNTS)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO import_batches (id, kind, file_name, file_hash, actor, status, "
                f"strict, dry_run, {counts}, rows_warned, started_at) VALUES (1, 'leads', "
                "'leads.csv', 'abc', 'admin', 'committed', :no, :no, 3, 2, 2, 0, 0, 1, 1, :t)"
            ),
            {"no": False, "t": "2024-05-01 09:00:00"},
        )
        conn.execute(
            text(
                "INSERT INTO import_rejects (batch_id, row_number, raw, reasons) "
                "VALUES (1, 3, '{}', 'campaign=''春季展会'': [unknown_campaign]')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO import_warnings (batch_id, row_number, field, raw_value, rule, "
                "message) VALUES (1, 2, 'campaign', '秋季展会', 'unknown_campaign', '-')"
            )
        )
    before = kept(engine)

    upgrade(engine, "0011")
    tables, columns = shape(engine)
    assert "import_warnings" not in tables and "rows_warned" not in columns
    assert {f"rows_{name}" for name in COUNTS} <= columns
    assert before == ([(1, "leads", 1)], [(1, 3, "campaign='春季展会': [unknown_campaign]")])
    assert kept(engine) == before

    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), BEFORE)
    tables, columns = shape(engine)
    assert "import_warnings" in tables and "rows_warned" in columns
    with engine.connect() as conn:
        assert conn.execute(text("SELECT rows_warned FROM import_batches")).scalars().all() == [0]
        assert conn.execute(text("SELECT count(*) FROM import_warnings")).scalar_one() == 0
    assert kept(engine) == before

    upgrade(engine)
    assert current_revision(engine) == head_revision()
