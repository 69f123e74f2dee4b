"""Exports: the records a user may see, as csv or xlsx files the importer reads back.

Columns, headers and cell formats come from :mod:`crmlib.transfer.kinds` and
:mod:`crmlib.transfer.templates`, so an exported file is a filled-in import template: enums
as labels, industries as "C39 计算机、通信和其他电子设备制造业", customers named by code. Rows
are read and written as a stream, so a million customers never sit in memory at once; each
export is scoped to the actor, masked by role and written to the audit log. A CSV text
cell that a spreadsheet would run as a formula (``=…``, ``+…``, ``-…``, ``@…``) is written
behind a quote, which the importer takes off again (:mod:`crmlib.transfer.formulas`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy import ColumnElement

from .. import audit
from ..access import mask_email, mask_phone
from ..context import Context
from ..errors import FieldError, ValidationError
from ..i18n import current_lang, t
from ..missing import is_missing
from ..reference.industries import DIVISIONS, SECTIONS
from ..reference.regions import find_province
from ..rules import amount, date_value, datetime_value, email, flag, phone
from .catalogue import file_kind
from .custom_kinds import extended
from .formulas import SafeWriter
from .kinds import Column, FileKind
from .sources import TAG_SEPARATOR
from .templates import display_width, file_format, industry_text, province_text

#: Rows fetched from the database per round trip.
CHUNK_ROWS = 50_000
#: Excel's row limit is 1,048,576; longer exports continue on another sheet.
SHEET_ROWS = 1_000_000
TAGS_JOINED_BY = ","
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
AMOUNT_FORMAT = "0.00"
CENT = Decimal("0.01")


def _say(key: str, lang: str, **values: object) -> str:
    return t(f"export:{key}", lang, **values)


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote: the file, its number of data rows and its columns (names)."""

    path: Path
    rows: int
    columns: tuple[str, ...]


def export(
    ctx: Context,
    kind: str,
    path: str | Path,
    *,
    fmt: str | None = None,
    columns: Sequence[str] | None = None,
    lang: str | None = None,
    where: ColumnElement[bool] | None = None,
) -> ExportResult:
    """Write the ``kind`` records the actor may see to ``path`` (csv or xlsx).

    ``columns`` picks and orders columns by name or by header in any language (default:
    all, in the spec's order); ``lang`` sets headers and labels (default: the workspace's);
    ``where`` narrows the rows with a condition on the kind's table (e.g.
    ``Customer.region == "华东"``). Phones and e-mails are masked for roles without PII
    access. The file appears complete or not at all.
    """
    path = Path(path)
    with ctx.reading() as conn:
        entry = extended(conn, file_kind(kind))  # with the kind's custom fields
    spec = entry.spec
    lang = current_lang(lang or ctx.lang)
    chosen = file_format(path, fmt, lang)
    picked = _pick(spec, columns, lang)
    hide_pii = not ctx.actor.role.see_pii
    masked = hide_pii and any(c.rule in (phone, email) for c in picked)
    expressions, stmt = entry.source(ctx.scope)
    stmt = stmt.add_columns(*(expressions[c.name].label(c.name) for c in picked))
    if where is not None:
        stmt = stmt.where(where)
    cells = [_formatter(c, lang, hide_pii=hide_pii) for c in picked]
    headers = [c.header(lang) for c in picked]
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    rows = 0
    try:
        with (
            ctx.reading() as conn,
            _sink(chosen, partial, spec.en if lang == "en" else spec.zh, picked, headers) as write,
        ):
            for row in conn.execution_options(yield_per=CHUNK_ROWS).execute(stmt):
                write([_cell(cell, value) for cell, value in zip(cells, row, strict=True)])
                rows += 1
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    names = tuple(c.name for c in picked)
    details = {
        "rows": rows,
        "columns": list(names),
        "path": str(path),
        "masked": masked,
        "format": chosen,
        "lang": lang,
    }
    with ctx.session(action="export") as session:
        audit.record(
            session,
            actor=ctx.actor.username,
            action="export",
            entity=spec.name,
            new_value=json.dumps(details, ensure_ascii=False),
        )
    return ExportResult(path, rows, names)


def _pick(spec: FileKind, columns: Sequence[str] | None, lang: str) -> tuple[Column, ...]:
    """The requested columns in the requested order; every unknown one is named at once."""
    if columns is None:
        return spec.columns
    if not columns:
        raise ValidationError(FieldError("columns", [], "columns", _say("no_columns", lang)))
    found = {given: spec.find(given) for given in columns}
    unknown = [given for given, column in found.items() if column is None]
    if unknown:
        names = ", ".join(c.header(lang) for c in spec.columns)
        kind = spec.en if lang == "en" else spec.zh
        raise ValidationError(
            [
                FieldError(
                    "columns",
                    given,
                    "unknown_column",
                    _say("unknown_column", lang, kind=kind, names=names),
                )
                for given in unknown
            ]
        )
    picked = [column for column in found.values() if column is not None]
    return tuple(dict.fromkeys(picked))


# -- cell values ----------------------------------------------------------------------------

Cell = str | date | datetime | Decimal | None


def _cell(formatter: Callable[[Any], Cell], value: Any) -> Cell:
    """A missing value (None, NaN, pd.NA, NaT) is an empty cell; the formatters never see one."""
    return None if is_missing(value) else formatter(value)


def _formatter(column: Column, lang: str, *, hide_pii: bool) -> Callable[[Any], Cell]:
    """How a stored value of ``column`` is written so that the importer reads it back."""
    enum = column.enum
    if enum is not None:
        return lambda v: enum.label(v, lang)
    if column.choices == "industry":
        return lambda v: _industry(v, lang)
    if column.choices == "province":
        return lambda v: _province(v, lang)
    if column.name == "tags":
        return _tags
    rule = column.rule
    if rule is date_value:
        return lambda v: v.date() if isinstance(v, datetime) else v
    if rule is datetime_value:
        return lambda v: v.replace(microsecond=0) if isinstance(v, datetime) else v
    if rule is amount:
        return lambda v: Decimal(v).quantize(CENT)
    if rule is flag:
        return lambda v: _say("yes" if v else "no", lang)
    if hide_pii and rule is phone:
        return mask_phone
    if hide_pii and rule is email:
        return mask_email
    return str


def _industry(code: str, lang: str) -> str:
    found = DIVISIONS.get(code) or SECTIONS.get(code)
    return industry_text(found, lang) if found else code


def _province(name: str, lang: str) -> str:
    found = find_province(name)
    return province_text(found, lang) if found else name


def _tags(joined: str | None) -> str | None:
    return TAGS_JOINED_BY.join(sorted(joined.split(TAG_SEPARATOR))) if joined else None


# -- files ----------------------------------------------------------------------------------

Write = Callable[[Sequence[Cell]], None]


@contextmanager
def _sink(
    fmt: str, path: Path, title: str, columns: Sequence[Column], headers: Sequence[str]
) -> Iterator[Write]:
    """A row writer for ``fmt``; the file is complete when the block ends."""
    if fmt == "csv":
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = SafeWriter(handle)
            writer.writerow(headers)
            yield lambda row: writer.writerow([_csv_text(value) for value in row])
        return
    sheets = _Sheets(title, columns, headers)
    yield sheets.write
    sheets.book.save(path)


def _csv_text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


class _Sheets:
    """A write-only workbook: rows stream to disk, and past Excel's row limit a new sheet
    with the same header continues the data."""

    def __init__(self, title: str, columns: Sequence[Column], headers: Sequence[str]) -> None:
        self.book = Workbook(write_only=True)
        self.title = title
        self.headers = headers
        self.widths = [
            max(display_width(h), display_width(c.example), 8) + 4
            for h, c in zip(headers, columns, strict=True)
        ]
        self.rows = 0
        self.sheet: Any = None
        self.bold = Font(bold=True)

    def write(self, row: Sequence[Cell]) -> None:
        if self.sheet is None or self.rows == SHEET_ROWS:
            self._start_sheet()
        self.sheet.append([self._cell(value) for value in row])
        self.rows += 1

    def _start_sheet(self) -> None:
        number = len(self.book.worksheets) + 1
        self.sheet = self.book.create_sheet(self.title if number == 1 else f"{self.title} {number}")
        self.sheet.freeze_panes = "A2"
        for index, width in enumerate(self.widths, start=1):
            self.sheet.column_dimensions[get_column_letter(index)].width = width
        header = []
        for text in self.headers:
            cell = WriteOnlyCell(self.sheet, text)
            cell.font = self.bold
            header.append(cell)
        self.sheet.append(header)
        self.rows = 0

    def _cell(self, value: Cell) -> Any:
        """Dates and amounts as typed cells; text kept as text, never as a formula."""
        if isinstance(value, str):
            text = ILLEGAL_CHARACTERS_RE.sub("", value)
            if not text.startswith("="):
                return text
            cell = WriteOnlyCell(self.sheet, text)
            cell.data_type = "s"
            return cell
        if isinstance(value, datetime | date | Decimal):
            cell = WriteOnlyCell(self.sheet, value)
            cell.number_format = (
                DATETIME_FORMAT
                if isinstance(value, datetime)
                else DATE_FORMAT
                if isinstance(value, date)
                else AMOUNT_FORMAT
            )
            return cell
        return value
