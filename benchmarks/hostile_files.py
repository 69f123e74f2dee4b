"""Hostile-file benchmark: peak memory and time of a dry-run import of a compression bomb.

    python benchmarks/hostile_files.py [--megabytes 1536] [--source DIR]

Writes the workbook of the hardening issue: 1.5 MB on disk, one cell pointing at a shared
string of ``--megabytes`` MB of one repeated letter (deflated as it is written, so this
script never holds it), then runs ``crm import customers bomb.xlsx --dry-run`` into a
fresh SQLite database in a child process and reads the child's own peak resident memory
(``ru_maxrss`` from ``wait4``: this process stays small, so the figure is the import's).
``--source`` runs the ``crmlib`` of another checkout instead (to measure a previous
release; at a small ``--megabytes`` only: the previous release used about ten times the
string's size). Prints a row and appends it to benchmarks/results.jsonl.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import sqlite3
import subprocess
import sys
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).parent
WORK = HERE / "work"
SST_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
SST_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"


def bomb(path: Path, megabytes: int) -> None:
    """A customer workbook whose one name cell shows a ``megabytes`` MB shared string."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "客户"
    sheet.append(["客户名称", "电话"])
    sheet.append(["x", "13812345678"])
    buffer = io.BytesIO()
    book.save(buffer)
    with zipfile.ZipFile(buffer) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    name = "xl/worksheets/sheet1.xml"
    parts[name] = parts[name].replace(
        b'<c r="A2" t="inlineStr"><is><t>x</t></is></c>', b'<c r="A2" t="s"><v>0</v></c>'
    )
    override = f'<Override PartName="/xl/sharedStrings.xml" ContentType="{SST_TYPE}"/>'
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>", override.encode() + b"</Types>"
    )
    rel = f'<Relationship Id="rId99" Type="{SST_REL}" Target="sharedStrings.xml"/>'
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>", rel.encode() + b"</Relationships>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for part, data in parts.items():
            target.writestr(part, data)
        with target.open("xl/sharedStrings.xml", "w", force_zip64=True) as strings:
            strings.write(
                b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.'
                b'openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
                b"<si><t>"
            )
            block = b"A" * (1 << 20)
            for _ in range(megabytes):
                strings.write(block)
            strings.write(b"</t></si></sst>")


def measured(command: list[str], env: dict[str, str]) -> tuple[float, float, int, str]:
    """Wall seconds, peak resident MB, exit code and the last line of stderr of a child."""
    start = time.perf_counter()
    child = subprocess.Popen(
        command, env=env, cwd=WORK, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert child.stderr is not None
    errors = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    last = errors.strip().splitlines()[-1] if errors.strip() else ""
    return seconds, usage.ru_maxrss / 1024, child.returncode, last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=1536, help="size of the shared string")
    parser.add_argument("--source", type=Path, help="the checkout whose crmlib to run")
    args = parser.parse_args()
    WORK.mkdir(exist_ok=True)
    path = WORK / f"bomb-{args.megabytes}mb.xlsx"
    if not path.exists():
        bomb(path, args.megabytes)
    database = WORK / "hostile.db"
    database.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env |= {
        "CRM_DATABASE_URL": f"sqlite:///{database}",
        "CRM_USER": "admin",
        "CRM_LANG": "en",
        "CRM_IMPORT_DIR": str(WORK / "imports"),
    }
    if args.source:
        env["PYTHONPATH"] = str(args.source.resolve())
    crm = [sys.executable, "-m", "crmlib"]
    # From the work folder, so that ``-m crmlib`` finds the checkout's package, not the cwd's.
    subprocess.run([*crm, "init"], env=env, cwd=WORK, check=True, stdout=subprocess.DEVNULL)
    load = os.getloadavg()[0]
    command = [*crm, "import", "customers", str(path), "--dry-run"]
    seconds, peak_mb, code, message = measured(command, env)
    baseline_s, baseline_mb, _, _ = measured([*crm, "--help"], env)
    result = {
        "benchmark": "hostile_files",
        "file": "shared-string bomb",
        "source": str(args.source) if args.source else "this checkout",
        "on_disk_mb": round(path.stat().st_size / 1024**2, 2),
        "unpacked_mb": args.megabytes,
        "seconds": round(seconds, 2),
        "peak_mb": round(peak_mb),
        "crm_help_s": round(baseline_s, 2),
        "crm_help_peak_mb": round(baseline_mb),
        "exit_code": code,
        "message": message[:300],
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
