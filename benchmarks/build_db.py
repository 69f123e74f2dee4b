"""Build a demo CRM database of a given size and record how long it took.

    python benchmarks/build_db.py --customers 100000 [--url URL] [--seed 42] [--progress]

Without ``--url`` a fresh SQLite file is made in ``benchmarks/work/`` (ignored by git);
a URL must name an empty CRM database. Prints one results row and appends it as JSON to
``benchmarks/results.jsonl``. Peak memory is the resident maximum of this process and of
the helper process a large SQLite load starts (a PostgreSQL server's memory is not
included). CPU time (both processes, imports included) does not depend on other work on
the machine; the load average at the start tells whether there was any.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, text

from crmlib.demo import generate
from crmlib.store import make_engine

HERE = Path(__file__).resolve().parent
WORK = HERE / "work"
RESULTS = HERE / "results.jsonl"
COLUMNS = ("customers", "rows", "seconds", "cpu_s", "peak_mb", "helper_mb", "db_mb", "backend")


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--url", help="an empty database (default: a new SQLite file in work/)")
    parser.add_argument("--progress", action="store_true", help="show a progress bar")
    args = parser.parse_args(argv)

    url = args.url
    if url is None:
        WORK.mkdir(exist_ok=True)
        path = WORK / f"demo-{args.customers}-seed{args.seed}.db"
        for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            stale.unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    engine = make_engine(url)
    load = os.getloadavg()[0]
    started = time.perf_counter()
    counts = generate(engine, customers=args.customers, seed=args.seed, progress=args.progress)
    seconds = time.perf_counter() - started
    backend = engine.dialect.name
    size = _size_mb(engine)

    own, helper = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    result: dict[str, object] = {
        "customers": args.customers,
        "rows": sum(counts.values()),
        "seconds": round(seconds, 1),
        "cpu_s": round(own.ru_utime + own.ru_stime + helper.ru_utime + helper.ru_stime, 1),
        "peak_mb": round(own.ru_maxrss / 1024),
        "helper_mb": round(helper.ru_maxrss / 1024),
        "db_mb": round(size),
        "backend": backend,
        "seed": args.seed,
        "load_average": round(load, 2),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "tables": counts,
    }
    print(" | ".join(f"{c:>9}" for c in COLUMNS))
    print(" | ".join(f"{result[c]!s:>9}" for c in COLUMNS))
    with RESULTS.open("a", encoding="utf-8") as out:
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
    return result


def _size_mb(engine: Engine) -> float:
    """Size of the database; disposes the engine (SQLite folds its WAL back in on close)."""
    if engine.dialect.name == "sqlite":
        engine.dispose()
        return Path(str(engine.url.database)).stat().st_size / 2**20
    with engine.connect() as conn:
        size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
    engine.dispose()
    return float(size) / 2**20


if __name__ == "__main__":
    main()
