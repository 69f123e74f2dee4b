"""The import engine seam: a notebook kernel (several threads) takes the same engine as
``crm import``, and the PostgreSQL write path (``COPY``) keeps validation, rejects, audit
rows and scoping identical to SQLite's (``executemany``) on one file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from sqlalchemy import select

from crmlib import clock
from crmlib.store.engine import make_engine
from crmlib.store.models import AuditEvent, Contact, Customer, ImportReject
from crmlib.transfer.engines import DEFAULT_ENGINE, ENGINE_ENV
from crmlib.transfer.importing import ImportResult
from tests.factories import build_team, company
from tests.transfer.test_import import BAD, GOOD, write_csv

NOW = datetime(2026, 5, 4, 9, 30, 15, 123456)

IN_A_KERNEL = """
    import json, threading
    from pathlib import Path
    import crmlib
    from crmlib import ui
    ws = crmlib.open({url!r}, user="admin", lang="en")
    review = ui.ImportReview(ws)  # the import notebook's application, its commit button
    review.path = Path({path!r})
    threads = threading.active_count()
    result = review.run(dry_run=False)
    print(json.dumps({{"threads": threads, "engine": result.engine,
                      "created": result.created, "rejected": result.rejected}}))
"""


def _in_a_kernel(url: str, path: Path, folder: Path) -> dict[str, Any]:
    """Import ``path`` through the import notebook's application, in a real kernel."""
    source = textwrap.dedent(IN_A_KERNEL.format(url=url, path=str(path)))
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    NotebookClient(
        notebook, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(folder)}}
    ).execute()
    printed = "".join(o["text"] for o in notebook.cells[0].outputs if o.get("name") == "stdout")
    found: dict[str, Any] = json.loads(printed.strip().splitlines()[-1])
    return found


@pytest.mark.notebooks
def test_a_notebook_kernel_takes_the_same_engine_as_crm_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kernel runs threads of its own: the import there is the same as the command's,
    engine and outcome."""
    monkeypatch.delenv(ENGINE_ENV, raising=False)
    path = write_csv(tmp_path / "c.csv", [*GOOD, *BAD])
    kernel_url, cli_url = (f"sqlite:///{tmp_path / name}.db" for name in ("kernel", "cli"))
    for url in (kernel_url, cli_url):
        build_team(url).close()
    in_kernel = _in_a_kernel(kernel_url, path, tmp_path)
    assert in_kernel["threads"] > 1
    command = [sys.executable, "-m", "crmlib", "--url", cli_url, "--user", "admin"]
    folder = tmp_path / "by-the-command"
    environment = {**os.environ, "CRM_IMPORT_DIR": str(folder)}
    subprocess.run(
        [*command, "import", "customers", str(path)],
        check=True,
        env=environment,
        capture_output=True,
    )
    (summary,) = folder.glob("*-customers/summary.json")
    by_cli = json.loads(summary.read_text(encoding="utf-8"))
    assert in_kernel["engine"] == by_cli["engine"] == DEFAULT_ENGINE
    assert (in_kernel["created"], in_kernel["rejected"]) == (by_cli["created"], 2)


# -- PostgreSQL's COPY against SQLite's executemany ---------------------------------------

#: Rows of every fate: new, updated, unchanged, rejected (bad phone, bad e-mail, required
#: value missing, repeated, outside the importer's scope).
HEADER = ["外部编号", "客户名称", "客户类型", "行业", "省份", "联系人", "电话", "邮箱", "客户来源"]
ROWS = [
    *[row[:9] for row in GOOD],
    *[row[:9] for row in BAD],
    ["ERP-MINE", "杭州西湖新名字有限公司", "企业", "51", "浙江", "王磊", "13912345678", "", "官网"],
    ["ERP-THEIRS", "成都蜀道贸易有限公司", "企业", "51", "四川", "赵强", "13912345679", "", "官网"],
    ["ERP-6", "邮箱不对公司", "企业", "39", "广东", "周敏", "13812345600", "zm at x.cn", "展会"],
    GOOD[0][:9],
    *[
        [
            f"ERP-1{n:02d}",
            f"批量{n}有限公司",
            "企业",
            "C",
            "江苏",
            "孙杰",
            f"1381111{n:04d}",
            "",
            "展会",
        ]
        for n in range(40)
    ],
]


def _imported(url: str, path: Path) -> tuple[ImportResult, dict[str, Any]]:
    """zhang imports ``path`` into ``url`` (where zhang and zhao each have a customer);
    the result and everything the import stored or recorded, without ids and codes."""
    team = build_team(url)
    team.zhang.customers.add(
        **company(name="杭州西湖贸易有限公司", external_id="ERP-MINE", phone="13900000001")
    )
    team.zhao.customers.add(
        **company(name="成都蜀道贸易有限公司", external_id="ERP-THEIRS", phone="13900000002")
    )
    result = team.zhang.import_file("customers", path)
    team.close()
    engine = make_engine(url)
    with engine.connect() as conn:

        def rows(query: Any) -> list[tuple[Any, ...]]:
            return sorted(tuple(map(str, row)) for row in conn.execute(query))

        stored = {
            "customers": rows(
                select(
                    Customer.external_id,
                    Customer.name,
                    Customer.industry_division,
                    Customer.province,
                    Customer.owner_id,
                )
            ),
            "contacts": rows(
                select(Customer.external_id, Contact.name, Contact.phone, Contact.email)
                .join(Customer, Customer.id == Contact.customer_id)
                .where(Contact.is_primary.is_(True))
            ),
            "rejects": rows(
                select(ImportReject.row_number, ImportReject.reasons, ImportReject.raw)
            ),
            "audit": rows(
                select(
                    AuditEvent.actor,
                    AuditEvent.action,
                    AuditEvent.entity,
                    AuditEvent.field,
                    AuditEvent.old_value,
                    AuditEvent.new_value,
                ).where(AuditEvent.batch_id == result.batch_id)
            ),
        }
    engine.dispose()
    return result, stored


@pytest.mark.parametrize("engine", ["serial", "pipelined"])
def test_copy_on_postgresql_stores_what_executemany_stores_on_sqlite(
    sqlite_url: str,
    pg_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    engine: str,
) -> None:
    monkeypatch.setattr(clock, "now", lambda: NOW)
    monkeypatch.setenv(ENGINE_ENV, engine)
    path = write_csv(tmp_path / "c.csv", ROWS, HEADER)
    on_sqlite, sqlite_stored = _imported(sqlite_url, path)
    on_postgres, postgres_stored = _imported(pg_url, path)

    def outcome(result: ImportResult) -> tuple[Any, ...]:
        counts = ("rows", "created", "updated", "unchanged", "rejected")
        return (*(getattr(result, name) for name in counts), result.engine)

    assert outcome(on_sqlite) == outcome(on_postgres) == (49, 43, 1, 0, 5, engine)
    assert sqlite_stored == postgres_stored
    assert len(postgres_stored["audit"]) > 1  # the update's changes, and the import itself
    assert on_sqlite.rejects_path is not None and on_postgres.rejects_path is not None
    assert on_sqlite.rejects_path.read_bytes() == on_postgres.rejects_path.read_bytes()
    assert "8" in {row[0] for row in postgres_stored["rejects"]}  # zhao's customer stays his
