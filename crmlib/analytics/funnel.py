"""The sales funnel (销售漏斗): how far leads get, how long each step takes, and why they drop.

Steps and what "reached" means, for the leads created in the period (the cohort; the
user's lead scope and the filters of :meth:`Filters.leads`):

- ``lead``: every lead of the cohort, invalid ones included;
- ``qualified`` (意向): the lead is qualified or converted, or has a deal;
- ``proposal``: the lead's deal (``leads.opportunity_id``) reached the proposal stage or a
  later one (negotiation, won) by its stage history: a deal that skipped a stage still
  passed it;
- ``negotiation``: the deal reached negotiation or won;
- ``won``: the deal was won.

Progress counts stage-history entries up to the as-of day (``as_of``, default today), so
a report of an old period can be re-run with the same numbers. ``basis="deals"`` follows
the deals created in the period instead (customers of :meth:`Filters.customers`), from
``qualified`` (every deal) on: the funnel of all business, repeat deals included.

``step_conversion`` = count / the previous step's count, ``cumulative_conversion`` = count
/ the first step's count (the handbook's percentages). ``avg_days`` is the average time
spent in the step by those who left it: lead → conversion for ``lead``; the contact and
needs-analysis stages for ``qualified``; the proposal and negotiation stages for theirs
(per deal, summed over re-entries). ``lost`` is where the cohort dropped out: invalid
leads at ``lead``; lost deals at the furthest step they had reached. ``losses`` gives the
reasons (invalid reason, loss reason) with their share of all losses; ``worst_step`` is
the step where most are lost.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Select, and_, case, func, literal, or_, select

from .. import clock
from ..context import Context
from ..errors import FieldError, ValidationError
from ..i18n import t
from ..missing import is_missing
from ..store.models import Lead, Opportunity, StageHistory
from .days import days_between
from .filters import Filters
from .labels import label

STEPS = ("lead", "qualified", "proposal", "negotiation", "won")
BASES = ("leads", "deals")
#: How far each stage of a deal is along the funnel; ``lost`` is no progress.
STAGE_RANK = {"contact": 1, "needs_analysis": 1, "proposal": 2, "negotiation": 3, "won": 4}
#: The step that time spent in a stage belongs to.
STAGE_STEP = {
    "contact": "qualified",
    "needs_analysis": "qualified",
    "proposal": "proposal",
    "negotiation": "negotiation",
}
RANK_STEP = {1: "qualified", 2: "proposal", 3: "negotiation"}


@dataclass(frozen=True)
class Funnel:
    """Counts, conversions and days per step; loss reasons; where most are lost."""

    steps: pd.DataFrame
    losses: pd.DataFrame
    worst_step: str | None

    def tables(self) -> dict[str, pd.DataFrame]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "worst_step"}


def sales_funnel(ctx: Context, *, basis: str = "leads", **filters: Any) -> Funnel:
    """The funnel of the leads (or, ``basis="deals"``, the deals) created in the period."""
    if basis not in BASES:
        raise ValidationError(FieldError("basis", basis, "funnel_basis", t("funnel:bad_basis")))
    f = Filters.of(**filters)
    bound = _midnight((f.as_of or clock.today()) + timedelta(days=1))
    by_leads = basis == "leads"
    leads = f.leads(ctx)
    if by_leads:
        deals = select(Lead.opportunity_id).where(
            Lead.id.in_(leads), Lead.opportunity_id.is_not(None)
        )
    else:
        deals = select(Opportunity.id).where(
            Opportunity.customer_id.in_(f.customers(ctx)), f.within(Opportunity.created_at)
        )
    furthest = _furthest(deals, bound)
    with ctx.reading() as conn:
        counts = conn.execute(_counts(leads, deals, furthest, by_leads)).one()
        days = {step: value for step, value in conn.execute(_stage_days(deals, bound))}
        if by_leads:
            days["lead"] = conn.execute(_lead_days(leads, bound)).scalar_one()
        lost_deals = pd.read_sql(_lost_deals(deals, furthest, bound), conn)
        invalid = pd.read_sql(_invalid_leads(leads), conn) if by_leads else None

    steps = STEPS if by_leads else STEPS[1:]
    losses = _losses(lost_deals, invalid, ctx.lang)
    lost = losses.groupby("step")["count"].sum() if len(losses) else pd.Series(dtype=int)
    frame = pd.DataFrame(
        {
            "step": list(steps),
            "label": [label(s, ctx.lang) for s in steps],
            "count": [int(c or 0) for c in counts],
            "avg_days": [_float(days.get(s)) for s in steps],
            "lost": [int(lost.get(s, 0)) for s in steps],
        }
    )
    first = frame["count"].iloc[0]
    previous = frame["count"].shift(1).fillna(first)
    frame.insert(3, "step_conversion", _ratio(frame["count"], previous))
    frame.insert(4, "cumulative_conversion", _ratio(frame["count"], first))
    worst = (
        str(frame["step"].iloc[int(frame["lost"].to_numpy().argmax())])
        if frame["lost"].sum()
        else None
    )
    return Funnel(frame, losses, worst)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time())


def _rank() -> Any:
    return case(
        *((StageHistory.stage == stage, rank) for stage, rank in STAGE_RANK.items()), else_=0
    )


def _furthest(deals: Select[Any], bound: datetime) -> Any:
    """Per deal, the furthest stage rank its history reached before ``bound``."""
    return (
        select(StageHistory.opportunity_id, func.max(_rank()).label("rank"))
        .where(StageHistory.opportunity_id.in_(deals), StageHistory.entered_at < bound)
        .group_by(StageHistory.opportunity_id)
        .subquery("furthest")
    )


def _counts(
    leads: Select[Any], deals: Select[Any], furthest: Any, by_leads: bool
) -> Select[*tuple[Any, ...]]:
    rank = func.coalesce(furthest.c.rank, 0)

    def reached(test: Any) -> Any:
        return func.coalesce(func.sum(case((test, 1), else_=0)), 0)

    later = [reached(rank >= r) for r in (2, 3, 4)]
    if not by_leads:
        return (
            select(func.count(), *later)
            .select_from(Opportunity)
            .outerjoin(furthest, furthest.c.opportunity_id == Opportunity.id)
            .where(Opportunity.id.in_(deals))
        )
    qualified = or_(Lead.status.in_(("qualified", "converted")), rank >= 1)
    return (
        select(func.count(), reached(qualified), *later)
        .select_from(Lead)
        .outerjoin(furthest, furthest.c.opportunity_id == Lead.opportunity_id)
        .where(Lead.id.in_(leads))
    )


def _stage_days(deals: Select[Any], bound: datetime) -> Select[*tuple[Any, ...]]:
    """Average days per step over the deals that left it (a deal's re-entries summed)."""
    step = case(*((StageHistory.stage == s, literal(v)) for s, v in STAGE_STEP.items()))
    per_deal = (
        select(
            StageHistory.opportunity_id,
            step.label("step"),
            func.sum(days_between(StageHistory.left_at, StageHistory.entered_at)).label("days"),
        )
        .where(
            StageHistory.opportunity_id.in_(deals),
            StageHistory.stage.in_(STAGE_STEP),
            StageHistory.left_at.is_not(None),
            StageHistory.left_at < bound,
        )
        .group_by(StageHistory.opportunity_id, step)
        .subquery()
    )
    return select(per_deal.c.step, func.avg(per_deal.c.days)).group_by(per_deal.c.step)


def _lead_days(leads: Select[Any], bound: datetime) -> Select[*tuple[Any, ...]]:
    return select(func.avg(days_between(Lead.converted_at, Lead.created_at))).where(
        Lead.id.in_(leads), Lead.converted_at.is_not(None), Lead.converted_at < bound
    )


def _lost_deals(deals: Select[Any], furthest: Any, bound: datetime) -> Select[*tuple[Any, ...]]:
    """Lost deals per furthest rank and loss reason."""
    lost = select(StageHistory.opportunity_id).where(
        StageHistory.opportunity_id.in_(deals),
        StageHistory.stage == "lost",
        StageHistory.entered_at < bound,
    )
    rank = func.coalesce(furthest.c.rank, 1)
    return (
        select(
            rank.label("rank"), Opportunity.loss_reason.label("reason"), func.count().label("count")
        )
        .select_from(Opportunity)
        .outerjoin(furthest, furthest.c.opportunity_id == Opportunity.id)
        .where(Opportunity.id.in_(lost))
        .group_by(rank, Opportunity.loss_reason)
    )


def _invalid_leads(leads: Select[Any]) -> Select[*tuple[Any, ...]]:
    return (
        select(Lead.invalid_reason.label("reason"), func.count().label("count"))
        .where(and_(Lead.id.in_(leads), Lead.status == "invalid"))
        .group_by(Lead.invalid_reason)
    )


def _losses(deals: pd.DataFrame, invalid: pd.DataFrame | None, lang: str) -> pd.DataFrame:
    deals = deals.assign(step=[RANK_STEP.get(int(r), "qualified") for r in deals["rank"]])
    parts = [deals[["step", "reason", "count"]]]
    if invalid is not None and len(invalid):
        parts.insert(0, invalid.assign(step="lead")[["step", "reason", "count"]])
    rows = pd.concat(parts, ignore_index=True)
    frame = rows.groupby(["step", "reason"], dropna=False)["count"].sum().reset_index()
    frame["count"] = frame["count"].astype(int)
    frame["reason"] = [label("not_set", lang) if is_missing(r) else r for r in frame["reason"]]
    frame.insert(1, "step_label", [label(s, lang) for s in frame["step"]])
    total = frame["count"].sum()
    frame["share"] = frame["count"] / total if total else []
    order = frame["step"].map(STEPS.index)
    frame = frame.assign(_order=order).sort_values(
        ["count", "_order", "reason"], ascending=[False, True, True]
    )
    return frame.drop(columns="_order").reset_index(drop=True)


def _ratio(counts: pd.Series, base: Any) -> pd.Series:
    return (counts / base).where(pd.Series(base, index=counts.index) > 0)


def _float(value: Any) -> float:
    return float("nan") if value is None else float(value)
