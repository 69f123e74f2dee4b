"""Import benchmark: a validated customer import against ``sqlite3 .import`` of the same CSV.

    python benchmarks/import_customers.py --rows 1000000 [--xlsx] [--postgres]
        [--engine NAME] [--kernel] [--before CHECKOUT]

Writes a realistic customer file (Chinese names, provinces, industries, mobiles, e-mails,
about 3% bad values), imports it with ``crm import`` into a fresh SQLite database (or,
with ``--postgres``, a database on a throwaway local server) in a child process, so its
peak memory is its own, then times the sqlite3 shell's ``.import`` of the same CSV into a
bare table: the physical floor (with ``--postgres`` also ``COPY`` of the file into a bare
table, and of the same rows into the CRM's customers and contacts tables).
``--kernel`` also imports the file into another fresh database from a Jupyter kernel
(nbclient), through the import notebook's application (``ImportReview.run``, its commit
button), as a data steward does. ``--before CHECKOUT`` also times ``crm import`` of the
source tree at CHECKOUT (``git archive`` of an earlier commit), alternated with this one,
for a before/after ratio measured under the same load. Prints a row and appends it as
JSON to benchmarks/results.jsonl, with the load average of the minute before, since the
machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
WORK = HERE / "work"
CRM = Path(sys.executable).parent / "crm"
PEAK_POLL_S = 0.05

PROVINCES = ["广东", "江苏", "浙江", "上海", "北京", "山东", "四川", "湖北", "福建", "河南"]
INDUSTRIES = ["39", "65", "51", "52", "C", "I", "F", "34", "36", "70"]
SOURCES = ["官网", "展会", "转介绍", "电话", "营销活动"]
PREFIXES = np.array(["138", "139", "186", "150", "151", "177", "188", "135", "158", "199"])
BRANDS = list("华盛鑫达宏泰恒昌瑞祥嘉和兴隆")
SUFFIXES = ["科技有限公司", "贸易有限公司", "股份有限公司", "机械有限公司"]
CITIES = ["市区", "开发区", "高新区", "新城区", "经济技术开发区"]
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗")
GIVEN = ["静", "伟", "芳", "敏", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超"]


def customer_file(rows: int, seed: int = 7) -> pd.DataFrame:
    """A customer file as a sales team exports it, with some bad phones and e-mails."""
    rng = np.random.default_rng(seed)
    ids = np.arange(rows)
    brand = np.array(BRANDS)[rng.integers(0, len(BRANDS), (rows, 2))]
    phones = np.char.add(
        PREFIXES[rng.integers(0, len(PREFIXES), rows)],
        np.char.zfill(rng.integers(0, 10**8, rows).astype(str), 8),
    )
    bad = rng.random(rows) < 0.03
    phones = np.where(bad, phones.astype("U10"), phones)  # one digit short: not a number
    emails = np.char.add(np.char.add("user", ids.astype(str)), "@example.cn")
    emails = np.where(rng.random(rows) < 0.01, np.char.replace(emails, "@", " at "), emails)
    return pd.DataFrame(
        {
            "外部编号": np.char.add("ERP-", ids.astype(str)),
            "客户名称": [
                f"{a}{b}{i}{SUFFIXES[i % 4]}" for i, (a, b) in zip(ids, brand, strict=True)
            ],
            "行业": np.array(INDUSTRIES)[rng.integers(0, len(INDUSTRIES), rows)],
            "省份": np.array(PROVINCES)[rng.integers(0, len(PROVINCES), rows)],
            "城市": np.array(CITIES)[rng.integers(0, len(CITIES), rows)],
            "联系人": np.char.add(
                np.array(SURNAMES)[rng.integers(0, len(SURNAMES), rows)],
                np.array(GIVEN)[rng.integers(0, len(GIVEN), rows)],
            ),
            "电话": phones,
            "邮箱": emails,
            "客户来源": np.array(SOURCES)[rng.integers(0, len(SOURCES), rows)],
            "客户等级": np.array(["A", "B", "C"])[rng.integers(0, 3, rows)],
        }
    )


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and peak memory (MB) of a child process.

    The peak is the child's own high-water mark (VmHWM), read while it runs: the usual
    ``ru_maxrss`` of a child also counts this process's size at the moment it started the
    child (Linux records it at exec), and this process holds the whole generated file.
    """
    start = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    peak_kb = 0
    while child.poll() is None:
        peak_kb = max(peak_kb, _high_water_kb(child.pid))
        time.sleep(PEAK_POLL_S)
    seconds = time.perf_counter() - start
    if child.returncode:
        raise subprocess.CalledProcessError(child.returncode, command)
    return seconds, peak_kb / 1024


def _high_water_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:  # it has just ended
        pass
    return 0


def _sqlite_database(db: Path) -> str:
    """The URL of a new SQLite file at ``db``, anything there before removed."""
    for leftover in WORK.glob(f"{db.name}*"):
        leftover.unlink()
    return f"sqlite:///{db}"


def _initialised(url: str) -> dict[str, str]:
    """The environment for ``crm`` on ``url``, a CRM database made there."""
    env = {
        **os.environ,
        "CRM_DATABASE_URL": url,
        "CRM_USER": "admin",
        "CRM_IMPORT_DIR": str(WORK / "imports"),
    }
    subprocess.run([str(CRM), "init"], check=True, env=env, stdout=subprocess.DEVNULL)
    return env


def _postgres_database(server_url: str, name: str) -> str:
    """A fresh database ``name`` on the throwaway server, as a URL."""
    from sqlalchemy import create_engine, text

    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'"))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    admin.dispose()
    return url


def _postgres_copy_into_tables(url: str, frame: pd.DataFrame) -> float:
    """Seconds for ``COPY`` of the same rows into the CRM's own tables, customers and their
    primary contacts (their indexes and foreign keys included, none of the checks): the
    floor an import into that database can reach. The rows are laid out beforehand."""
    import psycopg
    from sqlalchemy.engine import make_url

    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    size = len(frame)
    ids = np.arange(1, size + 1)
    customers = pd.DataFrame(
        {
            "id": ids,
            "code": np.char.add("C", np.char.zfill(ids.astype(str), 11)),
            "external_id": frame["外部编号"],
            "name": frame["客户名称"],
            "kind": "company",
            "status": "potential",
            "province": frame["省份"],
            "city": frame["城市"],
            "created_at": now,
            "updated_at": now,
        }
    )
    contacts = pd.DataFrame(
        {
            "customer_id": ids,
            "name": frame["联系人"],
            "phone": frame["电话"],
            "email": frame["邮箱"],
            "is_primary": True,
            "created_at": now,
            "updated_at": now,
        }
    )
    files = {"customers": WORK / "floor-customers.csv", "contacts": WORK / "floor-contacts.csv"}
    customers.to_csv(files["customers"], index=False)
    contacts.to_csv(files["contacts"], index=False)
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn:
        start = time.perf_counter()
        for table, path in files.items():
            columns = ", ".join(pd.read_csv(path, nrows=0).columns)
            statement = f"COPY {table} ({columns}) FROM STDIN (FORMAT csv, HEADER)"
            with conn.cursor().copy(statement) as copy, path.open("rb") as data:
                while block := data.read(1 << 20):
                    copy.write(block)
        conn.commit()
        return time.perf_counter() - start


def _postgres_copy(url: str, csv_path: Path) -> float:
    """Seconds for PostgreSQL's own ``COPY`` of the CSV into a bare table of text columns:
    the floor on that server."""
    import psycopg
    from sqlalchemy.engine import make_url

    with csv_path.open(encoding="utf-8") as handle:
        header = handle.readline()
    columns = ", ".join(f"c{i} text" for i in range(header.count(",") + 1))
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn:
        conn.execute(f"CREATE TABLE floor ({columns})")
        start = time.perf_counter()
        copying = conn.cursor().copy("COPY floor FROM STDIN (FORMAT csv, HEADER)")
        with copying as copy, csv_path.open("rb") as data:
            while block := data.read(1 << 20):
                copy.write(block)
        conn.commit()
        return time.perf_counter() - start


IN_A_KERNEL = """
import json, threading, time
from pathlib import Path
import crmlib
from crmlib import ui
ws = crmlib.open({url!r}, user="admin")
review = ui.ImportReview(ws)
review.path = Path({path!r})
start = time.perf_counter()
result = review.run(dry_run=False)
print(json.dumps({{"seconds": time.perf_counter() - start, "engine": result.engine,
                  "threads": threading.active_count(), "created": result.created}}))
"""


def in_a_kernel(url: str, source: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """Import ``source`` from a Jupyter kernel through the import notebook's application:
    the import's seconds (timed in the kernel), the whole run's (kernel start included),
    and the engine it took."""
    import nbformat
    from nbclient import NotebookClient

    code = IN_A_KERNEL.format(url=url, path=str(source))
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    saved = dict(os.environ)
    os.environ.update(env)  # the kernel inherits it: CRM_IMPORT_DIR, CRM_IMPORT_ENGINE
    start = time.perf_counter()
    try:
        NotebookClient(notebook, kernel_name="python3", timeout=3600).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    whole = time.perf_counter() - start
    printed = "".join(o["text"] for o in notebook.cells[0].outputs if o.get("name") == "stdout")
    found = json.loads(printed.strip().splitlines()[-1])
    assert found["threads"] > 1, "a kernel runs threads of its own"
    return float(found["seconds"]), whole, str(found["engine"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--xlsx", action="store_true", help="import an .xlsx instead of CSV")
    parser.add_argument("--postgres", action="store_true", help="into a throwaway local server")
    parser.add_argument("--engine", help="import engine (default: crmlib's default)")
    parser.add_argument("--kernel", action="store_true", help="also import from a kernel")
    parser.add_argument("--before", type=Path, help="also time crm import of this source tree")
    args = parser.parse_args()
    WORK.mkdir(exist_ok=True)
    frame = customer_file(args.rows)
    csv_path = WORK / f"customers-{args.rows}.csv"
    frame.to_csv(csv_path, index=False)
    source = csv_path
    if args.xlsx:
        source = WORK / f"customers-{args.rows}.xlsx"
        frame.to_excel(source, index=False, sheet_name="客户")
    load = os.getloadavg()[0]
    server = None
    if args.postgres:
        sys.path.insert(0, str(HERE.parent))
        from tests.pgserver import PgServer

        server = PgServer()
        server_url = server.start()

    def fresh(name: str) -> str:
        if server is not None:
            return _postgres_database(server_url, f"import_bench_{name}")
        return _sqlite_database(WORK / f"import-{args.rows}-{name}.db")

    extra = {"CRM_IMPORT_ENGINE": args.engine} if args.engine else {}
    command = [str(CRM), "import", "customers", str(source)]
    before = kernel = kernel_whole = engine = copy_s = tables_s = None
    try:
        url = fresh("after")
        seconds, peak_mb = timed(command, {**_initialised(url), **extra})
        if args.postgres:
            copy_s = _postgres_copy(url, csv_path)
            floor_url = fresh("floor")
            _initialised(floor_url)
            tables_s = _postgres_copy_into_tables(floor_url, frame)
        if args.before:
            env = {**_initialised(fresh("before")), **extra, "PYTHONPATH": str(args.before)}
            before, _ = timed([sys.executable, "-m", "crmlib", *command[1:]], env)
        if args.kernel:
            kernel_url = fresh("kernel")
            kernel, kernel_whole, engine = in_a_kernel(
                kernel_url, source, {**_initialised(kernel_url), **extra}
            )
    finally:
        if server is not None:
            server.stop()
    floor_db = WORK / "floor.db"
    floor_db.unlink(missing_ok=True)
    floor, _ = timed(["sqlite3", str(floor_db), "-cmd", ".mode csv", f".import {csv_path} t"])

    def rounded(value: float | None, digits: int = 2) -> float | None:
        return None if value is None else round(value, digits)

    result = {
        "benchmark": "import_customers",
        "format": "xlsx" if args.xlsx else "csv",
        "backend": "postgresql" if args.postgres else "sqlite",
        "engine": args.engine or "default",
        "rows": args.rows,
        "seconds": round(seconds, 2),
        "rows_per_s": round(args.rows / seconds),
        "peak_mb": round(peak_mb),
        "sqlite_import_s": round(floor, 2),
        "times_floor": round(seconds / floor, 1),
        "postgres_copy_s": rounded(copy_s),
        "times_copy": None if copy_s is None else round(seconds / copy_s, 1),
        "postgres_copy_tables_s": rounded(tables_s),
        "times_copy_tables": None if tables_s is None else round(seconds / tables_s, 1),
        "before_s": rounded(before),
        "after_vs_before": None if before is None else round(seconds / before, 2),
        "kernel_import_s": rounded(kernel),
        "kernel_whole_s": rounded(kernel_whole),
        "kernel_engine": engine,
        "kernel_vs_cli": None if kernel is None else round(kernel / seconds, 2),
        "load_average": round(load, 2),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    print(json.dumps(result, ensure_ascii=False))
    with (HERE / "results.jsonl").open("a", encoding="utf-8") as out:
        out.write(json.dumps(result, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
