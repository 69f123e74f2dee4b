"""Importing files: every row ends imported or rejected with all of its reasons.

The whole import runs in one transaction, so a failed or killed import leaves the
database as it was, ``strict`` commits nothing when any row fails and ``dry_run`` commits
nothing at all. Rows are read, validated and written in chunks, so memory stays bounded
however long the file. A value that breaks its field's rule rejects its row, as the API
refuses it (:mod:`.checking`), and so does a reference that names nothing (a customer, a
user, a campaign). Rejected rows go to ``rejects.csv`` (original values, row number,
reasons) and to ``import_rejects``; ``summary.json`` sits beside it.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
from collections import Counter
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, closing, nullcontext, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Connection, Engine, insert, update
from sqlalchemy.exc import SQLAlchemyError

from .. import audit, clock
from ..context import Context
from ..errors import DiskFull
from ..i18n import current_lang, speaking, t
from ..settings import get_setting
from ..store.bulk_load import bulk_load_settings
from ..store.engine import WRITE_INTENT, refresh_statistics
from ..store.models import ImportBatch, ImportReject
from ..team_audit import tell_import
from .bulk import is_large
from .catalogue import file_kind
from .checking import Checked, Checker
from .custom_kinds import extended
from .engines import import_engine
from .formulas import SafeWriter
from .kinds import FileKind, header_key
from .reading import FileProblem, Table, open_table
from .writers.base import Writer, bulk_insert

DEFAULT_CHUNK_ROWS = 50_000
#: After an import this large, SQLite's planner statistics are refreshed.
ANALYZE_AFTER_ROWS = 10_000
#: What a full disk looks like: errno of a write, SQLite's result code, PostgreSQL's SQLSTATE.
_FULL_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}
#: SQLITE_FULL, and SQLITE_IOERR_WRITE, which a write past a file-size limit (EFBIG) gives.
_SQLITE_FULL, _SQLITE_IOERR_WRITE = 13, 778
_PG_DISK_FULL = "53100"


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
    unknown_columns: list[str] = field(default_factory=list)
    #: For each unknown column, the fields it may have meant, closest first.
    suggestions: dict[str, list[str]] = field(default_factory=dict)
    output_dir: Path | None = None
    rejects_path: Path | None = None
    #: The import engine that ran it (see :mod:`crmlib.transfer.engines`).
    engine: str = ""

    @property
    def ok(self) -> int:
        return self.created + self.updated + self.unchanged

    @property
    def summary_path(self) -> Path | None:
        return self.output_dir / "summary.json" if self.output_dir else None

    def _unknown_column_lines(self) -> list[str]:
        """One line per unknown column with the fields it may have meant, and how to map
        one: read in the dry run, before anything is lost."""
        spec = file_kind(self.kind).spec
        lines = []
        for header in self.unknown_columns:
            names = self.suggestions.get(header, [])
            fields = " / ".join(spec.column(name).header(current_lang()) for name in names)
            key = "import_unknown_column_suggested" if fields else "import_unknown_column"
            lines.append(t(key, column=header, fields=fields))
        lines.append(t("import_map_hint"))
        return lines

    def describe(self, lang: str | None = None) -> str:
        """One paragraph for people: counts, what was committed, where the rejects are."""
        with speaking(lang or "zh"):
            lines = [
                t(
                    "import_counts",
                    **{
                        k: getattr(self, k)
                        for k in ("rows", "created", "updated", "unchanged", "rejected")
                    },
                )
            ]
            if self.unknown_columns:
                lines.append(t("import_unknown_columns", columns=", ".join(self.unknown_columns)))
                lines.extend(self._unknown_column_lines())
            state = (
                "import_dry_run"
                if self.dry_run
                else ("import_committed" if self.committed else "import_strict_failed")
            )
            lines.append(t(state))
            if self.rejects_path:
                lines.append(t("import_rejects_at", path=self.rejects_path))
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
    """Rejects, streamed to CSV files opened on first use. A write that fails
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
    engine: str | None = None,
    mapping: Mapping[str, str] | None = None,
    allow_duplicates: bool = False,
) -> ImportResult:
    """Import ``path`` as records of ``kind`` for the acting user; see the module docstring.

    ``progress`` is called after each chunk with the rows done and the total (if known).
    ``engine`` names the import engine (see :mod:`crmlib.transfer.engines`; default: the
    ``CRM_IMPORT_ENGINE`` setting, else ``pipelined``). ``mapping`` names the field of
    headers the kind does not know (``{"客户说明": "remarks"}``: a field name or any header
    of the field); it goes before the ``import_synonyms`` setting, which goes before the
    built-in words of :data:`crmlib.transfer.kinds.SYNONYMS`. A new customer that exactly
    duplicates a stored one or an earlier row (:mod:`crmlib.domain.customers.duplicates`)
    is rejected, unless ``allow_duplicates``: then it is created and the audit log says so.
    """
    with speaking(ctx.lang):
        builtin = file_kind(kind)
        runner = import_engine(engine)
        ctx.scope.require(getattr(ctx.actor.role, builtin.permission), f"import {kind}")
        with ctx.reading() as conn:
            extra = get_setting(conn, "import_synonyms").get(kind, {})
            entry = extended(conn, builtin)  # the kind's custom fields are columns too
        spec = entry.spec
        source = Path(path)
        table = open_table(source, sheet=sheet, sheet_hints=(spec.zh, spec.en, spec.name))
        columns, unknown = _map_headers(spec, table, {**extra, **(mapping or {})})
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
            suggestions={h: [c.name for c in builtin.spec.suggest(h)] for h in unknown},
            output_dir=directory,
            engine=runner.name,
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
                _load_settings(conn, entry.writer, expected_rows),
                runner.prepared(conn, entry.writer) as stages,
            ):
                conn = conn.execution_options(**{WRITE_INTENT: True})
                with conn.begin() as transaction:
                    batch_id = conn.execute(
                        insert(ImportBatch)
                        .values(status="running", **batch)
                        .returning(ImportBatch.id)
                    ).scalar_one()
                    result.batch_id = batch_id
                    tell_import(conn, batch_id)
                    writer = entry.writer(
                        conn,
                        spec,
                        ctx.actor,
                        batch_id,
                        started,
                        source=entry.source,
                        allow_duplicates=allow_duplicates,
                    )
                    writer.start(expected_rows, staged=stages)
                    checker = Checker(table, columns, spec, writer, chunk_rows, stages=stages)
                    with closing(runner.checked(checker)) as checked:
                        for chunk in checked:
                            _write(writer, chunk)
                            _record_rows(conn, result, chunk, sink)
                            if progress:
                                progress(result.rows, table.total_rows)
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
    driver's inside SQLAlchemy's, an error raised while checking the file)."""
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


def _map_headers(
    spec: FileKind, table: Table, mapping: Mapping[str, str]
) -> tuple[dict[str, int], list[str]]:
    """Each field's position in the file, and the headers that name no field (or one an
    earlier column named already). ``mapping`` (header to field) goes before the kind's
    own words."""
    extra = spec.mapped(mapping)
    positions: dict[str, int] = {}
    unknown: list[str] = []
    for position, header in enumerate(table.headers):
        column = extra.get(header_key(header)) or spec.find(header)
        if column is None or column.name in positions:
            if header.strip():
                unknown.append(header)
            continue
        positions[column.name] = position
    if not positions:
        expected = ", ".join(f"{c.zh}/{c.name}" for c in spec.columns[:6])
        raise FileProblem(
            t("import_no_known_header", path=table.path, kind=spec.name, expected=expected)
        )
    return positions, unknown


def _load_settings(
    conn: Connection, writer: type[Writer], expected_rows: int
) -> AbstractContextManager[None]:
    """SQLite's bulk-load settings for a large file of a kind that fills tables in bulk
    (its writer links every row it writes to ids it looked up or just handed out)."""
    if writer.bulk_tables and is_large(expected_rows):
        return bulk_load_settings(conn)
    return nullcontext()


def _write(writer: Writer, chunk: Checked) -> None:
    """One checked chunk into the database: its staged new rows copied, or its clean
    values written."""
    if chunk.staged is not None:
        writer.write_staged(chunk.staged, chunk.outcome)
    else:
        writer.keep_stored(chunk.clean, chunk.outcome)
        writer.write(chunk.clean, chunk.outcome)


def _record_rows(conn: Connection, result: ImportResult, chunk: Checked, sink: _Sink) -> None:
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


def _counts(result: ImportResult) -> dict[str, Any]:
    return {
        "rows_total": result.rows,
        "rows_imported": result.ok,
        "rows_created": result.created,
        "rows_updated": result.updated,
        "rows_unchanged": result.unchanged,
        "rows_rejected": result.rejected,
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
