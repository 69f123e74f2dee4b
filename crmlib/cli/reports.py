"""``crm report run|due|history`` and ``crm dashboards``: thin over :mod:`crmlib.reporting`."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import click

from ..config import home, notebooks_folder
from ..i18n import current_lang, t
from ..reference.enums import REPORT_OUTPUT, REPORT_RUN_STATUS
from ..reporting import FORMATS, NOTEBOOKS, REPORTS, RunResult
from ..reporting import voila as voila_app
from ..serving import guard, run_server
from ..ui.kernels import kernel_settings
from .base import Settings, friendly_errors, guard_options, main, pass_settings

DEFAULT_SCHEDULE = Path("parameters") / "schedule.yaml"


def _title(report: str) -> str:
    """A report's name as people read it (a report no longer in the catalogue: its name)."""
    return REPORTS[report].title_name(current_lang()) if report in REPORTS else report


def _output(kind: str, path: str) -> str:
    return t("reports_cli:output", kind=REPORT_OUTPUT.label(kind, current_lang()), path=path)


def _echo(result: RunResult) -> None:
    status = REPORT_RUN_STATUS.label(result.status, current_lang())
    click.echo(
        t(
            "reports_cli:run",
            id=result.id,
            report=_title(result.report),
            status=status,
            seconds=f"{result.duration_s:.1f}",
        )
    )
    for kind, path in result.outputs.items():
        click.echo(f"  {_output(kind, str(path))}")
    for kind in result.skipped:
        click.echo(f"  {_output(kind, t('reports_cli:not_made'))}")
    if result.remarks:
        click.echo(f"  {result.remarks}", err=not result.ok)


def _echo_batch(results: list[RunResult]) -> None:
    """Each run, then once for the batch why a format was not made (no Chromium)."""
    for result in results:
        _echo(result)
    for reason in dict.fromkeys(r for result in results for r in result.skipped.values()):
        click.echo(reason)


@main.group("report")
def report_group() -> None:
    """Run report notebooks with parameter files; the schedule; the run history."""


@report_group.command("run")
@click.argument("name", type=click.Choice(list(REPORTS)))
@click.option(
    "-f",
    "--file",
    "file",
    type=click.Path(dir_okay=False),
    help="papermill parameter file (YAML), e.g. parameters/kpi_monthly.yaml.",
)
@click.option(
    "-p",
    "--parameter",
    "pairs",
    multiple=True,
    metavar="KEY=VALUE",
    help="A parameter, over the file's (repeatable): -p region=华东.",
)
@click.option(
    "--format",
    "formats",
    multiple=True,
    type=click.Choice(FORMATS),
    help="Output formats (default all: html, pdf, xlsx).",
)
@click.option("--skip-if-empty", is_flag=True, help="Skip when the filters select nothing.")
@click.option("--min-quality", type=float, help="Data-quality gate: the scorecard threshold 0-1.")
@click.option(
    "--on-low-quality",
    type=click.Choice(["warn", "skip"]),
    default="warn",
    show_default=True,
    help="What the gate does below the threshold.",
)
@click.option(
    "--output",
    type=click.Path(file_okay=False),
    help="Output folder (default: the workspace's reports/).",
)
@pass_settings
@friendly_errors
def report_run(
    settings: Settings,
    name: str,
    file: str | None,
    pairs: tuple[str, ...],
    formats: tuple[str, ...],
    skip_if_empty: bool,
    min_quality: float | None,
    on_low_quality: str,
    output: str | None,
) -> None:
    """Run report NAME into reports/NAME/DATE/ and record the run."""
    given = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise click.BadParameter(t("reports_cli:not_key_value", pair=pair), param_hint="-p")
        given[key.strip()] = value
    gate = {"threshold": min_quality, "action": on_low_quality} if min_quality is not None else None
    with settings.workspace() as ws:
        result = ws.reports.run(
            name,
            given,
            file=file,
            formats=formats or FORMATS,
            skip_if_empty=skip_if_empty,
            quality_gate=gate,
            output=Path(output) if output else None,
        )
    _echo_batch([result])
    if result.status == "failed":
        sys.exit(1)


@report_group.command("due")
@click.option(
    "-s",
    "--schedule",
    type=click.Path(dir_okay=False),
    help=f"The schedule file (default: the workspace's {DEFAULT_SCHEDULE}).",
)
@click.option("--dry-run", is_flag=True, help="List what is due without running it.")
@click.option(
    "--output",
    type=click.Path(file_okay=False),
    help="Output folder (default: the workspace's reports/).",
)
@pass_settings
@friendly_errors
def report_due(settings: Settings, schedule: str | None, dry_run: bool, output: str | None) -> None:
    """Run the scheduled reports that are due (call it from cron or a systemd timer)."""
    schedule = schedule or str(home() / DEFAULT_SCHEDULE)  # cron starts in another folder
    with settings.workspace() as ws:
        if dry_run:
            for entry in ws.reports.due(schedule):
                click.echo(
                    t(
                        "reports_cli:due",
                        entry=entry.name,
                        report=_title(entry.report),
                        cron=entry.cron,
                    )
                )
            return
        results = ws.reports.run_due(schedule, output=Path(output) if output else None)
    _echo_batch(results)
    if any(r.status == "failed" for r in results):
        sys.exit(1)


@report_group.command("history")
@click.argument("name", required=False)
@click.option("-n", "--limit", default=20, show_default=True, help="How many runs.")
@pass_settings
@friendly_errors
def report_history(settings: Settings, name: str | None, limit: int) -> None:
    """The latest report runs you may see (yours; a manager's team's; everyone's for roles
    that see all customers): when, status, duration, parameters, outputs or error."""
    with settings.workspace() as ws:
        frame = ws.reports.history(name, limit)
    if frame.empty:
        click.echo("-")
        return
    for row in frame.to_dict("records"):
        duration = f"{row['duration_s']:.1f} s" if row["duration_s"] == row["duration_s"] else "–"
        asked = json.loads(row["parameters"] or "{}")
        values = ", ".join(f"{k}={v}" for k, v in (asked.get("values") or {}).items())
        source = asked.get("schedule") or asked.get("file") or ""
        started = f"{row['started_at']:%Y-%m-%d %H:%M}"
        status = REPORT_RUN_STATUS.label(row["status"], current_lang())
        actor = settings.names.get(row["actor"], row["actor"])
        line = f"#{row['id']} {started} {_title(row['report'])} {status} {duration} {actor}"
        click.echo(f"{line} {source} {values}".rstrip())
        for kind, path in json.loads(row["outputs"] or "{}").items():
            click.echo(f"    {_output(kind, path)}")
        if row["error"]:
            click.echo(f"    {row['error']}")


@main.command("dashboards")
@click.option("--port", default=voila_app.DEFAULT_PORT, show_default=True, type=int)
@click.option(
    "--host",
    default=voila_app.DEFAULT_HOST,
    show_default=True,
    help="Address to bind; keep 127.0.0.1 behind a proxy or JupyterHub.",
)
@click.option(
    "--notebooks",
    type=click.Path(file_okay=False, exists=True),
    help=f"The report notebooks (default: the workspace's {NOTEBOOKS}).",
)
@guard_options
@click.option("--base-url", default="/", show_default=True, help="URL prefix (behind a proxy).")
@click.option("--no-preheat", is_flag=True, help="Start a kernel per page instead of ahead.")
@pass_settings
@friendly_errors
def dashboards(
    settings: Settings,
    port: int,
    host: str,
    notebooks: str | None,
    allow_hosts: tuple[str, ...],
    token_file: Path | None,
    base_url: str,
    no_preheat: bool,
) -> None:
    """Serve the report notebooks as live dashboards with Voila (landing page at /).

    It prints the address to open once, with a fresh token (or --token-file's); requests
    without it, for other host names or websockets from other sites are refused."""
    # A missing database or a wrong user fails here, in one line; kernels get absolute paths.
    kernel = kernel_settings(settings.url, settings.user, settings.lang)
    folder = Path(notebooks) if notebooks else notebooks_folder() / NOTEBOOKS.name
    with (
        guard(allow_hosts, token_file=token_file) as guarded,
        tempfile.TemporaryDirectory(prefix="crm-voila-") as runtime,
    ):
        voila_app.write_template(Path(runtime))
        args = voila_app.command(
            folder.resolve(),
            guarded,
            port=port,
            host=host,
            preheat=not no_preheat,
            base_url=base_url,
        )
        click.echo(t("reports_cli:dashboards_at", url=guarded.url(host, port, base_url)), err=True)
        env = guarded.environment({**voila_app.environment(Path(runtime)), **kernel})
        code = run_server(args, env)
    sys.exit(code)
