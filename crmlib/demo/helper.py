"""A second process for large SQLite loads, so that both cores of a machine work.

SQLite has one writer, and inserting rows and building indexes is most of a large load.
So a helper process follows the same :class:`~.batches.Recipe` as the main process (the
data is deterministic, so it makes the very same rows) and writes four of the largest
tables, with their indexes, into a scratch SQLite file next to the database (see
:mod:`.scratch`). The main process writes the other tables meanwhile, then attaches the
scratch file inside its own transaction and copies the tables over with
``INSERT … SELECT *``: SQLite copies tables with identical schemas and indexes record by
record and index by index, without sorting again, in a fraction of the time that writing
them took. The load stays one transaction, and the scratch file is deleted afterwards.

The helper is a plain ``python -m`` subprocess rather than ``multiprocessing``, which
would re-run the caller's main script in the child.
"""

from __future__ import annotations

import json
import os
import pickle
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from types import TracebackType

from sqlalchemy import Connection, text

from .batches import Recipe
from .writer import Bulk

# Leaf tables (no demo table refers to them) with about half the rows and index work.
TABLES = ("interactions", "leads", "ticket_events", "campaign_members")
SCRATCH = "demo_scratch"
ERROR_LINES = 20


def can_help(conn: Connection, recipe: Recipe) -> bool:
    """Whether a helper is worth starting: several chunks into a SQLite file, with an
    SQLite that can attach a database inside a transaction."""
    database = conn.engine.url.database
    if conn.dialect.name != "sqlite" or not database or database == ":memory:":
        return False
    if recipe.chunks < 2:
        return False
    probe = sqlite3.connect(":memory:", isolation_level=None)
    try:
        probe.execute("BEGIN")
        probe.execute("ATTACH DATABASE ':memory:' AS probe")
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()
    return True


class Helper:
    """The helper process and its files; use as a context manager around the load."""

    def __init__(self, conn: Connection, recipe: Recipe) -> None:
        folder = Path(str(conn.engine.url.database)).resolve().parent
        handle, name = tempfile.mkstemp(prefix=".demo-", suffix=".db", dir=folder)
        os.close(handle)
        self.path = Path(name)
        self._job = Path(f"{name}.job")
        self._log = Path(f"{name}.log")
        tables = ", ".join(f"'{table}'" for table in TABLES)
        schema = conn.execute(
            text(
                f"SELECT sql FROM sqlite_master WHERE tbl_name IN ({tables}) "
                "AND sql IS NOT NULL ORDER BY type = 'index', name"
            )
        ).scalars()
        self._job.write_bytes(pickle.dumps((recipe, list(schema))))
        package_root = str(Path(__file__).resolve().parents[2])  # the folder holding crmlib/
        path = os.pathsep.join(filter(None, (package_root, os.environ.get("PYTHONPATH"))))
        with self._log.open("wb") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "crmlib.demo.scratch", name, str(self._job)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env={**os.environ, "PYTHONPATH": path},
            )

    def __enter__(self) -> Helper:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._job.unlink(missing_ok=True)
        self._log.unlink(missing_ok=True)
        if kind is not None:
            self.path.unlink(missing_ok=True)  # once attached, the load deletes it

    def merge(self, bulk: Bulk, expected: dict[str, int]) -> None:
        """Wait for the helper, then copy its tables into the load's transaction; the row
        counts must be those the main process generated (``expected``)."""
        if self._process.wait() != 0:
            lines = self._log.read_text(errors="replace").splitlines()[-ERROR_LINES:]
            raise RuntimeError("the demo helper process failed:\n" + "\n".join(lines))
        written = json.loads(self._job.read_text())
        if any(written.get(t, 0) != expected.get(t, 0) for t in TABLES):
            raise RuntimeError(f"the demo helper wrote {written}, expected {expected}")
        bulk.attach(self.path, SCRATCH)
        for table in TABLES:
            bulk.connection.execute(
                text(f"INSERT INTO main.{table} SELECT * FROM {SCRATCH}.{table}")
            )
