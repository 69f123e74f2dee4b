"""Time the duplicate scan on a demo database and score it against the planted duplicates.

    python benchmarks/dedupe.py --customers 100000 [--seed 42] [--url URL] [--min-score 80]

Without ``--url`` the demo database is ``benchmarks/work/dedupe-<N>-seed<S>.db`` (ignored
by git), built on first use and reused while it holds exactly N customers. A ``--url``
must name a database holding that demo, or an empty one (the demo is then generated into
it). The demo's duplicates come from ``crmlib.demo.injected_duplicates``, recomputed from
N and the seed, so nothing the scan could see tells it the answer.

Precision counts a reported pair as right when both customers are copies of one original
(two copies of one customer are a true pair too); recall counts the planted (original,
copy) pairs reported. The entry check is timed too: ``--checks`` customers are re-entered
with another legal form and their phone, and each lookup is timed. Prints one results row
and appends it as JSON to ``benchmarks/results.jsonl``; the load average at the start
tells whether the machine was busy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

import crmlib
from crmlib.demo import generate, injected_duplicates
from crmlib.quality.duplicates import Duplicates, clusters
from crmlib.store.models import Contact, Customer

HERE = Path(__file__).resolve().parent
WORK = HERE / "work"
RESULTS = HERE / "results.jsonl"
COLUMNS = (
    "customers",
    "build_s",
    "scan_s",
    "cpu_s",
    "pairs",
    "precision",
    "recall",
    "check_ms_p50",
    "check_ms_p95",
    "backend",
)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--url", help="a database with this demo, or an empty one")
    parser.add_argument("--min-score", type=float, default=80)
    parser.add_argument("--checks", type=int, default=100, help="entry checks to time")
    parser.add_argument("--progress", action="store_true", help="show progress bars")
    args = parser.parse_args(argv)

    url = args.url or f"sqlite:///{WORK / f'dedupe-{args.customers}-seed{args.seed}.db'}"
    WORK.mkdir(exist_ok=True)
    load = os.getloadavg()[0]
    build_s = _ensure_demo(url, args.customers, args.seed, args.progress)

    with crmlib.open(url, user="admin", lang="en") as ws:
        duplicates = Duplicates(ws.ctx)
        started, cpu = time.perf_counter(), time.process_time()
        pairs = duplicates.scan(min_score=args.min_score, progress=args.progress)
        scan_s, cpu_s = time.perf_counter() - started, time.process_time() - cpu
        groups = clusters(pairs)
        check_ms, check_hits = _time_checks(ws, duplicates, args.checks, args.seed)
        backend = ws.engine.dialect.name

    truth = injected_duplicates(args.customers, args.seed)
    precision, recall = _score(pairs, truth)
    result: dict[str, Any] = {
        "benchmark": "dedupe",
        "customers": args.customers,
        "seed": args.seed,
        "backend": backend,
        "build_s": None if build_s is None else round(build_s, 1),
        "scan_s": round(scan_s, 1),
        "cpu_s": round(cpu_s, 1),
        "min_score": args.min_score,
        "pairs": len(pairs),
        "clusters": int(groups["cluster"].nunique()) if len(groups) else 0,
        "true_pairs": len(truth),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "check_ms_p50": round(statistics.median(check_ms), 1) if check_ms else None,
        "check_ms_p95": round(_percentile(check_ms, 95), 1) if check_ms else None,
        "check_found": round(check_hits / len(check_ms), 3) if check_ms else None,
        "blocking": pairs.attrs.get("blocking", {}),
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "load_average": round(load, 2),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    print(" | ".join(f"{c:>12}" for c in COLUMNS))
    print(" | ".join(f"{result[c]!s:>12}" for c in COLUMNS))
    with RESULTS.open("a", encoding="utf-8") as out:
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
    return result


def _ensure_demo(url: str, customers: int, seed: int, progress: bool) -> float | None:
    """Generate the demo unless the database holds it already; the build time, or None."""
    with crmlib.open(url, user="admin") as ws:
        with ws.engine.connect() as conn:  # closed before generating: it would hold a lock
            present = conn.execute(select(func.count()).select_from(Customer)).scalar_one()
        if present == customers:
            return None
        if present:
            raise SystemExit(f"error: {url} holds {present} customers, not a {customers} demo")
        started = time.perf_counter()
        generate(ws.engine, customers=customers, seed=seed, progress=progress)
        return time.perf_counter() - started


def _time_checks(
    ws: crmlib.Workspace, duplicates: Duplicates, count: int, seed: int
) -> tuple[list[float], int]:
    """Re-enter ``count`` random customers with another legal form and their phone; the
    milliseconds each check took, and how many found the customer."""
    with ws.engine.connect() as conn:
        last = conn.execute(select(func.max(Customer.id))).scalar_one() or 0
        picks = random.Random(seed).sample(range(1, last + 1), min(count, last))
        rows = conn.execute(
            select(Customer.code, Customer.name, Customer.kind, Customer.city, Contact.phone)
            .join(Contact, (Contact.customer_id == Customer.id) & Contact.is_primary.is_(True))
            .where(Customer.id.in_(picks))
        ).all()
    times: list[float] = []
    hits = 0
    for code, name, kind, city, phone in rows:
        typed = name.replace("有限公司", "股份有限公司") if kind == "company" else name
        started = time.perf_counter()
        matches = duplicates.check({"name": typed, "kind": kind, "city": city, "phone": phone})
        times.append((time.perf_counter() - started) * 1000)
        hits += code in {m.code for m in matches}
    return times, hits


def _score(pairs: Any, truth: list[tuple[str, str]]) -> tuple[float, float]:
    """Precision (reported pairs within one planted customer) and recall (planted pairs
    reported)."""
    parent: dict[str, str] = {}

    def root(code: str) -> str:
        while parent.get(code, code) != code:
            code = parent[code]
        return code

    for original, copy in truth:
        parent[root(copy)] = root(original)
    found = {frozenset(p) for p in zip(pairs["code_a"], pairs["code_b"], strict=True)}
    right = sum(root(a) == root(b) for a, b in (tuple(p) for p in found))
    hit = sum(frozenset(p) in found for p in truth)
    return (right / len(found) if found else 1.0), (hit / len(truth) if truth else 1.0)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share / 100 * (len(ordered) - 1)))]


if __name__ == "__main__":
    main()
