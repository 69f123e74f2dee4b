"""Writing validated import rows: references resolved, upserted by key, changes audited.

A writer receives a chunk of clean values (one row per file row, indexed by the row number
the user sees) and says, per row, whether it was created, updated, left unchanged or
rejected and why. Rows are matched to existing records by ``external_id`` (or customer
code), else by a natural key, so importing the same file twice changes nothing. A blank
cell never erases a stored value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import repeat
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Table, func, insert, select, update

from ...access import Actor, Scope
from ...audit import text_of
from ...errors import FieldError
from ...i18n import t
from ...store.models import (
    AuditEvent,
    Campaign,
    Customer,
    User,
)
from ..bulk import SuspendedIndexes, copy_rows
from ..kinds import FileKind
from ..staging import Staged

#: How many keys one IN (...) lookup carries.
LOOKUP_BATCH = 900
#: A username no active user has.
_UNKNOWN = object()


@dataclass
class Outcome:
    """What happened to each row of a chunk."""

    status: dict[int, str] = field(default_factory=dict)
    reasons: dict[int, list[str]] = field(default_factory=dict)
    warnings: list[tuple[int, FieldError]] = field(default_factory=list)

    def reject(self, row: int, reason: str) -> None:
        self.status[row] = "rejected"
        self.reasons.setdefault(row, []).append(reason)


def table_of(model: Any) -> Table:
    table: Table = model.__table__
    return table


def batches(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), LOOKUP_BATCH):
        yield items[start : start + LOOKUP_BATCH]


def none_column(index: pd.Index) -> pd.Series:
    """A column of None (pandas would make ``Series(None)`` a column of NaN)."""
    return pd.Series([None] * len(index), index=index, dtype=object)


def cells_of(column: pd.Series) -> Iterable[tuple[int, Any]]:
    """(row number, value) pairs of a column whose index holds file row numbers."""
    return zip(column.index.tolist(), column.tolist(), strict=True)


def records_of(frame: pd.DataFrame) -> dict[int, dict[str, Any]]:
    """Rows as plain dicts by row number: far faster to loop over than DataFrame rows."""
    columns = [str(c) for c in frame.columns]
    values = frame.astype(object).to_numpy().tolist()
    return {
        row: dict(zip(columns, cells, strict=True))
        for row, cells in zip(frame.index.tolist(), values, strict=True)
    }


def insert_rows(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows and return their new ids, in order.

    SQLite runs an ordered RETURNING one row at a time, so there the ids are handed out
    here (the import holds SQLite's write lock: nobody can take them meanwhile).
    PostgreSQL returns them from multi-row INSERTs.
    """
    if not rows:
        return []
    if conn.dialect.name != "sqlite":
        returned = conn.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), _uniform(rows)
        )
        return list(returned.scalars())
    first = (conn.execute(select(func.max(table.c.id))).scalar() or 0) + 1
    new_ids = list(range(first, first + len(rows)))
    bulk_insert(conn, table, [{**row, "id": i} for row, i in zip(rows, new_ids, strict=True)])
    return new_ids


def bulk_insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows with one driver call: ``executemany`` on SQLite, ``COPY`` on PostgreSQL.

    Values are bound by SQLAlchemy's own type processors, so dates and amounts are stored
    exactly as the ORM stores them: SQLAlchemy's own executemany path costs more than the
    insert itself at this size. Rows carry every value they need (no column defaults).
    """
    if not rows:
        return
    columns = sorted({key for row in rows for key in row})
    processors = [
        (position, process)
        for position, name in enumerate(columns)
        if (process := table.c[name].type.dialect_impl(conn.dialect).bind_processor(conn.dialect))
        is not None
    ]
    values = [[row.get(name) for name in columns] for row in rows]
    for position, process in processors:
        for cells in values:
            if cells[position] is not None:
                cells[position] = process(cells[position])
    if conn.dialect.name == "postgresql":
        copy_rows(conn, table, columns, values)
        return
    names = ", ".join(f'"{name}"' for name in columns)
    marks = ", ".join("?" * len(columns))
    statement = f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})'
    conn.exec_driver_sql(statement, [tuple(cells) for cells in values])


def _uniform(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with the same keys, as one multi-row INSERT needs (missing values are None)."""
    keys = {key for row in rows for key in row}
    return [{key: row.get(key) for key in keys} for row in rows]


def differs(old: Any, new: Any) -> bool:
    return text_of(old) != text_of(new)


class Writer:
    """What every kind shares: users, scope, campaigns, the upsert and its audit trail."""

    model: Any = None
    natural_key: tuple[str, ...] = ()
    #: Tables a large import fills, whose secondary indexes may wait until its end, and
    #: the columns (``table.column``) the import looks rows up by, whose indexes stay.
    bulk_tables: tuple[str, ...] = ()
    lookup_columns: tuple[str, ...] = ()
    #: Columns whose indexes an import extends in a few places only: one value on all its
    #: rows (its time stamp, its owner), a few (industry divisions), or none at all (an
    #: index only of rows where the column is set). Kept up to date row by row, they cost
    #: the importing thread less than a sort at the end would, and it has the time: it
    #: waits for the checking thread (see :meth:`stage`) anyway.
    append_columns: tuple[str, ...] = ()
    #: Whether :meth:`stage` may lay out new rows where the chunk is checked (see
    #: :mod:`crmlib.transfer.engines`).
    stages = False

    def __init__(
        self, conn: Connection, spec: FileKind, actor: Actor, batch_id: int | None, now: datetime
    ) -> None:
        self.conn = conn
        self.spec = spec
        self.actor = actor
        self.scope = Scope(actor)
        self.batch_id = batch_id
        self.now = now
        users = conn.execute(select(User.id, User.username, User.team, User.active)).all()
        self.users = {u.username: u for u in users if u.active}
        self.users_by_id = {u.id: u for u in self.users.values()}
        owners = self.scope.owner_ids()
        self.visible_owners = None if owners is None else set(conn.execute(owners).scalars())
        self.campaigns = {
            name: id_ for name, id_ in conn.execute(select(Campaign.name, Campaign.id))
        }
        self.suspended: SuspendedIndexes | None = None
        self.started_empty = False

    def customer_ids(
        self, clean: pd.DataFrame, outcome: Outcome, *, required: bool = True
    ) -> dict[int, int]:
        """Row -> id of the customer its customer_code or customer_external_id names; a
        row naming an unknown customer or one outside the user's scope is rejected, and
        so is a row naming none when ``required``."""
        codes = clean.get("customer_code", none_column(clean.index))
        externals = clean.get("customer_external_id", none_column(clean.index))
        table = table_of(Customer)
        found: dict[tuple[str, Any], Any] = {}
        for column, keys in (("code", codes), ("external_id", externals)):
            wanted = sorted({k for k in keys if k is not None})
            for batch in batches(wanted):
                query = select(table.c.id, table.c.owner_id, table.c[column]).where(
                    table.c[column].in_(batch), table.c.merged_into_id.is_(None)
                )
                for match in self.conn.execute(query):
                    found[(column, match[2])] = match
        ids: dict[int, int] = {}
        for row in clean.index:
            code, external = codes[row], externals[row]
            if code is None and external is None:
                if required:
                    outcome.reject(row, f"customer_code: {t('customer_ref_required')} [required]")
                continue
            hit = (
                found.get(("code", code))
                if code is not None
                else found.get(("external_id", external))
            )
            if hit is None:
                shown = (
                    f"customer_code={code!r}"
                    if code is not None
                    else f"customer_external_id={external!r}"
                )
                outcome.reject(row, f"{shown}: {t('unknown_customer')} [unknown_customer]")
            elif not self.in_scope(hit.owner_id):
                outcome.reject(row, t("outside_scope", code=code or external))
            else:
                ids[int(row)] = hit.id
        return ids

    def in_scope(self, owner_id: int | None) -> bool:
        """Whether the user may change a record owned by ``owner_id`` (for a customer's
        records: the customer's owner). Every match an import makes passes this rule, so
        a key in a file never reaches a record outside the user's scope."""
        return self.visible_owners is None or owner_id in self.visible_owners

    @staticmethod
    def refuse_foreign(outcome: Outcome, row: int, column: str, value: Any) -> None:
        """Reject ``row``, whose ``column`` = ``value`` matched a record out of scope."""
        problem = FieldError(column, value, "outside_scope", t("record_outside_scope"))
        outcome.reject(row, str(problem))

    def start(self, expected_rows: int, *, staged: bool = False) -> None:
        """Before the first chunk: a file of about ``expected_rows`` rows is coming, its
        new rows ``staged`` where they are checked or not."""
        table = table_of(self.model)
        self.started_empty = self.conn.execute(select(table.c.id).limit(1)).first() is None
        self.suspended = SuspendedIndexes(
            self.conn,
            self.bulk_tables,
            (*self.lookup_columns, *(self.append_columns if staged else ())),
            expected_rows,
        )

    def finish(self) -> None:
        """After the last chunk of an import that will commit: indexes are complete again."""
        if self.suspended is not None:
            self.suspended.rebuild()

    # -- hooks for each kind --------------------------------------------------------------

    def required(self, clean: pd.DataFrame) -> dict[str, pd.Series]:
        """Per column, which rows must have it (default: the kind's required columns)."""
        everyone = pd.Series(True, index=clean.index)
        return {name: everyone for name in self.spec.required}

    def file_key(self, clean: pd.DataFrame) -> pd.Series:
        """Identity of a row within the file, to catch a record given twice."""
        if "external_id" in clean:
            return clean["external_id"]
        return none_column(clean.index)

    def may_reject(self, clean: pd.DataFrame) -> pd.Series:
        """Which rows :meth:`write` may still reject (checks needing the database); only
        their original cells travel on for the rejects file. Any row, by default."""
        return pd.Series(True, index=clean.index)

    def write(self, clean: pd.DataFrame, outcome: Outcome) -> None:
        raise NotImplementedError

    def stage(self, clean: pd.DataFrame, outcome: Outcome) -> Staged | None:
        """Where the chunk is checked (never touching the database): its rows laid out for
        :meth:`write_staged` (see :mod:`crmlib.transfer.staging`), or None for
        :meth:`write` to write them."""
        return None

    def write_staged(self, staged: Staged, outcome: Outcome) -> None:
        raise NotImplementedError

    # -- shared steps ---------------------------------------------------------------------

    def user_ids(
        self, clean: pd.DataFrame, column: str, outcome: Outcome, *, default: bool
    ) -> dict[int, int | None]:
        """Usernames in ``column`` as user ids (the importer by default); unknown ones reject."""
        me = self.users.get(self.actor.username)
        known: dict[str | None, int | None] = {name: u.id for name, u in self.users.items()}
        known[None] = me.id if default and me else None
        names = clean[column].tolist() if column in clean else [None] * len(clean)
        rows = clean.index.tolist()
        ids: dict[int, Any] = dict(zip(rows, map(known.get, names, repeat(_UNKNOWN)), strict=True))
        if _UNKNOWN in ids.values():
            for row, name in zip(rows, names, strict=True):
                if ids[row] is _UNKNOWN:
                    del ids[row]
                    outcome.reject(row, f"{column}={name!r}: {t('unknown_user')} [unknown_user]")
        return ids

    def may_own(self, user_id: int | None) -> bool:
        user = self.users_by_id.get(user_id)
        return user is not None and self.scope.may_own(user.id, user.team)

    def campaign_ids(self, clean: pd.DataFrame, outcome: Outcome) -> dict[int, int | None]:
        """Campaign names as ids; an unknown campaign is a warning, the row still imports."""
        ids: dict[int, int | None] = {}
        if "campaign" not in clean:
            return ids
        for row, name in cells_of(clean["campaign"]):
            if name is None:
                continue
            if name in self.campaigns:
                ids[row] = self.campaigns[name]
            else:
                outcome.warnings.append(
                    (row, FieldError("campaign", name, "unknown_campaign", t("unknown_campaign")))
                )
        return ids

    def existing(self, column: str, keys: Iterable[Any]) -> dict[Any, dict[str, Any]]:
        """Stored rows whose ``column`` is one of ``keys``, as dicts by key."""
        table = table_of(self.model)
        wanted = sorted({k for k in keys if k is not None}, key=str)
        found: dict[Any, dict[str, Any]] = {}
        for batch in batches(wanted):
            for row in self.conn.execute(
                select(table).where(table.c[column].in_(batch))
            ).mappings():
                found[row[column]] = dict(row)
        return found

    def upsert(
        self,
        rows: dict[int, dict[str, Any]],
        matches: dict[int, dict[str, Any]],
        outcome: Outcome,
        *,
        ref: Mapping[int, str | None] | None = None,
    ) -> dict[int, int]:
        """Insert rows without a match, update matched rows that differ; returns row → id."""
        table = table_of(self.model)
        ids: dict[int, int] = {}
        new_rows = [row for row in rows if row not in matches]
        for row, current in matches.items():
            ids[row] = current["id"]
            changes = {
                k: v for k, v in rows[row].items() if v is not None and differs(current.get(k), v)
            }
            if not changes:
                outcome.status[row] = "unchanged"
                continue
            self.conn.execute(update(table).where(table.c.id == current["id"]).values(**changes))
            self.audit_changes(table.name, current["id"], (ref or {}).get(row), current, changes)
            outcome.status[row] = "updated"
        created = insert_rows(self.conn, table, [rows[row] for row in new_rows])
        for row, new_id in zip(new_rows, created, strict=True):
            ids[row] = new_id
            outcome.status[row] = "created"
        return ids

    def audit_changes(
        self,
        entity: str,
        entity_id: int,
        ref: str | None,
        current: Mapping[str, Any],
        changes: Mapping[str, Any],
    ) -> None:
        self.conn.execute(
            insert(AuditEvent),
            [
                {
                    "occurred_at": self.now,
                    "actor": self.actor.username,
                    "action": "import",
                    "entity": entity,
                    "entity_id": entity_id,
                    "ref": ref,
                    "field": key,
                    "old_value": text_of(current.get(key)),
                    "new_value": text_of(value),
                    "batch_id": self.batch_id,
                }
                for key, value in changes.items()
            ],
        )
