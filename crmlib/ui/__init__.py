"""Notebook widgets: the entry and review notebooks are built from these.

The widgets are thin: every rule, list and permission comes from crmlib, so a form accepts
exactly what the API and the importer accept. A notebook cell is one line::

    from crmlib import ui
    ws = ui.workspace(lang=lang)     # CRM_DATABASE_URL as CRM_USER / JUPYTERHUB_USER
    ui.CustomerEntry(ws)

Widgets are imported on first use, so ``import crmlib.ui`` does not load ipywidgets.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Public names and the module each lives in.
_EXPORTS = {
    "workspace": "base",
    "banner": "base",
    "Status": "base",
    "Grid": "grid",
    "Progress": "progress",
    "FieldSpec": "fields",
    "ValidatedField": "fields",
    "RecordForm": "forms",
    "DuplicateWarning": "duplicates",
    "Comparison": "duplicates",
    "DuplicateReview": "duplicates",
    "CustomerEntry": "entry",
    "FollowUps": "followups",
    "TicketDesk": "tickets",
    "ImportReview": "importer",
    "QualityReview": "quality",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'crmlib.ui' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
