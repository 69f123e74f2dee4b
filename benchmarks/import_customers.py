"""Import benchmark: a validated customer import against ``sqlite3 .import`` of the same CSV.

    python benchmarks/import_customers.py --rows 100000 [--xlsx] [--postgres]

Writes a realistic customer file (Chinese names, provinces, industries, mobiles, e-mails,
about 3% bad values), imports it with ``crm import`` into a fresh SQLite database (or,
with ``--postgres``, a database on a throwaway local server) in a child process, so its
peak memory is its own, then times the sqlite3 shell's ``.import`` of the same CSV into a
bare table: the physical floor (with ``--postgres`` also ``COPY`` into a bare table).
Prints a row and appends it as JSON to benchmarks/results.jsonl, with the load average
of the minute before, since the machine may be shared.
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


def timed(
    command: list[str], env: dict[str, str] | None = None, *, tree: bool = False
) -> tuple[float, float, float]:
    """Wall seconds and peak memory (MB) of a child process: its own, and with ``tree``
    also with its helpers (else 0).

    The peak is the child's own high-water mark (VmHWM), read while it runs: the usual
    ``ru_maxrss`` of a child also counts this process's size at the moment it started the
    child (Linux records it at exec), and this process holds the whole generated file.
    A large import forks a helper that shares most of its pages; the second figure is the
    highest sum of their proportional set sizes (shared pages counted once), as sampled.
    Reading those walks the processes' page tables and slows them (a million-row import
    took 15.0 s sampled and 12.7–12.9 s not), so the import is timed in a run without it.
    """
    start = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    peak_kb = tree_kb = 0
    while child.poll() is None:
        peak_kb = max(peak_kb, _high_water_kb(child.pid))
        if tree:
            family = [child.pid, *_children(child.pid)]
            tree_kb = max(tree_kb, sum(map(_proportional_kb, family)))
        time.sleep(PEAK_POLL_S)
    seconds = time.perf_counter() - start
    if child.returncode:
        raise subprocess.CalledProcessError(child.returncode, command)
    return seconds, peak_kb / 1024, tree_kb / 1024


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as children:
            return [int(found) for found in children.read().split()]
    except OSError:
        return []


def _proportional_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


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


def _postgres_database(server_url: str) -> str:
    """A fresh database on the throwaway server, as a URL."""
    from sqlalchemy import create_engine, text

    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE DATABASE import_bench TEMPLATE template0 ENCODING 'UTF8'"))
    url = admin.url.set(database="import_bench").render_as_string(hide_password=False)
    admin.dispose()
    return url


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--xlsx", action="store_true", help="import an .xlsx instead of CSV")
    parser.add_argument("--postgres", action="store_true", help="into a throwaway local server")
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
        url = _postgres_database(server.start())
    else:
        url = _sqlite_database(WORK / f"import-{args.rows}.db")
    command = [str(CRM), "import", "customers", str(source)]
    try:
        seconds, peak_mb, _ = timed(command, _initialised(url))
        copy_s = _postgres_copy(url, csv_path) if args.postgres else None
        tree_mb = peak_mb  # PostgreSQL imports without a helper process
        if not args.postgres:  # again, into a fresh file, to sample the helper's memory
            url = _sqlite_database(WORK / f"import-{args.rows}.db")
            _, _, tree_mb = timed(command, _initialised(url), tree=True)
    finally:
        if server is not None:
            server.stop()
    floor_db = WORK / "floor.db"
    floor_db.unlink(missing_ok=True)
    floor, _, _ = timed(["sqlite3", str(floor_db), "-cmd", ".mode csv", f".import {csv_path} t"])
    result = {
        "benchmark": "import_customers",
        "format": "xlsx" if args.xlsx else "csv",
        "backend": "postgresql" if args.postgres else "sqlite",
        "rows": args.rows,
        "seconds": round(seconds, 2),
        "rows_per_s": round(args.rows / seconds),
        "peak_mb": round(peak_mb),
        "peak_with_helper_mb": round(tree_mb),
        "sqlite_import_s": round(floor, 2),
        "times_floor": round(seconds / floor, 1),
        "postgres_copy_s": None if copy_s is None else round(copy_s, 2),
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
