"""Reviewer actions on an application: open, confirm the materials, return, decide, forward, comment.

Every change happens here with a history event, an audit row and notifications in the same transaction;
anything refused raises SubmissionError (Chinese message, HTTP status).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session

from portal import clock
from portal.models import Submission, SubmissionEvent, User
from portal.policy.catalog import catalog
from portal.policy.records import Unit
from portal.services import audit, notifications
from portal.services.routing import stated_time_limit
from portal.services.snapshots import enterprise_name, reference_of, title_of
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
    zh: str
    from_statuses: frozenset[str]
    to_status: str | None  # None: leaves the status alone (a comment, or the materials decision)
    #: A comment is required only where the enterprise must read it to act (return, reject) or is the point.
    needs_comment: bool = False
    key: str = ""  # keyboard shortcut on the detail page


REVIEW_ACTIONS: dict[str, Action] = {a.code: a for a in (
    Action("start_review", "开始审核", UNOPENED, SubmissionStatus.IN_REVIEW),
    # 000（三）: the clock runs "相关资料齐全且符合要求的" — from this decision, not from submission.
    Action("materials_complete", "材料齐全（开始计算办理时限）", REVIEWING, None, key="m"),
    Action("return", "需补正（退回补充材料）", REVIEWING, SubmissionStatus.RETURNED, needs_comment=True, key="r"),
    Action("approve", "审核通过", REVIEWING, SubmissionStatus.APPROVED, key="a"),
    Action("reject", "不予通过", REVIEWING, SubmissionStatus.REJECTED, needs_comment=True, key="x"),
    # A misrouted application can be passed on before anyone starts reviewing it.
    Action("forward", "转交其他单位", UNOPENED | REVIEWING, SubmissionStatus.FORWARDED),
    Action("comment", "仅添加意见（不改变状态）", frozenset(SubmissionStatus), None, needs_comment=True, key="c"),
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
        raise SubmissionError("请选择要执行的操作。", 422)
    text = clean_comment(comment, required=action.needs_comment)
    if not visibility and action.code != "comment":
        visibility = Visibility.ENTERPRISE  # a decision is the enterprise's to read unless marked internal
    if visibility not in Visibility.labels():
        raise SubmissionError("请选择意见是否对企业可见。", 422)
    if action.code in ENTERPRISE_MUST_READ and visibility != Visibility.ENTERPRISE:
        raise SubmissionError(f"{action.zh}时，意见须对企业可见，否则企业不知道原因和要补充什么。", 422)
    target: Unit | None = None
    sub = locked(session, sub.id)
    if action.code == "forward":
        target = catalog().units.get(to_unit or "")
        if target is None:
            raise SubmissionError("请选择要转交的单位。", 422)
        if target.id == sub.routed_unit_id:
            raise SubmissionError("不能转交给本单位。", 422)
    if expected_version is not None and expected_version != sub.version:
        raise SubmissionError(f"该申请已被他人更新（当前状态“{SubmissionStatus.label(sub.status)}”，"
                              f"版本 {sub.version}），未执行本次操作。请同步后再决定。", 412, sub.id)
    if expected_status and expected_status != sub.status:
        raise SubmissionError(f"该申请的状态刚被更新为“{SubmissionStatus.label(sub.status)}”，"
                              "请查看最新情况后再操作。", 409)
    if sub.status not in action.from_statuses:
        raise SubmissionError(f"申请当前状态为“{SubmissionStatus.label(sub.status)}”，不能执行“{action.zh}”。", 409)
    if action.code == "materials_complete" and sub.materials_complete_at is not None:
        raise SubmissionError("已确认材料齐全，办理时限正在计算。", 409)

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


def _notify_after_review(session: Session, sub: Submission, action: Action, visibility: str,
                         target: Unit | None) -> None:
    title, ref = title_of(sub), reference_of(sub)
    link = ENTERPRISE_LINK.format(id=sub.id)
    staff = notifications.staff_of(session, sub.enterprise_id)
    if action.code == "materials_complete":
        stated = stated_time_limit(sub)
        notifications.notify(session, staff, f"您的申请 {ref}“{title}”经受理单位确认材料齐全"
                             + (f"，办理时限（{stated}）自今日起计算。" if stated else "。"), link)
    elif action.to_status is None:
        if visibility == Visibility.ENTERPRISE:
            notifications.notify(session, staff, f"审核人员对您的申请 {ref}“{title}”留下了意见。", link)
    elif action.code == "return":
        notifications.notify(session, staff, f"您的申请 {ref}“{title}”需补正：请查看审核意见，补充后重新提交。", link)
    else:
        notifications.notify(session, staff, f"您的申请 {ref}“{title}”状态更新为：{SubmissionStatus(sub.status).zh}。",
                             link)
    if target is not None:
        notifications.notify(session, notifications.reviewers_of(session, target.id),
                             f"转交来的申请 {ref}：{enterprise_name(session, sub)}“{title}”。",
                             REVIEW_LINK.format(id=sub.id))
