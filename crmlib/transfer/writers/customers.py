"""Customers from a file: checked row by row, new ones written column by column or staged."""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import insert, select, update

from ... import clock
from ...domain.customers.customers import (
    MAX_REASON,
    OVERRIDABLE,
    PERSON_REACH,
    by_hand,
    unreachable_person,
)
from ...domain.customers.duplicates import (
    ALLOWED,
    Candidate,
    customers_by_key,
    find_twins,
    first_keys,
    first_twins,
)
from ...domain.customers.lifecycle import starting_values
from ...domain.customers.values import stored_columns, stored_values
from ...i18n import t
from ...rules.records import CONTACT_FIELDS
from ...rules.tags import split_tags
from ...settings import get_setting
from ...store.codes import (
    advance_past,
    next_customer_codes,
    parse_customer_code,
    reserve_customer_codes,
)
from ...store.models import (
    AuditEvent,
    Contact,
    Customer,
    CustomerTag,
    ImportBatch,
)
from ..bulk import bound_columns, insert_columns, next_id
from ..custom import PREFIX
from ..staging import Staged, copy, load, stage
from .base import (
    Outcome,
    Writer,
    batches,
    bulk_insert,
    differs,
    none_column,
    records_of,
    table_of,
)
from .children import Occurrences

#: The columns a customer row is checked by, in the order ``CustomerWriter.write`` takes them.
_CUSTOMER_KEYS = ("external_id", "code", "kind", "owner")
#: The columns that make a new customer an exact duplicate of another.
_IDENTIFYING = ("kind", "name", "phone", "email")


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
        self.starting = starting_values(self.conn)
        self.hold = self._hold()

    def _hold(self) -> dict[str, Any]:
        """What marks a grade or status of the file as set by hand (see
        :func:`~crmlib.domain.customers.customers.by_hand`), so the refresh keeps what
        people wrote: by the importer, the file and batch as the reason, until
        ``manual_override_days`` from today."""
        name = self.conn.execute(
            select(ImportBatch.file_name).where(ImportBatch.id == self.batch_id)
        ).scalar_one_or_none()
        reason = t("customers:override_imported", file=name, batch=self.batch_id)
        days = int(get_setting(self.conn, "manual_override_days"))
        return {
            "by": self.actor.username,
            "reason": reason[:MAX_REASON],
            "until": clock.today() + timedelta(days=days),
        }

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
        """external_id, else the customer code, else, into a table that started empty and
        unless duplicates are allowed, what makes a new customer an exact duplicate of
        another (a company's folded name and phone, a person's phone, else e-mail: see
        :mod:`crmlib.domain.customers.duplicates`), else nothing. Into a table with
        customers, rows without a key match them by that natural key in turn (see
        :meth:`_natural`), and :meth:`_twins` refuses the new ones that duplicate."""
        nothing = none_column(clean.index)
        external = clean.get("external_id", nothing)
        code = (
            ("code:" + clean["code"]).where(clean["code"].notna(), None)
            if "code" in clean
            else nothing
        )
        key = external.where(external.notna(), code)
        if self.allow_duplicates or not self.started_empty:
            return key
        open_rows = key.isna() & _twin_candidates(clean)
        if not open_rows.any():
            return key
        rows = clean[open_rows]
        blank: list[str | None] = [None] * len(rows)
        kinds, names, phones, emails = (
            rows[name].tolist() if name in rows else blank for name in _IDENTIFYING
        )
        twins = first_keys(kinds, names, phones, emails)
        return key.where(~open_rows, pd.Series(twins, index=rows.index, dtype=object))

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
        if self._looks_for_twins():
            closer |= _twin_candidates(clean)
        return closer

    def _looks_for_twins(self) -> bool:
        """Whether new rows are compared with stored customers: always when duplicates are
        allowed (to audit them); else unless the table started empty, where only this
        file's rows could match, and :meth:`file_key` rejects those as repeats."""
        return self.allow_duplicates or not self.started_empty

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
        natural = self._natural(clean, outcome)
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
        if natural:
            special |= np.isin(np.asarray(all_rows, dtype=np.int64), list(natural))
        fresh_mask = ~special
        for position in np.flatnonzero(special).tolist():
            row, external_id, code, kind, owner = (
                all_rows[position],
                *(cells[position] for cells in columns.values()),
            )
            if outcome.status.get(row) == "rejected":
                continue
            current = by_external.get(external_id) or by_code.get(code) or natural.get(row)
            if current is not None and not self.in_scope(current["owner_id"]):
                outcome.reject(row, t("outside_scope", code=current["code"]))
                continue
            if (
                current is None
                and kind == "person"
                and (
                    unreachable := unreachable_person(
                        kind, {f: cells[position] for f, cells in reach.items()}
                    )
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
        twins: dict[int, tuple[str | None, int, str]] = {}
        if fresh and self._looks_for_twins():
            fresh, twins = self._twins(clean.loc[fresh], outcome)
        rows = {
            row: stored_columns(values)
            for row, values in records_of(clean.loc[list(matches), fields]).items()
        }
        for row in reassigned:
            rows[row]["owner_id"] = owners.get(row)
        for row, values in rows.items():
            for name in OVERRIDABLE:
                if by_hand(values.get(name), matches[row].get(name)):
                    values.update({f"{name}_override_{k}": v for k, v in self.hold.items()})
        refs = {row: matches[row]["code"] for row in rows}
        ids = self.upsert(rows, matches, outcome, ref=refs)
        self.write_contacts(clean.loc[list(ids)], ids, matches, outcome, refs)
        created = self.create(clean.loc[fresh], fields, owners)
        for row in fresh:
            outcome.status[row] = "created"
        ids.update(created)
        self.write_tags(clean, ids, matches)
        self.write_custom(clean, ids, matches, outcome)
        if twins:
            self._audit_twins(twins, created)

    def _natural(self, clean: pd.DataFrame, outcome: Outcome) -> dict[int, dict[str, Any]]:
        """Stored customers that rows naming no external id or code match by their natural
        key: a company's folded name and phone, a person's phone, else e-mail (the key of
        the duplicate check). The k-th row of the file with a key matches the k-th customer
        with it (by code) that the user may see: a customer outside their scope is never
        matched, its row is then a new customer the duplicate check refuses without naming
        it. A rejected row whose reasons are all refused cells is matched by the refused
        values, and the refusals of cells its customer holds already are withdrawn (a
        stored value today's rules would refuse is no change). None into a table that
        started empty, or when duplicates are allowed: those rows are new customers."""
        if self.allow_duplicates or self.started_empty:
            return {}
        keyless = clean.index
        for column in ("external_id", "code"):
            if column in clean:
                keyless = keyless[clean.loc[keyless, column].isna().to_numpy()]
        rows = [row for row in keyless.tolist() if outcome.only_refused(row)]
        if not rows:
            return {}
        values: dict[str, list[Any]] = {
            name: clean.loc[rows, name].tolist() if name in clean else [None] * len(rows)
            for name in _IDENTIFYING
        }
        for position, row in enumerate(rows):
            for name, problem in outcome.refused.get(row, {}).items():
                if name in values and values[name][position] is None:
                    values[name][position] = problem.value
        kinds = [kind or "company" for kind in values["kind"]]
        keys = first_keys(kinds, values["name"], values["phone"], values["email"])
        keyed = [(row, key) for row, key in zip(rows, keys, strict=True) if key is not None]
        occurrences = self.occurrences.count([(key,) for _, key in keyed])
        stored = customers_by_key(self.conn, {key for _, key in keyed})
        chosen: dict[int, int] = {}
        for (row, key), occurrence in zip(keyed, occurrences, strict=True):
            visible = [twin for twin in stored.get(key, ()) if self.in_scope(twin.owner_id)]
            if occurrence < len(visible):
                chosen[row] = visible[occurrence].customer_id
        self.withdraw_held(
            {row: id_ for row, id_ in chosen.items() if outcome.refused.get(row)}, outcome
        )
        found = self.existing("id", chosen.values())
        return {
            row: found[id_] for row, id_ in chosen.items() if outcome.status.get(row) != "rejected"
        }

    @functools.cached_property
    def occurrences(self) -> Occurrences:
        """The natural keys of the rows :meth:`_natural` looked at so far in the file."""
        return Occurrences()

    def _twins(
        self, fresh: pd.DataFrame, outcome: Outcome
    ) -> tuple[list[int], dict[int, tuple[str | None, int, str]]]:
        """New rows that exactly duplicate a stored customer or an earlier new row of the
        chunk: rejected (the reason names the stored customer only when it is in the user's
        scope), or kept when duplicates are allowed. Returns the rows kept and, per kept
        duplicate, (the stored customer's code and id, or None and the earlier row, and by
        what it duplicates)."""
        candidates = _candidates(fresh)
        stored = find_twins(self.conn, candidates)
        earlier = first_twins((row, c) for row, c in candidates.items() if row not in stored)
        kept: list[int] = []
        twins: dict[int, tuple[str | None, int, str]] = {}
        for row in fresh.index.tolist():
            twin = stored.get(row)
            if twin is None and row not in earlier:
                kept.append(row)
            elif self.allow_duplicates:
                kept.append(row)
                twins[row] = (
                    (twin.code, twin.customer_id, twin.what) if twin else (None, *earlier[row])
                )
            elif twin is not None:
                outcome.reject(
                    row, str(twin.problem(self.in_scope(twin.owner_id), candidates[row]))
                )
            else:
                outcome.reject(row, t("repeated_row", row=earlier[row][0]))
        return kept, twins

    def _audit_twins(
        self, twins: Mapping[int, tuple[str | None, int, str]], created: Mapping[int, int]
    ) -> None:
        """One event per duplicate created on purpose, filed under the customer it
        duplicates (a stored one, or the one an earlier row created)."""
        new_ids = [created[row] for row in twins] + [
            created[ref] for code, ref, _ in twins.values() if code is None
        ]
        codes: dict[int, str] = {}
        table = table_of(Customer)
        for batch in batches(new_ids):
            query = select(table.c.id, table.c.code).where(table.c.id.in_(batch))
            codes.update((row.id, row.code) for row in self.conn.execute(query))
        events = []
        for row, (code, ref, what) in twins.items():
            twin_id = ref if code is not None else created[ref]
            events.append(
                {
                    "occurred_at": self.now,
                    "actor": self.actor.username,
                    "action": ALLOWED,
                    "entity": "customers",
                    "entity_id": twin_id,
                    "ref": code if code is not None else codes[twin_id],
                    "field": what,
                    "new_value": codes[created[row]],
                    "batch_id": self.batch_id,
                }
            )
        self.conn.execute(insert(AuditEvent), events)

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
        ids = insert_columns(self.conn, table_of(Customer), columns)
        self.create_contacts(clean, ids)
        return dict(zip(clean.index.tolist(), ids, strict=True))

    def new_customers(
        self, clean: pd.DataFrame, fields: list[str], owners: Mapping[int, int | None]
    ) -> dict[str, Sequence[Any]]:
        """The columns of new customers made from ``clean``, all but their ids and codes;
        a grade or status other than a new customer's is held as set by hand."""
        size = len(clean)
        columns: dict[str, Sequence[Any]] = {
            column: values
            for name in fields
            for column, values in stored_values(name, clean[name].tolist()).items()
        }
        for name in OVERRIDABLE:
            given = columns.get(name)
            held = [] if given is None else list(map(by_hand, given, repeat(self.starting[name])))
            if any(held):
                for part, value in self.hold.items():
                    columns[f"{name}_override_{part}"] = [value if h else None for h in held]
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
        insert_columns(self.conn, table_of(Contact), contacts)

    def stage(self, clean: pd.DataFrame, outcome: Outcome) -> Staged | None:
        """A chunk whose rows not rejected are all new customers as they stand (nothing for
        :meth:`_special` to look at, no tags): their columns as :meth:`create` would insert
        them, and their contact fields (``contact.…``) for :meth:`write_staged`."""
        if self.may_reject(clean).any() or any(
            clean[c].notna().any() for c in clean.columns if c == "tags" or c.startswith(PREFIX)
        ):
            return None
        if not self.started_empty and any(outcome.refused.values()):
            return None  # a row with refused cells may match a customer holding them
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
                **bound_columns(self.conn, table_of(Customer), customers),
                **{
                    f"contact.{name}": values
                    for name, values in bound_columns(
                        self.conn, table_of(Contact), contacts
                    ).items()
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
        first = next_id(self.conn, table_of(Customer))
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
        records = records_of(clean[[*given, "name"] if "name" in clean else given])
        customer_ids = [ids[row] for row in ids]
        primaries: dict[int, dict[str, Any]] = {}
        table = table_of(Contact)
        for batch in batches(customer_ids):
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
            changes = {k: v for k, v in values.items() if differs(current.get(k), v)}
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
        table = table_of(CustomerTag)
        wanted = {
            ids[row]: set(split_tags(text))
            for row, text in clean["tags"].items()
            if row in ids and text
        }
        present: dict[int, set[str]] = {}
        for batch in batches([i for i in wanted if i in {m["id"] for m in matches.values()}]):
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


def _twin_candidates(clean: pd.DataFrame) -> pd.Series:
    """Rows that could exactly duplicate another customer: a company with a name and a
    phone, a person with a phone or an e-mail."""
    nothing = pd.Series(False, index=clean.index)
    phone = clean["phone"].notna() if "phone" in clean else nothing
    person = clean["kind"] == "person" if "kind" in clean else nothing
    named = clean["name"].notna() if "name" in clean else nothing
    mail = clean["email"].notna() if "email" in clean else nothing
    return (~person & named & phone) | (person & (phone | mail))


def _candidates(clean: pd.DataFrame) -> dict[int, Candidate]:
    """Rows as the duplicate check compares them, by row number."""
    nothing = [None] * len(clean)
    kinds, names, phones, emails = (
        clean[name].tolist() if name in clean else nothing for name in _IDENTIFYING
    )
    return {
        row: Candidate(kind or "company", name, phone, email)
        for row, kind, name, phone, email in zip(
            clean.index.tolist(), kinds, names, phones, emails, strict=True
        )
    }


def _customer_fields(clean: pd.DataFrame) -> list[str]:
    """The fields of ``clean`` stored on the customer itself."""
    return [
        c
        for c in clean.columns
        if c not in (*CONTACT_FIELDS, "owner", "tags", "code") and not c.startswith(PREFIX)
    ]
