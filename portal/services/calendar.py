"""Validity reminders: enterprises eligible for a measure are told 30 and 7 days before it ends, once each.

`portal reminders send` runs daily (cron). Each reminder is a ValidityReminder row, inserted in the
transaction that adds the notification; the row's unique key (enterprise, measure, end date, lead time)
makes a second run, or two runs at once, send nothing twice: the insert does nothing on a conflict,
and only an inserted row is followed by a notice. A new end date (a new version of the document) is a
new key, so its reminders are sent again.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from sqlalchemy import Exists, exists, select
from sqlmodel import Session, col

from portal.db import dialect_insert
from portal.formatting import local_date
from portal.models import Enterprise, User, ValidityReminder, utcnow
from portal.policy.catalog import catalog
from portal.policy.matching import evaluate
from portal.policy.records import Catalog, Measure
from portal.policy.wording import _
from portal.services import notifications
from portal.statuses import MatchStatus

MEASURE_LINK = "/measures/{id}"  # kept in step with portal/views/public.py
LEADS = (30, 7)  # days before the end: the first reminder, then the last one
WINDOW = LEADS[0]
DEFAULT_BATCH = 2000


def lead_due(days_left: int) -> int | None:
    """Which reminder is due with this many days left: 30 (8 to 30 days), 7 (0 to 7 days), else none.

    A job that missed the whole 30-day window sends only the 7-day reminder: two notices about one
    end date on the same day would say the same thing twice.
    """
    if LEADS[1] < days_left <= LEADS[0]:
        return LEADS[0]
    if 0 <= days_left <= LEADS[1]:
        return LEADS[1]
    return None


def ending_soon(cat: Catalog, today: dt.date) -> list[tuple[Measure, int, int]]:
    """(measure, days left, lead time due) for applications that end within 30 days and have not ended."""
    out = []
    for m in cat.enterprise_measures():
        end = m.effective_valid_until
        if m.is_information or end is None:
            continue  # information asks for no application; a measure without an end date never ends
        days = (end - today).days
        lead = lead_due(days)
        if lead is not None:
            out.append((m, days, lead))
    return out


def reminder_text(m: Measure, days_left: int, lang: str = "zh") -> str:
    """The notice: measure, citation, end date and days left, in the recipient's language (the title
    translated where the data has it; the citation names the Chinese document as it is)."""
    end = m.effective_valid_until
    if days_left == 0:
        return _("政策到期提醒：您符合条件的“%(title)s”（%(citation)s）有效期至%(date)s，今天是最后一天。", lang,
                 title=m.local("title", lang), citation=m.citation, date=local_date(end, lang))
    return _("政策到期提醒：您符合条件的“%(title)s”（%(citation)s）有效期至%(date)s，还剩 %(days)s 天。", lang,
             title=m.local("title", lang), citation=m.citation, date=local_date(end, lang), days=days_left)


@dataclass
class ReminderSummary:
    """What one run of the reminder job did."""

    today: dt.date
    measures: list[str] = field(default_factory=list)  # measures with a reminder due today
    enterprises: int = 0  # enterprises (with active staff) whose stored profiles were checked
    sent: dict[int, int] = field(default_factory=lambda: dict.fromkeys(LEADS, 0))  # reminders sent per lead time
    already_sent: int = 0  # due but recorded by an earlier run
    notified_users: int = 0


def _with_staff() -> Exists:
    """Enterprises someone can be told about: a reminder waits for a firm whose staff all left."""
    return exists().where(col(User.enterprise_id) == col(Enterprise.id), User.role == "enterprise",
                          col(User.is_active))


def _claim(session: Session, enterprise_id: int, m: Measure, lead: int) -> bool:
    """Record the reminder; False when it already exists (an earlier or concurrent run sent it)."""
    stmt = dialect_insert(session)(ValidityReminder.__table__).values(
        enterprise_id=enterprise_id, measure_id=m.id, valid_until=m.effective_valid_until, days_before=lead,
        sent_at=utcnow())
    # On PostgreSQL a concurrent run's uncommitted row makes this wait for its commit, then do nothing.
    inserted = session.execute(stmt.on_conflict_do_nothing().returning(ValidityReminder.__table__.c.id)).first()
    return inserted is not None


def send_validity_reminders(session: Session, today: dt.date, *, cat: Catalog | None = None,
                            batch: int = DEFAULT_BATCH) -> ReminderSummary:
    """Tell the staff of every enterprise eligible for a measure ending soon; commits per batch."""
    cat = cat or catalog()
    summary = ReminderSummary(today=today)
    due = ending_soon(cat, today)
    summary.measures = [m.id for m, _, _ in due]
    if not due:
        return summary
    after = 0
    while True:
        rows = session.execute(select(Enterprise.id, Enterprise.profile_json).where(
            col(Enterprise.id) > after, _with_staff()).order_by(col(Enterprise.id)).limit(batch)).all()
        if not rows:
            break
        after = rows[-1][0]
        summary.enterprises += len(rows)
        wanted = []
        for eid, raw in rows:
            profile = json.loads(raw or "{}")
            wanted += [(eid, m, days, lead) for m, days, lead in due
                       if evaluate(m, profile, today).status == MatchStatus.ELIGIBLE]
        if wanted:
            _send(session, wanted, summary)
        session.commit()  # the notices' e-mails go out after this commit, never for a rolled-back row
    return summary


def _recorded(session: Session, ids: list[int]) -> set[tuple[int, str, dt.date, int]]:
    """The reminders already recorded for these enterprises (committed ones: a concurrent run's are not seen)."""
    query = select(ValidityReminder.enterprise_id, ValidityReminder.measure_id, ValidityReminder.valid_until,
                   ValidityReminder.days_before).where(col(ValidityReminder.enterprise_id).in_(ids))
    return {tuple(row) for row in session.execute(query)}  # type: ignore[misc]


def _send(session: Session, wanted: list[tuple[int, Measure, int, int]], summary: ReminderSummary) -> None:
    """Record and send the reminders not sent before, for one batch of enterprises."""
    ids = sorted({eid for eid, _, _, _ in wanted})
    done = _recorded(session, ids)
    staff = notifications.staff_by_enterprise(session, ids)
    for eid, m, days, lead in wanted:
        # The lookup spares the insert for the common case; the insert's conflict check decides.
        if (eid, m.id, m.effective_valid_until, lead) in done or not _claim(session, eid, m, lead):
            summary.already_sent += 1
            continue
        summary.sent[lead] += 1
        by_language: dict[str, list[User]] = {}
        for user in staff.get(eid, []):  # each person reads the notice in the language of their account
            by_language.setdefault(getattr(user, "language", None) or "zh", []).append(user)
        for lang, users in by_language.items():
            summary.notified_users += notifications.notify(session, users, reminder_text(m, days, lang),
                                                           MEASURE_LINK.format(id=m.id))
