"""Record codes: a letter + business date + a daily sequence, e.g. C20240501001.

Customers (``C``), leads (``L``), deals (``D``, the opportunities) and tickets (``T``) each
carry one: the stable key their exports hold and their imports match first. The sequence
of each letter and day lives in ``code_sequences`` and is advanced with one atomic upsert,
so two processes creating records at the same moment never get the same number:
PostgreSQL locks the row for the upsert, SQLite serialises writers. Past 999 a day the
number simply grows a digit (C202405011000): the date part has a fixed width, so codes stay
unique.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, overload

from sqlalchemy import Connection, Integer, String, case, column, table, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine.interfaces import ExecutionContext
from sqlalchemy.orm import Session

from .. import clock

CUSTOMER_PREFIX = "C"
LEAD_PREFIX = "L"
DEAL_PREFIX = "D"
TICKET_PREFIX = "T"
#: The tables whose records carry a code, and the letter their codes start with.
PREFIXES = {
    "customers": CUSTOMER_PREFIX,
    "leads": LEAD_PREFIX,
    "opportunities": DEAL_PREFIX,
    "tickets": TICKET_PREFIX,
}
SEQUENCE_WIDTH = 3

#: ``code_sequences`` as this module needs it (the model imports this module for
#: :func:`code_default`).
_SEQUENCES = table("code_sequences", column("prefix", String(16)), column("last_value", Integer))


def format_code(prefix: str, day: date, number: int) -> str:
    return f"{prefix}{day:%Y%m%d}{number:0{SEQUENCE_WIDTH}d}"


def reserve(conn: Connection | Session, key: str, count: int = 1) -> int:
    """Advance the sequence ``key`` by ``count`` and return the first number reserved."""
    last = _upsert(conn, key, count, _SEQUENCES.c.last_value + count)
    return last - count + 1


def _upsert(conn: Connection | Session, key: str, initial: int, updated: Any) -> int:
    """Insert the sequence ``key`` at ``initial`` or set it to ``updated``, atomically."""
    dialect = conn.get_bind().dialect.name if isinstance(conn, Session) else conn.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(_SEQUENCES)
        .values(prefix=key, last_value=initial)
        .on_conflict_do_update(index_elements=["prefix"], set_={"last_value": updated})
        .returning(_SEQUENCES.c.last_value)
    )
    return int(conn.execute(stmt).scalar_one())


CODE = re.compile(rf"^([A-Z])(\d{{8}})(\d{{{SEQUENCE_WIDTH},}})$")


def parse_code(code: str, prefix: str) -> tuple[date, int] | None:
    """The day and sequence number of a well-formed code starting with ``prefix``, else None."""
    match = CODE.match(code)
    if match is None or match[1] != prefix:
        return None
    try:
        return datetime.strptime(match[2], "%Y%m%d").date(), int(match[3])
    except ValueError:
        return None


def parse_customer_code(code: str) -> tuple[date, int] | None:
    """The day and sequence number of a well-formed customer code, else None."""
    return parse_code(code, CUSTOMER_PREFIX)


def advance_past(
    conn: Connection | Session, codes: list[str], prefix: str = CUSTOMER_PREFIX
) -> None:
    """Move each day's sequence past the given codes, so codes kept from another database
    (an import) are never handed out again."""
    highest: dict[str, int] = {}
    for code in codes:
        parsed = parse_code(code, prefix)
        if parsed:
            key = f"{prefix}{parsed[0]:%Y%m%d}"
            highest[key] = max(highest.get(key, 0), parsed[1])
    last = _SEQUENCES.c.last_value
    for key, value in highest.items():
        _upsert(conn, key, value, case((last < value, value), else_=last))


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


def reserve_codes(
    conn: Connection | Session, letter: str, count: int, day: date | None = None
) -> CodeRange:
    """Reserve ``count`` consecutive codes starting with ``letter`` for ``day`` (default:
    today)."""
    day = day or clock.today()
    prefix = f"{letter}{day:%Y%m%d}"
    return CodeRange(prefix, reserve(conn, prefix, count), count)


def reserve_customer_codes(
    conn: Connection | Session, count: int, day: date | None = None
) -> CodeRange:
    """Reserve ``count`` consecutive customer codes for ``day`` (default: today)."""
    return reserve_codes(conn, CUSTOMER_PREFIX, count, day)


def next_customer_codes(
    conn: Connection | Session, count: int = 1, day: date | None = None
) -> list[str]:
    """Reserve ``count`` consecutive customer codes for ``day`` (default: today)."""
    return list(reserve_customer_codes(conn, count, day))


def code_default(letter: str) -> Callable[[ExecutionContext], str]:
    """A column default handing each new row the next code of ``letter`` for today: every
    insert through SQLAlchemy (the API, a test's ``insert(...)``) gets its code this way;
    the bulk paths (imports, the demo) reserve ranges instead."""

    def default(context: ExecutionContext) -> str:
        return reserve_codes(context.connection, letter, 1)[0]

    return default


def assign_missing(conn: Connection, table_name: str) -> int:
    """Give every row of ``table_name`` without a code one, numbered in id order within the
    day of its ``created_at`` and continuing that day's sequence; returns how many.

    Run by migration 0009 on existing rows and by the demo after its bulk load, in SQL (a
    window over the rows), so a million rows take one statement.
    """
    letter = PREFIXES[table_name]
    postgres = conn.dialect.name == "postgresql"
    day = "to_char(created_at, 'YYYYMMDD')" if postgres else "strftime('%Y%m%d', created_at)"
    number = (
        f"lpad(n::text, greatest({SEQUENCE_WIDTH}, length(n::text)), '0')"
        if postgres
        else f"printf('%0{SEQUENCE_WIDTH}d', n)"
    )
    numbered = f"""
        SELECT ranked.id, ranked.day, ranked.seq + coalesce(s.last_value, 0) AS n
        FROM (
            SELECT id, {day} AS day,
                   row_number() OVER (PARTITION BY {day} ORDER BY id) AS seq
            FROM {table_name} WHERE code IS NULL
        ) AS ranked
        LEFT JOIN code_sequences AS s ON s.prefix = '{letter}' || ranked.day
    """
    changed = conn.execute(
        text(
            f"UPDATE {table_name} SET code = '{letter}' || numbered.day || {number} "
            f"FROM ({numbered}) AS numbered WHERE {table_name}.id = numbered.id"
        )
    ).rowcount
    if changed:
        conn.execute(
            text(
                f"""
                INSERT INTO code_sequences (prefix, last_value)
                SELECT substr(code, 1, 9), max(CAST(substr(code, 10) AS INTEGER))
                FROM {table_name} WHERE code LIKE '{letter}%'
                GROUP BY substr(code, 1, 9)
                ON CONFLICT (prefix) DO UPDATE SET last_value = excluded.last_value
                WHERE code_sequences.last_value < excluded.last_value
                """
            )
        )
    return changed
