"""Customer codes: ``C`` + business date + a daily sequence, e.g. C20240501001.

The sequence lives in ``code_sequences`` and is advanced with one atomic upsert, so two
processes creating customers at the same moment never get the same number: PostgreSQL
locks the row for the upsert, SQLite serialises writers. Past 999 a day the number simply
grows a digit (C202405011000): the date part has a fixed width, so codes stay unique.
"""

from __future__ import annotations

from datetime import date
from typing import cast

from sqlalchemy import Connection, Table
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
    dialect = conn.get_bind().dialect.name if isinstance(conn, Session) else conn.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = cast(Table, CodeSequence.__table__)
    stmt = (
        insert(table)
        .values(prefix=key, last_value=count)
        .on_conflict_do_update(
            index_elements=[table.c.prefix],
            set_={"last_value": table.c.last_value + count},
        )
        .returning(table.c.last_value)
    )
    last = conn.execute(stmt).scalar_one()
    return int(last) - count + 1


def next_customer_codes(
    conn: Connection | Session, count: int = 1, day: date | None = None
) -> list[str]:
    """Reserve ``count`` consecutive customer codes for ``day`` (default: today)."""
    day = day or clock.today()
    first = reserve(conn, f"{CUSTOMER_PREFIX}{day:%Y%m%d}", count)
    return [format_code(CUSTOMER_PREFIX, day, n) for n in range(first, first + count)]
