"""Time the dashboards as a manager sees them: Voila's time to the first chart of the KPI
dashboard, beside a one-cell notebook on the same Voila (the floor of the stack), and the
papermill time of the whole scheduled batch.

    python benchmarks/dashboards.py --customers 100000 [--loads 5] [--period 2025-Q4]
    python benchmarks/dashboards.py --customers 1000000 --skip-batch
    python benchmarks/dashboards.py --customers 100000 --skip-voila     # the batch only
    python benchmarks/dashboards.py --customers 100000 --memory 200     # memory, 200 loads
    python benchmarks/dashboards.py --customers 100000 --memory 40 --unfixed

Voila is started the way ``crm dashboards`` starts it (:mod:`crmlib.reporting.voila`:
the CRM template, pre-heated kernels, sources stripped) on a free port of 127.0.0.1, with
a temporary root holding copies of ``notebooks/reports`` and a one-cell floor notebook.
The dashboards read a copy of the demo database ``benchmarks/work/kpis-<N>-seed<S>.db``
(``benchmarks/kpis.py`` builds it; it is never written here):
``benchmarks/work/dashboards-<N>-seed<S>.db``, made with SQLite's backup API when missing
or older than the demo, and brought to this crmlib's schema. Before each page load the
script waits until every notebook has its pre-heated kernel and the server with all its
kernels has used less than 3 % of a core for 1.5 s: the kernels have done their work
ahead of a request (imports) and are waiting for one.

Each load opens a new browser context (an empty cache, as a first visit) in Debian's
headless Chromium through Playwright, with every request to a host other than localhost
refused. Times are taken in the page (``performance.now()``, from the start of the
navigation) by a mutation observer: the first Vega mark of a chart, the headline numbers,
all the dashboard's charts drawn, and the floor notebook's output. First and median of
``--loads`` loads are reported.

The batch runs every entry of ``parameters/schedule.yaml`` as ``crm report due`` runs it
(one :class:`crmlib.reporting.Runner`: quality gates, papermill, HTML, PDF, Excel) against
the same copy (each run is recorded in it), writing into a temporary folder. Prints one
results row and appends it as JSON to ``benchmarks/results.jsonl``.

``--memory N`` measures instead what the server holds after N page loads of the KPI
dashboard, one after the other as fast as they render (each in a new context, closed by
navigating away once its charts are drawn, as a person leaves a page): the proportional
set size (PSS: shared pages split between the processes sharing them) and the resident set
size of the server and all its kernels, summed over the process tree, every 10 loads and
once more after the server settled (at most 60 s until it runs one kernel per notebook).
``--unfixed`` serves the pages as Voila alone does (a closed page's shutdown request is
refused for want of its ``_xsrf`` cookie) and culls no idle kernel: the memory before the
fix, to compare. Without ``--unfixed`` the server culls idle kernels of closed pages after
``crmlib.serving.IDLE_KERNEL_SECONDS`` (600 s), longer than the run, so what stays flat
is the pages' own shutdown.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "work"
RESULTS = HERE / "results.jsonl"
REPORTS = ROOT / "notebooks" / "reports"
SCHEDULE = ROOT / "parameters" / "schedule.yaml"
CHROMIUM = "/usr/bin/chromium"
LOCAL = {"127.0.0.1", "localhost"}
PAGE_TIMEOUT_MS = int(os.environ.get("CRM_BENCH_TIMEOUT_MS", 180_000))
FLOOR = "floor.ipynb"
COLUMNS = ("customers", "chart_first_s", "chart_s", "headline_s", "floor_s", "batch_s")
MEMORY_COLUMNS = (
    "customers",
    "fixed",
    "memory_loads",
    "start_pss_mb",
    "peak_pss_mb",
    "settled_pss_mb",
    "settled_kernels",
)

#: Seconds from the start of the navigation (``performance.now()``) at which each probe's
#: selector first matched, recorded in the page into ``window.__crm``.
PROBES = {
    "chart": "[id^=crm-chart-] svg [class*=mark-] > *, [id^=crm-chart-] canvas",
    "headline": "[data-kpi]",
    "floor": ".crm-floor",
}
OBSERVER = """
(() => {
  const probes = $PROBES;
  window.__crm = {};
  const check = () => {
    for (const [name, selector] of Object.entries(probes)) {
      if (!(name in window.__crm) && document.querySelector(selector)) {
        window.__crm[name] = performance.now() / 1000;
      }
    }
    const charts = [...document.querySelectorAll("[id^=crm-chart-]")];
    if (charts.length && !("charts" in window.__crm) && window.__crm_expected &&
        charts.length >= window.__crm_expected &&
        charts.every(c => c.querySelector("svg [class*=mark-] > *, canvas"))) {
      window.__crm.charts = performance.now() / 1000;
    }
  };
  new MutationObserver(check).observe(document, {childList: true, subtree: true});
})();
""".replace("$PROBES", json.dumps(PROBES))

FLOOR_NOTEBOOK = {
    "cells": [
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "floor-0",
            "metadata": {},
            "outputs": [],
            "source": "from IPython.display import HTML\n"
            "HTML('<div class=\"crm-floor\">floor</div>')",
        }
    ],
    "metadata": {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    },
    "nbformat": 4,
    "nbformat_minor": 5,
}

sys.path.insert(0, str(ROOT))  # the tests package starts local servers

from crmlib.reporting import voila  # noqa: E402
from crmlib.reporting.exporting import CHROMIUM_ARGS  # noqa: E402
from crmlib.serving import guard  # noqa: E402
from tests.servers import free_port, running  # noqa: E402

# -- the server's processes ---------------------------------------------------------------


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def _cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def _kernels(pid: int) -> set[int]:
    found = set()
    for child in _descendants(pid)[1:]:
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"ipykernel" in command:
            found.add(child)
    return found


def wait_until_ready(
    server: int, kernels: int, seen: set[int], *, window: float = 1.5, timeout: float = 600
) -> float:
    """Wait until the server runs at least ``kernels`` kernels, at least one of them not in
    ``seen`` when ``seen`` is given (the pool's refill after a page took its kernel), and
    the server with all its kernels has been all but idle for ``window`` seconds; the
    seconds waited."""
    started = time.monotonic()
    while True:
        now = _kernels(server)
        if len(now) >= kernels and (not seen or now - seen):
            pids = _descendants(server)
            before = _cpu_seconds(pids)
            time.sleep(window)
            if _cpu_seconds(pids) - before < 0.03 * window and _kernels(server) == now:
                seen |= now
                return time.monotonic() - started
        else:
            time.sleep(0.2)
        if time.monotonic() - started > timeout:
            raise SystemExit(f"error: the pre-heated kernels were not ready in {timeout} s")


def _memory_mb(pid: int) -> dict[str, float]:
    """PSS and RSS (MB) summed over ``pid`` and its descendants, and its kernels."""
    pss = rss = 0
    for member in _descendants(pid):
        try:
            for line in Path(f"/proc/{member}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += int(line.split()[1])
                elif line.startswith("Rss:"):
                    rss += int(line.split()[1])
        except OSError:
            continue
    return {"pss_mb": round(pss / 1024), "rss_mb": round(rss / 1024), "kernels": len(_kernels(pid))}


@contextmanager
def serving(
    url: str, root: Path, log: Path, extra: list[str], *, fixed: bool = True
) -> Iterator[tuple[str, subprocess.Popen[bytes], str]]:
    """Voila serving ``root`` as ``crm dashboards`` does, as the demo's administrator, with
    the ``extra`` options (experiments): its address, process and token. ``fixed=False``:
    closed pages keep their kernels and no kernel is culled (as before the fix)."""
    runtime = Path(tempfile.mkdtemp(prefix="crm-bench-voila-"))
    voila.write_template(runtime, shutdown_kernels=fixed)
    port = free_port()
    try:
        with guard(idle_timeout=600 if fixed else 0) as guarded:
            env = guarded.environment(voila.environment(runtime, url, "admin"))
            env.pop("JUPYTERHUB_USER", None)
            with running(
                [*voila.command(root, guarded, port=port), *extra],
                port=port,
                env=env,
                cwd=root,
                log=log,
                token=guarded.token,
            ) as process:
                yield f"http://127.0.0.1:{port}/", process, guarded.token
    finally:
        shutil.rmtree(runtime, ignore_errors=True)


def _load(
    browser: Any, url: str, wanted: tuple[str, ...], charts: int, *, leave: bool = False
) -> dict[str, float]:
    """Open ``url`` in a fresh context and wait for the probes ``wanted``: their times.
    ``leave``: navigate away before closing the context (the page's unload runs)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    elsewhere: list[str] = []

    def local_only(route: Any) -> None:
        request_url = route.request.url
        if request_url.startswith(("data:", "blob:")) or urlparse(request_url).hostname in LOCAL:
            route.continue_()
        else:
            elsewhere.append(request_url)
            route.abort()

    context.route("**/*", local_only)
    context.add_init_script(f"window.__crm_expected = {charts};\n{OBSERVER}")
    page = context.new_page()
    try:
        page.goto(url, wait_until="commit", timeout=PAGE_TIMEOUT_MS)
        condition = " && ".join(f"window.__crm && ('{name}' in window.__crm)" for name in wanted)
        try:
            page.wait_for_function(condition, timeout=PAGE_TIMEOUT_MS, polling=50)
        except Exception as exc:
            page.screenshot(path=str(WORK / "dashboards-timeout.png"), full_page=True)
            reached = page.evaluate("window.__crm")
            raise SystemExit(f"error: {url} showed only {reached}: {exc}") from None
        times: dict[str, float] = page.evaluate("window.__crm")
        if leave:
            # Playwright's request interception drops the beacon a page sends as it
            # unloads (its kernel's shutdown request): stop intercepting first.
            context.unroute("**/*")
            page.goto("about:blank")
    finally:
        context.close()
    if elsewhere:
        raise SystemExit(f"error: the page asked other hosts for {elsewhere}")
    return {name: round(value, 3) for name, value in times.items()}


def _summary(loads: list[dict[str, float]], name: str) -> tuple[float, float]:
    values = [load[name] for load in loads]
    return values[0], round(statistics.median(values), 3)


def time_voila(
    url: str, customers: int, period: str, loads: int, extra: list[str]
) -> dict[str, Any]:
    """First and median times of ``loads`` page loads of the KPI dashboard and the floor."""
    from playwright.sync_api import sync_playwright

    from crmlib import open as open_workspace

    with open_workspace(url, user="admin", lang="zh") as ws:
        expected_charts = len(ws.reports.build("kpi_dashboard", period=period).charts)
    root = Path(tempfile.mkdtemp(prefix="crm-bench-root-"))
    try:
        for notebook in REPORTS.glob("*.ipynb"):
            shutil.copy(notebook, root / notebook.name)
        (root / FLOOR).write_text(json.dumps(FLOOR_NOTEBOOK, indent=1), encoding="utf-8")
        notebooks = len(list(root.glob("*.ipynb")))
        with (
            serving(url, root, WORK / f"dashboards-{customers}-voila.log", extra) as (
                base,
                server,
                token,
            ),
            sync_playwright() as playwright,
        ):
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
            seen: set[int] = set()
            ready_s = wait_until_ready(server.pid, notebooks, seen)
            dashboard, floor, waits = [], [], []
            for _ in range(loads):
                page = f"{base}voila/render/kpi_dashboard.ipynb?period={period}&token={token}"
                probes = ("chart", "headline", "charts")
                dashboard.append(_load(browser, page, probes, expected_charts))
                waits.append(round(wait_until_ready(server.pid, notebooks, seen), 1))
                floor_page = f"{base}voila/render/{FLOOR}?token={token}"
                floor.append(_load(browser, floor_page, ("floor",), 0))
                waits.append(round(wait_until_ready(server.pid, notebooks, seen), 1))
            chromium = browser.version
            browser.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    chart_first, chart = _summary(dashboard, "chart")
    headline_first, headline = _summary(dashboard, "headline")
    charts_first, charts = _summary(dashboard, "charts")
    floor_first, floor_median = _summary(floor, "floor")
    return {
        "chart_first_s": chart_first,
        "chart_s": chart,
        "headline_first_s": headline_first,
        "headline_s": headline,
        "all_charts_first_s": charts_first,
        "all_charts_s": charts,
        "floor_first_s": floor_first,
        "floor_s": floor_median,
        "kernels_ready_s": round(ready_s, 1),
        "refill_waits_s": waits,
        "dashboard_loads": dashboard,
        "floor_loads": floor,
        "chromium": chromium,
    }


def measure_memory(
    url: str, customers: int, period: str, loads: int, fixed: bool, extra: list[str]
) -> dict[str, Any]:
    """The server's memory over ``loads`` page loads of the KPI dashboard."""
    from playwright.sync_api import sync_playwright

    from crmlib import open as open_workspace

    with open_workspace(url, user="admin", lang="zh") as ws:
        expected_charts = len(ws.reports.build("kpi_dashboard", period=period).charts)
    notebooks = len(list(REPORTS.glob("*.ipynb")))
    log = WORK / f"dashboards-{customers}-memory.log"
    samples: list[dict[str, Any]] = []
    started = time.monotonic()
    with (
        serving(url, REPORTS, log, extra, fixed=fixed) as (base, server, token),
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        wait_until_ready(server.pid, notebooks, set())
        samples.append({"loads": 0, **_memory_mb(server.pid)})
        page = f"{base}voila/render/kpi_dashboard.ipynb?period={period}&token={token}"
        failed = 0
        for done in range(1, loads + 1):
            try:
                _load(browser, page, ("headline", "charts"), expected_charts, leave=True)
            except SystemExit as timeout:  # a page that never drew: counted, as users reload
                failed += 1
                print(timeout, flush=True)
            if done % 10 == 0 or done == loads:
                samples.append({"loads": done, **_memory_mb(server.pid)})
                print(samples[-1], flush=True)
        deadline = time.monotonic() + 60
        while len(_kernels(server.pid)) > notebooks and time.monotonic() < deadline:
            time.sleep(1)
        time.sleep(3)
        settled = _memory_mb(server.pid)
        browser.close()
    return {
        "fixed": fixed,
        "memory_loads": loads,
        "start_pss_mb": samples[0]["pss_mb"],
        "end_pss_mb": samples[-1]["pss_mb"],
        "peak_pss_mb": max(s["pss_mb"] for s in samples),
        "settled_pss_mb": settled["pss_mb"],
        "settled_rss_mb": settled["rss_mb"],
        "start_kernels": samples[0]["kernels"],
        "end_kernels": samples[-1]["kernels"],
        "settled_kernels": settled["kernels"],
        "failed_loads": failed,
        "memory_samples": samples,
        "memory_s": round(time.monotonic() - started, 1),
    }


def demo_copy(source: Path, customers: int, seed: int) -> Path:
    """A copy of the demo database at this crmlib's schema: report runs are recorded in the
    database, and the demo itself is another benchmark's. Made with SQLite's backup API,
    renewed when the demo is newer."""
    from crmlib.store import make_engine
    from crmlib.store.migrate import current_revision, head_revision, upgrade

    target = WORK / f"dashboards-{customers}-seed{seed}.db"
    if not target.exists() or target.stat().st_mtime < source.stat().st_mtime:
        scratch = target.with_suffix(".tmp")
        scratch.unlink(missing_ok=True)
        with (
            sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src,
            sqlite3.connect(scratch) as dst,
        ):
            src.backup(dst)
        scratch.replace(target)
    engine = make_engine(f"sqlite:///{target}")
    try:
        if current_revision(engine) != head_revision():
            upgrade(engine)
    finally:
        engine.dispose()
    return target


def time_batch(copy: Path) -> dict[str, Any]:
    """Every entry of the schedule, run one after the other as ``crm report due`` runs it."""
    import crmlib
    from crmlib.reporting.schedule import load

    entries = load(SCHEDULE)
    output = Path(tempfile.mkdtemp(prefix="crm-bench-reports-"))
    per_report: dict[str, Any] = {}
    try:
        with (
            crmlib.open(f"sqlite:///{copy}", user="admin", lang="zh") as ws,
            ws.reports.runner(output=output) as runner,  # one browser prints every PDF
        ):
            started = time.perf_counter()
            for entry in entries:
                begun = time.perf_counter()
                result = runner.run(
                    entry.report,
                    file=entry.parameters,
                    formats=entry.formats,
                    skip_if_empty=entry.skip_if_empty,
                    quality_gate=entry.quality_gate,
                    schedule=entry.name,
                )
                per_report[entry.name] = {
                    "s": round(time.perf_counter() - begun, 2),
                    "status": result.status,
                    "error": result.error,
                }
            total = time.perf_counter() - started
    finally:
        shutil.rmtree(output, ignore_errors=True)
    return {"batch_s": round(total, 1), "batch": per_report}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--period", default="2025-Q4", help="the KPI dashboard's period")
    parser.add_argument("--loads", type=int, default=5, help="page loads of each notebook")
    parser.add_argument("--skip-voila", action="store_true", help="time the batch only")
    parser.add_argument("--skip-batch", action="store_true", help="time Voila only")
    parser.add_argument("--note", help="kept with the results (what was measured)")
    parser.add_argument(
        "--memory",
        type=int,
        metavar="LOADS",
        help="measure the server's memory over LOADS page loads instead of times",
    )
    parser.add_argument(
        "--unfixed",
        action="store_true",
        help="with --memory: closed pages keep their kernels, none culled (before the fix)",
    )
    parser.add_argument(
        "--voila-arg",
        action="append",
        metavar="ARG",
        help="one more Voila option, e.g. --voila-arg=--VoilaKernelManager.fill_delay=8",
    )
    args = parser.parse_args(argv)

    demo = WORK / f"kpis-{args.customers}-seed{args.seed}.db"
    if not demo.exists():
        raise SystemExit(f"error: no {demo}: build it with benchmarks/kpis.py first")
    copy = demo_copy(demo, args.customers, args.seed)
    url = f"sqlite:///{copy}"
    load = os.getloadavg()[0]
    result: dict[str, Any] = {
        "benchmark": "dashboards",
        "customers": args.customers,
        "seed": args.seed,
        "period": args.period,
        "loads": args.loads,
        "note": args.note,
        "voila_args": args.voila_arg or [],
    }
    if args.memory:
        result["benchmark"] = "dashboards_memory"
        result.update(
            measure_memory(
                url,
                args.customers,
                args.period,
                args.memory,
                not args.unfixed,
                args.voila_arg or [],
            )
        )
        args.skip_batch = True
    elif not args.skip_voila:
        extra = args.voila_arg or []
        result.update(time_voila(url, args.customers, args.period, args.loads, extra))
    load_batch = os.getloadavg()[0]
    if not args.skip_batch:
        result.update(time_batch(copy))
    result.update(
        load_average=round(load, 2),
        load_average_batch=None if args.skip_batch else round(load_batch, 2),
        load_average_end=round(os.getloadavg()[0], 2),
        cpus=os.cpu_count(),
        python=platform.python_version(),
        sqlite=sqlite3.sqlite_version,
        voila=version("voila"),
        altair=version("altair"),
        vl_convert=version("vl-convert-python"),
        papermill=version("papermill"),
        at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    columns = MEMORY_COLUMNS if args.memory else COLUMNS
    print(" | ".join(f"{c:>15}" for c in columns))
    print(" | ".join(f"{result.get(c)!s:>15}" for c in columns))
    with RESULTS.open("a", encoding="utf-8") as out:
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
    return result


if __name__ == "__main__":
    main()
