"""SLA clock arithmetic: due times, elapsed business time and a ticket's SLA state.

Pure functions of times and settings, so the ticket service, the importer and the reports
compute the same due times and states. With business hours (setting ``business_hours``,
e.g. 09:00-18:00 Monday to Friday) the clock only runs inside them: a high-priority ticket
opened on Friday at 17:00 with 24 business hours to its first response is due on the
Wednesday after at 17:00. Without them the clock runs around the clock.

Business time is measured as a *position*: the business seconds between a fixed Monday and
a moment. Elapsed time is a difference of positions and a due time is the inverse, both in
constant time however far apart the moments are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from ...errors import ConfigError
from ...i18n import t
from ...settings import get_setting

OK, AT_RISK, BREACHED = "ok", "at_risk", "breached"
SLA_STATES = (OK, AT_RISK, BREACHED)
#: Statuses whose SLA clocks still run.
PENDING = ("open", "in_progress")

_EPOCH = datetime(2000, 1, 3)  # a Monday
_WEEK_DAYS = 7


def _clock_time(text: Any, name: str) -> time:
    try:
        hours, minutes = str(text).split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise ConfigError(t("sla:bad_time", name=name, text=text)) from None


@dataclass(frozen=True)
class BusinessHours:
    """Working hours on some weekdays (ISO numbers, Monday = 1)."""

    start: time
    end: time
    weekdays: tuple[int, ...]

    def __post_init__(self) -> None:
        if self.start >= self.end:
            raise ConfigError(t("sla:start_after_end", start=self.start, end=self.end))
        if not self.weekdays or not set(self.weekdays) <= set(range(1, 8)):
            raise ConfigError(t("sla:bad_weekdays", weekdays=list(self.weekdays)))

    @classmethod
    def of(cls, setting: Mapping[str, Any] | None) -> BusinessHours | None:
        """From the ``business_hours`` setting; None means around the clock."""
        if setting is None:
            return None
        weekdays = setting.get("weekdays", [1, 2, 3, 4, 5])
        return cls(
            _clock_time(setting.get("start", "09:00"), "start"),
            _clock_time(setting.get("end", "18:00"), "end"),
            tuple(sorted({int(d) for d in weekdays})),
        )

    @property
    def day_seconds(self) -> int:
        return _seconds(self.end) - _seconds(self.start)

    @property
    def week_seconds(self) -> int:
        return self.day_seconds * len(self.weekdays)

    def position(self, moment: datetime) -> int:
        """Business seconds from the epoch Monday to ``moment``."""
        days = (moment.date() - _EPOCH.date()).days
        week, weekday = divmod(days, _WEEK_DAYS)
        before = sum(1 for d in self.weekdays if d <= weekday)  # ISO weekday = weekday + 1
        within = 0
        if weekday + 1 in self.weekdays:
            clock = _seconds(moment.time())
            within = min(max(clock, _seconds(self.start)), _seconds(self.end))
            within -= _seconds(self.start)
        return week * self.week_seconds + before * self.day_seconds + within

    def moment(self, position: int) -> datetime:
        """The earliest moment whose :meth:`position` is ``position`` (a business day's end
        rather than the next one's start)."""
        week, rest = divmod(position - 1, self.week_seconds)
        index, offset = divmod(rest, self.day_seconds)
        weekday = self.weekdays[index] - 1
        day = _EPOCH + timedelta(days=week * _WEEK_DAYS + weekday)
        return day + timedelta(seconds=_seconds(self.start) + offset + 1)


def _seconds(of: time) -> int:
    return of.hour * 3600 + of.minute * 60 + of.second


def add_hours(moment: datetime, hours: float, business: BusinessHours | None) -> datetime:
    """``moment`` plus ``hours`` of clock time (business time when hours are set)."""
    seconds = round(hours * 3600)
    if business is None or seconds <= 0:
        return moment + timedelta(seconds=seconds)
    return business.moment(business.position(moment) + seconds)


def elapsed_seconds(start: datetime, end: datetime, business: BusinessHours | None) -> int:
    """Clock (or business) seconds from ``start`` to ``end``; 0 when ``end`` is earlier."""
    if end <= start:
        return 0
    if business is None:
        return int((end - start).total_seconds())
    return business.position(end) - business.position(start)


@dataclass(frozen=True)
class Allowance:
    """Hours to the first response and to resolution, for one priority."""

    first_response_hours: float
    resolution_hours: float


@dataclass(frozen=True)
class SlaClock:
    """The SLA settings of a database: policy per priority, business hours, risk share."""

    policy: Mapping[str, Allowance]
    business: BusinessHours | None = None
    at_risk_share: float = 0.75

    @classmethod
    def of(
        cls,
        policy: Mapping[str, Mapping[str, Any]],
        business_hours: Mapping[str, Any] | None = None,
        at_risk_share: float = 0.75,
    ) -> SlaClock:
        allowances: dict[str, Allowance] = {}
        for priority, hours in policy.items():
            try:
                allowance = Allowance(
                    float(hours["first_response_hours"]), float(hours["resolution_hours"])
                )
            except (KeyError, TypeError, ValueError):
                raise ConfigError(t("sla:needs_hours", priority=priority)) from None
            if allowance.first_response_hours <= 0 or allowance.resolution_hours <= 0:
                raise ConfigError(t("sla:positive_hours", priority=priority))
            allowances[priority] = allowance
        if not 0 < float(at_risk_share) < 1:
            raise ConfigError(t("sla:bad_share", share=at_risk_share))
        return cls(allowances, BusinessHours.of(business_hours), float(at_risk_share))

    @classmethod
    def load(cls, source: Session | Connection) -> SlaClock:
        """The clock configured in the database's settings."""
        return cls.of(
            get_setting(source, "sla_policy"),
            get_setting(source, "business_hours"),
            get_setting(source, "sla_at_risk_share"),
        )

    def due(self, opened_at: datetime, priority: str) -> tuple[datetime, datetime]:
        """First-response and resolution due times of a ticket opened at ``opened_at``."""
        if priority not in self.policy:
            raise ConfigError(t("sla:no_priority", priority=priority))
        allowance = self.policy[priority]
        return (
            add_hours(opened_at, allowance.first_response_hours, self.business),
            add_hours(opened_at, allowance.resolution_hours, self.business),
        )

    def state(
        self,
        *,
        status: str,
        opened_at: datetime,
        first_response_due: datetime | None,
        resolution_due: datetime | None,
        first_response_at: datetime | None,
        resolved_at: datetime | None,
        now: datetime,
    ) -> str:
        """``breached`` when the first response or the resolution came later than due, or
        is overdue now; ``at_risk`` when a pending ticket has used more than
        :attr:`at_risk_share` of an allowance; else ``ok``.

        A ticket resolved without a recorded first response counts as answered when it was
        resolved. Only open and in-progress tickets become overdue by the passing of time.
        """
        pending = status in PENDING
        answered = first_response_at or resolved_at
        clocks = ((answered, first_response_due), (resolved_at, resolution_due))
        for done, due in clocks:
            if due is not None and (done > due if done is not None else pending and now > due):
                return BREACHED
        if pending:
            for done, due in clocks:
                if (
                    done is None
                    and due is not None
                    and self.used(opened_at, due, now) > (self.at_risk_share)
                ):
                    return AT_RISK
        return OK

    def used(self, opened_at: datetime, due: datetime, now: datetime) -> float:
        """The share of the allowance from ``opened_at`` to ``due`` that has passed by ``now``."""
        allowance = elapsed_seconds(opened_at, due, self.business)
        if allowance <= 0:
            return 1.0
        return elapsed_seconds(opened_at, now, self.business) / allowance
