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

from portal.clock import local_date
from portal.models import Submission
from portal.statuses import FINAL_STATUSES, SubmissionStatus

#: "Near its limit" in the queue and on the dashboard: this many days or fewer left (the portal's choice).
NEAR_DAYS = 14


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
        return f"{self.months} 个月" if self.months else f"{self.days} 日"

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
        return "已超时限" if self.overdue else ("临近时限" if self.near else "")

    def describe(self) -> str:
        if self.state == "waiting":
            return f"时限 {self.label}：自受理单位确认材料齐全之日起计算（尚未确认）"
        if self.state == "paused":
            return f"时限 {self.label}：已退回补正，重新提交并确认材料齐全后重新计算"
        if self.started is None or self.deadline is None:
            return f"时限 {self.label}（已办结，未记录材料齐全）"
        text = f"材料齐全 {self.started:%Y-%m-%d} 起 {self.label}，至 {self.deadline:%Y-%m-%d}"
        if self.state == "done":
            return text + "（已办结）"
        remaining = self.remaining or 0
        return text + (f"（已超出 {-remaining} 天）" if remaining < 0 else f"（剩余 {remaining} 天）")


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
