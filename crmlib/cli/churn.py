"""``crm churn``: train the churn-risk model, score customers, explain a score."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import click

from ..analytics.churn import TAG, ChurnModel
from ..formatting import number_text, value_text
from ..i18n import t
from .base import Settings, friendly_errors, main, pass_settings

SHOWN = 5


def _filters(func: Callable[..., Any]) -> Callable[..., Any]:
    """The analytics filters every churn command takes."""
    for name, text in reversed(
        (
            ("--region", "Only customers of this sales region."),
            ("--team", "Only customers owned by this team."),
            ("--owner", "Only customers of this owner (username)."),
            ("--segment", "Only members of this saved segment (or rule)."),
        )
    ):
        func = click.option(name, help=text)(func)
    return click.option(
        "--as-of", type=click.DateTime(["%Y-%m-%d"]), help="Business day (default today)."
    )(func)


def _given(as_of: datetime | None, **filters: str | None) -> dict[str, Any]:
    given: dict[str, Any] = {k: v for k, v in filters.items() if v}
    if as_of is not None:
        given["as_of"] = as_of.date()
    return given


def _report(model: ChurnModel, lang: str) -> None:
    auc = "-" if model.auc is None else f"{model.auc:.3f}"
    click.echo(
        t(
            "churn_cli:model",
            lang,
            as_of=model.as_of,
            horizon=model.horizon_days,
            t1=model.train_cutoff,
            train=model.train_rows,
            train_rate=model.train_churn_rate,
            t2=model.test_cutoff,
            test=model.test_rows,
            test_rate=model.test_churn_rate,
            auc=auc,
        )
    )


@main.group()
def churn() -> None:
    """Churn risk: a model of who stops ordering, scores and the 高流失风险 tag."""


@churn.command("train")
@_filters
@pass_settings
@friendly_errors
def train(settings: Settings, as_of: datetime | None, **filters: str | None) -> None:
    """Train and evaluate the model on a time-based holdout; nothing is written."""
    with settings.workspace() as ws:
        model = ws.churn.train(**_given(as_of, **filters))
        lang = ws.ctx.lang
    _report(model, lang)
    click.echo(t("churn_cli:weights", lang))
    for row in model.coefficients(lang).itertuples(index=False):
        click.echo(f"  {row.coefficient:+.3f}  {row.label}")


@churn.command("score")
@_filters
@click.option("--threshold", type=float, help="Tag at or above this risk (setting churn).")
@pass_settings
@friendly_errors
def score(
    settings: Settings, as_of: datetime | None, threshold: float | None, **filters: str | None
) -> None:
    """Train, store every customer's churn risk and set or clear the 高流失风险 tag (safe to
    run twice; for the nightly job)."""
    with settings.workspace() as ws:
        result = ws.churn.score(threshold=threshold, **_given(as_of, **filters))
        lang = ws.ctx.lang
    _report(result.model, lang)
    click.echo(
        t(
            "churn_cli:scored",
            lang,
            scored=result.scored,
            at_risk=result.at_risk,
            threshold=number_text(result.threshold, "share"),
            tag=TAG,
            tagged=result.tagged,
            untagged=result.untagged,
            changed=result.changed,
        )
    )
    top = result.risks.head(SHOWN)
    for row in top.itertuples(index=False):
        factors = ", ".join(str(f) for f in (row.factor_1, row.factor_2, row.factor_3) if f)
        click.echo(f"  {row.code}  {number_text(row.risk, 'share')}  {factors}")


@churn.command("explain")
@click.argument("code")
@_filters
@pass_settings
@friendly_errors
def explain(settings: Settings, code: str, as_of: datetime | None, **filters: str | None) -> None:
    """What drives one customer's churn risk, feature by feature."""
    with settings.workspace() as ws:
        frame = ws.churn.explain(code, **_given(as_of, **filters))
    for row in frame.itertuples(index=False):
        click.echo(f"  {row.contribution:+.3f}  {row.label}: {value_text(row.value)}")
