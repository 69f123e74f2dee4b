"""The demo's time line: a fixed 24-month span with the rhythm of B2B work in China.

Times are drawn as whole seconds since the span's first midnight, never from the wall
clock, so the same arguments always give the same data. Activity follows the working week,
dips around the Spring Festival and the national holidays, and peaks in Q4.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

from ..clock import add_months
from .vectors import Array

SPAN_MONTHS = 24
DEFAULT_START = date(2024, 1, 1)
DAY = 86_400
HOUR = 3_600

# Lunar New Year's Day: business slows a week before and stays slow ten days after.
SPRING_FESTIVAL = {
    2015: date(2015, 2, 19),
    2016: date(2016, 2, 8),
    2017: date(2017, 1, 28),
    2018: date(2018, 2, 16),
    2019: date(2019, 2, 5),
    2020: date(2020, 1, 25),
    2021: date(2021, 2, 12),
    2022: date(2022, 2, 1),
    2023: date(2023, 1, 22),
    2024: date(2024, 2, 10),
    2025: date(2025, 1, 29),
    2026: date(2026, 2, 17),
    2027: date(2027, 2, 6),
    2028: date(2028, 1, 26),
    2029: date(2029, 2, 13),
    2030: date(2030, 2, 3),
    2031: date(2031, 1, 23),
    2032: date(2032, 2, 11),
    2033: date(2033, 1, 31),
    2034: date(2034, 2, 19),
    2035: date(2035, 2, 8),
    2036: date(2036, 1, 28),
    2037: date(2037, 2, 15),
    2038: date(2038, 2, 4),
    2039: date(2039, 1, 24),
    2040: date(2040, 2, 12),
}
FESTIVAL_BEFORE, FESTIVAL_AFTER, FESTIVAL_FACTOR = 7, 10, 0.25
# Labour Day (1-5 May) and National Day (1-7 October) golden weeks.
GOLDEN_WEEKS = ((5, 1, 5), (10, 1, 7))
GOLDEN_WEEK_FACTOR = 0.3
# January .. December: budgets are spent before year end, February has the festival.
MONTH_FACTOR = (1.0, 0.85, 1.05, 1.0, 0.95, 1.05, 0.95, 0.95, 1.05, 0.95, 1.15, 1.3)
WEEKDAY_FACTOR = (1.0, 1.05, 1.05, 1.0, 0.95, 0.2, 0.1)  # Monday .. Sunday
# Office hours with a lunch break; weights for the hours 8:00 .. 20:00.
HOUR_WEIGHTS = (0.3, 1.0, 1.3, 1.2, 0.4, 0.7, 1.2, 1.3, 1.2, 0.8, 0.4, 0.2, 0.1)
FIRST_HOUR = 8
# New customers arrive faster as the business grows: the last day weighs this much more.
GROWTH = 0.6


def period(start: date | None = None) -> tuple[date, date]:
    """The demo span: its first day and the day after its last (the as-of date of reports)."""
    first = start or DEFAULT_START
    return first, add_months(first, SPAN_MONTHS)


class Sampler:
    """Draws days from a weighted calendar, optionally between per-row bounds."""

    def __init__(self, weights: Array) -> None:
        self._edges = np.concatenate(([0.0], np.cumsum(weights) / weights.sum()))
        self.days = len(weights)

    def sample(self, rng: np.random.Generator, size: int) -> Array:
        """``size`` days from the whole calendar."""
        return np.searchsorted(self._edges, rng.random(size), side="right") - 1

    def draw(self, rng: np.random.Generator, lo: Array | int, hi: Array | int) -> Array:
        """One day per row in ``[lo, hi)`` (day indices), following the weights; ``lo``
        where the range is empty."""
        lo_arr = np.clip(np.asarray(lo, dtype=np.int64), 0, self.days - 1)
        hi_arr = np.clip(np.asarray(hi, dtype=np.int64), lo_arr + 1, self.days)
        low, high = self._edges[lo_arr], self._edges[hi_arr]
        u = low + (high - low) * rng.random(np.broadcast(lo_arr, hi_arr).shape)
        day = np.searchsorted(self._edges, u, side="right") - 1
        return np.clip(day, lo_arr, hi_arr - 1)


@dataclass(frozen=True)
class Timeline:
    """The demo span and how busy each of its days is."""

    start: date
    end: date
    days: int = field(init=False)
    activity: Sampler = field(init=False)
    growth: Sampler = field(init=False)

    def __post_init__(self) -> None:
        days = (self.end - self.start).days
        weights = _seasonality(np.datetime64(self.start, "D") + np.arange(days))
        trend = 1.0 + GROWTH * np.arange(days) / days
        object.__setattr__(self, "days", days)
        object.__setattr__(self, "activity", Sampler(weights))
        object.__setattr__(self, "growth", Sampler(weights * trend))

    @classmethod
    def of(cls, start: date | None = None) -> Timeline:
        return cls(*period(start))

    @property
    def seconds(self) -> int:
        """Length of the span in seconds: every drawn time lies in ``[0, seconds)``."""
        return self.days * DAY

    def moments(
        self, rng: np.random.Generator, lo: Array | int, hi: Array | int | None = None
    ) -> Array:
        """Seasonal moments (seconds) at or after ``lo`` and before ``hi`` (default: the end);
        ``lo`` must be before ``hi``.

        Where the time of day drawn falls outside the range (on its first or last day), the
        moment is drawn uniformly from the range instead.
        """
        lo_s = np.asarray(lo, dtype=np.int64)
        hi_s = np.asarray(self.seconds if hi is None else hi, dtype=np.int64)
        day = self.activity.draw(rng, lo_s // DAY, -(-hi_s // DAY))
        size = len(day) if day.ndim else 1
        at = day * DAY + office_time(rng, size).reshape(day.shape)
        uniform = lo_s + (rng.random(day.shape) * (hi_s - lo_s)).astype(np.int64)
        return np.where((at < lo_s) | (at >= hi_s), uniform, at)

    def stamp(self, seconds: Array, present: Array | None = None) -> Array:
        """Seconds as ``datetime64[s]`` timestamps; NaT where ``present`` is False."""
        out = np.datetime64(self.start, "s") + np.asarray(seconds, dtype=np.int64).astype(
            "timedelta64[s]"
        )
        if present is not None:
            out[~present] = np.datetime64("NaT")
        return out

    def dates(self, seconds: Array, present: Array | None = None) -> Array:
        """Seconds as ``datetime64[D]`` dates; NaT where ``present`` is False."""
        return self.stamp(seconds, present).astype("datetime64[D]")


def office_time(rng: np.random.Generator, size: int) -> Array:
    """Seconds after midnight, mostly in office hours."""
    weights = np.asarray(HOUR_WEIGHTS)
    hour = FIRST_HOUR + rng.choice(len(weights), size=size, p=weights / weights.sum())
    return hour * HOUR + rng.integers(0, HOUR, size)


def _seasonality(days: Array) -> Array:
    """Relative business activity of each day (``datetime64[D]``)."""
    months = days.astype("datetime64[M]")
    month = months.astype(np.int64) % 12
    day_of_month = (days - months).astype(np.int64) + 1
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    weights: Array = np.asarray(MONTH_FACTOR)[month] * np.asarray(WEEKDAY_FACTOR)[weekday]
    for in_month, first, last in GOLDEN_WEEKS:
        holiday = (month == in_month - 1) & (day_of_month >= first) & (day_of_month <= last)
        weights[holiday] *= GOLDEN_WEEK_FACTOR
    years = days.astype("datetime64[Y]").astype(np.int64) + 1970
    for year in np.unique(years).tolist():
        festival = SPRING_FESTIVAL.get(year)  # always late January or February
        if festival is not None:
            offset = (days - np.datetime64(festival, "D")).astype(np.int64)
            weights[(offset >= -FESTIVAL_BEFORE) & (offset <= FESTIVAL_AFTER)] *= FESTIVAL_FACTOR
    return weights
