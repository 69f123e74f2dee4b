"""Time the whole KPI catalogue for one dashboard (``ws.kpis(period=...)``) against a naive
approach that reads the tables into pandas and computes the same figures there.

    python benchmarks/kpis.py --customers 100000 [--seed 42] [--period 2025-Q4]
    python benchmarks/kpis.py --customers 100000 --postgres   # a throwaway local server
    python benchmarks/kpis.py --customers 100000 --role manager  # as the largest team's manager

Without ``--url`` the demo database is ``benchmarks/work/kpis-<N>-seed<S>.db`` (ignored by
git), built on first use and reused while it holds exactly N customers; ``--postgres``
starts a temporary PostgreSQL server (as the tests do) and builds the demo there. A
``--url`` must name a database holding that demo, or an empty one.

``--role`` runs the catalogue as a user of that role with the most customers in scope
(``manager``: the manager of the largest team; ``sales``: the busiest rep), or ``--user``
as a named user; the naive values are then those of the same user's customers.

``--against DIR`` compares two versions of the code in one run: DIR holds another tree
(``git archive <commit> | tar -x -C DIR``); the catalogue of DIR's crmlib and of this tree's
are timed in turns, each in a fresh process on the same database, ``--rounds`` times, and
the medians of the best elapsed and of the CPU seconds are printed with their ratio
(this tree over DIR's):

    python benchmarks/kpis.py --customers 100000 --against /tmp/before --rounds 6

The catalogue is timed ``--repeat`` times (first run and best run are reported). The naive
approach is the test suite's pandas reference (:mod:`tests.analytics.test_kpi`): it reads
every table a KPI needs with ``SELECT *`` and computes each figure in pandas; its values are
compared with the catalogue's, so the run also checks the figures at scale. Prints one
results row and appends it as JSON to ``benchmarks/results.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import aliased

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the tests package holds the pandas reference

import crmlib  # noqa: E402
from crmlib.analytics.filters import Filters  # noqa: E402
from crmlib.demo import generate  # noqa: E402
from crmlib.settings import get_setting  # noqa: E402
from crmlib.store import make_engine  # noqa: E402
from crmlib.store.migrate import current_revision, head_revision, upgrade  # noqa: E402
from crmlib.store.models import Customer, User  # noqa: E402
from tests.analytics.test_kpi import Demo, read_tables, reference  # noqa: E402

WORK = HERE / "work"
RESULTS = HERE / "results.jsonl"
COLUMNS = (
    "customers",
    "backend",
    "user",
    "kpis_first_s",
    "kpis_s",
    "kpis_cpu_s",
    "naive_s",
    "read_s",
    "speedup",
    "load_average",
)


def _ensure_demo(url: str, customers: int, seed: int) -> float | None:
    """Generate the demo unless the database holds it already; the build time, or None."""
    engine = make_engine(url)
    try:
        if current_revision(engine) not in (None, head_revision()):
            upgrade(engine)
        if current_revision(engine) is not None:
            with engine.connect() as conn:
                present = conn.execute(select(func.count()).select_from(Customer)).scalar_one()
            if present == customers:
                return None
            if present:
                raise SystemExit(f"error: {url} holds {present} customers, not a {customers} demo")
        started = time.perf_counter()
        generate(engine, customers=customers, seed=seed)
        return time.perf_counter() - started
    finally:
        engine.dispose()


def _busiest(url: str, role: str) -> str:
    """The user of ``role`` with the most customers in scope: a manager through the
    team, anyone else through the customers they own."""
    owner = aliased(User, name="owner")
    scoped = owner.team == User.team if role == "manager" else owner.id == User.id
    stmt = (
        select(User.username)
        .join(owner, scoped)
        .join(Customer, Customer.owner_id == owner.id)
        .where(User.role == role, Customer.merged_into_id.is_(None))
        .group_by(User.id, User.username)
        .order_by(func.count().desc(), User.username)
        .limit(1)
    )
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            found = conn.execute(stmt).scalar()
    finally:
        engine.dispose()
    if found is None:
        raise SystemExit(f"error: no {role} owns or manages customers in {url}")
    return str(found)


def _naive(url: str, filters: Filters, user: str) -> tuple[dict[str, float], float, float]:
    """Read the tables into pandas and compute every KPI there: values, read and total time."""
    started = time.perf_counter()
    tables = read_tables(url)
    read = time.perf_counter() - started
    assert filters.start is not None and filters.end is not None
    ref = reference(
        Demo(url, tables, "", ""),
        user,
        start=pd.Timestamp(filters.start),
        end=pd.Timestamp(filters.end),
    )
    with crmlib.open(url, user="admin") as ws, ws.ctx.reading() as conn:
        ref.sales_cost = float(get_setting(conn, "sales_cost_per_month"))
    values = {
        kpi_id: float(getattr(ref, kpi_id)())
        for kpi_id in crmlib.analytics.kpi.CATALOGUE
        if kpi_id != "stage_days"
    }
    for stage, days in ref.stage_days().items():
        values[f"stage_days.{stage}"] = float(days)
    return values, read, time.perf_counter() - started


def _catalogue(frame: pd.DataFrame) -> dict[str, float]:
    return {
        f"{kpi_id}.{stage}" if isinstance(stage, str) else kpi_id: float(value)
        for kpi_id, stage, value in zip(frame["id"], frame["stage"], frame["value"], strict=True)
    }


def _differences(ours: dict[str, float], naive: dict[str, float]) -> dict[str, Any]:
    """KPIs whose values differ by more than a rounding error."""
    wrong = {}
    for key, want in naive.items():
        got = ours.get(key, math.nan)
        if math.isnan(want) and math.isnan(got):
            continue
        if not math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-6):
            wrong[key] = [got, want]
    return wrong


#: Run in a fresh process with a tree's root first on the path: that tree's catalogue,
#: ``repeat`` times after a warm-up, as JSON (best elapsed, CPU of the best CPU run).
TIMING = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
import crmlib
url, user, period, repeat = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
with crmlib.open(url, user=user, lang="en") as ws:
    ws.kpis(period=period)
    times, cpu = [], []
    for _ in range(repeat):
        started, used = time.perf_counter(), time.process_time()
        ws.kpis(period=period)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - used)
print(json.dumps({"s": min(times), "cpu_s": min(cpu), "crmlib": crmlib.__file__}))
"""


def _against(other: Path, url: str, user: str, args: argparse.Namespace) -> dict[str, Any]:
    """This tree's catalogue against ``other``'s, timed in turns (each in its own process,
    alternating which goes first): medians and the ratio this / other."""
    trees = {"before": other.resolve(), "after": HERE.parent}
    runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
    for n in range(args.rounds):
        for side in ("before", "after") if n % 2 == 0 else ("after", "before"):
            command = [sys.executable, "-c", TIMING, str(trees[side]), url, user, args.period]
            done = subprocess.run(
                [*command, str(args.repeat)], capture_output=True, text=True, check=True
            )
            runs[side].append(json.loads(done.stdout.strip().splitlines()[-1]))
    for side, tree in trees.items():  # each side really ran its own tree's code
        assert all(r["crmlib"].startswith(str(tree)) for r in runs[side]), (side, runs[side])
    median = {
        side: {k: statistics.median(r[k] for r in rs) for k in ("s", "cpu_s")}
        for side, rs in runs.items()
    }
    return {
        "before_s": round(median["before"]["s"], 3),
        "after_s": round(median["after"]["s"], 3),
        "ratio_s": round(median["after"]["s"] / median["before"]["s"], 3),
        "before_cpu_s": round(median["before"]["cpu_s"], 3),
        "after_cpu_s": round(median["after"]["cpu_s"], 3),
        "ratio_cpu_s": round(median["after"]["cpu_s"] / median["before"]["cpu_s"], 3),
        "rounds": args.rounds,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--period", default="2025-Q4", help="the dashboard's period")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--url", help="a database with this demo, or an empty one")
    parser.add_argument("--postgres", action="store_true", help="use a throwaway local server")
    who = parser.add_mutually_exclusive_group()
    who.add_argument("--role", choices=("admin", "manager", "sales"), default="admin")
    who.add_argument("--user", help="run the catalogue as this user")
    parser.add_argument("--skip-naive", action="store_true", help="time the catalogue only")
    parser.add_argument("--against", type=Path, help="a tree of another version to compare")
    parser.add_argument("--rounds", type=int, default=6, help="turns of each with --against")
    args = parser.parse_args(argv)

    server = None
    url = args.url
    if args.postgres:
        from tests.pgserver import PgServer

        server = PgServer()
        admin = create_engine(server.start(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE kpis TEMPLATE template0 ENCODING 'UTF8'"))
        url = admin.url.set(database="kpis").render_as_string(hide_password=False)
        admin.dispose()
    if url is None:
        WORK.mkdir(exist_ok=True)
        url = f"sqlite:///{WORK / f'kpis-{args.customers}-seed{args.seed}.db'}"
    try:
        load = os.getloadavg()[0]
        build_s = _ensure_demo(url, args.customers, args.seed)
        user = args.user or ("admin" if args.role == "admin" else _busiest(url, args.role))
        if args.against is not None:
            compared = _against(args.against, url, user, args)
            compared.update(benchmark="kpis_against", customers=args.customers, user=user)
            compared.update(load_average=round(load, 2), at=datetime.now(UTC).isoformat())
            print(json.dumps(compared))
            with RESULTS.open("a", encoding="utf-8") as out:
                out.write(json.dumps(compared, ensure_ascii=False) + "\n")
            return compared
        with crmlib.open(url, user=user, lang="en") as ws:
            backend = ws.engine.dialect.name
            times, cpu = [], []
            for _ in range(args.repeat):
                started, used = time.perf_counter(), time.process_time()
                frame = ws.kpis(period=args.period)
                times.append(time.perf_counter() - started)
                cpu.append(time.process_time() - used)
            per_kpi = {}
            for kpi_id in crmlib.analytics.kpi.CATALOGUE:
                started = time.perf_counter()
                ws.kpi(kpi_id, period=args.period)
                per_kpi[kpi_id] = round(time.perf_counter() - started, 3)
        naive_s = read_s = None
        wrong: dict[str, Any] = {}
        if not args.skip_naive:
            naive, read_s, naive_s = _naive(url, Filters.of(args.period), user)
            wrong = _differences(_catalogue(frame), naive)
    finally:
        if server is not None:
            server.stop()

    usage = resource.getrusage(resource.RUSAGE_SELF)
    result: dict[str, Any] = {
        "benchmark": "kpis",
        "customers": args.customers,
        "seed": args.seed,
        "backend": backend,
        "period": args.period,
        "user": user,
        "build_s": None if build_s is None else round(build_s, 1),
        "kpis_first_s": round(times[0], 3),
        "kpis_s": round(min(times), 3),
        # CPU seconds of this process's threads in the best run: on SQLite the work itself
        # (PostgreSQL's is in the server), which a busy machine inflates less than the
        # elapsed time.
        "kpis_cpu_s": round(min(cpu), 3),
        "naive_s": None if naive_s is None else round(naive_s, 2),
        "read_s": None if read_s is None else round(read_s, 2),
        "speedup": None if naive_s is None else round(naive_s / min(times), 1),
        "mismatches": wrong,
        "per_kpi_s": per_kpi,
        "peak_mb": round(usage.ru_maxrss / 1024),
        "load_average": round(load, 2),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    print(" | ".join(f"{c:>12}" for c in COLUMNS))
    print(" | ".join(f"{result[c]!s:>12}" for c in COLUMNS))
    if wrong:
        print(f"values differing from the naive computation: {wrong}")
    with RESULTS.open("a", encoding="utf-8") as out:
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
    return result


if __name__ == "__main__":
    main()
