"""Applications and their review workflow: the data-access layer the submission and review views call.

A submission freezes what was applied for: the answers (profile snapshot), the measure as it read
that day (canonical data and its SHA-256; see snapshots.py) and the generated application PDF. Status changes happen
only here, each with a comment, a history event, an audit row and notifications in the same
transaction. Anything refused raises SubmissionError with a message in the language of the request
(Chinese outside one) and an HTTP status.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from portal import clock
from portal.config import setting
from portal.errors import UserError
from portal.i18n import DEFAULT, LANGUAGES
from portal.models import Attachment, Enterprise, IssuedDocument, Submission, SubmissionEvent, User
from portal.policy.catalog import catalog
from portal.policy.matching import MatchResult, evaluate
from portal.policy.records import Measure, Unit
from portal.services import attachments, audit, frozen_pdfs, notifications, references, timelimits
from portal.services.answers import profile_of
from portal.services.routing import receipt_text, routing_options
from portal.services.snapshots import (
    answers_of,
    canonical_json,
    enterprise_name,
    judgement,
    judgement_of,
    measure_snapshot,
    reference_of,
    title_of,
)
from portal.statuses import FINAL_STATUSES, UPLOAD_STATUSES, MatchStatus, SubmissionStatus, Visibility

log = logging.getLogger(__name__)

APPLICABLE = (MatchStatus.ELIGIBLE,)  # a near miss says what would change it; it is not an application
COMMENT_MAX = 2000
IDEMPOTENCY_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
ENTERPRISE_LINK = "/app/submissions/{id}"  # kept in step with portal/views/submissions.py
REVIEW_LINK = "/review/{id}"  # and portal/views/review.py


class SubmissionError(UserError):
    """Refused; `submission_id` names the application concerned where it is not the one acted on (a duplicate)."""

    def __init__(self, message: str, status: int = 422, submission_id: int | None = None) -> None:
        super().__init__(message, status)
        self.submission_id = submission_id


# -- who may apply, and to whom ----------------------------------------------------------------
def check_applicable(measure_id: str, profile: Mapping[str, Any], today: dt.date) -> MatchResult:
    """The match result (an eligible one) if this profile may apply for the measure now; else SubmissionError."""
    measure = catalog().measures.get(measure_id)
    if measure is None or not measure.is_enterprise_facing:
        raise SubmissionError(_("该措施不存在或不接受企业申请。"), 404)
    if measure.is_information:
        raise SubmissionError(_("该条是面向企业的政策信息（如“首违不罚”“无事不扰”），无需申请。"), 409)
    result = evaluate(measure, profile, today)
    if result.status == MatchStatus.EXPIRED:
        raise SubmissionError(_("该措施已于%(date)s到期，不能再提交申请。",
                                date=timelimits.date_text(measure.effective_valid_until)), 409)
    if result.status == MatchStatus.NEEDS_INFO:
        missing = "；".join(r.text for r in result.unknown)
        raise SubmissionError(_("还不能判断您是否符合条件，请先在问卷中回答：%(missing)s。", missing=missing), 422)
    if result.status not in APPLICABLE:
        raise SubmissionError(_("根据您的回答，暂不符合该措施的条件，不能提交申请。"), 422)
    if not routing_options(measure, profile.get("sectors")):
        raise SubmissionError(_("文件未列明该措施的受理单位，暂不能在线提交，请按文件向有关部门咨询。"), 409)
    return result


def choose_unit(measure: Measure, unit_id: str | None, sectors: Any = None) -> Unit:
    options = routing_options(measure, sectors)
    if not unit_id:
        return options[0]
    for unit in options:
        if unit.id == unit_id:
            return unit
    raise SubmissionError(_("请选择该措施列明的受理单位或服务窗口。"), 422)


# -- lookups (every read is scoped to who asks) ------------------------------------------------
def for_enterprise(session: Session, enterprise_id: int) -> list[Submission]:
    query = select(Submission).where(Submission.enterprise_id == enterprise_id)
    return list(session.exec(query.order_by(col(Submission.id).desc())))


def for_unit(session: Session, unit_id: str) -> list[Submission]:
    query = select(Submission).where(Submission.routed_unit_id == unit_id)
    return list(session.exec(query.order_by(col(Submission.id).desc())))


def get_for_enterprise(session: Session, submission_id: int, enterprise_id: int | None) -> Submission | None:
    sub = session.get(Submission, submission_id)
    return sub if sub is not None and enterprise_id is not None and sub.enterprise_id == enterprise_id else None


def get_for_unit(session: Session, submission_id: int, unit_id: str | None) -> Submission | None:
    sub = session.get(Submission, submission_id)
    return sub if sub is not None and unit_id and sub.routed_unit_id == unit_id else None


def open_by_measure(session: Session, enterprise_id: int) -> dict[str, Submission]:
    """The enterprise's applications still in progress, by measure."""
    query = select(Submission).where(Submission.enterprise_id == enterprise_id,
                                     col(Submission.status).not_in(FINAL_STATUSES))
    return {s.measure_id: s for s in session.exec(query.order_by(col(Submission.id)))}


def _by_key(session: Session, enterprise_id: int, key: str) -> Submission | None:
    query = select(Submission).where(Submission.enterprise_id == enterprise_id, Submission.idempotency_key == key)
    return session.exec(query).first()


def _ensure_no_open(session: Session, enterprise_id: int, measure_id: str) -> None:
    existing = open_by_measure(session, enterprise_id).get(measure_id)
    if existing is not None:
        raise SubmissionError(_("您已提交过该措施的申请（受理编号 %(reference)s，%(status)s），办结前不能重复提交。",
                                reference=reference_of(existing), status=SubmissionStatus.label(existing.status)),
                              409, existing.id)


def _check_quota(session: Session, enterprise_id: int, uploads: list[attachments.CheckedUpload], *,
                 lock: bool = False) -> None:
    """Refuse (413) uploads that would take the enterprise past UPLOAD_QUOTA_MB, before anything is stored."""
    quota_mb = float(setting("UPLOAD_QUOTA_MB", 0) or 0)
    adding = sum(u.size for u in uploads)
    if quota_mb <= 0 or not adding:
        return
    if lock:  # two uploads to different applications of one enterprise must not both fit the last megabytes
        session.exec(select(Enterprise).where(Enterprise.id == enterprise_id).with_for_update(key_share=True)).first()
    quota = int(quota_mb * 1024 * 1024)
    used = int(session.exec(select(func.coalesce(func.sum(Attachment.size), 0))
                            .join(Submission, col(Submission.id) == Attachment.submission_id)
                            .where(Submission.enterprise_id == enterprise_id)).one())
    if used + adding > quota:
        raise SubmissionError(_("超出本企业附件存储空间上限（%(quota)s）：已使用 %(used)s，本次上传 %(adding)s。"
                                "请压缩文件后重试，或联系受理单位。", quota=attachments.human_size(quota),
                                used=attachments.human_size(used), adding=attachments.human_size(adding)), 413)


def locked(session: Session, submission_id: int) -> Submission:
    """Re-read the submission under a row lock so two people acting at once cannot both win."""
    query = (select(Submission).where(Submission.id == submission_id).with_for_update(key_share=True)
             .execution_options(populate_existing=True))
    return session.exec(query).one()


def _notify(session: Session, users: Iterable[User], message: Callable[[str], str], link: str) -> None:
    """Notify each user in their account's language: `message(lang)` is called inside it (Chinese by default)."""
    by_language: dict[str, list[User]] = {}
    for user in users:
        by_language.setdefault(user.language if user.language in LANGUAGES else DEFAULT, []).append(user)
    for lang, group in by_language.items():
        with force_locale(lang):
            notifications.notify(session, group, message(lang), link)


# -- the frozen PDF -------------------------------------------------------------------------
def _issue_pdf(session: Session, enterprise_id: int, profile: dict[str, Any], measure_id: str,
               today: dt.date, reference: str) -> IssuedDocument:
    """The application PDF, its reference printed on it, kept beside the uploads (see frozen_pdfs)."""
    from portal.pdf.errors import PdfError

    try:
        return frozen_pdfs.issue(session, enterprise_id, profile, measure_id, today, reference)
    except PdfError as exc:
        raise SubmissionError(_("申请表 PDF 生成失败：%(error)s", error=_(str(exc))), 503) from exc


# -- enterprise actions ---------------------------------------------------------------------
def clean_comment(comment: str | None, what: str = "意见", *, required: bool = True) -> str:
    """The comment trimmed; `what` ("意见", a reviewer's comment, or "补充说明", the enterprise's note) names it
    in the refusal."""
    text = (comment or "").replace("\r\n", "\n").strip()
    note = what == "补充说明"
    if not text and required:
        raise SubmissionError(_("请填写补充说明。") if note else _("请填写意见。"), 422)
    if len(text) > COMMENT_MAX:
        raise SubmissionError(_("补充说明不能超过 %(n)s 个字。", n=COMMENT_MAX) if note
                              else _("意见不能超过 %(n)s 个字。", n=COMMENT_MAX), 422)
    return text


def submit(session: Session, *, user: User, measure_id: str, unit_id: str | None, idempotency_key: str,
           today: dt.date, uploads: list[attachments.CheckedUpload], upload_dir: Path,
           max_attachments: int) -> tuple[Submission, bool]:
    """Submit an application; returns (submission, created). A repeated form token returns the first one."""
    enterprise_id = user.enterprise_id
    if enterprise_id is None or user.id is None:
        raise SubmissionError(_("只有企业账号可以提交申请。"), 403)
    if not IDEMPOTENCY_RE.match(idempotency_key or ""):
        raise SubmissionError(_("页面已过期，请刷新页面后重新提交。"), 400)
    if (existing := _by_key(session, enterprise_id, idempotency_key)) is not None:
        return existing, False  # a double tap or a resent form: the first request already did the work
    profile = profile_of(session, enterprise_id)
    result = check_applicable(measure_id, profile, today)
    measure = result.measure
    unit = choose_unit(measure, unit_id, profile.get("sectors"))
    if len(uploads) > max_attachments:
        raise SubmissionError(_("每份申请最多上传 %(n)s 个附件。", n=max_attachments), 422)
    _check_quota(session, enterprise_id, uploads)  # before the PDF too: nothing is issued or stored
    _ensure_no_open(session, enterprise_id, measure_id)  # before the (slow) PDF, so a refusal is quick

    at = clock.now()
    # The reference is printed on the PDF, so it is taken (in its own short transaction) before the render.
    # End this request's transaction first: on SQLite it holds the writers' lock the reservation needs.
    session.rollback()
    from portal.db import db

    reference = references.reserve(db.standalone, unit.id, at)
    document = _issue_pdf(session, enterprise_id, profile, measure_id, today, reference)
    # The render ran outside any transaction: lock the enterprise now and check again, so two tabs
    # (or two workers) cannot both create an open application for this measure. FOR NO KEY UPDATE
    # (key_share) is enough to serialise submissions and does not conflict with the key-share locks
    # that foreign keys to the enterprise take.
    session.exec(select(Enterprise).where(Enterprise.id == enterprise_id).with_for_update(key_share=True)).first()
    if (existing := _by_key(session, enterprise_id, idempotency_key)) is not None:
        return existing, False
    _ensure_no_open(session, enterprise_id, measure_id)
    _check_quota(session, enterprise_id, uploads)  # again, under the enterprise lock

    snapshot = canonical_json(measure_snapshot(measure))
    # materials_complete_at stays empty: whether the materials are complete is the reviewer's decision.
    sub = Submission(enterprise_id=enterprise_id, measure_id=measure.id,
                     measure_fingerprint=hashlib.sha256(snapshot.encode("utf-8")).hexdigest(),
                     measure_snapshot_json=snapshot, answers_json=canonical_json(profile), routed_unit_id=unit.id,
                     status=SubmissionStatus.SUBMITTED, document_id=document.id, idempotency_key=idempotency_key,
                     created_by=user.id, created_at=at, updated_at=at, reference=reference,
                     judgement_json=canonical_json(judgement(result, today)))
    stored: list[str] = []
    try:
        session.add(sub)
        session.flush()
        assert sub.id is not None
        for upload in uploads:
            stored.append(attachments.store(session, sub.id, upload, user.id, upload_dir, at).stored_name)
        # Stored in Chinese, the record's language; submission_history shows it in each reader's language.
        session.add(SubmissionEvent(submission_id=sub.id, at=at, actor_id=user.id, from_status="",
                                    to_status=SubmissionStatus.SUBMITTED,
                                    comment=f"提交申请，受理编号 {reference}，受理单位：{unit.display_name}。",
                                    visibility=Visibility.ENTERPRISE))
        audit.record(session, user.id, "submission.create", "submission", sub.id, None,
                     {"status": SubmissionStatus.SUBMITTED, "measure_id": measure.id, "routed_unit_id": unit.id,
                      "measure_fingerprint": sub.measure_fingerprint, "document_id": sub.document_id,
                      "attachments": [u.original_name for u in uploads]})
        name = profile.get("enterprise_name") or (session.get(Enterprise, enterprise_id) or Enterprise(name="")).name
        _notify(session, notifications.reviewers_of(session, unit.id),
                lambda lang: _("新的申请 %(reference)s：%(name)s申请“%(title)s”。", reference=reference, name=name,
                               title=measure.local("title", lang)), REVIEW_LINK.format(id=sub.id))
        _notify(session, notifications.staff_of(session, enterprise_id), lambda lang: receipt_text(sub, unit),
                ENTERPRISE_LINK.format(id=sub.id))
        session.commit()
    except IntegrityError:
        # Same form token committed by a parallel request between our check and insert.
        session.rollback()
        attachments.discard(stored, upload_dir)
        if (existing := _by_key(session, enterprise_id, idempotency_key)) is not None:
            return existing, False
        raise
    except BaseException:
        session.rollback()
        attachments.discard(stored, upload_dir)
        raise
    return sub, True


def add_attachments(session: Session, sub: Submission, user: User, uploads: list[attachments.CheckedUpload],
                    upload_dir: Path, max_attachments: int) -> list[str]:
    """Add supporting documents while the application awaits review or was returned for more."""
    if not uploads:
        raise SubmissionError(_("请选择要上传的文件。"), 422)
    assert sub.id is not None and user.id is not None
    sub = locked(session, sub.id)
    if sub.status not in UPLOAD_STATUSES:
        raise SubmissionError(_("申请当前状态为“%(status)s”，不能再上传附件。",
                                status=SubmissionStatus.label(sub.status)), 409)
    have = attachments.count_for(session, sub.id)
    if have + len(uploads) > max_attachments:
        raise SubmissionError(_("每份申请最多 %(n)s 个附件，已有 %(have)s 个。", n=max_attachments, have=have), 422)
    _check_quota(session, sub.enterprise_id, uploads, lock=True)
    stored: list[str] = []
    at = clock.now()
    try:
        # A SAVEPOINT: a failure part-way undoes these rows (and discards their files) and nothing the caller
        # wrote before; its transaction stays usable.
        with session.begin_nested():
            for upload in uploads:
                stored.append(attachments.store(session, sub.id, upload, user.id, upload_dir, at).stored_name)
            sub.updated_at = at
            session.add(sub)
            audit.record(session, user.id, "submission.upload", "submission", sub.id, {"attachments": have},
                         {"attachments": have + len(uploads), "added": [u.original_name for u in uploads]})
        session.commit()
    except BaseException:
        attachments.discard(stored, upload_dir)
        raise
    return [u.original_name for u in uploads]


def _not_returned(sub: Submission) -> str:
    return _("申请当前状态为“%(status)s”，只有被退回的申请可以重新提交。", status=SubmissionStatus.label(sub.status))


def resubmit(session: Session, sub: Submission, user: User, note: str | None, today: dt.date) -> Submission:
    """Send a returned application back with a reply note, its answers as they are now and new uploads.

    The answers are frozen again (the enterprise may have corrected one as asked), with the portal's
    judgement of them and, when they changed, a new application PDF under the same reference; what they
    replaced is kept on the event so the reviewer sees what changed.
    """
    assert sub.id is not None
    text = clean_comment(note, "补充说明")
    sub = locked(session, sub.id)
    if sub.status != SubmissionStatus.RETURNED:
        raise SubmissionError(_not_returned(sub), 409)
    profile = profile_of(session, sub.enterprise_id)
    answers_before, judgement_before, document_before = answers_of(sub), judgement_of(sub), sub.document_id
    measure = catalog().measures.get(sub.measure_id)
    document_id = sub.document_id
    if profile != answers_before and measure is not None:
        session.rollback()  # no lock held while the new PDF renders (see _issue_pdf)
        document_id = _issue_pdf(session, sub.enterprise_id, profile, sub.measure_id, today, sub.reference or "").id
        sub = locked(session, sub.id)
        if sub.status != SubmissionStatus.RETURNED:
            raise SubmissionError(_not_returned(sub), 409)
    at = clock.now()
    before = {"status": sub.status, "document_id": sub.document_id}
    sub.status, sub.updated_at, sub.materials_complete_at = SubmissionStatus.RESUBMITTED, at, None
    sub.answers_json, sub.document_id = canonical_json(profile), document_id
    if measure is not None:
        sub.judgement_json = canonical_json(judgement(evaluate(measure, profile, today), today))
    sub.version += 1
    session.add(sub)
    data = {"answers_before": answers_before, "judgement_before": judgement_before, "document_before": document_before}
    session.add(SubmissionEvent(submission_id=sub.id, at=at, actor_id=user.id, from_status=SubmissionStatus.RETURNED,
                                to_status=SubmissionStatus.RESUBMITTED, comment=text, visibility=Visibility.ENTERPRISE,
                                data_json=canonical_json(data)))
    audit.record(session, user.id, "submission.resubmit", "submission", sub.id, before,
                 {"status": sub.status, "document_id": sub.document_id})
    name, title = enterprise_name(session, sub), title_of(sub)

    def resubmitted(lang: str) -> str:
        local = measure.local("title", lang) if measure is not None and measure.title == title else title
        return _("申请 %(reference)s 已补正并重新提交：%(name)s“%(title)s”。", reference=reference_of(sub), name=name,
                 title=local)

    _notify(session, notifications.reviewers_of(session, sub.routed_unit_id), resubmitted,
            REVIEW_LINK.format(id=sub.id))
    session.commit()
    return sub


def remove_attachment(session: Session, sub: Submission, user: User, attachment_id: int, upload_dir: Path) -> str:
    """Remove a file the enterprise uploaded by mistake, before any reviewer has seen it; audited."""
    assert sub.id is not None and user.id is not None
    sub = locked(session, sub.id)
    att = attachments.get(session, sub, attachment_id)
    if att is None:
        raise SubmissionError(_("找不到该附件。"), 404)
    if sub.status not in UPLOAD_STATUSES:
        raise SubmissionError(_("申请当前状态为“%(status)s”，附件已进入审核，不能删除。",
                                status=SubmissionStatus.label(sub.status)), 409)
    if att not in removable_attachments(session, sub):
        raise SubmissionError(_("该附件审核人员已经看过，不能删除；如有错误，请上传更正后的文件并在补充说明中写明。"),
                              409)
    at = clock.now()
    name = att.original_name
    session.delete(att)
    # Stored in Chinese like every event; the history page labels it 删除附件 in the reader's language.
    session.add(SubmissionEvent(submission_id=sub.id, at=at, actor_id=user.id, from_status=sub.status,
                                to_status=sub.status, comment=f"删除附件：{name}", visibility=Visibility.ENTERPRISE,
                                data_json=canonical_json({"removed_file": name})))
    sub.updated_at = at
    session.add(sub)
    audit.record(session, user.id, "submission.remove_attachment", "submission", sub.id,
                 {"attachment": name, "sha256": att.sha256, "size": att.size}, None)
    stored = att.stored_name
    session.commit()
    attachments.discard([stored], upload_dir)
    return name


def removable_attachments(session: Session, sub: Submission) -> list[Attachment]:
    """What the enterprise may still remove: every file before review starts, after a return only the
    files uploaded since (a reviewer has seen the others)."""
    if sub.status == SubmissionStatus.SUBMITTED:
        return attachments.list_for(session, sub.id or 0)
    return files_since_return(session, sub) if sub.status == SubmissionStatus.RETURNED else []


def files_since_return(session: Session, sub: Submission) -> list[Attachment]:
    """Files uploaded after the newest return: no reviewer has seen them yet."""
    returned = session.exec(select(func.max(SubmissionEvent.at)).where(
        SubmissionEvent.submission_id == sub.id, SubmissionEvent.to_status == SubmissionStatus.RETURNED)).one()
    if returned is None:
        return []
    return [a for a in attachments.list_for(session, sub.id or 0) if a.uploaded_at >= returned]
