"""New rows handed to the importing thread as a small SQLite database, copied in one go.

At a million rows, Python's ``sqlite3`` module binding values one at a time costs the
importing thread more than SQLite's own work of storing them. So the checking thread of
the ``pipelined`` engine (:mod:`crmlib.transfer.engines`), which reads and validates the
file one chunk ahead, also lays out the chunk's new rows: it builds their columns with
polars and writes them through the ADBC SQLite driver, which binds in C from Arrow memory,
into a scratch file, and keeps the file's bytes. The importing thread loads those bytes
into an attached in-memory schema (``sqlite3.Connection.deserialize``, allowed inside its
write transaction) and copies each table with one ``INSERT … SELECT``, ids and codes
computed in SQL.

The ADBC driver carries its own SQLite library. Two SQLite libraries in one process must
never open the same file (POSIX locks are per process), so it only ever writes a
scratch file of its own, which nothing else opens. Values are bound by SQLAlchemy's type
processors before staging, as :func:`crmlib.transfer.bulk.insert_columns` binds them, so
a staged row is stored exactly as a bound one. A column of one value on every row travels
as an SQL literal.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from .bulk import sql_literal

#: The attached schema a staged chunk is loaded into, and its one table.
SCHEMA = "staged"
ROWS = "rows"


@dataclass(frozen=True)
class Staged:
    """A chunk's new rows: the image of a database with one table of them (in order,
    ``rowid`` from 1), the columns it holds, those with one value on every row (as SQL
    literals), and the file rows they come from."""

    image: bytes
    columns: tuple[str, ...]
    literals: Mapping[str, str]
    rows: list[int]

    def __len__(self) -> int:
        return len(self.rows)

    def __contains__(self, column: object) -> bool:
        return column in self.literals or column in self.columns

    @property
    def names(self) -> list[str]:
        """Every column staged, in the image or as a literal."""
        return [*self.columns, *self.literals]

    def sql(self, column: str) -> str:
        """The SQL that gives ``column`` on each staged row."""
        return self.literals.get(column) or f'"{column}"'


def available() -> bool:
    """Whether this Python can stage: its ``sqlite3`` loads database images (Python 3.11
    with SQLite 3.36 or later), and polars and the ADBC SQLite driver are installed."""
    return hasattr(sqlite3.Connection, "deserialize") and all(
        find_spec(package) is not None for package in ("polars", "adbc_driver_sqlite")
    )


def stage(columns: Mapping[str, Sequence[Any]], rows: list[int]) -> Staged | None:
    """Stage ``columns`` (name → bound values, None for NULL) of the new records from the
    file's ``rows``; None when a column mixes types of value or the scratch file cannot be
    written (a full disk): the importing process then binds the rows itself."""
    import adbc_driver_manager as adbc
    import polars as pl

    literals: dict[str, str] = {}
    series = []
    for column, values in columns.items():
        literal = sql_literal(values) if rows else "NULL"
        if literal is not None:
            literals[column] = literal
            continue
        built = _series(column, values)
        if built is None:
            return None
        series.append(built)
    if not series:  # a table needs a column: here the number of rows is all there is
        series.append(pl.Series("_", [None] * len(rows), dtype=pl.Int64))
    names = tuple(column.name for column in series if column.name != "_")
    try:
        image = _image(pl.DataFrame(series))
    except (OSError, adbc.Error):
        return None
    return Staged(image, names, literals, rows)


def _series(name: str, values: Sequence[Any]) -> Any:
    """A polars column of ``values`` stored as SQLite stores them bound one by one: None if
    they mix text, integers and reals (SQLite would keep each value's own type)."""
    import polars as pl

    first = next((value for value in values if value is not None), None)
    if type(first) is str:
        try:  # strict: any value that is not text fails
            return pl.Series(name, values, dtype=pl.String, strict=True)
        except TypeError:
            return None
    kind = {int: pl.Int64, float: pl.Float64}.get(type(first))
    if kind is None or {*map(type, values)} - {type(first), type(None)}:
        return None
    return pl.Series(name, values, dtype=kind, strict=True)


def _image(frame: Any) -> bytes:
    """The bytes of a scratch SQLite file holding ``frame`` as its table ``rows``."""
    import adbc_driver_manager as adbc
    import adbc_driver_sqlite

    fd, name = tempfile.mkstemp(prefix="crm-staged-", suffix=".db", dir=_scratch_directory())
    os.close(fd)
    path = Path(name)
    path.unlink()  # the driver creates it
    try:
        with (
            adbc_driver_sqlite.connect(uri=str(path)) as database,
            adbc.AdbcConnection(database) as conn,
            adbc.AdbcStatement(conn) as statement,
        ):
            statement.set_options(
                **{
                    adbc.INGEST_OPTION_TARGET_TABLE: ROWS,
                    adbc.INGEST_OPTION_MODE: adbc.INGEST_OPTION_MODE_CREATE,
                }
            )
            statement.bind_stream(frame)
            statement.execute_update()
        return path.read_bytes()
    finally:
        path.unlink(missing_ok=True)


def _scratch_directory() -> str | None:
    """Shared memory where there is some (the file lives a few milliseconds), else the
    temporary directory."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None


@contextmanager
def attached(conn: Connection) -> Iterator[None]:
    """The staging schema, attached to ``conn``'s SQLite connection for as long as the
    block runs; ``conn`` must not be in a transaction at either end (SQLite detaches only
    then)."""
    driver: Any = conn.connection.driver_connection
    driver.execute(f"ATTACH DATABASE ':memory:' AS {SCHEMA}")
    try:
        yield
    finally:
        try:
            driver.execute(f"DETACH DATABASE {SCHEMA}")
        except sqlite3.Error:  # not back in the pool with the schema still attached
            conn.invalidate()


def load(conn: Connection, staged: Staged) -> None:
    """Put ``staged``'s rows in the attached schema, replacing the previous chunk's."""
    driver: Any = conn.connection.driver_connection
    driver.deserialize(staged.image, name=SCHEMA)


def copy(conn: Connection, table: str, columns: Mapping[str, str], where: str = "1") -> None:
    """Insert into ``table`` a row for each loaded row that satisfies ``where``, in order,
    its ``columns`` given as SQL over the loaded one's (``rowid`` counts them from 1)."""
    listed = ", ".join(f'"{column}"' for column in columns)
    conn.exec_driver_sql(
        f'INSERT INTO "{table}" ({listed}) '
        f"SELECT {', '.join(columns.values())} FROM {SCHEMA}.{ROWS} WHERE {where} ORDER BY rowid"
    )
