"""What made the million-row import faster keeps every guarantee: chunks validated ahead
by a helper process, the slimmer set of customer indexes (migration 0005), on both
databases."""

from __future__ import annotations

import os
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

from crmlib.i18n import t
from crmlib.quality import bulk, importing
from crmlib.quality.importing import import_file
from crmlib.store.engine import make_engine
from crmlib.store.models import Contact, Customer, ImportBatch
from tests.factories import Team, build_team
from tests.test_import import BAD, GOOD, count, write_csv

#: Eleven rows: good ones, a broken phone, a missing industry, a repeat of the first row.
MORE = [
    [f"ERP-{n}", f"公司{n}", "企业", "C", "北京", "张三", f"1390000{n:04d}", "", "展会", ""]
    for n in range(10, 15)
]
ROWS = [*GOOD, *BAD, *MORE, GOOD[0]]
#: Behaviour only SQLite has: the database fixture gives these tests a SQLite file alone.
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def helper(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file is checked by the helper process, as a large one is."""
    monkeypatch.setattr(importing, "HELPER_ROWS", 1)


def _children(pid: int) -> set[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return {int(child) for child in path.read_text().split()} if path.exists() else set()


def _started_since(before: set[int]) -> set[int]:
    """This process's children that were not there before: the import's helper (a test
    run has children of its own, such as multiprocessing's resource tracker)."""
    return _children(os.getpid()) - before


@pytest.mark.usefixtures("helper")
def test_chunks_checked_ahead_keep_every_row_and_the_language(
    db_url: str, team: Team, tmp_path: Path
) -> None:
    """Rows validated by the helper, two at a time, give the same outcome as in one go:
    every row imported or rejected, reasons in the workspace's language (English)."""
    path = write_csv(tmp_path / "c.csv", ROWS)
    before = _children(os.getpid())
    helpers: set[int] = set()
    result = import_file(
        team.zhang.ctx,
        "customers",
        path,
        chunk_rows=2,
        progress=lambda done, total: helpers.update(_started_since(before)),
    )
    assert bool(helpers) is db_url.startswith("sqlite")  # checked by a helper on SQLite
    assert (result.rows, result.created, result.rejected) == (11, 8, 3)
    assert result.ok + result.rejected == result.rows
    rejects = pd.read_csv(result.rejects_path, encoding="utf-8-sig", dtype=str)
    reasons = dict(zip(rejects["row_number"].astype(int), rejects["reasons"], strict=True))
    assert t("phone_format", "en") in reasons[5] and "[phone_format]" in reasons[5]
    assert t("required", "en") in reasons[6]
    assert reasons[12] == t("repeated_row", "en", row=2)
    assert count(db_url, Customer) == 8
    assert not _started_since(before)  # the helper ended with the import


@pytest.mark.usefixtures("helper")
def test_a_strict_import_checked_ahead_saves_nothing(
    db_url: str, team: Team, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "c.csv", ROWS)
    result = import_file(team.zhang.ctx, "customers", path, strict=True, chunk_rows=3)
    assert (result.committed, result.rejected) == (False, 3)
    assert count(db_url, Customer) == count(db_url, Contact) == 0
    assert count(db_url, ImportBatch) == 1  # the attempt is on record


@pytest.mark.usefixtures("helper")
def test_no_helper_is_forked_beside_other_threads(team: Team) -> None:
    """A notebook kernel runs threads; a fork there could copy a lock held by one of them."""
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        with team.zhang.ctx.engine.connect() as conn:
            assert not importing.helper_pays(conn, 10**9)
    finally:
        stop.set()
        other.join()


@pytest.mark.usefixtures("helper")
def test_a_broken_file_stops_the_helper(db_url: str, team: Team, tmp_path: Path) -> None:
    """A problem the helper finds (here a malformed line far down the file) ends the import
    with nothing saved, and the helper with it."""
    path = write_csv(tmp_path / "c.csv", ROWS)
    with path.open("a", encoding="utf-8") as handle:
        handle.write('ERP-99,"unclosed quote\n')
    before = _children(os.getpid())
    with pytest.raises(Exception, match=r"c\.csv"):
        import_file(team.zhang.ctx, "customers", path, chunk_rows=2)
    assert count(db_url, Customer) == 0
    assert not _started_since(before)


KILLED = """
    import os, sys, time
    import crmlib
    from crmlib.quality import bulk, importing
    importing.HELPER_ROWS = 1
    url, path, marker, large = sys.argv[1:]
    bulk.BULK_ROWS = 1 if large == "large" else bulk.BULK_ROWS
    def stall(done, total):
        if done >= 4:  # two chunks written, inside the import's transaction
            open(marker, "w").write("written")
            time.sleep(120)
    ws = crmlib.open(url, user="admin")
    importing.import_file(ws.ctx, "customers", path, chunk_rows=2, progress=stall)
"""


def _import_killed_midway(db_url: str, tmp_path: Path, large: bool) -> set[int]:
    """Start an import in another process, kill it once two chunks are written inside its
    transaction, and return the pids of its helpers."""
    # Enough rows that the helper is still at work (the pipe holds no more) when killed.
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
    helpers = _children(importer.pid)
    journal = Path(db_url.removeprefix("sqlite:///") + "-journal")
    assert journal.exists() is (large and db_url.startswith("sqlite")), "rollback journal"
    importer.send_signal(signal.SIGKILL)
    importer.wait()
    return helpers


@pytest.mark.usefixtures("team")
def test_an_import_killed_midway_leaves_nothing_and_no_helper(db_url: str, tmp_path: Path) -> None:
    helpers = _import_killed_midway(db_url, tmp_path, large=False)
    assert bool(helpers) is db_url.startswith("sqlite"), "a helper checks files for SQLite"
    deadline = time.monotonic() + 15
    while any(Path(f"/proc/{pid}").exists() for pid in helpers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(Path(f"/proc/{pid}/status").exists() for pid in helpers)
    assert count(db_url, Customer) == count(db_url, Contact) == 0


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


@pytest.mark.usefixtures("helper")
def test_crm_import_checks_a_large_file_in_a_helper(
    team: Team, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`crm import` runs a single thread (its progress bar starts no monitor thread), so a
    large file into SQLite gets its helper."""
    from click.testing import CliRunner

    from crmlib.cli import main

    decided: list[bool] = []
    pays = importing.helper_pays
    monkeypatch.setattr(
        importing, "helper_pays", lambda conn, rows: decided.append(pays(conn, rows)) or decided[-1]
    )
    path = write_csv(tmp_path / "c.csv", ROWS)
    base = ["--url", team.url, "--lang", "en", "--user", "admin", "import", "customers"]
    done = CliRunner().invoke(main, [*base, str(path)])
    assert "8 created" in done.output, done.output
    assert decided == [team.url.startswith("sqlite")]


@SQLITE_ONLY  # only SQLite imports have a helper
@pytest.mark.usefixtures("helper")
def test_a_helper_killed_midway_fails_the_import_and_saves_nothing(
    db_url: str, team: Team, tmp_path: Path
) -> None:
    many = [
        [f"ERP-{n}", f"公司{n}", "企业", "C", "北京", "张三", "", "", "展会", ""]
        for n in range(3000)
    ]
    path = write_csv(tmp_path / "c.csv", many)
    before = _children(os.getpid())

    def kill_helper(done: int, total: int | None) -> None:
        for child in _started_since(before):
            os.kill(child, signal.SIGKILL)

    with pytest.raises(RuntimeError, match="stopped unexpectedly"):
        import_file(team.zhang.ctx, "customers", path, chunk_rows=2, progress=kill_helper)
    assert count(db_url, Customer) == count(db_url, Contact) == 0


@given(
    st.lists(st.integers(0, 30), max_size=60).map(lambda keys: np.array(keys, dtype=np.uint64)),
    st.integers(1, 7),
)
def test_repeats_remember_the_first_row_of_every_identity(keys: np.ndarray, size: int) -> None:
    """Chunk by chunk, each identity's first row is the one a plain dict remembers."""
    repeats = importing._Repeats()
    first: dict[int, int] = {}
    rows = np.arange(2, len(keys) + 2, dtype=np.int64)
    for start in range(0, len(keys), size):
        found = repeats._first_rows(keys[start : start + size], rows[start : start + size])
        expected = [
            first.setdefault(int(key), int(row))
            for key, row in zip(keys[start : start + size], rows[start : start + size], strict=True)
        ]
        assert found.tolist() == expected
