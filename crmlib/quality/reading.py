"""Reading the tables people bring: CSV from Excel or other systems, and .xlsx workbooks.

Files are read in chunks of strings (nothing is type-guessed, so leading zeros in codes and
phones survive), with the encoding detected (UTF-8 with or without BOM, GBK/GB18030 as
Excel saves Chinese CSV on Windows, UTF-16), and merged cells filled from their top-left
cell. Anything that is not a readable table raises :class:`FileProblem` with one clear line.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import CRMError
from ..i18n import t

XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0"
SAMPLE_BYTES = 64 * 1024
#: Workbooks up to this size are opened fully, so merged cells can be filled in.
FULL_WORKBOOK_BYTES = 20 * 1024 * 1024


class FileProblem(CRMError):
    """The file cannot be read as a table; nothing was imported."""


@dataclass(frozen=True)
class Table:
    """A readable table: its headers, how to read its rows, and how it was read."""

    path: Path
    format: str
    headers: list[str]
    encoding: str | None
    sheet: str | None
    total_rows: int | None
    first_row_number: int

    def chunks(self, size: int) -> Iterator[pd.DataFrame]:
        """Rows as DataFrames of strings ('' for empty), numbered as the user sees them."""
        if self.format == "csv":
            yield from _csv_chunks(self, size)
        else:
            yield from _xlsx_chunks(self, size)


def open_table(path: Path, *, sheet: str | None = None, sheet_hints: tuple[str, ...] = ()) -> Table:
    """Look at ``path`` and say how to read it; raise FileProblem when it is not a table."""
    if not path.exists():
        raise FileProblem(t("file_missing", path=path))
    if path.is_dir():
        raise FileProblem(t("file_is_folder", path=path))
    size = path.stat().st_size
    if size == 0:
        raise FileProblem(t("file_empty", path=path))
    with path.open("rb") as handle:
        head = handle.read(SAMPLE_BYTES)
    if head.startswith(XLS_MAGIC):
        raise FileProblem(t("file_xls", path=path))
    if head.startswith(XLSX_MAGIC):
        return _open_xlsx(path, sheet, sheet_hints, size)
    if sheet is not None:
        raise FileProblem(t("file_sheet_csv", path=path))
    return _open_csv(path, head)


# -- CSV ------------------------------------------------------------------------------------


def _detect_encoding(path: Path, head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        raise FileProblem(t("file_binary", path=path))
    for encoding in ("utf-8", "gb18030"):
        if _decodes(path, encoding):
            return encoding
    raise FileProblem(t("file_binary", path=path))


def _decodes(path: Path, encoding: str) -> bool:
    """Whether the whole file decodes; read incrementally so large files cost no memory."""
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with path.open("rb") as handle:
            while block := handle.read(1 << 20):
                decoder.decode(block)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _open_csv(path: Path, head: bytes) -> Table:
    encoding = _detect_encoding(path, head)
    sample = head.decode(encoding, errors="ignore")
    if encoding == "utf-8-sig":
        sample = sample.lstrip("\ufeff")
    lines = [line for line in sample.splitlines() if line.strip()]
    if not lines:
        raise FileProblem(t("file_empty", path=path))
    try:
        delimiter = csv.Sniffer().sniff("\n".join(lines[:20]), delimiters=",\t;|").delimiter
    except csv.Error:
        delimiter = "\t" if "\t" in lines[0] else ","
    headers = next(csv.reader(io.StringIO(lines[0]), delimiter=delimiter))
    if not any(h.strip() for h in headers):
        raise FileProblem(t("file_no_header", path=path))
    printable = sum(ch.isprintable() or ch in "\t\r\n" for ch in sample)
    if printable < 0.95 * len(sample):
        raise FileProblem(t("file_binary", path=path))
    return Table(path, "csv", headers, f"{encoding}|{delimiter}", None, None, 2)


def _csv_chunks(table: Table, size: int) -> Iterator[pd.DataFrame]:
    assert table.encoding is not None
    encoding, delimiter = table.encoding.split("|")
    reader = pd.read_csv(
        table.path,
        sep=delimiter,
        dtype=str,
        keep_default_na=False,
        na_filter=False,
        encoding=encoding,
        chunksize=size,
        skip_blank_lines=False,
        header=0,
        names=None,
        on_bad_lines="error",
        engine="c",
    )
    number = table.first_row_number
    try:
        for chunk in reader:
            chunk = chunk.iloc[:, : len(table.headers)]
            chunk.columns = pd.Index(range(chunk.shape[1]))
            chunk.index = pd.RangeIndex(number, number + len(chunk))
            number += len(chunk)
            blank = (chunk.apply(lambda col: col.str.strip()) == "").all(axis=1)
            yield chunk[~blank]
    except pd.errors.ParserError as exc:
        raise FileProblem(t("file_malformed", path=table.path, detail=str(exc).strip())) from None


# -- Excel ----------------------------------------------------------------------------------


def _load_workbook(path: Path, size: int) -> Any:
    from openpyxl import load_workbook

    try:
        return load_workbook(path, read_only=size > FULL_WORKBOOK_BYTES, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken zip or XML
        raise FileProblem(t("file_bad_xlsx", path=path, detail=type(exc).__name__)) from None


def _choose_sheet(path: Path, names: list[str], sheet: str | None, hints: tuple[str, ...]) -> str:
    if sheet is not None:
        if sheet not in names:
            raise FileProblem(t("file_no_sheet", path=path, sheet=sheet, sheets=", ".join(names)))
        return sheet
    for hint in hints:
        if hint in names:
            return hint
    return names[0]


def _cell_text(value: Any) -> str:
    """A cell as the text a user typed: whole numbers without '.0', dates in ISO form."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ") if value.time() != time(0) else value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _rows(path: Path, sheet: str) -> Generator[list[str], None, None]:
    workbook = _load_workbook(path, path.stat().st_size)
    try:
        worksheet = workbook[sheet]
        fill: dict[tuple[int, int], Any] = {}
        for merged in getattr(worksheet, "merged_cells", None) or []:
            top_left = worksheet.cell(merged.min_row, merged.min_col).value
            for row in range(merged.min_row, merged.max_row + 1):
                for col in range(merged.min_col, merged.max_col + 1):
                    fill[(row, col)] = top_left
        for row_number, row in enumerate(worksheet.iter_rows(values_only=True), start=1):
            values = [fill.get((row_number, col), value) for col, value in enumerate(row, start=1)]
            yield [_cell_text(v) for v in values]
    finally:
        workbook.close()


def _open_xlsx(path: Path, sheet: str | None, hints: tuple[str, ...], size: int) -> Table:
    workbook = _load_workbook(path, size)
    names = list(workbook.sheetnames)
    chosen = _choose_sheet(path, names, sheet, hints)
    total = workbook[chosen].max_row
    workbook.close()
    rows = _rows(path, chosen)
    header_row, headers = next(
        ((n, row) for n, row in enumerate(rows, start=1) if any(cell.strip() for cell in row)),
        (0, []),
    )
    rows.close()
    if not headers:
        raise FileProblem(t("file_empty_sheet", path=path, sheet=chosen))
    while headers and not headers[-1].strip():
        headers.pop()
    remaining = max(total - header_row, 0) if total else None
    return Table(path, "xlsx", headers, None, chosen, remaining, header_row + 1)


def _xlsx_chunks(table: Table, size: int) -> Iterator[pd.DataFrame]:
    assert table.sheet is not None
    width = len(table.headers)
    batch: list[list[str]] = []
    numbers: list[int] = []
    for number, row in enumerate(_rows(table.path, table.sheet), start=1):
        if number < table.first_row_number or not any(cell.strip() for cell in row):
            continue
        batch.append((row + [""] * width)[:width])
        numbers.append(number)
        if len(batch) == size:
            yield pd.DataFrame(batch, index=numbers)
            batch, numbers = [], []
    if batch:
        yield pd.DataFrame(batch, index=numbers)
