"""Engines for the two supported databases, configured the way a CRM needs them.

SQLite is the embedded default: WAL so readers (dashboards) never block the writer,
foreign keys on, and a busy timeout so a second process waits instead of failing.
PostgreSQL is reached through psycopg 3.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, ExceptionContext
from sqlalchemy.exc import OperationalError

from ..config import database_url, is_sqlite
from ..errors import ConfigError, DatabaseBusy
from ..i18n import t

SQLITE_BUSY_TIMEOUT_MS = 30_000
WAL_SWITCH_RETRY_S = 0.05
#: Rows of each index that SQLite's ANALYZE samples for its planner statistics.
ANALYZE_SAMPLE_ROWS = 1000


def _switch_to_wal(cursor: Any) -> None:
    # Switching a new file to WAL needs an exclusive lock, and SQLite answers "database is
    # locked" at once, without its busy handler, when processes opening the same new file
    # race for it. WAL is persistent, so only the first opener switches; the others see
    # "wal" and go on, or retry until the busy timeout is spent.
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(WAL_SWITCH_RETRY_S)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling is disabled so BEGIN IMMEDIATE can be issued
    # for writes; SQLAlchemy then emits BEGIN itself (see the "begin" listener).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    _switch_to_wal(cursor)
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


#: Execution option of connections that are about to write (the workspace's sessions).
WRITE_INTENT = "crm_write_intent"


def _sqlite_begin(conn: Any) -> None:
    # A transaction that will write takes the write lock at once: SQLite cannot upgrade a
    # read lock under contention (it fails with "database is locked"), BEGIN IMMEDIATE waits
    # for the busy timeout instead. Everything else starts a plain deferred transaction, so
    # reports and a second connection in the same process never wait for the writer.
    conn.exec_driver_sql(
        "BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE_INTENT) else "BEGIN"
    )


def _busy_in_words(context: ExceptionContext) -> None:
    """SQLite's bare "database is locked", once the busy timeout is spent, as a
    :class:`DatabaseBusy` that says what happened and that nothing was changed."""
    original = context.original_exception
    if isinstance(original, sqlite3.OperationalError) and "database is locked" in str(original):
        seconds = f"{SQLITE_BUSY_TIMEOUT_MS / 1000:g}"
        raise DatabaseBusy(t("store:database_busy", seconds=seconds)) from original


def make_engine(url: str | URL | None = None, *, check: bool = True) -> Engine:
    """Create an engine for ``url`` (see :func:`crmlib.config.database_url`).

    With ``check`` the database is contacted once, so a wrong URL or an unreachable
    server fails here with a :class:`ConfigError` that says which.
    """
    resolved = url if isinstance(url, URL) else database_url(url)
    kwargs: dict[str, Any] = {}
    if is_sqlite(resolved):
        if resolved.database and resolved.database != ":memory:":
            Path(resolved.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    else:
        kwargs["pool_pre_ping"] = True
        kwargs["connect_args"] = {"connect_timeout": 10}
    engine = create_engine(resolved, **kwargs)
    if is_sqlite(resolved):
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        event.listen(engine, "handle_error", _busy_in_words)
    if check:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except OperationalError as exc:
            engine.dispose()
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            safe = resolved.render_as_string(hide_password=True)
            raise ConfigError(t("store:unreachable", where=safe, reason=reason)) from None
    return engine


def refresh_statistics(engine: Engine) -> None:
    """Re-gather SQLite's planner statistics after a bulk load.

    SQLite plans without statistics until ANALYZE runs, and then reads a rep's few
    customers through the wrong index; PostgreSQL's autovacuum keeps its own.
    """
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            # Sampled (as PRAGMA optimize does): a full ANALYZE reads every index whole.
            conn.exec_driver_sql(f"PRAGMA analysis_limit={ANALYZE_SAMPLE_ROWS}")
            conn.exec_driver_sql("ANALYZE")
