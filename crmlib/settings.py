"""Configurable business rules, stored in the ``settings`` table with defaults here."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from .store.models import Setting

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
    # Churn risk: a buyer has churned when no order follows within horizon_days; scoring
    # tags customers whose risk reaches the threshold 高流失风险.
    "churn": {"horizon_days": 180, "threshold": 0.7},
    # CAC: sales cost per month in CNY (salaries, travel) added to campaign costs.
    "sales_cost_per_month": 0,
}


def get_setting(session: Session | Connection, key: str) -> Any:
    if key not in DEFAULTS:
        raise KeyError(f"unknown setting {key!r}; known: {', '.join(sorted(DEFAULTS))}")
    row = session.execute(select(Setting.value).where(Setting.key == key)).scalar_one_or_none()
    return DEFAULTS[key] if row is None else json.loads(row)


def set_setting(session: Session, key: str, value: Any) -> None:
    get_setting(session, key)  # validates the key
    existing = session.get(Setting, key)
    text = json.dumps(value, ensure_ascii=False)
    if existing is None:
        session.add(Setting(key=key, value=text))
    else:
        existing.value = text
