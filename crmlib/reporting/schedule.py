"""The report schedule: ``parameters/schedule.yaml`` names each scheduled report with a cron
expression (business time, Asia/Shanghai), its notebook, parameter file, output formats and
options; ``crm report due`` (from cron or a systemd timer) runs the entries that are due.

An entry is due when its cron expression has fired since the entry last ran (any outcome),
or when it has never run; a machine that was off catches up once, not once per missed
time. Example::

    reports:
      kpi_monthly:
        report: kpi_dashboard
        cron: "0 7 1 * *"           # 07:00 on the first of every month
        parameters: kpi_monthly.yaml  # relative to this file
        formats: [html, pdf, xlsx]
        skip_if_empty: true
        quality_gate: {threshold: 0.8, action: warn}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from croniter import croniter
from sqlalchemy import select

from .. import clock
from ..context import Context
from ..errors import FieldError, ValidationError
from ..i18n import t
from ..store.models import ReportRun
from .catalogue import REPORTS
from .parameters import load_yaml, read_file
from .runner import FORMATS, QualityGate, check_formats

KEYS = ("report", "cron", "parameters", "formats", "skip_if_empty", "quality_gate")


@dataclass(frozen=True)
class Entry:
    """One scheduled report."""

    name: str
    report: str
    cron: str
    parameters: Path | None
    formats: tuple[str, ...] = FORMATS
    skip_if_empty: bool = False
    quality_gate: QualityGate | None = None

    def last_fire(self, now: datetime) -> datetime:
        """The latest time at or before ``now`` the cron expression fired."""
        fired: datetime = croniter(self.cron, now).get_prev(datetime)
        if croniter.match(self.cron, now):
            return now.replace(second=0, microsecond=0)
        return fired


def _entry(name: str, raw: Any, folder: Path) -> Entry:
    def wrong(key: str, value: Any, rule: str, message: str) -> ValidationError:
        return ValidationError(FieldError(f"{name}.{key}", value, rule, message))

    if not isinstance(raw, dict):
        raise wrong("", raw, "schedule", t("schedule:file", path=folder))
    unknown = [k for k in raw if k not in KEYS]
    if unknown:
        raise wrong(
            unknown[0], raw[unknown[0]], "schedule_key", t("schedule:keys", known=", ".join(KEYS))
        )
    spec = REPORTS.get(str(raw.get("report", name)))
    cron = str(raw.get("cron", ""))
    if not croniter.is_valid(cron):
        raise wrong("cron", cron, "cron", t("schedule:cron"))
    file = raw.get("parameters")
    path = (folder / str(file)) if file else None
    if path is not None and not path.is_file():
        raise wrong("parameters", str(file), "file", t("schedule:missing"))
    if path is not None:
        read_file(path)  # a bad parameter file stops the schedule here, not mid-batch
    return Entry(
        name=name,
        report=spec.name,
        cron=cron,
        parameters=path,
        formats=check_formats(raw.get("formats") or FORMATS),
        skip_if_empty=bool(raw.get("skip_if_empty", False)),
        quality_gate=QualityGate.of(raw.get("quality_gate")),
    )


def load(path: str | Path) -> list[Entry]:
    """Every entry of a schedule file, checked: report, cron, parameter file, formats."""
    path = Path(path)
    data = load_yaml(path)[0] or {}
    entries = data.get("reports") if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        raise ValidationError(FieldError("file", str(path), "yaml", t("schedule:file", path=path)))
    return [_entry(str(name), raw, path.parent) for name, raw in entries.items()]


def last_runs(ctx: Context) -> dict[str, datetime]:
    """When each schedule entry last started a run (any outcome)."""
    stmt = select(ReportRun.parameters, ReportRun.started_at).order_by(ReportRun.started_at)
    latest: dict[str, datetime] = {}
    with ctx.reading() as conn:
        for parameters, started in conn.execute(stmt):
            try:
                name = json.loads(parameters).get("schedule")
            except (ValueError, AttributeError):
                continue
            if name:
                latest[name] = started
    return latest


def due(ctx: Context, entries: list[Entry], now: datetime | None = None) -> list[Entry]:
    """The entries whose cron expression fired since they last ran, or that never ran."""
    now = now or clock.now()
    latest = last_runs(ctx)
    return [e for e in entries if e.name not in latest or latest[e.name] < e.last_fire(now)]
