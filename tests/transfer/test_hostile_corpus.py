"""A corpus of hostile input, run against the shipped API and CLI on both databases: files
(compression bombs, broken zips, junk, every encoding trick, huge cells and lines),
segment rules and searches (injection attempts, NUL bytes, wildcards) and field values.

Every item ends in a :class:`CRMError` (never another kind of exception), or, for a file
that is a table, in rows each imported or rejected with its reason: imported + rejected =
the rows in the file. After each item the database passes its integrity checks. A full
disk, of the database or of the folder the rejected rows go to, is a clear error too, with
the database left as it was. (The limits on rules and searches themselves are tested in
test_hostile_input.py, the value rules in test_impossible_values.py.)
"""

from __future__ import annotations

import codecs
import contextlib
import io
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import event, func, select, text

from crmlib.errors import CRMError, DiskFull
from crmlib.store.engine import make_engine
from crmlib.store.models import Customer, ImportBatch
from crmlib.transfer import reading
from crmlib.transfer.reading import FileProblem
from tests.commands import crm
from tests.factories import Team, build_team, company

HEADER = "客户名称,行业,联系人,电话,客户来源"
SST_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
SST_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
SST_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
    b'spreadsheetml/2006/main" count="1" uniqueCount="1">'
)


def row(n: int, name: str | None = None, phone: str | None = None) -> str:
    return f"{name or f'测试公司{n}'},39,张三,{phone or f'1381234{n:04d}'},官网"


def csv_bytes(*rows: str, encoding: str = "utf-8") -> bytes:
    return "\r\n".join([HEADER, *rows, ""]).encode(encoding)


# -- workbooks built by hand, as a hostile file would be -------------------------------------


def _workbook_parts(rows: list[list[Any]]) -> dict[str, bytes]:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "客户"
    for values in rows:
        sheet.append(values)
    buffer = io.BytesIO()
    book.save(buffer)
    with zipfile.ZipFile(buffer) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _with_shared_strings(parts: dict[str, bytes]) -> None:
    """Declare a shared strings part, as Excel does (openpyxl writes text inline)."""
    types = parts["[Content_Types].xml"].decode()
    override = f'<Override PartName="/xl/sharedStrings.xml" ContentType="{SST_TYPE}"/>'
    parts["[Content_Types].xml"] = types.replace("</Types>", override + "</Types>").encode()
    rels = parts["xl/_rels/workbook.xml.rels"].decode()
    rel = f'<Relationship Id="rId99" Type="{SST_REL}" Target="sharedStrings.xml"/>'
    parts["xl/_rels/workbook.xml.rels"] = rels.replace(
        "</Relationships>", rel + "</Relationships>"
    ).encode()


def _cells_show_string_zero(parts: dict[str, bytes], cells: int) -> None:
    """Make the sheet rows 2.. each a cell showing shared string 0."""
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    head, _, rest = sheet.partition("<sheetData>")
    data, _, tail = rest.partition("</sheetData>")
    first_row = data[: data.index("</row>") + len("</row>")]
    body = "".join(
        f'<row r="{r}"><c r="A{r}" t="s"><v>0</v></c></row>' for r in range(2, cells + 2)
    )
    parts["xl/worksheets/sheet1.xml"] = (
        f"{head}<sheetData>{first_row}{body}</sheetData>{tail}".encode()
    )


def _save(
    path: Path, parts: dict[str, bytes], big: tuple[str, bytes, bytes, int] | None = None
) -> None:
    """Write the parts; ``big`` is a part (name, head, repeated block, repeats) streamed in
    deflated, so the file is small on disk and the test never holds the part."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            if big is None or name != big[0]:
                archive.writestr(name, data)
        if big is not None:
            name, head, block, repeats = big
            with archive.open(name, "w", force_zip64=True) as part:
                part.write(head)
                for _ in range(repeats):
                    part.write(block)
                part.write(b"</t></si></sst>" if name.endswith("sharedStrings.xml") else b"")


def shared_string_bomb(path: Path, megabytes: int = 300) -> None:
    """One cell pointing at a shared string of ``megabytes`` MB (the issue's was 1.5 GB)."""
    parts = _workbook_parts([["客户名称", "电话"], ["x", "13812345678"]])
    _with_shared_strings(parts)
    _cells_show_string_zero(parts, 1)
    big = ("xl/sharedStrings.xml", SST_HEAD + b"<si><t>", b"A" * (1 << 20), megabytes)
    _save(path, parts, big)


def ratio_bomb(path: Path) -> None:
    """A 24 MB worksheet of one repeated row: about 1,000 times its packed size."""
    parts = _workbook_parts([["客户名称", "电话"]])
    sheet = parts["xl/worksheets/sheet1.xml"]
    head, _, tail = sheet.partition(b"</sheetData>")
    block = b'<row><c t="inlineStr"><is><t>x</t></is></c></row>' * 20_000
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            if name != "xl/worksheets/sheet1.xml":
                archive.writestr(name, data)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            part.write(head)
            for _ in range(24 * (1 << 20) // len(block)):
                part.write(block)
            part.write(b"</sheetData>" + tail)


def shared_string_copies(path: Path) -> None:
    """1,000 cells each showing one 50,000-character shared string: 50 M characters from
    a file of a few kilobytes."""
    parts = _workbook_parts([["客户名称", "电话"]])
    _with_shared_strings(parts)
    _cells_show_string_zero(parts, 1_000)
    parts["xl/sharedStrings.xml"] = SST_HEAD + b"<si><t>" + b"B" * 50_000 + b"</t></si></sst>"
    _save(path, parts)


def truncated_workbook(path: Path) -> None:
    _save(path, _workbook_parts([["客户名称", "电话"], ["测试公司", "13812345678"]]))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def zip_not_workbook(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")


def lying_zip(path: Path) -> None:
    """A part whose zip directory declares fewer bytes than it unpacks to."""
    parts = _workbook_parts([["客户名称", "电话"], ["测试公司", "13812345678"]])
    _save(path, parts)
    data = bytearray(path.read_bytes())
    name = b"xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(name.decode())
    # the central directory entry of the sheet: its uncompressed size is at offset 24
    entry = data.index(b"PK\x01\x02", data.index(b"PK\x01\x02"))
    while data[entry + 46 : entry + 46 + len(name)] != name:
        entry = data.index(b"PK\x01\x02", entry + 4)
    data[entry + 24 : entry + 28] = (info.file_size // 2).to_bytes(4, "little")
    path.write_bytes(bytes(data))


def sparse_workbook(path: Path) -> None:
    """A header, a row, and one cell at XFD1048576: calamine would lay out 17 billion
    cells (550 GB) for it, and abort the process."""
    parts = _workbook_parts([["客户名称", "电话"], ["测试公司", "13812345678"]])
    sheet = parts["xl/worksheets/sheet1.xml"]
    far = b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    parts["xl/worksheets/sheet1.xml"] = sheet.replace(b"</sheetData>", far + b"</sheetData>")
    _save(path, parts)


def formula_workbook(path: Path) -> None:
    _save(
        path,
        _workbook_parts(
            [
                ["客户名称", "电话", "客户来源"],
                ['=HYPERLINK("http://x","y")', "13812345678", "官网"],
                ["测试公司2", "=1+2", "官网"],
            ]
        ),
    )


def huge_cell_workbook(path: Path) -> None:
    """A cell of 1.2 M characters, written into the XML (openpyxl cuts at Excel's limit)."""
    parts = _workbook_parts([["客户名称", "电话"], ["LONG", "13812345678"]])
    sheet = parts["xl/worksheets/sheet1.xml"]
    parts["xl/worksheets/sheet1.xml"] = sheet.replace(b">LONG<", b">" + b"C" * 1_200_000 + b"<")
    _save(path, parts)


#: name → (file name, how to write it, what must happen: a FileProblem whose message holds
#: every word given, or the number of rows the file holds).
Builder = Callable[[Path], None]
FILES: dict[str, tuple[str, Builder, tuple[str, ...] | int]] = {
    "shared string bomb": (
        "bomb.xlsx",
        shared_string_bomb,
        ("xl/sharedStrings.xml", "300 MB", "256 MB"),
    ),
    "compression ratio bomb": ("ratio.xlsx", ratio_bomb, ("xl/worksheets/sheet1.xml", "times")),
    "one string in many cells": ("copies.xlsx", shared_string_copies, ("row",)),
    "zip directory lies": ("lying.xlsx", lying_zip, ("sheet1.xml",)),
    "one cell at XFD1048576": ("sparse.xlsx", sparse_workbook, ("17,179,869,184", "64")),
    "truncated workbook": ("truncated.xlsx", truncated_workbook, ("Excel",)),
    "zip that is no workbook": ("notes.xlsx", zip_not_workbook, ("Excel",)),
    "a cell past the limit (xlsx)": ("huge-cell.xlsx", huge_cell_workbook, ("1,200,000", "A")),
    "formulas in a workbook": ("formulas.xlsx", formula_workbook, 2),
    "binary junk named .csv": ("junk.csv", lambda p: p.write_bytes(os.urandom(4096)), ("CSV",)),
    "NUL bytes": ("nul.csv", lambda p: p.write_bytes(csv_bytes(row(1, "上海\x00星辰"))), ("CSV",)),
    "empty file": ("empty.csv", lambda p: p.write_bytes(b""), ("empty",)),
    "header only": ("header.csv", lambda p: p.write_bytes(csv_bytes()), 0),
    "UTF-8 BOM": (
        "bom8.csv",
        lambda p: p.write_bytes(codecs.BOM_UTF8 + csv_bytes(row(1), row(2))),
        2,
    ),
    "UTF-16 LE BOM": (
        "bom16le.csv",
        lambda p: p.write_bytes(codecs.BOM_UTF16_LE + csv_bytes(row(1), encoding="utf-16-le")),
        1,
    ),
    "UTF-16 BE BOM": (
        "bom16be.csv",
        lambda p: p.write_bytes(codecs.BOM_UTF16_BE + csv_bytes(row(1), encoding="utf-16-be")),
        1,
    ),
    "BOM promises UTF-8, bytes are GBK": (
        "bomgbk.csv",
        lambda p: p.write_bytes(codecs.BOM_UTF8 + csv_bytes(row(1, "苏州启航"), encoding="gbk")),
        ("UTF",),
    ),
    "mixed encodings": (
        "mixed.csv",
        lambda p: p.write_bytes(
            csv_bytes(row(1, "上海星辰科技")) + row(2, "苏州启航机械").encode("gbk") + b"\r\n"
        ),
        ("GBK",),
    ),
    "a cell of 10 MB": (
        "ten-mb.csv",
        lambda p: p.write_bytes(csv_bytes(row(1, "D" * 10_000_000))),
        ("10,000,000", "1,000,000"),
    ),
    "a cell of 100,000 characters": (
        "long-cell.csv",
        lambda p: p.write_bytes(csv_bytes(row(1, "名" * 100_000), row(2))),
        2,
    ),
    "a line of 40 MB": (
        "long-line.csv",
        lambda p: p.write_bytes(csv_bytes(row(1, "E" * 40_000_000))),
        ("32 MB",),
    ),
    "a million columns": (
        "million.csv",
        lambda p: p.write_bytes((HEADER + ",x" * 1_000_000 + "\r\n" + row(1) + "\r\n").encode()),
        ("columns", "16,384"),
    ),
    "500 columns": (
        "wide.csv",
        lambda p: p.write_bytes(
            (HEADER + ",x" * 500 + "\r\n" + row(1) + "," * 500 + "\r\n").encode()
        ),
        1,
    ),
    "formulas in CSV": (
        "formulas.csv",
        lambda p: p.write_bytes(
            csv_bytes(
                row(1, '=HYPERLINK("http://x","y")'),
                row(2, "+cmd|' /C calc'!A0"),
                row(3, "@SUM(1)"),
            )
        ),
        3,
    ),
    "invisible and bidi names": (
        "invisible.csv",
        lambda p: p.write_bytes(
            csv_bytes(
                row(1, "\u200b\u200b"),
                row(2, "\u202e公司名\u202c"),
                row(3, "👩‍💻 科技"),
                row(4, "\u3164"),
            )
        ),
        4,
    ),
    "phones: letters, huge, negative": (
        "phones.csv",
        lambda p: p.write_bytes(
            csv_bytes(
                row(1, phone="138ABCD5678"),
                row(2, phone="9" * 400),
                row(3, phone="-13812345678"),
                row(4, phone="1e400"),
            )
        ),
        4,
    ),
}


def build(directory: Path, name: str) -> Path:
    """The corpus file ``name``, written once per module."""
    file_name, builder, _ = FILES[name]
    path = directory / file_name
    if not path.exists():
        builder(path)
    return path


# -- fixtures and checks ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def team(module_db_url: str) -> Iterator[Team]:
    built = build_team(module_db_url)
    yield built
    built.close()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile")


def intact(url: str) -> None:
    """The database passes its integrity checks: SQLite's own, and no record whose parent
    is gone on either database."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
                assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
            orphans = conn.execute(
                text(
                    "SELECT count(*) FROM orders o LEFT JOIN customers c ON c.id = o.customer_id "
                    "WHERE c.id IS NULL"
                )
            ).scalar()
            assert orphans == 0
    finally:
        engine.dispose()


def customers(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(Customer)).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.parametrize("name", FILES, ids=FILES)
def test_every_hostile_file_ends_in_a_clear_error_or_rows_with_reasons(
    team: Team, files: Path, name: str
) -> None:
    path = build(files, name)
    expected = FILES[name][2]
    before = customers(team.url)
    ws = team.zhang
    limit = 1024**3  # bounded memory: no item may need a gigabyte
    used = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    try:
        result = ws.import_file("customers", path, output_dir=files / f"out-{path.stem}")
    except CRMError as exc:
        assert isinstance(exc, FileProblem), repr(exc)
        assert not isinstance(expected, int), f"{name}: {exc}"
        message = str(exc)
        assert path.name in message and "\n" not in message, message
        assert len(message) < 500, message
        for word in expected:
            assert word in message, message
        assert customers(team.url) == before
    else:
        assert isinstance(expected, int), f"{name}: imported {result.describe('en')}"
        assert result.rows == expected, result.describe("en")
        assert result.ok + result.rejected == expected
        if result.rejected:
            assert result.rejects_path is not None
            rejects = pd.read_csv(result.rejects_path, encoding="utf-8-sig", dtype=str)
            assert len(rejects) == result.rejected
            assert rejects["reasons"].str.contains(r"\[\w+\]").all(), rejects["reasons"]
        assert customers(team.url) == before + result.created
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - used < limit
    intact(team.url)


def test_the_bomb_is_refused_before_it_is_unpacked(files: Path) -> None:
    """Refused from the zip directory alone: at once, without unpacking 300 MB."""
    path = build(files, "shared string bomb")
    assert path.stat().st_size < 2 * 1024**2
    with pytest.raises(FileProblem) as caught:
        reading.inspect_workbook(path)
    assert "300 MB" in str(caught.value)


def test_the_cli_refuses_the_bomb_in_one_line(team: Team, files: Path) -> None:
    """In Chinese, the CLI's default (the English message is checked through the API)."""
    path = build(files, "shared string bomb")
    shown = crm(
        "--lang", "zh", "import", "customers", str(path), "--dry-run", url=team.url, user="zhang"
    )
    assert shown.returncode == 1, shown.stderr
    assert "Traceback" not in shown.stderr and "Error:" not in shown.stderr, shown.stderr
    assert "解压后有 300 MB" in shown.stderr and "256 MB" in shown.stderr, shown.stderr
    assert "xl/sharedStrings.xml" in shown.stderr and path.name in shown.stderr


# -- rules, searches -------------------------------------------------------------------------

RULES = {
    "statement after a value": 'city == "x"; DROP TABLE customers; --',
    "quote breaking out": 'city == "x\\" OR 1=1 --"',
    "single quotes": "city == 'x' or '1'='1'",
    "union": "aov > 1 union select * from users",
    "comment": "aov > 1 -- and aov < 0",
    "a column that is no field": "password_hash == 'x'",
    "a function call": "aov > sqlite_version()",
    "NUL in a value": 'city == "上\x00海"',
    "NUL outside a value": "aov > 1\x00 or 1 == 1",
    "a huge number": "aov > " + "9" * 400,
    "a huge float": "aov > 1e400",
}

SEARCHES = {
    "NUL": "\x00",
    "NUL inside": "星辰\x00科技",
    "percent": "%",
    "underscore": "_",
    "backslash": "\\",
    "quote and statement": "'; DROP TABLE customers; --",
    "wildcards only": "%_%_%",
    "emoji": "👩‍💻",
    "RTL override": "\u202e星辰",
}


@pytest.fixture(scope="module")
def populated(team: Team) -> Team:
    for name in ("上海星辰科技有限公司", "北京启明贸易有限公司"):
        team.zhang.customers.add(**company(name=name))
    return team


@pytest.mark.parametrize("rule", RULES.values(), ids=RULES)
def test_injected_rules_are_refused_or_stay_rules(populated: Team, rule: str) -> None:
    before = customers(populated.url)
    for call in (populated.wang.segments.count, lambda r: populated.wang.kpi("revenue", segment=r)):
        with contextlib.suppress(CRMError):
            call(rule)
    assert customers(populated.url) == before
    intact(populated.url)


@pytest.mark.parametrize("query", SEARCHES.values(), ids=SEARCHES)
def test_hostile_searches_find_or_refuse(populated: Team, query: str) -> None:
    before = customers(populated.url)
    for search in (populated.zhang.find_customers, populated.sun.kb.search):
        try:
            found = search(query)
        except CRMError:
            continue
        assert isinstance(found, pd.DataFrame)
    assert customers(populated.url) == before
    intact(populated.url)


# -- a full disk -----------------------------------------------------------------------------


def _many_rows(path: Path, count: int, start: int = 0) -> Path:
    path.write_bytes(csv_bytes(*(row(start + n) for n in range(count))))
    return path


def test_a_full_database_stops_the_import_and_keeps_the_database(
    sqlite_url: str, tmp_path: Path
) -> None:
    """SQLite's own size cap (``max_page_count``) makes the database full for real: the
    import stops with a clear error, and the database is as it was."""
    built = build_team(sqlite_url)
    try:
        ws = built.zhang
        ws.import_file("customers", _many_rows(tmp_path / "first.csv", 50))
        database = sqlite_url.removeprefix("sqlite:///")
        pages = sqlite3.connect(database).execute("PRAGMA page_count").fetchone()[0]
        engine = ws.ctx.engine

        def capped(dbapi: Any, _: Any) -> None:
            dbapi.execute(f"PRAGMA max_page_count={pages + 10}")

        event.listen(engine, "connect", capped)
        engine.dispose()
        before = customers(sqlite_url)
        with pytest.raises(DiskFull) as caught:
            ws.import_file("customers", _many_rows(tmp_path / "more.csv", 3_000, start=100))
        message = str(caught.value)
        assert database in message and "more.csv" in message and "is full" in message
        assert "nothing of it was saved" in message
        event.remove(engine, "connect", capped)
        engine.dispose()
        assert customers(sqlite_url) == before
        intact(sqlite_url)
    finally:
        built.close()


def _rejects_to_a_full_disk(folder: Path) -> Path:
    """An output folder whose rejects.csv is /dev/full: every write fails with ENOSPC."""
    folder.mkdir()
    (folder / "rejects.csv").symlink_to("/dev/full")
    return folder


def test_a_full_disk_for_the_rejected_rows_keeps_the_database(db_url: str, tmp_path: Path) -> None:
    built = build_team(db_url)
    try:
        path = tmp_path / "some-bad.csv"
        path.write_bytes(csv_bytes(row(1), row(2, phone="123"), row(3)))
        output = _rejects_to_a_full_disk(tmp_path / "out")
        with pytest.raises(DiskFull) as caught:
            built.zhang.import_file("customers", path, output_dir=output)
        message = str(caught.value)
        assert str(output / "rejects.csv") in message and "some-bad.csv" in message
        assert "No space left on device" in message and "the database is as it was" in message
        assert customers(db_url) == 0
        engine = make_engine(db_url)
        try:
            with engine.connect() as conn:
                statuses = conn.execute(select(ImportBatch.status)).scalars().all()
        finally:
            engine.dispose()
        assert statuses == ["failed"]
        intact(db_url)
    finally:
        built.close()


def _file_size_limit(size: int) -> Callable[[], None]:
    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past it fail with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return limit


@pytest.mark.slow
def test_the_cli_says_the_database_is_full_without_a_traceback(
    sqlite_url: str, tmp_path: Path
) -> None:
    """``crm import`` run with a file-size limit at the database's size: SQLite cannot grow
    it, for real."""
    build_team(sqlite_url).close()
    database = Path(sqlite_url.removeprefix("sqlite:///"))
    path = _many_rows(tmp_path / "customers.csv", 3_000)
    env = {
        **os.environ,
        "CRM_DATABASE_URL": sqlite_url,
        "CRM_USER": "admin",
        "CRM_LANG": "en",
        "CRM_IMPORT_DIR": str(tmp_path / "imports"),
    }
    shown = subprocess.run(
        [sys.executable, "-m", "crmlib", "import", "customers", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_file_size_limit(database.stat().st_size),
    )
    assert shown.returncode == 1, shown.stderr
    assert "Traceback" not in shown.stderr, shown.stderr
    assert f"the database {database} is full" in shown.stderr, shown.stderr
    assert customers(sqlite_url) == 0
    intact(sqlite_url)
