"""The sales pipeline: the weighted forecast and the deals that went quiet.

The forecast sums the open opportunities (contact to negotiation) the user may see, per
month of expected close date, per owner or per team: their count, amount, and amount ×
probability (each deal's own probability, which defaults to its stage's setting
``stage_probability`` and may be overridden per deal). Computed in SQL, so it runs the
same on SQLite and PostgreSQL.

An open opportunity is stale when nothing happened to it for ``stale_opportunity_days``
(setting, default 30): no follow-up logged on the deal itself, no stage change and no
edit. A follow-up with the customer about something else does not count: the deal did
not move.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Float, and_, cast, extract, func, or_, select
from sqlalchemy.orm import aliased

from ... import clock
from ...context import Context, localised
from ...errors import FieldError, ValidationError
from ...i18n import t
from ...missing import is_missing
from ...settings import get_setting
from ...store.models import Customer, Interaction, Opportunity, StageHistory, User
from .records import OPPORTUNITIES, Records
from .stages import OPEN_STAGES

FORECAST_BY = ("month", "owner", "team")


def forecast(
    ctx: Context, by: str = "month", *, start: date | None = None, end: date | None = None
) -> pd.DataFrame:
    """Open opportunities grouped ``by`` month (of expected close date, ``YYYY-MM``; None
    when the date is not known yet), owner or team, with ``count``, ``amount`` and
    ``weighted`` (sum of amount × probability); ``start``/``end`` bound the expected close
    date (inclusive)."""
    if by not in FORECAST_BY:
        raise ValidationError(FieldError("by", by, "enum:by", t("pipeline:bad_by")))
    owner = aliased(User)
    keys: list[Any]
    if by == "month":
        keys = [
            extract("year", Opportunity.expected_close_date).label("year"),
            extract("month", Opportunity.expected_close_date).label("month_number"),
        ]
    elif by == "owner":
        keys = [owner.username.label("owner")]
    else:
        keys = [owner.team.label("team")]
    amount = func.coalesce(func.sum(Opportunity.amount), 0)
    weighted = func.sum(
        cast(Opportunity.amount, Float) * func.coalesce(Opportunity.probability, 0.0)
    )
    stmt = (
        select(
            *keys,
            func.count(Opportunity.id).label("count"),
            amount.label("amount"),
            func.coalesce(weighted, 0.0).label("weighted"),
        )
        .join(Customer, Customer.id == Opportunity.customer_id)
        .outerjoin(owner, owner.id == Opportunity.owner_id)
        .where(ctx.scope.customer_filter(), Opportunity.stage.in_(OPEN_STAGES))
        .group_by(*keys)
    )
    if start is not None:
        stmt = stmt.where(Opportunity.expected_close_date >= start)
    if end is not None:
        stmt = stmt.where(Opportunity.expected_close_date <= end)
    frame = ctx.frame(stmt)
    if by == "month":
        frame.insert(
            0,
            "month",
            [
                None if is_missing(y) else f"{int(y):04d}-{int(m):02d}"
                for y, m in zip(frame["year"], frame["month_number"], strict=True)
            ],
        )
        frame = frame.drop(columns=["year", "month_number"])
    frame["count"] = frame["count"].astype(int)
    frame["amount"] = frame["amount"].astype(float)
    frame["weighted"] = frame["weighted"].astype(float).round(2)
    return frame.sort_values(by, na_position="last", ignore_index=True)


class Opportunities(Records):
    """Opportunities: the generic record service plus the stale-deal list."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx, OPPORTUNITIES)

    @localised
    def stale(self, days: int | None = None) -> pd.DataFrame:
        """Open opportunities with no follow-up on the deal, stage change or edit in
        ``days`` (default: setting ``stale_opportunity_days``), the quietest first."""
        with self._ctx.reading() as conn:
            limit = int(days if days is not None else get_setting(conn, "stale_opportunity_days"))
        now = clock.now()
        cutoff = now - timedelta(days=limit)
        touched = (
            select(
                Interaction.opportunity_id.label("id"),
                func.max(Interaction.occurred_at).label("at"),
            )
            .where(Interaction.opportunity_id.is_not(None))
            .group_by(Interaction.opportunity_id)
            .subquery()
        )
        moved = (
            select(
                StageHistory.opportunity_id.label("id"),
                func.max(StageHistory.entered_at).label("at"),
            )
            .group_by(StageHistory.opportunity_id)
            .subquery()
        )
        owner = aliased(User)
        stmt = (
            select(
                Opportunity.id,
                Opportunity.name,
                Customer.code.label("customer_code"),
                Customer.name.label("customer_name"),
                Opportunity.stage,
                Opportunity.amount,
                Opportunity.expected_close_date,
                owner.username.label("owner"),
                Opportunity.updated_at.label("edited_at"),
                touched.c.at.label("followed_up_at"),
                moved.c.at.label("stage_changed_at"),
            )
            .join(Customer, Customer.id == Opportunity.customer_id)
            .outerjoin(owner, owner.id == Opportunity.owner_id)
            .outerjoin(touched, touched.c.id == Opportunity.id)
            .outerjoin(moved, moved.c.id == Opportunity.id)
            .where(
                self._ctx.scope.customer_filter(),
                Opportunity.stage.in_(OPEN_STAGES),
                and_(
                    Opportunity.updated_at < cutoff,
                    or_(touched.c.at.is_(None), touched.c.at < cutoff),
                    or_(moved.c.at.is_(None), moved.c.at < cutoff),
                ),
            )
        )
        frame = self._ctx.frame(stmt)
        moments = frame[["edited_at", "followed_up_at", "stage_changed_at"]].apply(pd.to_datetime)
        frame["last_activity"] = moments.max(axis=1)
        frame["idle_days"] = [
            (now - moment).days if not is_missing(moment) else None
            for moment in frame["last_activity"]
        ]
        frame = frame.drop(columns=["edited_at", "followed_up_at", "stage_changed_at"])
        return frame.sort_values(["idle_days", "id"], ascending=[False, True], ignore_index=True)
