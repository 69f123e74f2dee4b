"""Business time. Timestamps are stored as naive local times of one business time zone
(``CRM_TIMEZONE``, default Asia/Shanghai), so that "today", customer codes and monthly
reports follow the company's calendar rather than UTC."""

from __future__ import annotations

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
