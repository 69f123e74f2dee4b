"""Backups, restores, resetting the database and upgrading its schema are for administrators:
everyone else (a sales rep, a manager, an unknown user, no user at all) is refused through
the Python API, the workspace and the ``crm`` command alike, and every operation an
administrator runs leaves an audit event; a restore keeps the audit events of the work it
rolls back. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, insert, select, text

import crmlib
from crmlib import admin
from crmlib.cli import main
from crmlib.errors import AccessDenied
from crmlib.i18n import speaking
from crmlib.store.backup import create_backup, list_backups, verify_backup
from crmlib.store.engine import make_engine
from crmlib.store.migrate import current_revision, head_revision, upgrade
from crmlib.store.models import AuditEvent, User
from tests.factories import Team, build_team, company

#: Everyone who must be refused: a rep, a manager, a name that is no user, and nobody.
REFUSED: dict[str, tuple[str | None, str]] = {
    "sales": ("zhang", "user 'zhang' (role sales) may not"),
    "manager": ("wang", "user 'wang' (role manager) may not"),
    "unknown": ("ghost", "user 'ghost' (no role: not a user of this database) may not"),
    "nobody": (None, "no user given (so no role) may not"),
}


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """The admin functions are called outside a workspace; they speak English here."""
    monkeypatch.setenv("CRM_LANG", "en")


def cli(url: str, user: str | None, *args: str, given: str | None = None) -> Result:
    """``crm`` in this process, in English, as ``user``."""
    command = ["--url", url, "--lang", "en", *(["--user", user] if user else []), *args]
    return CliRunner().invoke(main, command, input=given)


def events(engine: Engine) -> list[dict[str, Any]]:
    """Every audit event, oldest first, without its id."""
    with engine.connect() as conn:
        rows = conn.execute(select(AuditEvent).order_by(AuditEvent.id)).mappings().all()
    return [{k: v for k, v in row.items() if k != "id"} for row in rows]


def operation_events(engine: Engine) -> list[dict[str, Any]]:
    return [e for e in events(engine) if e["entity"] == "workspace"]


def event_key(event: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(sorted((k, str(v)) for k, v in event.items()))


def counts(engine: Engine) -> dict[str, int]:
    return {table: n for table, n in admin.row_counts(engine).items() if n}


# ---------------------------------------------------------------- who is refused


@dataclass
class Shared:
    """One database per backend for the refusals, which must change nothing."""

    url: str
    engine: Engine
    team: Team
    folder: Path
    backup: Path


@pytest.fixture(scope="module")
def shared(module_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    team = build_team(module_db_url)
    team.zhang.customers.add(**company())
    folder = tmp_path_factory.mktemp("refused") / "backups"
    engine = make_engine(module_db_url)
    made = create_backup(engine, folder)  # the storage layer, as a file to restore from
    yield Shared(module_db_url, engine, team, folder, made.path)
    engine.dispose()
    team.close()


OPERATIONS: dict[str, tuple[str, Callable[[Shared, str | None], object]]] = {
    "backup": (
        "back up the database",
        lambda s, who: admin.backup(s.engine, s.folder, user=who),
    ),
    "restore": (
        "restore a backup",
        lambda s, who: admin.restore(s.engine, s.backup, s.folder, user=who),
    ),
    "demo --fresh": (
        "empty a database that has data",
        lambda s, who: admin.build_demo(
            s.engine, customers=5, seed=1, fresh=True, user=who, directory=s.folder
        ),
    ),
}


@pytest.mark.parametrize("who", list(REFUSED))
@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_only_administrators_may_run_privileged_operations(
    shared: Shared, operation: str, who: str
) -> None:
    user, refusal = REFUSED[who]
    action, run = OPERATIONS[operation]
    before, files = counts(shared.engine), sorted(shared.folder.iterdir())
    with pytest.raises(AccessDenied) as refused:
        run(shared, user)
    assert str(refused.value).startswith(f"{refusal} {action}")
    assert counts(shared.engine) == before
    assert sorted(shared.folder.iterdir()) == files


@pytest.mark.parametrize("operation", ["backup", "restore", "operations"])
def test_a_workspace_obeys_the_same_permissions(shared: Shared, operation: str) -> None:
    for ws in (shared.team.zhang, shared.team.wang, shared.team.ana, shared.team.sun):
        with pytest.raises(AccessDenied, match=f"user '{ws.user.username}' \\(role "):
            if operation == "backup":
                ws.backup(shared.folder)
            elif operation == "restore":
                ws.restore(shared.backup, directory=shared.folder)
            else:
                ws.operations()
    with pytest.raises(AccessDenied, match="may not add users"):
        shared.team.zhang.users.add("intruder", role="admin")


def test_refusals_speak_chinese(shared: Shared) -> None:
    with speaking("zh"), pytest.raises(AccessDenied) as refused:
        admin.backup(shared.engine, shared.folder, user="zhang")
    assert str(refused.value).startswith("用户 'zhang'（角色 sales）无权执行此操作：备份数据库")
    with speaking("zh"), pytest.raises(AccessDenied) as nobody:
        admin.restore(shared.engine, shared.backup, shared.folder)
    assert str(nobody.value).startswith("未指定用户（因此没有角色），无权执行此操作：恢复备份")


CLI_REFUSALS = [
    (("backup",), "zhang", "user 'zhang' (role sales) may not back up"),
    (("backup",), None, "no user given (so no role) may not back up"),
    (("restore", "{backup}", "--yes"), "ghost", "user 'ghost' (no role"),
    (("restore", "{backup}"), "zhang", "user 'zhang' (role sales) may not restore"),
    (("demo", "--fresh", "--customers", "5"), "wang", "user 'wang' (role manager) may not empty"),
    (("demo", "--fresh", "--customers", "5", "--yes"), None, "no user given"),
    (("users", "add", "x", "--role", "admin"), "zhang", "user 'zhang' (role sales) may not add"),
    (("audit", "--operations"), "zhang", "user 'zhang' (role sales) may not read the log"),
]


@pytest.mark.parametrize(("args", "user", "message"), CLI_REFUSALS)
def test_the_command_line_refuses_before_it_asks(
    shared: Shared, args: tuple[str, ...], user: str | None, message: str
) -> None:
    before, files = counts(shared.engine), sorted(shared.folder.iterdir())
    arguments = [a.format(backup=shared.backup) for a in args]
    result = (
        cli(shared.url, user, *arguments, "--dir", str(shared.folder))
        if args[0] in ("backup", "restore", "demo")
        else cli(shared.url, user, *arguments)
    )
    assert result.exit_code == 1, result.output
    assert f"error: {message}" in result.stderr
    assert "[y/N]" not in result.output  # refused before being asked to confirm
    assert counts(shared.engine) == before
    assert sorted(shared.folder.iterdir()) == files


# ---------------------------------------------------------------- init on a database in use


def test_upgrading_a_database_with_users_needs_an_administrator(empty_db_url: str) -> None:
    db_url = empty_db_url
    engine = make_engine(db_url)
    try:
        upgrade(engine, "0005")
        with engine.begin() as conn:
            conn.execute(
                insert(User),
                [
                    {"username": "admin", "display_name": "", "role": "admin", "active": True},
                    {"username": "zhang", "display_name": "", "role": "sales", "active": True},
                ],
            )
        for user, refusal in (REFUSED["sales"], REFUSED["unknown"], REFUSED["nobody"]):
            with pytest.raises(AccessDenied, match=refusal.replace("(", r"\(").replace(")", r"\)")):
                admin.init_database(engine, user=user)
        refused = cli(db_url, "zhang", "init")
        assert refused.exit_code == 1
        assert "may not upgrade the schema of a database that has users" in refused.stderr
        assert current_revision(engine) == "0005"

        assert admin.init_database(engine, user="admin") == ("0005", head_revision(), None)
        (event,) = operation_events(engine)
        assert (event["actor"], event["action"]) == ("admin", "upgrade")
        assert (event["old_value"], event["new_value"]) == ("0005", head_revision())
        # Once current, `crm init` changes nothing and anyone may check that.
        again = cli(db_url, None, "init")
        assert again.exit_code == 0, again.output
        assert "schema up to date" in again.stdout
    finally:
        engine.dispose()


def test_a_new_database_needs_no_user(empty_db_url: str) -> None:
    db_url = empty_db_url
    made = cli(db_url, None, "init")
    assert made.exit_code == 0, made.output
    assert "schema new" in made.stdout and "created administrator 'admin'" in made.stdout
    # Nothing but the first admin: a fresh demo loses nothing and needs no one.
    engine = make_engine(db_url)
    try:
        assert admin.data_at_stake(engine) == {}
        result = admin.build_demo(engine, customers=5, seed=1, fresh=True)
        assert result.safety is None and result.counts["customers"] == 5
    finally:
        engine.dispose()


# ---------------------------------------------------------------- what administrators do


def test_administrators_operations_are_audited_with_file_and_counts(
    db_url: str, tmp_path: Path
) -> None:
    team = build_team(db_url)
    folder = tmp_path / "saved"
    try:
        team.zhang.customers.add(**company())
        made = team.admin.backup(folder)
        (event,) = operation_events(team.admin.engine)
        assert (event["actor"], event["action"], event["entity"]) == (
            "admin",
            "backup",
            "workspace",
        )
        details = json.loads(event["new_value"])
        assert details["file"] == str(made.path)
        assert details["row_counts"] == made.row_counts
        assert details["rows"] == sum(made.row_counts.values())

        by_cli = cli(db_url, "admin", "backup", "--dir", str(folder))
        assert by_cli.exit_code == 0, by_cli.output
        restored = cli(db_url, "admin", "restore", str(made.path), "--yes", "--dir", str(folder))
        assert restored.exit_code == 0, restored.output

        log = team.admin.operations()
        assert list(log["action"]) == ["restore", "backup", "backup"]
        assert list(log["actor"]) == ["admin"] * 3
        assert log["file"].iloc[0] == str(made.path)
        safety = log["safety"].iloc[0]
        assert f"(previous contents saved in {safety})" in restored.stdout
        assert safety in {str(b.path) for b in list_backups(folder)} - {str(made.path)}
        assert f"restored {made.path} ({sum(made.row_counts.values()):,} rows)" in log["text"][0]
        assert f"saved in {safety};" in log["text"][0]

        shown = cli(db_url, "admin", "audit", "--operations")
        assert shown.exit_code == 0, shown.output
        lines = shown.stdout.splitlines()
        assert len(lines) == 3
        assert "restored" in lines[0] and f"backed up the database to {made.path}" in lines[2]
        zh = cli(db_url, "admin", "--lang", "zh", "audit", "--operations")
        assert "将数据库备份到" in zh.stdout and "恢复了备份" in zh.stdout
    finally:
        team.close()


def test_a_fresh_demo_over_data_asks_backs_up_and_is_audited(db_url: str, tmp_path: Path) -> None:
    team = build_team(db_url)
    folder = tmp_path / "saved"
    try:
        code = team.zhang.customers.add(**company()).code
        before = counts(team.admin.engine)
        declined = cli(
            db_url,
            "admin",
            "demo",
            "--fresh",
            "--customers",
            "5",
            "--dir",
            str(folder),
            given="n\n",
        )
        assert declined.exit_code == 1
        rows = sum(before.values())
        assert f"({rows:,} rows, 1 customers) and build the demo there?" in declined.output
        assert counts(team.admin.engine) == before and not folder.exists()

        result = admin.build_demo(
            team.admin.engine, customers=5, seed=1, fresh=True, user="admin", directory=folder
        )
        assert result.safety is not None and result.safety.row_counts["customers"] == 1
        assert verify_backup(result.safety.path, against=team.admin.engine).ok
        (event,) = operation_events(team.admin.engine)
        assert (event["actor"], event["action"]) == ("admin", "reset")
        assert json.loads(event["new_value"])["safety"] == str(result.safety.path)
        assert json.loads(event["old_value"])["rows"] == sum(before.values())
        # The emptied contents come back from the safety backup.
        admin.restore(team.admin.engine, result.safety.path, folder, user="admin")
        assert team.zhang.customers.get(code).code == code
    finally:
        team.close()


# ---------------------------------------------------------------- a restore keeps the log


def test_a_restore_keeps_the_audit_events_of_the_undone_work_and_records_itself(
    db_url: str, tmp_path: Path
) -> None:
    team = build_team(db_url)
    folder = tmp_path / "saved"
    engine = team.admin.engine
    try:
        code = team.zhang.customers.add(**company(city="上海")).code
        made = team.admin.backup(folder)
        at_backup = len(events(engine)) - 1  # the backup's own event comes after the copy
        team.zhang.customers.update(code, city="苏州")
        later = team.zhang.customers.add(**company()).code
        live = events(engine)
        undone = live[at_backup:]

        result = team.admin.restore(made.path, directory=folder)

        assert team.zhang.customers.get(code).city == "上海"
        with pytest.raises(crmlib.NotFound):
            team.admin.customers.get(later)
        assert result.kept_events == len(undone)
        after = events(engine)
        assert Counter(map(event_key, after[:-1])) == Counter(map(event_key, live))
        restore = after[-1]
        assert (restore["actor"], restore["action"], restore["entity"]) == (
            "admin",
            "restore",
            "workspace",
        )
        details = json.loads(restore["new_value"])
        assert details["file"] == str(made.path)
        assert details["safety"] == str(result.safety.path)
        assert details["kept_events"] == len(undone)
        assert details["row_counts"] == made.row_counts
        assert json.loads(restore["old_value"])["row_counts"] == result.safety.row_counts
        assert any("to 苏州" in line for line in team.zhang.history(code)["text"])

        # Undoing the restore brings the work back, and no event twice.
        again = team.admin.restore(result.safety.path, directory=folder)
        assert team.zhang.customers.get(code).city == "苏州"
        final = events(engine)
        assert again.kept_events == 1  # the first restore's own event
        assert Counter(map(event_key, final[:-1])) == Counter(map(event_key, after))
        assert [e["action"] for e in operation_events(engine)] == ["backup", "restore", "restore"]
    finally:
        team.close()


@pytest.mark.postgres
def test_postgresql_keeps_no_scratch_table_in_the_database_or_its_backups(
    pg_url: str, tmp_path: Path
) -> None:
    team = build_team(pg_url)
    try:
        made = team.admin.backup(tmp_path)
        team.zhang.customers.add(**company())
        team.admin.restore(made.path, directory=tmp_path)
        with team.admin.engine.connect() as conn:
            tables = set(
                conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
                .scalars()
                .all()
            )
        assert "crm_restore_kept_audit" not in tables
    finally:
        team.close()
