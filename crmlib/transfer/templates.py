"""Blank import templates, written from the specs in :mod:`crmlib.transfer.kinds`.

A template is the cheapest way to get clean data in: the headers are the ones the importer
reads, the dropdowns offer exactly the values the rules accept, and the instructions sheet
says what each column takes. The cell formats of enumerations, industries and provinces are
defined here once and shared with :mod:`crmlib.transfer.exporting`, so an exported file and
a filled-in template read back the same way.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from ..domain.customers.custom_fields import FieldDef
from ..errors import FieldError, ValidationError
from ..i18n import current_lang, t
from ..reference.industries import DIVISIONS, SECTIONS, Industry
from ..reference.regions import PROVINCES, Province
from ..rules import Rule, amount, date_value, datetime_value, email, flag, phone, postcode
from .catalogue import file_kind
from .custom import CustomColumn
from .custom_kinds import with_fields
from .formulas import SafeWriter
from .kinds import Column, FileKind

FORMATS = ("xlsx", "csv")
#: Data rows of a template that get dropdowns (row 1 is the header).
VALIDATED_ROWS = 10_000
#: Excel refuses an inline list ("a,b,c") longer than this; longer lists go on a sheet.
INLINE_LIST_LIMIT = 255
LISTS_SHEET = "lists"
REQUIRED_MARK = " *"
MAX_WIDTH = 60
#: Dropdown columns need not show their longest entry in full.
DROPDOWN_WIDTH = 40
#: Excel's "text" number format: keeps phones, postcodes and codes as typed (leading zeros).
TEXT_FORMAT = "@"

HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
REQUIRED_FILL = PatternFill("solid", fgColor="FCE4D6")
HEADER_FONT = Font(bold=True)
REQUIRED_FONT = Font(bold=True, color="C00000")
EXAMPLE_FONT = Font(italic=True, color="808080")


#: Columns whose meaning needs more than their rule's description, by column name.
_COLUMN_NOTES = (
    "external_id",
    "code",
    "customer_code",
    "customer_external_id",
    "owner",
    "assignee",
    "tags",
    "campaign",
)


def say(key: str, lang: str, **values: object) -> str:
    """The template text ``key`` in ``lang``, from the catalogue of :mod:`crmlib.i18n`."""
    return t(f"template:{key}", lang, **values)


# -- cell formats shared with exports -------------------------------------------------------


def industry_text(item: Industry, lang: str) -> str:
    """How an industry is written in a cell: "C39 计算机、通信和其他电子设备制造业", "C 制造业".

    The code makes the value exact (a division and a section can share a name) and the name
    makes it readable; the importer's industry rule reads both parts.
    """
    code = item.code if item.is_section else f"{item.section}{item.code}"
    return f"{code} {item.label(lang)}"


def province_text(item: Province, lang: str) -> str:
    """How a province is written in a cell: its full name (广东省) or English name."""
    return item.label(lang)


def industries() -> list[Industry]:
    """Every section followed by its divisions, the order people browse the standard in."""
    return [
        item
        for section in SECTIONS.values()
        for item in (
            section,
            *(d for d in DIVISIONS.values() if d.section == section.code),
        )
    ]


def choices(column: Column, lang: str) -> list[str] | None:
    """The dropdown values of ``column`` in ``lang``, or None for a free column."""
    if column.enum is not None:
        return [choice.label(lang) for choice in column.enum]
    if column.choices == "industry":
        return [industry_text(item, lang) for item in industries()]
    if column.choices == "province":
        return [province_text(item, lang) for item in PROVINCES]
    if isinstance(column, CustomColumn) and column.field and column.field.type == "choice":
        return list(column.field.choices)
    return None


def file_format(path: Path, fmt: str | None, lang: str = "zh") -> str:
    """``fmt``, else the file's suffix; anything but xlsx and csv is refused."""
    chosen = (fmt or path.suffix.removeprefix(".")).lower()
    if chosen not in FORMATS:
        raise ValidationError(
            FieldError(
                "fmt",
                fmt or path.name,
                "format",
                say("bad_format", lang, formats=", ".join(FORMATS)),
            )
        )
    return chosen


def display_width(text: str) -> int:
    """Columns a text takes in Excel: Chinese characters are twice as wide as Latin ones."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


# -- the template ---------------------------------------------------------------------------


def write_template(
    kind: str,
    path: str | Path,
    *,
    lang: str = "zh",
    fmt: str | None = None,
    fields: Sequence[FieldDef] = (),
) -> Path:
    """Write an empty import file for ``kind`` with headers in ``lang`` and one example row.

    xlsx templates also carry dropdowns, required markers and an instructions sheet; csv
    templates are UTF-8 with a BOM so that Excel shows Chinese correctly. ``fields``, the
    kind's active custom fields, follow the built-in columns as they do in exports, so a
    filled-in template fills them too.
    """
    spec = with_fields(file_kind(kind), fields).spec
    lang = current_lang(lang)
    path = Path(path)
    chosen = file_format(path, fmt, lang)
    path.parent.mkdir(parents=True, exist_ok=True)
    headers = [header(spec, column, lang) for column in spec.columns]
    example = [example_text(column, lang) for column in spec.columns]
    if chosen == "csv":
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            SafeWriter(handle).writerows([headers, example])
        return path
    book = Workbook()
    data = book.active
    data.title = spec.en if lang == "en" else spec.zh
    _fill_data_sheet(data, spec, headers, example)
    _add_dropdowns(book, data, spec, lang)
    _fill_instructions(book.create_sheet(say("instructions", lang)), spec, lang)
    if LISTS_SHEET in book.sheetnames:
        book.move_sheet(LISTS_SHEET, offset=len(book.sheetnames))
    book.active = 0
    book.save(path)
    return path


def header(spec: FileKind, column: Column, lang: str) -> str:
    """The column's header, with the required marker the importer ignores."""
    mark = REQUIRED_MARK if column.name in spec.required else ""
    return column.header(lang) + mark


def example_text(column: Column, lang: str) -> str:
    """The spec's example; dropdown columns show it the way their dropdown writes it."""
    if not column.example:
        return ""
    if column.enum is not None:
        return column.enum.label(column.example, lang)
    value = column.rule(column.example)
    if isinstance(value, Industry):
        return industry_text(value, lang)
    if isinstance(value, Province):
        return province_text(value, lang)
    return column.example


def _fill_data_sheet(
    sheet: Worksheet, spec: FileKind, headers: Sequence[str], example: Sequence[str]
) -> None:
    sheet.append(list(headers))
    sheet.append(list(example))
    for index, column in enumerate(spec.columns, start=1):
        required = column.name in spec.required
        head = sheet.cell(row=1, column=index)
        head.font = REQUIRED_FONT if required else HEADER_FONT
        head.fill = REQUIRED_FILL if required else HEADER_FILL
        head.alignment = Alignment(vertical="center")
        sample = sheet.cell(row=2, column=index)
        sample.font = EXAMPLE_FONT
        sample.number_format = TEXT_FORMAT
        letter = get_column_letter(index)
        dimension = sheet.column_dimensions[letter]
        dimension.number_format = TEXT_FORMAT
        dimension.width = _width([headers[index - 1], example[index - 1]])
    sheet.freeze_panes = "A2"


def _width(texts: Iterable[str]) -> float:
    return min(max(display_width(text) for text in texts) + 4, MAX_WIDTH)


def _add_dropdowns(book: Workbook, sheet: Worksheet, spec: FileKind, lang: str) -> None:
    """A list validation per dropdown column; long lists are read from the hidden sheet."""
    lists: Worksheet | None = None
    for index, column in enumerate(spec.columns, start=1):
        values = choices(column, lang)
        if values is None:
            continue
        inline = ",".join(values)
        if len(inline) <= INLINE_LIST_LIMIT and not any("," in v or '"' in v for v in values):
            formula = f'"{inline}"'
        else:
            if lists is None:
                lists = book.create_sheet(LISTS_SHEET)
                lists.sheet_state = "hidden"
            formula = _list_range(lists, column.header(lang), values)
        validation = DataValidation(
            type="list",
            formula1=formula,
            allow_blank=True,
            showErrorMessage=True,
            errorStyle="warning",
            errorTitle=say("not_in_list", lang),
            error=say("not_in_list_detail", lang),
        )
        letter = get_column_letter(index)
        validation.add(f"{letter}2:{letter}{VALIDATED_ROWS + 1}")
        sheet.add_data_validation(validation)
        dimension = sheet.column_dimensions[letter]
        dimension.width = max(dimension.width, min(_width(values), DROPDOWN_WIDTH))


def _list_range(lists: Worksheet, title: str, values: Sequence[str]) -> str:
    """Put ``values`` in the next free column of the lists sheet; return its absolute range."""
    index = 1 if lists["A1"].value is None else lists.max_column + 1
    letter = get_column_letter(index)
    lists.cell(row=1, column=index, value=title)
    for row, value in enumerate(values, start=2):
        lists.cell(row=row, column=index, value=value)
    return f"{quote_sheetname(LISTS_SHEET)}!${letter}$2:${letter}${len(values) + 1}"


def _fill_instructions(sheet: Worksheet, spec: FileKind, lang: str) -> None:
    sheet.append([say("title", lang, kind=spec.en if lang == "en" else spec.zh)])
    sheet["A1"].font = Font(bold=True, size=14)
    for note in kind_notes(spec, lang):
        sheet.append([note])
    sheet.append([])
    sheet.append([say(key, lang) for key in ("column", "required", "format", "example")])
    for cell in sheet[sheet.max_row]:
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
    for column in spec.columns:
        required = column.name in spec.required
        sheet.append(
            [
                column.header(lang),
                say("yes" if required else "no", lang),
                column_help(column, lang),
                example_text(column, lang),
            ]
        )
        if required:
            sheet.cell(row=sheet.max_row, column=2).font = REQUIRED_FONT
    for letter, width in zip("ABCD", (24, 10, 90, 40), strict=True):
        sheet.column_dimensions[letter].width = width
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")


def kind_notes(spec: FileKind, lang: str) -> list[str]:
    """What holds for every row of ``spec``: markers, example, headers, customer, upserts."""
    notes = [say(key, lang) for key in ("note_required", "note_example", "note_headers")]
    if any(choices(column, lang) for column in spec.columns):
        notes.append(say("note_dropdowns", lang))
    if spec.child:
        notes.append(
            say(
                "note_child",
                lang,
                code=spec.column("customer_code").header(lang),
                external=spec.column("customer_external_id").header(lang),
            )
        )
    if spec.keys:
        keys = say("keys_or", lang).join(spec.column(key).header(lang) for key in spec.keys)
        notes.append(say("note_keys", lang, keys=keys))
    return notes


_RULE_HELP: dict[Rule, str] = {
    date_value: "date",
    datetime_value: "datetime",
    amount: "amount",
    phone: "phone",
    email: "email",
    postcode: "postcode",
    flag: "flag",
}


def column_help(column: Column, lang: str) -> str:
    """What ``column`` accepts, in ``lang``: the forms its rule reads."""
    if column.enum is not None:
        other = "en" if lang == "zh" else "zh"
        return say(
            "enum",
            lang,
            labels=("、" if lang == "zh" else ", ").join(c.label(lang) for c in column.enum),
            others=", ".join(f"{c.label(other)} / {c.code}" for c in column.enum),
        )
    if column.choices is not None:
        return say(column.choices, lang)
    if column.name in _COLUMN_NOTES:
        return say(column.name, lang)
    if isinstance(column, CustomColumn) and column.field:
        return _custom_help(column.field, lang)
    return say(_RULE_HELP.get(column.rule, "text"), lang)


def _custom_help(field: FieldDef, lang: str) -> str:
    """What a custom field's column accepts: its type's forms, a choice field's choices."""
    if field.type == "choice":
        return say(
            "custom_choice", lang, choices=("、" if lang == "zh" else ", ").join(field.choices)
        )
    return say({"money": "amount", "date": "date"}.get(field.type, f"custom_{field.type}"), lang)
