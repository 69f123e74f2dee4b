"""Records under a customer (contacts, orders, opportunities, tickets), named by its code
or external id."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import insert, select, update

from ...audit import text_of
from ...domain.customers.values import stored_columns
from ...domain.sales.stages import CLOSED_STAGES, STAGE_FLOW, stage_field_errors
from ...domain.service.sla import SlaClock
from ...domain.service.tickets import import_problem, route
from ...errors import FieldError, ValidationError
from ...settings import get_setting
from ...store.models import (
    Contact,
    Customer,
    Opportunity,
    Order,
    StageHistory,
    Ticket,
    TicketEvent,
)
from ..custom import PREFIX
from .base import (
    Outcome,
    Writer,
    batches,
    bulk_insert,
    differs,
    records_of,
    table_of,
    unchanged,
)


class ChildWriter(Writer):
    """Records that name their customer by customer_code or customer_external_id."""

    def write(self, clean: pd.DataFrame, outcome: Outcome) -> None:
        customers = self.customer_ids(clean, outcome)
        extra = self.references(clean, outcome)
        rows: dict[int, dict[str, Any]] = {}
        for row, values in records_of(clean).items():
            if row not in customers or not outcome.only_refused(row):
                continue
            stored = stored_columns(
                {k: v for k, v in values.items() if k in self.stored_fields(clean)}
            )
            stored.update({k: v[row] for k, v in extra.items() if row in v})
            stored["customer_id"] = customers[row]
            rows[row] = stored
        refused = self.refused_keys(rows, outcome)
        matches = self.matches(rows, outcome)
        self.settle_refused(rows, matches, refused, outcome)
        self.admit(rows, matches, outcome)
        for row in rows:
            if row not in matches:
                self.complete(rows[row])
        ids = self.upsert(rows, matches, outcome)
        self.after_insert({row: ids[row] for row in rows if row not in matches}, rows)
        self.write_custom(clean, ids, matches, outcome)

    def refused_keys(
        self, rows: dict[int, dict[str, Any]], outcome: Outcome
    ) -> dict[int, list[str]]:
        """Natural-key cells the field rules refused (their rows rejected), put back for
        matching only, in rows naming no code or external id: a record stored before
        today's rules is found by the value it holds (see :meth:`settle_refused`)."""
        put: dict[int, list[str]] = {}
        for row, values in rows.items():
            cells = outcome.refused.get(row)
            if not cells or values.get("code") or values.get("external_id"):
                continue
            for name in self.natural_key:
                if name in cells and values.get(name) is None:
                    values[name] = cells[name].value
                    put.setdefault(row, []).append(name)
        return put

    def settle_refused(
        self,
        rows: dict[int, dict[str, Any]],
        matches: dict[int, dict[str, Any]],
        put: dict[int, list[str]],
        outcome: Outcome,
    ) -> None:
        """The cells :meth:`refused_keys` put back are blank again (a refused value is
        never stored); a refused cell that holds what its matched record holds is no
        change, and its rejection is withdrawn. Rows still rejected leave ``rows`` and
        ``matches``."""
        for row in list(rows):
            current = matches.get(row, {})
            for name, problem in list(outcome.refused.get(row, {}).items()):
                if name in current and not differs(current[name], problem.value):
                    outcome.withdraw(row, name)
            for name in put.get(row, ()):
                rows[row][name] = None
            if outcome.status.get(row) == "rejected":
                del rows[row]
                matches.pop(row, None)

    def stored_fields(self, clean: pd.DataFrame) -> set[str]:
        skip = {"customer_code", "customer_external_id", "owner", "assignee", "campaign"}
        return {c for c in clean.columns if c not in skip and not c.startswith(PREFIX)}

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
            if column in table_of(self.model).c:
                stored.setdefault(column, self.now)

    def after_insert(self, created: dict[int, int], rows: dict[int, dict[str, Any]]) -> None:
        """Rows that hang under a newly created record (stage history)."""

    def matches(
        self, rows: dict[int, dict[str, Any]], outcome: Outcome
    ) -> dict[int, dict[str, Any]]:
        """Existing records the user may change: by code or external_id when given, else
        by the natural key. A row matching a record under a customer out of scope is rejected
        and dropped from ``rows``: it must neither move nor change that record."""
        found = self.candidates(rows)
        customers = table_of(Customer)
        owners: dict[int, int | None] = {}
        for batch in batches(sorted({m["customer_id"] for m in found.values()})):
            query = select(customers.c.id, customers.c.owner_id).where(customers.c.id.in_(batch))
            owners.update((id_, owner) for id_, owner in self.conn.execute(query))
        matches: dict[int, dict[str, Any]] = {}
        for row, current in found.items():
            if self.in_scope(owners.get(current["customer_id"])):
                matches[row] = current
                continue
            given = rows.pop(row)
            column = next((k for k in ("code", "external_id") if given.get(k)), self.natural_key[0])
            self.refuse_foreign(outcome, row, column, given.get(column))
        return matches

    def candidates(self, rows: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
        """Stored records the rows name, in or out of scope: by code, else external_id,
        when given, else by the natural key under the row's customer."""
        table = table_of(self.model)
        matches: dict[int, dict[str, Any]] = {}
        keys = [k for k in ("code", "external_id") if k in table.c]
        for key in keys:  # the record's code first, then its external id
            found = self.existing(key, [r.get(key) for r in rows.values()])
            matches.update(
                {
                    row: found[v[key]]
                    for row, v in rows.items()
                    if row not in matches and v.get(key) in found
                }
            )
        rest = {
            row: v
            for row, v in rows.items()
            if row not in matches and not any(v.get(k) for k in keys)
        }
        if rest and self.natural_key:
            stored: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
            for batch in batches(sorted({v["customer_id"] for v in rest.values()})):
                query = select(table).where(table.c.customer_id.in_(batch)).order_by(table.c.id)
                for record in map(dict, self.conn.execute(query).mappings()):
                    stored.setdefault(self.identity(record), []).append(record)
            identities = [self.identity(values) for values in rest.values()]
            occurrences = self.occurrences.count(identities)
            for row, identity, occurrence in zip(rest, identities, occurrences, strict=True):
                alike = stored.get(identity, ())
                if occurrence < len(alike):
                    matches[row] = alike[occurrence]
        return matches

    def identity(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        """What a row without a key has in common with the records it may match: its
        customer and the values of the natural key, as the audit log writes them."""
        return (values["customer_id"], *(text_of(values.get(k)) for k in self.natural_key))

    @functools.cached_property
    def occurrences(self) -> Occurrences:
        """The identities of the rows without a key so far, counted over the whole file."""
        return Occurrences()


class Occurrences:
    """How many rows of a file so far had each identity (:meth:`ChildWriter.identity`),
    for matching by occurrence: the k-th row with an identity matches the k-th stored
    record with it, in the order they were stored, and a row past the last is a new
    record. So identical rows are separate records (two purchases of one item on one
    day), each found again when the file is imported again, and two deals of a customer
    with one name never trade values.

    Counted over the whole file, not a chunk: a record created for an earlier chunk's
    row is stored by the time a later identical row looks. Identities are kept as 64-bit
    hashes with their counts, in sorted arrays: 16 bytes an identity. Two identities
    sharing a hash (a chance of about 1 in 30 million at a million rows) would share a
    count, and a row of the later one would be matched as a later occurrence than it is.
    """

    def __init__(self) -> None:
        self.hashes = np.empty(0, dtype=np.int64)
        self.counts = np.empty(0, dtype=np.int64)

    def count(self, identities: list[tuple[Any, ...]]) -> list[int]:
        """The occurrence of each identity, in order (0 for the first row that had it in
        the file), counting these rows for the next call."""
        size = len(identities)
        if not size:
            return []
        hashes = np.fromiter(map(hash, identities), dtype=np.int64, count=size)
        order = np.argsort(hashes, kind="stable")  # a stable sort keeps the file's order
        ordered = hashes[order]
        starts = np.ones(size, dtype=bool)
        starts[1:] = ordered[1:] != ordered[:-1]
        positions = np.arange(size)
        within = positions - np.maximum.accumulate(np.where(starts, positions, 0))
        at = np.searchsorted(self.hashes, ordered)
        known = at < len(self.hashes)
        known[known] = self.hashes[at[known]] == ordered[known]
        before = np.zeros(size, dtype=np.int64)
        before[known] = self.counts[at[known]]
        found = np.empty(size, dtype=np.int64)
        found[order] = before + within
        last = np.append(starts[1:], True)  # each identity's last row here
        totals = (before + within + 1)[last]
        seen, at = known[last], at[last]
        self.counts[at[seen]] = totals[seen]
        self.hashes = np.insert(self.hashes, at[~seen], ordered[last][~seen])
        self.counts = np.insert(self.counts, at[~seen], totals[~seen])
        return found.tolist()


class ContactWriter(ChildWriter):
    model = Contact
    natural_key = ("name", "phone", "email")

    def complete(self, stored: dict[str, Any]) -> None:
        super().complete(stored)
        stored["is_primary"] = bool(stored.get("is_primary"))


class OrderWriter(ChildWriter):
    model = Order
    natural_key = ("ordered_at", "amount", "product")
    transactional = True

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
        """The stage rules of :mod:`crmlib.domain.sales.stages`, as the API applies them: the move
        from the stored stage is allowed, and the stage has its fields (stored or given)."""
        for row in list(rows):
            values, current = rows[row], matches.get(row)
            if unchanged(values, current):
                continue
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
        history = table_of(StageHistory)
        for batch in batches(sorted(self.moves)):
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
            problem = None if unchanged(values, current) else import_problem(current, values)
            if problem is not None:
                outcome.reject(row, str(problem))
                del rows[row]
                matches.pop(row, None)
            elif current and any(
                values.get(k) is not None and differs(current[k], values[k])
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
        bulk_insert(self.conn, table_of(TicketEvent), moves)
        return ids
