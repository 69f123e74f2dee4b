"""``crm segments``: saved rule segments from the command line."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from ..i18n import t
from .base import Settings, friendly_errors, main, pass_settings, table_text

#: Members printed to the terminal at most; the rest go to a file with --output.
SHOWN = 50


@main.group()
def segments() -> None:
    """Customer segments defined by rules such as 'days_since_contact > 90'."""


@segments.command("define")
@click.argument("name")
@click.argument("rule")
@click.option("--description")
@click.option("--replace", is_flag=True, help="Overwrite a segment of the same name.")
@pass_settings
@friendly_errors
def define(
    settings: Settings, name: str, rule: str, description: str | None, replace: bool
) -> None:
    """Save RULE as segment NAME (the rule is checked first)."""
    with settings.workspace() as ws:
        ws.segments.define(name, rule, description=description, replace=replace)
        size = ws.segments.count(name)
    click.echo(t("segments_cli:saved", name=name, size=size))


@segments.command("list")
@pass_settings
@friendly_errors
def list_(settings: Settings) -> None:
    """Saved segments with their last measured size."""
    with settings.workspace() as ws:
        frame = ws.segments.list()
    if frame.empty:
        click.echo(t("segments_cli:none_defined"))
    for name, rule, size, day in zip(
        frame["name"], frame["rule"], frame["last_size"], frame["measured_on"], strict=True
    ):
        if day is None:
            measured = t("segments_cli:not_measured")
        else:
            measured = t("segments_cli:measured", size=int(size), day=day)
        click.echo(f"{name}: {rule}  ({measured})")


@segments.command("members")
@click.argument("name_or_rule")
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), help="Business day (default today).")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Write all members in the customer import layout (.csv or .xlsx).",
)
@pass_settings
@friendly_errors
def members(
    settings: Settings, name_or_rule: str, as_of: datetime | None, output: Path | None
) -> None:
    """Customers of a saved segment, or of a rule given directly."""
    day = as_of.date() if as_of else None
    with settings.workspace() as ws:
        if output is not None:
            result = ws.segments.export(name_or_rule, output, as_of=day)
            click.echo(t("segments_cli:exported", rows=result.rows, path=result.path))
            return
        frame = ws.segments.members(name_or_rule, as_of=day)
    columns = [
        "code",
        "name",
        "grade",
        "status",
        "region",
        "owner",
        "orders",
        "revenue",
        "days_since_contact",
    ]
    if not frame.empty:
        click.echo(table_text(frame[columns].head(SHOWN)))
    key = "segments_cli:customers_cut" if len(frame) > SHOWN else "segments_cli:customers"
    click.echo(t(key, count=len(frame), shown=SHOWN))


@segments.command("tag")
@click.argument("name_or_rule")
@click.argument("tag")
@pass_settings
@friendly_errors
def tag(settings: Settings, name_or_rule: str, tag: str) -> None:
    """Give every member the tag TAG (such as 高流失风险)."""
    with settings.workspace() as ws:
        added = ws.segments.tag(name_or_rule, tag)
    click.echo(t("segments_cli:tagged", count=added, tag=tag))


@segments.command("track")
@pass_settings
@friendly_errors
def track(settings: Settings) -> None:
    """Measure every saved segment and keep today's size (run nightly)."""
    with settings.workspace() as ws:
        sizes = ws.segments.track()
    for row in sizes.itertuples(index=False):
        click.echo(f"{row.segment}: {row.size:,}")


@segments.command("history")
@click.argument("name")
@pass_settings
@friendly_errors
def history(settings: Settings, name: str) -> None:
    """Measured sizes of a segment over time."""
    with settings.workspace() as ws:
        frame = ws.segments.history(name)
    for row in frame.itertuples(index=False):
        click.echo(f"{row.measured_on}  {row.size:,}")
