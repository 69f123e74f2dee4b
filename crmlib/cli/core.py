"""Administration and data commands: init, demo, users, templates, import/export, dedupe,
data quality, audit, backup and restore."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from sqlalchemy import inspect

from .. import admin, clock, team_mode
from ..config import database_url, is_sqlite
from ..domain.customers.custom_fields import FieldDef, definitions
from ..i18n import current_lang, t
from ..reporting.scorecard import format_text, write_xlsx
from ..store.models import CustomField
from ..transfer.engines import DEFAULT_ENGINE, ENGINE_ENV, ENGINES
from ..transfer.formulas import neutralise_frame
from ..transfer.kinds import parse_mapping
from ..transfer.templates import write_template
from .base import (
    Settings,
    friendly_errors,
    main,
    pass_settings,
    progress_bar,
    table_text,
    value_text,
)


@main.command()
@click.option(
    "--admin",
    "admin_name",
    default="admin",
    show_default=True,
    help="Username of the first administrator on a new database.",
)
@click.option(
    "--team",
    is_flag=True,
    help="PostgreSQL: set an empty database up in team mode (identity from each user's own "
    "login, scopes enforced by the database); run with an installation connection.",
)
@click.option(
    "--password-file",
    type=click.File("r"),
    help="With --team: read the administrator's password from this file (default: standard input).",
)
@pass_settings
@friendly_errors
def init(settings: Settings, admin_name: str, team: bool, password_file: Any) -> None:
    """Create the database, or upgrade it to this version's schema."""
    engine = settings.engine()
    if team:
        roles = admin.init_team(engine, admin_name, read_password(password_file))
        where = engine.url.render_as_string(hide_password=True)
        click.echo(t("core_cli:team_created", where=where, owner=roles.owner, group=roles.group))
        click.echo(t("core_cli:admin_created", name=admin_name))
        return
    before, after, created = admin.init_database(engine, admin_name, user=settings.user)
    where = engine.url.render_as_string(hide_password=True)
    if before == after:
        click.echo(t("core_cli:schema_current", where=where, revision=after))
    elif before:
        click.echo(t("core_cli:schema_upgraded", where=where, before=before, revision=after))
    else:
        click.echo(t("core_cli:schema_created", where=where, revision=after))
    if created:
        click.echo(t("core_cli:admin_created", name=created))


#: At most this much of a password file or of standard input is read: a longer password
#: is refused by its rule (:data:`crmlib.team_mode.MAX_PASSWORD`), never read whole.
READ_LIMIT = team_mode.MAX_PASSWORD + 2


def read_password(source: Any = None) -> str:
    """A password from ``source`` (a file), else standard input: asked twice, unseen, at a
    terminal; the first line of piped input otherwise. Never an argument, which other
    users of the machine can read in the process list."""
    if source is not None:
        return str(source.readline(READ_LIMIT)).rstrip("\r\n")
    if sys.stdin.isatty():
        return str(
            click.prompt(t("core_cli:password_prompt"), hide_input=True, confirmation_prompt=True)
        )
    return sys.stdin.readline(READ_LIMIT).rstrip("\r\n")


@main.command()
@click.option("--customers", default=5000, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", default=42, show_default=True, type=int)
@click.option(
    "--fresh",
    is_flag=True,
    help="Empty the database first (with data in it: administrators only, after a safety backup).",
)
@click.option(
    "--start",
    type=click.DateTime(["%Y-%m-%d"]),
    help="First day of the 24 months of history (default: 24 months ago).",
)
@click.option("--yes", is_flag=True, help="Do not ask before emptying a database that has data.")
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path),
    help="Where the safety backup of the emptied contents goes.",
)
@pass_settings
@friendly_errors
def demo(
    settings: Settings,
    customers: int,
    seed: int,
    fresh: bool,
    start: datetime | None,
    yes: bool,
    directory: Path | None,
) -> None:
    """Fill the database with realistic demo data (the same for the same seed and start)."""
    engine = settings.engine()
    first = start.date() if start else None
    at_stake = admin.data_at_stake(engine) if fresh else {}
    if at_stake:
        # Refused users are told so before they are asked anything.
        admin.authorize(engine, settings.user, "reset_database", "reset")
        where = engine.url.render_as_string(hide_password=True)
        question = t(
            "core_cli:demo_confirm",
            where=where,
            rows=sum(at_stake.values()),
            customers=at_stake.get("customers", 0),
        )
        if not yes and not click.confirm(question):
            raise click.Abort()
    result = admin.build_demo(
        engine,
        customers=customers,
        seed=seed,
        fresh=fresh,
        start=first,
        user=settings.user,
        directory=directory,
    )
    counts = result.counts
    rows, made = sum(counts.values()), counts.get("customers", 0)
    click.echo(t("core_cli:demo_written", rows=rows, customers=made))
    if result.safety is not None:
        click.echo(t("core_cli:demo_safety", path=result.safety.path))


@main.command()
@pass_settings
@friendly_errors
def status(settings: Settings) -> None:
    """Row counts per table, database size, schema revision, last backup, and whether the
    database checks who acts (team mode) or trusts the name given."""
    report = admin.status(settings.engine(), admin.backup_directory(settings.engine()))
    click.echo(t("core_cli:status_database", url=report.url))
    if report.revision:
        click.echo(t("core_cli:status_schema", revision=report.revision))
    else:
        click.echo(t("core_cli:status_no_schema"))
    click.echo(t("core_cli:status_size", mb=report.size_bytes / 1_048_576))
    last = report.last_backup
    if last:
        click.echo(t("core_cli:status_backup", at=last.created_at, path=last.path))
    else:
        click.echo(t("core_cli:status_no_backup"))
    if report.team is not None:
        click.echo(t("core_cli:status_team", owner=report.team.owner, group=report.team.group))
    else:
        click.echo(t("core_cli:status_shared"))
    if not report.row_counts:
        click.echo(t("core_cli:status_no_tables"))
        return
    width = max(len(name) for name in report.row_counts)
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
@click.option(
    "--password-file",
    type=click.File("r"),
    help="Team databases: read the new login's password from this file (default: standard input).",
)
@pass_settings
@friendly_errors
def users_add(
    settings: Settings,
    name: str,
    role: str,
    team: str | None,
    display_name: str | None,
    password_file: Any,
) -> None:
    """Add a user (on a team database also their login, with a password from standard input)."""
    with settings.workspace() as ws:
        password = read_password(password_file) if team_mode.login_of(ws.engine) else None
        user = ws.users.add(
            name, role=role, team=team, display_name=display_name, password=password
        )
    if user.team:
        click.echo(
            t(
                "core_cli:user_added_to_team",
                name=user.username,
                role=value_text("role", user.role),
                team=value_text("team", user.team),
            )
        )
    else:
        click.echo(t("core_cli:user_added", name=user.username, role=value_text("role", user.role)))


@users.command("list")
@pass_settings
@friendly_errors
def users_list(settings: Settings) -> None:
    """List users."""
    with settings.workspace() as ws:
        frame = ws.users.frame()
    click.echo(table_text(frame.drop(columns=["created_at"])))


@users.command("role")
@click.argument("name")
@click.argument("role", type=click.Choice(admin.ROLE_NAMES))
@click.option("--team", help="Move NAME to this team as well.")
@pass_settings
@friendly_errors
def users_role(settings: Settings, name: str, role: str, team: str | None) -> None:
    """Give a user another role (and team); audited like every change."""
    with settings.workspace() as ws:
        user = ws.users.set_role(name, role, team=team)
    click.echo(
        t(
            "core_cli:user_role_changed",
            name=user.username,
            role=value_text("role", user.role),
            team=value_text("team", user.team) if user.team else "-",
        )
    )


@users.command("passwd")
@click.argument("name")
@click.option(
    "--password-file",
    type=click.File("r"),
    help="Read the new password from this file (default: standard input).",
)
@pass_settings
@friendly_errors
def users_passwd(settings: Settings, name: str, password_file: Any) -> None:
    """Give NAME's database login a new password (team databases; your own, or anyone's
    for administrators), read from standard input."""
    with settings.workspace() as ws:
        ws.users.set_password(name, read_password(password_file))
    click.echo(t("core_cli:password_changed", name=name))


@users.command("deactivate")
@click.argument("name")
@click.option("--reassign-to", help="User who takes over NAME's customers.")
@pass_settings
@friendly_errors
def users_deactivate(settings: Settings, name: str, reassign_to: str | None) -> None:
    """Deactivate a user, handing their customers to another."""
    with settings.workspace() as ws:
        moved = ws.users.deactivate(name, reassign_to=reassign_to)
    if moved:
        click.echo(
            t("core_cli:user_deactivated_reassigned", name=name, moved=moved, heir=reassign_to)
        )
    else:
        click.echo(t("core_cli:user_deactivated", name=name))


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
    path = write_template(
        kind,
        output or Path(f"{kind}-template.{fmt}"),
        lang=lang,
        fmt=fmt,
        fields=_custom_fields(settings, kind),
    )
    click.echo(t("core_cli:template_written", path=path))


def _custom_fields(settings: Settings, kind: str) -> list[FieldDef]:
    """The kind's active custom fields, which its template carries as columns; none on a
    database without its schema yet, and no SQLite file made for it (a template may be
    written before ``crm init``)."""
    url = database_url(settings.url)
    missing_file = is_sqlite(url) and not Path(url.database or ":memory:").is_file()
    if missing_file and url.database not in (None, "", ":memory:"):
        return []
    engine = settings.engine()
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table(CustomField.__tablename__):
                return []
            return definitions(conn, kind)
    finally:
        engine.dispose()


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
    settings: Settings,
    kind: str,
    fmt: str,
    columns: str | None,
    output: Path | None,
    segment: str | None,
) -> None:
    """Export the records you may see (PII masked by role), ready to re-import."""
    chosen = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    path = output or Path(f"{kind}-{clock.now():%Y%m%d-%H%M%S}.{fmt}")
    with settings.workspace() as ws:
        result = ws.export(kind, path, fmt=fmt, columns=chosen, segment=segment)
    click.echo(t("core_cli:exported", rows=result.rows, path=result.path))


@main.command("import")
@click.argument("kind", type=click.Choice(admin.FILE_KINDS))
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate and report; save nothing.")
@click.option("--strict", is_flag=True, help="Save nothing if any row is rejected.")
@click.option("--sheet", help="Worksheet of an .xlsx file (default: the first).")
@click.option(
    "--engine",
    type=click.Choice(ENGINES.names()),
    help=f"Import engine (default: ${ENGINE_ENV}, else {DEFAULT_ENGINE}).",
)
@click.option(
    "--allow-duplicates",
    is_flag=True,
    help="Create customers that exactly duplicate stored ones (audited) instead of rejecting them.",
)
@click.option(
    "--map",
    "mappings",
    multiple=True,
    metavar="HEADER=FIELD",
    help="Read a column the kind does not know as a field (a field name or any header of "
    "it), e.g. --map 客户说明=remarks; repeatable. The dry run names unknown columns.",
)
@pass_settings
@friendly_errors
def import_(
    settings: Settings,
    kind: str,
    file: Path,
    dry_run: bool,
    strict: bool,
    sheet: str | None,
    engine: str | None,
    allow_duplicates: bool,
    mappings: tuple[str, ...],
) -> None:
    """Import customers, contacts, leads, opportunities, orders or tickets from CSV or .xlsx."""
    mapping = parse_mapping(mappings)
    with settings.workspace() as ws, progress_bar("rows") as advance:
        result = ws.import_file(
            kind,
            file,
            dry_run=dry_run,
            strict=strict,
            sheet=sheet,
            progress=advance,
            engine=engine,
            allow_duplicates=allow_duplicates,
            mapping=mapping,
        )
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
    click.echo(t("core_cli:duplicate_pairs", pairs=len(pairs), clusters=found))
    if output:
        neutralise_frame(pairs).to_csv(output, index=False, encoding="utf-8-sig")
        click.echo(t("core_cli:pairs_written", path=output))
    else:
        # "size" is the cluster's here, not a company size as elsewhere
        click.echo(table_text(pairs.head(20), {"size": t("core_cli:cluster_size")}))


@dedupe.command("merge")
@click.argument("survivor")
@click.argument("other")
@pass_settings
@friendly_errors
def dedupe_merge(settings: Settings, survivor: str, other: str) -> None:
    """Merge customer OTHER into SURVIVOR (children move; undo with `dedupe unmerge`)."""
    with settings.workspace() as ws:
        merge_id = ws.duplicates.merge(survivor, other)
    click.echo(t("core_cli:merged", other=other, survivor=survivor, merge_id=merge_id))


@dedupe.command("merges")
@click.option("--limit", type=int, default=20, show_default=True, help="How many, newest first.")
@pass_settings
@friendly_errors
def dedupe_merges(settings: Settings, limit: int) -> None:
    """Past merges, newest first: the number `dedupe unmerge` takes and whether it can be
    undone now (a later merge of either customer has to be undone first)."""
    with settings.workspace() as ws:
        merges = ws.duplicates.merges(limit=limit)
    if merges.empty:
        click.echo(t("core_cli:no_merges"))
        return
    shown = merges[
        [
            "merge_id",
            "merged_at",
            "actor",
            "survivor_code",
            "merged_code",
            "score",
            "unmerged_at",
            "undoable",
        ]
    ]
    click.echo(table_text(shown))


@dedupe.command("unmerge")
@click.argument("merge_id", type=int)
@pass_settings
@friendly_errors
def dedupe_unmerge(settings: Settings, merge_id: int) -> None:
    """Undo a merge exactly."""
    with settings.workspace() as ws:
        ws.duplicates.unmerge(merge_id)
    click.echo(t("core_cli:unmerged", merge_id=merge_id))


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
        click.echo(t("core_cli:scorecard_written", path=xlsx))


@main.command()
@click.argument("code", required=False)
@click.option(
    "--operations",
    is_flag=True,
    help="Instead: the backups, restores, resets and schema upgrades of the whole "
    "database (administrators).",
)
@pass_settings
@friendly_errors
def audit(settings: Settings, code: str | None, operations: bool) -> None:
    """Change history of a customer (or, with --operations, of the whole database), newest
    first."""
    if operations == (code is not None):
        raise click.UsageError(t("core_cli:audit_what"))
    with settings.workspace() as ws:
        events = ws.operations() if operations else ws.history(code or "")
    if events.empty:
        click.echo(
            t("core_cli:no_operations") if operations else t("core_cli:no_changes", code=code)
        )
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
    info = admin.backup(engine, directory, keep_days, user=settings.user)
    click.echo(t("core_cli:backup_written", path=info.path, mb=info.size_bytes / 1_048_576))


@backup.command("verify")
@click.argument("file", required=False, type=click.Path(path_type=Path))
@click.pass_obj
@friendly_errors
def backup_verify(obj: tuple[Settings, Path | None], file: Path | None) -> None:
    """Restore a backup (default: the newest) into a scratch database and check it."""
    settings, directory = obj
    path, report = admin.verify(settings.engine(), directory, file)
    for problem in report.problems:
        click.echo(t("core_cli:backup_problem", problem=problem), err=True)
    tables = len(report.row_counts)
    rows = sum(report.row_counts.values())
    if not report.ok:
        click.echo(t("core_cli:backup_failed", path=path), err=True)
        sys.exit(1)
    click.echo(t("core_cli:backup_verified", path=path, tables=tables, rows=rows))


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path),
    help="Where the safety backup of the current contents goes.",
)
@pass_settings
@friendly_errors
def restore(settings: Settings, file: Path, yes: bool, directory: Path | None) -> None:
    """Replace the database's contents with a backup (after verifying it)."""
    engine = settings.engine()
    where = engine.url.render_as_string(hide_password=True)
    if admin.data_at_stake(engine):
        # Refused users are told so before they are asked anything.
        admin.authorize(engine, settings.user, "restore_data", "restore")
    if not yes and not click.confirm(t("core_cli:restore_confirm", where=where, file=file)):
        raise click.Abort()
    done = admin.restore(engine, file, directory, user=settings.user)
    click.echo(t("core_cli:restored", file=file, where=where, safety=done.safety.path))
    if done.kept_events:
        click.echo(t("core_cli:kept_events", count=done.kept_events))
