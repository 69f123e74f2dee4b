"""Import templates: sheets, headers, required markers, dropdowns and instructions.

The strongest checks are that a template never offers a value its own rules refuse: the
example row and every dropdown entry must pass the column's rule.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from openpyxl.worksheet.worksheet import Worksheet

from crmlib import ValidationError
from crmlib.cli import main
from crmlib.i18n import speaking
from crmlib.reference.industries import DIVISIONS, SECTIONS, Industry
from crmlib.reference.regions import PROVINCES, Province
from crmlib.transfer import templates
from crmlib.transfer.catalogue import KINDS
from crmlib.transfer.kinds import FileKind
from crmlib.transfer.templates import VALIDATED_ROWS, write_template

LANGS = ("zh", "en")
REQUIRED_TEXT = {
    ("zh", True): "必填",
    ("zh", False): "选填",
    ("en", True): "required",
    ("en", False): "optional",
}


def _book(tmp_path: Path, kind: str, lang: str) -> Any:
    return openpyxl.load_workbook(write_template(kind, tmp_path / f"{kind}.xlsx", lang=lang))


def _row(sheet: Worksheet, number: int) -> list[Any]:
    return [cell.value for cell in sheet[number]]


def _dropdowns(book: Any, sheet: Worksheet) -> dict[str, tuple[str, list[str]]]:
    """Column letter -> (cell range, values) of every list validation on ``sheet``."""
    found: dict[str, tuple[str, list[str]]] = {}
    for validation in sheet.data_validations.dataValidation:
        assert validation.type == "list"
        formula: str = validation.formula1
        if formula.startswith('"'):
            values = formula.strip('"').split(",")
        else:
            sheet_name, cells = formula.split("!")
            source = book[sheet_name.strip("'")]
            values = [row[0].value for row in source[cells.replace("$", "")]]
        sqref = str(validation.sqref)
        found[sqref.split(":")[0].rstrip("0123456789")] = (sqref, values)
    return found


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", KINDS)
def test_xlsx_template_has_headers_markers_example_and_sheets(
    tmp_path: Path, kind: str, lang: str
) -> None:
    spec = KINDS[kind].spec
    book = _book(tmp_path, kind, lang)
    title = spec.en if lang == "en" else spec.zh
    instructions = "Instructions" if lang == "en" else "说明"
    assert book.sheetnames[:2] == [title, instructions]
    assert book.active.title == title
    assert all(book[name].sheet_state == "hidden" for name in book.sheetnames[2:])
    data = book[title]
    expected = [c.header(lang) + (" *" if c.name in spec.required else "") for c in spec.columns]
    assert _row(data, 1) == expected
    assert data.freeze_panes == "A2"
    assert data.max_row == 2
    fills = {
        data.cell(1, i + 1).fill.fgColor.rgb
        for i, c in enumerate(spec.columns)
        if c.name in spec.required
    }
    others = {
        data.cell(1, i + 1).fill.fgColor.rgb
        for i, c in enumerate(spec.columns)
        if c.name not in spec.required
    }
    assert len(fills) == 1 and not fills & others
    assert all(data.cell(1, i + 1).font.bold for i in range(len(spec.columns)))
    assert all(data.column_dimensions[letter].width >= 8 for letter in "ABC")


def test_customer_template_headers_in_chinese_and_english(tmp_path: Path) -> None:
    zh = _book(tmp_path, "customers", "zh")["客户"]
    en = _book(tmp_path, "customers", "en")["Customers"]
    assert _row(zh, 1)[:5] == ["外部编号", "客户编号", "客户名称 *", "客户类型", "行业 *"]
    assert _row(en, 1)[:5] == ["External ID", "Code", "Customer name *", "Kind", "Industry *"]
    assert _row(zh, 2)[3:7] == ["企业", "C39 计算机、通信和其他电子设备制造业", "中型", "广东省"]
    assert _row(en, 2)[3:7] == [
        "Company",
        "C39 Manufacture of Computers, Communication and Other Electronic Equipment",
        "Medium",
        "Guangdong",
    ]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", KINDS)
def test_the_example_row_passes_every_rule(tmp_path: Path, kind: str, lang: str) -> None:
    spec = KINDS[kind].spec
    book = _book(tmp_path, kind, lang)
    example = _row(book.worksheets[0], 2)
    for column, value in zip(spec.columns, example, strict=True):
        column.rule(value)  # raises RuleViolation on a bad example
        if column.name in spec.required:
            assert value, f"required column {column.name} has no example"


def _same(parsed: Any, expected: Any) -> bool:
    if isinstance(expected, Industry | Province):
        return parsed == expected
    return parsed == expected.code


def _expected_choices(spec: FileKind, name: str) -> list[Any]:
    column = spec.column(name)
    if column.enum is not None:
        return list(column.enum)
    if column.choices == "industry":
        return templates.industries()
    return list(PROVINCES)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", KINDS)
def test_every_dropdown_value_passes_its_rule(tmp_path: Path, kind: str, lang: str) -> None:
    spec = KINDS[kind].spec
    book = _book(tmp_path, kind, lang)
    dropdowns = _dropdowns(book, book.worksheets[0])
    listed = {
        c.name for c in spec.columns if c.enum is not None or c.choices in ("industry", "province")
    }
    letters = {
        openpyxl.utils.get_column_letter(i): c.name for i, c in enumerate(spec.columns, start=1)
    }
    assert {letters[letter] for letter in dropdowns} == listed
    for letter, (sqref, values) in dropdowns.items():
        column = spec.column(letters[letter])
        assert sqref == f"{letter}2:{letter}{VALIDATED_ROWS + 1}"
        expected = _expected_choices(spec, column.name)
        assert len(values) == len(expected)
        for value, choice in zip(values, expected, strict=True):
            assert _same(column.rule(value), choice), (column.name, value)


def test_industry_and_province_dropdowns_list_the_whole_standard(tmp_path: Path) -> None:
    book = _book(tmp_path, "customers", "zh")
    dropdowns = _dropdowns(book, book["客户"])
    industries = dropdowns["E"][1]
    assert len(industries) == len(SECTIONS) + len(DIVISIONS) == 117
    assert industries[:3] == ["A 农、林、牧、渔业", "A01 农业", "A02 林业"]
    assert "C 制造业" in industries
    assert "C39 计算机、通信和其他电子设备制造业" in industries
    assert industries.index("C 制造业") < industries.index("C39 计算机、通信和其他电子设备制造业")
    provinces = dropdowns["G"][1]
    assert len(provinces) == 34 and {"广东省", "北京市", "新疆维吾尔自治区"} <= set(provinces)
    assert dropdowns["M"][1] == ["官网", "展会", "转介绍", "电话", "营销活动", "社交媒体", "其他"]
    assert book["lists"].sheet_state == "hidden"


def test_long_lists_go_to_the_hidden_sheet_short_ones_inline(tmp_path: Path) -> None:
    book = _book(tmp_path, "customers", "en")
    formulas = {
        str(v.sqref)[0]: v.formula1 for v in book["Customers"].data_validations.dataValidation
    }
    assert formulas["E"] == "'lists'!$A$2:$A$118"  # industries: far over 255 characters
    assert formulas["D"] == '"Company,Person"'
    assert book["lists"]["A1"].value == "Industry"


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", KINDS)
def test_instructions_describe_every_column(tmp_path: Path, kind: str, lang: str) -> None:
    spec = KINDS[kind].spec
    book = _book(tmp_path, kind, lang)
    rows = [r for r in book.worksheets[1].iter_rows(values_only=True) if any(r)]
    table_header = ["Column", "Required"] if lang == "en" else ["列名", "是否必填"]
    start = next(i for i, r in enumerate(rows) if list(r[:2]) == table_header) + 1
    lines = rows[start:]
    assert [line[0] for line in lines] == [c.header(lang) for c in spec.columns]
    for line, column in zip(lines, spec.columns, strict=True):
        required = column.name in spec.required
        assert line[1] == REQUIRED_TEXT[lang, required]
        assert line[2]
    notes = " ".join(str(r[0]) for r in rows[:start])
    customer = "Name the customer" if lang == "en" else "所属客户"
    assert (customer in notes) == spec.child
    updated = "is updated" if lang == "en" else "会被更新"
    assert (updated in notes) == bool(spec.keys)


def test_instructions_name_the_accepted_formats(tmp_path: Path) -> None:
    text = {
        lang: {
            row[0]: row[2]
            for row in _book(tmp_path, "orders", lang).worksheets[1].iter_rows(values_only=True)
            if row[0]
        }
        for lang in LANGS
    }
    for pattern in ("2024-05-01", "2024/5/1", "2024年5月1日"):
        assert pattern in text["zh"]["下单日期"]
        assert pattern in text["en"]["Order date"]
    for pattern in ("1,200.50", "1.2万"):
        assert pattern in text["zh"]["订单金额"]
    phones = {
        row[0]: row[2]
        for row in _book(tmp_path, "contacts", "zh").worksheets[1].iter_rows(values_only=True)
    }
    assert "13812345678" in phones["电话"] and "0755" in phones["电话"] and "+852" in phones["电话"]


@pytest.mark.parametrize("lang", LANGS)
def test_csv_template_is_utf8_with_bom_header_and_example(tmp_path: Path, lang: str) -> None:
    path = write_template("customers", tmp_path / "customers.csv", lang=lang)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    spec = KINDS["customers"].spec
    assert len(rows) == 2
    assert rows[0] == [
        c.header(lang) + (" *" if c.name in spec.required else "") for c in spec.columns
    ]
    for column, value in zip(spec.columns, rows[1], strict=True):
        column.rule(value)


def test_format_comes_from_the_argument_or_the_suffix(tmp_path: Path) -> None:
    written = write_template("orders", tmp_path / "orders.txt", fmt="csv")
    assert written.read_bytes().startswith(b"\xef\xbb\xbf")
    book = openpyxl.load_workbook(write_template("orders", tmp_path / "orders.XLSX"))
    assert book.sheetnames[0] == "订单"
    with pytest.raises(ValidationError) as caught:
        write_template("orders", tmp_path / "orders.txt")
    assert caught.value.errors[0].field == "fmt"
    with speaking("en"), pytest.raises(ValidationError, match=r"invoices.*known: customers"):
        write_template("invoices", tmp_path / "invoices.xlsx")


def test_a_template_before_any_database_makes_none(tmp_path: Path) -> None:
    """`crm template` reads the custom fields of a database that exists, and writes the
    built-in columns without making a database file where there is none yet."""
    database = tmp_path / "data" / "crm.db"
    output = tmp_path / "customers.xlsx"
    line = ["--url", f"sqlite:///{database}", "template", "customers", "-o", str(output)]
    result = CliRunner().invoke(main, line)
    assert result.exit_code == 0, result.output
    assert output.is_file() and not database.exists()
