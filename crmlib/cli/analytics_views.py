"""``crm profile`` and ``crm funnel``: the customer profile and the sales funnel as tables."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click
import pandas as pd

from ..analytics.filters import PERIOD_HELP
from ..analytics.labels import label
from ..i18n import t
from .base import Settings, friendly_errors, main, pass_settings, table_text

F = TypeVar("F", bound=Callable[..., Any])

#: Columns shown as percentages, with one decimal, and as whole amounts.
HEADERS = {
    "label": None,
    "customers": "customers",
    "share": "share",
    "orders": "orders",
    "amount": "amount",
    "follow_ups": "follow_ups",
    "count": "count",
    "lost": "lost",
    "step_conversion": "step_conversion",
    "cumulative_conversion": "cumulative_conversion",
    "avg_days": "avg_days",
    "reason": "reason",
    "step_label": "step",
    "category": "category",
    "region": "region",
}


def filter_options(command: F) -> F:
    """The filters every analytics command takes, passed on as ``filters``."""
    options = [
        click.option("--period", help=PERIOD_HELP),
        click.option("--start", "period_start", help="First day (instead of --period)."),
        click.option("--end", "period_end", help="Last day (instead of --period)."),
        click.option("--region", help="Sales region (华东 … or East China …)."),
        click.option("--team", help="Team (of the customers' or the leads' owner)."),
        click.option("--owner", help="Username of the owner."),
        click.option("--segment", help="A saved segment's name, or a rule."),
        click.option("--as-of", help="The day 'now' means (default: period end, or today)."),
    ]

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        names = (
            "period",
            "period_start",
            "period_end",
            "region",
            "team",
            "owner",
            "segment",
            "as_of",
        )
        given = {n: kwargs.pop(n) for n in names}
        kwargs["filters"] = {k: v for k, v in given.items() if v}
        return command(*args, **kwargs)

    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper  # type: ignore[return-value]


def table(frame: pd.DataFrame, columns: Sequence[str], lang: str, first: str) -> str:
    """``columns`` of ``frame`` with headers in ``lang``; numbers read by their kind
    (shares as percentages, money with two decimals: :mod:`crmlib.formatting`)."""
    headers = {c: label(HEADERS.get(c) or first, lang) for c in columns}
    return table_text(frame[list(columns)], headers)


def _section(title: str, body: str) -> None:
    click.echo(f"\n== {title} ==")
    click.echo(body)


@main.command("profile")
@click.option(
    "--by",
    default="grade",
    show_default=True,
    help="Customer group of the product preference: grade, industry, size, region, kind.",
)
@filter_options
@pass_settings
@friendly_errors
def profile(settings: Settings, by: str, filters: dict[str, Any]) -> None:
    """The customer profile: where customers are, what they buy, how we follow them up."""
    with settings.workspace() as ws:
        lang = ws.ctx.lang
        p = ws.profile(by=by, **filters)
    count = ["label", "customers", "share"]
    _section(label("title_regions", lang), table(p.regions, count, lang, "region"))
    _section(
        label("title_provinces", lang, n=10), table(p.provinces.head(10), count, lang, "province")
    )
    _section(label("title_industries", lang), table(p.industries, count, lang, "industry"))
    _section(label("title_sizes", lang), table(p.sizes, count, lang, "size"))
    _section(t("views:value", lang), table_text(p.value))
    group = label(by, lang)
    _section(
        label("title_preferences", lang, group=group),
        table(p.preferences, ["label", "category", "orders", "amount", "share"], lang, by),
    )
    _section(t("views:engagement", lang), table_text(p.engagement))
    _section(label("title_recency", lang), table(p.recency, count, lang, "last_contact"))
    _section(
        label("title_channels", lang),
        table(p.channels, ["label", "follow_ups", "share"], lang, "channel"),
    )


@main.command("funnel")
@click.option(
    "--basis",
    default="leads",
    show_default=True,
    help="leads: the leads created in the period; deals: the deals created in it.",
)
@click.option("--losses", "shown", default=10, show_default=True, help="Loss reasons shown.")
@filter_options
@pass_settings
@friendly_errors
def funnel(settings: Settings, basis: str, shown: int, filters: dict[str, Any]) -> None:
    """The sales funnel: counts and conversion per step, days in each, loss reasons."""
    with settings.workspace() as ws:
        lang = ws.ctx.lang
        result = ws.funnel(basis=basis, **filters)
    columns = ["label", "count", "step_conversion", "cumulative_conversion", "avg_days", "lost"]
    _section(label("title_funnel", lang), table(result.steps, columns, lang, "step"))
    if result.worst_step is None:
        click.echo(t("views:no_losses", lang))
        return
    _section(
        label("title_losses", lang),
        table(result.losses.head(shown), ["step_label", "reason", "count", "share"], lang, "step"),
    )
    click.echo(t("views:worst_step", lang, step=label(result.worst_step, lang)))
