"""Team mode on PostgreSQL: identity from the login, scopes enforced by row-level security,
checked with raw SQL through each user's own login (psycopg) and through crmlib.

One team database per module (roles are cluster-wide: every name carries the module's own
suffix); the tests that change it use users of their own.
"""

from __future__ import annotations

import traceback
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alembic import command
from click.testing import CliRunner
from sqlalchemy import Engine, insert, select, text
from sqlalchemy.engine import make_url

import crmlib
from crmlib import AccessDenied, NotFound
from crmlib.access import ROLES, Actor, Scope
from crmlib.cli import main
from crmlib.domain.customers.custom_fields import RECORDS
from crmlib.errors import ConfigError
from crmlib.i18n import speaking
from crmlib.store import make_engine
from crmlib.store.migrate import alembic_config, revisions
from crmlib.store.models import Lead, Task, TeamMode, User
from crmlib.team_mode import TeamRoles, enable, role_names, team_roles, upgrade
from crmlib.team_policies import (
    APPEND_ONLY,
    CUSTOM_KINDS,
    GUARDED,
    IMPORT_PERMISSIONS,
    POLICIES,
    READ_ONLY,
    SHARED,
    treatment,
)
from crmlib.transfer.catalogue import KINDS
from tests.commands import crm, crm_environment
from tests.factories import company

pytestmark = pytest.mark.postgres

#: The scoped tables the acceptance names, and the column that says whose a row is.
CHECKED = ("customers", "contacts", "opportunities", "orders", "tickets", "leads", "tasks")


@dataclass
class TeamDb:
    installer: str  # the URL of the installation login (the test server's superuser)
    roles: TeamRoles
    suffix: str
    codes: dict[str, str]  # each rep's customer

    def name(self, user: str) -> str:
        return f"{user}_{self.suffix}"

    def url(self, user: str) -> str:
        """The URL of ``user``'s own login (the test server trusts local logins)."""
        login = self.name(user) if user != "installer" else make_url(self.installer).username
        return make_url(self.installer).set(username=login, password=None).render_as_string(False)

    def sql(self, user: str) -> psycopg.Connection:
        return psycopg.connect(self.url(user).replace("+psycopg", ""), autocommit=True)


def _init(url: str, admin: str, password: str, lang: str = "en") -> tuple[int, str, str]:
    env = crm_environment(url, None) | {"CRM_LANG": lang}
    result = CliRunner(env=env).invoke(
        main, ["init", "--team", "--admin", admin], input=f"{password}\n", prog_name="crm"
    )
    problem = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        problem += "".join(traceback.format_exception(result.exception))
    return result.exit_code, result.stdout, problem


@pytest.fixture(scope="module")
def team_db(_pg_admin_engine: Engine) -> Iterator[TeamDb]:
    suffix = uuid.uuid4().hex[:8]
    database = f"crm_team_{suffix}"
    with _pg_admin_engine.connect() as conn:
        conn.execute(text(f"CREATE DATABASE \"{database}\" TEMPLATE template0 ENCODING 'UTF8'"))
    installer = _pg_admin_engine.url.set(database=database).render_as_string(False)
    db = TeamDb(installer, role_names(database), suffix, {})
    try:
        code, out, err = _init(installer, db.name("boss"), "first secret")
        assert code == 0, err
        assert db.roles.owner in out and db.roles.group in out
        with crmlib.open(db.url("boss"), lang="en") as boss:
            for user, role, team in (
                ("zhang", "sales", "east"),
                ("li", "sales", "east"),
                ("wang", "manager", "east"),
                ("zhao", "sales", "west"),
                ("ana", "analyst", None),
            ):
                boss.users.add(db.name(user), role=role, team=team, password=f"{user} secret")
            for rep in ("zhang", "li", "zhao"):
                with crmlib.open(db.url(rep), lang="en") as ws:
                    customer = ws.customers.add(**company(name=f"{rep}贸易有限公司"))
                    db.codes[rep] = customer.code
                    ws.contacts.add(customer.code, name="刘洋", phone="13900001111")
                    ws.opportunities.add(customer.code, name="年度采购")
                    ws.orders.add(customer.code, ordered_at=date(2024, 5, 1), amount="5000")
                    ws.leads.add(name=f"{rep}的线索", source="website")
                    ws.tasks.add("回访", about=customer.code)
                boss.tickets.open(db.codes[rep], type="after_sales", subject="保修期内维修")
            boss.leads.add(name="待分配线索", source="website")  # unassigned: wang sees it
        yield db
    finally:
        with _pg_admin_engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            logins = [db.name(u) for u in ("boss", "zhang", "li", "wang", "zhao", "ana", "tmp")]
            for role in (*logins, db.roles.group, db.roles.everyone, db.roles.scoped):
                conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
            for role in (db.roles.owner,):
                conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))


def _value(conn: psycopg.Connection, sql: str, *params: object) -> Any:
    """The one value ``sql`` selects."""
    row = conn.execute(sql, params).fetchone()
    assert row is not None
    return row[0]


def _ids(conn: psycopg.Connection, table: str) -> set[int]:
    return {row[0] for row in conn.execute(f"SELECT id FROM {table}")}


def _expected(db: TeamDb, user: str) -> dict[str, set[int]]:
    """What ``crmlib.access.Scope`` lets ``user`` see, computed through the installation
    login (which sees every row)."""
    engine = make_engine(db.installer)
    try:
        with engine.connect() as conn:
            me = conn.execute(
                select(User.id, User.role, User.team).where(User.username == db.name(user))
            ).one()
            scope = Scope(Actor(me.id, db.name(user), ROLES[me.role], me.team))
            customers = set(conn.execute(scope.customer_ids()).scalars())
            expected = {"customers": customers}
            for table in ("contacts", "opportunities", "orders", "tickets"):
                rows = conn.execute(text(f"SELECT id, customer_id FROM {table}")).all()
                expected[table] = {i for i, c in rows if c in customers}
            lead_rows = select(Lead.id).where(scope.lead_filter())
            expected["leads"] = set(conn.execute(lead_rows).scalars())
            expected["tasks"] = set(
                conn.execute(select(Task.id).where(scope.task_filter())).scalars()
            )
            return expected
    finally:
        engine.dispose()


@pytest.mark.parametrize("user", ["zhang", "wang", "ana"])
def test_raw_sql_sees_only_the_scope_of_access(team_db: TeamDb, user: str) -> None:
    expected = _expected(team_db, user)
    with team_db.sql(user) as conn, team_db.sql("installer") as everything:
        for table in CHECKED:
            assert _ids(conn, table) == expected[table], table
            if user == "zhang":  # a rep sees a part, never nothing
                assert expected[table] and expected[table] < _ids(everything, table), table
    if user == "wang":
        assert len(expected["customers"]) == 2  # zhang's and li's, not zhao's
        assert len(expected["leads"]) == 3  # zhang's, li's and the unassigned one


def test_others_rows_cannot_be_changed_or_deleted(team_db: TeamDb) -> None:
    with team_db.sql("installer") as everything:
        zhao_customer = _value(
            everything, "SELECT id FROM customers WHERE code = %s", team_db.codes["zhao"]
        )
        zhao_id = _value(
            everything, "SELECT id FROM users WHERE username = %s", team_db.name("zhao")
        )
        before = {t: _ids(everything, t) for t in CHECKED}
    with team_db.sql("zhang") as conn:
        changed = [
            conn.execute("UPDATE customers SET name = 'x' WHERE id = %s", (zhao_customer,)),
            conn.execute("DELETE FROM customers WHERE id = %s", (zhao_customer,)),
            conn.execute("DELETE FROM contacts WHERE customer_id = %s", (zhao_customer,)),
            conn.execute("UPDATE orders SET amount = 1 WHERE customer_id = %s", (zhao_customer,)),
            conn.execute("DELETE FROM tickets WHERE customer_id = %s", (zhao_customer,)),
            conn.execute("DELETE FROM leads WHERE owner_id = %s", (zhao_id,)),
            conn.execute("DELETE FROM tasks WHERE assignee_id = %s", (zhao_id,)),
        ]
        assert [c.rowcount for c in changed] == [0] * len(changed)
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            conn.execute("UPDATE customers SET owner_id = %s", (zhao_id,))  # giving away
    with team_db.sql("installer") as everything:
        assert {t: _ids(everything, t) for t in CHECKED} == before
        name = _value(everything, "SELECT name FROM customers WHERE id = %s", zhao_customer)
        assert name == "zhao贸易有限公司"


def test_only_user_managers_change_users(team_db: TeamDb) -> None:
    """A rep who could write ``users`` could make themselves an administrator."""
    with team_db.sql("zhang") as conn:
        everyone = "SELECT count(*) FROM users WHERE username = %s"  # everyone reads the names
        assert _value(conn, everyone, team_db.name("boss")) == 1
        promoted = conn.execute("UPDATE users SET role = 'admin', team = NULL")
        removed = conn.execute("DELETE FROM users")
        assert (promoted.rowcount, removed.rowcount) == (0, 0)
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            conn.execute(
                "INSERT INTO users (username, display_name, role, active, created_at) "
                "VALUES ('ghost', 'ghost', 'admin', true, now())"
            )
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            conn.execute("INSERT INTO settings (key, value, updated_at) VALUES ('x', '1', now())")
    with crmlib.open(team_db.url("zhang"), lang="en") as ws:
        assert ws.user.role.name == "sales"


@pytest.mark.parametrize("user", ["zhang", "boss"])
def test_audit_events_cannot_be_changed_or_deleted(team_db: TeamDb, user: str) -> None:
    with team_db.sql(user) as conn:
        assert _value(conn, "SELECT count(*) FROM audit_events") > 0
        for statement in ("DELETE FROM audit_events", "UPDATE audit_events SET actor = 'x'"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)


def test_logins_reach_no_other_role_and_own_nothing(team_db: TeamDb) -> None:
    roles = team_db.roles
    with team_db.sql("zhang") as conn:
        for other in (team_db.name("zhao"), team_db.name("boss"), roles.owner, roles.everyone):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f'SET ROLE "{other}"')
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT crm_set_password(%s, 'x')", (team_db.name("li"),))
    with team_db.sql("installer") as conn:
        attributes = conn.execute(
            "SELECT rolname, rolsuper, rolcreaterole, rolbypassrls, rolcanlogin FROM pg_roles "
            "WHERE pg_has_role(rolname, %s, 'MEMBER') AND rolname <> %s",
            (roles.group, roles.group),
        ).fetchall()
        names = {team_db.name(u) for u in ("boss", "zhang", "li", "wang", "zhao", "ana")}
        assert {r[0] for r in attributes if r[0] in names} == names
        assert all(r[1:] == (False, False, False, True) for r in attributes if r[0] in names)
        owners = conn.execute(
            "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
        assert owners == [(roles.owner,)]
        secured = conn.execute(
            "SELECT relname FROM pg_class WHERE relrowsecurity AND relforcerowsecurity"
        ).fetchall()
        assert {r[0] for r in secured} == set(POLICIES)


def test_policy_columns_are_indexed(team_db: TeamDb) -> None:
    """Every column a policy compares (owner, customer, parent record) leads an index."""
    with team_db.sql("installer") as conn:
        leading = {
            (table, column)
            for table, column in conn.execute(
                "SELECT t.relname, a.attname FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid "
                "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = i.indkey[0]"
            )
        }
    for table, rule in POLICIES.items():
        for column in ("owner_id", "customer_id", "opportunity_id", "ticket_id", "assignee_id"):
            if f"{column} IN" in rule:
                assert (table, column) in leading, (table, column)


def test_open_acts_as_the_login_and_refuses_other_names(
    team_db: TeamDb, monkeypatch: pytest.MonkeyPatch
) -> None:
    zhang, zhao = team_db.name("zhang"), team_db.name("zhao")
    with crmlib.open(team_db.url("zhang"), lang="en") as ws:
        assert ws.user.username == zhang
        seen = set(ws.customers.frame()["code"])
    assert seen == {team_db.codes["zhang"]}
    with crmlib.open(team_db.url("zhang"), lang="en") as ws, pytest.raises(NotFound):
        ws.customers.get(team_db.codes["zhao"])  # the database hides it altogether
    team = list(_expected(team_db, "wang")["customers"])
    with team_db.sql("installer") as everything:
        rows = everything.execute("SELECT code FROM customers WHERE id = ANY(%s)", (team,))
        codes = {code for (code,) in rows}
    with crmlib.open(team_db.url("wang"), lang="en") as ws:  # a manager: the team's
        assert set(ws.customers.frame()["code"]) == codes
    assert codes == {team_db.codes["zhang"], team_db.codes["li"]}
    with crmlib.open(team_db.url("zhang"), user=zhang) as ws:  # naming oneself is fine
        assert ws.user.username == zhang
    with pytest.raises(AccessDenied, match=f"signed in as '{zhang}'.*not as '{zhao}'"):
        crmlib.open(team_db.url("zhang"), user=zhao, lang="en")
    with speaking("zh"), pytest.raises(AccessDenied, match=f"您以 '{zhang}' 登录"):
        crmlib.open(team_db.url("zhang"), user=zhao)
    monkeypatch.setenv("CRM_USER", team_db.name("boss"))
    with pytest.raises(AccessDenied):
        crmlib.open(team_db.url("zhang"))
    ran = crm("users", "list", url=team_db.url("zhang"), user=zhao)
    assert ran.returncode == 1 and "team database" in ran.stderr


def test_status_says_which_kind_of_database(team_db: TeamDb, sqlite_url: str) -> None:
    crmlib.open(sqlite_url, user="admin").close()
    shared = crm("status", url=sqlite_url)
    assert "whoever can open this database can act as any user" in shared.stdout
    team = crm("status", url=team_db.url("zhang"), user=None)
    assert "team mode" in team.stdout and team_db.roles.group in team.stdout


def test_users_get_logins_new_passwords_and_lose_them(team_db: TeamDb) -> None:
    tmp = team_db.name("tmp")

    def verifier() -> tuple[str, bool]:
        with team_db.sql("installer") as conn:
            row = conn.execute(
                "SELECT rolpassword, rolcanlogin FROM pg_authid WHERE rolname = %s", (tmp,)
            ).fetchone()
            assert row is not None
            return row[0], row[1]

    env = crm_environment(team_db.url("boss"), None)
    added = CliRunner(env=env).invoke(
        main, ["users", "add", tmp, "--role", "sales", "--team", "west"], input="one\n"
    )
    assert added.exit_code == 0, added.stderr
    first, can_login = verifier()
    assert first.startswith("SCRAM-SHA-256$") and can_login
    with crmlib.open(team_db.url("zhang"), lang="en") as zhang, pytest.raises(AccessDenied):
        zhang.users.set_password(tmp, "mine now")
    passwd = CliRunner(env=env).invoke(main, ["users", "passwd", tmp], input="two\n")
    assert passwd.exit_code == 0, passwd.stderr
    assert verifier()[0] != first
    with crmlib.open(team_db.url("tmp"), lang="en") as ws:  # one's own: no admin needed
        ws.users.set_password(tmp, "three")
    session = team_db.sql("tmp")
    customers = "SELECT count(*) FROM customers"
    assert _value(session, customers) == 0  # a rep without customers
    with crmlib.open(team_db.url("boss"), lang="en") as boss:
        boss.users.set_role(tmp, "analyst")  # the database follows: now every row
        with team_db.sql("installer") as everything:
            assert _value(session, customers) == _value(everything, customers) == 3
        boss.users.deactivate(tmp)
    assert not verifier()[1]
    with pytest.raises(psycopg.OperationalError):  # the open session was ended
        session.execute("SELECT 1")
    session.close()
    with team_db.sql("installer") as conn:
        actors = conn.execute(
            "SELECT actor FROM audit_events WHERE action = 'password' AND ref = %s ORDER BY id",
            (tmp,),
        ).fetchall()
    assert [a[0] for a in actors] == [team_db.name("boss"), tmp]


def test_a_later_migration_keeps_the_owner_role(team_db: TeamDb) -> None:
    """``crm init`` on a team database migrates as the owner role: a table a later migration
    adds is the owner's, granted to the group, its policy on (replayed here by stepping
    back over the team-mode migration and forward again)."""
    engine = make_engine(team_db.installer)
    try:
        with engine.connect() as conn, conn.begin():
            roles = team_roles(conn)
            assert roles == team_db.roles
            kept = [dict(row) for row in conn.execute(select(TeamMode.__table__)).mappings()]
            conn.exec_driver_sql(f'SET LOCAL ROLE "{roles.owner}"')
            command.downgrade(alembic_config(conn), revisions()["0012"] or "base")
            conn.exec_driver_sql("RESET ROLE")
            upgrade(conn, roles)
            conn.execute(insert(TeamMode), kept)
    finally:
        engine.dispose()
    with team_db.sql("installer") as installer:
        owner = "SELECT tableowner FROM pg_tables WHERE tablename = 'team_mode'"
        assert _value(installer, owner) == team_db.roles.owner
    with team_db.sql("zhang") as zhang:
        assert _value(zhang, "SELECT owner_role FROM team_mode") == team_db.roles.owner
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            zhang.execute("DELETE FROM team_mode")
    again = crm("init", url=team_db.url("boss"), user=None)
    assert again.returncode == 0 and "schema up to date" in again.stdout


def test_team_mode_needs_an_empty_postgresql_database(team_db: TeamDb, sqlite_url: str) -> None:
    with pytest.raises(ConfigError, match="PostgreSQL"):
        enable(make_engine(sqlite_url), "boss", "secret")
    code, _, err = _init(team_db.installer, "boss", "secret", lang="zh")
    assert code == 1 and "空数据库" in err
    code, _, err = _init(team_db.url("zhang"), "boss", "secret")
    assert code == 1 and "empty database" in err


def test_every_table_has_one_treatment(team_db: TeamDb) -> None:
    """A table a later migration adds fails here until it is placed in crmlib.team_policies."""
    kinds = (POLICIES, GUARDED, READ_ONLY, APPEND_ONLY, SHARED)
    with team_db.sql("installer") as conn:
        tables = {
            r[0]
            for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
        secured = {r[0] for r in conn.execute("SELECT relname FROM pg_class WHERE relrowsecurity")}
    assert {table: treatment(table) for table in tables if treatment(table) is None} == {}
    assert all(sum(table in kind for kind in kinds) == 1 for table in tables)
    assert set().union(*kinds) == tables  # nothing listed that the schema lacks
    assert secured == set(POLICIES) | set(GUARDED) | set(APPEND_ONLY)
    # The lists follow the API: import permissions, custom-field kinds.
    assert set(IMPORT_PERMISSIONS) == {kind.permission for kind in KINDS.values()}
    assert CUSTOM_KINDS == tuple(RECORDS) == tuple(m.__tablename__ for m in RECORDS.values())


#: For each guarded table a write with raw SQL: the login whose role lacks the table's
#: permission, the login whose role has it, and an INSERT ({customer}: a rep's customer;
#: {batch}: an import batch).
GUARDED_WRITES = (
    (
        "custom_fields",
        "wang",
        "boss",
        "INSERT INTO custom_fields (kind, key, names, type, active, created_by, created_at) "
        "VALUES ('customers', 'probe', '{{}}', 'text', true, 'x', now())",
    ),
    (
        "campaigns",
        "zhang",
        "wang",
        "INSERT INTO campaigns (name, channel, created_at, updated_at) "
        "VALUES ('probe', 'email', now(), now())",
    ),
    (
        "kb_articles",
        "zhang",
        "wang",
        "INSERT INTO kb_articles (title, body, category, created_at, updated_at) "
        "VALUES ('probe', 'b', 'c', now(), now())",
    ),
    (
        "merges",
        "ana",
        "zhang",
        "INSERT INTO merges (survivor_id, merged_id, snapshot, actor, merged_at) "
        "VALUES ({customer}, {customer}, '{{}}', 'x', now())",
    ),
    (
        "import_batches",
        "ana",
        "zhang",
        "INSERT INTO import_batches (kind, file_name, file_hash, actor, status, strict, "
        "dry_run, rows_total, rows_imported, rows_created, rows_updated, rows_unchanged, "
        "rows_rejected, started_at) VALUES ('customers', 'f', 'h', 'x', 'done', false, false, "
        "0, 0, 0, 0, 0, 0, now())",
    ),
    (
        "import_rejects",
        "ana",
        "zhang",
        "INSERT INTO import_rejects (batch_id, row_number, raw, reasons) "
        "VALUES ({batch}, 1, 'r', 'x')",
    ),
)


def test_guarded_tables_are_changed_only_with_the_permission(team_db: TeamDb) -> None:
    with team_db.sql("installer") as everything:
        customer = _value(
            everything, "SELECT id FROM customers WHERE code = %s", team_db.codes["zhang"]
        )
        batch = _value(everything, GUARDED_WRITES[-2][3] + " RETURNING id")
        counts = {t: _value(everything, f"SELECT count(*) FROM {t}") for t in GUARDED}
    for table, refused, allowed, insert_sql in GUARDED_WRITES:
        statement = insert_sql.format(customer=customer, batch=batch)
        with team_db.sql(refused) as conn:
            assert _value(conn, f"SELECT count(*) FROM {table}") == counts[table]  # all read
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
                conn.execute(statement)
            assert conn.execute(f"DELETE FROM {table}").rowcount == 0, table
        with team_db.sql(allowed) as conn, conn.transaction(force_rollback=True):
            assert conn.execute(statement).rowcount == 1, table
            assert conn.execute(f"UPDATE {table} SET id = id").rowcount >= 1, table
    with team_db.sql("ana") as conn, conn.transaction(force_rollback=True):  # shared: anyone
        conn.execute(
            "INSERT INTO segments (name, rule, created_at, updated_at) "
            "VALUES ('probe', 'grade == \"A\"', now(), now())"
        )
    with team_db.sql("installer") as everything:
        everything.execute("DELETE FROM import_batches WHERE id = %s", (batch,))


def test_custom_values_and_audit_events_follow_their_records(team_db: TeamDb) -> None:
    with crmlib.open(team_db.url("boss"), lang="en") as boss:
        boss.custom_fields.define(
            "customers", "probe", names={"zh": "探针", "en": "Probe"}, type="text"
        )
    for rep in ("zhang", "li", "zhao"):
        with crmlib.open(team_db.url(rep), lang="en") as ws:
            ws.customers.update(team_db.codes[rep], custom={"probe": f"{rep} note"})
    with team_db.sql("installer") as everything:
        ids: dict[str, int] = dict(everything.execute("SELECT code, id FROM customers").fetchall())
        field = _value(everything, "SELECT id FROM custom_fields WHERE key = 'probe'")
        events = everything.execute("SELECT id, actor, ref FROM audit_events").fetchall()
    zhang, zhao = ids[team_db.codes["zhang"]], ids[team_db.codes["zhao"]]
    values = "SELECT record_id FROM custom_values WHERE field_id = %s"
    with team_db.sql("zhang") as conn:
        assert {r[0] for r in conn.execute(values, (field,))} == {zhang}
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            conn.execute(
                "INSERT INTO custom_values (field_id, record_id, text_value) VALUES (%s, %s, 'x')",
                (field, zhao),
            )
        update = "UPDATE custom_values SET text_value = 'x' WHERE record_id = %s"
        assert conn.execute(update, (zhao,)).rowcount == 0
        with conn.transaction(force_rollback=True):
            assert conn.execute(update, (zhang,)).rowcount == 1
        # The audit log: the events of their customer and of their own actions.
        seen = _ids(conn, "audit_events")
        mine = {team_db.codes["zhang"]}
        assert seen == {
            i for i, actor, ref in events if actor == team_db.name("zhang") or ref in mine
        }
        assert seen and any(ref == team_db.codes["zhao"] for i, _, ref in events if i not in seen)
        add_event = (
            "INSERT INTO audit_events (occurred_at, actor, action, entity) "
            "VALUES (now(), %s, 'export', 'customers')"
        )
        with conn.transaction(force_rollback=True):  # still adds events of their own
            conn.execute(add_event, (team_db.name("zhang"),))
        with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
            conn.execute(add_event, (team_db.name("boss"),))  # never in another's name
    with team_db.sql("wang") as conn:
        team = {ids[team_db.codes["zhang"]], ids[team_db.codes["li"]]}
        assert {r[0] for r in conn.execute(values, (field,))} == team
    with team_db.sql("ana") as conn:  # every customer's events, not the user administration
        codes = set(ids)
        expected = {i for i, actor, ref in events if actor == team_db.name("ana") or ref in codes}
        assert _ids(conn, "audit_events") == expected
        assert len(expected) < len(events)
    with team_db.sql("boss") as conn:
        assert _ids(conn, "audit_events") == {i for i, _, _ in events}
    with crmlib.open(team_db.url("zhang"), lang="en") as ws:
        history = ws.history(team_db.codes["zhang"])
        assert len(history) == sum(ref == team_db.codes["zhang"] for _, _, ref in events)
        assert ws.customers.get(team_db.codes["zhang"]).custom == {"probe": "zhang note"}


def test_a_rep_works_with_campaigns_segments_and_comments(team_db: TeamDb) -> None:
    """crmlib on a team database, as each role's own login, does what the API allows."""
    mine = team_db.codes["zhang"]
    with crmlib.open(team_db.url("wang"), lang="en") as manager:
        manager.campaigns.add(name="春季回访", channel="email")
        assert manager.campaigns.add_members("春季回访", [mine, team_db.codes["li"]]) == 2
    with crmlib.open(team_db.url("zhang"), lang="en") as ws:
        with pytest.raises(AccessDenied):
            ws.campaigns.add(name="自己的活动", channel="email")
        answer = ws.campaigns.record_response("春季回访", mine, "想了解新品")
        assert answer["status"] == "responded"
        assert set(ws.campaigns.members("春季回访")["customer_code"]) == {mine}
        ws.segments.define("我的客户", "age_days >= 0")
        assert ws.segments.count("我的客户") == 1
        ws.segments.track()
        comment = ws.comments.add("customer", mine, "已回访")
        assert comment["body"] == "已回访"
    with crmlib.open(team_db.url("ana"), lang="en") as analyst:
        assert analyst.segments.count("我的客户") == 3
        with pytest.raises(AccessDenied):
            analyst.campaigns.update("春季回访", goal="x")


def test_a_password_has_a_length_limit_and_is_never_read_whole(
    team_db: TeamDb, tmp_path: Path
) -> None:
    """A password file of one enormous line is read only up to the limit, and refused."""
    huge = tmp_path / "password"
    huge.write_text("p" * (10 * 1024 * 1024), encoding="ascii")
    env = crm_environment(team_db.url("boss"), None)
    result = CliRunner(env=env).invoke(
        main, ["--lang", "en", "users", "passwd", team_db.name("li"), "--password-file", str(huge)]
    )
    assert result.exit_code != 0
    assert "password" in result.stderr and "1024" in result.stderr, result.stderr
