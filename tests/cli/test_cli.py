"""The ``crm`` command as a user runs it, on real databases.

Most tests run the command tree in this process through click's test runner, with the
environment a user's shell would give it: the same options, messages and exit codes, and a
traceback, if one escapes, in ``stderr`` as a process would print it, without starting a new
Python for each command (about 1.5 s each). One test runs ``python -m crmlib`` as a real
process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

import crmlib
from crmlib.store import head_revision, make_engine
from crmlib.store.models import AuditEvent
from tests.commands import crm, crm_environment
from tests.factories import company


@pytest.mark.slow
def test_the_crm_command_runs_as_a_process(sqlite_url: str) -> None:
    """The installed entry point: ``python -m crmlib`` in a process of its own."""
    env = {k: v for k, v in crm_environment(sqlite_url, "admin").items() if v is not None}
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("CRM_")}, **env}
    done = subprocess.run(
        [sys.executable, "-m", "crmlib", "init"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert f"schema new → {head_revision()}" in done.stdout
    failed = subprocess.run(
        [sys.executable, "-m", "crmlib", "users", "deactivate", "nobody"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert failed.returncode == 1
    assert failed.stderr.startswith("error: ") and "Traceback" not in failed.stderr


def test_init_creates_schema_and_first_admin_then_is_idempotent(empty_db_url: str) -> None:
    first = crm("init", url=empty_db_url)
    assert first.returncode == 0, first.stderr
    assert f"schema new → {head_revision()}" in first.stdout
    assert "created administrator 'admin'" in first.stdout
    again = crm("init", url=empty_db_url)
    assert again.returncode == 0
    assert f"schema up to date (revision {head_revision()})" in again.stdout


def test_users_and_audit_commands(db_url: str) -> None:
    assert crm("init", url=db_url).returncode == 0
    added = crm("users", "add", "zhang", "--role", "sales", "--team", "east", url=db_url)
    assert added.stdout.strip() == "added zhang (Sales, East China team)"
    listing = crm("users", "list", url=db_url).stdout
    assert "zhang" in listing and "Sales" in listing and "East China team" in listing
    with crmlib.open(db_url, user="zhang") as ws:
        code = ws.customers.add(**company(city="上海")).code
        ws.customers.update(code, city="苏州")
    audit = crm("audit", code, url=db_url)
    assert audit.returncode == 0
    assert audit.stdout.splitlines()[0].endswith(f"zhang changed City of {code} from 上海 to 苏州")
    refused = crm("users", "deactivate", "zhang", url=db_url)
    assert refused.returncode == 1 and "still owns 1 customers" in refused.stderr
    assert crm("users", "add", "li", "--role", "sales", url=db_url).returncode == 0
    moved = crm("users", "deactivate", "zhang", "--reassign-to", "li", url=db_url)
    assert moved.stdout.strip() == "deactivated zhang; 1 customers now owned by li"


def test_users_role_changes_role_and_team_and_is_audited(db_url: str) -> None:
    assert crm("init", url=db_url).returncode == 0
    assert (
        crm("users", "add", "zhang", "--role", "sales", "--team", "east", url=db_url).returncode
        == 0
    )
    changed = crm("users", "role", "zhang", "manager", "--team", "north", url=db_url)
    assert changed.stdout.strip() == "zhang is now Manager (North China team)", changed
    with crmlib.open(db_url, user="admin") as ws:
        user = ws.users.get("zhang")
        assert (user.role, user.team) == ("manager", "north")
    engine = make_engine(db_url)
    with engine.connect() as conn:
        changes = conn.execute(
            select(AuditEvent.field, AuditEvent.old_value, AuditEvent.new_value).where(
                AuditEvent.entity == "users", AuditEvent.action == "update"
            )
        ).all()
    engine.dispose()
    assert {(c.field, c.old_value, c.new_value) for c in changes} >= {
        ("role", "sales", "manager"),
        ("team", "east", "north"),
    }
    assert crm("users", "add", "wang", "--role", "sales", url=db_url).returncode == 0
    refused = crm("users", "role", "zhang", "admin", url=db_url, user="wang")
    assert refused.returncode == 1 and "zhang" not in refused.stdout
    with crmlib.open(db_url, user="admin") as ws:
        assert ws.users.get("zhang").role == "manager"
    too_long = crm("users", "role", "zhang", "sales", "--team", "x" * 65, url=db_url)
    assert too_long.returncode == 1 and "team" in too_long.stderr, too_long
    last_admin = crm("users", "role", "admin", "sales", url=db_url)
    assert last_admin.returncode == 1 and "only active administrator" in last_admin.stderr
    assert crm("users", "role", "zhang", "admin", url=db_url).returncode == 0
    assert crm("users", "role", "admin", "analyst", url=db_url).returncode == 0
    with crmlib.open(db_url, user="zhang") as ws:
        user = ws.users.get("zhang")
        assert (user.role, user.team) == ("admin", "north")
        assert ws.users.get("admin").role == "analyst"


def test_status_lists_counts(sqlite_url: str) -> None:
    assert crm("init", url=sqlite_url).returncode == 0
    out = crm("status", url=sqlite_url, user=None)
    assert out.returncode == 0, out.stderr
    assert f"schema    {head_revision()}" in out.stdout
    assert any(line.split() == ["users", "1"] for line in out.stdout.splitlines())
    assert "backup    never" in out.stdout


@pytest.mark.parametrize(
    ("args", "url", "user", "message"),
    [
        (("status",), "nosuchdb://x", None, "backend 'nosuchdb' is not supported"),
        (("status",), "postgresql://crm@127.0.0.1:1/crm", None, "cannot reach database"),
        (("users", "list"), None, "ghost", "unknown user 'ghost'"),
        (("users", "list"), None, None, "no user given"),
        (("restore", "/nonexistent/backup.db", "--yes"), None, "admin", "/nonexistent/backup.db"),
        (("audit", "C19990101001"), None, "admin", "customer C19990101001 does not exist"),
        (("users", "add", "x", "--role", "wizard"), None, "admin", "Invalid value for '--role'"),
    ],
)
def test_expected_errors_are_one_clear_line(
    sqlite_url: str, args: tuple[str, ...], url: str | None, user: str | None, message: str
) -> None:
    assert crm("init", url=sqlite_url).returncode == 0
    result = crm(*args, url=url or sqlite_url, user=user)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.startswith("error")]) <= 1


def test_backup_verify_and_restore_round_trip(db_url: str, tmp_path: Path) -> None:
    backups = tmp_path / "backups"
    assert crm("init", url=db_url).returncode == 0
    with crmlib.open(db_url, user="admin") as ws:
        code = ws.customers.add(**company()).code
    made = crm("backup", "--dir", str(backups), url=db_url)
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("backup written: ")
    verified = crm("backup", "--dir", str(backups), "verify", url=db_url)
    assert verified.returncode == 0, verified.stderr
    assert "verified" in verified.stdout and "integrity ok" in verified.stdout
    (backup_file,) = [p for p in backups.iterdir() if p.suffix in (".db", ".dump")]
    with crmlib.open(db_url, user="admin") as ws:
        ws.customers.delete(code)
    restored = crm("restore", str(backup_file), "--yes", "--dir", str(backups), url=db_url)
    assert restored.returncode == 0, restored.stderr
    assert "previous contents saved in" in restored.stdout
    with crmlib.open(db_url, user="admin") as ws:
        assert ws.customers.get(code).code == code


def test_backup_verify_fails_loudly_on_a_corrupted_file(sqlite_url: str, tmp_path: Path) -> None:
    backups = tmp_path / "backups"
    assert crm("init", url=sqlite_url).returncode == 0
    assert crm("backup", "--dir", str(backups), url=sqlite_url).returncode == 0
    backup_file = next(p for p in backups.iterdir() if p.suffix == ".db")
    data = bytearray(backup_file.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(b ^ 0xFF for b in data[middle : middle + 64])
    backup_file.write_bytes(bytes(data))
    result = crm("backup", "--dir", str(backups), "verify", str(backup_file), url=sqlite_url)
    assert result.returncode == 1
    assert "FAILED verification" in result.stderr
    assert "problem:" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("today", "start"),
    [("2026-11-22", "2024-11-01"), ("2026-01-05", "2024-01-01"), ("2026-12-31", "2024-12-01")],
)
def test_demo_covers_the_24_whole_months_before_this_one(today: str, start: str) -> None:
    from datetime import date

    from crmlib.admin import demo_start

    assert demo_start(date.fromisoformat(today)) == date.fromisoformat(start)


def test_demo_command_is_repeatable_with_a_fixed_start(sqlite_url: str) -> None:
    arguments = ("demo", "--fresh", "--customers", "200", "--start", "2024-01-01", "--yes")
    outputs = [crm(*arguments, url=sqlite_url) for _ in range(2)]
    assert [o.returncode for o in outputs] == [0, 0], outputs[0].stderr
    first, again = outputs[0].stdout.splitlines(), outputs[1].stdout.splitlines()
    assert first == again[:1]
    assert "(200 customers)" in first[0]
    assert again[1].startswith("previous contents saved in ")  # the first demo, backed up


def test_dedupe_scan_writes_pairs_with_their_clusters(sqlite_url: str, tmp_path: Path) -> None:
    assert crm("init", url=sqlite_url).returncode == 0
    with crmlib.open(sqlite_url, user="admin") as ws:
        first = ws.customers.add(**company(name="杭州星辰科技有限公司", phone="13812340001")).code
        second = ws.customers.add(
            **company(name="杭州星辰科技股份有限公司", phone="13812340001")
        ).code
        ws.customers.add(**company(name="成都蜀道贸易有限公司", province="四川"))
    output = tmp_path / "pairs.csv"
    result = crm("dedupe", "scan", "-o", str(output), url=sqlite_url)
    assert result.returncode == 0, result.stderr
    assert "1 candidate pairs in 1 clusters" in result.stdout
    pairs = pd.read_csv(output, encoding="utf-8-sig", dtype=str)
    assert (pairs.loc[0, "code_a"], pairs.loc[0, "code_b"]) == tuple(sorted((first, second)))
    assert (pairs.loc[0, "cluster"], pairs.loc[0, "size"]) == ("1", "2")


def test_dedupe_merges_lists_what_unmerge_takes(sqlite_url: str) -> None:
    assert crm("init", url=sqlite_url).returncode == 0
    assert crm("dedupe", "merges", url=sqlite_url).stdout.strip() == "no merges yet"
    with crmlib.open(sqlite_url, user="admin") as ws:
        first = ws.customers.add(**company(name="杭州星辰科技有限公司", phone="13812340001")).code
        second = ws.customers.add(**company(name="杭州星辰科技股份有限公司")).code
    merged = crm("dedupe", "merge", first, second, url=sqlite_url)
    assert merged.returncode == 0, merged.stderr
    listed = crm("dedupe", "merges", url=sqlite_url)
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.strip().splitlines()
    assert header.split()[:6] == ["Merge", "#", "Merged", "at", "By", "Survivor"]
    number, _day, _time, actor, survivor, other, *_, undoable = row.split()
    assert (number, actor, survivor, other, undoable) == (
        "1",
        "Administrator",
        first,
        second,
        "yes",
    )
    assert crm("dedupe", "unmerge", "1", url=sqlite_url).returncode == 0
    assert crm("dedupe", "merges", url=sqlite_url).stdout.strip().splitlines()[1].endswith("no")
