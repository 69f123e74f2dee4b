"""What made the million-row import faster keeps every guarantee: chunks validated ahead
by the ``pipelined`` engine's checking thread, the engine chosen by name, the slimmer set
of customer indexes (migration 0005), on both databases."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import inspect, text

from crmlib import ValidationError
from crmlib.errors import DiskFull
from crmlib.i18n import t
from crmlib.store.engine import make_engine
from crmlib.store.models import Contact, Customer, ImportBatch
from crmlib.transfer import bulk, checking
from crmlib.transfer.engines import ENGINE_ENV, ENGINES
from crmlib.transfer.importing import import_file
from tests.factories import Team, build_team
from tests.transfer.test_import import BAD, GOOD, count, write_csv

#: Eleven rows: good ones, a broken phone, a missing industry, a repeat of the first row.
MORE = [
    [f"ERP-{n}", f"公司{n}", "企业", "C", "北京", "张三", f"1390000{n:04d}", "", "展会", ""]
    for n in range(10, 15)
]
ROWS = [*GOOD, *BAD, *MORE, GOOD[0]]
#: Behaviour only SQLite has: the database fixture gives these tests a SQLite file alone.
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture(params=ENGINES.names())
def engine(request: pytest.FixtureRequest) -> str:
    """Each import engine in turn."""
    name: str = request.param
    return name


def _checking_threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name == "crm-import-check"}


def test_chunks_checked_ahead_keep_every_row_and_the_language(
    db_url: str, team: Team, tmp_path: Path, engine: str
) -> None:
    """Rows validated two at a time, on the checking thread or not, give the same outcome
    as in one go: every row imported or rejected, reasons in the workspace's language
    (English, which the checking thread speaks too)."""
    path = write_csv(tmp_path / "c.csv", ROWS)
    seen: set[str] = set()
    result = import_file(
        team.zhang.ctx,
        "customers",
        path,
        chunk_rows=2,
        progress=lambda done, total: seen.update(_checking_threads()),
        engine=engine,
    )
    assert bool(seen) is (engine == "pipelined") and result.engine == engine
    assert (result.rows, result.created, result.rejected) == (11, 8, 3)
    assert result.ok + result.rejected == result.rows
    rejects = pd.read_csv(result.rejects_path, encoding="utf-8-sig", dtype=str)
    reasons = dict(zip(rejects["row_number"].astype(int), rejects["reasons"], strict=True))
    assert t("phone_format", "en") in reasons[5] and "[phone_format]" in reasons[5]
    assert t("required", "en") in reasons[6]
    assert reasons[12] == t("repeated_row", "en", row=2)
    assert count(db_url, Customer) == 8
    assert not _checking_threads()  # the checking thread ended with the import


def test_a_strict_import_checked_ahead_saves_nothing(
    db_url: str, team: Team, tmp_path: Path, engine: str
) -> None:
    path = write_csv(tmp_path / "c.csv", ROWS)
    result = import_file(
        team.zhang.ctx, "customers", path, strict=True, chunk_rows=3, engine=engine
    )
    assert (result.committed, result.rejected) == (False, 3)
    assert count(db_url, Customer) == count(db_url, Contact) == 0
    assert count(db_url, ImportBatch) == 1  # the attempt is on record


def test_a_broken_file_stops_the_checking(
    db_url: str, team: Team, tmp_path: Path, engine: str
) -> None:
    """A problem found while checking (here a malformed line far down the file) ends the
    import with nothing saved, and the checking thread with it."""
    path = write_csv(tmp_path / "c.csv", ROWS)
    with path.open("a", encoding="utf-8") as handle:
        handle.write('ERP-99,"unclosed quote\n')
    with pytest.raises(Exception, match=r"c\.csv"):
        import_file(team.zhang.ctx, "customers", path, chunk_rows=2, engine=engine)
    assert count(db_url, Customer) == 0
    assert not _checking_threads()


def test_a_write_that_fails_stops_the_checking_thread(
    db_url: str, team: Team, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The importing thread stops reading (its write failed) while the checking thread
    waits to hand over the next chunk: the import fails whole, the thread ends."""
    many = [
        [f"ERP-{n}", f"公司{n}", "企业", "C", "北京", "张三", "", "", "展会", ""]
        for n in range(300)
    ]
    path = write_csv(tmp_path / "c.csv", many)

    def full(done: int, total: int | None) -> None:
        if done >= 20:
            raise OSError(28, "No space left on device")

    with pytest.raises(DiskFull):
        import_file(
            team.zhang.ctx, "customers", path, chunk_rows=2, progress=full, engine="pipelined"
        )
    assert count(db_url, Customer) == 0
    assert not _checking_threads()


KILLED = """
    import os, sys, time
    import crmlib
    from crmlib.transfer import bulk, importing
    url, path, marker, large = sys.argv[1:]
    bulk.BULK_ROWS = 1 if large == "large" else bulk.BULK_ROWS
    def stall(done, total):
        if done >= 4:  # two chunks written, inside the import's transaction
            open(marker, "w").write("written")
            time.sleep(120)
    ws = crmlib.open(url, user="admin")
    importing.import_file(ws.ctx, "customers", path, chunk_rows=2, progress=stall)
"""


def _import_killed_midway(db_url: str, tmp_path: Path, large: bool) -> None:
    """Start an import in another process and kill it once two chunks are written inside
    its transaction (its checking thread still at work)."""
    many = [
        [f"ERP-{n}", f"公司{n}", "企业", "C", "北京", "张三", "", "", "展会", ""]
        for n in range(3000)
    ]
    path = write_csv(tmp_path / "c.csv", many)
    marker = tmp_path / "written"
    script = textwrap.dedent(KILLED)
    size = "large" if large else "small"
    importer = subprocess.Popen(
        [sys.executable, "-c", script, db_url, str(path), str(marker), size]
    )
    deadline = time.monotonic() + 60
    while not marker.exists() and importer.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), "the import never got two chunks in"
    journal = Path(db_url.removeprefix("sqlite:///") + "-journal")
    assert journal.exists() is (large and db_url.startswith("sqlite")), "rollback journal"
    importer.send_signal(signal.SIGKILL)
    importer.wait()


@pytest.mark.slow
@pytest.mark.usefixtures("team")
def test_an_import_killed_midway_leaves_nothing(db_url: str, tmp_path: Path) -> None:
    _import_killed_midway(db_url, tmp_path, large=False)
    assert count(db_url, Customer) == count(db_url, Contact) == 0


@pytest.mark.slow
@SQLITE_ONLY  # only SQLite switches journals
def test_a_large_import_killed_in_the_rollback_journal_leaves_nothing(
    db_url: str, tmp_path: Path
) -> None:
    """Alone with the file, a large import writes through the rollback journal; killed,
    it leaves a journal that the next opener rolls back, and the file gets its WAL back."""
    build_team(db_url).close()
    _import_killed_midway(db_url, tmp_path, large=True)
    assert count(db_url, Customer) == count(db_url, Contact) == 0
    engine = make_engine(db_url)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    engine.dispose()
    assert not Path(db_url.removeprefix("sqlite:///") + "-journal").exists()


@SQLITE_ONLY  # PostgreSQL keeps its indexes during an import
@pytest.mark.usefixtures("large")
def test_partial_indexes_come_back_partial_after_a_large_import(
    db_url: str, team: Team, tmp_path: Path
) -> None:
    engine = make_engine(db_url)
    query = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'customers'"
    with engine.connect() as conn:
        before = dict(conn.execute(text(query)).all())
    team.zhang.import_file("customers", write_csv(tmp_path / "c.csv", ROWS))
    with engine.connect() as conn:
        after = dict(conn.execute(text(query)).all())
    engine.dispose()
    assert after == before
    assert "WHERE merged_into_id IS NOT NULL" in str(after["ix_customers_merged_into_id"])


@pytest.fixture
def large(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file counts as a large one."""
    monkeypatch.setattr(bulk, "BULK_ROWS", 1)


@pytest.mark.usefixtures("team")
def test_low_cardinality_columns_have_no_index_and_sparse_ones_partial(db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        names = {i["name"] for i in inspect(conn).get_indexes("customers")}
        contact_names = {i["name"] for i in inspect(conn).get_indexes("contacts")}
    engine.dispose()
    for column in ("grade", "status", "source", "region", "industry_section", "province"):
        assert f"ix_customers_{column}" not in names
    assert {"ix_customers_owner_id", "ix_customers_name", "ix_customers_merged_into_id"} <= names
    assert "ix_contacts_created_at" not in contact_names
    assert {"ix_contacts_email", "ix_contacts_phone"} <= contact_names


@SQLITE_ONLY  # a plan of SQLite's planner
def test_a_reps_customers_in_a_region_are_found_through_the_owner_index(team: Team) -> None:
    """SQLite without statistics took any equality index; with ix_customers_region it read
    a whole region to find one rep's customers."""
    engine = team.zhang.ctx.engine
    with engine.connect() as conn:
        plan = " ".join(
            str(row[-1])
            for row in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT id FROM customers WHERE owner_id IN (2, 3) "
                "AND region = '华东' AND status = 'active' AND merged_into_id IS NULL"
            )
        )
    assert "ix_customers_owner_id" in plan


@pytest.mark.parametrize(
    ("option", "setting", "expected"),
    [((), None, "pipelined"), ((), "serial", "serial"), (("--engine", "serial"), None, "serial")],
)
def test_crm_import_takes_the_engine_it_is_given(
    team: Team,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    option: tuple[str, ...],
    setting: str | None,
    expected: str,
) -> None:
    """``--engine``, else ``CRM_IMPORT_ENGINE``, else the default: the summary names it."""
    from click.testing import CliRunner

    from crmlib.cli import main

    if setting is None:
        monkeypatch.delenv(ENGINE_ENV, raising=False)
    else:
        monkeypatch.setenv(ENGINE_ENV, setting)
    path = write_csv(tmp_path / "c.csv", ROWS)
    output = tmp_path / "imports"
    monkeypatch.setenv("CRM_IMPORT_DIR", str(output))
    base = ["--url", team.url, "--lang", "en", "--user", "admin", "import", "customers"]
    done = CliRunner().invoke(main, [*base, *option, str(path)])
    assert "8 created" in done.output, done.output
    (summary,) = output.glob("*/summary.json")
    assert json.loads(summary.read_text(encoding="utf-8"))["engine"] == expected


def test_an_unknown_engine_is_a_clear_error(
    team: Team, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Named by argument or by setting, an engine that does not exist stops the import
    before anything is read, with the engines there are."""
    path = write_csv(tmp_path / "c.csv", ROWS)
    with pytest.raises(ValidationError) as refused:
        team.admin.import_file("customers", path, engine="forked")
    (error,) = refused.value.errors
    assert (error.field, error.value) == ("engine", "forked")
    assert "serial" in error.message and "pipelined" in error.message
    monkeypatch.setenv(ENGINE_ENV, "turbo")
    with pytest.raises(ValidationError, match="turbo"):
        team.admin.import_file("customers", path)
    assert count(team.url, ImportBatch) == 0


@given(
    st.lists(st.integers(0, 30), max_size=60).map(lambda keys: np.array(keys, dtype=np.uint64)),
    st.integers(1, 7),
)
def test_repeats_remember_the_first_row_of_every_identity(keys: np.ndarray, size: int) -> None:
    """Chunk by chunk, each identity's first row is the one a plain dict remembers."""
    repeats = checking._Repeats()
    first: dict[int, int] = {}
    rows = np.arange(2, len(keys) + 2, dtype=np.int64)
    for start in range(0, len(keys), size):
        found = repeats._first_rows(keys[start : start + size], rows[start : start + size])
        expected = [
            first.setdefault(int(key), int(row))
            for key, row in zip(keys[start : start + size], rows[start : start + size], strict=True)
        ]
        assert found.tolist() == expected
