"""One clock for the portal: Beijing's calendar, or the fixed PORTAL_TODAY that tests and demos judge against.

Times are stored in UTC; dates people read (validity, ages, the handling clock, reference years) are
Beijing dates. With PORTAL_TODAY set, `now()` is that day at the current Beijing time of day, so a
time stored "now" always falls on PORTAL_TODAY in Beijing, whatever the hour in UTC.
"""

from __future__ import annotations

import datetime as dt

from portal.config import setting

BEIJING = dt.timezone(dt.timedelta(hours=8), "CST")


def _fixed_day() -> dt.date | None:
    fixed = setting("PORTAL_TODAY", "")
    return dt.date.fromisoformat(fixed) if fixed else None


def today() -> dt.date:
    """Today's date in Beijing, or the fixed PORTAL_TODAY."""
    return _fixed_day() or dt.datetime.now(BEIJING).date()


def now() -> dt.datetime:
    """The current time (UTC, aware), moved to PORTAL_TODAY when one is set."""
    real = dt.datetime.now(dt.UTC)
    fixed = _fixed_day()
    if fixed is None:
        return real
    return dt.datetime.combine(fixed, real.astimezone(BEIJING).timetz()).astimezone(dt.UTC)


def local_date(at: dt.datetime) -> dt.date:
    """The Beijing calendar date of a stored time (naive values are UTC)."""
    return (at if at.tzinfo else at.replace(tzinfo=dt.UTC)).astimezone(BEIJING).date()
