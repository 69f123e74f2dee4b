"""A bad row is a rejected row: a row whose cells do not line up with the header (more
cells, as an unquoted ``120,000.50`` makes, or fewer) is rejected with its reason and row
number, and the rest of the file imports."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import create_engine, func, select

import crmlib
from crmlib.errors import FieldError
from crmlib.i18n import t
from crmlib.store.models import Customer, ImportReject, Order
from crmlib.transfer.engines import ENGINES
from crmlib.transfer.importing import ImportResult, import_file
from crmlib.transfer.reading import FileProblem
from crmlib.workspace import Workspace
from tests.factories import Team, company

HEADER = "name,industry,contact,phone,source,address"


@pytest.fixture(params=ENGINES.names())
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def good(n: int, address: str = "南山区") -> str:
    return f"测试公司{n},39,张三,1381234{n:04d},官网,{address}"


#: Row numbers as Excel shows them; the cell in row 4 holds a line break, so the file has
#: one more line than rows.
LINES = [
    HEADER,  # 1
    good(2),  # 2
    "测试公司3,39,张三",  # 3: three cells
    good(4, '"科技园\r\n二期"'),  # 4: one row on two lines
    good(5, "120,000.50"),  # 5: seven cells
    "",  # 6: blank
    ",,,,,",  # 7: blank
    "测试公司8,39,张三,13812340008,官网",  # 8: five cells, the last column's missing
    good(9, ""),  # 9: six cells, the last one empty: lined up
    good(10, '"南山区, 科技园"'),  # 10: a quoted separator
    good(11, ",,"),  # 11: eight cells, the extra ones empty
    good(12),  # 12
]
#: The same rows without a quote in the file, which is then read a line a row.
QUOTE_FREE = [line if '"' not in line else good(n) for n, line in enumerate(LINES, start=1)]
CREATED = ["测试公司10", "测试公司12", "测试公司2", "测试公司4", "测试公司9"]


def reason(lang: str, row: int, found: int, extra: list[str] | None = None) -> str:
    """The reason of a ragged row of :data:`LINES` (six columns)."""
    if extra is None:
        message = t("reading:ragged_short", lang, row=row, found=found, expected=6)
    else:
        message = t("reading:ragged_long", lang, row=row, found=found, expected=6, extra=extra)
    return str(FieldError("cells", found, "ragged_row", message))


def run(ws: Workspace, kind: str, path: Path, **options: Any) -> ImportResult:
    out = path.parent / f"out-{len(list(path.parent.glob('out-*')))}"
    return import_file(ws.ctx, kind, path, output_dir=out, **options)


def rejects(result: ImportResult) -> pd.DataFrame:
    """rejects.csv, read as any table is: it stays rectangular whatever the rows were."""
    assert result.rejects_path is not None, result.describe("en")
    return pd.read_csv(result.rejects_path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def names(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return sorted(conn.execute(select(Customer.name)).scalars())
    finally:
        engine.dispose()


@pytest.mark.parametrize("chunk_rows", [1, 3, 50_000])
@pytest.mark.parametrize("lines", [LINES, QUOTE_FREE], ids=["quoted", "quote-free"])
def test_ragged_csv_rows_are_rejected_and_the_rest_imports(
    team: Team, tmp_path: Path, engine: str, chunk_rows: int, lines: list[str]
) -> None:
    """Rows with more cells (read by the csv module from where pandas' parser stops) and
    with fewer (which pandas pads) are rejected whichever chunk they fall in."""
    path = tmp_path / "ragged.csv"
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    result = run(team.zhang, "customers", path, chunk_rows=chunk_rows, engine=engine)
    assert (result.rows, result.created, result.rejected) == (9, 5, 4), result.describe("en")
    found = rejects(result)
    assert found["row_number"].tolist() == ["3", "5", "8", "11"]
    assert found["reasons"].tolist() == [
        reason("en", 3, 3),
        reason("en", 5, 7, ["000.50"]),
        reason("en", 8, 5),
        reason("en", 11, 8, ["", ""]),
    ]
    # The cells as far as the header goes: the shifted value shows where it went.
    assert found.iloc[1, 2:].tolist() == ["测试公司5", "39", "张三", "13812340005", "官网", "120"]
    assert found.iloc[0, 2:].tolist() == ["测试公司3", "39", "张三", "", "", ""]
    assert names(team.url) == CREATED
    engine_ = create_engine(team.url)
    try:
        with engine_.connect() as conn:
            stored = conn.execute(
                select(ImportReject.row_number, ImportReject.raw).order_by(ImportReject.row_number)
            ).all()
    finally:
        engine_.dispose()
    assert [row for row, _ in stored] == [3, 5, 8, 11]
    assert json.loads(stored[1].raw)["address"] == "120"


def test_ragged_rows_are_explained_in_chinese(team: Team, tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("\r\n".join(LINES) + "\r\n", encoding="utf-8")
    with crmlib.open(team.url, user="zhang", lang="zh") as ws:
        result = run(ws, "customers", path)
    found = rejects(result)["reasons"].tolist()
    assert found[0] == reason("zh", 3, 3)
    assert found[1] == reason("zh", 5, 7, ["000.50"])
    assert "第 5 行有 7 个单元格，但表头有 6 列" in found[1]


def test_a_quote_left_open_after_a_ragged_row_refuses_the_file(team: Team, tmp_path: Path) -> None:
    """Past a row with more cells, the csv module reads on, as strictly as pandas' parser:
    a quote never closed still refuses the file, naming the row it opened in."""
    path = tmp_path / "open.csv"
    lines = [HEADER, good(2), good(3, "120,000.50"), good(4), '"测试公司5,39,张三', good(6)]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    for chunk_rows in (1, 50_000):
        with pytest.raises(FileProblem, match="row 5"):
            run(team.zhang, "customers", path, chunk_rows=chunk_rows)
    assert names(team.url) == []


def test_an_unquoted_amount_in_a_purchase_log(team: Team, tmp_path: Path, engine: str) -> None:
    """The issue's file: one amount written 120,000.50 without quotes; that row is
    rejected, every other purchase counts, and revenue is the sum of those."""
    ws = team.zhang
    code = ws.customers.add(**company()).code
    rows = [
        ["customer_code", "ordered_at", "amount", "product"],
        [code, "2024-05-01", "99.00", "控制器 A"],
        [code, "2024-05-02", "120", "000.50", "控制器 B"],
        [code, "2024-05-03", "35600.00", "控制器 C"],
        [code, "2024-05-04"],
        [code, "2024-05-05", "100.00", "控制器 A"],
    ]
    path = tmp_path / "orders.csv"
    path.write_text("\r\n".join(",".join(row) for row in rows) + "\r\n", encoding="utf-8")
    result = run(ws, "orders", path, engine=engine)
    assert (result.created, result.rejected) == (3, 2), result.describe("en")
    found = rejects(result)
    assert found["row_number"].tolist() == ["3", "5"]
    assert all("[ragged_row]" in text for text in found["reasons"])
    engine_ = create_engine(team.url)
    try:
        with engine_.connect() as conn:
            total = conn.execute(select(func.sum(Order.amount))).scalar_one()
    finally:
        engine_.dispose()
    assert Decimal(str(total)) == Decimal("35799.00")
    assert ws.kpi("revenue", period="2024")["value"].sum() == pytest.approx(35799.0)


def test_a_workbook_row_with_a_value_past_the_header(
    team: Team, tmp_path: Path, engine: str
) -> None:
    """In a workbook a row cannot have fewer cells, but it can hold a value past the
    header's last column, as Excel makes of an unquoted 120,000.50 in a CSV file it opens:
    that row is rejected, naming the column; empty cells out there change nothing."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in [
        HEADER.split(","),
        good(2).split(","),
        good(3, "120,000.50").split(","),
        [*good(4).split(","), "", "", "   "],
        good(5).split(","),
    ]:
        sheet.append(row)
    path = tmp_path / "ragged.xlsx"
    book.save(path)
    result = run(team.zhang, "customers", path, engine=engine)
    assert (result.rows, result.created, result.rejected) == (4, 3, 1), result.describe("en")
    found = rejects(result)
    assert found["row_number"].tolist() == ["3"]
    message = t("reading:ragged_sheet", "en", row=3, column="G", last="F", extra=["000.50"])
    assert found["reasons"].tolist() == [str(FieldError("cells", 7, "ragged_row", message))]
    assert names(team.url) == ["测试公司2", "测试公司4", "测试公司5"]
