"""Administration and data commands: init, demo, users, templates, import/export, dedupe,
data quality, audit, backup and restore."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click

from .. import admin, clock
from ..i18n import current_lang
from ..quality.scorecard import format_text, write_xlsx
from ..quality.templates import write_template
from .base import Settings, friendly_errors, main, pass_settings, progress_bar


@main.command()
@click.option("--admin", "admin_name", default="admin", show_default=True,
              help="Username of the first administrator on a new database.")  # fmt: skip
@pass_settings
@friendly_errors
def init(settings: Settings, admin_name: str) -> None:
    """Create the database, or upgrade it to this version's schema."""
    engine = settings.engine()
    before, after, created = admin.init_database(engine, admin_name)
    where = engine.url.render_as_string(hide_password=True)
    if before == after:
        click.echo(f"{where}: schema up to date (revision {after})")
    else:
        click.echo(f"{where}: schema {before or 'new'} → {after}")
    if created:
        click.echo(f"created administrator {created!r}")


@main.command()
@click.option("--customers", default=5000, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", default=42, show_default=True, type=int)
@click.option("--fresh", is_flag=True, help="Empty the database first.")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]),
              help="First day of the 24 months of history (default: 24 months ago).")  # fmt: skip
@pass_settings
@friendly_errors
def demo(settings: Settings, customers: int, seed: int, fresh: bool, start: datetime | None
         ) -> None:  # fmt: skip
    """Fill the database with realistic demo data (the same for the same seed and start)."""
    engine = settings.engine()
    first = start.date() if start else None
    counts = admin.build_demo(engine, customers=customers, seed=seed, fresh=fresh, start=first)
    total = sum(counts.values())
    click.echo(f"demo data: {total:,} rows ({counts.get('customers', 0):,} customers)")


@main.command()
@pass_settings
@friendly_errors
def status(settings: Settings) -> None:
    """Row counts per table, database size, schema revision and last backup."""
    report = admin.status(settings.engine(), admin.backup_directory(settings.engine()))
    click.echo(f"database  {report.url}")
    click.echo(f"schema    {report.revision or 'none'}")
    click.echo(f"size      {report.size_bytes / 1_048_576:.1f} MB")
    last = report.last_backup
    click.echo(f"backup    {f'{last.created_at:%Y-%m-%d %H:%M} {last.path}' if last else 'never'}")
    width = max(len(t) for t in report.row_counts)
    for table, count in report.row_counts.items():
        click.echo(f"  {table:<{width}}  {count:>10,}")


@main.group()
def users() -> None:
    """Manage users and roles (administrators)."""


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(admin.ROLE_NAMES))
@click.option("--team")
@click.option("--display-name")
@pass_settings
@friendly_errors
def users_add(
    settings: Settings, name: str, role: str, team: str | None, display_name: str | None
) -> None:
    """Add a user."""
    with settings.workspace() as ws:
        user = ws.users.add(name, role=role, team=team, display_name=display_name)
    click.echo(f"added {user.username} ({user.role}{', team ' + user.team if user.team else ''})")


@users.command("list")
@pass_settings
@friendly_errors
def users_list(settings: Settings) -> None:
    """List users."""
    with settings.workspace() as ws:
        frame = ws.users.frame()
    click.echo(frame.drop(columns=["created_at"]).to_string(index=False))


@users.command("deactivate")
@click.argument("name")
@click.option("--reassign-to", help="User who takes over NAME's customers.")
@pass_settings
@friendly_errors
def users_deactivate(settings: Settings, name: str, reassign_to: str | None) -> None:
    """Deactivate a user, handing their customers to another."""
    with settings.workspace() as ws:
        moved = ws.users.deactivate(name, reassign_to=reassign_to)
    click.echo(
        f"deactivated {name}" + (f"; {moved} customers now owned by {reassign_to}" if moved else "")
    )


@main.command()
@click.argument("kind", type=click.Choice(admin.FILE_KINDS))
@click.option("--lang", "file_lang", type=click.Choice(["zh", "en"]), help="Header language.")
@click.option(
    "--format", "fmt", type=click.Choice(["xlsx", "csv"]), default="xlsx", show_default=True
)
@click.option("-o", "--output", type=click.Path(path_type=Path), help="File to write.")
@pass_settings
@friendly_errors
def template(
    settings: Settings, kind: str, file_lang: str | None, fmt: str, output: Path | None
) -> None:
    """Write an empty import template with dropdowns, required columns and instructions."""
    lang = current_lang(file_lang or settings.lang)
    path = write_template(kind, output or Path(f"{kind}-template.{fmt}"), lang=lang, fmt=fmt)
    click.echo(f"template written: {path}")


@main.command("export")
@click.argument("kind", type=click.Choice(admin.FILE_KINDS))
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True
)
@click.option("--columns", help="Comma-separated columns (names or headers in either language).")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="File to write.")
@click.option("--segment", help="Customers only: the members of this saved segment (or rule).")
@pass_settings
@friendly_errors
def export_(
    settings: Settings, kind: str, fmt: str, columns: str | None, output: Path | None,
    segment: str | None,
) -> None:  # fmt: skip
    """Export the records you may see (PII masked by role), ready to re-import."""
    chosen = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    path = output or Path(f"{kind}-{clock.now():%Y%m%d-%H%M%S}.{fmt}")
    with settings.workspace() as ws:
        result = ws.export(kind, path, fmt=fmt, columns=chosen, segment=segment)
    click.echo(f"exported {result.rows:,} rows to {result.path}")


@main.command("import")
@click.argument("kind", type=click.Choice(admin.FILE_KINDS))
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate and report; save nothing.")
@click.option("--strict", is_flag=True, help="Save nothing if any row is rejected.")
@click.option("--sheet", help="Worksheet of an .xlsx file (default: the first).")
@pass_settings
@friendly_errors
def import_(
    settings: Settings, kind: str, file: Path, dry_run: bool, strict: bool, sheet: str | None
) -> None:
    """Import customers, contacts, leads, opportunities, orders or tickets from CSV or .xlsx."""
    with settings.workspace() as ws, progress_bar("rows") as advance:
        result = ws.import_file(kind, file, dry_run=dry_run, strict=strict, sheet=sheet,
                                progress=advance)  # fmt: skip
    click.echo(result.describe(ws.ctx.lang))
    if result.rejected and (strict or not result.ok):
        sys.exit(1)


@main.group()
def dedupe() -> None:
    """Find and merge duplicate customers."""


@dedupe.command("scan")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write the pairs to CSV.")
@click.option("--min-score", default=80.0, show_default=True, type=click.FloatRange(0, 100))
@pass_settings
@friendly_errors
def dedupe_scan(settings: Settings, output: Path | None, min_score: float) -> None:
    """List likely duplicate pairs among the customers you may see."""
    with settings.workspace() as ws:
        pairs = ws.duplicates.with_clusters(ws.duplicates.scan(min_score=min_score, progress=True))
    found = pairs["cluster"].nunique() if len(pairs) else 0
    click.echo(f"{len(pairs):,} candidate pairs in {found:,} clusters")
    if output:
        pairs.to_csv(output, index=False, encoding="utf-8-sig")
        click.echo(f"pairs written to {output}")
    else:
        click.echo(pairs.head(20).to_string(index=False))


@dedupe.command("merge")
@click.argument("survivor")
@click.argument("other")
@pass_settings
@friendly_errors
def dedupe_merge(settings: Settings, survivor: str, other: str) -> None:
    """Merge customer OTHER into SURVIVOR (children move; undo with `dedupe unmerge`)."""
    with settings.workspace() as ws:
        merge_id = ws.duplicates.merge(survivor, other)
    click.echo(f"merged {other} into {survivor} (merge {merge_id})")


@dedupe.command("unmerge")
@click.argument("merge_id", type=int)
@pass_settings
@friendly_errors
def dedupe_unmerge(settings: Settings, merge_id: int) -> None:
    """Undo a merge exactly."""
    with settings.workspace() as ws:
        ws.duplicates.unmerge(merge_id)
    click.echo(f"merge {merge_id} undone")


@main.group()
def dq() -> None:
    """Data quality."""


@dq.command("report")
@click.option("--xlsx", type=click.Path(path_type=Path), help="Also write the scorecard to Excel.")
@click.option("--stale-days", default=90, show_default=True, type=click.IntRange(min=1))
@pass_settings
@friendly_errors
def dq_report(settings: Settings, xlsx: Path | None, stale_days: int) -> None:
    """Completeness, validity, uniqueness, freshness and consistency, with the trend."""
    with settings.workspace() as ws:
        card = ws.scorecard(stale_days=stale_days)
        history = ws.scorecard_trend()
    click.echo(format_text(card))
    if xlsx:
        write_xlsx(card, xlsx, trend=history)
        click.echo(f"scorecard written to {xlsx}")


@main.command()
@click.argument("code")
@pass_settings
@friendly_errors
def audit(settings: Settings, code: str) -> None:
    """Change history of a customer, newest first."""
    with settings.workspace() as ws:
        events = ws.history(code)
    if events.empty:
        click.echo(f"no changes recorded for {code}")
    for line in events["text"]:
        click.echo(line)


@main.group(invoke_without_command=True)
@click.option("--dir", "directory", type=click.Path(path_type=Path), help="Backup folder.")
@click.option("--keep-days", type=click.IntRange(min=1), help="Retention (default 30 days).")
@pass_settings
@click.pass_context
@friendly_errors
def backup(
    ctx: click.Context, settings: Settings, directory: Path | None, keep_days: int | None
) -> None:
    """Back the database up (and prune backups older than the retention)."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = (settings, directory)
        return
    engine = settings.engine()
    info = admin.backup(engine, directory, keep_days)
    click.echo(f"backup written: {info.path} ({info.size_bytes / 1_048_576:.1f} MB)")


@backup.command("verify")
@click.argument("file", required=False, type=click.Path(path_type=Path))
@click.pass_obj
@friendly_errors
def backup_verify(obj: tuple[Settings, Path | None], file: Path | None) -> None:
    """Restore a backup (default: the newest) into a scratch database and check it."""
    settings, directory = obj
    path, report = admin.verify(settings.engine(), directory, file)
    for problem in report.problems:
        click.echo(f"problem: {problem}", err=True)
    tables = len(report.row_counts)
    rows = sum(report.row_counts.values())
    if not report.ok:
        click.echo(f"backup {path} FAILED verification", err=True)
        sys.exit(1)
    click.echo(f"backup {path} verified: {tables} tables, {rows:,} rows, integrity ok")


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--dir", "directory", type=click.Path(path_type=Path),
              help="Where the safety backup of the current contents goes.")  # fmt: skip
@pass_settings
@friendly_errors
def restore(settings: Settings, file: Path, yes: bool, directory: Path | None) -> None:
    """Replace the database's contents with a backup (after verifying it)."""
    engine = settings.engine()
    where = engine.url.render_as_string(hide_password=True)
    if not yes and not click.confirm(f"replace the contents of {where} with {file}?"):
        raise click.Abort()
    safety = admin.restore(engine, file, directory)
    click.echo(f"restored {file} into {where} (previous contents saved in {safety.path})")
