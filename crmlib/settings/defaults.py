"""The settings' defaults and what each means, for people (the reference page and
``crm settings`` show them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..i18n import LANGUAGES, catalogue

DEFAULTS: dict[str, Any] = {
    # Grade from trailing-12-month spend in CNY: A at or above the first, B at or above the second.
    "grade_thresholds": {"A": 500_000, "B": 100_000},
    "backup_retention_days": 30,
    # Fields a customer file must have, per kind (the handbook's company template).
    "required_fields": {
        "company": ["name", "industry", "contact", "phone", "source"],
        "person": ["name"],
    },
    "size_headcount": {"medium": 100, "large": 1000},
    "stage_probability": {
        "contact": 0.1,
        "needs_analysis": 0.25,
        "proposal": 0.5,
        "negotiation": 0.75,
        "won": 1.0,
        "lost": 0.0,
    },
    # An open opportunity with no follow-up, stage change or edit for this long is stale.
    "stale_opportunity_days": 30,
    # Lead routing: the first rule whose region and industry section match (None matches
    # anything) names the team; within the team, "round_robin" or "fewest_open" picks the rep.
    "lead_assignment": {"rules": [], "method": "round_robin"},
    # Hours to the first response and to resolution, per ticket priority.
    "sla_policy": {
        "high": {"first_response_hours": 24, "resolution_hours": 72},
        "medium": {"first_response_hours": 48, "resolution_hours": 120},
        "low": {"first_response_hours": 72, "resolution_hours": 240},
    },
    # None: SLA clocks run around the clock; else e.g.
    # {"start": "09:00", "end": "18:00", "weekdays": [1, 2, 3, 4, 5]} (ISO weekdays).
    "business_hours": None,
    # A ticket is at risk once this share of an SLA allowance has elapsed.
    "sla_at_risk_share": 0.75,
    # Ticket type -> the team that handles it (e.g. technical -> support).
    "ticket_routing": {"technical": "support"},
    # Lifecycle refresh: active -> lost after this many days without an order; customers
    # with neither orders nor follow-ups for archive_after_days are flagged for archiving.
    "lifecycle": {"lost_after_days": 365, "archive_after_days": 730},
    # Days a grade or status set by hand holds against `crm refresh` unless told otherwise.
    "manual_override_days": 365,
    # Churn risk: a buyer has churned when no order follows within horizon_days; scoring
    # tags customers whose risk reaches the threshold 高流失风险.
    "churn": {"horizon_days": 180, "threshold": 0.7},
    # CAC: sales cost per month in CNY (salaries, travel) added to campaign costs.
    "sales_cost_per_month": 0,
    # Headers of the company's own files an import reads as fields, per file kind, besides
    # the built-in words: {"customers": {"客户说明": "remarks"}}.
    "import_synonyms": {},
}


@dataclass(frozen=True)
class SettingInfo:
    """What a setting holds and what it changes, for people (docs/reference/settings.md,
    ``crm settings``): the kind of value here; a short name and a description in the message
    catalogue, as ``setting_title:<key>`` and ``setting_description:<key>``."""

    key: str
    type: str

    def title(self, lang: str) -> str:
        return self._text("setting_title", lang)

    def description(self, lang: str) -> str:
        return self._text("setting_description", lang)

    def _text(self, namespace: str, lang: str) -> str:
        """A language without a catalogue reads English."""
        return catalogue(lang if lang in LANGUAGES else "en")[f"{namespace}:{self.key}"]


#: One description per key of :data:`DEFAULTS` (a test keeps the two in step).
DESCRIPTIONS: dict[str, SettingInfo] = {
    key: SettingInfo(key, kind)
    for key, kind in {
        "grade_thresholds": "object: grade → CNY",
        "backup_retention_days": "integer (days)",
        "required_fields": "object: customer kind → list of fields",
        "size_headcount": "object: size → headcount",
        "stage_probability": "object: stage → share 0..1",
        "stale_opportunity_days": "integer (days)",
        "lead_assignment": "object: `rules` (list of region, industry, team) and `method`",
        "sla_policy": "object: priority → first_response_hours, resolution_hours",
        "business_hours": "null, or object: start, end, weekdays",
        "sla_at_risk_share": "number 0..1",
        "ticket_routing": "object: ticket type → team",
        "lifecycle": "object: lost_after_days, archive_after_days",
        "manual_override_days": "integer (days)",
        "churn": "object: horizon_days, threshold",
        "sales_cost_per_month": "number (CNY)",
        "import_synonyms": "object: file kind → (header → field)",
    }.items()
}
