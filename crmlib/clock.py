"""Business time. Timestamps are stored as naive local times of one business time zone
(``CRM_TIMEZONE``, default Asia/Shanghai), so that "today", customer codes and monthly
reports follow the company's calendar rather than UTC."""

from __future__ import annotations

import calendar
import os
from datetime import date, datetime
from zoneinfo import ZoneInfo

DEFAULT_TIMEZONE = "Asia/Shanghai"


def business_zone() -> ZoneInfo:
    return ZoneInfo(os.environ.get("CRM_TIMEZONE", DEFAULT_TIMEZONE))


def now() -> datetime:
    """The current business time, naive, to the second."""
    return datetime.now(business_zone()).replace(tzinfo=None, microsecond=0)


def today() -> date:
    return now().date()


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months; the 29-31st fall back to the month's last day."""
    years, month = divmod(day.month - 1 + months, 12)
    year = day.year + years
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))
