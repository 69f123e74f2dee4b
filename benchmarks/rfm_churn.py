"""Time RFM (per customer and the segment summary) and churn risk (train with its holdout,
then score and tag, twice: the second run finds nothing to change) on a demo database.

    python benchmarks/rfm_churn.py --customers 100000 [--seed 42]
    python benchmarks/rfm_churn.py --customers 100000 --url postgresql://user@host/db

Without ``--url`` the demo database is ``benchmarks/work/rfm-<N>-seed<S>.db`` (ignored by
git), built on first use and reused while it holds exactly N customers. The as-of day is
the demo's last day, so the figures are those of a full history. Prints one results row
and appends it as JSON to ``benchmarks/results.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

import crmlib
from crmlib.demo import generate
from crmlib.store import make_engine
from crmlib.store.migrate import current_revision, head_revision, upgrade
from crmlib.store.models import Customer

HERE = Path(__file__).resolve().parent
WORK = HERE / "work"
RESULTS = HERE / "results.jsonl"
START = date(2024, 1, 1)
AS_OF = date(2025, 12, 31)  # the demo's last day for START
COLUMNS = ("customers", "backend", "rfm_s", "summary_s", "train_s", "score_s", "rescore_s", "auc")


def _ensure_demo(url: str, customers: int, seed: int) -> float | None:
    """Generate the demo unless the database holds it already; the build time, or None."""
    engine = make_engine(url)
    try:
        if current_revision(engine) not in (None, head_revision()):
            upgrade(engine)
        if current_revision(engine) is not None:
            with engine.connect() as conn:
                have = conn.execute(select(func.count()).select_from(Customer)).scalar_one()
            if have == customers:
                return None
        began = time.perf_counter()
        generate(engine, customers=customers, seed=seed, start=START, progress=True)
        return time.perf_counter() - began
    finally:
        engine.dispose()


def _timed(work: Callable[[], Any]) -> tuple[Any, float]:
    began = time.perf_counter()
    result = work()
    return result, round(time.perf_counter() - began, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--url", help="a database holding the demo, or an empty one")
    args = parser.parse_args()
    WORK.mkdir(exist_ok=True)
    url = args.url or f"sqlite:///{WORK / f'rfm-{args.customers}-seed{args.seed}.db'}"
    build = _ensure_demo(url, args.customers, args.seed)
    load = os.getloadavg()[0]
    with crmlib.open(url, user="admin", lang="en") as ws:
        frame, rfm_s = _timed(lambda: ws.segments.rfm(as_of=AS_OF))
        _, summary_s = _timed(lambda: ws.segments.rfm_summary(as_of=AS_OF))
        model, train_s = _timed(lambda: ws.churn.train(as_of=AS_OF))
        scored, score_s = _timed(lambda: ws.churn.score(model, as_of=AS_OF))
        again, rescore_s = _timed(lambda: ws.churn.score(model, as_of=AS_OF))
        backend = ws.engine.dialect.name
    result = {
        "benchmark": "rfm_churn",
        "customers": args.customers,
        "seed": args.seed,
        "backend": backend,
        "as_of": AS_OF.isoformat(),
        "build_s": None if build is None else round(build, 1),
        "rfm_s": rfm_s,
        "rfm_customers": len(frame),
        "summary_s": summary_s,
        "train_s": train_s,
        "auc": None if model.auc is None else round(model.auc, 3),
        "train_rows": model.train_rows,
        "test_rows": model.test_rows,
        "score_s": score_s,
        "scored": scored.scored,
        "at_risk": scored.at_risk,
        "rescore_s": rescore_s,
        "rescore_changed": again.changed,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        "load_average": round(load, 2),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "horizon_days": (AS_OF - model.test_cutoff) // timedelta(days=1),
    }
    print("  ".join(f"{c}={result[c]}" for c in COLUMNS))
    with RESULTS.open("a", encoding="utf-8") as out:
        out.write(json.dumps(result, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
