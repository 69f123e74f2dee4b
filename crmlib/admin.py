"""Administration of a CRM database: set-up, demo data, status and backups.

The ``crm`` command and notebooks call these; they hold no logic of their own.

The operations on the whole workspace are privileged: a backup (an unmasked copy of
everyone's data), a restore (rolls everyone's work back), emptying a database that has data
(``crm demo --fresh``) and upgrading the schema of a database in use. Each names the acting
user (``user=``, else ``CRM_USER``, else ``JUPYTERHUB_USER``), whose role must allow it
(:class:`crmlib.access.Role`: ``backup_data``, ``restore_data``, ``reset_database``, admin by
default), and each leaves one audit event (entity ``workspace``: who, when, which file, how
many rows) that :func:`operations` and ``crm audit --operations`` read back.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, MetaData, func, inspect, select, text
from sqlalchemy.orm import Session

from . import clock, team_mode
from .access import ROLES, Actor
from .audit import record
from .context import Context
from .domain.customers.lifecycle import refresh
from .domain.team.users import admin_display_name, find_user
from .errors import AccessDenied, CRMError, NotFound
from .history import OPERATIONS, WORKSPACE, describe
from .i18n import current_lang, speaking, t
from .settings import get_setting
from .store import backup as backups
from .store.engine import WRITE_INTENT, refresh_statistics
from .store.migrate import current_revision, head_revision, upgrade
from .store.models import AuditEvent, Base, Customer, User
from .transfer.catalogue import KINDS

ROLE_NAMES = list(ROLES)
FILE_KINDS = list(KINDS)
#: The permissions that let a user read the log of workspace operations.
OPERATOR_PERMISSIONS = ("backup_data", "restore_data", "reset_database")

#: Who acts: a username, an :class:`Actor` (a workspace's user), or None for ``CRM_USER``
#: (else ``JUPYTERHUB_USER``).
Acting = str | Actor | None


def authorize(engine: Engine, user: Acting, permission: str | Sequence[str], action: str) -> Actor:
    """The acting user, when their role has ``permission`` (any of several); else
    :class:`AccessDenied` naming the user, their role and ``action`` (a key of the
    ``admin:action_*`` messages). No user, an unknown user and a deactivated one are refused
    alike: a privileged operation always knows who did it."""
    wanted = (permission,) if isinstance(permission, str) else tuple(permission)
    doing = t(f"admin:action_{action}")
    if isinstance(user, Actor):
        actor = user
    else:
        named = user or os.environ.get("CRM_USER") or os.environ.get("JUPYTERHUB_USER")
        name = team_mode.acting_username(engine, named)
        if not name:
            raise AccessDenied(t("admin:no_user", action=doing))
        found = _user_row(engine, name)
        if found is None:
            raise AccessDenied(t("admin:unknown_user", username=name, action=doing))
        user_id, role, team, active = found
        if not active:
            raise AccessDenied(t("admin:inactive_user", username=name, role=role, action=doing))
        if role not in ROLES:
            raise AccessDenied(
                t(
                    "admin:role_lacks",
                    username=name,
                    role=role,
                    action=doing,
                    permission=" / ".join(wanted),
                )
            )
        actor = Actor(user_id, name, ROLES[role], team)
    if not any(getattr(actor.role, p) for p in wanted):
        raise AccessDenied(
            t(
                "admin:role_lacks",
                username=actor.username,
                role=actor.role.name,
                action=doing,
                permission=" / ".join(wanted),
            )
        )
    return actor


def _name_of(user: Acting) -> str:
    """Who acts, for the audit log of an operation that needed no permission."""
    if isinstance(user, Actor):
        return user.username
    return user or os.environ.get("CRM_USER") or os.environ.get("JUPYTERHUB_USER") or "system"


def _user_row(engine: Engine, username: str) -> tuple[int, str, str | None, bool] | None:
    """(id, role, team, active) of ``username``; None when there is no such user (or no
    users table yet). Core, so it reads a database whose schema is older than this crmlib."""
    if "users" not in inspect(engine).get_table_names():
        return None
    with engine.connect() as conn:
        row = conn.execute(
            select(User.id, User.role, User.team, User.active).where(User.username == username)
        ).one_or_none()
    if row is None:
        return None
    return int(row.id), str(row.role), row.team, bool(row.active)


def _user_count(engine: Engine) -> int:
    if "users" not in inspect(engine).get_table_names():
        return 0
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(User)).scalar_one())


def _record_operation(
    engine: Engine,
    actor: str,
    action: str,
    *,
    old: object = None,
    new: object = None,
) -> None:
    """The audit event of a workspace operation: JSON values (file, row counts, safety
    backup), or plain ones (revisions)."""

    def value(v: object) -> str | None:
        if v is None or isinstance(v, str):
            return v
        return json.dumps(v, ensure_ascii=False, sort_keys=True)

    with engine.begin() as conn:
        record(
            conn,
            actor=actor,
            action=action,
            entity=WORKSPACE,
            old_value=value(old),
            new_value=value(new),
        )


def _counts(path: Path, row_counts: dict[str, int], **more: object) -> dict[str, object]:
    return {
        "file": str(path.resolve()),
        "rows": sum(row_counts.values()),
        "row_counts": row_counts,
        **more,
    }


def init_database(
    engine: Engine, admin_name: str = "admin", *, user: Acting = None
) -> tuple[str | None, str, str | None]:
    """Create or upgrade the schema; on a database without users, add the first admin.

    A new or empty database needs no user (this creates its first one). Upgrading the schema
    of a database that has users needs a user allowed to ``reset_database`` and is audited;
    on a database already up to date this changes nothing and anyone may run it.
    Returns the revision before and after, and the administrator created (if any).
    """
    before = current_revision(engine)
    if before is None and inspect(engine).get_table_names():
        raise CRMError(t("admin:not_crm_database"))
    with engine.connect() as conn:
        roles = team_mode.team_roles(conn)
    if roles is not None:
        return _upgrade_team(engine, roles, before)
    actor = None
    if before != head_revision() and _user_count(engine):
        actor = authorize(engine, user, "reset_database", "upgrade")
    upgrade(engine)
    created = None
    with Session(engine.execution_options(**{WRITE_INTENT: True})) as session:
        if not session.execute(select(func.count()).select_from(User)).scalar_one():
            shown_as = admin_display_name()
            session.add(User(username=admin_name, display_name=shown_as, role="admin"))
            session.commit()
            created = admin_name
    after = current_revision(engine)
    assert after is not None
    if actor is not None and after != before:
        _record_operation(engine, actor.username, "upgrade", old=before, new=after)
    return before, after, created


def _upgrade_team(
    engine: Engine, roles: team_mode.TeamRoles, before: str | None
) -> tuple[str | None, str, str | None]:
    """``crm init`` on a team database: an installation login migrates it, as the owner
    role; the upgrade is audited under that login."""
    if before == head_revision():
        return before, before, None
    with engine.connect() as conn, conn.begin():
        team_mode.upgrade(conn, roles)
        login = str(conn.execute(text("SELECT session_user")).scalar_one())
    after = current_revision(engine)
    assert after is not None
    _record_operation(engine, login, "upgrade", old=before, new=after)
    return before, after, None


def init_team(engine: Engine, admin_name: str, password: str) -> team_mode.TeamRoles:
    """Make an empty PostgreSQL database a team database with its first administrator
    ``admin_name`` (a CRM user and a database login); see :func:`crmlib.team_mode.enable`."""
    return team_mode.enable(engine, admin_name, password)


def empty_database(engine: Engine) -> None:
    """Drop every table crmlib owns (and alembic's version table), for a fresh start."""
    with engine.begin() as conn:
        existing = MetaData()
        existing.reflect(conn)
        existing.drop_all(conn)


def demo_start(today: date) -> date:
    """The demo covers the 24 whole months before the current one, so "last 90 days" and
    "this quarter" have data whenever the demo is built."""
    months = today.year * 12 + today.month - 1 - 24
    return date(months // 12, months % 12 + 1, 1)


def data_at_stake(engine: Engine) -> dict[str, int]:
    """The rows a fresh start would delete, per table; empty when the database holds nothing
    but what ``crm init`` makes (its first administrator), so nothing would be lost."""
    counts = {table: n for table, n in row_counts(engine).items() if n}
    if set(counts) <= {"users"} and counts.get("users", 0) <= 1:
        return {}
    return counts


@dataclass(frozen=True)
class DemoResult:
    """The rows the demo wrote per table, and the backup of what ``fresh`` removed."""

    counts: dict[str, int]
    safety: backups.BackupInfo | None = None


def build_demo(
    engine: Engine,
    *,
    customers: int,
    seed: int,
    fresh: bool,
    start: date | None = None,
    user: Acting = None,
    directory: str | Path | None = None,
) -> DemoResult:
    """Make the demo database: schema, first admin and generated data.

    ``fresh`` empties the database first. When it has data (:func:`data_at_stake`), that
    needs a user allowed to ``reset_database``; the data is backed up into the backup folder
    (``directory``) first, and the reset is audited in the new database.
    """
    safety = actor = None
    if fresh:
        at_stake = data_at_stake(engine)
        if at_stake:
            actor = authorize(engine, user, "reset_database", "reset")
            safety = backups.create_backup(
                engine, backup_directory(engine, directory), retention_days=_retention(engine)
            )
        empty_database(engine)
    init_database(engine, user=user)
    with Session(engine) as session:
        if session.execute(select(func.count()).select_from(Customer)).scalar_one():
            raise CRMError(t("admin:has_customers"))
    # Loaded only to build a demo: the generator is a tenth of what importing crmlib costs
    # every process (each `crm` command and notebook kernel).
    from .demo import generate, period

    start = start or demo_start(clock.today())
    counts = generate(engine, customers=customers, seed=seed, start=start, progress=True)
    refresh_statistics(engine)
    # The nightly job runs once on the finished history, so the audit log shows lifecycle
    # changes (deals long quiet become lost) as it would in a database in use.
    with Session(engine) as session:
        administrator = Actor.of(find_user(session, "admin"))
    refresh(Context(engine, administrator), as_of=period(start)[1])
    if actor is not None and safety is not None:
        removed = {"rows": sum(safety.row_counts.values()), "row_counts": safety.row_counts}
        made = {"safety": str(safety.path), "rows": sum(counts.values()), "row_counts": counts}
        _record_operation(engine, actor.username, "reset", old=removed, new=made)
    return DemoResult(counts, safety)


@dataclass(frozen=True)
class Status:
    url: str
    revision: str | None
    size_bytes: int
    row_counts: dict[str, int]
    last_backup: backups.BackupInfo | None
    #: The roles of a team database (:mod:`crmlib.team_mode`); None where identity is a name.
    team: team_mode.TeamRoles | None = None


def database_size(engine: Engine) -> int:
    if engine.dialect.name == "sqlite":
        path = Path(engine.url.database or "")
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one())


def row_counts(engine: Engine) -> dict[str, int]:
    present = set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        return {
            table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
            for table in Base.metadata.sorted_tables
            if table.name in present
        }


def status(engine: Engine, backup_dir: str | Path) -> Status:
    backup_dir = Path(backup_dir)
    return Status(
        url=engine.url.render_as_string(hide_password=True),
        revision=current_revision(engine),
        size_bytes=database_size(engine),
        row_counts=row_counts(engine),
        last_backup=backups.last_backup(backup_dir) if backup_dir.exists() else None,
        team=_team_roles(engine),
    )


def _team_roles(engine: Engine) -> team_mode.TeamRoles | None:
    with engine.connect() as conn:
        return team_mode.team_roles(conn)


def backup_directory(engine: Engine, directory: str | Path | None = None) -> Path:
    """Where backups go: the argument, ``CRM_BACKUP_DIR``, else ``backups/`` beside an
    SQLite file (``data/backups`` for PostgreSQL)."""
    if directory is not None:
        return Path(directory)
    if os.environ.get("CRM_BACKUP_DIR"):
        return Path(os.environ["CRM_BACKUP_DIR"])
    if engine.dialect.name == "sqlite" and engine.url.database:
        return Path(engine.url.database).parent / "backups"
    return Path("data") / "backups"


def backup(
    engine: Engine,
    directory: str | Path | None = None,
    keep_days: int | None = None,
    *,
    user: Acting = None,
    wait: float = backups.LOCK_WAIT,
) -> backups.BackupInfo:
    """Back the database up into the backup folder (see :func:`backup_directory`) and prune
    copies older than ``keep_days`` (the ``backup_retention_days`` setting).

    A backup is a full, unmasked copy of everyone's data: it needs a user allowed to
    ``backup_data`` and is audited (who, which file, its rows). A second backup or restore
    into the same folder waits up to ``wait`` seconds for this one.
    """
    actor = authorize(engine, user, "backup_data", "backup")
    retention = keep_days if keep_days is not None else _retention(engine)
    info = backups.create_backup(
        engine, backup_directory(engine, directory), retention_days=retention, wait=wait
    )
    _record_operation(engine, actor.username, "backup", new=_counts(info.path, info.row_counts))
    return info


def _retention(engine: Engine) -> int:
    with Session(engine) as session:
        return int(get_setting(session, "backup_retention_days"))


def verify(
    engine: Engine, directory: str | Path | None, file: str | Path | None
) -> tuple[Path, backups.VerifyReport]:
    """Verify ``file``, or the newest backup in the backup folder."""
    if file is None:
        last = backups.last_backup(backup_directory(engine, directory))
        if last is None:
            raise CRMError(t("admin:no_backups", directory=backup_directory(engine, directory)))
        file = last.path
    file = Path(file)
    return file, backups.verify_backup(file, against=engine)


@dataclass(frozen=True)
class RestoreResult:
    """What :func:`restore` did."""

    file: Path
    #: The backup of the contents the restore replaced: a wrong restore is undone with it.
    safety: backups.BackupInfo
    #: The restored rows per table.
    row_counts: dict[str, int]
    #: Audit events of the rolled-back work, kept in the restored database.
    kept_events: int


def restore(
    engine: Engine,
    file: str | Path,
    directory: str | Path | None = None,
    *,
    user: Acting = None,
    wait: float = backups.LOCK_WAIT,
) -> RestoreResult:
    """Replace the database with ``file`` after verifying it; the current contents are
    backed up first, so a wrong restore can itself be undone.

    It rolls back everyone's work, so it needs a user allowed to ``restore_data`` (unless the
    database holds nothing yet, see :func:`data_at_stake`). The audit events of the rolled-back
    work are kept, and the restore records itself: who, which file, its rows, the safety
    backup.
    """
    actor = authorize(engine, user, "restore_data", "restore") if data_at_stake(engine) else None
    file = Path(file)
    if not file.exists():
        raise NotFound(t("admin:no_backup_file", file=file))
    outcome = backups.restore_with_safety_backup(
        file,
        engine,
        backup_directory(engine, directory),
        retention_days=_retention(engine),
        wait=wait,
    )
    safety = outcome.safety
    _record_operation(
        engine,
        actor.username if actor else _name_of(user),
        "restore",
        old={"rows": sum(safety.row_counts.values()), "row_counts": safety.row_counts},
        new=_counts(
            file, outcome.row_counts, safety=str(safety.path), kept_events=outcome.kept_events
        ),
    )
    return RestoreResult(file, safety, outcome.row_counts, outcome.kept_events)


def operations(
    engine: Engine, user: Acting = None, *, limit: int | None = 100, lang: str | None = None
) -> pd.DataFrame:
    """The backups, restores, resets and schema upgrades of the workspace, newest first,
    with a sentence each (``text``) in ``lang``. For users who may run them."""
    authorize(engine, user, OPERATOR_PERMISSIONS, "operations")
    language = current_lang(lang)
    stmt = (
        select(
            AuditEvent.occurred_at,
            AuditEvent.actor,
            AuditEvent.action,
            AuditEvent.entity,
            AuditEvent.old_value,
            AuditEvent.new_value,
        )
        .where(AuditEvent.entity == WORKSPACE, AuditEvent.action.in_(OPERATIONS))
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        rows = conn.execute(stmt).mappings().all()
        found = conn.execute(select(User.username, User.display_name))
        names: dict[object, str] = {u: d for u, d in found if d}
    frame = pd.DataFrame(rows, columns=list(stmt.selected_columns.keys())).astype(object)
    frame = frame.where(frame.notna(), None)
    details = [json.loads(v) if v and v.startswith("{") else {} for v in frame["new_value"]]
    frame["file"] = [d.get("file") for d in details]
    frame["rows"] = [d.get("rows") for d in details]
    frame["safety"] = [d.get("safety") for d in details]
    with speaking(language):
        frame["label"] = [t(f"operations:label_{a}") for a in frame["action"]]
    frame["text"] = [describe(row, language, names) for _, row in frame.iterrows()]
    return frame.drop(columns=["entity", "old_value", "new_value"])
