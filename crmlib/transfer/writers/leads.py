"""Leads from a file: matched by external id, moved only as the lead status flow allows."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ...domain.customers.values import stored_columns
from ...domain.sales.lead_rules import LEAD_FLOW, status_errors
from ...errors import ValidationError
from ...store.models import (
    Lead,
)
from .base import (
    Outcome,
    Writer,
    records_of,
)


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
        for row, values in records_of(clean).items():
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
