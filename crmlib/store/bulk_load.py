"""SQLite settings for writing very many rows in one transaction: the demo build and large imports.

Both callers link their rows by construction (ids they just handed out, users and
customers they looked up), so the per-row foreign-key checks only cost time; the tests run
``PRAGMA foreign_key_check`` after each kind of load. If no other connection has the file
open, the load also goes through the rollback journal instead of the WAL: new pages are
then written once instead of twice (WAL, then checkpoint), and the load stays atomic, a
killed process leaving a journal that the next opener rolls back. A process that opens the
file meanwhile waits for the load, up to the busy timeout (see :mod:`.engine`), instead of
reading the old snapshot. Both settings change only outside a transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection


@contextmanager
def bulk_load_settings(conn: Connection) -> Iterator[None]:
    """Foreign-key checks off and, when the file is not shared, the rollback journal, for
    as long as the block runs; ``conn`` must not be in a transaction. Nothing changes on
    PostgreSQL."""
    if conn.dialect.name != "sqlite":
        yield
        return
    driver: Any = conn.connection.driver_connection
    driver.execute("PRAGMA foreign_keys=OFF")
    journal = driver.execute("PRAGMA journal_mode").fetchone()[0]
    switched = _journal_mode(driver, "DELETE")
    try:
        yield
    finally:
        driver.execute("PRAGMA foreign_keys=ON")
        if switched:
            _journal_mode(driver, journal)


def _journal_mode(driver: Any, mode: str) -> bool:
    """Switch SQLite's journal mode; False while other connections keep the file open (the
    engine sets WAL again on every new connection, see crmlib.store.engine)."""
    try:
        driver.execute(f"PRAGMA journal_mode={mode}")
    except sqlite3.OperationalError:
        return False
    return True
