"""Team mode's audit log, written by the database's triggers: whoever changes a row, by
whatever path, leaves the events the ORM hook leaves elsewhere, with their login as actor.

One team database for the module (roles are cluster-wide: every name carries the
module's own suffix).
"""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

import crmlib
from crmlib.audit import AUDITED_TABLES
from crmlib.store import make_engine
from crmlib.team_audit import TRIGGERS
from crmlib.team_mode import TeamRoles, enable, role_names, upgrade
from tests.factories import company

pytestmark = pytest.mark.postgres

#: What an event says, apart from when and its row's id.
EVENT = "SELECT actor, action, entity, ref, field, old_value, new_value, batch_id FROM audit_events"


@dataclass
class TeamDb:
    installer: str
    roles: TeamRoles
    suffix: str

    def name(self, user: str) -> str:
        return f"{user}_{self.suffix}"

    def url(self, user: str) -> str:
        """The URL of ``user``'s own login (the test server trusts local logins)."""
        return make_url(self.installer).set(username=self.name(user)).render_as_string(False)

    def sql(self, user: str) -> psycopg.Connection:
        return psycopg.connect(self.url(user).replace("+psycopg", ""), autocommit=True)

    def events(self, where: str, *params: object) -> list[tuple[Any, ...]]:
        """The events ``where`` selects, oldest first, read by the installation login."""
        with psycopg.connect(self.installer.replace("+psycopg", "")) as conn:
            return conn.execute(f"{EVENT} WHERE {where} ORDER BY id", params).fetchall()


@pytest.fixture(scope="module")
def team_db(_pg_admin_engine: Engine) -> Iterator[TeamDb]:
    suffix = uuid.uuid4().hex[:8]
    database = f"crm_audit_{suffix}"
    with _pg_admin_engine.connect() as conn:
        conn.execute(text(f"CREATE DATABASE \"{database}\" TEMPLATE template0 ENCODING 'UTF8'"))
    installer = _pg_admin_engine.url.set(database=database).render_as_string(False)
    db = TeamDb(installer, role_names(database), suffix)
    engine = make_engine(installer)
    try:
        enable(engine, db.name("boss"), "first secret")
        with crmlib.open(db.url("boss"), lang="en") as boss:
            boss.users.add(db.name("zhang"), role="sales", team="east", password="zhang secret")
        yield db
    finally:
        engine.dispose()
        with _pg_admin_engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            for role in (db.name("boss"), db.name("zhang"), *db.roles.__dict__.values()):
                conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))


def _customer_with_contact(ws: crmlib.Workspace) -> tuple[str, int]:
    """A customer of ``ws``'s user with one contact: its code and the contact's id."""
    code = ws.customers.add(**company(name="星辰贸易有限公司")).code
    contact = ws.contacts.add(code, name="刘洋", phone="13900001111")
    return code, int(contact["id"])


def test_a_raw_update_is_logged_as_the_hook_logs_it(team_db: TeamDb, sqlite_url: str) -> None:
    with crmlib.open(sqlite_url, user="admin") as ws:
        code, contact = _customer_with_contact(ws)
        ws.contacts.update(contact, phone="13900002222")
        with ws.engine.connect() as conn:
            hooked = conn.execute(text(f"{EVENT} WHERE field = 'phone'")).one()._asdict()
    with crmlib.open(team_db.url("zhang")) as ws:
        team_code, team_contact = _customer_with_contact(ws)
    with team_db.sql("zhang") as conn:
        changed = conn.execute(
            "UPDATE contacts SET phone = '+8613900002222' WHERE id = %s", (team_contact,)
        )
        assert changed.rowcount == 1
    (event,) = team_db.events("entity = 'contacts' AND field = 'phone'")
    expected = hooked
    assert event[:2] == (team_db.name("zhang"), "update")
    assert (expected["actor"], expected["ref"]) == ("admin", code)
    assert event[3] == team_code
    assert event[2] == expected["entity"]
    assert event[4:7] == (expected["field"], expected["old_value"], expected["new_value"])


def test_changes_through_crmlib_are_logged_once(team_db: TeamDb, sqlite_url: str) -> None:
    values: dict[str, Any] = {"ordered_at": date(2024, 5, 1), "amount": "5000.50"}
    with crmlib.open(sqlite_url, user="admin") as ws:
        code, _ = _customer_with_contact(ws)
        ws.orders.add(code, **values)
        with ws.engine.connect() as conn:
            hooked = conn.execute(
                text("SELECT new_value FROM audit_events WHERE entity = 'orders'")
            ).scalar_one()
    with crmlib.open(team_db.url("zhang")) as ws:
        team_code, contact = _customer_with_contact(ws)
        ws.contacts.update(contact, phone="13900003333", title="经理")
        order = ws.orders.add(team_code, **values)
    changes = team_db.events(
        "entity = 'contacts' AND entity_id = %s AND field IS NOT NULL", contact
    )
    assert sorted((e[0], e[1], e[4], e[6]) for e in changes) == [
        (team_db.name("zhang"), "update", "phone", "+8613900003333"),
        (team_db.name("zhang"), "update", "title", "经理"),
    ]  # one event a field: the ORM hook wrote none
    (created,) = team_db.events("entity = 'orders' AND entity_id = %s", order["id"])
    assert created[1] == "create" and created[3] == team_code
    ours, theirs = json.loads(created[6]), json.loads(hooked)
    assert ours.keys() == theirs.keys()  # the same snapshot, its ids apart
    differ = {"customer_id", "created_by_id", "owner_id"}
    assert {k: v for k, v in ours.items() if k not in differ} == {
        k: v for k, v in theirs.items() if k not in differ
    }
    assert theirs["amount"] == "5000.5" and theirs["ordered_at"] == "2024-05-01"


def _import(team_db: TeamDb, folder: Path, city: str) -> int:
    """Import two companies (by external id) as zhang; the batch's id."""
    path = folder / f"{city}.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["外部编号", "客户名称", "行业", "省份", "所在城市", "联系人", "电话", "客户来源"]
        )
        writer.writerows(
            [f"E-{n}", f"导入公司{n}", "39", "广东", city, "陈静", f"1381234567{n}", "展会"]
            for n in (1, 2)
        )
    with crmlib.open(team_db.url("zhang")) as ws:
        result = ws.import_file("customers", path, output_dir=folder / city)
    assert result.ok == 2 and result.batch_id is not None
    return result.batch_id


def test_an_import_batch_travels_with_its_events(team_db: TeamDb, tmp_path: Path) -> None:
    batch = _import(team_db, tmp_path, "广州")
    events = team_db.events("entity = 'customers' AND batch_id = %s", batch)
    created = [e for e in events if e[1] == "create"]
    assert [e[0] for e in created] == [team_db.name("zhang")] * 2
    assert {json.loads(e[6])["name"] for e in created} == {"导入公司1", "导入公司2"}
    assert [e[1] for e in events if e not in created] == ["import"]  # the batch's own line
    assert len(team_db.events("entity = 'contacts' AND batch_id = %s", batch)) == 2
    again = _import(team_db, tmp_path, "深圳")  # the same companies, moved
    changed = team_db.events("entity = 'customers' AND batch_id = %s AND field IS NOT NULL", again)
    assert [e[1:2] + e[4:] for e in changed] == [("import", "city", "广州", "深圳", again)] * 2


def test_a_raw_delete_is_logged(team_db: TeamDb) -> None:
    with crmlib.open(team_db.url("zhang")) as ws:
        code, contact = _customer_with_contact(ws)
    with team_db.sql("zhang") as conn:
        assert conn.execute("DELETE FROM contacts WHERE id = %s", (contact,)).rowcount == 1
    (event,) = team_db.events("entity = 'contacts' AND action = 'delete' AND ref = %s", code)
    assert event[0] == team_db.name("zhang")
    assert json.loads(event[5])["phone"] == "+8613900001111" and event[6] is None


def test_nobody_changes_or_deletes_audit_events(team_db: TeamDb) -> None:
    with crmlib.open(team_db.url("zhang")) as ws:
        _customer_with_contact(ws)
    with team_db.sql("zhang") as conn:
        for statement in ("UPDATE audit_events SET actor = 'x'", "DELETE FROM audit_events"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)


def test_an_upgrade_puts_the_triggers_back_once(team_db: TeamDb) -> None:
    engine = make_engine(team_db.installer)
    try:
        with engine.connect() as conn, conn.begin():
            upgrade(conn, team_db.roles)
    finally:
        engine.dispose()
    with psycopg.connect(team_db.installer.replace("+psycopg", "")) as installer:
        count = "SELECT count(*) FROM pg_trigger WHERE tgname = %s"
        for trigger in TRIGGERS.values():
            assert installer.execute(count, (trigger,)).fetchone() == (len(AUDITED_TABLES),)
    with crmlib.open(team_db.url("zhang")) as ws:
        _, contact = _customer_with_contact(ws)
        ws.contacts.update(contact, title="总监")
    assert len(team_db.events("entity_id = %s AND field = 'title'", contact)) == 1
