"""Reports and dashboards: the report notebooks run the same way in JupyterLab, live in
Voila and on a schedule through papermill (see :mod:`.runner`, :mod:`.schedule`,
:mod:`.dashboards`, :mod:`.voila`).

``ws.reports`` is the workspace's entry point::

    ws.reports.run("customer_profile", file="parameters/customer_profile_east.yaml")
    ws.reports.history()
    ws.reports.run_due("parameters/schedule.yaml")   # what `crm report due` does
    ws.reports.build("kpi_dashboard", period="previous_quarter", region="华东")   # a Dashboard
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..context import Context
from .catalogue import NOTEBOOKS, REPORTS, Analytics, Report, report
from .runner import FORMATS, QualityGate, Runner, RunResult
from .schedule import Entry, due, load

if TYPE_CHECKING:
    from .dashboards import Dashboard

__all__ = [
    "FORMATS",
    "NOTEBOOKS",
    "REPORTS",
    "Analytics",
    "Entry",
    "QualityGate",
    "Report",
    "Reports",
    "RunResult",
    "report",
]


class Reports:
    """Report runs, their history and the schedule, as one workspace user; dashboards
    built from ``analytics``, the workspace's figures (the workspace passes itself)."""

    def __init__(self, ctx: Context, analytics: Analytics) -> None:
        self._ctx = ctx
        self._analytics = analytics

    def runner(
        self, *, notebooks: str | Path | None = None, output: str | Path | None = None
    ) -> Runner:
        """A runner for several reports in a row (close it, or use it in a ``with`` block:
        it keeps the browser that prints PDFs open between runs)."""
        return Runner(self._ctx, notebooks=notebooks, output=output)

    def run(
        self,
        name: str,
        parameters: Mapping[str, Any] | None = None,
        *,
        file: str | Path | None = None,
        formats: Sequence[str] = FORMATS,
        skip_if_empty: bool = False,
        quality_gate: Mapping[str, Any] | QualityGate | None = None,
        output: str | Path | None = None,
    ) -> RunResult:
        """Run report ``name`` (see :meth:`Runner.run`) into ``output`` (default
        ``reports/``)."""
        with self.runner(output=output) as runner:
            return runner.run(
                name,
                parameters,
                file=file,
                formats=formats,
                skip_if_empty=skip_if_empty,
                quality_gate=quality_gate,
            )

    def history(self, name: str | None = None, limit: int = 50) -> pd.DataFrame:
        """The latest report runs, newest first: the user's own, a manager's team's,
        everyone's for a role that sees all customers (see :meth:`Runner.history`)."""
        return Runner(self._ctx).history(name, limit)

    def due(self, schedule: str | Path, now: datetime | None = None) -> list[Entry]:
        """The entries of a schedule file that are due now."""
        return due(self._ctx, load(schedule), now)

    def run_due(
        self, schedule: str | Path, now: datetime | None = None, *, output: str | Path | None = None
    ) -> list[RunResult]:
        """Run every due entry of a schedule file, one after the other; each run is
        recorded whatever happens to the others."""
        with self.runner(output=output) as runner:
            return [
                runner.run(
                    e.report,
                    file=e.parameters,
                    formats=e.formats,
                    skip_if_empty=e.skip_if_empty,
                    quality_gate=e.quality_gate,
                    schedule=e.name,
                )
                for e in self.due(schedule, now)
            ]

    def build(self, name: str, **parameters: Any) -> Dashboard:
        """The dashboard ``name`` for ``parameters`` in this Python session (title,
        headline KPIs, charts and tables), as the notebooks show it."""
        from .dashboards import build

        return build(self._analytics, name, **parameters)
