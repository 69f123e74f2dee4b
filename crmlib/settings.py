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
