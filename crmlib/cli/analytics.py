"""``crm kpi``: the KPI catalogue with values, or one KPI grouped, in the user's language."""

from __future__ import annotations

import click

from ..analytics.filters import PERIOD_HELP
from ..analytics.kpi import CATALOGUE
from ..analytics.kpi.text import catalogue_text, kpi_text
from ..display import readable
from ..i18n import t
from .base import Settings, column_header, friendly_errors, main, pass_settings


@main.command("kpi")
@click.argument("kpi_id", required=False)
@click.option("--period", help=PERIOD_HELP)
@click.option("--region", help="Sales region (华东 … or East China …).")
@click.option("--team", help="Team of the customers' owners.")
@click.option("--owner", help="Username of the customers' owner.")
@click.option("--segment", help="A saved segment's name, or a rule.")
@click.option("--as-of", help="The day stock figures are measured on (default: period end).")
@click.option("--by", "by", help="Group one KPI by region, province, team, owner, month, industry.")
@pass_settings
@friendly_errors
def kpi(
    settings: Settings,
    kpi_id: str | None,
    period: str | None,
    region: str | None,
    team: str | None,
    owner: str | None,
    segment: str | None,
    as_of: str | None,
    by: str | None,
) -> None:
    """The KPI catalogue with values, or KPI_ID alone (grouped with --by)."""
    filters = {
        "period": period,
        "region": region,
        "team": team,
        "owner": owner,
        "segment": segment,
        "as_of": as_of,
    }
    given = {k: v for k, v in filters.items() if v}
    with settings.workspace() as ws:
        lang = ws.ctx.lang
        if kpi_id is None:
            if by is not None:
                raise click.UsageError(t("kpi_cli:by_needs_kpi", lang))
            click.echo(catalogue_text(ws.kpis(**given), lang))
            return
        frame = readable(ws.kpi(kpi_id, by=by, **given), lang, names=settings.names)
        kpi = CATALOGUE[kpi_id]
        click.echo(f"{kpi.name(lang)}: {kpi.formula(lang)}")
        click.echo(kpi_text(frame, kpi.unit, lang, heading=column_header))
