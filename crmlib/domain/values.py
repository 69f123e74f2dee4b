"""How validated values become stored columns: the one place where an industry becomes
its section and division, and a province brings its region along."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from ..reference.industries import Industry
from ..reference.regions import Province


def stored_columns(clean: Mapping[str, Any]) -> dict[str, Any]:
    """The column values for ``clean`` field values (only the fields present in it)."""
    stored: dict[str, Any] = {}
    for key, value in clean.items():
        if key == "industry":
            found: Industry | None = value
            stored["industry_section"] = found.section if found else None
            stored["industry_division"] = found.code if found and not found.is_section else None
        elif key == "province":
            province: Province | None = value
            stored["province"] = province.name if province else None
            stored["region"] = province.region if province else None
        elif key == "consent_at" and isinstance(value, date) and not isinstance(value, datetime):
            stored["consent_at"] = datetime(value.year, value.month, value.day)
        else:
            stored[key] = value
    return stored
