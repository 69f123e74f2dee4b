"""Customer codes: ``C`` + business date + a daily sequence, e.g. C20240501001.

The sequence lives in ``code_sequences`` and is advanced with one atomic upsert, so two
processes creating customers at the same moment never get the same number: PostgreSQL
locks the row for the upsert, SQLite serialises writers. Past 999 a day the number simply
grows a digit (C202405011000): the date part has a fixed width, so codes stay unique.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast, overload

from sqlalchemy import Connection, Table, case
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .. import clock
from .models import CodeSequence

CUSTOMER_PREFIX = "C"
SEQUENCE_WIDTH = 3


def format_code(prefix: str, day: date, number: int) -> str:
    return f"{prefix}{day:%Y%m%d}{number:0{SEQUENCE_WIDTH}d}"


def reserve(conn: Connection | Session, key: str, count: int = 1) -> int:
    """Advance the sequence ``key`` by ``count`` and return the first number reserved."""
    table = cast(Table, CodeSequence.__table__)
    last = _upsert(conn, key, count, table.c.last_value + count)
    return last - count + 1


def _upsert(conn: Connection | Session, key: str, initial: int, updated: Any) -> int:
    """Insert the sequence ``key`` at ``initial`` or set it to ``updated``, atomically."""
    dialect = conn.get_bind().dialect.name if isinstance(conn, Session) else conn.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = cast(Table, CodeSequence.__table__)
    stmt = (
        insert(table)
        .values(prefix=key, last_value=initial)
        .on_conflict_do_update(index_elements=[table.c.prefix], set_={"last_value": updated})
        .returning(table.c.last_value)
    )
    return int(conn.execute(stmt).scalar_one())


CUSTOMER_CODE = re.compile(rf"^{CUSTOMER_PREFIX}(\d{{8}})(\d{{{SEQUENCE_WIDTH},}})$")


def parse_customer_code(code: str) -> tuple[date, int] | None:
    """The day and sequence number of a well-formed customer code, else None."""
    match = CUSTOMER_CODE.match(code)
    if match is None:
        return None
    try:
        return datetime.strptime(match[1], "%Y%m%d").date(), int(match[2])
    except ValueError:
        return None


def advance_past(conn: Connection | Session, codes: list[str]) -> None:
    """Move each day's sequence past the given codes, so codes kept from another database
    (an import) are never handed out again."""
    highest: dict[str, int] = {}
    for code in codes:
        parsed = parse_customer_code(code)
        if parsed:
            key = f"{CUSTOMER_PREFIX}{parsed[0]:%Y%m%d}"
            highest[key] = max(highest.get(key, 0), parsed[1])
    table = cast(Table, CodeSequence.__table__)
    for key, value in highest.items():
        _upsert(
            conn, key, value, case((table.c.last_value < value, value), else_=table.c.last_value)
        )


@dataclass(frozen=True)
class CodeRange(Sequence[str]):
    """Consecutive codes of one day, ``prefix`` + number from ``first`` on. A large import
    reserves a million at once; SQLite then writes each from its row's id (see
    :meth:`sqlite_expression`) instead of Python formatting and binding every string."""

    prefix: str
    first: int
    size: int

    def __len__(self) -> int:
        return self.size

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self.size))]
        position = index + self.size if index < 0 else index
        if not 0 <= position < self.size:
            raise IndexError(index)
        return self._template.format(self.first + position)

    def __iter__(self) -> Iterator[str]:
        return map(self._template.format, range(self.first, self.first + self.size))

    def sqlite_expression(self, position: str) -> str:
        """SQLite's expression for the code at ``position``, an SQL integer from 0: the
        same text as Python's (``printf`` pads as ``format`` does)."""
        prefix = self.prefix.replace("'", "''")
        return f"'{prefix}' || printf('%0{SEQUENCE_WIDTH}d', {self.first} + {position})"

    @property
    def _template(self) -> str:
        return f"{self.prefix}{{:0{SEQUENCE_WIDTH}d}}"


def reserve_customer_codes(
    conn: Connection | Session, count: int, day: date | None = None
) -> CodeRange:
    """Reserve ``count`` consecutive customer codes for ``day`` (default: today)."""
    day = day or clock.today()
    prefix = f"{CUSTOMER_PREFIX}{day:%Y%m%d}"
    return CodeRange(prefix, reserve(conn, prefix, count), count)


def next_customer_codes(
    conn: Connection | Session, count: int = 1, day: date | None = None
) -> list[str]:
    """Reserve ``count`` consecutive customer codes for ``day`` (default: today)."""
    return list(reserve_customer_codes(conn, count, day))
