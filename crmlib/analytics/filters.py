"""The filters every analytics function takes: period, region, team, owner and segment.

``Filters.of(period="2024-Q1", region="华东")`` turns what a user, a URL or a papermill
parameter file says into exact bounds, once, with clear errors; :meth:`Filters.customers`
is the subquery of the customers a figure may count (the user's scope narrowed by the
filters), so every KPI, the funnel, the profile and RFM filter the same way.

Periods are half-open ``[start, end)`` in business dates: ``"2024"``, ``"2024-H1"``,
``"2024-Q1"``, ``"2024-05"``, ``"2024-05-01"``, one relative to today (``previous_quarter``
or ``上季度``, see :data:`RELATIVE`), or ``period_start``/``period_end`` (both inclusive days,
as people write them). Relative periods let a scheduled report, a bookmarked dashboard or an
example in the docs keep meaning "the last full quarter" whatever the date. ``as_of`` is the
day "now" means for figures such as retention or days since contact: by default the last day
of the period, or today.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, select, true
from sqlalchemy.orm import aliased

from .. import clock
from ..context import Context
from ..errors import FieldError, ValidationError
from ..i18n import t
from ..reference.regions import REGIONS, find_region
from ..rules.fields import date_value, validate
from ..store.models import Customer, Lead, User
from .segment_rules.compile import members_query
from .segment_rules.saved import rule_of

_PERIOD = re.compile(
    r"(?P<year>\d{4})(?:-(?:(?P<half>[Hh][12])|(?P<quarter>[Qq][1-4])|(?P<month>\d{1,2})"
    r"(?:-(?P<day>\d{1,2}))?))?"
)


#: Periods relative to the business day: name -> (unit, how many back). Each has a Chinese
#: name too (:data:`RELATIVE_ZH`), as people say them.
RELATIVE = {
    "this_month": ("month", 0),
    "previous_month": ("month", 1),
    "this_quarter": ("quarter", 0),
    "previous_quarter": ("quarter", 1),
    "this_year": ("year", 0),
    "previous_year": ("year", 1),
}
#: How to write a period, for a command's help.
PERIOD_HELP = (
    "2025, 2025-H1, 2025-Q4, 2025-05, 2025-05-01, or relative: previous_quarter (上季度), "
    "this_quarter (本季度), previous_month (上月), this_month (本月), previous_year (去年), "
    "this_year (今年)."
)
RELATIVE_ZH = {
    "本月": "this_month",
    "上月": "previous_month",
    "本季度": "this_quarter",
    "上季度": "previous_quarter",
    "今年": "this_year",
    "去年": "previous_year",
}


def resolve_period(period: str | None, today: date | None = None) -> str | None:
    """A relative period (``previous_quarter``, ``上季度``…) as the period it means on
    ``today`` (default: the business day); any other value unchanged, blanks as None."""
    name = RELATIVE_ZH.get(period.strip(), period.strip()) if period else period
    if not name or name not in RELATIVE:
        return period or None
    day = today or clock.today()
    unit, back = RELATIVE[name]
    if unit == "month":
        first = clock.add_months(date(day.year, day.month, 1), -back)
        return f"{first.year}-{first.month:02d}"
    if unit == "quarter":
        first = clock.add_months(date(day.year, 3 * ((day.month - 1) // 3) + 1, 1), -3 * back)
        return f"{first.year}-Q{(first.month - 1) // 3 + 1}"
    return str(day.year - back)


def parse_period(text: str, today: date | None = None) -> tuple[date, date]:
    """``[start, end)`` of a period written as 2024, 2024-H1, 2024-Q1, 2024-05, 2024-05-01
    or as a relative period (:data:`RELATIVE`) on ``today``."""
    match = _PERIOD.fullmatch((resolve_period(text, today) or "").strip())
    try:
        if match is None:
            raise ValueError(text)
        year = int(match["year"])
        if match["day"]:
            start = date(year, int(match["month"]), int(match["day"]))
            return start, start + timedelta(days=1)
        if match["month"]:
            start = date(year, int(match["month"]), 1)
            return start, clock.add_months(start, 1)
        if match["quarter"]:
            start = date(year, 3 * int(match["quarter"][1]) - 2, 1)
            return start, clock.add_months(start, 3)
        if match["half"]:
            start = date(year, 6 * int(match["half"][1]) - 5, 1)
            return start, clock.add_months(start, 6)
        return date(year, 1, 1), date(year + 1, 1, 1)
    except ValueError:
        raise ValidationError(FieldError("period", text, "period", t("filters:period"))) from None


def _day(field: str, value: date | str) -> date:
    """A day given as a date or as text in any form the entry forms accept."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    clean, errors = validate({field: date_value}, {field: value})
    if errors:
        raise ValidationError(errors)
    day: date = clean[field]
    return day


def _unmerged() -> ColumnElement[bool]:
    """Not one of the (few) merged customers, as read from the partial index on
    ``merged_into_id``: a scope's customers then come from the owner index alone, where
    ``merged_into_id IS NULL`` costs a look-up per customer (half a second for a large team
    at a million customers)."""
    merged = aliased(Customer, name="merged")
    return Customer.id.not_in(select(merged.id).where(merged.merged_into_id.is_not(None)))


@dataclass(frozen=True)
class Filters:
    """Which data a figure covers. ``None`` means "not filtered"."""

    start: date | None = None
    end: date | None = None  # exclusive
    region: str | None = None
    team: str | None = None
    owner: str | None = None
    segment: str | None = None
    as_of: date | None = None

    @classmethod
    def of(
        cls,
        period: str | None = None,
        *,
        period_start: date | str | None = None,
        period_end: date | str | None = None,
        region: str | None = None,
        team: str | None = None,
        owner: str | None = None,
        segment: str | None = None,
        as_of: date | str | None = None,
    ) -> Filters:
        """Filters from what people write; empty strings count as "not given" (so a
        dashboard's empty dropdown or a blank URL parameter filters nothing)."""
        period, region, team, owner, segment = (
            v or None for v in (period, region, team, owner, segment)
        )
        if period and (period_start or period_end):
            raise ValidationError(
                FieldError("period", period, "period_both", t("filters:period_both"))
            )
        start = end = None
        if period:
            start, end = parse_period(period)
        if period_start:
            start = _day("period_start", period_start)
        if period_end:
            end = _day("period_end", period_end) + timedelta(days=1)
        if start and end and end <= start:
            raise ValidationError(
                FieldError("period_end", period_end, "period_order", t("filters:period_order"))
            )
        if region is not None:
            found = find_region(region)
            if found is None:
                message = t("filters:region", choices=", ".join(REGIONS))
                raise ValidationError(FieldError("region", region, "region", message))
            region = found
        day = _day("as_of", as_of) if as_of else None
        return cls(start, end, region, team, owner, segment, day)

    @property
    def day(self) -> date:
        """The day "now" means: ``as_of``, else the period's last day, else today."""
        if self.as_of is not None:
            return self.as_of
        if self.end is not None:
            return min(self.end - timedelta(days=1), clock.today())
        return clock.today()

    def within(self, column: Any) -> ColumnElement[bool]:
        """``column`` (a date or timestamp) falls in the period."""
        tests = []
        if self.start is not None:
            tests.append(column >= self._bound(column, self.start))
        if self.end is not None:
            tests.append(column < self._bound(column, self.end))
        return and_(*tests) if tests else true()

    @staticmethod
    def _bound(column: Any, day: date) -> date | datetime:
        """Timestamps compare with midnight, dates with the day (SQLite stores both as
        text, so the bound must have the column's own form)."""
        python_type = getattr(getattr(column, "type", None), "python_type", date)
        if python_type is datetime:
            return datetime.combine(day, datetime.min.time())
        return day

    def customers(self, ctx: Context) -> Select[Any]:
        """The ids of the customers a figure may count: the user's scope, unmerged, narrowed
        by region, team, owner and segment."""
        scope = ctx.scope
        stmt = select(Customer.id).where(scope.customer_filter(), _unmerged())
        if self.region is not None:
            stmt = stmt.where(Customer.region == self.region)
        if self.team is not None or self.owner is not None:
            owners = select(User.id)
            if self.team is not None:
                owners = owners.where(User.team == self.team)
            if self.owner is not None:
                owners = owners.where(User.username == self.owner)
            stmt = stmt.where(Customer.owner_id.in_(owners))
        if self.segment is not None:
            members = members_query(rule_of(ctx, self.segment), scope, self.day).subquery()
            stmt = stmt.where(Customer.id.in_(select(members.c.id)))
        return stmt

    def leads(self, ctx: Context) -> Select[Any]:
        """The ids of the leads a figure may count: the user's lead scope, created in the
        period, of the region, team and owner (the lead's own); with a segment, only
        leads that became customers of the segment."""
        stmt = select(Lead.id).where(ctx.scope.lead_filter(), self.within(Lead.created_at))
        if self.region is not None:
            stmt = stmt.where(Lead.region == self.region)
        if self.team is not None:
            stmt = stmt.where(Lead.team == self.team)
        if self.owner is not None:
            stmt = stmt.where(Lead.owner_id.in_(select(User.id).where(User.username == self.owner)))
        if self.segment is not None:
            stmt = stmt.where(Lead.customer_id.in_(self.customers(ctx)))
        return stmt

    def describe(self) -> dict[str, Any]:
        """The filters as plain values, for report titles and run records."""
        return {
            "start": self.start,
            "end": self.end,
            "region": self.region,
            "team": self.team,
            "owner": self.owner,
            "segment": self.segment,
            "as_of": self.day,
        }
