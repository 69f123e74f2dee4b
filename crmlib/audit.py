"""The field-level change log, written automatically whenever a session flushes.

Because it hooks the session rather than each service function, no code path that changes
a record through the ORM can forget to audit it. Bulk paths (imports, demo data) that use
Core inserts write one whole-batch event with :func:`record`.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, event, insert, inspect
from sqlalchemy.orm import Session, UOWTransaction

from . import clock
from .missing import is_missing
from .store.models import AuditEvent, Base, Customer

ACTOR = "crm_actor"
ACTION = "crm_action"
BATCH = "crm_batch"

#: Bookkeeping columns whose changes are not worth a line in the log.
IGNORED_FIELDS = frozenset({"id", "created_at", "updated_at"})
#: Tables that are the log itself or pure machinery.
UNAUDITED_TABLES = frozenset({"audit_events", "code_sequences"})
#: The tables whose changes are logged: by this hook, or on a team database by the
#: database's own triggers (:mod:`crmlib.team_audit`), so both log the same tables.
AUDITED_TABLES: tuple[str, ...] = tuple(
    table.name for table in Base.metadata.sorted_tables if table.name not in UNAUDITED_TABLES
)
_AUDITED = frozenset(AUDITED_TABLES)


def text_of(value: Any) -> str | None:
    """A value as the log stores it: ISO dates, plain decimals, None for empty (None, NaN,
    pd.NA or NaT alike, so that a value read through pandas compares equal to the stored one)."""
    if is_missing(value):
        return None
    if isinstance(value, datetime | date):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def _ref(session: Session, obj: Base) -> str | None:
    """The code an event is filed under: a customer's events and its children's share it,
    so ``history(code)`` shows contacts and orders changing too."""
    # Leads, deals and tickets have codes of their own, but file under their customer's.
    own = obj.code if isinstance(obj, Customer) else getattr(obj, "username", None)
    if own:
        return str(own)
    customer_id = getattr(obj, "customer_id", None)
    if customer_id is None:
        return None
    customer = session.get(Customer, customer_id)
    return customer.code if customer else None


def _snapshot(obj: Base) -> str:
    mapper = inspect(obj).mapper
    values = {
        attr.key: text_of(getattr(obj, attr.key))
        for attr in mapper.column_attrs
        if attr.key not in IGNORED_FIELDS and getattr(obj, attr.key) is not None
    }
    return json.dumps(values, ensure_ascii=False, sort_keys=True)


def _events_for(session: Session) -> list[dict[str, Any]]:
    actor = session.info.get(ACTOR, "system")
    batch = session.info.get(BATCH)
    when = clock.now()
    rows: list[dict[str, Any]] = []

    def add(obj: Base, action: str, **fields: Any) -> None:
        identity = inspect(obj).identity
        rows.append(
            {
                "occurred_at": when,
                "actor": actor,
                "action": action,
                "entity": obj.__tablename__,
                "entity_id": identity[0] if identity else None,
                "ref": _ref(session, obj),
                "batch_id": batch,
                "field": None,
                "old_value": None,
                "new_value": None,
                **fields,
            }
        )

    for obj in session.new:
        if obj.__tablename__ in _AUDITED:
            add(obj, "create", new_value=_snapshot(obj))
    for obj in session.dirty:
        if obj.__tablename__ not in _AUDITED:
            continue
        state = inspect(obj)
        for attr in state.mapper.column_attrs:
            if attr.key in IGNORED_FIELDS:
                continue
            history = state.attrs[attr.key].history
            if not history.has_changes():
                continue
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            if text_of(old) == text_of(new):
                continue
            action = session.info.get(ACTION, "update")
            add(obj, action, field=attr.key, old_value=text_of(old), new_value=text_of(new))
    for obj in session.deleted:
        if obj.__tablename__ in _AUDITED:
            add(obj, "delete", old_value=_snapshot(obj))
    return rows


def _after_flush(session: Session, _flush_context: UOWTransaction) -> None:
    rows = _events_for(session)
    if rows:
        session.connection().execute(insert(AuditEvent), rows)


def install_audit(session: Session) -> None:
    """Log every create, change and delete this session flushes."""
    event.listen(session, "after_flush", _after_flush)


def record(
    conn: Connection | Session,
    *,
    actor: str,
    action: str,
    entity: str,
    ref: str | None = None,
    entity_id: int | None = None,
    field: str | None = None,
    old_value: str | None = None,
    new_value: str | None = None,
    batch_id: int | None = None,
) -> None:
    """Write one event by hand, for bulk work that bypasses the ORM."""
    conn.execute(
        insert(AuditEvent).values(
            occurred_at=clock.now(),
            actor=actor,
            action=action,
            entity=entity,
            entity_id=entity_id,
            ref=ref,
            field=field,
            old_value=old_value,
            new_value=new_value,
            batch_id=batch_id,
        )
    )
