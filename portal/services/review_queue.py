"""A unit's desk: the filtered queue of its applications and the dashboard over them."""

from __future__ import annotations

import datetime as dt
import re
import statistics
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlmodel import Session, col, select

from portal.clock import BEIJING, local_date
from portal.models import Enterprise, Submission, SubmissionEvent, User
from portal.policy.catalog import catalog
from portal.profile.fields import FIELDS_BY_NAME
from portal.services.snapshots import answers_of, snapshot_of, title_of
from portal.services.timelimits import TimeLimit, time_limit
from portal.statuses import FINAL_STATUSES, STATUS_ORDER, UNOPENED, SubmissionStatus

# Labels are lazy: render them (str) at request time, in the reader's language.
SORTS = {"newest": _l("最新提交"), "oldest": _l("最早提交"), "measure": _l("按措施"), "status": _l("按状态"),
         "due": _l("按剩余时限")}
DUE = {"due": _l("临近或已超时限"), "overdue": _l("已超时限")}
def local_titles(measure_ids: list[str], lang: str) -> dict[str, str]:
    """{measure id: title in `lang`} (the unofficial ko/en wording, Chinese where there is none) for measures
    still in the catalog; {} in Chinese, where pages show the title frozen with each application."""
    if lang == "zh":
        return {}
    measures = catalog().measures
    return {mid: measures[mid].local("title", lang) for mid in measure_ids if mid in measures}

AGE_MAX = 3650
WAITING = UNOPENED | {SubmissionStatus.IN_REVIEW}  # what "下一份" may open


@dataclass(frozen=True)
class QueueFilters:
    status: str = ""
    measure: str = ""
    sector: str = ""
    location: str = ""
    min_age: int | None = None
    due: str = ""
    sort: str = "newest"

    def as_args(self) -> dict[str, str]:
        """Non-default values, for links (export, pushed URLs) that keep the current filters."""
        args = {"status": self.status, "measure": self.measure, "sector": self.sector, "location": self.location,
                "min_age": "" if self.min_age is None else str(self.min_age), "due": self.due,
                "sort": "" if self.sort == "newest" else self.sort}
        return {k: v for k, v in args.items() if v}


def parse_filters(args: Mapping[str, str]) -> tuple[QueueFilters, dict[str, str]]:
    """Filters from a query string; invalid values are dropped and reported in Chinese."""
    errors: dict[str, str] = {}

    def pick(name: str, allowed: Any, message: str) -> str:
        value = (args.get(name) or "").strip()
        if value and value not in allowed:
            errors[name] = message
            return ""
        return value

    status = pick("status", SubmissionStatus.labels(), _("状态筛选无效。"))
    measure = pick("measure", catalog().measures, _("措施筛选无效。"))
    sector = pick("sector", FIELDS_BY_NAME["sectors"].option_codes(), _("行业筛选无效。"))
    location = pick("location", FIELDS_BY_NAME["location"].option_codes(), _("所在地筛选无效。"))
    due = pick("due", DUE, _("时限筛选无效。"))
    sort = pick("sort", SORTS, _("排序方式无效。")) or "newest"
    raw_age = (args.get("min_age") or "").strip()
    min_age = None
    if raw_age:
        if re.fullmatch(r"[0-9]{1,4}", raw_age) and int(raw_age) <= AGE_MAX:
            min_age = int(raw_age)
        else:
            errors["min_age"] = _("等待天数须为 0 到 %(max)s 之间的整数。", max=AGE_MAX)
    return QueueFilters(status, measure, sector, location, min_age, due, sort), errors


@dataclass(frozen=True)
class QueueRow:
    submission: Submission
    enterprise: str
    title: str
    answers: dict[str, Any]
    age_days: int
    limit: TimeLimit | None

    @property
    def status_zh(self) -> str:
        """The status in the reader's language (Chinese in the Chinese interface)."""
        return SubmissionStatus.label(self.submission.status)

    @property
    def reference(self) -> str:
        return self.submission.reference or f"#{self.submission.id}"

    @property
    def handling_days(self) -> int | None:
        """Calendar days from submission to the decision (None while undecided)."""
        sub = self.submission
        return None if sub.decided_at is None else (local_date(sub.decided_at) - local_date(sub.created_at)).days


def _row(sub: Submission, enterprise_name: str, today: dt.date) -> QueueRow:
    answers = answers_of(sub)
    return QueueRow(sub, str(answers.get("enterprise_name") or enterprise_name), title_of(sub), answers,
                    max(0, (today - local_date(sub.created_at)).days), time_limit(sub, snapshot_of(sub), today))


def queue(session: Session, unit_id: str | None, filters: QueueFilters, today: dt.date,
          limit: int = 1000) -> list[QueueRow]:
    """The unit's submissions matching the filters, sorted as asked. No unit, no rows."""
    if not unit_id:
        return []
    query = (select(Submission, Enterprise.name).join(Enterprise, col(Enterprise.id) == Submission.enterprise_id)
             .where(Submission.routed_unit_id == unit_id))
    if filters.status:
        query = query.where(Submission.status == filters.status)
    if filters.measure:
        query = query.where(Submission.measure_id == filters.measure)
    if filters.min_age is not None:
        cutoff = dt.datetime.combine(today - dt.timedelta(days=filters.min_age - 1), dt.time.min, BEIJING)
        query = query.where(Submission.created_at < cutoff)
    if filters.due:
        query = query.where(col(Submission.materials_complete_at).is_not(None))
    query = query.order_by(col(Submission.created_at).desc(), col(Submission.id).desc()).limit(limit)
    rows = []
    for sub, ent_name in session.exec(query):
        row = _row(sub, ent_name, today)
        # Sector and location are frozen answers (JSON), filtered here rather than in SQL.
        if filters.sector and filters.sector not in (row.answers.get("sectors") or []):
            continue
        if filters.location and row.answers.get("location") != filters.location:
            continue
        if filters.due and not (row.limit and (row.limit.overdue or (filters.due == "due" and row.limit.near))):
            continue
        rows.append(row)
    if filters.sort == "oldest":
        rows.reverse()
    elif filters.sort == "measure":
        rows.sort(key=lambda r: (_measure_key(r.submission.measure_id), -r.submission.created_at.timestamp()))
    elif filters.sort == "status":
        rows.sort(key=lambda r: (STATUS_ORDER.index(r.submission.status) if r.submission.status in STATUS_ORDER
                                 else len(STATUS_ORDER), r.submission.created_at))
    elif filters.sort == "due":  # least time left first; applications without a running clock after them
        rows.sort(key=lambda r: (r.limit is None or r.limit.remaining is None or r.limit.state != "running",
                                 r.limit.remaining if r.limit and r.limit.remaining is not None else 0,
                                 r.submission.created_at))
    return rows


def _measure_key(measure_id: str) -> tuple[str, int, str]:
    # d001-2 before d001-10
    prefix, _, rest = measure_id.partition("-")
    return (prefix, int(rest) if rest.isdigit() else 10_000, rest)


def measures_in_queue(session: Session, unit_id: str | None) -> list[tuple[str, str]]:
    """(measure id, title) of measures this unit has applications for, for the filter menu."""
    if not unit_id:
        return []
    ids = set(session.exec(select(Submission.measure_id).where(Submission.routed_unit_id == unit_id).distinct()))
    cat = catalog()
    return [(m, cat.measures[m].title if m in cat.measures else m) for m in sorted(ids, key=_measure_key)]


def next_to_work(session: Session, unit_id: str | None, after_id: int | None) -> Submission | None:
    """The oldest application still waiting for this unit (other than `after_id`): "下一份" after an action.

    One indexed query: it runs on every application page a reviewer opens.
    """
    if not unit_id:
        return None
    query = (select(Submission).where(Submission.routed_unit_id == unit_id,
                                      col(Submission.status).in_(WAITING), Submission.id != (after_id or 0))
             .order_by(col(Submission.created_at), col(Submission.id)).limit(1))
    return session.exec(query).first()


def contacts_of(session: Session, rows: list[QueueRow]) -> dict[int, User]:
    """Who submitted each application (name and e-mail for the export), by submission id."""
    ids = {r.submission.created_by for r in rows}
    users = {u.id: u for u in session.exec(select(User).where(col(User.id).in_(ids)))} if ids else {}
    return {r.submission.id: users[r.submission.created_by] for r in rows
            if r.submission.id is not None and r.submission.created_by in users}


def last_comments(session: Session, rows: list[QueueRow]) -> dict[int, str]:
    """The newest non-empty comment of each application, by submission id (one query)."""
    ids = [r.submission.id for r in rows]
    out: dict[int, str] = {}
    if not ids:
        return out
    query = (select(SubmissionEvent.submission_id, SubmissionEvent.comment)
             .where(col(SubmissionEvent.submission_id).in_(ids), SubmissionEvent.comment != "")
             .order_by(col(SubmissionEvent.at), col(SubmissionEvent.id)))
    for submission_id, comment in session.exec(query):
        out[submission_id] = comment  # later rows overwrite earlier ones
    return out


# -- the unit dashboard --------------------------------------------------------------------------
@dataclass(frozen=True)
class Dashboard:
    total: int
    by_status: list[tuple[str, str, int]]  # (code, label in the current language, count) in queue order
    by_measure: list[tuple[str, str, int, int]]  # (measure id, title, applications, still open)
    decided: int
    median_handling_days: float | None
    overdue: list[QueueRow]
    near: list[QueueRow]
    waiting: int  # submitted, resubmitted or forwarded: nobody has opened them yet


def dashboard(session: Session, unit_id: str | None, today: dt.date) -> Dashboard:
    """Counts by status and measure, median days from submission to decision, and clocks near or past their limit."""
    rows = queue(session, unit_id, QueueFilters(), today, limit=100_000)
    statuses = Counter(r.submission.status for r in rows)
    by_measure: dict[str, list[QueueRow]] = {}
    for r in rows:
        by_measure.setdefault(r.submission.measure_id, []).append(r)
    handling = [r.handling_days for r in rows if r.handling_days is not None]
    measures = sorted(((mid, rs[0].title, len(rs), sum(r.submission.status not in FINAL_STATUSES for r in rs))
                       for mid, rs in by_measure.items()), key=lambda m: (-m[2], _measure_key(m[0])))
    running = sorted((r for r in rows if r.limit and r.limit.state == "running"),
                     key=lambda r: r.limit.remaining if r.limit and r.limit.remaining is not None else 0)
    return Dashboard(
        total=len(rows),
        by_status=[(code, SubmissionStatus.label(code), statuses.get(code, 0)) for code in STATUS_ORDER],
        by_measure=measures, decided=len(handling),
        median_handling_days=statistics.median(handling) if handling else None,
        overdue=[r for r in running if r.limit and r.limit.overdue],
        near=[r for r in running if r.limit and r.limit.near],
        waiting=sum(statuses.get(s, 0) for s in UNOPENED),
    )
