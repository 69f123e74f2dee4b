"""The fast paths of large imports: rows go in as plain tuples, and indexes are built once.

SQLAlchemy's per-row work would cost more than the insert itself at a million rows, so
new rows go to the driver directly: ``executemany`` on SQLite, ``COPY … FROM STDIN`` on
PostgreSQL, with values bound by SQLAlchemy's own type processors, so they are stored
exactly as the ORM stores them (the demo loader, :mod:`crmlib.demo.writer`, does the same).

A large import into a table no larger than the file is faster when the table's secondary
indexes are dropped first and built again at the end: one sort per index instead of a
random B-tree insert per row and index. This happens on SQLite only and inside the
import's own transaction (SQLite's DDL is transactional), so a failed, refused or killed
import leaves schema and data as they were, and readers keep seeing the old snapshot with
its indexes meanwhile. PostgreSQL keeps its indexes: dropping one locks the whole table
against readers until the import commits.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, func, select, text

from ..store.codes import CodeRange

#: Below this many rows in a file, indexes stay as they are.
BULK_ROWS = 50_000
#: The most threads SQLite may sort an index with.
SORT_THREADS = 4


def is_large(expected_rows: int) -> bool:
    """Whether a file of about this many rows takes the bulk paths."""
    return expected_rows >= BULK_ROWS


def insert_columns(
    conn: Connection, table: Table, columns: Mapping[str, Sequence[Any]]
) -> list[int]:
    """Insert rows given column by column (None for NULL); return their new ids, in order.

    On SQLite the ids are handed out here (the import holds the write lock, nobody can
    take them meanwhile); PostgreSQL reserves them from the table's sequence.
    """
    size = len(next(iter(columns.values()), ()))
    if size == 0:
        return []
    names = [name for name in columns if name != "id"]
    values = list(bound_columns(conn, table, {name: columns[name] for name in names}).values())
    if conn.dialect.name == "postgresql":
        ids = list(
            conn.execute(
                text(
                    "SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                    "FROM generate_series(1, :size)"
                ),
                {"table": table.name, "size": size},
            ).scalars()
        )
        copy_rows(conn, table, ["id", *names], zip(ids, *values, strict=True))
        return ids
    first = next_id(conn, table)
    ids = list(range(first, first + size))
    written = [_written_by_sqlite(column, first) for column in values]
    listed = ", ".join(f'"{name}"' for name in ["id", *names])
    marks = ", ".join(["?1", *(sql or "?" for sql in written)])
    bound = [v for v, sql in zip(values, written, strict=True) if sql is None]
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(
            f'INSERT INTO "{table.name}" ({listed}) VALUES ({marks})',
            zip(ids, *bound, strict=True),
        )
    finally:
        cursor.close()
    return ids


def copy_rows(
    conn: Connection, table: Table, names: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """PostgreSQL's ``COPY … FROM STDIN`` of ``rows`` (values as the driver takes them)
    into ``table``'s columns ``names``: the server parses a stream instead of a statement
    a row. PostgreSQL refuses ``COPY`` into a table whose row-level security applies to the
    login (a team database, :mod:`crmlib.team_mode`): there the rows go as one
    ``executemany`` of INSERTs, which the policies check."""
    listed = ", ".join(f'"{name}"' for name in names)
    secured = conn.execute(
        text("SELECT row_security_active(CAST(:table AS regclass))"), {"table": table.name}
    ).scalar_one()
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if secured:
            marks = ", ".join(["%s"] * len(names))
            cursor.executemany(f'INSERT INTO "{table.name}" ({listed}) VALUES ({marks})', rows)
            return
        with cursor.copy(f'COPY "{table.name}" ({listed}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
    finally:
        cursor.close()


def next_id(conn: Connection, table: Table) -> int:
    """The id SQLite gives ``table``'s next row (the import holds the write lock)."""
    return int(conn.execute(select(func.max(table.c.id))).scalar() or 0) + 1


def _written_by_sqlite(values: Sequence[Any], first_id: int) -> str | None:
    """SQL that gives a column's value on every row without binding it (``?1`` is the
    row's id), else None: binding a parameter costs the sqlite3 module about 0.15 µs,
    more than SQLite's own work for the value."""
    if isinstance(values, CodeRange):
        return values.sqlite_expression(f"?1 - {first_id}")
    if _consecutive(values):  # the new customers of new contacts, say
        return f"?1 + {values[0] - first_id}"
    return sql_literal(values)


def _consecutive(values: Sequence[Any]) -> bool:
    """Whether ``values`` are the integers ``values[0]``, ``values[0] + 1``, and so on."""
    first, last = values[0], values[-1]
    return (
        type(first) is int
        and type(last) is int
        and last - first == len(values) - 1 > 0
        and list(values) == list(range(first, last + 1))
    )


def sql_literal(values: Sequence[Any]) -> str | None:
    """The SQL literal of a column whose rows all hold the same plain value (the
    import's time stamps, default status, owner), else None."""
    first = values[0]
    if values[-1] != first or values.count(first) != len(values):
        return None
    if first is None:
        return "NULL"
    if type(first) is int:
        return str(first)
    if type(first) is str and "\x00" not in first:
        return "'" + first.replace("'", "''") + "'"
    return None


def bound_columns(
    conn: Connection, table: Table, columns: Mapping[str, Sequence[Any]]
) -> dict[str, Sequence[Any]]:
    """``columns`` as the driver takes them (SQLAlchemy's type processors, as the ORM
    stores them), each value converted once per distinct value."""
    bound: dict[str, Sequence[Any]] = {}
    for name, values in columns.items():
        process = table.c[name].type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        if process is None:
            bound[name] = values
            continue
        converted = {value: process(value) for value in set(values) if value is not None}
        converted[None] = None
        bound[name] = list(map(converted.__getitem__, values))
    return bound


class SuspendedIndexes:
    """Secondary indexes of tables, dropped for a large import and built again at its end.

    Only on SQLite, and only for tables that hold no more rows than the file brings
    (``expected_rows``, at least :data:`BULK_ROWS`). Indexes on the columns in ``keep``
    (``table.column``) stay: the import looks rows up through them.
    """

    def __init__(
        self, conn: Connection, tables: Iterable[str], keep: Iterable[str], expected_rows: int
    ) -> None:
        self.conn = conn
        self.definitions: list[str] = []
        if conn.dialect.name != "sqlite" or not is_large(expected_rows):
            return
        kept = set(keep)
        for table in tables:
            if self._rows(table) > expected_rows:
                continue
            for name, sql in conn.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                "AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%' ORDER BY name",
                (table,),
            ).all():
                if not kept & {f"{table}.{column}" for column in self._columns(name)}:
                    conn.exec_driver_sql(f'DROP INDEX "{name}"')
                    self.definitions.append(sql)

    def rebuild(self) -> None:
        """Build the dropped indexes again (before the import commits), letting SQLite sort
        each one with a helper thread per spare core."""
        if not self.definitions:
            return
        self.conn.exec_driver_sql(f"PRAGMA threads = {min(os.cpu_count() or 1, SORT_THREADS)}")
        try:
            for sql in self.definitions:
                self.conn.exec_driver_sql(sql)
        finally:
            self.conn.exec_driver_sql("PRAGMA threads = 0")
        self.definitions = []

    def _rows(self, table: str) -> int:
        return int(self.conn.exec_driver_sql(f'SELECT count(*) FROM "{table}"').scalar() or 0)

    def _columns(self, index: str) -> list[str]:
        return [str(row[2]) for row in self.conn.exec_driver_sql(f"PRAGMA index_info('{index}')")]
