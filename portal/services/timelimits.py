"""Handling time limits a clause states, counted from the reviewer's "材料齐全" decision.

000（三）: "相关资料齐全且符合要求的，3个月内完成注册审批" — three calendar months from the day the
materials are complete, so the clock starts when a reviewer confirms completeness, not at submission.
A return for correction (需补正) stops it; the next confirmation starts it again. The documents state
no limit in working days (工作日); a day-based limit (time_limit_days) counts calendar days.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask_babel import get_locale, ngettext
from flask_babel import gettext as _

from portal import formatting
from portal.clock import local_date
from portal.models import Submission
from portal.statuses import FINAL_STATUSES, SubmissionStatus

#: "Near its limit" in the queue and on the dashboard: this many days or fewer left (the portal's choice).
NEAR_DAYS = 14


def date_text(day: dt.date, *, padded: bool = True) -> str:
    """A date for a sentence in the current language: 2026年06月01日 (2026年6月1日 unpadded), 2026년 6월 1일,
    June 1, 2026."""
    language = getattr(get_locale(), "language", "zh")
    if language in ("ko", "en"):
        return formatting.local_date(day, language)
    return f"{day.year}年{day.month:02d}月{day.day:02d}日" if padded else f"{day.year}年{day.month}月{day.day}日"


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later, or the month's last day when it has fewer days (1月31日 + 1 → 2月28/29日)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class TimeLimit:
    months: int | None
    days: int | None
    note: str
    state: str  # waiting (materials not yet confirmed) | running | paused (returned) | done
    started: dt.date | None  # the day the materials were confirmed complete
    today: dt.date

    @property
    def label(self) -> str:
        if self.months:
            return ngettext("%(num)s 个月", "%(num)s 个月", self.months)
        return ngettext("%(num)s 日", "%(num)s 日", self.days or 0)

    @property
    def deadline(self) -> dt.date | None:
        if self.started is None:
            return None
        if self.months:
            return add_months(self.started, self.months)
        return self.started + dt.timedelta(days=self.days or 0)

    @property
    def remaining(self) -> int | None:
        """Calendar days left until the deadline (negative once past it)."""
        return None if self.deadline is None else (self.deadline - self.today).days

    @property
    def elapsed(self) -> int | None:
        return None if self.started is None else max(0, (self.today - self.started).days)

    @property
    def overdue(self) -> bool:
        return self.state == "running" and self.remaining is not None and self.remaining < 0

    @property
    def near(self) -> bool:
        return self.state == "running" and self.remaining is not None and 0 <= self.remaining <= NEAR_DAYS

    @property
    def flag(self) -> str:
        """A short word for the queue: 已超时限 / 临近时限 / ""."""
        return _("已超时限") if self.overdue else (_("临近时限") if self.near else "")

    def describe(self) -> str:
        """The time limit as the enterprise and the reviewer read it, in the current language."""
        if self.state == "waiting":
            return _("时限 %(limit)s：自受理单位确认材料齐全之日起计算（尚未确认）", limit=self.label)
        if self.state == "paused":
            return _("时限 %(limit)s：已退回补正，重新提交并确认材料齐全后重新计算", limit=self.label)
        if self.started is None or self.deadline is None:
            return _("时限 %(limit)s（已办结，未记录材料齐全）", limit=self.label)
        started, deadline = f"{self.started:%Y-%m-%d}", f"{self.deadline:%Y-%m-%d}"
        if self.state == "done":
            return _("材料齐全 %(started)s 起 %(limit)s，至 %(deadline)s（已办结）", started=started, limit=self.label,
                     deadline=deadline)
        remaining = self.remaining or 0
        if remaining < 0:
            return ngettext("材料齐全 %(started)s 起 %(limit)s，至 %(deadline)s（已超出 %(num)s 天）",
                            "材料齐全 %(started)s 起 %(limit)s，至 %(deadline)s（已超出 %(num)s 天）", -remaining,
                            started=started, limit=self.label, deadline=deadline)
        return ngettext("材料齐全 %(started)s 起 %(limit)s，至 %(deadline)s（剩余 %(num)s 天）",
                        "材料齐全 %(started)s 起 %(limit)s，至 %(deadline)s（剩余 %(num)s 天）", remaining,
                        started=started, limit=self.label, deadline=deadline)


def time_limit(sub: Submission, snapshot: dict[str, Any], today: dt.date) -> TimeLimit | None:
    """The clause's time limit as it applies to this application today; None where the clause states none."""
    months, days = snapshot.get("time_limit_months"), snapshot.get("time_limit_days")
    if not (isinstance(months, int) and months > 0) and not (isinstance(days, int) and days > 0):
        return None
    started = local_date(sub.materials_complete_at) if sub.materials_complete_at is not None else None
    if sub.status in FINAL_STATUSES:
        state = "done"
    elif sub.status == SubmissionStatus.RETURNED:
        state = "paused"
    else:
        state = "running" if started is not None else "waiting"
    return TimeLimit(months if isinstance(months, int) and months > 0 else None,
                     days if isinstance(days, int) and days > 0 else None,
                     str(snapshot.get("time_limit_note") or ""), state, started, today)
