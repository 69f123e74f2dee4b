"""Leads from a file: matched by code, external id or natural key, moved only as the lead
status flow allows."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
from sqlalchemy import select

from ...audit import text_of
from ...domain.customers.values import stored_columns
from ...domain.sales.lead_rules import LEAD_FLOW, status_errors
from ...errors import ValidationError
from ...store.models import (
    Lead,
)
from ..custom import PREFIX
from .base import (
    Outcome,
    Writer,
    batches,
    records_of,
    table_of,
    unchanged,
)
from .children import Occurrences

#: What names a lead in a file: its code, else its external id, else its natural key.
_KEYS = ("code", "external_id")


class LeadWriter(Writer):
    model = Lead
    natural_key = ("name", "phone", "company")

    def write(self, clean: pd.DataFrame, outcome: Outcome) -> None:
        # As the API does: a sales rep's new lead is their own, others' stay unassigned.
        owners = self.user_ids(clean, "owner", outcome, default=self.actor.role.scope == "own")
        campaigns = self.campaign_ids(clean, outcome)
        customers = self.customer_ids(clean, outcome, required=False)
        records = {
            row: values for row, values in records_of(clean).items() if outcome.only_refused(row)
        }
        found = self.candidates(records, outcome)
        visible = self.visible(found.values())
        rows: dict[int, dict[str, Any]] = {}
        matches: dict[int, dict[str, Any]] = {}
        for row, values in records.items():
            if outcome.status.get(row) == "rejected":
                continue
            current = found.get(row)
            if current is not None and current["id"] not in visible:
                column = next(k for k in _KEYS if values.get(k))
                self.refuse_foreign(outcome, row, column, values[column])
                continue
            references = ("owner", "campaign", "customer_code", "customer_external_id")
            stored = stored_columns(
                {
                    str(k): v
                    for k, v in values.items()
                    if k not in references and not str(k).startswith(PREFIX)
                }
            )
            if values.get("owner") is not None or current is None:
                stored["owner_id"] = owners.get(row)
            if row in campaigns:
                stored["campaign_id"] = campaigns[row]
            if row in customers:
                stored["customer_id"] = customers[row]
                stored["converted_at"] = stored.get("converted_at") or self.now
            owner = self.users_by_id.get(stored.get("owner_id"))
            if owner is not None and (current is None or current["owner_id"] != owner.id):
                stored["team"], stored["assigned_at"] = owner.team, self.now
            if current is not None and unchanged(stored, current):
                matches[row], rows[row] = current, stored
                continue
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
        ids = self.upsert(rows, matches, outcome)
        self.write_custom(clean, ids, matches, outcome)

    def candidates(
        self, records: dict[int, dict[str, Any]], outcome: Outcome
    ) -> dict[int, dict[str, Any]]:
        """Stored leads the rows name: by code, else external id, when the row gives one
        (in or out of scope: :meth:`write` refuses the latter); else by the natural key,
        name, phone and company, among the leads the user may change only, the k-th row of
        the file with a key matching the k-th such lead. A rejected row whose reasons are
        all refused cells is matched by the refused values, and the refusals of cells its
        lead holds already are withdrawn."""
        found: dict[int, dict[str, Any]] = {}
        for key in _KEYS:
            stored = self.existing(key, [values.get(key) for values in records.values()])
            for row, values in records.items():
                if row not in found and values.get(key) in stored:
                    found[row] = stored[values[key]]
        identities: dict[int, tuple[str | None, ...]] = {}
        for row, values in records.items():
            if any(values.get(k) for k in _KEYS):
                continue
            refused = outcome.refused.get(row, {})
            given = {
                k: refused[k].value if values.get(k) is None and k in refused else values.get(k)
                for k in self.natural_key
            }
            if given["name"] is not None:
                identities[row] = tuple(text_of(given[k]) for k in self.natural_key)
        if not identities:
            return found
        table = table_of(Lead)
        by_key: dict[tuple[str | None, ...], list[dict[str, Any]]] = {}
        for batch in batches(sorted({identity[0] for identity in identities.values()}, key=str)):
            query = (
                select(table)
                .where(table.c.name.in_(batch), self.scope.lead_filter())
                .order_by(table.c.id)
            )
            for lead in self.conn.execute(query).mappings():
                identity = tuple(text_of(lead[k]) for k in self.natural_key)
                by_key.setdefault(identity, []).append(dict(lead))
        occurrences = self.occurrences.count(list(identities.values()))
        natural: dict[int, dict[str, Any]] = {}
        for (row, identity), occurrence in zip(identities.items(), occurrences, strict=True):
            alike = by_key.get(identity, ())
            if occurrence < len(alike):
                natural[row] = alike[occurrence]
        self.withdraw_held(
            {row: lead["id"] for row, lead in natural.items() if outcome.refused.get(row)},
            outcome,
        )
        return found | natural

    def visible(self, leads: Iterable[Mapping[str, Any]]) -> set[int]:
        """The ids of ``leads`` the user may see, and so change: the API's rule
        (:meth:`crmlib.access.Scope.lead_filter`), so a manager re-imports the team's
        unassigned leads as the API lets them edit one."""
        seen: set[int] = set()
        for batch in batches(sorted({lead["id"] for lead in leads})):
            query = select(Lead.id).where(Lead.id.in_(batch), self.scope.lead_filter())
            seen.update(self.conn.execute(query).scalars())
        return seen

    @functools.cached_property
    def occurrences(self) -> Occurrences:
        """The natural keys of the rows without a code or external id so far in the file."""
        return Occurrences()
