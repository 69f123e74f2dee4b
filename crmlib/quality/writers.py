"""Writing validated import rows: references resolved, upserted by key, changes audited.

A writer receives a chunk of clean values (one row per file row, indexed by the row number
the user sees) and says, per row, whether it was created, updated, left unchanged or
rejected and why. Rows are matched to existing records by ``external_id`` (or customer
code), else by a natural key, so importing the same file twice changes nothing. A blank
cell never erases a stored value.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Table, func, insert, select, update

from ..access import Actor, Scope
from ..audit import text_of
from ..domain.customers import PERSON_REACH, unreachable_person
from ..domain.lead_rules import LEAD_FLOW, status_errors
from ..domain.sla import SlaClock
from ..domain.stages import CLOSED_STAGES, STAGE_FLOW, stage_field_errors
from ..domain.tickets import import_problem, route
from ..domain.values import stored_columns, stored_values
from ..errors import FieldError, ValidationError
from ..i18n import t
from ..settings import get_setting
from ..store.codes import (
    advance_past,
    next_customer_codes,
    parse_customer_code,
    reserve_customer_codes,
)
from ..store.models import (
    AuditEvent,
    Campaign,
    Contact,
    Customer,
    CustomerTag,
    Lead,
    Opportunity,
    Order,
    StageHistory,
    Ticket,
    TicketEvent,
    User,
)
from .bulk import SuspendedIndexes, bound_columns, insert_columns, next_id
from .kinds import FileKind
from .staging import Staged, copy, load, stage

#: How many keys one IN (...) lookup carries.
LOOKUP_BATCH = 900
TAG_SEPARATORS = re.compile(r"[,，;；、|]+")
CONTACT_FIELDS = {"contact": "name", "title": "title", "phone": "phone", "email": "email"}
#: The columns a customer row is checked by, in the order ``CustomerWriter.write`` takes them.
_CUSTOMER_KEYS = ("external_id", "code", "kind", "owner")
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


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


def _batches(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), LOOKUP_BATCH):
        yield items[start : start + LOOKUP_BATCH]


def _nothing(index: pd.Index) -> pd.Series:
    """A column of None (pandas would make ``Series(None)`` a column of NaN)."""
    return pd.Series([None] * len(index), index=index, dtype=object)


def _cells(column: pd.Series) -> Iterable[tuple[int, Any]]:
    """(row number, value) pairs of a column whose index holds file row numbers."""
    return zip(column.index.tolist(), column.tolist(), strict=True)


def _records(frame: pd.DataFrame) -> dict[int, dict[str, Any]]:
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
    """Insert rows with one multi-row statement.

    On SQLite that is one driver ``executemany``, with values bound by SQLAlchemy's own
    type processors, so dates and amounts are stored exactly as the ORM stores them:
    SQLAlchemy's own executemany path costs more than the insert itself at this size.
    """
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        conn.execute(insert(table), _uniform(rows))
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
    names = ", ".join(f'"{name}"' for name in columns)
    marks = ", ".join("?" * len(columns))
    statement = f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})'
    conn.exec_driver_sql(statement, [tuple(cells) for cells in values])


def _uniform(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with the same keys, as one multi-row INSERT needs (missing values are None)."""
    keys = {key for row in rows for key in row}
    return [{key: row.get(key) for key in keys} for row in rows]


def _differs(old: Any, new: Any) -> bool:
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
    #: the importing process less than a sort at the end would, and it has the time: it
    #: waits for the helper process (see :meth:`stage`) anyway.
    append_columns: tuple[str, ...] = ()
    #: Whether :meth:`stage` may lay out rows in the helper process of a large import.
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
        codes = clean.get("customer_code", _nothing(clean.index))
        externals = clean.get("customer_external_id", _nothing(clean.index))
        table = _table(Customer)
        found: dict[tuple[str, Any], Any] = {}
        for column, keys in (("code", codes), ("external_id", externals)):
            wanted = sorted({k for k in keys if k is not None})
            for batch in _batches(wanted):
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
        rows ``staged`` by a helper process or not."""
        table = _table(self.model)
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
        return _nothing(clean.index)

    def may_reject(self, clean: pd.DataFrame) -> pd.Series:
        """Which rows :meth:`write` may still reject (checks needing the database); only
        their original cells travel on for the rejects file. Any row, by default."""
        return pd.Series(True, index=clean.index)

    def write(self, clean: pd.DataFrame, outcome: Outcome) -> None:
        raise NotImplementedError

    def stage(self, clean: pd.DataFrame, outcome: Outcome) -> Staged | None:
        """In the helper process: the chunk's rows laid out for :meth:`write_staged` (see
        :mod:`crmlib.quality.staging`), or None for :meth:`write` to write them."""
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
        for row, name in _cells(clean["campaign"]):
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
        table = _table(self.model)
        wanted = sorted({k for k in keys if k is not None}, key=str)
        found: dict[Any, dict[str, Any]] = {}
        for batch in _batches(wanted):
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
        table = _table(self.model)
        ids: dict[int, int] = {}
        new_rows = [row for row in rows if row not in matches]
        for row, current in matches.items():
            ids[row] = current["id"]
            changes = {
                k: v for k, v in rows[row].items() if v is not None and _differs(current.get(k), v)
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


class CustomerWriter(Writer):
    model = Customer
    bulk_tables = ("customers", "contacts")
    lookup_columns = ("contacts.customer_id",)
    append_columns = (
        "customers.created_at",
        "customers.last_contact_at",
        "customers.owner_id",
        "customers.industry_division",
        "customers.merged_into_id",
        "customers.archive_flagged_at",
    )
    stages = True

    def start(self, expected_rows: int, *, staged: bool = False) -> None:
        super().start(expected_rows, staged=staged)
        # Read once, here: rows are validated on another thread, which never queries.
        self.required_by_kind: dict[str, list[str]] = dict(
            get_setting(self.conn, "required_fields")
        )

    def required(self, clean: pd.DataFrame) -> dict[str, pd.Series]:
        """Company rows need the handbook's fields; a person a name and one way to reach them."""
        required_by_kind = self.required_by_kind
        kinds = (
            clean["kind"].fillna("company")
            if "kind" in clean
            else pd.Series("company", index=clean.index)
        )
        masks: dict[str, pd.Series] = {}
        for kind, fields in required_by_kind.items():
            for name in fields:
                masks[name] = masks.get(name, pd.Series(False, index=clean.index)) | (kinds == kind)
        return masks

    def file_key(self, clean: pd.DataFrame) -> pd.Series:
        """external_id, else the customer code, else nothing."""
        nothing = _nothing(clean.index)
        external = clean.get("external_id", nothing)
        code = (
            ("code:" + clean["code"]).where(clean["code"].notna(), None)
            if "code" in clean
            else nothing
        )
        return external.where(external.notna(), code)

    def may_reject(self, clean: pd.DataFrame) -> pd.Series:
        """The rows :meth:`_special` looks at closely: a person, a code or an owner given,
        an external id that may exist already; all of them when the importer may not own
        the new customers, which would be theirs."""
        me = self.users.get(self.actor.username)
        if me is None or not self.may_own(me.id):
            return pd.Series(True, index=clean.index)
        given = [c for c in ("code", "owner") if c in clean]
        if not self.started_empty and "external_id" in clean:
            given.append("external_id")
        closer = clean[given].notna().any(axis=1)
        if "kind" in clean:
            closer |= clean["kind"] == "person"
        return closer

    def write(self, clean: pd.DataFrame, outcome: Outcome) -> None:
        """Rows are checked one by one, but new customers, the bulk of a large import, are
        built and inserted column by column."""
        owners = self.user_ids(clean, "owner", outcome, default=True)
        # Into a table that was empty, only this import's rows can match an external id,
        # and a row whose external id an earlier row had is rejected as a repeat.
        by_external = (
            {} if self.started_empty else self.existing("external_id", clean.get("external_id", []))
        )
        by_code = self.existing("code", clean.get("code", []))
        fields = _customer_fields(clean)
        matches: dict[int, dict[str, Any]] = {}
        reassigned: set[int] = set()
        nothing = [None] * len(clean)
        reach = {f: clean[f].tolist() if f in clean else nothing for f in PERSON_REACH}
        columns = {n: clean[n].tolist() if n in clean else nothing for n in _CUSTOMER_KEYS}
        all_rows = clean.index.tolist()
        owner_ids = list(map(owners.get, all_rows))
        allowed = {owner_id: self.may_own(owner_id) for owner_id in set(owner_ids)}
        special = self._special(all_rows, columns, by_external, owner_ids, allowed, outcome)
        fresh_mask = ~special
        for position in np.flatnonzero(special).tolist():
            row, external_id, code, kind, owner = (
                all_rows[position],
                *(cells[position] for cells in columns.values()),
            )
            if outcome.status.get(row) == "rejected":
                continue
            current = by_external.get(external_id) or by_code.get(code)
            if current is not None and not self.in_scope(current["owner_id"]):
                outcome.reject(row, t("outside_scope", code=current["code"]))
                continue
            if kind == "person" and (
                unreachable := unreachable_person(
                    kind, {f: cells[position] for f, cells in reach.items()}
                )
            ):
                outcome.reject(row, str(unreachable))
                continue
            if current is None and code is not None and parse_customer_code(code) is None:
                outcome.reject(row, f"code={code!r}: {t('bad_code')} [code_format]")
                continue
            if (
                current is not None
                and None not in (external_id, current["external_id"])
                and (current["external_id"] != external_id)
            ):
                outcome.reject(
                    row, f"code={code!r}: {t('code_taken', other=current['external_id'])}"
                )
                continue
            owner_id = owner_ids[position]
            if (current is None or owner is not None) and not allowed[owner_id]:
                outcome.reject(row, f"owner={owner!r}: {t('may_not_assign')}")
                continue
            if current is None:
                fresh_mask[position] = True
                continue
            matches[row] = current
            if owner is not None:
                reassigned.add(row)
        fresh = np.asarray(all_rows, dtype=np.int64)[fresh_mask].tolist()
        rows = {
            row: stored_columns(values)
            for row, values in _records(clean.loc[list(matches), fields]).items()
        }
        for row in reassigned:
            rows[row]["owner_id"] = owners.get(row)
        refs = {row: matches[row]["code"] for row in rows}
        ids = self.upsert(rows, matches, outcome, ref=refs)
        self.write_contacts(clean.loc[list(ids)], ids, matches, outcome, refs)
        created = self.create(clean.loc[fresh], fields, owners)
        for row in fresh:
            outcome.status[row] = "created"
        ids.update(created)
        self.write_tags(clean, ids, matches)

    @staticmethod
    def _special(
        rows: list[int],
        columns: Mapping[str, list[Any]],
        by_external: Mapping[Any, Any],
        owner_ids: list[int | None],
        allowed: Mapping[int | None, bool],
        outcome: Outcome,
    ) -> np.ndarray:
        """Rows that need a closer look: rejected already, a person, a code given, an
        existing external id, an owner the importer may not assign. The others (nearly
        every row of a large import) are new customers as they stand."""
        size = len(rows)

        def mask(found: Iterable[bool]) -> np.ndarray:
            return np.fromiter(found, dtype=bool, count=size)

        special = mask(map(operator.eq, columns["kind"], repeat("person")))
        special |= mask(map(operator.is_not, columns["code"], repeat(None)))
        rejected = [row for row, status in outcome.status.items() if status == "rejected"]
        if rejected:
            special |= np.isin(np.asarray(rows, dtype=np.int64), rejected)
        if by_external:
            special |= mask(map(by_external.__contains__, columns["external_id"]))
        refused = {owner_id for owner_id, ok in allowed.items() if not ok}
        if refused:
            special |= mask(map(refused.__contains__, owner_ids))
        return special

    def create(
        self, clean: pd.DataFrame, fields: list[str], owners: Mapping[int, int | None]
    ) -> dict[int, int]:
        """New customers and their primary contacts; returns row → customer id."""
        size = len(clean)
        if not size:
            return {}
        columns = self.new_customers(clean, fields, owners)
        columns["code"] = self.new_codes(
            clean["code"].tolist() if "code" in clean else [None] * size
        )
        ids = insert_columns(self.conn, _table(Customer), columns)
        self.create_contacts(clean, ids)
        return dict(zip(clean.index.tolist(), ids, strict=True))

    def new_customers(
        self, clean: pd.DataFrame, fields: list[str], owners: Mapping[int, int | None]
    ) -> dict[str, Sequence[Any]]:
        """The columns of new customers made from ``clean``, all but their ids and codes."""
        size = len(clean)
        columns: dict[str, Sequence[Any]] = {
            column: values
            for name in fields
            for column, values in stored_values(name, clean[name].tolist()).items()
        }
        columns["kind"] = [kind or "company" for kind in columns.get("kind", [None] * size)]
        columns["status"] = [s or "potential" for s in columns.get("status", [None] * size)]
        columns["owner_id"] = list(map(owners.get, clean.index.tolist()))
        columns["created_at"] = columns["updated_at"] = [self.now] * size
        return columns

    def create_contacts(self, clean: pd.DataFrame, customer_ids: list[int]) -> None:
        """The primary contact of each new customer whose row gives any contact field; it
        is named after the customer when the row names no contact."""
        given = [c for c in CONTACT_FIELDS if c in clean]
        if not given:
            return
        wanted = np.flatnonzero(clean[given].notna().any(axis=1).to_numpy())
        rows = clean.iloc[wanted]
        contacts = {CONTACT_FIELDS[c]: rows[c].tolist() for c in given}
        names = rows["name"].tolist() if "name" in rows else [None] * len(rows)
        contacts["name"] = [
            contact if contact is not None else (name or "")
            for contact, name in zip(contacts.get("name", [None] * len(rows)), names, strict=True)
        ]
        contacts["customer_id"] = [customer_ids[i] for i in wanted.tolist()]
        contacts["is_primary"] = [True] * len(wanted)
        contacts["created_at"] = contacts["updated_at"] = [self.now] * len(wanted)
        insert_columns(self.conn, _table(Contact), contacts)

    def stage(self, clean: pd.DataFrame, outcome: Outcome) -> Staged | None:
        """A chunk whose rows not rejected are all new customers as they stand (nothing for
        :meth:`_special` to look at, no tags): their columns as :meth:`create` would insert
        them, and their contact fields (``contact.…``) for :meth:`write_staged`."""
        if self.may_reject(clean).any() or ("tags" in clean and clean["tags"].notna().any()):
            return None
        rejected = [row for row, status in outcome.status.items() if status == "rejected"]
        fresh = clean[~clean.index.isin(rejected)] if rejected else clean
        if fresh.empty:
            return None
        owners = self.user_ids(fresh, "owner", outcome, default=True)
        customers = self.new_customers(fresh, _customer_fields(fresh), owners)
        size = len(fresh)
        contacts: dict[str, Sequence[Any]] = {
            CONTACT_FIELDS[c]: fresh[c].tolist() for c in CONTACT_FIELDS if c in fresh
        }
        contacts["is_primary"] = [True] * size
        contacts["created_at"] = contacts["updated_at"] = [self.now] * size
        return stage(
            {
                **bound_columns(self.conn, _table(Customer), customers),
                **{
                    f"contact.{name}": values
                    for name, values in bound_columns(self.conn, _table(Contact), contacts).items()
                },
            },
            fresh.index.tolist(),
        )

    def write_staged(self, staged: Staged, outcome: Outcome) -> None:
        """The staged new customers, with ids and codes handed out here in row order, and
        the primary contact of each one whose row gives any contact field (named after the
        customer when it names none), as :meth:`create` and :meth:`create_contacts` write
        them."""
        load(self.conn, staged)
        first = next_id(self.conn, _table(Customer))
        codes = reserve_customer_codes(self.conn, len(staged))
        customer_id = f"{first - 1} + rowid"
        customers = {c: staged.sql(c) for c in staged.names if not c.startswith("contact.")}
        customers.update(id=customer_id, code=codes.sqlite_expression("rowid - 1"))
        copy(self.conn, "customers", customers)
        given = [f"contact.{f}" for f in CONTACT_FIELDS.values() if f"contact.{f}" in staged]
        if given:
            contacts = {
                c.removeprefix("contact."): staged.sql(c)
                for c in staged.names
                if c.startswith("contact.")
            }
            named = [staged.sql(c) for c in ("contact.name", "name") if c in staged]
            contacts["name"] = "coalesce({}, '')".format(", ".join(named)) if named else "''"
            contacts["customer_id"] = customer_id
            anything = " OR ".join(f"{staged.sql(c)} IS NOT NULL" for c in given)
            copy(self.conn, "contacts", contacts, anything)
        outcome.status.update(zip(staged.rows, repeat("created")))

    def new_codes(self, given: list[str | None]) -> Sequence[str]:
        """Codes for new customers: a code given in the file is kept (and the day's sequence
        moved past it), the others are handed out in row order."""
        kept = [code for code in given if code is not None]
        if not kept:
            return reserve_customer_codes(self.conn, len(given))
        advance_past(self.conn, kept)
        missing = len(given) - len(kept)
        generated = iter(next_customer_codes(self.conn, missing) if missing else [])
        return [code if code is not None else next(generated) for code in given]

    def write_contacts(
        self,
        clean: pd.DataFrame,
        ids: dict[int, int],
        matches: dict[int, dict[str, Any]],
        outcome: Outcome,
        refs: Mapping[int, str | None],
    ) -> None:
        given = [c for c in CONTACT_FIELDS if c in clean]
        if not given:
            return
        records = _records(clean[[*given, "name"] if "name" in clean else given])
        customer_ids = [ids[row] for row in ids]
        primaries: dict[int, dict[str, Any]] = {}
        table = _table(Contact)
        for batch in _batches(customer_ids):
            query = select(table).where(
                table.c.customer_id.in_(batch), table.c.is_primary.is_(True)
            )
            for contact in self.conn.execute(query).mappings():
                primaries[contact["customer_id"]] = dict(contact)
        inserts = []
        for row, customer_id in ids.items():
            values = {CONTACT_FIELDS[c]: records[row][c] for c in given}
            values = {k: v for k, v in values.items() if v is not None}
            if not values:
                continue
            current = primaries.get(customer_id)
            if current is None:
                values.setdefault("name", records[row].get("name") or "")
                inserts.append(
                    {
                        "customer_id": customer_id,
                        "is_primary": True,
                        "created_at": self.now,
                        "updated_at": self.now,
                        **values,
                    }
                )
                if row in matches and outcome.status[row] == "unchanged":
                    outcome.status[row] = "updated"
                continue
            changes = {k: v for k, v in values.items() if _differs(current.get(k), v)}
            if changes:
                self.conn.execute(
                    update(table).where(table.c.id == current["id"]).values(**changes)
                )
                self.audit_changes("contacts", current["id"], refs.get(row), current, changes)
                outcome.status[row] = "updated" if row in matches else outcome.status[row]
        bulk_insert(self.conn, table, inserts)

    def write_tags(
        self, clean: pd.DataFrame, ids: dict[int, int], matches: dict[int, dict[str, Any]]
    ) -> None:
        if "tags" not in clean:
            return
        table = _table(CustomerTag)
        wanted = {
            ids[row]: {tag for tag in TAG_SEPARATORS.split(text) if tag.strip()}
            for row, text in clean["tags"].items()
            if row in ids and text
        }
        present: dict[int, set[str]] = {}
        for batch in _batches([i for i in wanted if i in {m["id"] for m in matches.values()}]):
            for customer_id, tag in self.conn.execute(
                select(table.c.customer_id, table.c.tag).where(table.c.customer_id.in_(batch))
            ):
                present.setdefault(customer_id, set()).add(tag)
        rows = [
            {"customer_id": customer_id, "tag": tag.strip()}
            for customer_id, tags in wanted.items()
            for tag in sorted(tags)
            if tag.strip() not in present.get(customer_id, set())
        ]
        bulk_insert(self.conn, table, rows)


def _customer_fields(clean: pd.DataFrame) -> list[str]:
    """The fields of ``clean`` stored on the customer itself."""
    return [c for c in clean.columns if c not in (*CONTACT_FIELDS, "owner", "tags", "code")]


class ChildWriter(Writer):
    """Records that name their customer by customer_code or customer_external_id."""

    def write(self, clean: pd.DataFrame, outcome: Outcome) -> None:
        customers = self.customer_ids(clean, outcome)
        extra = self.references(clean, outcome)
        rows: dict[int, dict[str, Any]] = {}
        for row, values in _records(clean).items():
            if outcome.status.get(row) == "rejected" or row not in customers:
                continue
            stored = stored_columns(
                {k: v for k, v in values.items() if k in self.stored_fields(clean)}
            )
            stored.update({k: v[row] for k, v in extra.items() if row in v})
            stored["customer_id"] = customers[row]
            rows[row] = stored
        matches = self.matches(rows, outcome)
        self.admit(rows, matches, outcome)
        for row in rows:
            if row not in matches:
                self.complete(rows[row])
        ids = self.upsert(rows, matches, outcome)
        self.after_insert({row: ids[row] for row in rows if row not in matches}, rows)

    def stored_fields(self, clean: pd.DataFrame) -> set[str]:
        skip = {"customer_code", "customer_external_id", "owner", "assignee", "campaign"}
        return {c for c in clean.columns if c not in skip}

    def references(self, clean: pd.DataFrame, outcome: Outcome) -> dict[str, dict[int, Any]]:
        return {}

    def admit(
        self, rows: dict[int, dict[str, Any]], matches: dict[int, dict[str, Any]], outcome: Outcome
    ) -> None:
        """Rules that need the stored record as well as the row: a row they refuse is
        rejected and dropped from ``rows`` and ``matches`` (default: none)."""

    def complete(self, stored: dict[str, Any]) -> None:
        """Defaults for a new record."""
        for column in ("created_at", "updated_at"):
            if column in _table(self.model).c:
                stored.setdefault(column, self.now)

    def after_insert(self, created: dict[int, int], rows: dict[int, dict[str, Any]]) -> None:
        """Rows that hang under a newly created record (stage history)."""

    def matches(
        self, rows: dict[int, dict[str, Any]], outcome: Outcome
    ) -> dict[int, dict[str, Any]]:
        """Existing records the user may change: by external_id when given, else by the
        natural key. A row matching a record under a customer out of scope is rejected
        and dropped from ``rows``: it must neither move nor change that record."""
        found = self.candidates(rows)
        customers = _table(Customer)
        owners: dict[int, int | None] = {}
        for batch in _batches(sorted({m["customer_id"] for m in found.values()})):
            query = select(customers.c.id, customers.c.owner_id).where(customers.c.id.in_(batch))
            owners.update((id_, owner) for id_, owner in self.conn.execute(query))
        matches: dict[int, dict[str, Any]] = {}
        for row, current in found.items():
            if self.in_scope(owners.get(current["customer_id"])):
                matches[row] = current
                continue
            given = rows.pop(row)
            column = "external_id" if given.get("external_id") else self.natural_key[0]
            self.refuse_foreign(outcome, row, column, given.get(column))
        return matches

    def candidates(self, rows: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
        """Stored records the rows name, in or out of scope: by external_id when given,
        else by the natural key under the row's customer."""
        table = _table(self.model)
        matches: dict[int, dict[str, Any]] = {}
        if "external_id" in table.c:
            by_external = self.existing(
                "external_id", [r.get("external_id") for r in rows.values()]
            )
            matches.update(
                {
                    row: by_external[v["external_id"]]
                    for row, v in rows.items()
                    if v.get("external_id") in by_external
                }
            )
        rest = {
            row: v for row, v in rows.items() if row not in matches and not v.get("external_id")
        }
        if rest and self.natural_key:
            by_customer: dict[int, list[dict[str, Any]]] = {}
            for batch in _batches(sorted({v["customer_id"] for v in rest.values()})):
                for found in self.conn.execute(
                    select(table).where(table.c.customer_id.in_(batch))
                ).mappings():
                    by_customer.setdefault(found["customer_id"], []).append(dict(found))
            for row, values in rest.items():
                key = [text_of(values.get(k)) for k in self.natural_key]
                for candidate in by_customer.get(values["customer_id"], []):
                    if [text_of(candidate.get(k)) for k in self.natural_key] == key:
                        matches[row] = candidate
                        break
        return matches


class ContactWriter(ChildWriter):
    model = Contact
    natural_key = ("name", "phone", "email")

    def complete(self, stored: dict[str, Any]) -> None:
        super().complete(stored)
        stored["is_primary"] = bool(stored.get("is_primary"))


class OrderWriter(ChildWriter):
    model = Order
    natural_key = ("ordered_at", "amount", "product")

    def references(self, clean: pd.DataFrame, outcome: Outcome) -> dict[str, dict[int, Any]]:
        return {"campaign_id": self.campaign_ids(clean, outcome)}


class OpportunityWriter(ChildWriter):
    model = Opportunity
    natural_key = ("name",)

    def references(self, clean: pd.DataFrame, outcome: Outcome) -> dict[str, dict[int, Any]]:
        owners = self.user_ids(clean, "owner", outcome, default=True)
        return {"owner_id": owners, "campaign_id": self.campaign_ids(clean, outcome)}

    def write(self, clean: pd.DataFrame, outcome: Outcome) -> None:
        self.moves: dict[int, str] = {}
        self.probabilities: dict[str, float] = get_setting(self.conn, "stage_probability")
        super().write(clean, outcome)
        self.record_moves()

    def admit(
        self, rows: dict[int, dict[str, Any]], matches: dict[int, dict[str, Any]], outcome: Outcome
    ) -> None:
        """The stage rules of :mod:`crmlib.domain.stages`, as the API applies them: the move
        from the stored stage is allowed, and the stage has its fields (stored or given)."""
        for row in list(rows):
            values, current = rows[row], matches.get(row)
            stored = current or {}
            target = values.get("stage") or stored.get("stage") or "contact"
            problems: list[FieldError] = []
            if current is not None:
                try:
                    STAGE_FLOW.check(current["stage"], target)
                except ValidationError as refused:
                    problems += refused.errors
            given = {k: v for k, v in values.items() if v is not None}
            problems += stage_field_errors(target, {**stored, **given})
            if problems:
                for problem in problems:
                    outcome.reject(row, str(problem))
                rows.pop(row)
                matches.pop(row, None)
            elif current is not None and target != current["stage"]:
                values["probability"] = self.probabilities.get(target)
                if target in CLOSED_STAGES:
                    values["closed_at"] = self.now
                self.moves[current["id"]] = target

    def record_moves(self) -> None:
        """Stage history for imported stage changes: close the open row, open the next."""
        if not self.moves:
            return
        history = _table(StageHistory)
        for batch in _batches(sorted(self.moves)):
            self.conn.execute(
                update(history)
                .where(history.c.opportunity_id.in_(batch), history.c.left_at.is_(None))
                .values(left_at=self.now)
            )
        self.conn.execute(
            insert(history),
            [
                {"opportunity_id": opp_id, "stage": stage, "entered_at": self.now}
                for opp_id, stage in self.moves.items()
            ],
        )

    def complete(self, stored: dict[str, Any]) -> None:
        super().complete(stored)
        stored["stage"] = stored.get("stage") or "contact"
        stored.setdefault("probability", self.probabilities.get(stored["stage"]))
        if stored["stage"] in ("won", "lost"):
            stored.setdefault("closed_at", self.now)

    def after_insert(self, created: dict[int, int], rows: dict[int, dict[str, Any]]) -> None:
        if created:
            self.conn.execute(
                insert(StageHistory),
                [
                    {"opportunity_id": opp_id, "stage": rows[row]["stage"], "entered_at": self.now}
                    for row, opp_id in created.items()
                ],
            )


class TicketWriter(ChildWriter):
    model = Ticket
    natural_key = ("subject", "opened_at")

    def references(self, clean: pd.DataFrame, outcome: Outcome) -> dict[str, dict[int, Any]]:
        return {"assignee_id": self.user_ids(clean, "assignee", outcome, default=False)}

    def complete(self, stored: dict[str, Any]) -> None:
        """Status open, opened now, routed and given SLA due times as the API does."""
        super().complete(stored)
        stored["status"] = stored.get("status") or "open"
        stored["opened_at"] = stored.get("opened_at") or self.now
        stored["team"] = stored.get("team") or route(self.service["routing"], stored["type"])
        stored["first_response_due"], stored["resolution_due"] = self.service["sla"].due(
            pd.Timestamp(stored["opened_at"]).to_pydatetime(), stored["priority"]
        )

    def write(self, clean: pd.DataFrame, outcome: Outcome) -> None:
        """A status that is not one of the statuses rejects its row: guessing "open" for a
        ticket that was closed elsewhere would restart its SLA clocks."""
        for row, problem in [w for w in outcome.warnings if w[1].field == "status"]:
            outcome.warnings.remove((row, problem))
            outcome.reject(row, str(problem))
        super().write(clean, outcome)

    @functools.cached_property
    def service(self) -> dict[str, Any]:
        return {
            "sla": SlaClock.load(self.conn),
            "routing": get_setting(self.conn, "ticket_routing"),
        }

    def upsert(
        self,
        rows: dict[int, dict[str, Any]],
        matches: dict[int, dict[str, Any]],
        outcome: Outcome,
        *,
        ref: Mapping[int, str | None] | None = None,
    ) -> dict[int, int]:
        """Rows that break the status flow or the resolution rule are rejected; a changed
        priority or opening time moves the due times; status changes become events."""
        for row in list(rows):
            current, values = matches.get(row, {}), rows[row]
            for key, value in values.items():  # pandas times, as the drivers take them
                if isinstance(value, pd.Timestamp) or value is pd.NaT:
                    values[key] = None if pd.isna(value) else value.to_pydatetime()
            problem = import_problem(current, values)
            if problem is not None:
                outcome.reject(row, str(problem))
                del rows[row]
                matches.pop(row, None)
            elif current and any(
                values.get(k) is not None and _differs(current[k], values[k])
                for k in ("priority", "opened_at")
            ):
                values["first_response_due"], values["resolution_due"] = self.service["sla"].due(
                    pd.Timestamp(values.get("opened_at") or current["opened_at"]).to_pydatetime(),
                    values.get("priority") or current["priority"],
                )
        ids = super().upsert(rows, matches, outcome, ref=ref)
        moves = [
            {
                "ticket_id": ids[row],
                "kind": "status",
                "from_value": current["status"],
                "to_value": rows[row]["status"],
                "note": "import",
                "actor_id": self.actor.id,
                "occurred_at": self.now,
            }
            for row, current in matches.items()
            if rows[row].get("status") not in (None, current["status"])
        ]
        bulk_insert(self.conn, _table(TicketEvent), moves)
        return ids


class LeadWriter(Writer):
    model = Lead
    natural_key = ("name", "phone", "company")

    def write(self, clean: pd.DataFrame, outcome: Outcome) -> None:
        owners = self.user_ids(clean, "owner", outcome, default=True)
        campaigns = self.campaign_ids(clean, outcome)
        customers = self.customer_ids(clean, outcome, required=False)
        by_external = self.existing("external_id", clean.get("external_id", []))
        rows: dict[int, dict[str, Any]] = {}
        matches: dict[int, dict[str, Any]] = {}
        for row, values in _records(clean).items():
            if outcome.status.get(row) == "rejected":
                continue
            current = by_external.get(values.get("external_id"))
            if current is not None and not self.in_scope(current["owner_id"]):
                self.refuse_foreign(outcome, row, "external_id", values["external_id"])
                continue
            references = ("owner", "campaign", "customer_code", "customer_external_id")
            stored = stored_columns({str(k): v for k, v in values.items() if k not in references})
            if values.get("owner") is not None or values.get("external_id") not in by_external:
                stored["owner_id"] = owners.get(row)
            if row in campaigns:
                stored["campaign_id"] = campaigns[row]
            if row in customers:
                stored["customer_id"] = customers[row]
                stored["converted_at"] = stored.get("converted_at") or self.now
            owner = self.users_by_id.get(stored.get("owner_id"))
            if owner is not None and (current is None or current["owner_id"] != owner.id):
                stored["team"], stored["assigned_at"] = owner.team, self.now
            before = current or {}
            broken = status_errors(
                stored.get("status") or before.get("status") or "new",
                stored.get("invalid_reason") or before.get("invalid_reason"),
                stored.get("customer_id") or before.get("customer_id"),
            )
            if current is not None and stored.get("status"):
                try:  # an existing lead moves only as the status flow allows
                    LEAD_FLOW.check(current["status"], stored["status"])
                except ValidationError as refused:
                    broken += refused.errors
            if broken:
                for error in broken:
                    outcome.reject(row, str(error))
                continue
            if current is not None:
                matches[row] = current
            else:
                stored["status"] = stored.get("status") or "new"
                stored["created_at"] = stored["updated_at"] = self.now
            rows[row] = stored
        self.upsert(rows, matches, outcome)


WRITERS: dict[str, type[Writer]] = {
    "customers": CustomerWriter,
    "contacts": ContactWriter,
    "leads": LeadWriter,
    "opportunities": OpportunityWriter,
    "orders": OrderWriter,
    "tickets": TicketWriter,
}
