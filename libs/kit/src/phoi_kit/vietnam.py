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


# Days outside these mean "no bound": the extremes of `date` do not convert to UTC.
_EARLIEST, _LATEST = date(1900, 1, 1), date(9999, 1, 1)


def vietnam_day_start(day: date) -> datetime:
    """Midnight in Vietnam at the start of ``day`` (clamped to 1900–9999, so a filter at the calendar's
    edge is no bound rather than an overflow)."""
    return datetime.combine(min(max(day, _EARLIEST), _LATEST), time(0), tzinfo=VIETNAM_TZ)


def vietnam_day_end(day: date) -> datetime:
    """Midnight in Vietnam at the end of ``day`` (an exclusive bound)."""
    return vietnam_day_start(min(day, _LATEST) + timedelta(days=1))
