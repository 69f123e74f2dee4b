"""Reading the tables people bring: CSV from Excel or other systems, and .xlsx workbooks.

Files are read in chunks of strings (nothing is type-guessed, so leading zeros in codes and
phones survive), with the encoding detected (UTF-8 with or without BOM, GBK/GB18030 as
Excel saves Chinese CSV on Windows, UTF-16), merged cells filled from their top-left cell,
and a formula saved without its computed value (as openpyxl writes them) read as its
formula text, so the row's reason names it instead of calling the cell empty. Anything
that is not a readable table raises :class:`FileProblem` with one clear line.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import struct
import zipfile
import zlib
from collections import deque
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import CRMError, FieldError, shorten
from ..i18n import t
from .formulas import restore, restore_frame

XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0"
SAMPLE_BYTES = 64 * 1024
#: Workbooks whose parts unpack to at most this many bytes may be read whole by calamine
#: (about 2 bytes of memory a byte: 113 MB for a 60 MB sheet of 100,000 rows), as a file
#: of 20 MB on disk does; larger ones are streamed a row at a time. Measured unpacked, not
#: on disk: a 1.5 MB file can unpack to 1.5 GB.
FULL_WORKBOOK_BYTES = 200 * 1024**2
#: Workbooks up to this size unpacked are opened whole by openpyxl (about 8 bytes of
#: memory a byte, twice over with formulas), so merged cells can be filled in and formulas
#: saved without a computed value can be shown; larger ones are streamed.
FULL_OPENPYXL_BYTES = 48 * 1024**2


class FileProblem(CRMError):
    """The file cannot be read as a table; nothing was imported."""


class ParsedSheet:
    """A worksheet calamine parsed while :func:`open_table` looked for its header, kept
    so that the rows are read from that parse instead of parsing the file again (at
    100,000 rows a parse takes a second).

    Handed over once: the first reading of the rows takes it, so it is freed when that
    reading ends; a later reading opens the file again. Rows and headers come from the
    same parse, so they cannot disagree even if the file changed in between."""

    def __init__(self, sheet: Any) -> None:
        self._sheet: Any | None = sheet

    def take(self) -> Any | None:
        """The parsed sheet (a ``CalamineSheet``), or None once taken."""
        sheet, self._sheet = self._sheet, None
        return sheet


@dataclass(frozen=True)
class Chunk:
    """Rows of a table as read: their cells (strings, '' for empty; one column per header
    cell) by the row number the user sees, and the rows among them whose cells do not
    line up with the header (a CSV row with more or fewer cells, a workbook row with a
    value past the header's last column), each with its reason. Such a row's cells are
    laid out under the header as far as they go, so the rejects show them."""

    cells: pd.DataFrame
    ragged: dict[int, FieldError] = field(default_factory=dict)


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
    #: A plain workbook's sheet as parsed when the header was found, for :meth:`chunks`.
    parsed: ParsedSheet | None = field(default=None, repr=False, compare=False)
    #: What a workbook unpacks to (see :func:`inspect_workbook`), to open it again alike.
    unpacked: Unpacked | None = field(default=None, repr=False, compare=False)

    def chunks(self, size: int) -> Iterator[Chunk]:
        """Rows in chunks of about ``size``, numbered as the user sees them, blank rows left
        out. Whatever a reader raises on a hostile file ends as a :class:`FileProblem`."""
        try:
            if self.format == "csv":
                yield from _csv_chunks(self, size)
            else:
                yield from _xlsx_chunks(self, size)
        except CRMError:
            raise
        except Exception as exc:  # pandas, calamine, openpyxl, zlib: each has its own kinds
            raise _unreadable(self.path, exc) from None


def open_table(
    path: str | Path, *, sheet: str | None = None, sheet_hints: tuple[str, ...] = ()
) -> Table:
    """Look at ``path`` and say how to read it; raise FileProblem when it is not a table."""
    path = Path(path)
    try:
        return _open_table(path, sheet, sheet_hints)
    except CRMError:
        raise
    except Exception as exc:  # a reader's own kind of error on a hostile file
        raise _unreadable(path, exc) from None


def _unreadable(path: Path, exc: Exception) -> FileProblem:
    detail = f"{type(exc).__name__}: {shorten(str(exc), 120)}" if str(exc) else type(exc).__name__
    return FileProblem(t("reading:unreadable", path=path, detail=detail))


def _open_table(path: Path, sheet: str | None, sheet_hints: tuple[str, ...]) -> Table:
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
        return _open_xlsx(path, sheet, sheet_hints)
    if sheet is not None:
        raise FileProblem(t("file_sheet_csv", path=path))
    return _open_csv(path, head)


# -- Limits ---------------------------------------------------------------------------------
#
# A workbook is a zip of XML parts, and XML compresses well: a 1.5 MB file can unpack to a
# 1.5 GB string, and a few kilobytes of cells can all point at one long shared string, of
# which calamine makes a copy per cell. So before any reader parses a workbook, its zip
# directory is read and every XML part is unpacked once, as a stream, and measured; past
# these limits the file is refused, naming the part, its size and the limit. Measured on
# the largest legitimate files: a sheet of 1,000,000 rows by 10 columns, as pandas and
# openpyxl save it, unpacks to 616 MB (62 MB on disk, 9.9 times); 1,048,576 rows by 30
# columns, Excel's largest sheet with a realistic 30 columns, to about 1.9 GB.

#: One worksheet's XML, unpacked: twice the largest legitimate sheet above. Sheets past
#: :data:`FULL_WORKBOOK_BYTES` are streamed a row at a time, so this bounds time, not memory.
MAX_SHEET_BYTES = 4 * 1024**3
#: Any other part (shared strings, styles, the workbook itself), unpacked: these are read
#: whole by every reader, so this bounds memory (256 MB of shared strings take about
#: 700 MB as Python strings).
MAX_PART_BYTES = 256 * 1024**2
#: The whole workbook, unpacked.
MAX_WORKBOOK_BYTES = 6 * 1024**3
#: How many times a part may grow when unpacked, once it is past :data:`RATIO_FROM_BYTES`:
#: real sheets grow 10 to 30 times (30 for a sheet of one value repeated); zip's deflate
#: cannot pass about 1,030.
MAX_RATIO = 200
RATIO_FROM_BYTES = 16 * 1024**2
#: The longest run of XML text between two tags: a cell of :data:`MAX_CELL_CHARS`
#: characters takes at most 10 bytes a character (``&#x10FFFF;``), so no cell within the
#: limit is refused for it, and no reader is handed a longer string.
MAX_TEXT_BYTES = 16 * 1024**2
#: The most characters a cell may hold, in a CSV file or a workbook (Excel's own limit is
#: 32,767; longer values from other systems are rejected by their field's rule, row by row).
MAX_CELL_CHARS = 1_000_000
#: The most cells merged ranges may cover, together: ten times a merged column beside a
#: million rows.
MAX_MERGED_CELLS = 10_000_000
#: The longest line of a CSV file, in bytes, checked before it is parsed.
MAX_LINE_BYTES = 32 * 1024**2
#: The most columns a CSV file may have: Excel's own limit (a file past it is no table
#: anyone made, and each column costs the reading time).
MAX_COLUMNS = 16_384
#: A workbook's cells may hold at most this many times as many characters as its parts
#: unpack to (plus :data:`CHUNK_CHARS`). Text comes from the XML, so real sheets stay below
#: one; only many cells showing one long shared string pass it, and those are refused: a
#: few kilobytes showing 100,000 characters in each of 20,000 cells would otherwise write
#: 2 GB of rejected rows.
MAX_TEXT_GROWTH = 4
#: A chunk of rows handed on holds at most about this many characters, however few rows
#: that is, so no chunk of a workbook costs more memory than this allows.
CHUNK_CHARS = 32 * 1024**2
#: The most cells calamine may lay out for a sheet (it allocates 32 bytes for every cell
#: from A1 to the last one, empty or not): 512 MB. A sheet past it is streamed.
DENSE_CELLS = 16 * 1024**2
#: A sheet past :data:`DENSE_CELLS` may span at most this many times the cells it holds
#: (real sheets fill most of their rectangle): a few cells at A1 and XFD1048576 are
#: refused, as every reader would walk a million empty rows of 16,384 cells.
SPARSE_RATIO = 64
#: What calamine may spend on copies of shared strings (cells × longest shared string):
#: past it the sheet is streamed by openpyxl, which shares one string among its cells.
SHARED_COPIES_BYTES = 512 * 1024**2

_BLOCK = 1 << 20
_WORKSHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_SHARED_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
#: A cell's or a row's reference (``r="XFD1048576"``, ``r="7"``), in any attribute order.
_REFERENCE = re.compile(rb"""\sr=["']([A-Z]{0,3})([0-9]{1,7})["']""")
_SHARED_ITEM = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?si[\s>/]")


def _size(count: int) -> str:
    """Bytes as people read them: 1.5 GB, 256 MB, 20 KB (binary units, named as Excel does)."""
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if count >= scale:
            return f"{count / scale:.3g} {unit}".replace(".0 ", " ")
    return f"{count} B"


@dataclass(frozen=True)
class Unpacked:
    """What a workbook unpacks to, as its zip directory declares it and one pass through
    its XML confirmed: for choosing how it can safely be read."""

    #: Bytes of every part, unpacked.
    total: int
    #: Cells in its worksheets (elements counted, an upper bound).
    cells: int
    #: Bytes of its longest shared string, tags included (0 without shared strings).
    longest_shared: int
    #: Cells from A1 to the last row and column of its largest sheet, when measured (for a
    #: workbook small enough to be read whole), else 0.
    area: int = 0

    def fits_in_memory(self, limit: int) -> bool:
        """Whether a reader that holds the workbook whole may read it: small enough, its
        cells cannot all be copies of a long shared string, and the rectangle calamine
        allocates (32 bytes a cell, from A1 to the last cell: one cell at XFD1048576 in a
        5 KB file would be 550 GB, and the process would abort) is bounded."""
        return (
            self.total <= limit
            and self.cells * self.longest_shared <= SHARED_COPIES_BYTES
            and self.area <= DENSE_CELLS
        )


def inspect_workbook(path: Path) -> Unpacked:
    """Refuse a workbook that unpacks past the limits above, before anything parses it."""
    try:
        with zipfile.ZipFile(path) as archive, path.open("rb") as handle:
            parts = [info for info in archive.infolist() if not info.is_dir()]
            types = _content_types(archive, path)
            total = sum(info.file_size for info in parts)
            if total > MAX_WORKBOOK_BYTES:
                size, limit = _size(total), _size(MAX_WORKBOOK_BYTES)
                raise FileProblem(
                    t("reading:workbook_too_large", path=path, size=size, limit=limit)
                )
            cells = longest = area = 0
            whole = total <= FULL_WORKBOOK_BYTES  # may be read whole: its extent matters
            for info in parts:
                kind = _part_kind(info.filename, types.get(info.filename, ""))
                _check_declared(path, info, MAX_SHEET_BYTES if kind == "sheet" else MAX_PART_BYTES)
                if kind == "media":
                    continue  # pictures and the like: no reader parses them
                measured, spans = _measure(handle, info, path, kind, whole)
                if kind == "sheet":
                    cells += measured
                    area = max(area, spans)
                    if spans > max(DENSE_CELLS, SPARSE_RATIO * measured):
                        raise FileProblem(
                            t(
                                "reading:sparse_sheet",
                                path=path,
                                part=info.filename,
                                area=spans,
                                cells=measured,
                                limit=SPARSE_RATIO,
                            )
                        )
                else:
                    longest = max(longest, measured)
    except FileProblem:
        raise
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        OSError,
        EOFError,
        ValueError,
        NotImplementedError,
        zlib.error,
    ) as exc:
        raise FileProblem(t("file_bad_xlsx", path=path, detail=type(exc).__name__)) from None
    return Unpacked(total, cells, longest, area)


def _content_types(archive: zipfile.ZipFile, path: Path) -> dict[str, str]:
    """Each part's content type, from ``[Content_Types].xml`` (which is small: it is
    refused past 1 MB before it is parsed)."""
    from xml.etree import ElementTree

    try:
        info = archive.getinfo("[Content_Types].xml")
    except KeyError:
        return {}
    _check_declared(path, info, 1024**2)
    root = ElementTree.fromstring(archive.read(info))
    defaults: dict[str, str] = {}
    types: dict[str, str] = {}
    for element in root:
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "Default":
            defaults[element.get("Extension", "").lower()] = element.get("ContentType", "")
        elif tag == "Override":
            types[element.get("PartName", "").lstrip("/")] = element.get("ContentType", "")
    for name in archive.namelist():
        extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        types.setdefault(name, defaults.get(extension, ""))
    return types


def _part_kind(name: str, content_type: str) -> str:
    """How a part is read: "shared" strings (found by calamine under this name, by
    openpyxl by their content type), a "sheet" (streamed), other "xml" (read whole), or
    "media" (not parsed)."""
    if name.lower().endswith("sharedstrings.xml") or content_type == _SHARED_TYPE:
        return "shared"
    if content_type == _WORKSHEET_TYPE:
        return "sheet"
    if name.lower().endswith((".xml", ".rels", ".vml")) or content_type.endswith("xml"):
        return "xml"
    return "media"


def _check_declared(path: Path, info: zipfile.ZipInfo, limit: int) -> None:
    """Refuse a part whose declared size or ratio is past the limits."""
    if info.file_size > limit:
        raise FileProblem(
            t(
                "reading:part_too_large",
                path=path,
                part=info.filename,
                size=_size(info.file_size),
                limit=_size(limit),
            )
        )
    if info.file_size > RATIO_FROM_BYTES:
        ratio = info.file_size // max(info.compress_size, 1)
        if ratio > MAX_RATIO:
            raise FileProblem(
                t(
                    "reading:part_ratio",
                    path=path,
                    part=info.filename,
                    size=_size(info.file_size),
                    packed=_size(info.compress_size),
                    ratio=ratio,
                    limit=MAX_RATIO,
                )
            )


def _measure(
    handle: Any, info: zipfile.ZipInfo, path: Path, kind: str, extent: bool
) -> tuple[int, int]:
    """Unpack one part as a stream and check it: never past its declared size (which the
    limits were checked against, and which a reader trusting the stream would pass), no
    text longer than :data:`MAX_TEXT_BYTES`. Returns, for a worksheet, an upper bound of
    its cells that hold a value (each has four tags: ``<c t="s"><v>0</v></c>``) and, with
    ``extent``, the cells from A1 to its last row and column; for shared strings, the
    bytes of the longest item; else 0."""
    run = count = last_row = last_column = 0
    last_item: int | None = None
    offset = 0
    tail = b""
    for block in _unpacked(handle, info, path):
        first = block.find(b"<")
        if first < 0:
            run += len(block)
        else:
            run += first
            if run <= MAX_TEXT_BYTES:
                run = len(block) - block.rfind(b"<") - 1
        if run > MAX_TEXT_BYTES:
            raise FileProblem(
                t(
                    "reading:text_too_long",
                    path=path,
                    part=info.filename,
                    limit=_size(MAX_TEXT_BYTES),
                    cells=MAX_CELL_CHARS,
                )
            )
        if kind == "sheet":
            count += block.count(b"<")
            if extent:
                refs = _REFERENCE.findall(tail + block)  # one cut by the block's end, whole
                if refs:
                    last_row = max(last_row, *map(int, [row for _, row in refs]))
                    for letters in {letters for letters, _ in refs}:
                        last_column = max(last_column, _column_number(letters))
                tail = block[-32:]
        elif kind == "shared":
            window = tail + block  # an item's tag cut by the end of a block is found whole
            for match in _SHARED_ITEM.finditer(window):
                at = offset - len(tail) + match.start()
                if last_item is None or at > last_item:
                    if last_item is not None:
                        count = max(count, at - last_item)
                    last_item = at
            tail = block[-64:]
        offset += len(block)
    if kind == "sheet":
        return count // 4, last_row * max(last_column, 1)
    return (max(count, offset - last_item) if last_item is not None else 0), 0


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _unpacked(handle: Any, info: zipfile.ZipInfo, path: Path) -> Iterator[bytes]:
    """A part's bytes in blocks, inflated here from the raw stream so that nothing past
    its declared size is ever produced, and its checksum verified."""
    handle.seek(info.header_offset)
    header = handle.read(30)
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile
    if info.flag_bits & 0x1:
        raise NotImplementedError("encrypted")
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    handle.seek(info.header_offset + 30 + name_length + extra_length)
    if info.compress_type == zipfile.ZIP_STORED:
        inflater = None
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        inflater = zlib.decompressobj(-15)
    else:
        raise NotImplementedError(f"compression method {info.compress_type}")
    packed, produced, checksum = info.compress_size, 0, 0
    while True:
        if inflater is not None and inflater.unconsumed_tail:
            block = inflater.decompress(inflater.unconsumed_tail, _BLOCK)
        elif packed:
            raw = handle.read(min(packed, _BLOCK))
            if not raw:
                raise EOFError
            packed -= len(raw)
            block = raw if inflater is None else inflater.decompress(raw, _BLOCK)
        else:
            break
        produced += len(block)
        if produced > info.file_size:
            raise FileProblem(
                t(
                    "reading:part_dishonest",
                    path=path,
                    part=info.filename,
                    size=_size(info.file_size),
                )
            )
        checksum = zlib.crc32(block, checksum)
        if block:
            yield block
    if produced != info.file_size or checksum != info.CRC:
        raise zipfile.BadZipFile("checksum")


# -- CSV ------------------------------------------------------------------------------------


def _detect_encoding(path: Path, head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif b"\x00" in head:
        raise FileProblem(t("file_binary", path=path))
    else:
        if _decodes(path, "utf-8"):
            return "utf-8"
        problem = _mixed_encoding(path)
        if problem is not None:
            raise problem
        if _decodes(path, "gb18030"):
            return "gb18030"
        raise FileProblem(t("file_binary", path=path))
    # A byte-order mark promises an encoding; hold the whole file to it.
    if not _decodes(path, encoding):
        raise FileProblem(t("file_bad_encoding", path=path, encoding=encoding))
    return encoding


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


def _check_lines(path: Path) -> None:
    """Refuse a file with a line longer than :data:`MAX_LINE_BYTES` before it is parsed
    (the parser would hold it whole). Only line breaks that end a block are looked at: a
    line inside one block is shorter than the block, and the block than the limit."""
    run = line = 0
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK):
            first = block.find(b"\n")
            run += len(block) if first < 0 else first
            if run > MAX_LINE_BYTES:
                raise FileProblem(
                    t(
                        "reading:line_too_long",
                        path=path,
                        line=line + 1,
                        limit=_size(MAX_LINE_BYTES),
                        cells=MAX_CELL_CHARS,
                    )
                )
            if first >= 0:
                line += block.count(b"\n")
                run = len(block) - block.rfind(b"\n") - 1


def _check_cells(path: Path, row: int, cells: list[str], letters: bool) -> None:
    """Refuse a row with a cell longer than :data:`MAX_CELL_CHARS`."""
    if cells and max(map(len, cells)) > MAX_CELL_CHARS:
        from openpyxl.utils import get_column_letter

        position = next(n for n, cell in enumerate(cells) if len(cell) > MAX_CELL_CHARS)
        column = get_column_letter(position + 1) if letters else position + 1
        raise FileProblem(
            t(
                "reading:cell_too_long",
                path=path,
                row=row,
                column=column,
                length=len(cells[position]),
                limit=MAX_CELL_CHARS,
            )
        )


def _mixed_encoding(path: Path) -> FileProblem | None:
    """The problem of a UTF-8 file with a GBK line pasted in (which may even decode as
    GB18030 as a whole, garbling every other line), naming that line; None for any other
    file. It is taken for UTF-8 if its first line of non-ASCII text is; a GBK file's first
    such line (Chinese headers, names) is not. Lines are split at b"\\n", which is never
    part of a character in either encoding; the reading stops at the first line in doubt."""
    utf8 = False
    with path.open("rb") as handle:
        for number, line in enumerate(handle, 1):
            if line.isascii():
                continue
            if _line_decodes(line, "utf-8"):
                utf8 = True
                continue
            if not utf8 or not _line_decodes(line, "gb18030"):
                return None
            return FileProblem(
                t(
                    "file_mixed_encoding",
                    path=path,
                    line=number,
                    encoding="UTF-8",
                    other="GBK (GB18030)",
                )
            )
    return None


def _line_decodes(line: bytes, encoding: str) -> bool:
    try:
        line.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_EMPTY_ROW = " \t,;|\"'"


def _open_csv(path: Path, head: bytes) -> Table:
    encoding = _detect_encoding(path, head)
    _check_lines(path)
    sample = head.decode(encoding, errors="ignore")
    if encoding == "utf-8-sig":
        sample = sample.lstrip("\ufeff")
    physical = _LINE_BREAK.split(sample)
    # Lines above the header that are blank, or only separators (",,,," as Excel saves
    # empty rows), are skipped; rows keep the numbers Excel shows.
    skip = next((n for n, line in enumerate(physical) if line.strip(_EMPTY_ROW)), None)
    if skip is None:
        raise FileProblem(t("file_empty", path=path))
    lines = [line for line in physical[skip:] if line.strip()]
    try:
        delimiter = csv.Sniffer().sniff("\n".join(lines[:20]), delimiters=",\t;|").delimiter
    except csv.Error:
        delimiter = "\t" if "\t" in lines[0] else ","
    headers = [restore(h) for h in next(csv.reader(io.StringIO(lines[0]), delimiter=delimiter))]
    if len(headers) > MAX_COLUMNS:
        raise FileProblem(
            t("reading:too_many_columns", path=path, columns=len(headers), limit=MAX_COLUMNS)
        )
    if not any(h.strip() for h in headers):
        raise FileProblem(t("file_no_header", path=path))
    printable = sum(ch.isprintable() or ch in "\t\r\n" for ch in sample)
    if printable < 0.95 * len(sample):
        raise FileProblem(t("file_binary", path=path))
    return Table(path, "csv", headers, f"{encoding}|{delimiter}", None, None, skip + 2)


#: What pandas' parser says of a row with more cells than the header, where it stops.
_RAGGED = re.compile(r"Expected \d+ fields in line \d+, saw \d+")
_OPEN_QUOTE = re.compile(r"EOF inside string starting at row (\d+)")


def _malformed(table: Table, exc: Exception) -> FileProblem:
    """The parser's complaint in words, with the row number Excel shows."""
    detail = str(exc).strip()
    if match := _OPEN_QUOTE.search(detail):
        row = int(match.group(1)) + 1  # the parser counts records from 0
        return FileProblem(t("file_open_quote", path=table.path, row=row))
    return FileProblem(t("file_malformed", path=table.path, detail=detail))


def _ragged_row(row: int, found: int, columns: int, extra: list[str] | None = None) -> FieldError:
    """Why row ``row``, whose ``found`` cells do not line up with a header of ``columns``
    columns, is rejected (``extra``: its cells past the last column, if it has more): an
    unquoted ``120,000.50`` makes one cell two and moves every later value one column on;
    a row with cells missing cannot say which are missing."""
    if found < columns:
        message = t("reading:ragged_short", row=row, found=found, expected=columns)
    else:
        message = t(
            "reading:ragged_long", row=row, found=found, expected=columns, extra=shorten(extra)
        )
    return FieldError("cells", found, "ragged_row", message)


def _blank_rows(chunk: pd.DataFrame) -> np.ndarray:
    """Rows whose every cell is empty or whitespace. Columns are looked at one by one, and
    only on the rows still blank so far: after the first filled column almost none are."""
    blank = np.ones(len(chunk), dtype=bool)
    for position in range(chunk.shape[1]):
        rows = np.flatnonzero(blank)
        if not len(rows):
            break
        cells = chunk.iloc[rows, position].tolist()
        blank[rows] = [not cell or cell.isspace() for cell in cells]
    return blank


class _Records:
    """A CSV file's rows as the csv module reads them, from the first row under the header
    on, numbered as :func:`_csv_chunks` numbers pandas' rows: for what pandas' parser
    does not tell, how many cells a row has (it pads a row with fewer cells with empty
    ones, and stops at a row with more). Both split cells at the separator and read
    quotes alike (``"``, doubled inside a quoted cell), so they agree on where each row
    begins and ends. A file without a quote is read as the module would read it, a line
    a row split at the separator, five times faster. Opened only when needed: most files
    never need it."""

    def __init__(self, table: Table) -> None:
        assert table.encoding is not None
        encoding, self.delimiter = table.encoding.split("|")
        self.path = table.path
        # Cells up to MAX_CELL_CHARS are read (_check_cells refuses longer ones, naming
        # them); the module's own limit is 131,072 characters.
        csv.field_size_limit(max(csv.field_size_limit(), MAX_LINE_BYTES))
        self.quoted = _holds_quotes(table.path)
        # Without quotes, universal newlines: a lone carriage return ends a row for pandas.
        self.handle = table.path.open(encoding=encoding, newline="" if self.quoted else None)
        for _ in range(table.first_row_number - 2):  # the blank lines above the header
            self.handle.readline()
        self.reader: Iterator[list[str]] = (
            csv.reader(self.handle, delimiter=self.delimiter)
            if self.quoted
            else map(self._split, self.handle)
        )
        next(self.reader, None)  # the header
        #: The number of the row read next.
        self.number = table.first_row_number

    def close(self) -> None:
        self.handle.close()

    def _split(self, line: str) -> list[str]:
        return line.removesuffix("\n").split(self.delimiter)

    def _skip_to(self, row: int) -> None:
        """Read on to ``row``: the rows before it are read (in C) and not kept."""
        if row > self.number:
            rows = self.reader if self.quoted else self.handle
            deque(islice(rows, row - self.number), maxlen=0)
            self.number = row

    def counts(self, rows: list[int]) -> list[int]:
        """How many cells each of ``rows`` has (ascending, none before the row read
        next), the rows up to the last of them read in one go."""
        first = self.number
        read = list(islice(self.reader if self.quoted else self.handle, rows[-1] + 1 - first))
        self.number += len(read)
        found = [read[row - first] for row in rows if row - first < len(read)]
        if self.quoted:
            return list(map(len, found))
        return [line.count(self.delimiter) + 1 for line in found]

    def chunks(self, start: int, size: int, columns: int) -> Iterator[Chunk]:
        """The rows from ``start`` on, in chunks of ``size`` rows, laid out under the
        header's ``columns``; those with more or fewer cells are ragged. Strict, as pandas'
        parser is: a quote opened and never closed refuses the file (the module would
        read the rest of the file as one cell)."""
        self._skip_to(start)
        reader = (
            csv.reader(self.handle, delimiter=self.delimiter, strict=True)
            if self.quoted
            else self.reader
        )
        batch: list[list[str]] = []
        numbers: list[int] = []
        ragged: dict[int, FieldError] = {}
        try:
            for cells in reader:
                row = self.number
                self.number += 1
                if not any(cell.strip() for cell in cells):
                    continue
                _check_cells(self.path, row, cells, letters=False)
                if len(cells) != columns:
                    ragged[row] = _ragged_row(row, len(cells), columns, cells[columns:])
                    cells = (cells + [""] * columns)[:columns]
                batch.append(cells)
                numbers.append(row)
                if len(batch) == size:
                    yield Chunk(restore_frame(pd.DataFrame(batch, index=numbers)), ragged)
                    batch, numbers, ragged = [], [], {}
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                raise FileProblem(t("file_open_quote", path=self.path, row=self.number)) from None
            raise FileProblem(t("file_malformed", path=self.path, detail=str(exc))) from None
        if batch:
            yield Chunk(restore_frame(pd.DataFrame(batch, index=numbers)), ragged)


def _holds_quotes(path: Path) -> bool:
    """Whether the file may hold a double quote: any byte 0x22 (in UTF-16 some other
    characters hold one too, and such a file is read as if quoted)."""
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK):
            if b'"' in block:
                return True
    return False


def _csv_chunks(table: Table, size: int) -> Iterator[Chunk]:
    assert table.encoding is not None
    encoding, delimiter = table.encoding.split("|")
    columns = len(table.headers)
    number = table.first_row_number
    records: _Records | None = None
    try:
        reader = pd.read_csv(
            table.path,
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            encoding=encoding,
            chunksize=size,
            skip_blank_lines=False,
            skiprows=table.first_row_number - 2,
            header=0,
            names=None,
            on_bad_lines="error",
            engine="c",
        )
        try:
            for chunk in reader:
                chunk = chunk.iloc[:, :columns]
                chunk.columns = pd.Index(range(chunk.shape[1]))
                chunk.index = pd.RangeIndex(number, number + len(chunk))
                cells = chunk.to_numpy()
                if cells.size and max(map(len, cells.ravel())) > MAX_CELL_CHARS:
                    for at, values in enumerate(cells.tolist()):
                        _check_cells(table.path, number + at, values, letters=False)
                number += len(chunk)
                blank = _blank_rows(chunk)
                # A row with fewer cells comes padded with empty ones, so only a row whose
                # last cell is empty may be one: the csv module counts the cells of those.
                ragged: dict[int, FieldError] = {}
                short = ~blank & (cells[:, -1] == "")
                if columns > 1 and short.any():
                    records = records or _Records(table)
                    rows = chunk.index[short].tolist()
                    for row, found in zip(rows, records.counts(rows), strict=True):
                        if found < columns:
                            ragged[row] = _ragged_row(row, found, columns)
                kept = chunk[~blank] if blank.any() else chunk
                yield Chunk(restore_frame(kept), ragged)
            return
        except pd.errors.ParserError as exc:
            if not _RAGGED.search(str(exc)):
                raise _malformed(table, exc) from None
        # pandas' parser stopped at a row with more cells than the header, somewhere in
        # the chunk from row ``number`` on: the csv module reads the rest.
        records = records or _Records(table)
        yield from records.chunks(number, size, columns)
    except pd.errors.EmptyDataError:
        raise FileProblem(t("file_no_header", path=table.path)) from None
    except UnicodeDecodeError:
        raise FileProblem(t("file_bad_encoding", path=table.path, encoding=encoding)) from None
    finally:
        if records is not None:
            records.close()


# -- Excel ----------------------------------------------------------------------------------

#: What :func:`_worksheets_match` looks for: a pattern, and byte strings one of which every
#: match contains, so a block of XML without any is passed over without running the
#: pattern (ten times faster); none for a pattern that is as fast as looking for them.
_Search = tuple[re.Pattern[bytes], tuple[bytes, ...]]
#: A formula element in a worksheet part (``<f>``, ``<f t="shared" …/>``, ``<x:f>``).
_FORMULA_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s>/]")
_FORMULAS: _Search = (_FORMULA_TAG, (b"<f", b":f"))
#: What calamine cannot read as openpyxl does: a formula, a cell holding an error value
#: such as #N/A (``<c r="B2" t="e">``; only cells have a type attribute whose value is
#: "e"), or a whole number past 2**53 (``<v>6222021234567890123</v>``, as some exporters
#: save card and ID numbers; here: 17 digits or more, or 16 from 9000000000000000 on),
#: which openpyxl reads exactly and calamine as a float that keeps about 16 digits.
_NOT_PLAIN: tuple[_Search, ...] = (
    (
        re.compile(_FORMULA_TAG.pattern + rb"""|\st=["']e["']"""),
        (b"<f", b":f", b't="e"', b"t='e'"),
    ),
    (re.compile(rb"v>-?(?:[0-9]{17,}|9[0-9]{15})<"), ()),
)


#: The built-in number formats of Chinese Excel that are dates or times (ECMA-376,
#: 18.8.30): a workbook names them by number alone, and openpyxl, knowing only the
#: international ones, would read such a date as its serial number.
_EAST_ASIAN_DATE_FORMATS = {
    **dict.fromkeys((27, 36, 50, 52, 57), 'yyyy"年"m"月"'),
    **dict.fromkeys((28, 29, 51, 53, 54, 58), 'm"月"d"日"'),
    30: "m-d-yy",
    31: 'yyyy"年"m"月"d"日"',
    32: 'h"时"mm"分"',
    33: 'h"时"mm"分"ss"秒"',
    **dict.fromkeys((34, 55), '上午/下午h"时"mm"分"'),
    **dict.fromkeys((35, 56), '上午/下午h"时"mm"分"ss"秒"'),
}


def _load_workbook(path: Path, *, read_only: bool, data_only: bool = True) -> Any:
    from openpyxl import load_workbook
    from openpyxl.styles.numbers import BUILTIN_FORMATS

    for number, code in _EAST_ASIAN_DATE_FORMATS.items():
        BUILTIN_FORMATS.setdefault(number, code)  # kept if openpyxl ever defines them
    try:
        return load_workbook(path, read_only=read_only, data_only=data_only)
    except Exception as exc:  # openpyxl raises many kinds for a broken zip or XML
        raise FileProblem(t("file_bad_xlsx", path=path, detail=type(exc).__name__)) from None


def _has_formulas(path: Path) -> bool:
    """Whether any worksheet of the workbook holds a formula, by scanning its XML."""
    return _worksheets_match(path, _FORMULAS)


def _worksheets_match(path: Path, *searches: _Search) -> bool:
    """Whether any of the patterns occurs in the XML of any worksheet of the workbook."""
    tail = 256
    try:
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                if not (name.startswith("xl/worksheets/") and name.endswith(".xml")):
                    continue
                with archive.open(name) as part:
                    carry = b""
                    while block := part.read(1 << 20):
                        text = carry + block
                        for pattern, hints in searches:
                            hinted = not hints or any(hint in text for hint in hints)
                            if hinted and pattern.search(text):
                                return True
                        carry = block[-tail:]
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, ValueError):
        return False  # the workbook itself reports what is wrong when it is loaded
    return False


def _is_plain(path: Path) -> bool:
    """Whether the workbook holds only typed values: no formula (whose saved result may be
    missing), no error value (which calamine would read as an empty cell) and no whole
    number too long for a float (see :data:`_NOT_PLAIN`)."""
    return not _worksheets_match(path, *_NOT_PLAIN)


def _choose_sheet(path: Path, names: list[str], sheet: str | None, hints: tuple[str, ...]) -> str:
    if sheet is not None:
        if sheet not in names:
            raise FileProblem(t("file_no_sheet", path=path, sheet=sheet, sheets=", ".join(names)))
        return sheet
    for hint in hints:
        if hint in names:
            return hint
    return names[0]


#: Past this a float cannot hold every whole number: its binary value has digits nobody typed.
_EXACT_FLOATS = 2**53


def _cell_text(value: Any) -> str:
    """A cell as the text a user typed: whole numbers without '.0', dates in ISO form,
    durations in hours as Excel's [h]:mm:ss shows them."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        if abs(value) < _EXACT_FLOATS:
            return str(int(value))
        # The float's shortest form, as Excel shows it: an 18-digit ID typed into Excel is
        # saved as 1.23456789012345E+17 and shown as 123456789012345000, not as the
        # binary value's 123456789012344992.
        return str(int(Decimal(repr(value))))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ") if value.time() != time(0) else value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):  # 27:30:00 rather than Python's "1 day, 3:30:00"
        days, clock = divmod(abs(value), timedelta(days=1))
        hours, _, rest = str(clock).partition(":")
        return f"{'-' if value < timedelta(0) else ''}{days * 24 + int(hours)}:{rest}"
    return str(value)


def _formula_text(value: Any) -> str:
    """A formula as Excel's formula bar shows it: '=SUM(A1:A2)'."""
    shown = getattr(value, "text", value)  # an ArrayFormula keeps its formula in .text
    if not isinstance(shown, str):  # a what-if data table: no formula text to show
        shown = f"TABLE({getattr(value, 'r1', '') or ''},{getattr(value, 'r2', '') or ''})"
    return shown if shown.startswith("=") else f"={shown}"


@dataclass
class _Workbook:
    """A workbook opened for reading: its values and, when it holds formulas that were
    saved without a computed value (as openpyxl and some exporters write them), the
    formulas too, so such a cell reads as its formula instead of looking empty."""

    values: Any
    formulas: Any | None

    @classmethod
    def open(cls, path: Path, unpacked: Unpacked | None = None) -> _Workbook:
        unpacked = unpacked or inspect_workbook(path)
        full = unpacked.total <= min(FULL_OPENPYXL_BYTES, FULL_WORKBOOK_BYTES)
        values = _load_workbook(path, read_only=not full)
        formulas = None
        if full and _has_formulas(path):
            try:
                formulas = _load_workbook(path, read_only=False, data_only=False)
            except BaseException:
                values.close()
                raise
        return cls(values, formulas)

    @property
    def sheetnames(self) -> list[str]:
        return list(self.values.sheetnames)

    def max_row(self, sheet: str) -> int | None:
        return self.values[sheet].max_row

    def close(self) -> None:
        self.values.close()
        if self.formulas is not None:
            self.formulas.close()

    def rows(self, path: Path, sheet: str) -> Generator[list[str], None, None]:
        """Every row of ``sheet`` as text, merged cells filled from their top-left cell."""
        from openpyxl.utils.escape import unescape

        worksheet = self.values[sheet]
        formulas: dict[tuple[int, int], str] = {}
        if self.formulas is not None:
            for line in self.formulas[sheet].iter_rows():
                for cell in line:
                    if cell.data_type == "f" and cell.value is not None:
                        formulas[(cell.row, cell.column)] = _formula_text(cell.value)
            # Only where no result was saved: a formula whose saved result is an empty
            # string (t="str", as Excel saves ``=IF(…,"",…)``) is as blank as Excel shows it.
            for row, col in list(formulas):
                computed = worksheet.cell(row, col)
                if computed.value is not None or computed.data_type != "n":
                    del formulas[(row, col)]
        if hasattr(worksheet, "reset_dimensions"):
            # Read-only sheets trust the size stored in the file, which some programs
            # write wrongly (often "A1"): rows past it would be silently dropped.
            worksheet.reset_dimensions()

        def value(row: int, col: int, cell: Any) -> Any:
            if cell is None:
                return formulas.get((row, col))
            if isinstance(cell, str):  # Excel saves a carriage return as _x000D_
                return unescape(cell)
            return cell

        fill: dict[tuple[int, int], Any] = {}
        merged_ranges = getattr(worksheet, "merged_cells", None) or []
        _check_merged(path, [(m.min_row, m.min_col, m.max_row, m.max_col) for m in merged_ranges])
        for merged in merged_ranges:
            first = merged.min_row, merged.min_col
            top_left = value(*first, worksheet.cell(*first).value)
            for row in range(merged.min_row, merged.max_row + 1):
                for col in range(merged.min_col, merged.max_col + 1):
                    fill[(row, col)] = top_left
        try:
            for row_number, cells in enumerate(worksheet.iter_rows(values_only=True), start=1):
                texts = [
                    _cell_text(fill.get((row_number, col), value(row_number, col, cell)))
                    for col, cell in enumerate(cells, start=1)
                ]
                _check_cells(path, row_number, texts, letters=True)
                yield texts
        except FileProblem:
            raise
        except Exception as exc:  # a broken part of the file, met while streaming it
            raise FileProblem(t("file_bad_xlsx", path=path, detail=type(exc).__name__)) from None


class _PlainWorkbook:
    """A workbook of plain values, read by calamine (Rust): about forty times faster than
    openpyxl loading it whole, in a fifth of the memory. The sheet is held in memory, so
    only workbooks up to :data:`FULL_WORKBOOK_BYTES` are read this way.

    Every cell reads as :class:`_Workbook` reads it, including dates in the built-in
    formats of Chinese Excel (see :data:`_EAST_ASIAN_DATE_FORMATS`) and characters saved
    escaped in text, such as ``_x000D_`` for a carriage return, which openpyxl needs
    told about. Known differences that no import meets in a file Excel saved: text
    saved without ``xml:space="preserve"`` loses the spaces at its ends, and a
    date-formatted number that Excel shows as ##### (negative, or past the year 9999)
    reads differently (openpyxl: a date before 1900, #VALUE!)."""

    def __init__(self, path: Path) -> None:
        from python_calamine import CalamineWorkbook

        self.path = path
        try:
            self.book = CalamineWorkbook.from_path(str(path))
        except Exception as exc:  # calamine raises its own kinds for a broken zip or XML
            raise FileProblem(t("file_bad_xlsx", path=path, detail=type(exc).__name__)) from None
        self.sheets: dict[str, Any] = {}

    @property
    def sheetnames(self) -> list[str]:
        return list(self.book.sheet_names)

    def close(self) -> None:
        self.book.close()

    def rows(self, path: Path, sheet: str) -> Generator[list[str], None, None]:
        """Every row of ``sheet`` as text from A1 on (see :func:`_calamine_rows`)."""
        yield from _calamine_rows(self.sheet(sheet), path)

    def max_row(self, sheet: str) -> int:
        parsed = self.sheet(sheet)
        ranges = parsed.merged_cell_ranges or []
        _check_merged(
            self.path, [(top, left, bottom, right) for (top, left), (bottom, right) in ranges]
        )
        return _extent(parsed)[0]

    def sheet(self, sheet: str) -> Any:
        """The sheet, parsed once (a ``CalamineSheet``, which outlives the workbook)."""
        if sheet not in self.sheets:
            try:
                self.sheets[sheet] = self.book.get_sheet_by_name(sheet)
            except Exception as exc:
                detail = type(exc).__name__
                raise FileProblem(t("file_bad_xlsx", path=self.path, detail=detail)) from None
        return self.sheets[sheet]


def _check_merged(path: Path, ranges: list[tuple[int, int, int, int]]) -> None:
    """Refuse merged cells covering more than :data:`MAX_MERGED_CELLS` (each row of a merged
    range is given its value: one ``A1:XFD1048576`` in a small file would be 17 billion)."""
    covered = sum((bottom - top + 1) * (last - first + 1) for top, first, bottom, last in ranges)
    if covered > MAX_MERGED_CELLS:
        raise FileProblem(
            t("reading:merged_too_large", path=path, cells=covered, limit=MAX_MERGED_CELLS)
        )


def _extent(sheet: Any) -> tuple[int, int]:
    """Rows and columns of a parsed sheet from A1, merged cells included (calamine's own
    size ends at the last value; openpyxl's, like Excel's, takes in merged cells)."""
    end = sheet.end or (-1, -1)  # None for an empty sheet
    merged = sheet.merged_cell_ranges or []
    return (
        max([end[0], *(bottom for _, (bottom, _) in merged)]) + 1,
        max([end[1], *(right for _, (_, right) in merged)]) + 1,
    )


def _calamine_rows(sheet: Any, path: Path) -> Iterator[list[str]]:
    """Every row of a parsed sheet as text from A1 on, merged cells filled from their
    top-left cell (the text :class:`_Workbook` gives). Rows are made one at a time, so
    the sheet is never held a second time as Python objects."""
    height, width = _extent(sheet)
    # calamine gives the empty rows above its data, but not the empty columns to its left.
    left = [""] * (sheet.start[1] if sheet.start else 0)
    spans: dict[int, list[tuple[int, int, int]]] = {}
    for (top, first), (bottom, last) in sheet.merged_cell_ranges or []:
        for number in range(top, bottom + 1):
            spans.setdefault(number, []).append((top, first, last))
    anchors: dict[tuple[int, int], str] = {}
    values = sheet.iter_rows()
    for number in range(height):
        row = [*left, *map(_cell_text, next(values, ()))]
        row += [""] * (width - len(row))
        for top, first, last in spans.get(number, ()):
            if number == top:
                anchors[top, first] = row[first]
            row[first : last + 1] = [anchors[top, first]] * (last + 1 - first)
        _check_cells(path, number + 1, row, letters=True)
        yield row


def _open_workbook(path: Path, unpacked: Unpacked | None = None) -> _Workbook | _PlainWorkbook:
    unpacked = unpacked or inspect_workbook(path)
    if unpacked.fits_in_memory(FULL_WORKBOOK_BYTES) and _is_plain(path):
        return _PlainWorkbook(path)
    return _Workbook.open(path, unpacked)


def _open_xlsx(path: Path, sheet: str | None, hints: tuple[str, ...]) -> Table:
    unpacked = inspect_workbook(path)
    workbook = _open_workbook(path, unpacked)
    try:
        chosen = _choose_sheet(path, workbook.sheetnames, sheet, hints)
        total = workbook.max_row(chosen)
        rows = workbook.rows(path, chosen)
        header_row, headers = next(
            ((n, row) for n, row in enumerate(rows, start=1) if any(c.strip() for c in row)),
            (0, []),
        )
        rows.close()
        parsed = None
        if isinstance(workbook, _PlainWorkbook):
            parsed = ParsedSheet(workbook.sheet(chosen))
    finally:
        workbook.close()
    if not headers:
        raise FileProblem(t("file_empty_sheet", path=path, sheet=chosen))
    while headers and not headers[-1].strip():
        headers.pop()
    # Streamed sheets take their size from the file, which may be wrong: then say nothing.
    remaining = max(total - header_row, 0) if total and total > header_row else None
    return Table(path, "xlsx", headers, None, chosen, remaining, header_row + 1, parsed, unpacked)


@contextmanager
def _sheet_rows(table: Table) -> Iterator[Iterator[list[str]]]:
    """The rows of the table's sheet: from the parse :func:`open_table` kept, if nothing
    has taken it yet, else read from the file again."""
    assert table.sheet is not None
    parsed = table.parsed.take() if table.parsed is not None else None
    if parsed is not None:
        yield _calamine_rows(parsed, table.path)
        return
    workbook = _open_workbook(table.path, table.unpacked)
    try:
        yield workbook.rows(table.path, table.sheet)
    finally:
        workbook.close()


def _past_header(row: int, cells: list[str], columns: int) -> FieldError:
    """Why row ``row`` of a sheet, with a value past the header's ``columns`` columns, is
    rejected: as a CSV row with more cells than the header (Excel splits an unquoted
    ``120,000.50`` of a CSV file it opens into two cells), its values may have moved."""
    from openpyxl.utils import get_column_letter

    last = max(n for n, cell in enumerate(cells) if cell.strip()) + 1
    message = t(
        "reading:ragged_sheet",
        row=row,
        column=get_column_letter(last),
        last=get_column_letter(columns),
        extra=shorten(cells[columns:last]),
    )
    return FieldError("cells", last, "ragged_row", message)


def _xlsx_chunks(table: Table, size: int) -> Iterator[Chunk]:
    width = len(table.headers)
    batch: list[list[str]] = []
    numbers: list[int] = []
    ragged: dict[int, FieldError] = {}
    unpacked = table.unpacked.total if table.unpacked else table.path.stat().st_size
    allowed = MAX_TEXT_GROWTH * unpacked + CHUNK_CHARS
    held = total = 0
    with _sheet_rows(table) as rows:
        for number, row in enumerate(rows, start=1):
            if number < table.first_row_number or not any(cell.strip() for cell in row):
                continue
            cells = (row + [""] * width)[:width]
            # A value past the header's last column: its row is ragged (rows of a sheet
            # wider than the header hold empty cells there, which are passed over in C).
            if any(row[width:]) and any(cell.strip() for cell in row[width:]):
                ragged[number] = _past_header(number, row, width)
            batch.append(cells)
            numbers.append(number)
            characters = sum(map(len, cells))
            held += characters
            total += characters
            if total > allowed:
                raise FileProblem(
                    t(
                        "reading:text_amplified",
                        path=table.path,
                        row=number,
                        characters=total,
                        size=_size(unpacked),
                        growth=MAX_TEXT_GROWTH,
                    )
                )
            if len(batch) == size or held > CHUNK_CHARS:
                yield Chunk(pd.DataFrame(batch, index=numbers), ragged)
                batch, numbers, ragged, held = [], [], {}, 0
    if batch:
        yield Chunk(pd.DataFrame(batch, index=numbers), ragged)
