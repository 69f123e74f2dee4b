"""Bulk writing of generated rows by the fastest path each database offers.

SQLite gets ``executemany`` with plain tuples on the driver connection, PostgreSQL gets
``COPY … FROM STDIN``; both skip SQLAlchemy's per-row work, which would cost more than
generating the data. Rows go in slices, so memory stays flat however large a chunk is.
Values are stored exactly as SQLAlchemy itself stores them (SQLite timestamps as
``YYYY-MM-DD HH:MM:SS.ffffff``), so the ORM and reports read demo rows like their own.

The tables being filled start empty, so their secondary indexes are dropped first and
rebuilt from the database's own definitions at the end: one sort per index instead of
millions of random B-tree inserts, which halves the load time. SQLite also skips the
per-row foreign-key checks and, where it can, the WAL (see :mod:`crmlib.store.bulk_load`).
It all happens in one transaction, so a failed load leaves schema and data as they were.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, func, select, text

from ..store.bulk_load import bulk_load_settings
from ..store.models import Base
from .vectors import Array, Rows

SLICE = 20_000


@dataclass
class Bulk:
    """The connection of a bulk load, and the scratch databases attached to it."""

    connection: Connection
    attached: list[tuple[str, Path]] = field(default_factory=list)

    def attach(self, path: Path, name: str) -> None:
        """Attach the SQLite file ``path`` as ``name`` (inside the transaction); it is
        detached and deleted when the load ends."""
        self.connection.exec_driver_sql(f"ATTACH DATABASE ? AS {name}", (str(path),))
        self.attached.append((name, path))


@contextmanager
def bulk_connection(engine: Engine) -> Iterator[Bulk]:
    """A connection in a transaction that commits at the end, set up for bulk loading
    (see :mod:`crmlib.store.bulk_load`)."""
    with engine.connect() as conn, bulk_load_settings(conn):
        bulk = Bulk(conn)
        try:
            with conn.begin():
                yield bulk
        finally:
            driver = _driver(conn)
            for name, path in bulk.attached:  # SQLite detaches only outside transactions
                driver.execute(f"DETACH DATABASE {name}")
                path.unlink(missing_ok=True)


def first_ids(conn: Connection, tables: Sequence[str]) -> dict[str, int]:
    """The first free id of each table."""
    return {
        table: (conn.execute(select(func.max(Base.metadata.tables[table].c.id))).scalar() or 0) + 1
        for table in tables
    }


class Writer:
    """Inserts rows (with their ids) into the tables of one transaction, and counts them."""

    def __init__(self, conn: Connection, empty_tables: Sequence[str]) -> None:
        """``empty_tables`` have no rows yet; their indexes are suspended until :meth:`finish`."""
        self._conn = conn
        self._driver = _driver(conn)
        self._postgres = conn.dialect.name == "postgresql"
        self.counts: dict[str, int] = {}
        self._indexes = self._secondary_indexes(empty_tables)
        for name, _ in self._indexes:
            self._conn.execute(text(f'DROP INDEX "{name}"'))

    def count(self, table: str, rows: Rows) -> None:
        """Count rows that another process writes (see :mod:`.helper`)."""
        self.counts[table] = self.counts.get(table, 0) + len(rows["id"])

    def write(self, table: str, rows: Rows) -> None:
        columns = list(rows)
        size = len(rows[columns[0]])
        self.counts[table] = self.counts.get(table, 0) + size
        if size == 0:
            return
        cursor = self._driver.cursor()
        names = ", ".join(columns)
        if self._postgres:
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in _tuples(rows, size):
                    copy.write_row(row)
        else:
            marks = ", ".join("?" * len(columns))
            cursor.executemany(
                f"INSERT INTO {table} ({names}) VALUES ({marks})", _tuples(rows, size)
            )
        cursor.close()

    def finish(self) -> None:
        """Rebuild the indexes, and let PostgreSQL's sequences hand out ids after the demo's."""
        for _, definition in self._indexes:
            self._conn.execute(text(definition))
        if self._postgres:
            for table in self.counts:
                self._conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )

    def _secondary_indexes(self, tables: Sequence[str]) -> list[tuple[str, str]]:
        """Name and CREATE statement of the non-unique indexes of ``tables``."""
        if self._postgres:
            query = text(
                "SELECT indexname, indexdef FROM pg_indexes "
                "WHERE schemaname = current_schema() AND tablename = ANY(:tables) "
                "AND indexdef NOT LIKE 'CREATE UNIQUE%' "
                "AND indexname NOT IN (SELECT conname FROM pg_constraint) ORDER BY indexname"
            )
        else:
            query = text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                "AND tbl_name IN (SELECT value FROM json_each(:tables)) "
                "AND sql NOT LIKE 'CREATE UNIQUE%' ORDER BY name"
            )
        tables_param: Any = list(tables) if self._postgres else json.dumps(list(tables))
        return [(name, sql) for name, sql in self._conn.execute(query, {"tables": tables_param})]


def _driver(conn: Connection) -> Any:
    """The DB-API connection (sqlite3 or psycopg) under ``conn``."""
    return conn.connection.driver_connection


def _tuples(rows: Rows, size: int) -> Iterator[tuple[Any, ...]]:
    for start in range(0, size, SLICE):
        stop = min(start + SLICE, size)
        yield from zip(*(_python(values[start:stop]) for values in rows.values()), strict=True)


def _python(values: Array) -> list[Any]:
    """Column values as the Python objects the driver binds (None for NULL)."""
    kind = values.dtype.kind
    if kind == "M":
        missing = np.isnat(values)
        return _with_nulls(_iso(values, missing), missing)
    if kind == "f":
        return _with_nulls(values.round(2), np.isnan(values))
    out: list[Any] = values.tolist()
    return out


# ISO 8601 text is assembled from tables of every day and every second of a day, which is
# three times faster than formatting each value (a million customers have 30 million).
def _code_points(text: Array, first: int, stop: int) -> Array:
    """Characters ``first:stop`` of each string, as rows of UCS-4 code points."""
    return text.view(np.uint32).reshape(len(text), -1)[:, first:stop].copy()


_FIRST_DAY, _LAST_DAY = np.datetime64("1900-01-01", "D"), np.datetime64("2200-01-01", "D")


@cache
def _day_text() -> Array:
    """Every day from 1900 to 2200 as YYYY-MM-DD (built on first use: every `crm` command
    imports this module, few write demo rows)."""
    return _code_points(np.datetime_as_string(np.arange(_FIRST_DAY, _LAST_DAY), unit="D"), 0, 10)


@cache
def _time_text() -> Array:
    """Every second of a day as HH:MM:SS."""
    second = np.datetime64("2000-01-01", "s") + np.arange(86_400).astype("timedelta64[s]")
    return _code_points(np.datetime_as_string(second, unit="s"), 11, 19)


_FRACTION = np.frombuffer(".000000".encode("utf-32-le"), dtype=np.uint32)


def _iso(values: Array, missing: Array) -> Array:
    """Dates as YYYY-MM-DD, times as YYYY-MM-DD HH:MM:SS.ffffff (whole seconds); rows that
    are ``missing`` get arbitrary text."""
    day = values.astype("datetime64[D]")
    index = np.where(missing, 0, (day - _FIRST_DAY).astype(np.int64))
    days = _day_text()
    if index.size and (index.min() < 0 or index.max() >= len(days)):
        text = np.datetime_as_string(values.astype("datetime64[us]"), unit="us")
        text.view(np.uint32).reshape(len(text), -1)[:, 10] = ord(" ")  # the T of ISO 8601
        return text if np.datetime_data(values.dtype)[0] != "D" else text.astype("U10")
    if np.datetime_data(values.dtype)[0] == "D":
        return days[index].view("U10").ravel()
    second = np.where(missing, 0, (values.astype("datetime64[s]") - day).astype(np.int64))
    out = np.empty((len(values), 26), dtype=np.uint32)
    out[:, :10] = days[index]
    out[:, 10] = ord(" ")
    out[:, 11:19] = _time_text()[second]
    out[:, 19:] = _FRACTION
    return out.view("U26").ravel()


def _with_nulls(values: Array, missing: Array) -> list[Any]:
    """``values`` as a list, with None where ``missing``."""
    if missing.any():
        values = values.astype(object)
        values[missing] = None
    out: list[Any] = values.tolist()
    return out
