"""Administration of a CRM database: set-up, demo data, status and backups.

The ``crm`` command and notebooks call these; they hold no logic of their own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import Engine, MetaData, func, inspect, select, text
from sqlalchemy.orm import Session

from . import clock
from .access import ROLES, Actor
from .demo import generate, period
from .domain.context import Context
from .domain.lifecycle import refresh
from .domain.users import admin_display_name, find_user
from .errors import CRMError, NotFound
from .i18n import register, t
from .quality.kinds import KINDS
from .settings import get_setting
from .store import backup as backups
from .store.engine import WRITE_INTENT, refresh_statistics
from .store.migrate import current_revision, upgrade
from .store.models import Base, Customer, User

register(
    {
        "not_crm_database": {
            "en": "the database has tables but no crm schema version: is it a CRM database?",
            "zh": "数据库中已有数据表，但没有 CRM 结构版本：这是 CRM 数据库吗？",
        },
        "has_customers": {
            "en": "the database already has customers; use --fresh to start over",
            "zh": "数据库中已有客户；如需从头开始，请使用 --fresh",
        },
        "no_backups": {"en": "no backups in {directory}", "zh": "{directory} 中没有备份"},
        "no_backup_file": {
            "en": "backup file {file} does not exist",
            "zh": "备份文件 {file} 不存在",
        },
    },
    namespace="admin",
)

ROLE_NAMES = list(ROLES)
FILE_KINDS = list(KINDS)


def init_database(engine: Engine, admin_name: str = "admin") -> tuple[str | None, str, str | None]:
    """Create or upgrade the schema; on a database without users, add the first admin.

    Returns the revision before and after, and the administrator created (if any).
    """
    before = current_revision(engine)
    if before is None and inspect(engine).get_table_names():
        raise CRMError(t("admin:not_crm_database"))
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
    return before, after, created


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


def build_demo(
    engine: Engine, *, customers: int, seed: int, fresh: bool, start: date | None = None
) -> dict[str, int]:
    """Make the demo database: schema, first admin and generated data."""
    if fresh:
        empty_database(engine)
    init_database(engine)
    with Session(engine) as session:
        if session.execute(select(func.count()).select_from(Customer)).scalar_one():
            raise CRMError(t("admin:has_customers"))
    start = start or demo_start(clock.today())
    counts = generate(engine, customers=customers, seed=seed, start=start, progress=True)
    refresh_statistics(engine)
    # The nightly job runs once on the finished history, so the audit log shows lifecycle
    # changes (deals long quiet become lost) as it would in a database in use.
    with Session(engine) as session:
        administrator = Actor.of(find_user(session, "admin"))
    refresh(Context(engine, administrator), as_of=period(start)[1])
    return counts


@dataclass(frozen=True)
class Status:
    url: str
    revision: str | None
    size_bytes: int
    row_counts: dict[str, int]
    last_backup: backups.BackupInfo | None


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
    )


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
    engine: Engine, directory: str | Path | None, keep_days: int | None
) -> backups.BackupInfo:
    retention = keep_days if keep_days is not None else _retention(engine)
    return backups.create_backup(
        engine, backup_directory(engine, directory), retention_days=retention
    )


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


def restore(
    engine: Engine, file: str | Path, directory: str | Path | None = None
) -> backups.BackupInfo:
    """Replace the database with ``file`` after verifying it; the current contents are
    backed up first, so a wrong restore can itself be undone. Returns that safety backup."""
    file = Path(file)
    if not file.exists():
        raise NotFound(t("admin:no_backup_file", file=file))
    safety = backups.create_backup(
        engine, backup_directory(engine, directory), retention_days=_retention(engine)
    )
    backups.restore_backup(file, engine)
    return safety
