"""How validated values become stored columns: the one place where an industry becomes
its section and division, and a province brings its region along."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def stored_columns(clean: Mapping[str, Any]) -> dict[str, Any]:
    """The column values for ``clean`` field values (only the fields present in it)."""
    stored: dict[str, Any] = {}
    for key, value in clean.items():
        for column, values in stored_values(key, [value]).items():
            stored[column] = values[0]
    return stored


def stored_values(key: str, values: Sequence[Any]) -> dict[str, list[Any]]:
    """The columns that the field ``key`` is stored in, for many values at once (an import
    stores a million rows column by column)."""
    if key == "industry":
        return {
            "industry_section": [found.section if found else None for found in values],
            "industry_division": [
                found.code if found and not found.is_section else None for found in values
            ],
        }
    if key == "province":
        return {
            "province": [found.name if found else None for found in values],
            "region": [found.region if found else None for found in values],
        }
    return {key: list(values)}
