"""Backups: create, list, prune, verify (also of damaged files) and restore, on both databases."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, insert, text

import crmlib
from crmlib import admin
from crmlib.errors import ConfigError, CRMError, DatabaseBusy, NotFound
from crmlib.store import backup
from crmlib.store.backup import (
    create_backup,
    last_backup,
    list_backups,
    restore_backup,
    verify_backup,
)
from crmlib.store.engine import make_engine
from crmlib.store.migrate import head_revision
from crmlib.store.models import Base

BASE = datetime(2024, 5, 1, 12, 0, 0)
ACME = {
    "name": "上海某某科技有限公司",
    "industry": "I65",
    "contact": "张三",
    "phone": "13812345678",
    "source": "website",
}


def populate(url: str) -> str:
    """An admin, a sales rep and one customer of hers; returns the customer's code."""
    with crmlib.open(url, user="admin") as ws:
        ws.users.add("zhang", role="sales", team="east")
    with crmlib.open(url, user="zhang") as zs:
        return zs.customers.add(**ACME).code


def add_customer(url: str, name: str = "北京某某贸易有限公司", phone: str = "13912345678") -> str:
    with crmlib.open(url, user="zhang") as zs:
        return zs.customers.add(**{**ACME, "name": name, "phone": phone}).code


def customer_codes(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT code FROM customers ORDER BY code")).scalars())


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """The backup functions are called outside a workspace; these tests read their
    messages in English."""
    monkeypatch.setenv("CRM_LANG", "en")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def backups(tmp_path: Path) -> Path:
    return tmp_path / "backups"


# ---------------------------------------------------------------- create, verify, list


def test_backup_verifies_and_its_manifest_describes_it(
    db_url: str, engine: Engine, backups: Path
) -> None:
    populate(db_url)
    info = create_backup(engine, backups, now=BASE)

    suffix = ".db" if engine.dialect.name == "sqlite" else ".dump"
    assert info.path == backups / f"crm-20240501-120000{suffix}"
    assert info.path.is_file() and info.size_bytes == info.path.stat().st_size
    assert not list(backups.glob("*.partial")) and not list(backups.glob("*-wal"))
    assert info.backend == engine.dialect.name
    assert info.created_at == BASE
    assert info.revision == head_revision()
    assert set(info.row_counts) == set(Base.metadata.tables)
    assert info.row_counts["users"] == 2
    assert info.row_counts["customers"] == 1
    assert info.row_counts["audit_events"] > 0

    manifest = json.loads(Path(f"{info.path}.json").read_text("utf-8"))
    assert manifest["backend"] == info.backend
    assert manifest["created_at"] == "2024-05-01T12:00:00"
    assert manifest["revision"] == head_revision()
    assert manifest["row_counts"] == info.row_counts
    assert manifest["sha256"] == info.sha256 and len(info.sha256) == 64

    report = verify_backup(info.path, against=engine)
    assert report.ok, report.problems
    assert report.problems == []
    assert report.row_counts == info.row_counts
    assert report.changes_since == {} and report.notes == []

    assert list_backups(backups) == [info]
    assert last_backup(backups) == info


def test_verify_reports_how_the_live_database_moved_on(
    db_url: str, engine: Engine, backups: Path
) -> None:
    populate(db_url)
    info = create_backup(engine, backups)
    add_customer(db_url)

    report = verify_backup(info.path, against=engine)
    assert report.ok, report.problems
    assert report.row_counts["customers"] == 1
    assert report.changes_since["customers"] == 1
    assert any("customers went from 1 to 2 rows (+1)" in note for note in report.notes)


def test_backup_taken_while_others_write_matches_its_manifest(
    db_url: str, engine: Engine, backups: Path
) -> None:
    populate(db_url)
    stop = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            with crmlib.open(db_url, user="zhang") as zs:
                for n in range(200):
                    if stop.is_set():
                        break
                    zs.customers.add(**{**ACME, "name": f"客户{n}", "phone": f"139{n:08d}"})
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        infos = [create_backup(engine, backups) for _ in range(3)]
    finally:
        stop.set()
        writer.join()
    assert not errors
    for info in infos:
        report = verify_backup(info.path, against=engine)
        assert report.ok, report.problems


def test_backups_in_the_same_second_get_their_own_names(engine: Engine, backups: Path) -> None:
    first = create_backup(engine, backups, now=BASE)
    second = create_backup(engine, backups, now=BASE)
    assert first.path != second.path
    assert re.fullmatch(r"crm-20240501-120000-2\.(db|dump)", second.path.name)
    assert {b.path for b in list_backups(backups)} == {first.path, second.path}


def test_an_aware_now_is_stored_as_business_time(
    engine: Engine, backups: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_TIMEZONE", "Asia/Shanghai")
    info = create_backup(engine, backups, now=datetime(2024, 5, 1, 4, tzinfo=ZoneInfo("UTC")))
    assert info.created_at == datetime(2024, 5, 1, 12)
    assert info.path.name.startswith("crm-20240501-120000")


# ---------------------------------------------------------------- retention


def test_retention_prunes_old_backups_but_keeps_recent_ones(engine: Engine, backups: Path) -> None:
    old = [create_backup(engine, backups, now=BASE - timedelta(days=d)) for d in (40, 35, 10)]
    backups.joinpath("notes.txt").write_text("not a backup")
    backups.joinpath("crm-by-hand.db").write_bytes(b"no manifest, not ours")

    newest = create_backup(engine, backups, now=BASE, retention_days=30)

    assert list_backups(backups) == [newest, old[2]]
    for gone in old[:2]:
        assert not gone.path.exists()
        assert not Path(f"{gone.path}.json").exists()
    assert backups.joinpath("notes.txt").exists()
    assert backups.joinpath("crm-by-hand.db").exists()


def test_retention_never_deletes_the_newest_backup(engine: Engine, backups: Path) -> None:
    for days in (3, 2, 1):
        create_backup(engine, backups, now=BASE - timedelta(days=days), retention_days=365)
    newest = create_backup(engine, backups, now=BASE, retention_days=0)
    assert list_backups(backups) == [newest]

    # A clock set back: the newest backup lies in the "future" and is kept, as is the new one.
    earlier = create_backup(engine, backups, now=BASE - timedelta(days=400), retention_days=0)
    assert list_backups(backups) == [newest, earlier]


def test_retention_days_must_not_be_negative(engine: Engine, backups: Path) -> None:
    with pytest.raises(CRMError, match="retention_days"):
        create_backup(engine, backups, retention_days=-1)


# ---------------------------------------------------------------- damaged backups


def flip_middle(path: Path) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    for i in range(middle, middle + 16):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def random_bytes(path: Path) -> None:
    path.write_bytes(os.urandom(path.stat().st_size))


def gzipped(path: Path) -> None:
    path.write_bytes(gzip.compress(path.read_bytes()))


DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "flipped": (flip_middle, "SHA-256 checksum"),
    "truncated": (truncate, ": truncated"),
    "random": (random_bytes, "is not a"),
    "wrong_format": (gzipped, "is not a"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_backup_fails_verification_and_is_never_restored(
    db_url: str, engine: Engine, backups: Path, damage: str
) -> None:
    populate(db_url)
    info = create_backup(engine, backups)
    second = add_customer(db_url)
    before = customer_codes(engine)
    corrupt, expected = DAMAGE[damage]
    corrupt(info.path)

    report = verify_backup(info.path, against=engine)
    assert not report.ok
    assert any(expected in problem for problem in report.problems), report.problems
    assert all(problem.strip() and "\n" not in problem for problem in report.problems)

    with pytest.raises(CRMError, match="failed verification"):
        restore_backup(info.path, engine)
    assert customer_codes(engine) == before
    assert second in before


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_backup_without_manifest_fails_cleanly(
    db_url: str, engine: Engine, backups: Path, damage: str
) -> None:
    populate(db_url)
    info = create_backup(engine, backups)
    Path(f"{info.path}.json").unlink()
    DAMAGE[damage][0](info.path)

    report = verify_backup(info.path, against=engine)
    assert not report.ok
    assert any("manifest" in problem and "missing" in problem for problem in report.problems)
    assert len(report.problems) >= 1


def test_sound_backup_without_manifest_is_not_trusted(
    db_url: str, engine: Engine, backups: Path
) -> None:
    populate(db_url)
    info = create_backup(engine, backups)
    Path(f"{info.path}.json").unlink()

    report = verify_backup(info.path, against=engine)
    assert not report.ok
    assert report.problems == [f"manifest {info.path}.json is missing"]
    assert report.row_counts["customers"] == 1  # it did restore and count
    assert list_backups(backups) == []


def test_row_counts_are_checked_against_the_manifest(
    db_url: str, engine: Engine, backups: Path
) -> None:
    populate(db_url)
    info = create_backup(engine, backups)
    manifest = Path(f"{info.path}.json")
    data = json.loads(manifest.read_text("utf-8"))
    data["row_counts"]["customers"] = 5
    manifest.write_text(json.dumps(data), "utf-8")

    report = verify_backup(info.path, against=engine)
    assert not report.ok
    assert report.problems == ["customers: 1 rows, its manifest says 5"]


def test_a_garbled_manifest_is_a_problem_not_a_crash(
    db_url: str, engine: Engine, backups: Path
) -> None:
    populate(db_url)
    info = create_backup(engine, backups)
    Path(f"{info.path}.json").write_text("{not json", "utf-8")

    report = verify_backup(info.path, against=engine)
    assert not report.ok
    assert "is unreadable" in report.problems[0]
    assert list_backups(backups) == []


# ---------------------------------------------------------------- restore


def test_restore_brings_back_deleted_data(db_url: str, engine: Engine, backups: Path) -> None:
    code = populate(db_url)
    info = create_backup(engine, backups)
    with crmlib.open(db_url, user="admin") as ws:
        ws.customers.delete(code)
        with pytest.raises(NotFound):
            ws.customers.get(code)

        # The workspace stays open across the restore, as a notebook's would.
        restore_backup(info.path, engine)

        assert ws.customers.get(code).name == ACME["name"]
    with crmlib.open(db_url, user="zhang") as zs:
        assert zs.customers.get(code).phone == "+8613812345678"
    assert verify_backup(info.path, against=engine).changes_since == {}
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"


def test_restore_undoes_later_additions(db_url: str, engine: Engine, backups: Path) -> None:
    code = populate(db_url)
    info = create_backup(engine, backups)
    add_customer(db_url)
    restore_backup(info.path, engine)
    assert customer_codes(engine) == [code]
    # The restored database goes on working: new codes, new rows.
    assert add_customer(db_url) != code
    assert len(customer_codes(engine)) == 2


# ---------------------------------------------------------------- errors a user can cause


def test_missing_backup_file_is_named(engine: Engine, tmp_path: Path) -> None:
    missing = tmp_path / "crm-20240101-000000.db"
    with pytest.raises(NotFound, match=re.escape(str(missing))):
        verify_backup(missing)
    with pytest.raises(NotFound, match=re.escape(str(missing))):
        restore_backup(missing, engine)


def test_unusable_backup_directory_is_named(engine: Engine, tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    with pytest.raises(ConfigError, match=re.escape(str(not_a_dir))):
        create_backup(engine, not_a_dir)
    with pytest.raises(ConfigError, match=re.escape(str(not_a_dir))):
        list_backups(not_a_dir)


def test_no_directory_no_backups(tmp_path: Path) -> None:
    assert list_backups(tmp_path / "none") == []
    assert last_backup(tmp_path / "none") is None


@pytest.mark.postgres
def test_missing_pg_dump_is_named(
    pg_url: str, backups: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(pg_url)
    try:
        monkeypatch.setenv("PATH", str(tmp_path))
        monkeypatch.setattr(backup, "PG_LIB", tmp_path / "no-postgresql")
        with pytest.raises(ConfigError, match="pg_dump not found"):
            create_backup(engine, backups)
        assert list_backups(backups) == []
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgresql_backup_needs_a_server_to_verify_on_and_a_postgresql_target(
    pg_url: str, sqlite_url: str, backups: Path
) -> None:
    populate(pg_url)
    engine, other = make_engine(pg_url), make_engine(sqlite_url)
    try:
        info = create_backup(engine, backups)
        with pytest.raises(ConfigError, match="needs a PostgreSQL server"):
            verify_backup(info.path)
        with pytest.raises(CRMError, match="cannot go into a sqlite database"):
            restore_backup(info.path, other)
    finally:
        engine.dispose()
        other.dispose()


def reseal(info_path: Path, table: str, delta: int) -> None:
    """Rewrite a backup's manifest to match the file after a deliberate edit."""
    manifest = Path(f"{info_path}.json")
    data = json.loads(manifest.read_text("utf-8"))
    data["size_bytes"] = info_path.stat().st_size
    data["sha256"] = hashlib.sha256(info_path.read_bytes()).hexdigest()
    data["row_counts"][table] += delta
    manifest.write_text(json.dumps(data), "utf-8")


def test_sqlite_foreign_key_damage_is_found(sqlite_url: str, backups: Path) -> None:
    populate(sqlite_url)
    engine = make_engine(sqlite_url)
    try:
        info = create_backup(engine, backups)
    finally:
        engine.dispose()
    with closing(sqlite3.connect(info.path)) as conn:  # foreign keys are off by default
        conn.execute(
            "INSERT INTO contacts (customer_id, name, is_primary, created_at, updated_at)"
            " VALUES (999, 'orphan', 0, '2024-05-01', '2024-05-01')"
        )
        conn.commit()
    reseal(info.path, "contacts", +1)

    report = verify_backup(info.path)
    assert not report.ok
    assert report.problems == [
        "foreign key check: 1 row(s) of contacts refer to missing customers rows"
    ]


def test_sqlite_verify_works_in_the_given_scratch_dir_and_leaves_it_clean(
    sqlite_url: str, backups: Path, tmp_path: Path
) -> None:
    populate(sqlite_url)
    engine = make_engine(sqlite_url)
    try:
        info = create_backup(engine, backups)
    finally:
        engine.dispose()
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    before = info.path.read_bytes()
    assert verify_backup(info.path, scratch_dir=scratch).ok
    assert list(scratch.iterdir()) == []
    assert info.path.read_bytes() == before  # verification never writes the backup itself
    with pytest.raises(ConfigError, match="scratch directory"):
        verify_backup(info.path, scratch_dir=tmp_path / "missing")


# ---------------------------------------------------------------- killed writers, two at once


def crm_process(url: str, *args: str) -> subprocess.Popen[str]:
    """``crm`` as administrator in its own process (group), to be killed or waited for."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env.update(CRM_DATABASE_URL=url, CRM_USER="admin", CRM_LANG="en")
    return subprocess.Popen(
        [sys.executable, "-m", "crmlib", *args],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def wait_for(condition: Callable[[], bool], process: subprocess.Popen[str]) -> None:
    """Poll ``condition`` as fast as the machine allows until it holds."""
    deadline = time.monotonic() + 120
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"crm ended ({process.returncode}) first: {process.communicate()}")
        if time.monotonic() > deadline:
            pytest.fail("timed out")
        time.sleep(0.0005)


def partials(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if ".partial" in p.name] if folder.exists() else []


def assert_only_complete_backups(folder: Path, engine: Engine) -> list[Path]:
    """Every backup file has its manifest and verifies; nothing else crmlib wrote remains."""
    names = sorted(p.name for p in folder.iterdir() if p.name != backup.LOCK_NAME)
    listed = list_backups(folder)
    assert names == sorted(n for b in listed for n in (b.path.name, f"{b.path.name}.json"))
    for info in listed:
        report = verify_backup(info.path, against=engine)
        assert report.ok, report.problems
    return [b.path for b in listed]


@pytest.fixture
def big_sqlite(sqlite_url: str) -> Iterator[Engine]:
    """A database of some 25 MB (long audit values), so a backup of it takes a while."""
    populate(sqlite_url)
    engine = make_engine(sqlite_url)
    filler = [
        {
            "occurred_at": BASE,
            "actor": "admin",
            "action": "note",
            "entity": "customers",
            "new_value": f"{n:06d}" + "x" * 8000,
        }
        for n in range(3000)
    ]
    with engine.begin() as conn:
        conn.execute(insert(Base.metadata.tables["audit_events"]), filler)
    yield engine
    engine.dispose()


@pytest.mark.slow
def test_a_restore_killed_mid_way_is_cleaned_up_by_the_next_backup(
    sqlite_url: str, big_sqlite: Engine, backups: Path
) -> None:
    source = create_backup(big_sqlite, backups)
    before = customer_codes(big_sqlite)
    add_customer(sqlite_url)
    restoring = crm_process(sqlite_url, "restore", str(source.path), "--yes", "--dir", str(backups))
    try:
        wait_for(lambda: bool(partials(backups)), restoring)  # writing its safety backup
    finally:
        os.killpg(restoring.pid, signal.SIGKILL)
        restoring.communicate()
    assert restoring.returncode == -signal.SIGKILL
    assert partials(backups), "killed too late to leave a partial backup"
    with big_sqlite.connect() as conn:  # the live database is untouched
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    assert len(customer_codes(big_sqlite)) == len(before) + 1

    made = admin.backup(big_sqlite, backups, user="admin")

    assert partials(backups) == []
    assert assert_only_complete_backups(backups, big_sqlite) == [made.path, source.path]


def test_a_manifest_without_its_file_is_a_leftover(engine: Engine, backups: Path) -> None:
    """A writer killed between publishing the manifest and renaming the file into place."""
    torn = create_backup(engine, backups, now=BASE)
    torn.path.rename(f"{torn.path}.partial")
    assert list_backups(backups) == []
    made = create_backup(engine, backups)
    assert sorted(p.name for p in backups.iterdir()) == sorted(
        [backup.LOCK_NAME, made.path.name, f"{made.path.name}.json"]
    )


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    yield engine
    engine.dispose()


@pytest.mark.slow
def test_two_restores_into_one_folder_take_turns(
    sqlite_url: str, sqlite_engine: Engine, backups: Path
) -> None:
    engine = sqlite_engine
    populate(sqlite_url)
    source = create_backup(engine, backups)
    add_customer(sqlite_url)
    # Hold the database's write lock: the first restore, its safety backup written, waits
    # to replace the contents, holding the backup folder meanwhile.
    holder = sqlite3.connect(engine.url.database or "", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    first = crm_process(sqlite_url, "restore", str(source.path), "--yes", "--dir", str(backups))
    second = None
    try:
        wait_for(lambda: len(list_backups(backups)) == 2, first)
        with pytest.raises(DatabaseBusy) as busy:
            admin.restore(engine, source.path, backups, user="admin", wait=0)
        message = str(busy.value)
        assert message.startswith(f"backup folder {backups} is in use by another backup or restore")
        assert f"process {first.pid}, restore since " in message
        second = crm_process(
            sqlite_url, "restore", str(source.path), "--yes", "--dir", str(backups)
        )
        time.sleep(1.5)  # started, and waiting for the folder
        assert second.poll() is None
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    outputs = [first.communicate(timeout=120), second.communicate(timeout=120)]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    safeties = [out.split("previous contents saved in ")[1].split(")")[0] for out, _ in outputs]
    assert len(set(safeties)) == 2
    complete = assert_only_complete_backups(backups, engine)
    assert {str(p) for p in complete} == {str(source.path), *safeties}
    assert customer_codes(engine) == customer_codes(engine)[:1]
    with engine.connect() as conn:
        restores = (
            conn.execute(
                text("SELECT new_value FROM audit_events WHERE action = 'restore' ORDER BY id")
            )
            .scalars()
            .all()
        )
    assert [json.loads(v)["safety"] for v in restores] == safeties
