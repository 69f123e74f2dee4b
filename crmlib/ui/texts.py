"""The notebook widgets' words: ``ui:`` messages and the grids' column headings
(``ui_column:``), looked up in the catalogue (crmlib/locale/) in the reader's language."""

from __future__ import annotations

from ..i18n import MESSAGES, t


def column_heading(name: str, lang: str) -> str:
    """A grid column's heading in ``lang``; columns without one keep their name."""
    key = f"ui_column:{name}"
    return t(key, lang) if key in MESSAGES else name


def say(key: str, lang: str, **values: object) -> str:
    """The ``ui:`` message ``key`` in ``lang``."""
    return t(f"ui:{key}", lang, **values)
