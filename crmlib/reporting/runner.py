"""Running a report notebook with papermill: parameters, gates, outputs and run history.

A run executes ``notebooks/reports/<name>.ipynb`` with a parameter file in a fresh kernel
that opens the same database as the same user, then writes into
``reports/<name>/<date>/``: the executed notebook, HTML without code (charts inline, no
network), PDF and the Excel workbook of the tables behind the charts. Files are built in a
scratch folder and moved in only when everything succeeded, so a failed run keeps the last
good output; its executed notebook goes to ``reports/<name>/failed/`` and the reason into
the run record (``report_runs``: parameters, status, duration, outputs, error).
Without Chromium (a fresh machine) a run still writes its HTML and Excel: it ends as a
``warning`` with no PDF, and its record says in one line how to enable PDFs.

Before executing, two optional checks may skip the run: ``skip_if_empty`` (nothing in the
filters: no customers, leads or tickets) and a data-quality gate (the scorecard below a
threshold: ``action="skip"``, or ``"warn"`` to run with a warning on the report).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select

from .. import clock
from ..config import home, notebooks_folder
from ..context import Context
from ..errors import CRMError, FieldError, ValidationError
from ..i18n import speaking, t
from ..quality.scorecard import scorecard
from ..store.models import ReportRun, User
from . import parameters as params
from .catalogue import NOTEBOOKS, REPORTS
from .dashboards import NOTES_ENV, OUTPUT_ENV, SUMMARY_FILE, TABLES_FILE
from .exporting import PdfPrinter, missing_chromium
from .population import population

FORMATS = ("html", "pdf", "xlsx")
#: Longest a single notebook cell may run, in seconds.
CELL_TIMEOUT = 1800
#: How long the data-quality score measured for one gated report serves the next ones.
SCORE_MAX_AGE_S = 900
_environment_lock = threading.Lock()


@dataclass(frozen=True)
class QualityGate:
    """Skip the report, or warn on it, when the data-quality scorecard is below
    ``threshold`` (0..1)."""

    threshold: float
    action: str = "warn"

    @classmethod
    def of(cls, value: Mapping[str, Any] | QualityGate | None) -> QualityGate | None:
        if value is None or isinstance(value, QualityGate):
            return value
        action = str(value.get("action", "warn"))
        if action not in ("warn", "skip"):
            raise ValidationError(
                FieldError(
                    "quality_gate.action", action, "gate_action", t("report_run:gate_action")
                )
            )
        try:
            threshold = float(value.get("threshold", 0.8))
        except (TypeError, ValueError):
            threshold = -1.0
        if not 0 <= threshold <= 1:
            raise ValidationError(
                FieldError(
                    "quality_gate.threshold",
                    value.get("threshold"),
                    "threshold",
                    t("report_run:threshold"),
                )
            )
        return cls(threshold, action)


@dataclass(frozen=True)
class RunResult:
    """What one run did: its record id, status, files written and why it did not succeed."""

    id: int
    report: str
    status: str
    outputs: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    duration_s: float = 0.0
    #: Formats asked for but not made, with why and how to enable them (PDF without Chromium).
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "warning")

    @property
    def remarks(self) -> str | None:
        """``error`` without the reasons in ``skipped``, which a batch prints once."""
        text = self.error or ""
        for reason in self.skipped.values():
            text = text.replace(reason, "")
        return text.strip("; ") or None


def check_formats(formats: Sequence[str]) -> tuple[str, ...]:
    wrong = [f for f in formats if f not in FORMATS]
    if wrong:
        choices = ", ".join(FORMATS)
        raise ValidationError(
            FieldError(
                "formats", ", ".join(wrong), "formats", t("report_run:formats", choices=choices)
            )
        )
    return tuple(formats)


def database_url(ctx: Context) -> str:
    """The workspace's database as the kernel must open it (a relative SQLite path made
    absolute, since the kernel may start elsewhere)."""
    url = ctx.engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        url = url.set(database=str(Path(url.database).resolve()))
    return url.render_as_string(hide_password=False)


@contextlib.contextmanager
def _kernel_environment(values: Mapping[str, str]) -> Iterator[None]:
    """The report kernel inherits this process's environment: set what it must know for
    the run (database, user, output folder), one run at a time."""
    with _environment_lock:
        saved = {key: os.environ.get(key) for key in values}
        os.environ.update(values)
        try:
            yield
        finally:
            for key, old in saved.items():
                if old is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = old


def _error_text(exc: BaseException) -> str:
    ename, evalue = getattr(exc, "ename", None), getattr(exc, "evalue", None)
    if ename:
        return f"{ename}: {evalue}"
    return f"{type(exc).__name__}: {exc}"


class Runner:
    """Runs report notebooks for one workspace user and keeps their history."""

    def __init__(
        self, ctx: Context, *, notebooks: str | Path | None = None, output: str | Path | None = None
    ) -> None:
        self._ctx = ctx
        self.notebooks = Path(
            notebooks or os.environ.get("CRM_NOTEBOOKS") or notebooks_folder() / NOTEBOOKS.name
        )
        self.output = Path(output or os.environ.get("CRM_REPORTS") or home() / "reports")
        self._score: tuple[float, float] | None = None  # (when measured, score)
        self._printer: PdfPrinter | None = None
        self._no_pdf: str | None = None  # why this runner prints no PDF, once found

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the browser that printed this runner's PDFs, if any."""
        if self._printer is not None:
            self._printer.close()
            self._printer = None

    def _pdf(self, page_html: Path, target: Path) -> Path | None:
        """``page_html`` printed to ``target`` by the runner's one browser, started on the
        first PDF and kept for the next runs of the batch; None without Chromium (the
        reason, with how to enable PDFs, is then in ``_no_pdf``): the run keeps its HTML
        and Excel."""
        if self._printer is None:
            missing = missing_chromium()
            if missing is not None:
                self._no_pdf = t("report_run:pdf_skipped", path=missing)
                return None
            self._printer = PdfPrinter()
        return self._printer.print(page_html, target)

    # -- history ----------------------------------------------------------------------

    def _start(self, name: str, asked: dict[str, Any]) -> int:
        with self._ctx.session("report_run") as session:
            run = ReportRun(
                report=name,
                parameters=json.dumps(asked, ensure_ascii=False, default=str),
                status="running",
                actor=self._ctx.actor.username,
                started_at=clock.now(),
            )
            session.add(run)
            session.flush()
            return int(run.id)

    def _finish(
        self,
        run_id: int,
        name: str,
        status: str,
        started: float,
        outputs: dict[str, str] | None = None,
        error: str | None = None,
        skipped: dict[str, str] | None = None,
    ) -> RunResult:
        duration = round(time.monotonic() - started, 3)
        with self._ctx.session("report_run") as session:
            run = session.get(ReportRun, run_id)
            assert run is not None
            run.status = status
            run.finished_at = clock.now()
            run.duration_s = duration
            run.outputs = json.dumps(outputs, ensure_ascii=False) if outputs else None
            run.error = error
        return RunResult(run_id, name, status, outputs or {}, error, duration, skipped or {})

    def history(self, name: str | None = None, limit: int = 50) -> pd.DataFrame:
        """The latest runs the user may see, newest first: id, report, status, started,
        duration, actor, parameters, outputs and error.

        Runs are scoped like the data, by who ran them: a rep sees their own runs, a
        manager their team's, a role that sees all customers everyone's (so the scheduled
        runs, made as the user ``crm report due`` runs as, show to that user and to roles
        of scope ``all``)."""
        stmt = (
            select(
                ReportRun.id,
                ReportRun.report,
                ReportRun.status,
                ReportRun.started_at,
                ReportRun.duration_s,
                ReportRun.actor,
                ReportRun.parameters,
                ReportRun.outputs,
                ReportRun.error,
            )
            .order_by(ReportRun.started_at.desc(), ReportRun.id.desc())
            .limit(limit)
        )
        if name is not None:
            stmt = stmt.where(ReportRun.report == name)
        owners = self._ctx.scope.owner_ids()
        if owners is not None:
            users = select(User.username).where(User.id.in_(owners))
            stmt = stmt.where(ReportRun.actor.in_(users))
        return self._ctx.frame(stmt)

    # -- running ----------------------------------------------------------------------

    def quality_score(self) -> float:
        """The overall data-quality score the gates compare with: measured once for the
        gated reports of a batch (a scan of every customer; report runs do not change
        it), again when the last measure is older than ``SCORE_MAX_AGE_S``."""
        now = time.monotonic()
        if self._score is None or now - self._score[0] > SCORE_MAX_AGE_S:
            self._score = (now, scorecard(self._ctx, save=False).overall)
        return self._score[1]

    def run(
        self,
        name: str,
        parameters: Mapping[str, Any] | None = None,
        *,
        file: str | Path | None = None,
        formats: Sequence[str] = FORMATS,
        skip_if_empty: bool = False,
        quality_gate: Mapping[str, Any] | QualityGate | None = None,
        schedule: str | None = None,
    ) -> RunResult:
        """Run report ``name`` with the parameter ``file`` (YAML) and/or ``parameters``
        (which win); every run is recorded, whatever its outcome. Bad arguments (an unknown
        report, format or gate) raise before anything runs."""
        with speaking(self._ctx.lang):
            spec = REPORTS.get(name)
            formats = check_formats(formats)
            gate = QualityGate.of(quality_gate)
            values = {**(params.read_file(file) if file else {}), **(parameters or {})}
            asked = {
                "values": values,
                "file": str(file) if file else None,
                "schedule": schedule,
                "formats": list(formats),
            }
            started = time.monotonic()
            run_id = self._start(name, asked)
            try:
                clean = params.normalise(values)
                filters = params.filters(clean)
                notes: list[str] = []
                if gate is not None:
                    score = self.quality_score()
                    if score == score and score < gate.threshold:  # NaN: nothing to judge
                        reason = t("report_run:quality_low", score=score, threshold=gate.threshold)
                        if gate.action == "skip":
                            error = t("report_run:quality_skip", reason=reason)
                            return self._finish(run_id, name, "skipped", started, error=error)
                        notes.append(
                            t("report_run:quality_warn", lang=clean["lang"], reason=reason)
                        )
                if skip_if_empty and population(self._ctx, spec.population, **filters) == 0:
                    error = t("report_run:empty", kind=spec.population)
                    return self._finish(run_id, name, "skipped", started, error=error)
                stem = Path(file).stem if file else name
                skipped: dict[str, str] = {}
                outputs = self._execute(run_id, name, stem, clean, notes, formats, skipped)
            except Exception as exc:  # every failure is recorded with its reason
                kept: dict[str, str] | None = getattr(exc, "outputs", None)
                error = str(exc) if isinstance(exc, CRMError) else _error_text(exc)
                return self._finish(run_id, name, "failed", started, kept, error)
            # A format that could not be made is said in the run's record, beside the notes.
            remarks = [*notes, *skipped.values()]
            status = "warning" if remarks else "ok"
            return self._finish(
                run_id, name, status, started, outputs, "; ".join(remarks) or None, skipped
            )

    def _execute(
        self,
        run_id: int,
        name: str,
        stem: str,
        clean: dict[str, Any],
        notes: list[str],
        formats: Sequence[str],
        skipped: dict[str, str],
    ) -> dict[str, str]:
        import nbformat
        import papermill

        from ..analytics.charts import BUNDLE_ENV, bundle_file
        from .exporting import notebook_html

        spec = REPORTS.get(name)
        notebook = self.notebooks / spec.notebook
        home = self.output / name
        scratch = home / f".run-{run_id}"
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True)
        executed = scratch / f"{stem}.ipynb"
        environment = {
            "CRM_DATABASE_URL": database_url(self._ctx),
            "CRM_USER": self._ctx.actor.username,
            OUTPUT_ENV: str(scratch.resolve()),
            NOTES_ENV: json.dumps(notes, ensure_ascii=False),
            # The chart libraries, built once by this process for all its runs' kernels.
            BUNDLE_ENV: str(bundle_file()),
        }
        try:
            with _kernel_environment(environment):
                papermill.execute_notebook(
                    str(notebook),
                    str(executed),
                    parameters=clean,
                    kernel_name="python3",
                    progress_bar=False,
                    log_output=False,
                    execution_timeout=CELL_TIMEOUT,
                    report_mode=True,
                )
            title = params.title(spec.title_name, clean)
            node = nbformat.read(executed, as_version=4)
            node.metadata["title"] = title
            nbformat.write(node, executed)
            files = {"notebook": executed}
            if "html" in formats or "pdf" in formats:
                files["html"] = notebook_html(executed, scratch / f"{stem}.html", title)
            if "pdf" in formats:
                pdf = self._pdf(files["html"], scratch / f"{stem}.pdf")
                if pdf is None:
                    skipped["pdf"] = self._no_pdf or ""
                else:
                    files["pdf"] = pdf
            if "html" not in formats:
                files.pop("html", None)
            if "xlsx" in formats:
                files["xlsx"] = (scratch / TABLES_FILE).rename(scratch / f"{stem}.xlsx")
        except BaseException as exc:
            if executed.exists():
                failed = home / "failed"
                failed.mkdir(parents=True, exist_ok=True)
                kept = failed / f"{stem}-{clock.now():%Y%m%d-%H%M%S}-{run_id}.ipynb"
                executed.replace(kept)
                exc.outputs = {"failed_notebook": str(kept)}  # type: ignore[attr-defined]
            shutil.rmtree(scratch, ignore_errors=True)
            raise
        final = home / clock.today().isoformat()
        final.mkdir(parents=True, exist_ok=True)
        outputs = {}
        for kind, path in files.items():
            target = final / path.name
            path.replace(target)
            outputs[kind] = str(target)
        shutil.rmtree(scratch, ignore_errors=True)
        return outputs


__all__ = ["FORMATS", "SUMMARY_FILE", "QualityGate", "RunResult", "Runner"]
