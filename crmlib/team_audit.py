"""Team mode's audit log, written by the database: on a team database, triggers on every
audited table (:data:`crmlib.audit.AUDITED_TABLES`, the tables the ORM hook logs
elsewhere) write the field-level audit events of every insert, update and delete, whoever
makes it and by whatever path (crmlib, raw SQL, psql), with the database login
(``session_user``) as actor.

The events have the shape the ORM hook gives them (:mod:`crmlib.audit`): a ``create`` or
``delete`` event with a JSON snapshot of the row, one event per changed field of an
update, the values written as :func:`crmlib.audit.text_of` writes them, filed under the
customer's code (or the username). What crmlib knows and the database does not travels
in transaction-local settings: ``crm.action`` (what a field change is: ``merge``,
``archive``, …; default ``update``) and ``crm.batch_id`` (the import batch). crmlib's
ORM hook stays out (:mod:`crmlib.context` asks :func:`in_database`), and its bulk paths
leave out the events the triggers write (:func:`write_events`): one event per field.

The triggers are statement-level, reading the transition tables, so a bulk import writes
its events in one statement per statement it runs. Their functions are SECURITY DEFINER,
owned by the owner role: logins need no right to change audit events, and have none.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Engine,
    Float,
    Integer,
    Numeric,
    Table,
    event,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.orm import Session, SessionTransaction

from .audit import AUDITED_TABLES, IGNORED_FIELDS
from .store.models import AuditEvent, Base

ACTION_SETTING = "crm.action"
BATCH_SETTING = "crm.batch_id"
#: The name of each audited table's three triggers, by event.
TRIGGERS = {
    "INSERT": "crm_audit_insert",
    "UPDATE": "crm_audit_update",
    "DELETE": "crm_audit_delete",
}
#: The transition tables each trigger reads.
_REFERENCING = {
    "INSERT": "NEW TABLE AS crm_new",
    "UPDATE": "OLD TABLE AS crm_old NEW TABLE AS crm_new",
    "DELETE": "OLD TABLE AS crm_old",
}
#: The columns of ``audit_events`` a trigger fills, in its order.
_COLUMNS = (
    "occurred_at, actor, action, entity, entity_id, ref, field, old_value, new_value, batch_id"
)

_known: weakref.WeakKeyDictionary[Engine, bool] = weakref.WeakKeyDictionary()


def _text(column: Column[object], row: str) -> str:
    """SQL for ``row``'s value of ``column`` as :func:`crmlib.audit.text_of` writes it."""
    value = f"{row}.{column.name}"
    kind = column.type
    if isinstance(kind, Boolean):
        return f"CASE WHEN {value} THEN 'True' WHEN NOT {value} THEN 'False' END"
    if isinstance(kind, DateTime):  # isoformat(sep=" "): microseconds only when there are
        return (
            f"to_char({value}, 'YYYY-MM-DD HH24:MI:SS') || CASE WHEN "
            f"date_part('microseconds', {value})::integer % 1000000 <> 0 "
            f"THEN to_char({value}, '.US') ELSE '' END"
        )
    if isinstance(kind, Date):
        return f"to_char({value}, 'YYYY-MM-DD')"
    if isinstance(kind, Float):  # Python writes a whole float as 1.0, PostgreSQL as 1
        return (
            f"CASE WHEN {value} = trunc({value}) AND abs({value}) < 1e16 "
            f"THEN trunc({value})::numeric::text || '.0' ELSE {value}::text END"
        )
    if isinstance(kind, Numeric):  # a normalised Decimal: no trailing zeros
        return f"trim_scale({value})::text"
    return f"{value}::text"


def _fields(table: Table) -> list[Column[object]]:
    return [c for c in table.columns if c.name not in IGNORED_FIELDS]


def _snapshot(table: Table, row: str) -> str:
    """The row as JSON, as the hook writes it: keys sorted, empty values left out."""
    pairs = ", ".join(
        f"CASE WHEN {row}.{c.name} IS NOT NULL THEN '\"{c.name}\": ' "
        f"|| to_json({_text(c, row)})::text END"
        for c in sorted(_fields(table), key=lambda c: c.name)
    )
    return f"'{{' || concat_ws(', ', {pairs}) || '}}'"


def _ref(table: Table, row: str) -> str:
    """The code an event is filed under: a customer's own, a user's name, or the code of
    the row's customer (as :func:`crmlib.audit._ref`)."""
    own = "code" if table.name == "customers" else "username"
    parts = [f"NULLIF({row}.{own}::text, '')"] if own in table.columns else []
    if "customer_id" in table.columns:
        parts.append(f"(SELECT c.code FROM customers c WHERE c.id = {row}.customer_id)")
    return f"COALESCE({', '.join(parts)})" if parts else "NULL::text"


def _function(table: Table, zone: str) -> str:
    """The trigger function of ``table``: one INSERT of events per statement and event."""
    keys = list(table.primary_key.columns)
    whole = len(keys) == 1 and isinstance(keys[0].type, Integer)

    def events(action: str, row: str, rest: str, source: str) -> str:
        entity_id = f"{row}.{keys[0].name}" if whole else "NULL::integer"
        head = (
            f"date_trunc('second', now() AT TIME ZONE '{zone}'), session_user, {action}, "
            f"'{table.name}', {entity_id}, {_ref(table, row)}"
        )
        batch = f"NULLIF(current_setting('{BATCH_SETTING}', true), '')::integer"
        return (
            f"INSERT INTO audit_events ({_COLUMNS}) SELECT {head}, {rest}, {batch} FROM {source};"
        )

    changes = ", ".join(f"('{c.name}', {_text(c, 'o')}, {_text(c, 'n')})" for c in _fields(table))
    same_row = " AND ".join(f"o.{k.name} = n.{k.name}" for k in keys)
    update = events(
        f"COALESCE(NULLIF(current_setting('{ACTION_SETTING}', true), ''), 'update')",
        "n",
        "f.field, f.old_value, f.new_value",
        f"crm_new n JOIN crm_old o ON {same_row} CROSS JOIN LATERAL (VALUES {changes}) "
        "AS f(field, old_value, new_value) WHERE f.old_value IS DISTINCT FROM f.new_value",
    )
    create = events("'create'", "n", f"NULL, NULL, {_snapshot(table, 'n')}", "crm_new n")
    delete = events("'delete'", "o", f"NULL, {_snapshot(table, 'o')}, NULL", "crm_old o")
    return (
        f"CREATE OR REPLACE FUNCTION crm_audit_{table.name}() RETURNS trigger LANGUAGE plpgsql "
        "SECURITY DEFINER SET search_path = public, pg_catalog AS $$ BEGIN "
        f"IF TG_OP = 'INSERT' THEN {create} ELSIF TG_OP = 'UPDATE' THEN {update} "
        f"ELSE {delete} END IF; RETURN NULL; END $$"
    )


def statements(zone: str) -> list[str]:
    """The trigger functions and triggers of every audited table, timestamps in business
    time ``zone`` (:func:`crmlib.clock.business_zone`); run as the owner role, again after
    every migration."""
    out = []
    for name in AUDITED_TABLES:
        table = Base.metadata.tables[name]
        out += [
            _function(table, zone),
            f"REVOKE ALL ON FUNCTION crm_audit_{name}() FROM PUBLIC",
        ]
        for op, trigger in TRIGGERS.items():
            out += [
                f"DROP TRIGGER IF EXISTS {trigger} ON {name}",
                f"CREATE TRIGGER {trigger} AFTER {op} ON {name} REFERENCING {_REFERENCING[op]} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION crm_audit_{name}()",
            ]
    return out


def removal() -> str:
    """SQL that drops every audit trigger and trigger function, whatever tables they are
    on: run before migrations, which may change the columns the functions name (and
    whose own changes the hook never logged either); :func:`statements` makes them again."""
    names = ", ".join(f"'{name}'" for name in TRIGGERS.values())
    return (
        "DO $$ DECLARE r record; BEGIN "
        "FOR r IN SELECT tgname, tgrelid::regclass AS tab FROM pg_trigger "
        f"WHERE tgname IN ({names}) LOOP "
        "EXECUTE format('DROP TRIGGER %I ON %s', r.tgname, r.tab); END LOOP; "
        "FOR r IN SELECT p.oid::regprocedure AS fn FROM pg_proc p "
        "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' "
        "AND p.proname LIKE 'crm\\_audit\\_%' LOOP "
        "EXECUTE format('DROP FUNCTION %s', r.fn); END LOOP; END $$"
    )


def in_database(engine: Engine) -> bool:
    """Whether ``engine``'s database writes its audit events itself (a team database), so
    crmlib's ORM hook must not write them again. Asked once per engine."""
    if engine.dialect.name != "postgresql":
        return False
    known = _known.get(engine)
    if known is None:
        with engine.connect() as conn:
            found = conn.execute(
                text("SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = :name)"),
                {"name": TRIGGERS["UPDATE"]},
            ).scalar_one()
        known = _known[engine] = bool(found)
    return known


#: The (table, column) pairs whose changes the triggers log, one event per field.
_TRIGGERED = frozenset(
    (name, column.name) for name in AUDITED_TABLES for column in _fields(Base.metadata.tables[name])
)


def write_events(conn: Connection | Session, events: Sequence[Mapping[str, Any]]) -> None:
    """Write audit events crmlib computed itself (bulk paths that bypass the ORM hook). On a
    team database the triggers log each changed column already: those events are left out
    (the triggers' own carry the same values, the action and the batch), and only the ones
    the triggers cannot write stay (custom field values by key, duplicates on purpose, …)."""
    bind = conn.get_bind() if isinstance(conn, Session) else conn
    if in_database(bind.engine):
        events = [e for e in events if (e["entity"], e.get("field")) not in _TRIGGERED]
    if events:
        conn.execute(insert(AuditEvent), list(events))


def _setting(conn: Connection, name: str, value: str) -> None:
    conn.execute(select(func.set_config(name, value, True)))


def tell_action(session: Session, action: str) -> None:
    """Have the database's triggers file this session's field changes under ``action``:
    set in every transaction the session begins."""

    def begun(_session: Session, _transaction: SessionTransaction, conn: Connection) -> None:
        _setting(conn, ACTION_SETTING, action)

    event.listen(session, "after_begin", begun)


def tell_import(conn: Connection, batch_id: int) -> None:
    """Have the database's triggers file this transaction's changes as import batch
    ``batch_id`` (action ``import``, as the import's own events). Nothing to do where
    crmlib writes the events itself."""
    if conn.dialect.name == "postgresql":
        _setting(conn, BATCH_SETTING, str(batch_id))
        _setting(conn, ACTION_SETTING, "import")
