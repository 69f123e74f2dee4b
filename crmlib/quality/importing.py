"""Importing files: every row ends imported or rejected with all of its reasons.

The whole import runs in one transaction, so a failed or killed import leaves the
database as it was, ``strict`` commits nothing when any row fails and ``dry_run`` commits
nothing at all. Rows are read, validated and written in chunks, so memory stays bounded
however long the file. Rejected rows go to ``rejects.csv`` (original values, row number,
reasons) and to ``import_rejects``; invalid optional values, left out of their row, go to
``warnings.csv`` and ``import_warnings``; ``summary.json`` sits beside them.
"""

from __future__ import annotations

import errno
import hashlib
import json
import multiprocessing as mp
import os
import pickle
import threading
from collections import Counter
from collections.abc import Callable, Generator, Iterator
from contextlib import AbstractContextManager, closing, nullcontext, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, insert, update
from sqlalchemy.exc import SQLAlchemyError

from .. import audit, clock
from ..domain.context import Context
from ..errors import DiskFull, FieldError
from ..i18n import register, speaking, t
from ..rules.columns import apply_rule
from ..rules.fields import RuleViolation
from ..store.bulk_load import bulk_load_settings
from ..store.engine import WRITE_INTENT, refresh_statistics
from ..store.models import ImportBatch, ImportReject, ImportWarning
from .bulk import is_large
from .formulas import SafeWriter
from .kinds import FileKind, file_kind
from .reading import FileProblem, Table, open_table
from .staging import Staged, attached
from .staging import available as staging_available
from .writers import WRITERS, Outcome, Writer, bulk_insert

DEFAULT_CHUNK_ROWS = 50_000
#: Rows of the first chunk that go ahead of the rest of it (see :func:`_first_part_ahead`).
FIRST_PART_ROWS = 5_000
#: From this many rows on, the file is read and validated by a helper process.
HELPER_ROWS = 100_000
#: How long a helper may take to notice that the import stopped reading.
HELPER_STOP_S = 10.0
#: After an import this large, SQLite's planner statistics are refreshed.
ANALYZE_AFTER_ROWS = 10_000
#: Hash keys of the two kinds of row identity (a key, or all cells), 16 characters each.
_KEYS, _CELLS = "crm-import-keys.", "crm-import-cells"
#: What a full disk looks like: errno of a write, SQLite's result code, PostgreSQL's SQLSTATE.
_FULL_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}
#: SQLITE_FULL, and SQLITE_IOERR_WRITE, which a write past a file-size limit (EFBIG) gives.
_SQLITE_FULL, _SQLITE_IOERR_WRITE = 13, 778
_PG_DISK_FULL = "53100"

register(
    {
        "database_full": {
            "en": "the database {database} is full: the import stopped while writing to it "
            "({detail}), and nothing of it was saved; the database is as it was. Free space "
            "on the disk that holds the database (or raise its size limit), then import "
            "{path} again",
            "zh": "数据库 {database} 已满：导入在写入数据库时停止（{detail}），没有保存任何数据，"
            "数据库保持原样。请释放数据库所在磁盘的空间（或提高其大小上限），然后重新导入 {path}",
        },
        "file_full": {
            "en": "the disk is full: the import stopped while writing {written} ({detail}), "
            "and nothing of it was saved; the database is as it was. Free space there, or "
            "choose another folder for the import's results (output_dir, CRM_IMPORT_DIR), "
            "then import {path} again",
            "zh": "磁盘已满：导入在写入 {written} 时停止（{detail}），没有保存任何数据，"
            "数据库保持原样。请释放该处的空间，或为导入结果另选文件夹（output_dir、"
            "CRM_IMPORT_DIR），然后重新导入 {path}",
        },
        "summary_full": {
            "en": "the import of {path} was saved (batch {batch}), but the disk is full: "
            "{written} could not be written ({detail}); the batch's counts and rejected "
            "rows are in the database (import_batches, import_rejects)",
            "zh": "{path} 的导入已保存（批次 {batch}），但磁盘已满，"
            "无法写入 {written}（{detail}）；该批次的计数和被拒绝的行已记录在数据库中"
            "（import_batches、import_rejects）",
        },
    },
    namespace="importing",
)

EDIT_PERMISSION = {
    "customers": "edit_customers",
    "contacts": "edit_customers",
    "opportunities": "edit_customers",
    "orders": "edit_customers",
    "leads": "edit_leads",
    "tickets": "edit_tickets",
}


@dataclass
class ImportResult:
    """What an import did. ``ok`` counts rows imported (created, updated or unchanged)."""

    kind: str
    file: str
    batch_id: int | None
    dry_run: bool
    strict: bool
    committed: bool
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    warned: int = 0
    unknown_columns: list[str] = field(default_factory=list)
    output_dir: Path | None = None
    rejects_path: Path | None = None
    warnings_path: Path | None = None

    @property
    def ok(self) -> int:
        return self.created + self.updated + self.unchanged

    @property
    def summary_path(self) -> Path | None:
        return self.output_dir / "summary.json" if self.output_dir else None

    def describe(self, lang: str | None = None) -> str:
        """One paragraph for people: counts, what was committed, where the rejects are."""
        with speaking(lang or "zh"):
            lines = [
                t(
                    "import_counts",
                    **{
                        k: getattr(self, k)
                        for k in ("rows", "created", "updated", "unchanged", "rejected", "warned")
                    },
                )
            ]
            if self.unknown_columns:
                lines.append(t("import_unknown_columns", columns=", ".join(self.unknown_columns)))
            state = (
                "import_dry_run"
                if self.dry_run
                else ("import_committed" if self.committed else "import_strict_failed")
            )
            lines.append(t(state))
            if self.rejects_path:
                lines.append(t("import_rejects_at", path=self.rejects_path))
            if self.warnings_path:
                lines.append(t("import_warnings_at", path=self.warnings_path))
        return "\n".join(lines)


def imports_directory(engine: Engine) -> Path:
    """Where rejects and summaries go: ``CRM_IMPORT_DIR``, else ``imports/`` beside an
    SQLite file, else ``data/imports``."""
    if os.environ.get("CRM_IMPORT_DIR"):
        return Path(os.environ["CRM_IMPORT_DIR"])
    if engine.dialect.name == "sqlite" and engine.url.database:
        return Path(engine.url.database).parent / "imports"
    return Path("data") / "imports"


def _file_facts(path: Path) -> tuple[str, int]:
    """The file's SHA-256 and its number of line breaks (about its rows, for a CSV)."""
    digest = hashlib.sha256()
    lines = 0
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
            lines += block.count(b"\n")
    return digest.hexdigest(), lines


class _Sink:
    """Rejects and warnings, streamed to CSV files opened on first use. A write that fails
    (a full disk) names the file, which a buffered write's error does not."""

    def __init__(self, directory: Path, headers: list[str]) -> None:
        self.directory = directory
        self.headers = headers
        self.files: dict[str, tuple[TextIO, Any]] = {}
        self.closed: set[str] = set()

    def writer(self, name: str, header: list[str]) -> Any:
        if name not in self.files:
            self.directory.mkdir(parents=True, exist_ok=True)
            handle = (self.directory / name).open("w", encoding="utf-8-sig", newline="")
            writer = _NamedWriter(self.directory / name, SafeWriter(handle))
            self.files[name] = (handle, writer)
            writer.writerow(header)
        return self.files[name][1]

    def path(self, name: str) -> Path | None:
        return self.directory / name if name in self.files else None

    def close(self) -> None:
        """Write out and close every file (again: a no-op), raising what writing failed on."""
        problem: OSError | None = None
        for name, (handle, _) in self.files.items():
            if name in self.closed:
                continue
            self.closed.add(name)
            try:
                handle.close()
            except OSError as exc:
                problem = problem or _named(exc, self.directory / name)
                with suppress(OSError):
                    handle.close()  # the buffer is dropped; the descriptor is released
        if problem is not None:
            raise problem


class _NamedWriter:
    """A CSV writer whose write errors name its file."""

    def __init__(self, path: Path, writer: Any) -> None:
        self.path = path
        self.writer = writer

    def writerow(self, row: list[Any]) -> None:
        try:
            self.writer.writerow(row)
        except OSError as exc:
            raise _named(exc, self.path) from None


def _named(exc: OSError, path: Path) -> OSError:
    return exc if exc.filename else OSError(exc.errno, exc.strerror, str(path))


def _validate(spec: FileKind, raw: pd.DataFrame, writer: Writer, outcome: Outcome) -> pd.DataFrame:
    """Clean values for every mapped column; broken required values reject their row,
    broken optional values are left out with a warning."""
    clean = pd.DataFrame(index=raw.index)
    violations: dict[str, pd.Series] = {}
    for name in raw.columns:
        clean[name], violations[name] = apply_rule(spec.column(name).rule, raw[name])
    required = writer.required(clean)
    nobody = pd.Series(False, index=raw.index)
    for name in spec.names:
        must = required.get(name, nobody)
        broken = violations[name].notna() if name in violations else nobody
        if broken.any():
            for row, value, violation in _broken(raw, violations, name, broken & must):
                outcome.reject(row, str(FieldError(name, value, violation.rule, violation.message)))
            for row, value, violation in _broken(raw, violations, name, broken & ~must):
                outcome.warnings.append(
                    (row, FieldError(name, value, violation.rule, violation.message))
                )
        if not must.any():
            continue
        missing = clean[name].isna() & ~broken if name in clean else ~nobody
        for row in raw.index[missing & must]:
            outcome.reject(row, str(FieldError(name, None, "required", t("required"))))
    return clean


def _broken(
    raw: pd.DataFrame, violations: dict[str, pd.Series], name: str, rows: pd.Series
) -> Iterator[tuple[int, Any, RuleViolation]]:
    """Row number, raw value and violation of the ``rows`` of column ``name``."""
    return zip(
        raw.index[rows].tolist(),
        raw[name][rows].tolist(),
        violations[name][rows].tolist(),
        strict=True,
    )


class _Repeats:
    """A record given twice in one file: the first row counts, later ones are rejected.

    Rows with a key (external_id, code) repeat when the key does; rows without one when
    every cell does. Identities are kept as 64-bit hashes with the row that first had
    them, in sorted arrays: 16 bytes a row, so a million-row file costs 16 MB here. Two
    different identities share a hash with a chance of about 1 in 30 million at a million
    rows; the later row would then be rejected, with the row it seemed to repeat.
    """

    def __init__(self) -> None:
        self.hashes = np.empty(0, dtype=np.uint64)
        self.rows = np.empty(0, dtype=np.int64)

    def reject(
        self, writer: Writer, clean: pd.DataFrame, raw: pd.DataFrame, outcome: Outcome
    ) -> None:
        keys = writer.file_key(clean)
        keyed = keys.notna().to_numpy()
        identity = np.empty(len(raw), dtype=np.uint64)
        identity[keyed] = pd.util.hash_array(keys[keyed].to_numpy(dtype=object), hash_key=_KEYS)
        if not keyed.all():
            cells = pd.util.hash_pandas_object(raw[~keyed], index=False, hash_key=_CELLS)
            identity[~keyed] = cells.to_numpy()
        rows = raw.index.to_numpy(dtype=np.int64)
        first = self._first_rows(identity, rows)
        repeated = first != rows
        for row, earlier in zip(rows[repeated].tolist(), first[repeated].tolist(), strict=True):
            outcome.reject(row, t("repeated_row", row=earlier))

    def _first_rows(self, identity: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The row each identity first appeared in (its own row for a first occurrence),
        remembering the new ones."""
        order = np.argsort(identity, kind="stable")
        ordered = identity[order]
        starts = np.ones(len(ordered), dtype=bool)
        starts[1:] = ordered[1:] != ordered[:-1]
        group_first = order[np.maximum.accumulate(np.where(starts, np.arange(len(order)), 0))]
        first = np.empty_like(rows)
        first[order] = rows[group_first]
        position = np.searchsorted(self.hashes, identity)
        known = position < len(self.hashes)
        known[known] = self.hashes[position[known]] == identity[known]
        first[known] = self.rows[position[known]]
        new = order[starts & ~known[order]]
        at = position[new]  # where they go in the arrays as they were
        self.hashes = np.insert(self.hashes, at, identity[new])
        self.rows = np.insert(self.rows, at, rows[new])
        return first


def import_file(
    ctx: Context,
    kind: str,
    path: Path | str,
    *,
    dry_run: bool = False,
    strict: bool = False,
    sheet: str | None = None,
    output_dir: Path | str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: Callable[[int, int | None], None] | None = None,
) -> ImportResult:
    """Import ``path`` as records of ``kind`` for the acting user; see the module docstring.

    ``progress`` is called after each chunk with the rows done and the total (if known).
    """
    with speaking(ctx.lang):
        spec = file_kind(kind)
        permission = EDIT_PERMISSION[kind]
        ctx.scope.require(getattr(ctx.actor.role, permission), f"import {kind}")
        source = Path(path)
        table = open_table(source, sheet=sheet, sheet_hints=(spec.zh, spec.en, spec.name))
        mapping, unknown = _map_headers(spec, table)
        started = clock.now()
        directory = (
            Path(output_dir)
            if output_dir
            else imports_directory(ctx.engine) / f"{started:%Y%m%d-%H%M%S}-{kind}"
        )
        result = ImportResult(
            kind,
            str(source),
            None,
            dry_run,
            strict,
            False,
            unknown_columns=unknown,
            output_dir=directory,
        )
        digest, lines = _file_facts(source)
        expected_rows = (table.total_rows or 0) if table.format == "xlsx" else lines
        batch = {
            "kind": kind,
            "file_name": source.name,
            "file_hash": digest,
            "actor": ctx.actor.username,
            "strict": strict,
            "dry_run": dry_run,
            "started_at": started,
            "output_dir": str(directory),
        }
        sink = _Sink(directory, table.headers)
        try:
            with (
                ctx.engine.connect() as conn,
                _load_settings(conn, kind, expected_rows),
                _staging(conn, stages := _stages(ahead := helper_pays(conn, expected_rows), kind)),
            ):
                conn = conn.execution_options(**{WRITE_INTENT: True})
                with conn.begin() as transaction:
                    batch_id = conn.execute(
                        insert(ImportBatch)
                        .values(status="running", **batch)
                        .returning(ImportBatch.id)
                    ).scalar_one()
                    result.batch_id = batch_id
                    writer = WRITERS[kind](conn, spec, ctx.actor, batch_id, started)
                    writer.start(expected_rows, staged=stages)
                    checked = _checked(table, mapping, spec, writer, chunk_rows, ahead, stages)
                    _run(checked, writer, conn, sink, result, table.total_rows, progress)
                    failed = strict and result.rejected > 0
                    if not (dry_run or failed):
                        writer.finish()
                    _finish(conn, batch_id, ctx.actor.username, result, failed)
                    sink.close()  # before the commit: a full disk fails the import whole
                    if dry_run or failed:
                        transaction.rollback()
                    else:
                        result.committed = True
        except Exception as exc:
            result.committed = False
            full = _storage_full(exc, ctx.engine, source)
            if full is None:
                _record_failure(ctx.engine, batch, result, exc)
                raise
            with suppress(SQLAlchemyError, OSError):  # where there may be no room for it
                _record_failure(ctx.engine, batch, result, exc)
            raise full from None
        finally:
            with suppress(OSError):  # closed already, unless something failed before
                sink.close()
        if result.committed and result.ok >= ANALYZE_AFTER_ROWS:
            refresh_statistics(ctx.engine)
        result.rejects_path = sink.path("rejects.csv")
        result.warnings_path = sink.path("warnings.csv")
        if not result.committed:
            result.batch_id = _record_uncommitted(ctx.engine, batch, result)
        try:
            _write_summary(result)
        except OSError as exc:
            if not _full(exc) or not result.committed:
                raise
            raise DiskFull(
                t(
                    "importing:summary_full",
                    path=source,
                    batch=result.batch_id,
                    written=exc.filename or result.summary_path,
                    detail=exc.strerror,
                )
            ) from None
        return result


def _storage_full(exc: BaseException, engine: Engine, source: Path) -> DiskFull | None:
    """The clear error for an import stopped by a full disk (the database's, or that of a
    file it writes), or None for any other failure. Looks through wrapped errors (a
    driver's inside SQLAlchemy's, an error handed over by the helper process)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 8:
        seen.append(current)
        if isinstance(current, OSError) and _full(current):
            return DiskFull(
                t(
                    "importing:file_full",
                    path=source,
                    written=current.filename or "?",
                    detail=current.strerror or os.strerror(current.errno or 0),
                )
            )
        orig = getattr(current, "orig", None)
        if _database_full(orig if isinstance(orig, BaseException) else current):
            detail = str(orig or current).strip().splitlines()[0][:200]
            return DiskFull(
                t(
                    "importing:database_full",
                    database=_database_name(engine),
                    detail=detail,
                    path=source,
                )
            )
        current = (
            orig
            if isinstance(orig, BaseException) and orig is not current
            else current.__cause__ or current.__context__
        )
    return None


def _full(exc: OSError) -> bool:
    return exc.errno in _FULL_ERRNOS


def _database_full(exc: BaseException) -> bool:
    """SQLite's "database or disk is full" (or a write past a file-size limit), or
    PostgreSQL's disk_full ("could not extend file …: No space left on device")."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code in (_SQLITE_FULL, _SQLITE_IOERR_WRITE):
        return True
    if getattr(exc, "sqlstate", None) == _PG_DISK_FULL:
        return True
    return "database or disk is full" in str(exc)


def _database_name(engine: Engine) -> str:
    """The database as people know it: the SQLite file, else the URL without password."""
    if engine.dialect.name == "sqlite" and engine.url.database:
        return engine.url.database
    return engine.url.render_as_string(hide_password=True)


def _map_headers(spec: FileKind, table: Table) -> tuple[dict[str, int], list[str]]:
    mapping: dict[str, int] = {}
    unknown: list[str] = []
    for position, header in enumerate(table.headers):
        column = spec.find(header)
        if column is None or column.name in mapping:
            if header.strip():
                unknown.append(header)
            continue
        mapping[column.name] = position
    if not mapping:
        expected = ", ".join(f"{c.zh}/{c.name}" for c in spec.columns[:6])
        raise FileProblem(
            t("import_no_known_header", path=table.path, kind=spec.name, expected=expected)
        )
    return mapping, unknown


def _load_settings(conn: Connection, kind: str, expected_rows: int) -> AbstractContextManager[None]:
    """SQLite's bulk-load settings for a large file of a kind that fills tables in bulk
    (its writer links every row it writes to ids it looked up or just handed out)."""
    if WRITERS[kind].bulk_tables and is_large(expected_rows):
        return bulk_load_settings(conn)
    return nullcontext()


def _stages(ahead: bool, kind: str) -> bool:
    """Whether the helper process checking the file ahead also stages its new rows (see
    :mod:`crmlib.quality.staging`): for a kind whose writer can, on a Python that can."""
    return ahead and WRITERS[kind].stages and staging_available()


def _staging(conn: Connection, stages: bool) -> AbstractContextManager[None]:
    """The schema staged rows are loaded into, when a helper process stages them."""
    return attached(conn) if stages else nullcontext()


def helper_pays(conn: Connection, expected_rows: int) -> bool:
    """Whether a helper process should check the file: for a large file into SQLite, which
    writes inside this process, on a machine with a core to spare. PostgreSQL's server
    already works on the other core (measured: a helper made its import slower). Only a
    process with one thread forks (``crm import``, a script): in a notebook kernel, a lock
    held by another thread at the fork would stay locked in the helper for good."""
    return (
        expected_rows >= HELPER_ROWS
        and conn.dialect.name == "sqlite"
        and (os.cpu_count() or 1) > 1
        and threading.active_count() == 1
        and "fork" in mp.get_all_start_methods()
    )


@dataclass
class _Checked:
    """A chunk of the file, validated: its number of rows, the original cells of the rows
    rejected or still open to rejection (the rest are not needed again, and the helper
    process need not send them), the clean values, and what happened to its rows so far."""

    rows: int
    originals: pd.DataFrame
    clean: pd.DataFrame
    outcome: Outcome
    staged: Staged | None = None


def _run(
    checking: Generator[_Checked],
    writer: Writer,
    conn: Connection,
    sink: _Sink,
    result: ImportResult,
    total_rows: int | None,
    progress: Callable[[int, int | None], None] | None,
) -> None:
    with closing(checking) as checked:
        for chunk in checked:
            if chunk.staged is not None:
                writer.write_staged(chunk.staged, chunk.outcome)
            else:
                writer.write(chunk.clean, chunk.outcome)
            _record_rows(conn, result, chunk, sink)
            if progress:
                progress(result.rows, total_rows)


def _checked(
    table: Table,
    mapping: dict[str, int],
    spec: FileKind,
    writer: Writer,
    chunk_rows: int,
    ahead: bool,
    stages: bool,
) -> Generator[_Checked]:
    """Chunks of the file, validated, each with its outcome so far.

    A large file into SQLite (see :func:`helper_pays`) is read and validated in a second
    process, one chunk ahead, while this one writes: the second core does that Python
    work instead of waiting (a thread would not help: it measured slower, as Python's lock
    stalls every row the database writes). The helper never touches the database; it is
    forked, so it starts at once with the same settings and language; it cannot run more
    than about two chunks ahead (the pipe holds no more), and it ends when this process
    stops reading, however that happens.
    """
    checker = _Checker(table, mapping, spec, writer, chunk_rows)
    if not ahead:
        while (checked := checker.next()) is not None:
            yield checked
        return
    checker.stages = stages
    forking = mp.get_context("fork")
    receiver, sender = forking.Pipe(duplex=False)
    helper = forking.Process(
        target=checker.send_all, args=(sender, receiver), name="crm-import-check", daemon=True
    )
    helper.start()
    sender.close()
    table.let_go()
    try:
        while (message := _received(receiver)) is not None:
            if isinstance(message, BaseException):
                raise message
            yield message
    finally:
        receiver.close()
        helper.join(HELPER_STOP_S)
        if helper.is_alive():
            helper.kill()
            helper.join()


def _received(receiver: Any) -> Any:
    try:
        return receiver.recv()
    except EOFError:  # the helper was killed (out of memory, by hand)
        raise RuntimeError("the process checking the file stopped unexpectedly") from None


class _Checker:
    """Reads the file chunk by chunk, validates each and rejects repeated records."""

    def __init__(
        self,
        table: Table,
        mapping: dict[str, int],
        spec: FileKind,
        writer: Writer,
        chunk_rows: int,
    ) -> None:
        self.mapping = mapping
        self.spec = spec
        self.writer = writer
        self.repeats = _Repeats()
        self.chunks = _first_part_ahead(table.chunks(chunk_rows), FIRST_PART_ROWS)
        #: Whether the writer's new rows are staged here (in the helper process).
        self.stages = False

    def next(self) -> _Checked | None:
        chunk = next(self.chunks, None)
        if chunk is None:
            return None
        raw = pd.DataFrame(
            {name: chunk[position] for name, position in self.mapping.items()},
            index=chunk.index,
        )
        outcome = Outcome()
        clean = _validate(self.spec, raw, self.writer, outcome)
        self.repeats.reject(self.writer, clean, raw, outcome)
        rejected = [row for row, status in outcome.status.items() if status == "rejected"]
        kept = self.writer.may_reject(clean) | clean.index.isin(rejected)
        staged = self.writer.stage(clean, outcome) if self.stages else None
        if staged is not None:
            return _Checked(len(chunk), chunk[kept.to_numpy()], clean.iloc[:0], outcome, staged)
        return _Checked(len(chunk), chunk[kept.to_numpy()], clean, outcome)

    def send_all(self, sender: Any, receiver: Any) -> None:
        """In the helper process: every chunk, then None, or the error that stopped it.
        Sending fails once the importing process has stopped reading, which ends this."""
        receiver.close()
        try:
            while (checked := self.next()) is not None:
                sender.send(checked)
            sender.send(None)
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as exc:  # handed over, raised by the importing process
            with suppress(BrokenPipeError, ConnectionResetError):
                sender.send(_portable(exc.with_traceback(None)))


def _first_part_ahead(chunks: Iterator[pd.DataFrame], rows: int) -> Iterator[pd.DataFrame]:
    """The same chunks, the first one split after ``rows`` rows: with a helper process,
    the writer has nothing to do until the first chunk is checked, so a small one goes
    ahead."""
    first = next(chunks, None)
    if first is None:
        return
    if len(first) > rows:
        yield first.iloc[:rows]
        first = first.iloc[rows:]
    yield first
    yield from chunks


def _portable(exc: Exception) -> Exception:
    """``exc`` if it survives pickling, else a RuntimeError that says what it was."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


def _record_rows(conn: Connection, result: ImportResult, chunk: _Checked, sink: _Sink) -> None:
    outcome = chunk.outcome
    result.rows += chunk.rows
    counts = Counter(outcome.status.values())
    for status in ("created", "updated", "unchanged"):
        setattr(result, status, getattr(result, status) + counts[status])
    rejected = sorted(row for row, status in outcome.status.items() if status == "rejected")
    result.rejected += len(rejected)
    if rejected:
        rejects = sink.writer("rejects.csv", ["row_number", "reasons", *sink.headers])
        originals = chunk.originals.loc[rejected].astype(object).to_numpy().tolist()
        rows = []
        for row, original in zip(rejected, originals, strict=True):
            reasons = "; ".join(outcome.reasons[row])
            rejects.writerow([row, reasons, *original])
            raw = dict(zip(sink.headers, original, strict=False))
            rows.append(
                {
                    "batch_id": result.batch_id,
                    "row_number": row,
                    "reasons": reasons,
                    "raw": json.dumps(raw, ensure_ascii=False),
                }
            )
        bulk_insert(conn, ImportReject.__table__, rows)  # type: ignore[arg-type]
    kept = [
        (row, problem) for row, problem in outcome.warnings if outcome.status.get(row) != "rejected"
    ]
    result.warned += len({row for row, _ in kept})
    if kept:
        warnings = sink.writer("warnings.csv", ["row_number", "field", "value", "rule", "message"])
        for row, problem in kept:
            warnings.writerow([row, problem.field, problem.value, problem.rule, problem.message])
        bulk_insert(
            conn,
            ImportWarning.__table__,  # type: ignore[arg-type]
            [
                {
                    "batch_id": result.batch_id,
                    "row_number": row,
                    "field": p.field,
                    "raw_value": None if p.value is None else str(p.value),
                    "rule": p.rule,
                    "message": p.message,
                }
                for row, p in kept
            ],
        )


def _counts(result: ImportResult) -> dict[str, Any]:
    return {
        "rows_total": result.rows,
        "rows_imported": result.ok,
        "rows_created": result.created,
        "rows_updated": result.updated,
        "rows_unchanged": result.unchanged,
        "rows_rejected": result.rejected,
        "rows_warned": result.warned,
    }


def _finish(
    conn: Connection, batch_id: int, actor: str, result: ImportResult, failed: bool
) -> None:
    status = "dry_run" if result.dry_run else ("failed_strict" if failed else "committed")
    conn.execute(
        update(ImportBatch)
        .where(ImportBatch.id == batch_id)
        .values(status=status, finished_at=clock.now(), **_counts(result))
    )
    audit.record(
        conn,
        actor=actor,
        action="import",
        entity=result.kind,
        ref=f"batch:{batch_id}",
        batch_id=batch_id,
        new_value=json.dumps(_counts(result), ensure_ascii=False),
    )


def _record_uncommitted(engine: Engine, batch: dict[str, Any], result: ImportResult) -> int:
    """Dry runs and strict failures are rolled back, but the attempt itself is recorded."""
    status = "dry_run" if result.dry_run else "failed_strict"
    with engine.begin() as conn:
        batch_id = conn.execute(
            insert(ImportBatch)
            .values(status=status, finished_at=clock.now(), **batch, **_counts(result))
            .returning(ImportBatch.id)
        ).scalar_one()
        audit.record(
            conn,
            actor=batch["actor"],
            action="import",
            entity=result.kind,
            ref=f"batch:{batch_id}",
            batch_id=batch_id,
            new_value=json.dumps({"status": status, **_counts(result)}),
        )
    return int(batch_id)


def _record_failure(
    engine: Engine, batch: dict[str, Any], result: ImportResult, exc: Exception
) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(ImportBatch).values(
                status="failed",
                error=f"{type(exc).__name__}: {exc}"[:2000],
                finished_at=clock.now(),
                **batch,
                **_counts(result),
            )
        )


def _write_summary(result: ImportResult) -> None:
    if result.output_dir is None:
        return
    result.output_dir.mkdir(parents=True, exist_ok=True)
    data = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(result).items()}
    data["ok"] = result.ok
    (result.output_dir / "summary.json").write_text(
        json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8"
    )
