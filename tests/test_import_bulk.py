"""The fast paths of large imports (crmlib.quality.bulk): indexes suspended and rebuilt
inside the import's transaction, rows inserted column by column, on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from crmlib.quality import bulk
from crmlib.store.engine import make_engine
from crmlib.store.models import Contact
from tests.factories import Team, company
from tests.test_import import BAD, GOOD, count, write_csv

INDEXED = ("customers", "contacts")


def indexes(url: str) -> dict[str, list[tuple[str, tuple[str, ...], bool]]]:
    """Every index of the tables a customer import fills: name, columns, unique."""
    engine = make_engine(url)
    found = {
        table: sorted(
            (str(i["name"]), tuple(str(c) for c in i["column_names"]), bool(i["unique"]))
            for i in inspect(engine).get_indexes(table)
        )
        for table in INDEXED
    }
    engine.dispose()
    return found


@pytest.fixture
def large(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file counts as a large one."""
    monkeypatch.setattr(bulk, "BULK_ROWS", 1)


@pytest.mark.usefixtures("large")
def test_a_large_import_ends_with_every_index(db_url: str, team: Team, tmp_path: Path) -> None:
    before = indexes(db_url)
    assert any(name == "ix_customers_name" for name, _, _ in before["customers"])
    result = team.zhang.import_file("customers", write_csv(tmp_path / "c.csv", GOOD + BAD))
    assert (result.created, result.rejected, result.committed) == (3, 2, True)
    assert indexes(db_url) == before
    frame = team.zhang.customers.frame().set_index("external_id")
    assert frame.loc["ERP-1", "phone"] == "+8613812345678"
    assert frame.loc["ERP-2", "region"] == "华东"
    engine = make_engine(db_url)
    with engine.connect() as conn:
        contacts = dict(conn.execute(text("SELECT email, name FROM contacts")).all())
    engine.dispose()
    assert contacts == {"cj@pc.cn": "陈静", None: "王磊", "wf@example.com": "王芳"}  # named
    again = team.zhang.import_file("customers", write_csv(tmp_path / "c.csv", GOOD))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)


@pytest.mark.usefixtures("large")
@pytest.mark.parametrize("how", ["strict", "dry_run"])
def test_an_import_that_saves_nothing_keeps_every_index(
    db_url: str, team: Team, tmp_path: Path, how: str
) -> None:
    before = indexes(db_url)
    path = write_csv(tmp_path / "c.csv", GOOD + BAD)
    result = team.zhang.import_file("customers", path, **{how: True})
    assert not result.committed and count(db_url, Contact) == 0
    assert indexes(db_url) == before


def test_indexes_are_suspended_only_for_large_files_into_small_tables(
    db_url: str, team: Team
) -> None:
    team.admin.customers.add(**company())
    engine = make_engine(db_url)
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn, conn.begin() as transaction:
        small_file = bulk.SuspendedIndexes(conn, INDEXED, (), bulk.BULK_ROWS - 1)
        large_file = bulk.SuspendedIndexes(conn, INDEXED, ("contacts.customer_id",), bulk.BULK_ROWS)
        left = {i["name"] for i in inspect(conn).get_indexes("contacts")}
        assert small_file.definitions == []
        # PostgreSQL keeps its indexes: dropping one would lock readers out of the table.
        assert bool(large_file.definitions) is sqlite
        assert "ix_contacts_customer_id" in left  # the import looks contacts up by it
        assert ("ix_contacts_email" not in left) is sqlite
        large_file.rebuild()
        assert {i["name"] for i in inspect(conn).get_indexes("contacts")} >= {
            "ix_contacts_email",
            "ix_contacts_phone",
        }
        transaction.rollback()
    engine.dispose()


def test_new_rows_are_stored_as_the_orm_stores_them(
    db_url: str, team: Team, tmp_path: Path
) -> None:
    """Timestamps written by the bulk path read back, and compare in SQL, like the ORM's."""
    team.zhang.customers.add(**company(external_id="API-1"))
    team.zhang.import_file("customers", write_csv(tmp_path / "c.csv", GOOD))
    engine = make_engine(db_url)
    with engine.connect() as conn:
        shapes = conn.execute(
            text(
                "SELECT external_id, length(CAST(created_at AS VARCHAR)) FROM customers ORDER BY id"
            )
        ).all()
    engine.dispose()
    assert len({length for _, length in shapes}) == 1, shapes
