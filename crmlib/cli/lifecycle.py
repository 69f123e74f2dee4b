"""``crm refresh``: the nightly lifecycle job, for cron or a systemd timer; ``crm customers``
sets a grade or status by hand, which the refresh then leaves alone."""

from __future__ import annotations

from datetime import datetime

import click

from ..domain.customers.customers import CustomerRecord
from ..domain.customers.lifecycle import CHANGES
from ..i18n import t
from ..reference.enums import CUSTOMER_STATUS, GRADE
from .base import Settings, friendly_errors, main, pass_settings


@main.command()
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), help="Business day (default today).")
@click.option("--dry-run", is_flag=True, help="Show what would change; save nothing.")
@pass_settings
@friendly_errors
def refresh(settings: Settings, as_of: datetime | None, dry_run: bool) -> None:
    """Recompute grades, lifecycle statuses and archive flags, and measure the saved
    segments (safe to run twice); grades and statuses set by hand are kept and counted."""
    day = as_of.date() if as_of else None
    with settings.workspace() as ws:
        result = ws.refresh(as_of=day, dry_run=dry_run)
        measured = 0 if dry_run else len(ws.segments.track(as_of=day))
        lang = ws.ctx.lang
    dry = t("refresh:dry", lang) if dry_run else ""
    click.echo(
        t(
            "refresh:summary",
            lang,
            as_of=result.as_of,
            customers=result.customers,
            changed=result.changed,
            dry=dry,
        )
    )
    for change in CHANGES:
        click.echo(f"  {t(f'refresh:{change}', lang)}: {result.counts[change]:,}")
    click.echo(f"  {t('refresh:skipped', lang, **result.skipped)}")
    if measured:
        click.echo(t("refresh:segments", lang, n=measured))


@main.group()
def customers() -> None:
    """Set a customer's grade or status by hand, or let the refresh decide it again."""


_UNTIL = click.option(
    "--until",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Last day it holds (default: the manual_override_days setting from today).",
)
_REASON = click.option("--reason", required=True, help="Why, for the audit log and colleagues.")


@customers.command("grade")
@click.argument("code")
@click.argument("grade", type=click.Choice(GRADE.codes))
@_REASON
@_UNTIL
@pass_settings
@friendly_errors
def grade(settings: Settings, code: str, grade: str, reason: str, until: datetime | None) -> None:
    """Set the grade of customer CODE by hand; crm refresh keeps it until cleared or over."""
    _override(settings, code, "grade", grade, reason, until)


@customers.command("status")
@click.argument("code")
@click.argument("status", type=click.Choice(CUSTOMER_STATUS.codes))
@_REASON
@_UNTIL
@pass_settings
@friendly_errors
def status(settings: Settings, code: str, status: str, reason: str, until: datetime | None) -> None:
    """Set the lifecycle status of customer CODE by hand, kept like a grade."""
    _override(settings, code, "status", status, reason, until)


@customers.command("clear")
@click.argument("code")
@click.argument("field", type=click.Choice(["grade", "status"]))
@pass_settings
@friendly_errors
def clear(settings: Settings, code: str, field: str) -> None:
    """Let crm refresh decide the grade or status of customer CODE again."""
    with settings.workspace() as ws:
        record = ws.customers.clear_override(code, field)
        lang = ws.ctx.lang
    click.echo(
        t(
            "customers_cli:override_cleared",
            lang,
            code=record.code,
            field=t(f"ui_column:{field}", lang),
        )
    )


def _override(
    settings: Settings, code: str, field: str, value: str, reason: str, until: datetime | None
) -> None:
    with settings.workspace() as ws:
        record = ws.customers.override(
            code, field, value, reason=reason, until=until.date() if until else None
        )
        lang = ws.ctx.lang
    click.echo(_held_text(record, field, lang))


def _held_text(record: CustomerRecord, field: str, lang: str) -> str:
    """What the command set, in the user's language."""
    values = record.as_dict()
    return t(
        "customers_cli:override_set",
        lang,
        code=record.code,
        value=t(f"enum:{field}.{values[field]}", lang),
        by=values[f"{field}_override_by"],
        until=values[f"{field}_override_until"],
        reason=values[f"{field}_override_reason"],
    )
