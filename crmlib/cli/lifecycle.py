"""``crm refresh``: the nightly lifecycle job, for cron or a systemd timer."""

from __future__ import annotations

from datetime import datetime

import click

from ..domain.customers.lifecycle import CHANGES
from ..i18n import t
from .base import Settings, friendly_errors, main, pass_settings


@main.command()
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), help="Business day (default today).")
@click.option("--dry-run", is_flag=True, help="Show what would change; save nothing.")
@pass_settings
@friendly_errors
def refresh(settings: Settings, as_of: datetime | None, dry_run: bool) -> None:
    """Recompute grades, lifecycle statuses and archive flags, and measure the saved
    segments (safe to run twice)."""
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
    if measured:
        click.echo(t("refresh:segments", lang, n=measured))
