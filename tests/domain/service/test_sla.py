"""SLA clock arithmetic: due times and elapsed time, around the clock and in business hours."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmlib.domain.service.sla import (
    AT_RISK,
    BREACHED,
    OK,
    BusinessHours,
    SlaClock,
    add_hours,
    elapsed_seconds,
)
from crmlib.errors import ConfigError
from crmlib.settings import DEFAULTS

OFFICE = BusinessHours.of({"start": "09:00", "end": "18:00", "weekdays": [1, 2, 3, 4, 5]})
assert OFFICE is not None
moments = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)).map(
    lambda d: d.replace(microsecond=0)
)
hours = st.integers(min_value=1, max_value=2000).map(lambda h: h / 4)


def test_around_the_clock_adds_plain_hours() -> None:
    assert add_hours(datetime(2024, 5, 3, 17), 24, None) == datetime(2024, 5, 4, 17)


def test_business_hours_skip_nights_and_weekends() -> None:
    friday_five = datetime(2024, 5, 3, 17)
    # 1 h on Friday, 9 on Monday, 9 on Tuesday, 5 on Wednesday
    assert add_hours(friday_five, 24, OFFICE) == datetime(2024, 5, 8, 14)
    assert add_hours(datetime(2024, 5, 4, 11), 2, OFFICE) == datetime(2024, 5, 6, 11)  # Saturday
    # ending exactly at closing time stays on that day, not the next morning
    assert add_hours(datetime(2024, 5, 6, 9), 9, OFFICE) == datetime(2024, 5, 6, 18)
    assert elapsed_seconds(friday_five, datetime(2024, 5, 6, 10), OFFICE) == 2 * 3600


@given(moments, hours)
def test_elapsed_inverts_add(start: datetime, allowance: float) -> None:
    due = add_hours(start, allowance, OFFICE)
    assert elapsed_seconds(start, due, OFFICE) == round(allowance * 3600)
    assert due > start
    assert due.isoweekday() in OFFICE.weekdays
    assert OFFICE.start < due.time() <= OFFICE.end


@given(moments, moments)
def test_elapsed_business_time_never_exceeds_clock_time(a: datetime, b: datetime) -> None:
    business = elapsed_seconds(a, b, OFFICE)
    clock = elapsed_seconds(a, b, None)
    assert 0 <= business <= clock
    assert business <= (clock // (7 * 86400) + 1) * OFFICE.week_seconds


@given(moments, hours, hours)
def test_due_times_grow_with_the_allowance(start: datetime, a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert add_hours(start, low, OFFICE) <= add_hours(start, high, OFFICE)


@pytest.mark.parametrize(
    "setting",
    [
        {"start": "18:00", "end": "09:00"},
        {"start": "9h", "end": "18:00"},
        {"start": "09:00", "end": "18:00", "weekdays": []},
        {"start": "09:00", "end": "18:00", "weekdays": [0, 8]},
    ],
)
def test_bad_business_hours_are_config_errors(setting: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match="business_hours"):
        BusinessHours.of(setting)


def test_bad_policies_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="sla_policy"):
        SlaClock.of({"high": {"first_response_hours": 0, "resolution_hours": 4}})
    with pytest.raises(ConfigError, match="sla_policy"):
        SlaClock.of({"high": {"first_response_hours": 4}})
    with pytest.raises(ConfigError, match="sla_at_risk_share"):
        SlaClock.of(DEFAULTS["sla_policy"], None, 1.5)


CLOCK = SlaClock.of(DEFAULTS["sla_policy"], None, 0.75)
OPENED = datetime(2024, 5, 1, 9)


def state(status: str = "open", now_hours: float = 1, **times: datetime | None) -> str:
    first_due, resolution_due = CLOCK.due(OPENED, "high")  # 24 h, 72 h
    values: dict[str, datetime | None] = {"first_response_at": None, "resolved_at": None}
    values.update(times)
    return CLOCK.state(
        status=status,
        opened_at=OPENED,
        first_response_due=first_due,
        resolution_due=resolution_due,
        now=OPENED + timedelta(hours=now_hours),
        **values,  # type: ignore[arg-type]
    )


def at(hours_after: float) -> datetime:
    return OPENED + timedelta(hours=hours_after)


def test_state_ok_at_risk_and_breached() -> None:
    assert state(now_hours=1) == OK
    assert state(now_hours=19) == AT_RISK  # 79% of the 24 h response allowance
    assert state(now_hours=25) == BREACHED  # no response, overdue now
    assert state("in_progress", 25, first_response_at=at(2)) == OK
    assert state("in_progress", 60, first_response_at=at(2)) == AT_RISK  # 83% of 72 h
    assert state("in_progress", 80, first_response_at=at(2)) == BREACHED
    assert state("closed", 500, first_response_at=at(30), resolved_at=at(40)) == BREACHED
    assert state("closed", 500, first_response_at=at(2), resolved_at=at(40)) == OK
    # resolved without a recorded response: answered when resolved
    assert state("resolved", 500, resolved_at=at(10)) == OK
    # a finished ticket with a missing time is not overdue by the clock
    assert state("closed", 500, first_response_at=at(2)) == OK
