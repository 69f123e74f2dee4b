"""New customers staged by the checking thread of the ``pipelined`` engine
(crmlib.transfer.staging) are stored exactly as the ``serial`` engine stores them: same
rows, ids, codes, contacts and outcome."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

import crmlib
from crmlib import clock
from crmlib.settings import set_setting
from crmlib.transfer import staging
from crmlib.transfer.importing import ImportResult, import_file
from crmlib.transfer.writers.customers import CustomerWriter
from tests.factories import build_team
from tests.transfer.test_import import write_csv

NOW = datetime(2026, 5, 4, 9, 30, 15, 123456)
HEADER = [
    "外部编号",
    "客户名称",
    "客户类型",
    "行业",
    "企业规模",
    "省份",
    "城市",
    "邮编",
    "地址",
    "客户等级",
    "客户状态",
    "客户来源",
    "联系人",
    "职务",
    "电话",
    "邮箱",
    "生日",
    "授权用途",
    "授权日期",
]
PROVINCES = ["广东", "浙江省", "Shanghai", "北京市", "四川"]
INDUSTRIES = ["39", "批发业", "C", "65", "农业"]


def _row(n: int) -> list[str]:
    """A company row; some give every optional field, some break one."""
    full = n % 3 == 0
    return [
        f"ERP-{n}",
        f"　测试{n}号科技有限公司 ",  # full-width space: trimmed
        "企业" if n % 2 else "",
        INDUSTRIES[n % len(INDUSTRIES)],
        "中型" if full else "",
        PROVINCES[n % len(PROVINCES)],
        "深圳" if full else "",
        "518000" if full else "",
        f"科苑路 {n} 号" if full else "",
        "ABC"[n % 3],
        "潜在客户" if full else "",
        "展会" if n % 4 else "官网",
        f"联系人{n}",
        "采购经理" if full else "",
        f"139{n:08d}" if n % 11 else "12345",  # every eleventh phone is broken: rejected
        f"User{n}@Example.CN" if n % 5 else "",
        "1990-05-01" if full else ("1990-13-01" if n % 7 == 0 else ""),  # a bad birthday: rejected
        "营销" if full else "",
        "2024/5/1" if full else "",
    ]


ROWS = [_row(n) for n in range(1, 61)]
ROWS.insert(30, ROWS[5])  # a repeat of an earlier row: rejected


def _tables(url: str) -> dict[str, list[Any]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        tables = {
            table: [tuple(row) for row in conn.execute(text(f"SELECT * FROM {table} ORDER BY id"))]
            for table in ("customers", "contacts", "customer_tags")
        }
    engine.dispose()
    return tables


def _text(path: Path | None) -> str | None:
    return None if path is None else path.read_text("utf-8")


def _database(tmp_path: Path, name: str) -> str:
    """A fresh database with the usual team."""
    url = f"sqlite:///{tmp_path / f'{name}.db'}"
    build_team(url).close()
    return url


def _import(url: str, path: Path, *, staged: bool, **options: Any) -> tuple[ImportResult, int]:
    """Import ``path`` as zhang, by chunks of 7 rows, staged (the ``pipelined`` engine) or
    not (``serial``); also count the chunks written staged."""
    written = 0
    write_staged = CustomerWriter.write_staged

    def counted(self: CustomerWriter, *args: Any) -> None:
        nonlocal written
        written += 1
        write_staged(self, *args)

    zhang = crmlib.open(url, user="zhang", lang="en")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(CustomerWriter, "write_staged", counted)
        engine = "pipelined" if staged else "serial"
        result = import_file(zhang.ctx, "customers", path, chunk_rows=7, engine=engine, **options)
    zhang.close()
    return result, written


def _both_ways(
    tmp_path: Path,
    rows: list[list[str]],
    urls: tuple[str, str] | None = None,
    header: list[str] = HEADER,
) -> tuple[ImportResult, ImportResult, int]:
    """Import ``rows`` staged and not, each into its own database: the results, their
    tables compared, and how many chunks went staged."""
    staged_url, bound_url = urls or (_database(tmp_path, "staged"), _database(tmp_path, "bound"))
    path = write_csv(tmp_path / "c.csv", rows, header)
    staged, chunks = _import(staged_url, path, staged=True)
    bound, none = _import(bound_url, path, staged=False)
    assert none == 0
    assert _outcome(staged) == _outcome(bound)
    assert _tables(staged_url) == _tables(bound_url)
    assert _text(staged.rejects_path) == _text(bound.rejects_path)
    return staged, bound, chunks


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "now", lambda: NOW)


def _outcome(result: ImportResult) -> tuple[int, ...]:
    return (result.rows, result.created, result.rejected)


def test_staged_rows_are_stored_as_bound_ones(tmp_path: Path) -> None:
    staged, _, chunks = _both_ways(tmp_path, ROWS)
    assert chunks == 9  # every chunk
    assert _outcome(staged) == (61, 49, 12)


def test_chunks_that_need_a_closer_look_are_written_as_before(tmp_path: Path) -> None:
    """A person, an owner given: those chunks go the old way, the others are staged, and
    ids and codes still follow the rows."""
    rows = [[*row, ""] for row in ROWS]
    rows[3][2] = "个人"  # a person, reached by phone
    rows[40][-1] = "zhao"  # zhang may not assign customers to another team: rejected
    rows[50][-1] = "zhang"
    _, _, chunks = _both_ways(tmp_path, rows, header=[*HEADER, "负责人"])
    assert 0 < chunks < 9


def test_a_chunk_of_rejected_rows_stages_nothing(tmp_path: Path) -> None:
    """Seven broken phones in a row fill a chunk: nothing to stage, nothing written."""
    rows = [list(row) for row in ROWS[:21]]
    for row in rows[7:14]:
        row[14] = "12345"
    staged, _, chunks = _both_ways(tmp_path, rows)
    assert chunks == 2
    assert (staged.created, staged.rejected) == (13, 8)  # and a bad birthday


def test_rows_that_cannot_be_staged_are_written_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No room for the scratch file (here: no such directory): every chunk goes the old
    way, and the import is the same."""
    monkeypatch.setattr(staging, "_scratch_directory", lambda: str(tmp_path / "missing"))
    staged, _, chunks = _both_ways(tmp_path, ROWS)
    assert chunks == 0
    assert staged.created == 49


def test_a_python_that_cannot_stage_imports_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without ``sqlite3``'s deserialize or the ADBC driver nothing is staged, or
    attached, and nothing else changes."""
    monkeypatch.setattr(staging, "available", lambda: False)
    attach = staging.attached
    attached: list[bool] = []
    monkeypatch.setattr(staging, "attached", lambda conn: attached.append(True) or attach(conn))
    staged, _, chunks = _both_ways(tmp_path, ROWS)
    assert (chunks, attached) == (0, [])
    assert staged.created == 49


def test_a_row_without_a_contact_leaves_a_gap(tmp_path: Path) -> None:
    """With contact and phone not required, a customer may come without a contact: the
    staged rows that give no contact field get none."""
    rows = [list(row) for row in ROWS[:14]]
    for row in rows[2:4]:
        row[12] = row[13] = row[14] = row[15] = ""
    urls = (_database(tmp_path, "staged"), _database(tmp_path, "bound"))
    for url in urls:
        admin = crmlib.open(url, user="admin", lang="en")
        with admin.ctx.session() as session:
            set_setting(session, "required_fields", {"company": ["name"], "person": ["name"]})
        admin.close()
    _, _, chunks = _both_ways(tmp_path, rows, urls)
    assert chunks == 2
    tables = _tables(urls[0])
    assert len(tables["contacts"]) == len(tables["customers"]) - 2


def test_a_dry_run_and_a_second_import_leave_nothing_attached(tmp_path: Path) -> None:
    """The staging schema goes with the import: a dry run saves nothing, and the next
    import on the same connection pool can attach it again."""
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    team = build_team(url)
    path = write_csv(tmp_path / "c.csv", ROWS, HEADER)
    dry = import_file(team.zhang.ctx, "customers", path, chunk_rows=7, dry_run=True)
    done = import_file(team.zhang.ctx, "customers", path, chunk_rows=7)
    again = import_file(team.zhang.ctx, "customers", path, chunk_rows=7)
    with team.zhang.ctx.engine.connect() as conn:
        schemas = [row[1] for row in conn.exec_driver_sql("PRAGMA database_list")]
    team.close()
    assert (dry.created, done.created, again.created, again.unchanged) == (49, 49, 0, 49)
    assert staging.SCHEMA not in schemas


def test_a_column_of_mixed_values_is_not_staged() -> None:
    assert staging.stage({"name": ["a", 1]}, [2, 3]) is None
    assert staging.stage({"amount": [1.5, 2]}, [2, 3]) is None  # 2 is stored as an integer
    staged = staging.stage({"name": ["a", "b"], "owner_id": [7, 7], "note": [None, None]}, [2, 3])
    assert staged is not None
    assert staged.columns == ("name",)
    assert staged.literals == {"owner_id": "7", "note": "NULL"}
    assert [staged.sql(c) for c in staged.names] == ['"name"', "7", "NULL"]
