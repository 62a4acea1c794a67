"""What happened to an application: its events as each reader may see them, and what a resubmission changed."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlmodel import Session, col, select

from portal.models import Attachment, Submission, SubmissionEvent, User
from portal.services.routing import unit_name
from portal.services.snapshots import answers_of, judgement_of
from portal.statuses import SubmissionStatus, Visibility


@dataclass(frozen=True)
class EventView:
    event: SubmissionEvent
    actor: str
    comment: str  # empty when the reader may not see it

    @property
    def changed(self) -> bool:
        return self.event.from_status != self.event.to_status

    @property
    def status_zh(self) -> str:
        """The new status in the reader's language (the name is older than the translations)."""
        return SubmissionStatus.label(self.event.to_status)

    @property
    def removed_file(self) -> str:
        """The file name when the event records the enterprise removing an attachment; else ""."""
        if self.event.from_status != self.event.to_status or not self.event.data_json:
            return ""
        return str(json.loads(self.event.data_json).get("removed_file") or "")


# Comments the portal itself writes (stored in Chinese by submissions.submit and remove_attachment), shown in
# the reader's language.
_SUBMITTED = re.compile(r"^提交申请，受理编号 (?P<reference>.+?)，受理单位：(?P<unit>.+)。$", re.S)
_REMOVED = re.compile(r"^删除附件：(?P<name>.+)$", re.S)


def _comment(event: SubmissionEvent) -> str:
    """An event's comment; the ones the portal wrote (submission, removed file) in the current language."""
    text = event.comment or ""
    if not event.from_status and (found := _SUBMITTED.match(text)):
        return _("提交申请，受理编号 %(reference)s，受理单位：%(unit)s。", reference=found["reference"],
                 unit=found["unit"])
    if event.from_status == event.to_status and event.data_json and (found := _REMOVED.match(text)):
        return _("删除附件：%(name)s", name=found["name"])
    return text


def _events(session: Session, sub: Submission) -> list[SubmissionEvent]:
    return list(session.exec(select(SubmissionEvent).where(SubmissionEvent.submission_id == sub.id)
                             .order_by(col(SubmissionEvent.at), col(SubmissionEvent.id))))


def history(session: Session, sub: Submission, internal: bool) -> list[EventView]:
    """Events oldest first. For the enterprise (internal=False) internal comments are never included."""
    rows = _events(session, sub)
    actor_ids = {e.actor_id for e in rows if e.actor_id}
    users = {u.id: u for u in session.exec(select(User).where(col(User.id).in_(actor_ids)))} if actor_ids else {}
    out = []
    for e in rows:
        user = users.get(e.actor_id)
        hidden = e.visibility == Visibility.INTERNAL and not internal
        if hidden and e.from_status == e.to_status:
            continue  # an internal note that changed nothing: the enterprise sees no trace of it
        if user is None:
            actor = _("系统")
        elif user.role == "enterprise":
            actor = _("企业（%(name)s）", name=user.name) if internal else user.name
        else:
            actor = (_("%(name)s（%(unit)s）", name=user.name, unit=unit_name(user.service_unit_id or ""))
                     if internal else _("审核人员"))
        out.append(EventView(e, actor, "" if hidden else _comment(e)))
    return out


def last_return_comment(session: Session, sub: Submission) -> SubmissionEvent | None:
    query = (select(SubmissionEvent).where(SubmissionEvent.submission_id == sub.id,
                                           SubmissionEvent.to_status == SubmissionStatus.RETURNED,
                                           SubmissionEvent.visibility == Visibility.ENTERPRISE)
             .order_by(col(SubmissionEvent.id).desc()))
    return session.exec(query).first()


# -- what a resubmission changed ---------------------------------------------------------------
@dataclass(frozen=True)
class AnswerChange:
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class Resubmission:
    """The newest resubmission: answers that differ from the round before, files added or removed since."""

    event: SubmissionEvent
    answers: list[AnswerChange]
    files_added: list[Attachment]
    files_removed: list[str]
    status_before: str  # the portal's judgement before and after, e.g. "needs_info" → "eligible"
    status_after: str

    @property
    def unchanged(self) -> bool:
        return not (self.answers or self.files_added or self.files_removed or self.status_before != self.status_after)


def last_resubmission(session: Session, sub: Submission) -> Resubmission | None:
    """Compare the application as resubmitted last with the round the reviewer returned."""
    events = _events(session, sub)
    resubmits = [e for e in events if e.to_status == SubmissionStatus.RESUBMITTED and e.data_json]
    if not resubmits:
        return None
    event = resubmits[-1]
    data = json.loads(event.data_json)
    before, after = data.get("answers_before") or {}, answers_of(sub)
    changes = [AnswerChange(name, before.get(name), after.get(name)) for name in sorted(set(before) | set(after))
               if before.get(name) != after.get(name)]
    returned_at = max((e.at for e in events if e.to_status == SubmissionStatus.RETURNED and e.at <= event.at),
                      default=None)
    files = session.exec(select(Attachment).where(Attachment.submission_id == sub.id)
                         .order_by(col(Attachment.uploaded_at), col(Attachment.id))).all()
    added = [f for f in files if returned_at is not None and f.uploaded_at >= returned_at]
    return Resubmission(event, changes, added, list(data.get("files_removed") or []),
                        str((data.get("judgement_before") or {}).get("status") or ""),
                        str(judgement_of(sub).get("status") or ""))
