"""Importing the files people really bring: every bad input gets one clear line, never a
traceback, and no row is silently lost (rows imported + rows rejected = data rows).

Files are written the way the programs that make them write them: Excel on Chinese
Windows (GBK CSV with CRLF, "CSV UTF-8" with a BOM, "Unicode text" as tab-separated
UTF-16), openpyxl workbooks (formulas without a computed value), and worse.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import threading
import zipfile
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

from crmlib.transfer import reading
from crmlib.transfer.importing import ImportResult, import_file
from crmlib.transfer.reading import FileProblem
from crmlib.workspace import Workspace
from tests.factories import Team, company

HEADERS = ["客户名称", "行业", "联系人", "电话", "客户来源"]
#: Excel's limit on the characters of one cell: a reason longer than this cannot be read there.
EXCEL_CELL_LIMIT = 32_767
LONG = 100_000


# -- helpers --------------------------------------------------------------------------------


def company_row(n: int, name: str | None = None) -> list[str]:
    """A valid company row under HEADERS."""
    return [name or f"测试公司{n}", "39", "张三", f"1381234{n:04d}", "官网"]


def write_csv(
    path: Path, rows: Sequence[Sequence[Any]], *, encoding: str = "utf-8", delimiter: str = ","
) -> Path:
    """A CSV as Excel saves one: CRLF line ends, quotes only where needed."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    text = buffer.getvalue()
    if encoding == "utf-16":  # Excel's "Unicode text": little-endian with a BOM
        path.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    else:
        path.write_bytes(text.encode(encoding))
    return path


def write_xlsx(path: Path, rows: Sequence[Sequence[Any]], *, title: str = "客户") -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title
    for row in rows:
        sheet.append(list(row))
    book.save(path)
    return path


def rewrite_sheet_xml(path: Path, change: Any, name: str = "xl/worksheets/sheet1.xml") -> None:
    """Edit the first worksheet's XML (or part ``name``) inside an .xlsx, as other programs
    write it."""
    with zipfile.ZipFile(path) as source:
        parts = {part: source.read(part) for part in source.namelist()}
    parts[name] = change(parts[name].decode("utf-8")).encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for part, data in parts.items():
            target.writestr(part, data)


def run(ws: Workspace, path: Path, kind: str = "customers", **options: Any) -> ImportResult:
    out = path.parent / f"out-{path.name}-{len(list(path.parent.glob('out-*')))}"
    return ws.import_file(kind, path, output_dir=out, **options)


def problem(ws: Workspace, path: Path, **options: Any) -> str:
    """The FileProblem importing ``path`` raises: one line that names the file."""
    with pytest.raises(FileProblem) as raised:
        run(ws, path, **options)
    message = str(raised.value)
    assert "\n" not in message and path.name in message, message
    return message


def accounted(result: ImportResult, data_rows: int) -> None:
    """No row silently lost: each data row of the file ends imported or rejected."""
    assert result.rows == data_rows, result.describe("en")
    assert result.ok + result.rejected == data_rows, result.describe("en")


def _rows(path: Path | None) -> list[dict[str, str]]:
    """An output CSV as pandas opens it (every cell as text), one dict per row."""
    assert path is not None
    frame = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    return [{str(k): str(v) for k, v in row.items()} for row in frame.to_dict("records")]


def rejects(result: ImportResult) -> list[dict[str, str]]:
    assert result.rejects_path is not None, result.describe("en")
    return _rows(result.rejects_path)


def numbers(rows: list[dict[str, str]]) -> list[str]:
    return [row["row_number"] for row in rows]


def customers(ws: Workspace) -> dict[str, dict[str, Any]]:
    """Visible customers by name; missing values are None."""
    frame = ws.customers.frame().astype(object)
    frame = frame.where(frame.notna(), None)
    return {
        str(row["name"]): {str(k): v for k, v in row.items()} for row in frame.to_dict("records")
    }


# -- files that are no table ----------------------------------------------------------------


def test_empty_and_blank_files_say_they_are_empty(team: Team, tmp_path: Path) -> None:
    ws = team.zhang
    files = {
        "empty.csv": b"",
        "empty.xlsx": b"",
        "spaces.csv": b"  \r\n\t\r\n\n   ",
        "bom-only.csv": codecs.BOM_UTF8 + b"\r\n",
        "utf16-blank.txt": codecs.BOM_UTF16_LE + " \r\n\r\n".encode("utf-16-le"),
    }
    for name, data in files.items():
        path = tmp_path / name
        path.write_bytes(data)
        assert "is empty" in problem(ws, path), name
    blank_sheet = write_xlsx(tmp_path / "blank-sheet.xlsx", [])
    assert "is empty" in problem(ws, blank_sheet)
    assert customers(ws) == {}


def test_header_only_files_import_nothing(team: Team, tmp_path: Path) -> None:
    ws = team.zhang
    for path in (
        write_csv(tmp_path / "header.csv", [HEADERS]),
        write_xlsx(tmp_path / "header.xlsx", [HEADERS]),
    ):
        result = run(ws, path)
        assert (result.rows, result.created, result.rejected) == (0, 0, 0)
        assert result.rejects_path is None and result.unknown_columns == []
    no_line_end = tmp_path / "no-line-end.csv"
    no_line_end.write_text(",".join(HEADERS), encoding="utf-8")
    assert run(ws, no_line_end).rows == 0
    assert customers(ws) == {}


def test_wrong_sheet_lists_the_real_sheets(team: Team, tmp_path: Path) -> None:
    ws = team.zhang
    book = openpyxl.Workbook()
    instructions = book.active
    assert instructions is not None
    instructions.title = "说明"
    instructions.append(["请在“客户”工作表填写"])
    data = book.create_sheet("客户")
    data.append(HEADERS)
    data.append(company_row(1))
    path = tmp_path / "two-sheets.xlsx"
    book.save(path)

    message = problem(ws, path, sheet="不存在")
    assert "不存在" in message and "说明" in message and "客户" in message
    assert customers(ws) == {}
    # Without a sheet, the one named after the kind is read, not the first one.
    result = run(ws, path)
    accounted(result, 1)
    assert result.created == 1
    assert "has no sheets" in problem(ws, write_csv(tmp_path / "a.csv", [HEADERS]), sheet="客户")


def test_unreadable_bytes_raise_a_file_problem(team: Team, tmp_path: Path) -> None:
    ws = team.zhang
    ole = bytes.fromhex("D0CF11E0A1B11AE1") + os.urandom(4096)
    files = {
        "random.csv": (os.urandom(4096), ""),
        "random.xlsx": (os.urandom(4096), ""),
        "broken.xlsx": (b"PK\x03\x04" + os.urandom(4096), "not a readable Excel workbook"),
        "utf16-garbage.csv": (codecs.BOM_UTF16_LE + os.urandom(4096), ""),
        "bom-then-gbk.csv": (
            codecs.BOM_UTF8 + ",".join(HEADERS).encode("gbk") + b"\r\n",
            "not valid utf-8",
        ),
        "old.xls": (ole, "old .xls format"),
        "renamed.xlsx": (ole, "old .xls format"),
        "renamed.csv": (ole, "old .xls format"),
    }
    for name, (data, expected) in files.items():
        path = tmp_path / name
        path.write_bytes(data)
        assert expected in problem(ws, path), name
    assert customers(ws) == {}


# -- encodings and headers ------------------------------------------------------------------


#: How Excel on Chinese Windows saves a sheet: "CSV (逗号分隔)" in the ANSI code page
#: (GBK; GB18030 from other tools), "CSV UTF-8" with a BOM, "Unicode 文本" as UTF-16 + tabs.
EXCEL_SAVES = [("gbk", ","), ("gb18030", ","), ("utf-8-sig", ","), ("utf-16", "\t")]


def test_csv_as_excel_saves_it_on_chinese_windows(team: Team, tmp_path: Path) -> None:
    ws = team.zhang
    for n, (encoding, delimiter) in enumerate(EXCEL_SAVES):
        # 𠮷 is outside GBK: only GB18030 and the Unicode encodings carry it.
        special = f"{'鹏' if encoding == 'gbk' else '𠮷'}程电子有限公司-{encoding}"
        written = f"深圳市龍華精密（集团）-{encoding}"  # full width, stored as written
        rows = [
            [*HEADERS, "地址"],
            [special, "制造业", "陈静", f"138 1234 {n:04d}", "展会", "科苑路 15 号，A 座"],
            [*company_row(10 + n, name=written), '含"引号",逗号'],
        ]
        path = write_csv(
            tmp_path / f"customers-{encoding}.csv", rows, encoding=encoding, delimiter=delimiter
        )
        result = run(ws, path)
        accounted(result, 2)
        assert (result.created, result.unknown_columns) == (2, []), encoding
        found = customers(ws)
        assert {special, written} <= set(found), (encoding, list(found))
        assert found[special]["contact"] == "陈静", encoding
        assert found[special]["phone"] == f"+861381234{n:04d}", encoding
        assert found[special]["source"] == "exhibition", encoding
        assert found[special]["address"] == "科苑路 15 号，A 座", encoding
        assert found[written]["address"] == '含"引号",逗号', encoding
    assert len(customers(ws)) == 2 * len(EXCEL_SAVES)


def test_traditional_chinese_and_english_headers(team: Team, tmp_path: Path) -> None:
    ws = team.zhang
    traditional = write_csv(
        tmp_path / "traditional.csv",
        [
            ["客戶名稱", "行業", "聯繫人", "電話", "客戶來源", "備註"],
            # Headers are read in traditional script; values are matched as rules read them.
            ["臺北貿易有限公司", "批发业", "陳靜", "13812340001", "官网", "老客戶"],
        ],
    )
    english = write_xlsx(
        tmp_path / "english.xlsx",
        [
            ["name", "Industry", "Contact", "Phone", "Source", "Fax", "customer NAME"],
            ["Acme Trading", "F51", "Li Lei", "+86 138 1234 0002", "Website", "x", "dup"],
        ],
    )
    result = run(ws, traditional)
    accounted(result, 1)
    assert result.created == 1
    assert result.unknown_columns == []
    result = run(ws, english)
    accounted(result, 1)
    assert result.created == 1
    # A second column meaning the same field is not silently merged: it is listed.
    assert result.unknown_columns == ["Fax", "customer NAME"]
    assert "Fax" in result.describe("en")
    found = customers(ws)
    assert found["臺北貿易有限公司"]["contact"] == "陳靜"
    assert found["臺北貿易有限公司"]["remarks"] == "老客戶"  # 備註: the remarks field
    assert found["Acme Trading"]["phone"] == "+8613812340002"


# -- workbooks ------------------------------------------------------------------------------


def test_formulas_without_a_computed_value_show_the_formula(team: Team, tmp_path: Path) -> None:
    ws = team.zhang
    path = write_xlsx(
        tmp_path / "formulas.xlsx",
        [
            [*HEADERS, "邮编"],
            [*company_row(1), '=""'],  # saved by Excel with its result, an empty string
            ["公式电话", "39", "张三", "=SUM(A1:A2)", "官网", ""],  # a required field
            ["公式邮编", "39", "张三", "13812340003", "官网", "=A1"],  # an optional field
            ["缓存行业", '="3"&"9"', "张三", "13812340004", "官网", ""],
        ],
    )
    # Excel saves the computed value beside the formula: that value is what counts.
    rewrite_sheet_xml(
        path,
        lambda xml: xml.replace(
            '<c r="B5"><f>"3"&amp;"9"</f><v /></c>',
            '<c r="B5" t="str"><f>"3"&amp;"9"</f><v>39</v></c>',
        ).replace('<c r="F2"><f>""</f><v /></c>', '<c r="F2" t="str"><f>""</f><v></v></c>'),
    )
    result = run(ws, path)
    accounted(result, 4)
    assert (result.created, result.rejected) == (2, 2)
    rejected = rejects(result)
    assert numbers(rejected) == ["3", "4"]
    assert "=SUM(A1:A2)" in rejected[0]["reasons"]
    assert "phone" in rejected[0]["reasons"] and "is required" not in rejected[0]["reasons"]
    assert rejected[0]["电话"] == "'=SUM(A1:A2)"  # as text: a spreadsheet does not run it
    # an optional field's formula rejects its row too, as the API refuses the value
    assert "postcode='=A1'" in rejected[1]["reasons"] and "[postcode]" in rejected[1]["reasons"]
    assert rejected[1]["邮编"] == "'=A1"
    found = customers(ws)
    assert found["测试公司1"]["postcode"] is None
    assert "公式邮编" not in found
    assert found["缓存行业"]["industry_division"] == "39"


def test_merged_cells_give_every_row_the_value(team: Team, tmp_path: Path) -> None:
    ws = team.zhang
    path = write_xlsx(
        tmp_path / "merged.xlsx",
        [
            HEADERS,
            *[[*company_row(n)[:4], "展会" if n == 1 else None] for n in (1, 2, 3)],
            company_row(4),
        ],
    )
    book = openpyxl.load_workbook(path)
    sheet = book.active
    assert sheet is not None
    sheet.merge_cells("E2:E4")
    book.save(path)
    result = run(ws, path)
    accounted(result, 4)
    assert result.created == 4
    assert {name: row["source"] for name, row in customers(ws).items()} == {
        "测试公司1": "exhibition",
        "测试公司2": "exhibition",
        "测试公司3": "exhibition",
        "测试公司4": "website",
    }


def test_plain_workbooks_read_as_openpyxl_reads_them(tmp_path: Path) -> None:
    """Workbooks of plain values go through calamine, which must give every cell the text
    openpyxl gives it: numbers, dates, times, booleans, blanks, merged cells, long text."""
    path = write_xlsx(
        tmp_path / "plain.xlsx",
        [
            [None, None, None],
            ["名称", "数量", "日期", "时间", "是否", "备注"],
            ["甲 公司 ", 12, date(2024, 5, 1), datetime(2024, 5, 1, 13, 5), True, None],
            ["乙", 2.5, datetime(2024, 5, 1), None, False, "x" * LONG],
            ["丙", 13812345678, 45413, "2024/5/1", "", "备注"],
        ],
    )
    book = openpyxl.load_workbook(path)
    sheet = book.active
    assert sheet is not None
    sheet.merge_cells("F5:F6")
    sheet["G6"] = "far"
    book.save(path)
    plain = reading._open_workbook(path)
    assert isinstance(plain, reading._PlainWorkbook)
    full = reading._Workbook.open(path)
    try:
        assert plain.sheetnames == full.sheetnames == ["客户"]
        assert plain.max_row("客户") == full.max_row("客户") == 6
        read = list(plain.rows(path, "客户"))
        assert read == list(full.rows(path, "客户"))
        assert read[2][:5] == ["甲 公司 ", "12", "2024-05-01", "2024-05-01 13:05:00", "是"]
        assert read[3][5] == "x" * EXCEL_CELL_LIMIT  # openpyxl saves no more
        assert read[5][5:] == ["备注", "far"]  # merged from the row above
    finally:
        plain.close()
        full.close()


def read_both_ways(path: Path) -> list[list[str]]:
    """Every row of the workbook's sheet as calamine reads it, once checked that openpyxl
    reads the same text."""
    plain = reading._PlainWorkbook(path)
    full = reading._Workbook.open(path)
    try:
        read = list(plain.rows(path, "客户"))
        assert read == list(full.rows(path, "客户"))
        assert plain.max_row("客户") == full.max_row("客户") == len(read)
    finally:
        plain.close()
        full.close()
    return read


#: Cells of less common formats, as openpyxl saves them: the value, its number format and
#: the text both readers give it (what the user typed, as far as the saved value keeps it).
FORMATS = [
    (0.15, "0%", "0.15"),
    (0.15, "0.00%", "0.15"),
    (1234.5, "¥#,##0.00", "1234.5"),
    (1234567, "#,##0", "1234567"),
    (1234567.891, "#,##0.00", "1234567.891"),
    (1.5e-7, "0.00E+00", "1.5e-07"),
    (1e20, "0.00E+00", "100000000000000000000"),
    (123456789012345678, "0", "123456789012345700"),  # saved as 1.234567890123457e+17
    (-42, "General", "-42"),
    (-1234.5, "#,##0.00;(#,##0.00)", "-1234.5"),
    (date(2024, 5, 1), "yyyy年m月d日", "2024-05-01"),
    (date(2024, 5, 1), "mm/dd/yy", "2024-05-01"),
    (date(2024, 5, 1), "d-mmm-yy", "2024-05-01"),
    (datetime(2024, 5, 1, 13, 5, 7), "yyyy-mm-dd hh:mm:ss", "2024-05-01 13:05:07"),
    (time(13, 5, 7), "hh:mm:ss", "13:05:07"),
    (timedelta(hours=27, minutes=30), "[h]:mm", "27:30:00"),
    (timedelta(hours=3), "[h]:mm", "3:00:00"),
    ("00123", "@", "00123"),
    (True, "General", "是"),
    (False, "General", "否"),
    ("第一行\n第二行", "General", "第一行\n第二行"),
    ("  甲 公司  ", "General", "  甲 公司  "),
    (date(1900, 2, 27), "yyyy-mm-dd", "1900-02-27"),  # before Excel's 29 February 1900
    (date(1900, 1, 1), "yyyy-mm-dd", "1900-01-01"),
]


def test_uncommon_formats_read_as_openpyxl_reads_them(tmp_path: Path) -> None:
    """Percentages, currency, separators, scientific notation, long numbers, custom date
    formats, times, durations, text that looks like a number, booleans, line breaks and
    spaces read the same through calamine and openpyxl."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "客户"
    sheet.append([f"列{n}" for n in range(len(FORMATS))])
    for column, (value, number_format, _) in enumerate(FORMATS, start=1):
        sheet.cell(2, column, value).number_format = number_format
    path = tmp_path / "formats.xlsx"
    book.save(path)
    assert reading._is_plain(path)
    read = read_both_ways(path)
    assert read[1] == [text for _, _, text in FORMATS]


def test_numbers_as_excel_and_exporters_save_them(tmp_path: Path) -> None:
    """Excel keeps 15 digits of a long number typed in (saved as 1.23456789012345E+17), and
    both readers show them as Excel does. Whole numbers an exporter saved with every digit
    (card and ID numbers) are more than a float holds: such a workbook is read by openpyxl,
    which keeps them exactly."""
    path = write_xlsx(tmp_path / "excel.xlsx", [["编号", "小数"], [1, 2]])
    rewrite_sheet_xml(
        path,
        lambda xml: xml.replace("<v>1</v>", "<v>1.23456789012345E+17</v>").replace(
            "<v>2</v>", "<v>0.30000000000000004</v>"
        ),
    )
    assert reading._is_plain(path)
    assert read_both_ways(path)[1] == ["123456789012345000", "0.30000000000000004"]

    exact = ["123456789012345678", str(2**53 + 1), "-6222021234567890123"]
    path = write_xlsx(tmp_path / "export.xlsx", [["身份证", "大数", "卡号"], [1, 2, 3]])
    rewrite_sheet_xml(
        path, lambda xml: re.sub(r"<v>([123])</v>", lambda m: f"<v>{exact[int(m[1]) - 1]}</v>", xml)
    )
    assert not reading._is_plain(path)
    table = reading.open_table(path)
    assert table.parsed is None  # read by openpyxl
    assert list(next(iter(table.chunks(10))).cells.loc[2]) == exact


def test_merged_cells_reaching_past_the_last_value(tmp_path: Path) -> None:
    """A merged cell may reach below and right of the last value: its rows and columns
    are there, filled, as openpyxl and Excel show them."""
    path = write_xlsx(tmp_path / "merged.xlsx", [["名称", "备注"], ["甲", "合并"]])
    book = openpyxl.load_workbook(path)
    sheet = book.active
    assert sheet is not None
    sheet.merge_cells("B2:C4")
    book.save(path)
    assert read_both_ways(path) == [
        ["名称", "备注", ""],
        ["甲", "合并", "合并"],
        ["", "合并", "合并"],
        ["", "合并", "合并"],
    ]


def test_both_readers_read_what_chinese_excel_shows(tmp_path: Path) -> None:
    """The built-in date formats of Chinese Excel (saved as a format number alone, unknown
    to openpyxl, which read the serial number) and a carriage return saved escaped
    (``_x000D_``, which openpyxl kept as it is) read as Excel shows them both ways: a
    workbook with a formula goes to openpyxl."""
    path = write_xlsx(tmp_path / "chinese.xlsx", [["日期", "时间", "备注"], [1, 2, "X"]])
    book = openpyxl.load_workbook(path)
    sheet = book.active
    assert sheet is not None
    sheet["A2"].number_format = "yyyy-mm-dd"
    sheet["B2"].number_format = "h:mm:ss AM/PM"
    book.save(path)
    rewrite_sheet_xml(
        path,
        lambda xml: (
            xml.replace("<v>1</v>", "<v>45413</v>")
            .replace("<v>2</v>", "<v>0.5452199074074074</v>")
            .replace("<t>X</t>", "<t>第一行_x000D_\n第二行</t>")
        ),
    )
    # 31 is yyyy"年"m"月"d"日" and 32 h"时"mm"分" in Chinese Excel, which saves no definition.
    built_in = iter(["31", "32"])
    rewrite_sheet_xml(
        path,
        lambda xml: re.sub(
            r'(<xf [^>]*numFmtId=")(?:1[6-9]\d)"', lambda m: f'{m[1]}{next(built_in)}"', xml
        ),
        "xl/styles.xml",
    )
    assert read_both_ways(path)[1] == ["2024-05-01", "13:05:07", "第一行\r\n第二行"]


def test_a_plain_workbook_is_parsed_once_per_import(
    team: Team, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding the header and reading the rows share one parse of the sheet (at 100,000
    rows a parse takes a second), also when the ``pipelined`` engine's checking thread
    reads the rows."""
    import python_calamine

    log = tmp_path / "calamine.log"
    calamine_workbook = python_calamine.CalamineWorkbook

    def note(what: str) -> None:
        with log.open("a") as out:
            out.write(f"{what} {threading.current_thread().name}\n")

    class Noted:
        """A calamine object, noting in which thread it parses a sheet or gives rows."""

        def __init__(self, wrapped: Any) -> None:
            self.wrapped = wrapped

        @classmethod
        def from_path(cls, path: str) -> Noted:
            return cls(calamine_workbook.from_path(path))

        def get_sheet_by_name(self, name: str) -> Noted:
            note("parse")
            return Noted(self.wrapped.get_sheet_by_name(name))

        def iter_rows(self) -> Any:
            note("rows")
            return self.wrapped.iter_rows()

        def __getattr__(self, name: str) -> Any:
            return getattr(self.wrapped, name)

    monkeypatch.setattr(python_calamine, "CalamineWorkbook", Noted)
    path = write_xlsx(tmp_path / "plain.xlsx", [HEADERS, *[company_row(n) for n in range(1, 6)]])
    result = import_file(team.zhang.ctx, "customers", path, chunk_rows=2, engine="pipelined")
    accounted(result, 5)
    assert result.created == 5
    me = threading.current_thread().name
    noted = [line.split() for line in log.read_text().splitlines()]
    assert [by for what, by in noted if what == "parse"] == [me]  # once, by open_table
    header, rows = (by for what, by in noted if what == "rows")
    assert header == me
    assert rows == "crm-import-check"  # read by the checking thread


def test_error_values_keep_their_text(tmp_path: Path) -> None:
    """A cell showing #N/A is read as #N/A (by openpyxl: calamine would read it as blank),
    so the row is rejected with the value the user sees."""
    path = write_xlsx(tmp_path / "errors.xlsx", [HEADERS, ["甲公司", "39", "张三", "#N/A", "官网"]])
    workbook = reading._open_workbook(path)
    try:
        assert isinstance(workbook, reading._Workbook)
        assert list(workbook.rows(path, "客户"))[1][3] == "#N/A"
    finally:
        workbook.close()


def test_streamed_workbook_with_a_wrong_size_keeps_every_row(
    team: Team, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large workbooks are streamed; some programs write their size as "A1", which must
    not cut the sheet short."""
    ws = team.zhang
    path = write_xlsx(tmp_path / "big.xlsx", [HEADERS, *[company_row(n) for n in range(1, 6)]])
    rewrite_sheet_xml(
        path, lambda xml: re.sub(r'<dimension ref="[^"]*"', '<dimension ref="A1"', xml)
    )
    monkeypatch.setattr(reading, "FULL_WORKBOOK_BYTES", 0)
    result = run(ws, path)
    accounted(result, 5)
    assert result.created == 5


# -- values ---------------------------------------------------------------------------------


def test_hundred_thousand_character_cells(team: Team, tmp_path: Path) -> None:
    ws = team.zhang
    long_name, long_address = "名" * LONG, "路" * LONG
    reason_lengths = {}
    for n, suffix in enumerate(("csv", "xlsx")):
        rows = [
            [*HEADERS, "地址"],
            [*company_row(2 * n, name=long_name), ""],
            [*company_row(2 * n + 1, name=f"长地址公司-{suffix}"), long_address],
        ]
        path = tmp_path / f"long.{suffix}"
        if suffix == "csv":
            write_csv(path, rows, encoding="utf-8-sig")
        else:  # openpyxl cuts strings at Excel's limit, so the long ones go into the XML
            rows[1][0], rows[2][5] = "LONG-NAME", "LONG-ADDRESS"
            write_xlsx(path, rows)
            rewrite_sheet_xml(
                path,
                lambda xml: xml.replace(">LONG-NAME<", f">{long_name}<").replace(
                    ">LONG-ADDRESS<", f">{long_address}<"
                ),
            )
        result = run(ws, path)
        accounted(result, 2)
        assert (result.created, result.rejected) == (0, 2), suffix
        rejected = rejects(result)
        assert numbers(rejected) == ["2", "3"], suffix
        assert rejected[0]["客户名称"] == long_name, suffix  # the original value, whole
        reasons = rejected[0]["reasons"]
        assert "longer than 200 characters" in reasons and "[too_long]" in reasons, suffix
        # an optional field's value too long rejects its row just the same
        assert rejected[1]["地址"] == long_address, suffix
        assert "longer than 300 characters" in rejected[1]["reasons"], suffix
        assert "[too_long]" in rejected[1]["reasons"], suffix
        reason_lengths[suffix] = max(len(reasons), len(rejected[1]["reasons"]))
        assert f"长地址公司-{suffix}" not in customers(ws), suffix
    # Excel shows at most 32,767 characters of a cell: a reason that quotes the whole value
    # is cut there, before it says what is wrong.
    assert max(reason_lengths.values()) <= EXCEL_CELL_LIMIT, reason_lengths


def test_rows_repeated_in_the_file(team: Team, tmp_path: Path) -> None:
    ws = team.zhang
    keyed = write_csv(
        tmp_path / "keyed.csv",
        [
            ["外部编号", *HEADERS],
            ["ERP-1", *company_row(1)],
            ["ERP-2", *company_row(2)],
            ["ERP-1", *company_row(3)],  # same key, other values
        ],
    )
    unkeyed = write_csv(
        tmp_path / "unkeyed.csv",
        [HEADERS, company_row(4), company_row(5), company_row(4), company_row(4)],
    )
    # Repeats are caught across chunks as well as inside one.
    for chunk_rows in (1, 50_000):
        for path, repeats in ((keyed, {"4": 2}), (unkeyed, {"4": 2, "5": 2})):
            out = tmp_path / f"out-{path.stem}-{chunk_rows}"
            result = import_file(
                ws.ctx, "customers", path, dry_run=True, output_dir=out, chunk_rows=chunk_rows
            )
            accounted(result, len(repeats) + 2)
            assert result.created == 2
            rejected = rejects(result)
            assert {r["row_number"]: r["reasons"] for r in rejected} == {
                row: f"repeats row {first} of the file [repeated_row]"
                for row, first in repeats.items()
            }
    result = run(ws, keyed)
    assert (result.created, result.rejected) == (2, 1)
    assert sorted(customers(ws)) == ["测试公司1", "测试公司2"]


def test_an_unclosed_quote_refuses_the_file(team: Team, tmp_path: Path) -> None:
    """A quote never closed leaves no row boundary to trust after it (rows with more or
    fewer cells than the header are rejected one by one: tests/transfer/test_ragged_rows.py)."""
    ws = team.zhang
    header = ",".join(HEADERS)
    good = ",".join(company_row(1))
    later = ",".join(company_row(3))
    path = tmp_path / "open-quote.csv"
    path.write_text(f'{header}\r\n{good}\r\n"测试公司2,39,张三\r\n{later}\r\n', encoding="utf-8")
    for chunk_rows in (1, 50_000):  # rows of earlier chunks are rolled back too
        with pytest.raises(FileProblem) as raised:
            import_file(
                ws.ctx, "customers", path, output_dir=tmp_path / "out", chunk_rows=chunk_rows
            )
        message = str(raised.value)
        assert "\n" not in message and all(e in message for e in ["row 3", "quote"]), message
    assert customers(ws) == {}


def test_blank_lines_keep_the_row_numbers_excel_shows(team: Team, tmp_path: Path) -> None:
    ws = team.zhang
    lines = [
        ",".join(HEADERS),  # row 1
        ",".join(company_row(1)),  # 2
        "",  # 3
        ",,,,",  # 4: cells, all empty
        "坏行业公司,不存在的行业,张三,13812340005,官网",  # 5
        "",  # 6
        "   ",  # 7
        ",".join(company_row(8)),  # 8
        "坏电话公司,39,张三,12345,官网",  # 9
    ]
    path = tmp_path / "blank-lines.csv"
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    for chunk_rows in (2, 50_000):
        out = tmp_path / f"out-{chunk_rows}"
        result = import_file(
            ws.ctx, "customers", path, dry_run=True, output_dir=out, chunk_rows=chunk_rows
        )
        accounted(result, 4)
        assert numbers(rejects(result)) == ["5", "9"]
    # Empty rows above the header: the header is where Excel shows it, rows follow it.
    above = tmp_path / "blank-above.csv"
    above.write_text("\r\n,,,,\r\n" + "\r\n".join(lines) + "\r\n", encoding="utf-8")
    result = run(ws, above)
    accounted(result, 4)
    assert numbers(rejects(result)) == ["7", "11"]
    assert sorted(customers(ws)) == ["测试公司1", "测试公司8"]


def test_orders_with_excel_serial_dates_and_chinese_amounts(team: Team, tmp_path: Path) -> None:
    ws = team.zhang
    code = ws.customers.add(**company()).code
    headers = ["客户编号", "下单日期", "订单金额", "产品"]
    csv_file = write_csv(
        tmp_path / "orders.csv",
        [
            headers,
            [code, "45413", "1.2万", "控制器 A"],
            [code, "2024/5/1", "1,200.50", "控制器 B"],
            [code, "45413", "-5", "控制器 C"],
        ],
        encoding="gbk",
    )
    xlsx_file = write_xlsx(
        tmp_path / "orders.xlsx",
        [
            headers,
            [code, 45413, "1.2万", "控制器 D"],
            [code, datetime(2024, 5, 1), 1200.5, "控制器 E"],
            [code, "45413.5", "¥1,200.50", "控制器 F"],
        ],
    )
    first = run(ws, csv_file, kind="orders")
    accounted(first, 3)
    assert (first.created, first.rejected) == (2, 1)
    assert "amount='-5'" in rejects(first)[0]["reasons"]
    second = run(ws, xlsx_file, kind="orders")
    accounted(second, 3)
    assert second.created == 3
    orders = ws.orders.frame().set_index("product")
    assert {pd.Timestamp(d).date() for d in orders["ordered_at"]} == {date(2024, 5, 1)}
    amounts = {product: Decimal(str(value)) for product, value in orders["amount"].items()}
    assert amounts == {
        "控制器 A": Decimal("12000.00"),
        "控制器 B": Decimal("1200.50"),
        "控制器 D": Decimal("12000.00"),
        "控制器 E": Decimal("1200.50"),
        "控制器 F": Decimal("1200.50"),
    }


def test_rejects_csv_keeps_the_original_values(team: Team, tmp_path: Path) -> None:
    ws = team.zhang
    headers = ["外部编号", *HEADERS, "邮编", "传真"]
    bad = [
        "007",
        "  ＡＢＣ贸易  ",
        "不存在的行业",
        "张三",
        "１３８ １２３４ ０００９",
        "官网",
        "0518",
        "x",
    ]
    path = write_csv(
        tmp_path / "originals.csv",
        [headers, ["001", *company_row(1), "518000", ""], bad],
        encoding="gbk",
    )
    result = run(ws, path)
    accounted(result, 2)
    rejected = rejects(result)
    assert list(rejected[0]) == ["row_number", "reasons", *headers]
    assert list(rejected[0].values())[2:] == bad  # leading zeros, spaces, full width kept
    assert rejected[0]["row_number"] == "3"
    assert "industry='不存在的行业'" in rejected[0]["reasons"]
    assert result.unknown_columns == ["传真"]


def test_persons_need_a_name_and_a_way_to_reach_them(team: Team, tmp_path: Path) -> None:
    ws = team.zhang
    path = write_csv(
        tmp_path / "persons.csv",
        [
            ["客户类型", "客户名称", "电话", "邮箱"],
            ["个人", "王芳", "13812340001", ""],
            ["个人", "李娜", "", "li.na@example.cn"],
            ["个人", "赵敏", "", ""],  # nobody can reach her
            ["个人", "", "13812340004", ""],
            ["企业", "缺字段公司", "13812340005", ""],  # a company needs more
        ],
    )
    result = run(ws, path)
    accounted(result, 5)
    assert result.created == 2
    reasons = {r["row_number"]: r["reasons"] for r in rejects(result)}
    assert set(reasons) == {"4", "5", "6"}
    assert "required_any" in reasons["4"]
    assert "name=None: is required" in reasons["5"]
    assert all(f"{f}=None: is required" in reasons["6"] for f in ("industry", "contact", "source"))
    assert sorted(customers(ws)) == ["李娜", "王芳"]
