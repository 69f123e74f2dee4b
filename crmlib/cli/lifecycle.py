"""``crm refresh``: the nightly lifecycle job, for cron or a systemd timer."""

from __future__ import annotations

from datetime import datetime

import click

from ..domain.lifecycle import CHANGES
from ..i18n import register, t
from .base import Settings, friendly_errors, main, pass_settings

register(
    {
        "summary": {
            "zh": "{as_of} 客户生命周期刷新：检查 {customers:,} 个客户，{changed:,} 项变更{dry}",
            "en": "lifecycle refresh as of {as_of}: {customers:,} customers checked, "
            "{changed:,} changes{dry}",
        },
        "dry": {"zh": "（试运行，未保存）", "en": " (dry run, nothing saved)"},
        "segments": {"zh": "已记录 {n} 个客户分群的规模", "en": "sizes of {n} segments recorded"},
        "grade": {"zh": "客户等级调整", "en": "grades changed"},
        "activated": {"zh": "潜在 → 活跃", "en": "potential → active"},
        "reactivated": {"zh": "流失 → 活跃", "en": "lost → active"},
        "lost": {"zh": "活跃 → 流失", "en": "active → lost"},
        "flagged": {"zh": "标记待归档", "en": "flagged for archiving"},
        "unflagged": {"zh": "取消待归档标记", "en": "archive flag cleared"},
    },
    namespace="refresh",
)


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
