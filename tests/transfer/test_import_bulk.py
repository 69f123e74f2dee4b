"""The fast paths of large imports (crmlib.transfer.bulk): indexes suspended and rebuilt
inside the import's transaction, rows inserted column by column, on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

import crmlib
from crmlib.store import bulk_load
from crmlib.store.engine import make_engine
from crmlib.store.models import Contact
from crmlib.transfer import bulk
from tests.factories import Team, company
from tests.transfer.test_import import BAD, GOOD, count, write_csv

INDEXED = ("customers", "contacts")
#: Behaviour only SQLite has: the database fixture gives these tests a SQLite file alone.
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


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


def customers_with_contacts(url: str, columns: str) -> set[tuple[object, ...]]:
    """``columns`` of every contact ``k`` joined to its customer ``c``."""
    engine = make_engine(url)
    with engine.connect() as conn:
        sql = f"SELECT {columns} FROM customers c JOIN contacts k ON k.customer_id = c.id"
        found = {tuple(row) for row in conn.execute(text(sql))}
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


def test_values_shared_by_every_row_are_stored_exactly(
    db_url: str, team: Team, tmp_path: Path
) -> None:
    """A column that holds one value in every row goes into the statement once (SQLite):
    quotes, blanks and numbers must read back as if bound row by row."""
    rows = [
        [
            f"ERP-{n}",
            f"引号{n}公司",
            "企业",
            "C",
            "北京",
            "O'Brien '); --",
            f"1390000{n:04d}",
            "",
            "展会",
            "",
        ]
        for n in range(5)
    ]
    result = team.zhang.import_file("customers", write_csv(tmp_path / "c.csv", rows))
    assert result.created == 5
    stored = customers_with_contacts(db_url, "c.owner_id, c.status, k.name, k.email, k.is_primary")
    zhang = team.zhang.ctx.actor.id
    assert stored == {(zhang, "potential", "O'Brien '); --", None, True)}


@pytest.mark.parametrize("with_person", [False, True], ids=["consecutive", "gap"])
def test_each_new_contact_belongs_to_its_own_customer(
    db_url: str, team: Team, tmp_path: Path, with_person: bool
) -> None:
    """New contacts name their customers' new ids; when those are consecutive SQLite
    writes them from the contact's own id, else they are bound one by one (a person
    given only an external id has no contact, which leaves a gap)."""
    rows = [
        [
            f"ERP-{n}",
            f"联系{n}有限公司",
            "企业",
            "C",
            "北京",
            f"联系人{n}",
            f"1390000{n:04d}",
            "",
            "展会",
            "",
        ]
        for n in range(4)
    ]
    if with_person:
        rows.insert(2, ["ERP-P", "王芳", "个人", "", "上海", "", "", "", "转介绍", ""])
    team.zhang.customers.add(**company(external_id="API-1", contact="先来的人"))
    team.zhang.customers.add(name="李雷", kind="person", external_id="API-P")  # no contact
    result = team.zhang.import_file("customers", write_csv(tmp_path / "c.csv", rows))
    assert result.created == len(rows)
    expected = {(f"ERP-{n}", f"联系人{n}") for n in range(4)} | {("API-1", "先来的人")}
    assert customers_with_contacts(db_url, "c.external_id, k.name") == expected


@SQLITE_ONLY
@pytest.mark.usefixtures("large")
@pytest.mark.parametrize("shared", [False, True], ids=["alone", "shared"])
def test_a_large_import_uses_the_rollback_journal_only_when_alone(
    db_url: str, team: Team, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared: bool
) -> None:
    """Alone with the file, a large import writes each page once (rollback journal), then
    gives the file its WAL back; beside another open connection it keeps the WAL. Either way
    foreign keys are checked again afterwards and every reference holds."""
    switches: list[tuple[str, bool]] = []
    switch = bulk_load._journal_mode
    monkeypatch.setattr(
        bulk_load,
        "_journal_mode",
        lambda driver, mode: (
            switches.append((mode.upper(), switch(driver, mode))) or switches[-1][1]
        ),
    )
    team.close()  # the team's workspaces keep connections open
    ws = crmlib.open(db_url, user="zhang", lang="en")
    other = make_engine(db_url) if shared else None  # its pool keeps the file open
    result = ws.import_file("customers", write_csv(tmp_path / "c.csv", GOOD))
    reader = other or make_engine(db_url)
    assert result.created == 3
    assert switches == ([("DELETE", False)] if shared else [("DELETE", True), ("WAL", True)])
    with reader.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
    reader.dispose()
    with ws.engine.connect() as conn:  # the import's pooled connection checks foreign keys
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    ws.close()
