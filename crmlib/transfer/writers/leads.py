"""Leads from a file: matched by code, external id or natural key, moved only as the lead
status flow allows."""

from __future__ import annotations

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
from .base import (
    Outcome,
    Writer,
    batches,
    records_of,
    table_of,
    unchanged,
)

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
            row: values
            for row, values in records_of(clean).items()
            if outcome.status.get(row) != "rejected"
        }
        found = self.candidates(records)
        rows: dict[int, dict[str, Any]] = {}
        matches: dict[int, dict[str, Any]] = {}
        for row, values in records.items():
            current = found.get(row)
            if current is not None and not self.in_scope(current["owner_id"]):
                column = next((k for k in _KEYS if values.get(k)), "name")
                self.refuse_foreign(outcome, row, column, values[column])
                continue
            references = ("owner", "campaign", "customer_code", "customer_external_id")
            stored = stored_columns({str(k): v for k, v in values.items() if k not in references})
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
        self.upsert(rows, matches, outcome)

    def candidates(self, records: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
        """Stored leads the rows name, in or out of scope: by code, else external id, when
        the row gives one; else by name, phone and company (the first such lead)."""
        found: dict[int, dict[str, Any]] = {}
        for key in _KEYS:
            stored = self.existing(key, [values.get(key) for values in records.values()])
            for row, values in records.items():
                if row not in found and values.get(key) in stored:
                    found[row] = stored[values[key]]
        rest = {
            row: values
            for row, values in records.items()
            if not any(values.get(k) for k in _KEYS) and values.get("name") is not None
        }
        if not rest:
            return found
        table = table_of(Lead)
        by_key: dict[tuple[str | None, ...], dict[str, Any]] = {}
        for batch in batches(sorted({values["name"] for values in rest.values()})):
            query = select(table).where(table.c.name.in_(batch)).order_by(table.c.id)
            for lead in self.conn.execute(query).mappings():
                identity = tuple(text_of(lead[k]) for k in self.natural_key)
                by_key.setdefault(identity, dict(lead))
        for row, values in rest.items():
            match = by_key.get(tuple(text_of(values.get(k)) for k in self.natural_key))
            if match is not None:
                found[row] = match
        return found
