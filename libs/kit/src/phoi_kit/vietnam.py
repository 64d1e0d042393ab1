"""Vietnam's calendar, for every service: the one time-zone constant and the day bounds built on it.

Dates a person writes or reads (a filter's ``created_from``, a movement's ``occurred_on``, a report's
period) are Vietnamese calendar dates; instants are stored in UTC. Vietnam keeps UTC+7 all year. Plain
Python: a domain may import it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

VIETNAM_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def today_in_vietnam(at: datetime | None = None) -> date:
    """The calendar date in Vietnam at ``at`` (an aware instant; default: now)."""
    return (at or datetime.now(UTC)).astimezone(VIETNAM_TZ).date()


def vietnam_day_start(day: date) -> datetime:
    """Midnight in Vietnam at the start of ``day``."""
    return datetime.combine(day, time(0), tzinfo=VIETNAM_TZ)


def vietnam_day_end(day: date) -> datetime:
    """Midnight in Vietnam at the end of ``day`` (an exclusive bound)."""
    return vietnam_day_start(day + timedelta(days=1))
