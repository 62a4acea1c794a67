"""Applications and their review workflow: the data-access layer the submission and review views call.

A submission freezes what was applied for: the answers (profile snapshot), the measure as it read
that day (canonical data and its SHA-256) and the generated application PDF. Status changes happen
only here, each with a comment, a history event, an audit row and notifications in the same
transaction. Anything refused raises SubmissionError with a Chinese message and an HTTP status.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import importlib.util
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from portal.models import Attachment, Enterprise, IssuedDocument, Submission, SubmissionEvent, User, utcnow
from portal.policy.catalog import Measure, Unit, catalog
from portal.policy.matching import evaluate
from portal.services import attachments, audit, notifications
from portal.services.answers import profile_of

log = logging.getLogger(__name__)

STATUS_ZH = {
    "submitted": "已提交",
    "in_review": "审核中",
    "returned": "退回补充材料",
    "resubmitted": "已重新提交",
    "approved": "已通过",
    "rejected": "未通过",
    "forwarded": "已转交其他单位",
}
#: Queue order for "sort by status": what needs a reviewer first.
STATUS_ORDER = ("submitted", "resubmitted", "forwarded", "in_review", "returned", "approved", "rejected")
FINAL_STATUSES = frozenset({"approved", "rejected"})
#: The enterprise may add documents before review starts and while asked for more.
UPLOAD_STATUSES = frozenset({"submitted", "returned"})
APPLICABLE = ("eligible",)  # a near miss says what would change it; it is not an application
VISIBILITY_ZH = {"enterprise": "企业可见", "internal": "仅内部可见"}
COMMENT_MAX = 2000
IDEMPOTENCY_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
ENTERPRISE_LINK = "/app/submissions/{id}"  # kept in step with portal/views/submissions.py
REVIEW_LINK = "/review/{id}"  # and portal/views/review.py


@dataclass(frozen=True)
class Action:
    code: str
    zh: str
    from_statuses: frozenset[str]
    to_status: str | None  # None: a comment that leaves the status alone


REVIEW_ACTIONS: dict[str, Action] = {a.code: a for a in (
    Action("start_review", "开始审核", frozenset({"submitted", "resubmitted", "forwarded"}), "in_review"),
    Action("return", "退回补充材料", frozenset({"in_review"}), "returned"),
    Action("approve", "审核通过", frozenset({"in_review"}), "approved"),
    Action("reject", "不予通过", frozenset({"in_review"}), "rejected"),
    # A misrouted application can be passed on before anyone starts reviewing it.
    Action("forward", "转交其他单位", frozenset({"submitted", "resubmitted", "forwarded", "in_review"}), "forwarded"),
    Action("comment", "仅添加意见（不改变状态）", frozenset(STATUS_ZH), None),
)}


class SubmissionError(Exception):
    """Refused: `str(exc)` is shown to the user, `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 422, submission_id: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.submission_id = submission_id


# -- clock ----------------------------------------------------------------------------------
def now() -> dt.datetime:
    """Current UTC time, moved to the fixed PORTAL_TODAY date when one is set.

    Demos and tests judge validity against PORTAL_TODAY; ages and time limits must use the same
    calendar or they would come out negative.
    """
    real = utcnow()
    fixed = current_app.config.get("PORTAL_TODAY") if has_app_context() else ""
    if not fixed:
        return real
    return dt.datetime.combine(dt.date.fromisoformat(fixed), real.timetz())


# -- the measure as applied for -------------------------------------------------------------
def _plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, dt.date):
        return obj.isoformat()
    return obj


def measure_snapshot(measure: Measure) -> dict[str, Any]:
    """Everything a measure says that an application depends on (not its test cases or file position)."""
    return {
        **measure.record(),
        "conditions": _plain(measure.conditions), "amounts": _plain(measure.amounts),
        "city_share": _plain(measure.city_share), "materials": list(measure.materials),
        "time_limit_note": measure.time_limit_note,
    }


def canonical_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def measure_fingerprint(measure: Measure) -> str:
    """SHA-256 of the measure's canonical data: changes whenever its text, amounts or conditions do."""
    return hashlib.sha256(canonical_json(measure_snapshot(measure)).encode("utf-8")).hexdigest()


def snapshot_of(sub: Submission) -> dict[str, Any]:
    return json.loads(sub.measure_snapshot_json or "{}")


def answers_of(sub: Submission) -> dict[str, Any]:
    return json.loads(sub.answers_json or "{}")


def measure_changed(sub: Submission) -> bool:
    """Has the measure been edited (or removed) since this application froze it?"""
    measure = catalog().measures.get(sub.measure_id)
    return measure is None or measure_fingerprint(measure) != sub.measure_fingerprint


def title_of(sub: Submission) -> str:
    return str(snapshot_of(sub).get("title") or sub.measure_id)


# -- routing --------------------------------------------------------------------------------
def routing_options(measure: Measure, sectors: Any = None) -> list[Unit]:
    """Where an application may go: the lead unit(s) for the firm's sector, then the printed service points."""
    cat = catalog()
    out: list[Unit] = []
    # Every lead unit the clause names for this firm's sector (all of them where it does not split by
    # sector), so an application never lands by default on whichever unit happens to be printed first.
    for name in measure.lead_units_for(sectors):
        if (lead := cat.unit_by_name(name)) is not None and lead not in out:
            out.append(lead)
    for sp in measure.service_points:
        unit = cat.units.get(sp)
        if unit is not None and unit not in out:
            out.append(unit)
    return out


def unit_name(unit_id: str) -> str:
    unit = catalog().units.get(unit_id)
    return unit.display_name if unit else unit_id


def check_applicable(measure_id: str, profile: Mapping[str, Any], today: dt.date) -> Measure:
    """The measure if this profile may apply for it now; otherwise SubmissionError saying why."""
    measure = catalog().measures.get(measure_id)
    if measure is None or not measure.is_enterprise_facing:
        raise SubmissionError("该措施不存在或不接受企业申请。", 404)
    if measure.is_information:
        raise SubmissionError("该条是面向企业的政策信息（如“首违不罚”“无事不扰”），无需申请。", 409)
    result = evaluate(measure, profile, today)
    if result.status == "expired":
        raise SubmissionError(f"该措施已于{measure.effective_valid_until:%Y年%m月%d日}到期，不能再提交申请。", 409)
    if result.status == "needs_info":
        missing = "；".join(r.text for r in result.unknown)
        raise SubmissionError(f"还不能判断您是否符合条件，请先在问卷中回答：{missing}。", 422)
    if result.status not in APPLICABLE:
        raise SubmissionError("根据您的回答，暂不符合该措施的条件，不能提交申请。", 422)
    if not routing_options(measure, profile.get("sectors")):
        raise SubmissionError("文件未列明该措施的受理单位，暂不能在线提交，请按文件向有关部门咨询。", 409)
    return measure


def choose_unit(measure: Measure, unit_id: str | None, sectors: Any = None) -> Unit:
    options = routing_options(measure, sectors)
    if not unit_id:
        return options[0]
    for unit in options:
        if unit.id == unit_id:
            return unit
    raise SubmissionError("请选择该措施列明的受理单位或服务窗口。", 422)


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
        raise SubmissionError(f"您已提交过该措施的申请（编号 {existing.id}，{STATUS_ZH[existing.status]}），"
                              "办结前不能重复提交。", 409, existing.id)


def _check_quota(session: Session, enterprise_id: int, uploads: list[attachments.CheckedUpload], *,
                 lock: bool = False) -> None:
    """Refuse (413) uploads that would take the enterprise past UPLOAD_QUOTA_MB, before anything is stored."""
    quota_mb = float(current_app.config.get("UPLOAD_QUOTA_MB") or 0) if has_app_context() else 0.0
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
        raise SubmissionError(f"超出本企业附件存储空间上限（{attachments.human_size(quota)}）：已使用 "
                              f"{attachments.human_size(used)}，本次上传 {attachments.human_size(adding)}。"
                              "请压缩文件后重试，或联系受理单位。", 413)


def _locked(session: Session, submission_id: int) -> Submission:
    """Re-read the submission under a row lock so two people acting at once cannot both win."""
    query = (select(Submission).where(Submission.id == submission_id).with_for_update(key_share=True)
             .execution_options(populate_existing=True))
    return session.exec(query).one()


def enterprise_name(session: Session, sub: Submission) -> str:
    name = answers_of(sub).get("enterprise_name")
    if name:
        return str(name)
    ent = session.get(Enterprise, sub.enterprise_id)
    return ent.name if ent else f"企业 {sub.enterprise_id}"


# -- the frozen PDF -------------------------------------------------------------------------
def pdf_service_available() -> bool:
    return importlib.util.find_spec("portal.services.pdfs") is not None


def _issue_pdf(session: Session, enterprise_id: int, profile: dict[str, Any], measure_id: str,
               today: dt.date) -> IssuedDocument | None:
    """Generate and record the application PDF; None while the PDF service is not installed.

    pdfs.download ends this session's read transaction before rendering and records the document
    in its own short write transaction, so a render never holds the database write lock.
    """
    if not pdf_service_available():
        log.warning("portal.services.pdfs is missing: submission of %s stored without its PDF", measure_id)
        return None
    from portal.config import LOCAL_BASE_URL, public_base_url
    from portal.db import db
    from portal.pdf.errors import PdfError
    from portal.services import pdfs

    config = current_app.config
    try:
        document, data, _name = pdfs.download(session, db.standalone, enterprise_id, profile, measure_id, today,
                                              public_base_url(LOCAL_BASE_URL), Path(config["PDF_CACHE_DIR"]))
    except PdfError as exc:
        raise SubmissionError(f"申请表 PDF 生成失败：{exc}", 503) from exc
    _keep_copy(document, data)
    return document


def _frozen_dir() -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / "applications"


def _keep_copy(document: IssuedDocument, data: bytes) -> None:
    """Keep the submitted PDF beside the uploads: the PDF cache may be cleared, the submission may not."""
    digest = hashlib.sha256(data).hexdigest()
    folder = _frozen_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{digest}.pdf"
    if not target.exists():
        tmp = folder / f".{digest}.part"
        tmp.write_bytes(data)
        tmp.replace(target)


def frozen_document(session: Session, sub: Submission) -> IssuedDocument | None:
    return session.get(IssuedDocument, sub.document_id) if sub.document_id is not None else None


def frozen_pdf(session: Session, sub: Submission) -> tuple[IssuedDocument, bytes] | None:
    """The PDF frozen at submission, checked against its recorded SHA-256."""
    if sub.document_id is None:
        return None
    document = session.get(IssuedDocument, sub.document_id)
    if document is None:
        return None
    candidates = []
    if re.fullmatch(r"[0-9a-f]{64}", document.sha256 or ""):
        candidates.append(_frozen_dir() / f"{document.sha256}.pdf")
    if document.path:
        candidates.append(Path(document.path))
    for path in candidates:
        if path.is_file():
            data = path.read_bytes()
            if not document.sha256 or hashlib.sha256(data).hexdigest() == document.sha256:
                return document, data
            log.error("frozen PDF %s of submission %s does not match its SHA-256", path, sub.id)
    return None


# -- enterprise actions ---------------------------------------------------------------------
def _clean_comment(comment: str | None, what: str = "意见") -> str:
    text = (comment or "").replace("\r\n", "\n").strip()
    if not text:
        raise SubmissionError(f"请填写{what}。", 422)
    if len(text) > COMMENT_MAX:
        raise SubmissionError(f"{what}不能超过 {COMMENT_MAX} 个字。", 422)
    return text


def submit(session: Session, *, user: User, measure_id: str, unit_id: str | None, idempotency_key: str,
           today: dt.date, uploads: list[attachments.CheckedUpload], upload_dir: Path,
           max_attachments: int) -> tuple[Submission, bool]:
    """Submit an application; returns (submission, created). A repeated form token returns the first one."""
    enterprise_id = user.enterprise_id
    if enterprise_id is None or user.id is None:
        raise SubmissionError("只有企业账号可以提交申请。", 403)
    if not IDEMPOTENCY_RE.match(idempotency_key or ""):
        raise SubmissionError("页面已过期，请刷新页面后重新提交。", 400)
    if (existing := _by_key(session, enterprise_id, idempotency_key)) is not None:
        return existing, False  # a double tap or a resent form: the first request already did the work
    profile = profile_of(session, enterprise_id)
    measure = check_applicable(measure_id, profile, today)
    unit = choose_unit(measure, unit_id, profile.get("sectors"))
    if len(uploads) > max_attachments:
        raise SubmissionError(f"每份申请最多上传 {max_attachments} 个附件。", 422)
    _check_quota(session, enterprise_id, uploads)  # before the PDF too: nothing is issued or stored
    _ensure_no_open(session, enterprise_id, measure_id)  # before the (slow) PDF, so a refusal is quick

    document = _issue_pdf(session, enterprise_id, profile, measure_id, today)
    # The render ran outside any transaction: lock the enterprise now and check again, so two tabs
    # (or two workers) cannot both create an open application for this measure. FOR NO KEY UPDATE
    # (key_share) is enough to serialise submissions and does not conflict with the key-share locks
    # that foreign keys to the enterprise take.
    session.exec(select(Enterprise).where(Enterprise.id == enterprise_id).with_for_update(key_share=True)).first()
    if (existing := _by_key(session, enterprise_id, idempotency_key)) is not None:
        return existing, False
    _ensure_no_open(session, enterprise_id, measure_id)
    _check_quota(session, enterprise_id, uploads)  # again, under the enterprise lock

    at = now()
    snapshot = canonical_json(measure_snapshot(measure))
    sub = Submission(enterprise_id=enterprise_id, measure_id=measure.id,
                     measure_fingerprint=hashlib.sha256(snapshot.encode("utf-8")).hexdigest(),
                     measure_snapshot_json=snapshot, answers_json=canonical_json(profile), routed_unit_id=unit.id,
                     status="submitted", document_id=document.id if document else None,
                     idempotency_key=idempotency_key, created_by=user.id, created_at=at, updated_at=at,
                     materials_complete_at=at)
    stored: list[str] = []
    try:
        session.add(sub)
        session.flush()
        assert sub.id is not None
        for upload in uploads:
            stored.append(attachments.store(session, sub.id, upload, user.id, upload_dir, at).stored_name)
        session.add(SubmissionEvent(submission_id=sub.id, at=at, actor_id=user.id, from_status="",
                                    to_status="submitted", comment=f"提交申请，受理单位：{unit.display_name}。",
                                    visibility="enterprise"))
        audit.record(session, user.id, "submission.create", "submission", sub.id, None,
                     {"status": "submitted", "measure_id": measure.id, "routed_unit_id": unit.id,
                      "measure_fingerprint": sub.measure_fingerprint, "document_id": sub.document_id,
                      "attachments": [u.original_name for u in uploads]})
        name = profile.get("enterprise_name") or (session.get(Enterprise, enterprise_id) or Enterprise(name="")).name
        notifications.notify(session, notifications.reviewers_of(session, unit.id),
                             f"新的申请：{name}申请“{measure.title}”。", REVIEW_LINK.format(id=sub.id))
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
        raise SubmissionError("请选择要上传的文件。", 422)
    assert sub.id is not None and user.id is not None
    sub = _locked(session, sub.id)
    if sub.status not in UPLOAD_STATUSES:
        raise SubmissionError(f"申请当前状态为“{STATUS_ZH[sub.status]}”，不能再上传附件。", 409)
    have = attachments.count_for(session, sub.id)
    if have + len(uploads) > max_attachments:
        raise SubmissionError(f"每份申请最多 {max_attachments} 个附件，已有 {have} 个。", 422)
    _check_quota(session, sub.enterprise_id, uploads, lock=True)
    stored: list[str] = []
    at = now()
    try:
        for upload in uploads:
            stored.append(attachments.store(session, sub.id, upload, user.id, upload_dir, at).stored_name)
        sub.updated_at = at
        session.add(sub)
        audit.record(session, user.id, "submission.upload", "submission", sub.id, {"attachments": have},
                     {"attachments": have + len(uploads), "added": [u.original_name for u in uploads]})
        session.commit()
    except BaseException:
        session.rollback()
        attachments.discard(stored, upload_dir)
        raise
    return [u.original_name for u in uploads]


def resubmit(session: Session, sub: Submission, user: User, note: str | None) -> Submission:
    """Send a returned application back with a reply note (and whatever was uploaded meanwhile)."""
    assert sub.id is not None
    text = _clean_comment(note, "补充说明")
    sub = _locked(session, sub.id)
    if sub.status != "returned":
        raise SubmissionError(f"申请当前状态为“{STATUS_ZH[sub.status]}”，只有被退回的申请可以重新提交。", 409)
    at = now()
    before = {"status": sub.status}
    sub.status, sub.updated_at, sub.materials_complete_at = "resubmitted", at, at
    sub.version += 1
    session.add(sub)
    session.add(SubmissionEvent(submission_id=sub.id, at=at, actor_id=user.id, from_status="returned",
                                to_status="resubmitted", comment=text, visibility="enterprise"))
    audit.record(session, user.id, "submission.resubmit", "submission", sub.id, before, {"status": sub.status})
    notifications.notify(session, notifications.reviewers_of(session, sub.routed_unit_id),
                         f"申请已补充材料并重新提交：{enterprise_name(session, sub)}“{title_of(sub)}”。",
                         REVIEW_LINK.format(id=sub.id))
    session.commit()
    return sub


# -- reviewer actions -----------------------------------------------------------------------
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
    text = _clean_comment(comment)
    if visibility not in VISIBILITY_ZH:
        raise SubmissionError("请选择意见是否对企业可见。", 422)
    if action.code == "return" and visibility != "enterprise":
        raise SubmissionError("退回补充材料时，意见须对企业可见，否则企业不知道要补充什么。", 422)
    target: Unit | None = None
    sub = _locked(session, sub.id)
    if action.code == "forward":
        target = catalog().units.get(to_unit or "")
        if target is None:
            raise SubmissionError("请选择要转交的单位。", 422)
        if target.id == sub.routed_unit_id:
            raise SubmissionError("不能转交给本单位。", 422)
    if expected_version is not None and expected_version != sub.version:
        raise SubmissionError(f"该申请已被他人更新（当前状态“{STATUS_ZH.get(sub.status, sub.status)}”，"
                              f"版本 {sub.version}），未执行本次操作。请同步后再决定。", 412, sub.id)
    if expected_status and expected_status != sub.status:
        raise SubmissionError(f"该申请的状态刚被更新为“{STATUS_ZH.get(sub.status, sub.status)}”，"
                              "请查看最新情况后再操作。", 409)
    if sub.status not in action.from_statuses:
        raise SubmissionError(f"申请当前状态为“{STATUS_ZH.get(sub.status, sub.status)}”，不能执行“{action.zh}”。", 409)

    at = now()
    before = {"status": sub.status, "routed_unit_id": sub.routed_unit_id}
    new_status = action.to_status or sub.status
    if target is not None:
        text = f"【转交至{target.display_name}】{text}"
        sub.routed_unit_id = target.id
    session.add(SubmissionEvent(submission_id=sub.id, at=at, actor_id=reviewer.id, from_status=sub.status,
                                to_status=new_status, comment=text, visibility=visibility))
    sub.status, sub.updated_at = new_status, at
    sub.version += 1
    session.add(sub)
    audit.record(session, reviewer.id, f"submission.{action.code}", "submission", sub.id, before,
                 {"status": sub.status, "routed_unit_id": sub.routed_unit_id, "visibility": visibility,
                  "comment": text})
    _notify_after_review(session, sub, action, visibility, target)
    session.commit()
    return sub


def _notify_after_review(session: Session, sub: Submission, action: Action, visibility: str,
                         target: Unit | None) -> None:
    title = title_of(sub)
    link = ENTERPRISE_LINK.format(id=sub.id)
    staff = notifications.staff_of(session, sub.enterprise_id)
    if action.to_status is None:
        if visibility == "enterprise":
            notifications.notify(session, staff, f"审核人员对您的申请“{title}”留下了意见。", link)
    elif action.code == "return":
        notifications.notify(session, staff, f"您的申请“{title}”被退回补充材料，请查看审核意见并补充后重新提交。", link)
    else:
        notifications.notify(session, staff, f"您的申请“{title}”状态更新为：{STATUS_ZH[sub.status]}。", link)
    if target is not None:
        notifications.notify(session, notifications.reviewers_of(session, target.id),
                             f"转交来的申请：{enterprise_name(session, sub)}“{title}”。", REVIEW_LINK.format(id=sub.id))


# -- history --------------------------------------------------------------------------------
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
        return STATUS_ZH.get(self.event.to_status, self.event.to_status)


def history(session: Session, sub: Submission, internal: bool) -> list[EventView]:
    """Events oldest first. For the enterprise (internal=False) internal comments are never included."""
    rows = list(session.exec(select(SubmissionEvent).where(SubmissionEvent.submission_id == sub.id)
                             .order_by(col(SubmissionEvent.at), col(SubmissionEvent.id))))
    actor_ids = {e.actor_id for e in rows if e.actor_id}
    users = {u.id: u for u in session.exec(select(User).where(col(User.id).in_(actor_ids)))} if actor_ids else {}
    out = []
    for e in rows:
        user = users.get(e.actor_id)
        hidden = e.visibility == "internal" and not internal
        if hidden and e.from_status == e.to_status:
            continue  # an internal note that changed nothing: the enterprise sees no trace of it
        if user is None:
            actor = "系统"
        elif user.role == "enterprise":
            actor = f"企业（{user.name}）" if internal else user.name
        else:
            actor = f"{user.name}（{unit_name(user.service_unit_id or '')}）" if internal else "审核人员"
        out.append(EventView(e, actor, "" if hidden else e.comment))
    return out


def last_return_comment(session: Session, sub: Submission) -> SubmissionEvent | None:
    query = (select(SubmissionEvent).where(SubmissionEvent.submission_id == sub.id,
                                           SubmissionEvent.to_status == "returned",
                                           SubmissionEvent.visibility == "enterprise")
             .order_by(col(SubmissionEvent.id).desc()))
    return session.exec(query).first()


# -- time limit (e.g. 000（三）: registration within 3 months once materials are complete) ----
@dataclass(frozen=True)
class TimeLimit:
    limit_days: int
    elapsed: int | None
    note: str
    state: str  # running | paused | done

    @property
    def remaining(self) -> int | None:
        return None if self.elapsed is None else self.limit_days - self.elapsed

    @property
    def overdue(self) -> bool:
        return self.state == "running" and self.remaining is not None and self.remaining < 0

    def describe(self) -> str:
        if self.state == "paused":
            return f"时限 {self.limit_days} 天：材料待补充，重新提交后重新计算"
        if self.elapsed is None:
            return f"时限 {self.limit_days} 天"
        text = f"材料齐全后第 {self.elapsed} 天 / 时限 {self.limit_days} 天"
        if self.state == "done":
            return text + "（已办结）"
        remaining = self.remaining or 0
        return text + (f"（已超出 {-remaining} 天）" if remaining < 0 else f"（剩余 {remaining} 天）")


def time_limit(sub: Submission, today: dt.date) -> TimeLimit | None:
    snap = snapshot_of(sub)
    days = snap.get("time_limit_days")
    if not isinstance(days, int) or days <= 0:
        return None
    elapsed = None
    if sub.materials_complete_at is not None:
        elapsed = max(0, (today - sub.materials_complete_at.date()).days)
    state = "done" if sub.status in FINAL_STATUSES else ("paused" if sub.status == "returned" else "running")
    return TimeLimit(days, elapsed, str(snap.get("time_limit_note") or ""), state)


# -- the reviewer queue ---------------------------------------------------------------------
SORTS = {"newest": "最新提交", "oldest": "最早提交", "measure": "按措施", "status": "按状态"}
AGE_MAX = 3650


@dataclass(frozen=True)
class QueueFilters:
    status: str = ""
    measure: str = ""
    sector: str = ""
    location: str = ""
    min_age: int | None = None
    sort: str = "newest"

    def as_args(self) -> dict[str, str]:
        """Non-default values, for links (export, pushed URLs) that keep the current filters."""
        args = {"status": self.status, "measure": self.measure, "sector": self.sector, "location": self.location,
                "min_age": "" if self.min_age is None else str(self.min_age),
                "sort": "" if self.sort == "newest" else self.sort}
        return {k: v for k, v in args.items() if v}


def parse_filters(args: Mapping[str, str]) -> tuple[QueueFilters, dict[str, str]]:
    """Filters from a query string; invalid values are dropped and reported in Chinese."""
    from portal.profile.fields import FIELDS_BY_NAME

    errors: dict[str, str] = {}

    def pick(name: str, allowed: Any, message: str) -> str:
        value = (args.get(name) or "").strip()
        if value and value not in allowed:
            errors[name] = message
            return ""
        return value

    status = pick("status", STATUS_ZH, "状态筛选无效。")
    measure = pick("measure", catalog().measures, "措施筛选无效。")
    sector = pick("sector", FIELDS_BY_NAME["sectors"].option_codes(), "行业筛选无效。")
    location = pick("location", FIELDS_BY_NAME["location"].option_codes(), "所在地筛选无效。")
    sort = pick("sort", SORTS, "排序方式无效。") or "newest"
    raw_age = (args.get("min_age") or "").strip()
    min_age = None
    if raw_age:
        if re.fullmatch(r"[0-9]{1,4}", raw_age) and int(raw_age) <= AGE_MAX:
            min_age = int(raw_age)
        else:
            errors["min_age"] = f"等待天数须为 0 到 {AGE_MAX} 之间的整数。"
    return QueueFilters(status, measure, sector, location, min_age, sort), errors


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
        return STATUS_ZH.get(self.submission.status, self.submission.status)


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
        cutoff = dt.datetime.combine(today - dt.timedelta(days=filters.min_age - 1), dt.time.min, dt.UTC)
        query = query.where(Submission.created_at < cutoff)
    query = query.order_by(col(Submission.created_at).desc(), col(Submission.id).desc()).limit(limit)
    rows = []
    for sub, ent_name in session.exec(query):
        answers = answers_of(sub)
        # Sector and location are frozen answers (JSON), filtered here rather than in SQL.
        if filters.sector and filters.sector not in (answers.get("sectors") or []):
            continue
        if filters.location and answers.get("location") != filters.location:
            continue
        rows.append(QueueRow(sub, str(answers.get("enterprise_name") or ent_name), title_of(sub), answers,
                             max(0, (today - sub.created_at.date()).days), time_limit(sub, today)))
    if filters.sort == "oldest":
        rows.reverse()
    elif filters.sort == "measure":
        rows.sort(key=lambda r: (_measure_key(r.submission.measure_id), -r.submission.created_at.timestamp()))
    elif filters.sort == "status":
        rows.sort(key=lambda r: (STATUS_ORDER.index(r.submission.status) if r.submission.status in STATUS_ORDER
                                 else len(STATUS_ORDER), r.submission.created_at))
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
