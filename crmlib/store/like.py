"""Searching for what someone typed with SQL ``LIKE``: literally, and within a length limit.

A ``%`` or ``_`` in a search is a character to find (``50%`` finds "50%", not "500"), so
both, and the escape character itself, are escaped. A search text longer than
:data:`MAX_SEARCH_LENGTH` is refused with a clear error before any query runs: SQLite
refuses LIKE patterns over 50,000 bytes, and a long text only makes every search slow.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement

from ..errors import FieldError, ValidationError
from ..i18n import t

#: Longest search text accepted, in characters.
MAX_SEARCH_LENGTH = 200
ESCAPE = "\\"


def search_text(query: str, field: str = "query") -> str:
    """``query`` unchanged if it is short enough to search for; otherwise a
    :class:`ValidationError` naming ``field``, the value and the limit."""
    if len(query) > MAX_SEARCH_LENGTH:
        message = t("too_long", limit=MAX_SEARCH_LENGTH)
        raise ValidationError(FieldError(field, query, "max_search_length", message))
    return storable(query, field)


def storable(text: str, field: str) -> str:
    """``text`` unchanged unless it holds a NUL character, which PostgreSQL refuses in any
    text it is sent (a search, a name looked up): then a :class:`ValidationError` naming
    ``field`` and the character's position, before any query runs."""
    position = text.find("\x00") + 1
    if position:
        message = t("text_control", character="U+0000", position=position)
        raise ValidationError(FieldError(field, text, "text_control", message))
    return text


def escape_like(text: str) -> str:
    """``text`` as a LIKE pattern (with :data:`ESCAPE`) that matches only itself."""
    return text.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")


def contains(column: Any, text: str) -> ColumnElement[bool]:
    """``column`` contains ``text``, wildcards in ``text`` taken literally."""
    return column.like(f"%{escape_like(text)}%", escape=ESCAPE)


def starts_with(column: Any, text: str) -> ColumnElement[bool]:
    """``column`` starts with ``text``, wildcards in ``text`` taken literally."""
    return column.like(f"{escape_like(text)}%", escape=ESCAPE)
