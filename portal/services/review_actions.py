"""Reviewer actions on an application: open, confirm the materials, return, decide, forward, comment.

Every change happens here with a history event, an audit row and notifications in the same transaction;
anything refused raises SubmissionError (message in the reviewer's language, HTTP status). Notifications
are written in each recipient's language (User.language, Chinese when unset), not the reviewer's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlmodel import Session

from portal import clock
from portal.i18n import DEFAULT, LANGUAGES
from portal.models import Submission, SubmissionEvent, User
from portal.policy.catalog import catalog
from portal.policy.records import Unit
from portal.services import audit, notifications
from portal.services.routing import stated_time_limit_in, title_in
from portal.services.snapshots import enterprise_name, reference_of
from portal.services.submissions import (
    ENTERPRISE_LINK,
    REVIEW_LINK,
    SubmissionError,
    clean_comment,
    locked,
)
from portal.statuses import FINAL_STATUSES, UNOPENED, SubmissionStatus, Visibility

#: Opened and not yet decided.
REVIEWING = frozenset({SubmissionStatus.IN_REVIEW})


@dataclass(frozen=True)
class Action:
    code: str
    label: Any  # a lazy string: str(action.label) in the current language
    from_statuses: frozenset[str]
    to_status: str | None  # None: leaves the status alone (a comment, or the materials decision)
    #: A comment is required only where the enterprise must read it to act (return, reject) or is the point.
    needs_comment: bool = False
    key: str = ""  # keyboard shortcut on the detail page

    @property
    def zh(self) -> str:
        """The action's name in the current language (Chinese in the Chinese interface)."""
        return str(self.label)


REVIEW_ACTIONS: dict[str, Action] = {a.code: a for a in (
    Action("start_review", _l("开始审核"), UNOPENED, SubmissionStatus.IN_REVIEW),
    # 000（三）: the clock runs "相关资料齐全且符合要求的" — from this decision, not from submission.
    Action("materials_complete", _l("材料齐全（开始计算办理时限）"), REVIEWING, None, key="m"),
    Action("return", _l("需补正（退回补充材料）"), REVIEWING, SubmissionStatus.RETURNED, needs_comment=True, key="r"),
    Action("approve", _l("审核通过"), REVIEWING, SubmissionStatus.APPROVED, key="a"),
    Action("reject", _l("不予通过"), REVIEWING, SubmissionStatus.REJECTED, needs_comment=True, key="x"),
    # A misrouted application can be passed on before anyone starts reviewing it.
    Action("forward", _l("转交其他单位"), UNOPENED | REVIEWING, SubmissionStatus.FORWARDED),
    Action("comment", _l("仅添加意见（不改变状态）"), frozenset(SubmissionStatus), None, needs_comment=True, key="c"),
)}
#: The enterprise must be able to read why it was sent back or refused.
ENTERPRISE_MUST_READ = frozenset({"return", "reject"})


def actions_for(status: str) -> list[Action]:
    return [a for a in REVIEW_ACTIONS.values() if status in a.from_statuses]


def review(session: Session, sub: Submission, reviewer: User, action_code: str, comment: str | None,
           visibility: str | None, to_unit: str | None = None, expected_status: str | None = None,
           expected_version: int | None = None) -> Submission:
    """Apply one reviewer action; refuses transitions the workflow does not allow (409) and bad input (422)."""
    assert sub.id is not None
    action = REVIEW_ACTIONS.get(action_code or "")
    if action is None:
        raise SubmissionError(_("请选择要执行的操作。"), 422)
    text = clean_comment(comment, required=action.needs_comment)
    if not visibility and action.code != "comment":
        visibility = Visibility.ENTERPRISE  # a decision is the enterprise's to read unless marked internal
    if visibility not in Visibility.labels():
        raise SubmissionError(_("请选择意见是否对企业可见。"), 422)
    if action.code in ENTERPRISE_MUST_READ and visibility != Visibility.ENTERPRISE:
        raise SubmissionError(_("%(action)s时，意见须对企业可见，否则企业不知道原因和要补充什么。",
                                action=action.zh), 422)
    target: Unit | None = None
    sub = locked(session, sub.id)
    if action.code == "forward":
        target = catalog().units.get(to_unit or "")
        if target is None:
            raise SubmissionError(_("请选择要转交的单位。"), 422)
        if target.id == sub.routed_unit_id:
            raise SubmissionError(_("不能转交给本单位。"), 422)
    if expected_version is not None and expected_version != sub.version:
        raise SubmissionError(_("该申请已被他人更新（当前状态“%(status)s”，版本 %(version)s），未执行本次操作。请同步后再决定。",  # noqa: E501
                                status=SubmissionStatus.label(sub.status), version=sub.version), 412, sub.id)
    if expected_status and expected_status != sub.status:
        raise SubmissionError(_("该申请的状态刚被更新为“%(status)s”，请查看最新情况后再操作。",
                                status=SubmissionStatus.label(sub.status)), 409)
    if sub.status not in action.from_statuses:
        raise SubmissionError(_("申请当前状态为“%(status)s”，不能执行“%(action)s”。",
                                status=SubmissionStatus.label(sub.status), action=action.zh), 409)
    if action.code == "materials_complete" and sub.materials_complete_at is not None:
        raise SubmissionError(_("已确认材料齐全，办理时限正在计算。"), 409)

    at = clock.now()
    before = {"status": sub.status, "routed_unit_id": sub.routed_unit_id,
              "materials_complete_at": _iso(sub.materials_complete_at)}
    new_status = action.to_status or sub.status
    if target is not None:
        text = f"【转交至{target.display_name}】{text}"
        sub.routed_unit_id = target.id
    if action.code == "materials_complete":
        sub.materials_complete_at = at
        text = f"【材料齐全】{text}"
    elif action.code == "return":
        sub.materials_complete_at = None  # the clock starts again once the corrected materials are complete
    if new_status in FINAL_STATUSES:
        sub.decided_at = at
    session.add(SubmissionEvent(submission_id=sub.id, at=at, actor_id=reviewer.id, from_status=sub.status,
                                to_status=new_status, comment=text, visibility=visibility))
    sub.status, sub.updated_at = new_status, at
    sub.version += 1
    session.add(sub)
    audit.record(session, reviewer.id, f"submission.{action.code}", "submission", sub.id, before,
                 {"status": sub.status, "routed_unit_id": sub.routed_unit_id, "visibility": visibility,
                  "comment": text, "materials_complete_at": _iso(sub.materials_complete_at)})
    _notify_after_review(session, sub, action, visibility, target)
    session.commit()
    return sub


def open_for_review(session: Session, sub: Submission, reviewer: User) -> Submission:
    """A reviewer opening an application nobody has opened yet starts its review (one click fewer)."""
    if sub.status not in UNOPENED:
        return sub
    try:
        return review(session, sub, reviewer, "start_review", None, Visibility.ENTERPRISE, expected_status=sub.status)
    except SubmissionError:
        session.rollback()  # someone else opened it a moment earlier: show it as it is now
        assert sub.id is not None
        return session.get(Submission, sub.id, populate_existing=True) or sub


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def recipient_language(user: User) -> str:
    """The language a message to `user` is written in: their account's, Chinese when unset or unknown."""
    lang = getattr(user, "language", "") or DEFAULT
    return lang if lang in LANGUAGES else DEFAULT


def notify_each(session: Session, users: list[User], message: Callable[[str], str], link: str) -> int:
    """A notification (and e-mail) to each user, its text built in that user's language (users grouped by it).

    `message(lang)` runs under flask_babel.force_locale(lang), so its gettext calls, and the e-mail
    wrapper notifications.notify adds, come out in the recipient's language.
    """
    by_lang: dict[str, list[User]] = {}
    for user in users:
        by_lang.setdefault(recipient_language(user), []).append(user)
    sent = 0
    for lang, group in by_lang.items():
        with force_locale(lang):
            sent += notifications.notify(session, group, message(lang), link)
    return sent


def _notify_after_review(session: Session, sub: Submission, action: Action, visibility: str,
                         target: Unit | None) -> None:
    ref = reference_of(sub)
    link = ENTERPRISE_LINK.format(id=sub.id)
    staff = notifications.staff_of(session, sub.enterprise_id)
    if action.code == "materials_complete":
        def message(lang: str) -> str:
            stated = stated_time_limit_in(sub, lang)
            if stated:
                return _("您的申请 %(ref)s“%(title)s”经受理单位确认材料齐全，办理时限（%(limit)s）自今日起计算。",
                         ref=ref, title=title_in(sub, lang), limit=stated)
            return _("您的申请 %(ref)s“%(title)s”经受理单位确认材料齐全。", ref=ref, title=title_in(sub, lang))
        notify_each(session, staff, message, link)
    elif action.to_status is None:
        if visibility == Visibility.ENTERPRISE:
            notify_each(session, staff, lambda lang: _("审核人员对您的申请 %(ref)s“%(title)s”留下了意见。", ref=ref,
                                                       title=title_in(sub, lang)), link)
    elif action.code == "return":
        notify_each(session, staff, lambda lang: _("您的申请 %(ref)s“%(title)s”需补正：请查看审核意见，补充后重新提交。",  # noqa: E501
                                                   ref=ref, title=title_in(sub, lang)), link)
    else:
        notify_each(session, staff, lambda lang: _("您的申请 %(ref)s“%(title)s”状态更新为：%(status)s。", ref=ref,
                                                   title=title_in(sub, lang),
                                                   status=SubmissionStatus.label(sub.status)), link)
    if target is not None:
        enterprise = enterprise_name(session, sub)
        notify_each(session, notifications.reviewers_of(session, target.id),
                    lambda lang: _("转交来的申请 %(ref)s：%(enterprise)s“%(title)s”。", ref=ref, enterprise=enterprise,
                                   title=title_in(sub, lang)), REVIEW_LINK.format(id=sub.id))
