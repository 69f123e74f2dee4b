"""Backups of the CRM database: create, list, verify and restore, for SQLite and PostgreSQL.

A backup is one file plus a JSON manifest beside it (``<file>.json``) recording when it was
taken, the schema revision, the row count of every table and the file's SHA-256. The manifest
is what makes a backup checkable: :func:`verify_backup` restores the file into a scratch
database and compares the result with it, and :func:`restore_backup` refuses any backup that
fails that check, so a damaged file can never overwrite a working database.

Writing is crash-safe: a backup is written as ``<file>.partial``, synced, its manifest is
published next, and only then is the file renamed into place, so a backup with a manifest is
always complete. Every writer holds a lock on the backup folder (:func:`backup_lock`), which
is also when the leftovers of a writer killed mid-way (``*.partial`` files, manifests without
their file) are removed: no backup or restore can be writing them at that moment.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, func, inspect, select, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from .. import clock
from ..errors import ConfigError, CRMError, DatabaseBusy, NotFound
from ..i18n import MESSAGES, t
from .migrate import revision_of, revisions
from .models import Base

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
SUFFIXES = {SQLITE: ".db", POSTGRESQL: ".dump"}
# The first bytes of each format, so a wrong or mangled file is named as such before any
# database engine gets to misread it.
MAGIC = {SQLITE: b"SQLite format 3\x00", POSTGRESQL: b"PGDMP"}
FORMATS = {SQLITE: "a SQLite database", POSTGRESQL: "a pg_dump custom-format archive"}
# Debian and Ubuntu install one directory per PostgreSQL major version under here.
PG_LIB = Path("/usr/lib/postgresql")
MANIFEST_FORMAT = 1
CHUNK = 1 << 20
#: The lock file every writer of a backup folder holds (see :func:`backup_lock`).
LOCK_NAME = ".crm-backups.lock"
#: How long a backup or restore waits for another one using the same folder, in seconds.
LOCK_WAIT = 60.0
LOCK_POLL = 0.05
#: What a writer killed mid-way can leave in a backup folder: partly written files and
#: their SQLite journals. Only files named as crmlib names backups are touched.
STALE_PATTERNS = (
    "crm-*.partial",
    "crm-*.partial-journal",
    "crm-*.partial-wal",
    "crm-*.partial-shm",
)
#: PostgreSQL: the audit events of the live database, kept across a restore in this table
#: (never part of a backup).
KEPT_AUDIT_TABLE = "crm_restore_kept_audit"


@dataclass(frozen=True)
class BackupInfo:
    """One backup as its manifest describes it."""

    path: Path
    created_at: datetime
    backend: str
    size_bytes: int
    row_counts: dict[str, int]
    revision: str | None = None
    sha256: str = ""


@dataclass
class VerifyReport:
    """The outcome of :func:`verify_backup`: ``ok`` exactly when ``problems`` is empty.

    ``changes_since`` and ``notes`` say how the live database has moved on since the backup
    (rows added or removed per table); that is expected, so it is never a problem.
    """

    ok: bool
    problems: list[str]
    row_counts: dict[str, int]
    revision: str | None = None
    changes_since: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# -- lock and leftovers ------------------------------------------------------------------


@contextmanager
def backup_lock(
    directory: str | Path, *, operation: str = "backup", wait: float = LOCK_WAIT
) -> Iterator[Path]:
    """Hold the lock of the backup folder ``directory`` (created if need be) while a backup
    or restore writes into it; yields the folder.

    A second writer waits up to ``wait`` seconds, then gets :class:`DatabaseBusy` naming the
    process that holds the folder. The kernel releases the lock of a process that dies, so a
    killed writer never blocks the next one; the next one removes what it left behind.
    """
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        handle = (directory / LOCK_NAME).open("a+", encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            t("backup:cannot_create_directory", directory=directory, reason=exc.strerror)
        ) from None
    with handle:
        deadline = time.monotonic() + max(wait, 0.0)
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise DatabaseBusy(
                        t(
                            "backup:folder_busy",
                            directory=directory,
                            holder=_holder(handle),
                            seconds=wait,
                        )
                    ) from None
                time.sleep(LOCK_POLL)
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()} {operation} {clock.now():%Y-%m-%d %H:%M:%S}\n")
            handle.flush()
            remove_leftovers(directory)
            yield directory
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _holder(handle: Any) -> str:
    """Who holds the folder, as the holder wrote it into the lock file."""
    handle.seek(0)
    words = handle.read().split(maxsplit=2)
    if len(words) < 3 or not words[0].isdigit():
        return t("backup:holder_unknown")
    pid, operation, since = words
    key = f"backup:operation_{operation}"
    shown = t(key) if key in MESSAGES else operation
    return t("backup:holder", pid=pid, operation=shown, since=since.strip())


def remove_leftovers(directory: str | Path) -> list[Path]:
    """Delete what a backup or restore killed mid-way left in ``directory``: partly written
    files, and manifests whose backup file was never published. Returns what was removed.

    Call it only while holding :func:`backup_lock` (which does): a partial file seen then
    belongs to no running writer.
    """
    directory = Path(directory)
    found = [path for pattern in STALE_PATTERNS for path in directory.glob(pattern)]
    for manifest in directory.glob("crm-*.json"):
        backup = manifest.with_name(manifest.name.removesuffix(".json"))
        if backup.suffix in SUFFIXES.values() and not backup.exists():
            found.append(manifest)
    removed = []
    for path in sorted(found):
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise ConfigError(t("backup:cannot_delete", path=path, reason=exc.strerror)) from None
        removed.append(path)
    if removed:
        _sync_directory(directory)
    return removed


# -- create ------------------------------------------------------------------------------


def create_backup(
    engine: Engine,
    directory: str | Path,
    *,
    retention_days: int = 30,
    now: datetime | None = None,
    wait: float = LOCK_WAIT,
) -> BackupInfo:
    """Back up the database of ``engine`` into ``directory``, write its manifest, and delete
    backups older than ``retention_days`` (never the newest one).

    Both backends take a consistent snapshot while others keep writing: SQLite through its
    online backup API, PostgreSQL through ``pg_dump`` sharing the snapshot in which the rows
    are counted, so the manifest describes exactly what is in the file. The folder is locked
    meanwhile (a second backup or restore into it waits up to ``wait`` seconds).

    This is the storage layer: it checks no permission and records no audit event. People
    back up through :func:`crmlib.admin.backup` or ``ws.backup()``, which do both.
    """
    if retention_days < 0:
        raise CRMError(t("backup:bad_retention", days=retention_days))
    with backup_lock(directory, wait=wait) as folder:
        return _create_locked(engine, folder, retention_days, now)


def _create_locked(
    engine: Engine, directory: Path, retention_days: int, now: datetime | None
) -> BackupInfo:
    """:func:`create_backup` for a caller that holds the folder's lock."""
    created_at = clock.now() if now is None else _business_time(now)
    backend = _backend(engine)
    target = _free_name(directory, created_at, SUFFIXES[backend])
    partial = target.with_name(target.name + ".partial")
    manifest = _manifest_path(target)
    try:
        if backend == SQLITE:
            revision, counts = _dump_sqlite(engine, partial)
        else:
            revision, counts = _dump_postgresql(engine, partial)
        _sync_file(partial)
        info = BackupInfo(
            path=target,
            created_at=created_at,
            backend=backend,
            size_bytes=partial.stat().st_size,
            row_counts=counts,
            revision=revision,
            sha256=_sha256(partial),
        )
        # The manifest is published first: a backup file with a manifest is complete, and
        # a manifest without its file is a leftover that remove_leftovers() deletes.
        _write_manifest(info)
        os.replace(partial, target)
        _sync_directory(directory)
    except (OSError, sqlite3.Error) as exc:
        target.unlink(missing_ok=True)
        manifest.unlink(missing_ok=True)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise ConfigError(t("backup:cannot_write", path=target, reason=reason)) from None
    except BaseException:
        target.unlink(missing_ok=True)
        manifest.unlink(missing_ok=True)
        raise
    finally:
        for leftover in directory.glob(glob_escape(partial.name) + "*"):
            leftover.unlink(missing_ok=True)
    _prune(directory, created_at, retention_days)
    return info


def glob_escape(name: str) -> str:
    """``name`` as a glob pattern matching only itself."""
    return re.sub(r"([*?\[])", r"[\1]", name)


def _sync_file(path: Path) -> None:
    """Flush ``path`` to disk, so a rename that publishes it never publishes a hole."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_directory(directory: Path) -> None:
    """Flush the renames and deletions in ``directory`` to disk."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot sync a directory; the rename still holds
        pass
    finally:
        os.close(fd)


def _dump_sqlite(engine: Engine, dest: Path) -> tuple[str | None, dict[str, int]]:
    raw = engine.raw_connection()
    try:
        source = raw.driver_connection
        assert isinstance(source, sqlite3.Connection)
        copy = sqlite3.connect(dest)
        try:
            source.backup(copy)
            # The copy inherits WAL mode; a backup should be one self-contained file.
            copy.execute("PRAGMA journal_mode=DELETE")
        finally:
            copy.close()
    finally:
        raw.close()
    with _sqlite_file(dest) as snapshot, snapshot.connect() as conn:
        return _facts(conn)


def _dump_postgresql(engine: Engine, dest: Path) -> tuple[str | None, dict[str, int]]:
    pg_dump = _pg_tool("pg_dump")
    with engine.connect() as conn:
        conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            facts = _facts(conn)
            args = [
                "--format=custom",
                f"--snapshot={snapshot}",
                f"--file={dest}",
                f"--exclude-table={KEPT_AUDIT_TABLE}",
            ]
            error = _run([pg_dump, *args, *_pg_args(engine.url)], engine.url)
    if error:
        raise CRMError(t("backup:pg_dump_failed", where=_safe(engine.url), error=error))
    return facts


def _free_name(directory: Path, created_at: datetime, suffix: str) -> Path:
    """``crm-YYYYmmdd-HHMMSS<suffix>``, numbered when that second already has a backup."""
    stem = f"crm-{created_at:%Y%m%d-%H%M%S}"
    path = directory / f"{stem}{suffix}"
    number = 1
    while path.exists() or _manifest_path(path).exists():
        number += 1
        path = directory / f"{stem}-{number}{suffix}"
    return path


def _write_manifest(info: BackupInfo) -> None:
    manifest = _manifest_path(info.path)
    partial = manifest.with_name(manifest.name + ".partial")
    data = {
        "format": MANIFEST_FORMAT,
        "file": info.path.name,
        "created_at": info.created_at.isoformat(),
        "backend": info.backend,
        "revision": info.revision,
        "size_bytes": info.size_bytes,
        "sha256": info.sha256,
        "row_counts": info.row_counts,
    }
    try:
        with partial.open("w", encoding="utf-8") as file:
            file.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, manifest)
    finally:
        partial.unlink(missing_ok=True)


def _prune(directory: Path, now: datetime, retention_days: int) -> None:
    cutoff = now - timedelta(days=retention_days)
    for old in list_backups(directory)[1:]:
        if old.created_at >= cutoff:
            continue
        # The file goes first: should that fail, the manifest still describes a backup.
        for path in (old.path, _manifest_path(old.path)):
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                raise ConfigError(
                    t("backup:cannot_delete", path=path, reason=exc.strerror)
                ) from None


# -- list --------------------------------------------------------------------------------


def list_backups(directory: str | Path) -> list[BackupInfo]:
    """The backups in ``directory``, newest first, as their manifests describe them.

    Files without a readable manifest were not made here and are left out (and never
    pruned); a directory that does not exist yet simply holds no backups.
    """
    directory = Path(directory)
    try:
        manifests = [p for p in directory.iterdir() if p.name.endswith(".json")]
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise ConfigError(
            t("backup:cannot_read_directory", directory=directory, reason=exc.strerror)
        ) from None
    found = []
    for manifest in manifests:
        backup = manifest.with_name(manifest.name.removesuffix(".json"))
        try:
            info = _read_manifest(backup)
        except ValueError:
            continue
        if backup.is_file():
            found.append(info)
    return sorted(found, key=lambda info: (info.created_at, info.path.name), reverse=True)


def last_backup(directory: str | Path) -> BackupInfo | None:
    """The newest backup in ``directory``, or None when there is none."""
    backups = list_backups(directory)
    return backups[0] if backups else None


def _manifest_path(backup: Path) -> Path:
    return backup.with_name(backup.name + ".json")


def _read_manifest(backup: Path) -> BackupInfo:
    """The manifest of ``backup``; ValueError says why it is missing or unusable."""
    manifest = _manifest_path(backup)
    try:
        data = json.loads(manifest.read_text("utf-8"))
        revision = data["revision"]
        info = BackupInfo(
            path=backup,
            created_at=datetime.fromisoformat(data["created_at"]),
            backend=str(data["backend"]),
            size_bytes=int(data["size_bytes"]),
            row_counts={str(table): int(n) for table, n in data["row_counts"].items()},
            revision=None if revision is None else str(revision),
            sha256=str(data["sha256"]),
        )
    except FileNotFoundError:
        raise ValueError(f"manifest {manifest} is missing") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"manifest {manifest} is unreadable: {exc}") from None
    if info.backend not in SUFFIXES:
        raise ValueError(f"manifest {manifest} names an unknown backend {info.backend!r}")
    return info


# -- verify ------------------------------------------------------------------------------


def verify_backup(
    path: str | Path, *, against: Engine | None = None, scratch_dir: str | Path | None = None
) -> VerifyReport:
    """Check that the backup at ``path`` restores into a sound database matching its manifest.

    The file is restored into a scratch database (SQLite: a copy in ``scratch_dir`` or the
    system temp directory; PostgreSQL: a temporary database on the server of ``against``,
    dropped afterwards), checked for integrity, and compared with the manifest's checksum,
    schema revision and row counts. A damaged file yields ``ok=False`` with the reasons, never
    an exception. With ``against``, the report also says how that database has moved on.
    """
    path = Path(path)
    scratch_dir = None if scratch_dir is None else Path(scratch_dir)
    kind = _sniff(path)
    problems: list[str] = []
    expected: BackupInfo | None
    try:
        expected = _read_manifest(path)
    except ValueError as exc:
        expected = None
        problems.append(str(exc))
    else:
        problems += _file_problems(path, expected)
    backend = expected.backend if expected else kind
    if backend is None:
        problems.append(f"{path} is neither {FORMATS[SQLITE]} nor {FORMATS[POSTGRESQL]}")
        return VerifyReport(ok=False, problems=problems, row_counts={})
    if kind != backend:
        problems.append(f"{path} is not {FORMATS[backend]}: corrupted, or a different file")
        return VerifyReport(ok=False, problems=problems, row_counts={})

    if backend == SQLITE:
        failures, revision, counts = _restore_sqlite_scratch(path, scratch_dir)
    else:
        failures, revision, counts = _restore_postgresql_scratch(path, against)
    problems += failures
    if not failures:
        problems += _revision_problems(revision, expected)
        if expected:
            problems += _count_problems(counts, expected.row_counts)
    report = VerifyReport(not problems, problems, counts, revision)
    if against is not None and not failures:
        _compare_live(report, against)
    return report


def _sniff(path: Path) -> str | None:
    """The backend whose file format ``path`` starts with, None for anything else."""
    try:
        with path.open("rb") as file:
            head = file.read(len(MAGIC[SQLITE]))
    except FileNotFoundError:
        raise NotFound(t("backup:missing", path=path)) from None
    except OSError as exc:
        raise ConfigError(t("backup:cannot_read", path=path, reason=exc.strerror)) from None
    return next((name for name, magic in MAGIC.items() if head.startswith(magic)), None)


def _file_problems(path: Path, expected: BackupInfo) -> list[str]:
    size = path.stat().st_size
    if size != expected.size_bytes:
        hint = ": truncated" if size < expected.size_bytes else ""
        return [f"{path} has {size} bytes, its manifest says {expected.size_bytes}{hint}"]
    if _sha256(path) != expected.sha256:
        return [f"{path} fails its SHA-256 checksum: the file has changed since the backup"]
    return []


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as file:
            while chunk := file.read(CHUNK):
                digest.update(chunk)
    except OSError as exc:
        raise ConfigError(t("backup:cannot_read", path=path, reason=exc.strerror)) from None
    return digest.hexdigest()


ScratchResult = tuple[list[str], str | None, dict[str, int]]


def _restore_sqlite_scratch(path: Path, scratch_dir: Path | None) -> ScratchResult:
    """Integrity checks on a copy, so the backup file itself is never opened for writing."""
    try:
        scratch = tempfile.TemporaryDirectory(prefix="crm-verify-", dir=scratch_dir)
    except OSError as exc:
        raise ConfigError(
            t("backup:cannot_use_scratch", directory=scratch_dir, reason=exc.strerror)
        ) from None
    with scratch as tmp:
        copy = Path(tmp) / path.name
        shutil.copyfile(path, copy)
        try:
            with _sqlite_file(copy) as engine, engine.connect() as conn:
                broken = [r for (r,) in conn.exec_driver_sql("PRAGMA integrity_check") if r != "ok"]
                fk_rows = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                orphans = Counter((table, parent) for table, _rowid, parent, _fk in fk_rows)
                revision, counts = _facts(conn)
        except SQLAlchemyError as exc:
            return [f"{path} is not a usable SQLite database: {_reason(exc)}"], None, {}
    first = "; ".join(" ".join(line.split()) for line in broken[:3])
    problems = [f"integrity check: {first}"] if broken else []
    problems += [
        f"foreign key check: {n} row(s) of {table} refer to missing {parent} rows"
        for (table, parent), n in sorted(orphans.items())
    ]
    return problems, revision, counts


def _restore_postgresql_scratch(path: Path, against: Engine | None) -> ScratchResult:
    if against is None or _backend(against) != POSTGRESQL:
        raise ConfigError(t("backup:needs_server", path=path))
    pg_restore = _pg_tool("pg_restore")
    with _scratch_database(against) as url:
        args = ["--no-owner", "--exit-on-error", "--single-transaction", str(path)]
        error = _run([pg_restore, *args, *_pg_args(url)], url)
        if error:
            return [f"pg_restore of {path} failed: {error}"], None, {}
        engine = create_engine(url, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                revision, counts = _facts(conn)
        finally:
            engine.dispose()
    return [], revision, counts


@contextmanager
def _scratch_database(server: Engine) -> Iterator[URL]:
    """A new empty database on the server of ``server``, dropped on leaving. It takes the
    encoding and locale of ``server``'s database, so text restores there as it would in place.
    """
    name = f"crm_verify_{uuid.uuid4().hex[:12]}"
    admin = server.execution_options(isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            encoding, collate, ctype = conn.execute(
                text(
                    "SELECT pg_encoding_to_char(encoding), datcollate, datctype FROM pg_database"
                    " WHERE datname = current_database()"
                )
            ).one()
            conn.execute(
                text(
                    f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING {_literal(encoding)}'
                    f" LC_COLLATE {_literal(collate)} LC_CTYPE {_literal(ctype)}"
                )
            )
    except SQLAlchemyError as exc:
        raise ConfigError(
            t("backup:cannot_create_scratch", where=_safe(server.url), reason=_reason(exc))
        ) from None
    try:
        yield server.url.set(database=name)
    finally:
        with admin.connect() as conn:
            force = " WITH (FORCE)" if (conn.dialect.server_version_info or (0,)) >= (13,) else ""
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"{force}'))


def _revision_problems(revision: str | None, expected: BackupInfo | None) -> list[str]:
    if revision is None:
        return ["the backup has no schema revision: it is not a CRM database"]
    if expected and revision != expected.revision:
        return [f"schema revision {revision}, its manifest says {expected.revision}"]
    if revision not in revisions():
        return [f"schema revision {revision} is unknown to this crmlib: made by a newer version?"]
    return []


def _count_problems(counts: dict[str, int], expected: dict[str, int]) -> list[str]:
    problems = []
    for table in sorted(expected.keys() | counts.keys()):
        if table not in counts:
            problems.append(f"table {table} is missing from the backup")
        elif table not in expected:
            problems.append(f"table {table} is in the backup but not in its manifest")
        elif counts[table] != expected[table]:
            problems.append(f"{table}: {counts[table]} rows, its manifest says {expected[table]}")
    return problems


def _compare_live(report: VerifyReport, live: Engine) -> None:
    with live.connect() as conn:
        revision, counts = _facts(conn)
    for table in sorted(report.row_counts.keys() | counts.keys()):
        then, current = report.row_counts.get(table, 0), counts.get(table, 0)
        if then != current:
            report.changes_since[table] = current - then
            report.notes.append(
                f"since the backup {table} went from {then} to {current} rows ({current - then:+d})"
            )
    if revision != report.revision:
        report.notes.append(
            f"since the backup the schema went from {report.revision} to {revision}"
        )


# -- restore -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RestoreOutcome:
    """What :func:`restore_with_safety_backup` did."""

    #: The backup of the contents the restore replaced.
    safety: BackupInfo
    #: The restored backup's rows per table, as verified.
    row_counts: dict[str, int]
    #: Audit events of the replaced contents that the backup did not have, written back.
    kept_events: int


def restore_backup(path: str | Path, engine: Engine, *, keep_audit: bool = False) -> int:
    """Replace the database of ``engine`` with the backup at ``path``.

    The backup is verified first and refused, with the target untouched, when it fails. The
    replacement is all or nothing: SQLite copies the backup into the live connection with
    the backup API (so other connections and the WAL stay consistent), PostgreSQL runs
    ``pg_restore --clean`` in a single transaction.

    With ``keep_audit``, the audit events of the replaced contents that the backup lacks are
    written back afterwards: they record what happened, even once it is undone. Returns how
    many were. This is the storage layer, without permission checks, safety backup or
    audit event of its own: people restore through :func:`crmlib.admin.restore`.
    """
    path = Path(path)
    _verified(path, engine)
    return _replace(path, engine, keep_audit=keep_audit)


def restore_with_safety_backup(
    path: str | Path,
    engine: Engine,
    directory: str | Path,
    *,
    retention_days: int = 30,
    wait: float = LOCK_WAIT,
) -> RestoreOutcome:
    """Verify the backup at ``path``, back the current contents up into ``directory``, then
    restore, keeping the audit events of what the restore rolls back.

    The folder stays locked throughout, so two restores (or a backup and a restore) into
    one folder never write over each other: the second waits up to ``wait`` seconds.
    """
    path = Path(path)
    with backup_lock(directory, operation="restore", wait=wait) as folder:
        report = _verified(path, engine)
        safety = _create_locked(engine, folder, retention_days, None)
        kept = _replace(path, engine, keep_audit=True)
    return RestoreOutcome(safety=safety, row_counts=report.row_counts, kept_events=kept)


def _verified(path: Path, engine: Engine) -> VerifyReport:
    """The verification of ``path`` for a restore into ``engine``; raises when it fails."""
    backend = _backend(engine)
    kind = _sniff(path)
    if kind not in (None, backend):
        raise CRMError(t("backup:wrong_backend", path=path, kind=kind, backend=backend))
    report = verify_backup(path, against=engine)
    if not report.ok:
        raise CRMError(
            t("backup:failed_verification", path=path, problems="; ".join(report.problems))
        )
    return report


def _replace(path: Path, engine: Engine, *, keep_audit: bool) -> int:
    backend = _backend(engine)
    keep = keep_audit and "audit_events" in inspect(engine).get_table_names()
    if backend == SQLITE:
        with tempfile.TemporaryDirectory(prefix="crm-restore-") as scratch:
            kept_file = Path(scratch) / "audit.db"
            if keep:
                _copy_audit_sqlite(engine, kept_file)
            _restore_sqlite(path, engine)
            kept = _return_audit_sqlite(engine, kept_file) if keep else 0
    else:
        if keep:
            _copy_audit_postgresql(engine)
        try:
            _restore_postgresql(path, engine)
            kept = _return_audit_postgresql(engine) if keep else 0
        finally:
            if keep:
                with engine.begin() as conn:
                    conn.execute(text(f"DROP TABLE IF EXISTS {KEPT_AUDIT_TABLE}"))
    # Pooled connections may hold plans and caches of the replaced tables.
    engine.dispose()
    return kept


def _audit_columns() -> list[str]:
    return [c.name for c in Base.metadata.tables["audit_events"].columns]


def _return_audit_sql(kept: str, same: str) -> str:
    """Insert the events of ``kept`` that ``audit_events`` lacks (the same id with the same
    contents is the same event), in their order, under new ids."""
    columns = [c for c in _audit_columns() if c != "id"]
    listed = ", ".join(columns)
    chosen = ", ".join(f"k.{c}" for c in columns)
    matched = " AND ".join(["m.id = k.id", *(f"m.{c} {same} k.{c}" for c in columns)])
    return (
        f"INSERT INTO audit_events ({listed}) SELECT {chosen} FROM {kept} k"
        f" WHERE NOT EXISTS (SELECT 1 FROM audit_events m WHERE {matched}) ORDER BY k.id"
    )


@contextmanager
def _kept_attached(engine: Engine, kept_file: Path) -> Iterator[sqlite3.Connection]:
    """A raw connection to the live SQLite database with ``kept_file`` attached as
    ``crm_kept``, detached and closed again on leaving."""
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        assert isinstance(conn, sqlite3.Connection)
        conn.execute("ATTACH DATABASE ? AS crm_kept", (str(kept_file),))
        try:
            yield conn
        finally:
            conn.execute("DETACH DATABASE crm_kept")
    finally:
        raw.close()


def _copy_audit_sqlite(engine: Engine, kept_file: Path) -> None:
    with _kept_attached(engine, kept_file) as conn:
        conn.execute("CREATE TABLE crm_kept.audit_events AS SELECT * FROM main.audit_events")


def _return_audit_sqlite(engine: Engine, kept_file: Path) -> int:
    with _kept_attached(engine, kept_file) as conn:
        try:
            conn.execute("BEGIN IMMEDIATE")
            inserted = conn.execute(_return_audit_sql("crm_kept.audit_events", "IS")).rowcount
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return max(inserted, 0)


def _copy_audit_postgresql(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {KEPT_AUDIT_TABLE}"))
        conn.execute(text(f"CREATE TABLE {KEPT_AUDIT_TABLE} AS SELECT * FROM audit_events"))


def _return_audit_postgresql(engine: Engine) -> int:
    with engine.begin() as conn:
        sql = _return_audit_sql(KEPT_AUDIT_TABLE, "IS NOT DISTINCT FROM")
        return max(conn.execute(text(sql)).rowcount, 0)


def _restore_sqlite(path: Path, engine: Engine) -> None:
    source = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    raw = engine.raw_connection()
    try:
        target = raw.driver_connection
        assert isinstance(target, sqlite3.Connection)
        source.backup(target)
    except sqlite3.Error as exc:
        raise CRMError(
            t("backup:restore_failed", path=path, where=_safe(engine.url), error=exc)
        ) from None
    finally:
        raw.close()
        source.close()


def _restore_postgresql(path: Path, engine: Engine) -> None:
    pg_restore = _pg_tool("pg_restore")
    args = ["--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error"]
    error = _run([pg_restore, *args, str(path), *_pg_args(engine.url)], engine.url)
    if error:
        raise CRMError(
            t("backup:restore_failed_unchanged", path=path, where=_safe(engine.url), error=error)
        )


# -- shared ------------------------------------------------------------------------------


def _facts(conn: Connection) -> tuple[str | None, dict[str, int]]:
    """The schema revision and the row count of every CRM table, as ``conn`` sees them."""
    present = set(inspect(conn).get_table_names())
    counts = {
        name: conn.execute(select(func.count()).select_from(table)).scalar_one()
        for name, table in sorted(Base.metadata.tables.items())
        if name in present
    }
    return revision_of(conn), counts


@contextmanager
def _sqlite_file(path: Path) -> Iterator[Engine]:
    """A plain engine on a SQLite file: none of the live database's WAL settings."""
    engine = create_engine(URL.create("sqlite", database=str(path)), poolclass=NullPool)
    try:
        yield engine
    finally:
        engine.dispose()


def _backend(engine: Engine) -> str:
    backend = engine.url.get_backend_name()
    if backend not in SUFFIXES:
        raise ConfigError(t("backup:unsupported_backend", where=_safe(engine.url)))
    return backend


def _business_time(moment: datetime) -> datetime:
    """``moment`` as the naive business time that every other timestamp uses."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(clock.business_zone()).replace(tzinfo=None)
    return moment.replace(microsecond=0)


def _pg_tool(name: str) -> str:
    """Where the PostgreSQL client program ``name`` is: ``pg_config --bindir``, else the
    newest Debian-style install, else PATH."""
    directories = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if found.returncode == 0:
            directories.append(Path(found.stdout.strip()))
    directories += sorted(
        PG_LIB.glob("*/bin"),
        key=lambda d: [int(n) for n in re.findall(r"\d+", d.parent.name)],
        reverse=True,
    )
    for directory in directories:
        if (directory / name).is_file() and os.access(directory / name, os.X_OK):
            return str(directory / name)
    on_path = shutil.which(name)
    if on_path:
        return on_path
    raise ConfigError(t("backup:tool_missing", name=name, lib=PG_LIB))


def _pg_args(url: URL) -> list[str]:
    """Connection options for the PostgreSQL client programs; the password goes by
    environment (see :func:`_run`), never on a command line others can read."""
    query_host = url.query.get("host")
    host = url.host or (query_host if isinstance(query_host, str) else None)
    args = ["--no-password"]
    if host:
        args.append(f"--host={host}")
    if url.port:
        args.append(f"--port={url.port}")
    if url.username:
        args.append(f"--username={url.username}")
    args.append(f"--dbname={url.database}")
    return args


def _run(args: list[str], url: URL) -> str | None:
    """Run a PostgreSQL client program; None when it succeeds, else its error in one line."""
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    # A damaged dump can make the client echo raw bytes from it; they must not hide the error.
    result = subprocess.run(args, env=env, capture_output=True, text=True, errors="replace")
    if result.returncode == 0:
        return None
    lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()] or lines
    return errors[0] if errors else f"{Path(args[0]).name} exited with {result.returncode}"


def _reason(exc: SQLAlchemyError) -> str:
    orig = exc.orig if isinstance(exc, DBAPIError) else None
    return (str(orig or exc).strip().splitlines() or ["unknown error"])[0]


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _safe(url: URL) -> str:
    return url.render_as_string(hide_password=True)
