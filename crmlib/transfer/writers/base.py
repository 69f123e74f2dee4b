"""Writing validated import rows: references resolved, upserted by key, changes audited.

A writer receives a chunk of clean values (one row per file row, indexed by the row number
the user sees) and says, per row, whether it was created, updated, left unchanged or
rejected and why. Rows are matched to existing records by ``external_id`` (or customer
code), else by a natural key, so importing the same file twice changes nothing. A blank
cell never erases a stored value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import repeat
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Table, func, insert, select, update

from ...access import Actor, Scope
from ...audit import text_of
from ...domain.customers.custom_fields import refs, write_values
from ...errors import FieldError
from ...i18n import t
from ...rules.fields import clean_text
from ...store.codes import PREFIXES, advance_past, parse_code, reserve_codes
from ...store.models import (
    Campaign,
    Customer,
    User,
)
from ...team_audit import write_events
from ..bulk import SuspendedIndexes, copy_rows
from ..custom import PREFIX, custom_fields_of
from ..kinds import FileKind
from ..sources import Source
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
    #: Cells the field rules refused, by row and field: what :meth:`Writer.keep_stored`
    #: withdraws when the cell holds the value the record has already.
    refused: dict[int, dict[str, FieldError]] = field(default_factory=dict)

    def reject(self, row: int, reason: str) -> None:
        self.status[row] = "rejected"
        self.reasons.setdefault(row, []).append(reason)

    def refuse(self, row: int, problem: FieldError) -> None:
        """A cell the rules refuse (or a required one missing): its row is rejected, as
        the API refuses the value, unless the record it names holds that value already
        (:meth:`withdraw`)."""
        self.reject(row, str(problem))
        self.refused.setdefault(row, {})[problem.field] = problem

    def only_refused(self, row: int) -> bool:
        """Whether every reason the row has (none, for a row not rejected) is a refused
        cell, which the record the row matches may hold already."""
        return len(self.reasons.get(row, ())) == len(self.refused.get(row, {}))

    def withdraw(self, row: int, name: str) -> None:
        """Take back the rejection of a refused cell; a row left with no reason is no
        longer rejected."""
        problem = self.refused[row].pop(name)
        reasons = self.reasons[row]
        reasons.remove(str(problem))
        if not reasons:
            del self.reasons[row], self.status[row]


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


def unchanged(values: Mapping[str, Any], current: Mapping[str, Any] | None) -> bool:
    """Whether a row matched to ``current`` would change nothing (blank cells change
    nothing): such a row is left as it is, and no rule about changes (a stage or status
    move, a field a stage needs) is applied to it."""
    return current is not None and not any(
        v is not None and differs(current.get(k), v) for k, v in values.items()
    )


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
    #: Whether each row is a transaction (an order): identical rows of a file are separate
    #: records, never rejected as repeats of each other; a row without a key matches a
    #: stored record by its occurrence (see :class:`.children.Occurrences`).
    transactional = False

    def __init__(
        self,
        conn: Connection,
        spec: FileKind,
        actor: Actor,
        batch_id: int | None,
        now: datetime,
        *,
        source: Callable[[Scope], Source] | None = None,
        allow_duplicates: bool = False,
    ) -> None:
        self.conn = conn
        #: Whether new records that exactly duplicate stored ones are created (audited)
        #: rather than rejected (for kinds that check: customers).
        self.allow_duplicates = allow_duplicates
        #: The kind's export source: what a record looks like in a file (see keep_stored).
        self.source = source
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
        # By the name folded to half-width (NFKC), as a file may write it either way.
        self.campaigns = {
            clean_text(name): id_ for name, id_ in conn.execute(select(Campaign.name, Campaign.id))
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
        """Identity of a row within the file, to catch a record given twice: its external
        id, else its code."""
        key = none_column(clean.index)
        for column in ("external_id", "code"):
            if column in clean:
                key = key.where(key.notna(), clean[column])
        return key

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
        """Campaign names as ids; a name that names no campaign rejects its row, as the
        API refuses an unknown campaign."""
        ids: dict[int, int | None] = {}
        if "campaign" not in clean:
            return ids
        for row, name in cells_of(clean["campaign"]):
            if name is None:
                continue
            key = clean_text(name)
            if key in self.campaigns:
                ids[row] = self.campaigns[key]
            else:
                problem = FieldError("campaign", name, "unknown_campaign", t("unknown_campaign"))
                outcome.reject(row, str(problem))
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

    def keep_stored(self, clean: pd.DataFrame, outcome: Outcome) -> None:
        """Withdraw the rejection of a refused cell that holds what the record it names
        (by code or external id) holds already, as an export writes it: a value stored
        before today's rules, or left empty, comes back unchanged. The cell stays blank in
        ``clean``, and a blank cell changes nothing."""
        refused = [row for row, cells in outcome.refused.items() if cells and row in clean.index]
        keys = [k for k in ("code", "external_id") if k in self.spec.keys and k in clean]
        if not refused or not keys:
            return
        for key in keys:
            self.withdraw_held(
                {
                    row: clean.at[row, key]
                    for row in refused
                    if outcome.refused[row] and clean.at[row, key] is not None
                },
                outcome,
                key,
            )

    def withdraw_held(
        self, wanted: Mapping[int, Any], outcome: Outcome, key: str | None = None
    ) -> None:
        """Withdraw the rejection of each refused cell of a row in ``wanted`` that holds
        what the record the row names holds already, as an export writes it. ``wanted``
        names the record by ``key`` (a column of the export, code or external id), or by
        its id. Only records the user may see are read."""
        if not wanted or self.source is None:
            return
        expressions, stmt = self.source(self.scope)
        by = expressions[key] if key is not None else table_of(self.model).c.id
        names = sorted({n for row in wanted for n in outcome.refused[row] if n in expressions})
        stored: dict[Any, Any] = {}
        for batch in batches(sorted(set(wanted.values()), key=str)):
            query = stmt.add_columns(
                by.label("_key"), *(expressions[n].label(n) for n in names)
            ).where(by.in_(batch))
            stored.update((found._key, found._mapping) for found in self.conn.execute(query))
        for row, value in wanted.items():
            record = stored.get(value)
            if record is None:
                continue
            for name, problem in list(outcome.refused[row].items()):
                if name in record and text_of(record[name]) == text_of(problem.value):
                    outcome.withdraw(row, name)

    def give_codes(
        self,
        rows: dict[int, dict[str, Any]],
        matches: Mapping[int, Any],
        outcome: Outcome,
    ) -> None:
        """Codes for the rows without a match, for a kind whose records carry one
        (:mod:`crmlib.store.codes`): a code the file gives is kept and the day's sequence
        moved past it (a malformed one rejects its row, dropped from ``rows``), the others
        are handed out in row order."""
        table = table_of(self.model)
        if table.name not in PREFIXES:
            return
        letter = PREFIXES[table.name]
        new = [row for row in rows if row not in matches]
        for row in new:
            code = rows[row].get("code")
            if code is not None and parse_code(code, letter) is None:
                example = f"{letter}{self.now:%Y%m%d}001"
                problem = FieldError(
                    "code", code, "code_format", t("bad_record_code", example=example)
                )
                outcome.reject(row, str(problem))
                del rows[row]
        new = [row for row in new if row in rows]
        kept = [rows[row]["code"] for row in new if rows[row].get("code") is not None]
        advance_past(self.conn, kept, letter)
        missing = [row for row in new if rows[row].get("code") is None]
        if missing:
            codes = reserve_codes(self.conn, letter, len(missing))
            for row, code in zip(missing, codes, strict=True):
                rows[row]["code"] = code

    def upsert(
        self,
        rows: dict[int, dict[str, Any]],
        matches: dict[int, dict[str, Any]],
        outcome: Outcome,
        *,
        ref: Mapping[int, str | None] | None = None,
    ) -> dict[int, int]:
        """Insert rows without a match (given codes where the kind has them), update
        matched rows that differ; returns row → id. A matched record keeps its code."""
        self.give_codes(rows, matches, outcome)
        table = table_of(self.model)
        ids: dict[int, int] = {}
        new_rows = [row for row in rows if row not in matches]
        for row, current in matches.items():
            ids[row] = current["id"]
            changes = {
                k: v
                for k, v in rows[row].items()
                if v is not None and k != "code" and differs(current.get(k), v)
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

    def write_custom(
        self,
        clean: pd.DataFrame,
        ids: Mapping[int, int],
        matches: Mapping[int, Mapping[str, Any]],
        outcome: Outcome,
    ) -> None:
        """The custom fields' values of the rows written (a blank cell changes nothing),
        each change audited under the record's customer as its other changes are; a
        matched row whose values change is updated. The same for every kind."""
        fields = custom_fields_of(self.spec)
        columns = [f"{PREFIX}{f.key}" for f in fields if f"{PREFIX}{f.key}" in clean]
        if not columns or not ids:
            return
        given = {
            row: {c.removeprefix(PREFIX): v for c, v in values.items() if v is not None}
            for row, values in records_of(clean.loc[list(ids), columns]).items()
        }
        wanted = {ids[row]: values for row, values in given.items() if values}
        changed = write_values(
            self.conn,
            fields,
            wanted,
            refs=refs(self.conn, self.spec.name, wanted),
            actor=self.actor.username,
            action="import",
            entity=self.spec.name,
            batch_id=self.batch_id,
            skip_empty=True,
        )
        for row in matches:
            if ids.get(row) in changed and outcome.status.get(row) == "unchanged":
                outcome.status[row] = "updated"

    def audit_changes(
        self,
        entity: str,
        entity_id: int,
        ref: str | None,
        current: Mapping[str, Any],
        changes: Mapping[str, Any],
    ) -> None:
        write_events(
            self.conn,
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
