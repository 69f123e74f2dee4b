"""The helper process of a large SQLite load (see :mod:`.helper`), run as
``python -m crmlib.demo.scratch SCRATCH JOB``.

It reads the recipe and the schema from the JOB file, writes the helper's tables into the
SCRATCH database, builds their indexes, and writes the rows per table back to JOB as JSON.
"""

from __future__ import annotations

import json
import pickle
import sys
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import create_engine, text

from .batches import Recipe, batches
from .helper import TABLES
from .writer import Writer


def write_scratch(recipe: Recipe, path: Path, schema: Sequence[str]) -> dict[str, int]:
    """Write :data:`.helper.TABLES` of ``recipe`` into a new SQLite file with the main
    database's ``schema`` for them; returns the rows written per table."""
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        driver = conn.connection.driver_connection
        assert driver is not None
        driver.execute("PRAGMA journal_mode=OFF")  # a scratch file: dropped on failure anyway
        driver.execute("PRAGMA synchronous=OFF")
        with conn.begin():
            for statement in schema:
                conn.execute(text(statement))
            writer = Writer(conn, TABLES)
            for batch in batches(recipe):
                for table in TABLES:
                    if table in batch.tables:
                        writer.write(table, batch.tables[table])
            writer.finish()
    engine.dispose()
    return writer.counts


def main(scratch: str, job: str) -> None:
    recipe, schema = pickle.loads(Path(job).read_bytes())
    counts = write_scratch(recipe, Path(scratch), schema)
    Path(job).write_text(json.dumps(counts))


if __name__ == "__main__":
    main(*sys.argv[1:])
