"""Enterprise side of applications: submit, upload supporting documents, follow the status, resubmit.

Also the notifications page, which serves every signed-in role.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, g, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from portal.clock import BEIJING, today
from portal.extensions import db
from portal.models import Submission
from portal.policy.catalog import catalog
from portal.profile.fields import FIELDS
from portal.profile.validate import DATES_FIELD
from portal.services import accounts, attachments, frozen_pdfs, notifications, submission_history, timelimits
from portal.services import submissions as service
from portal.services.answers import profile_of
from portal.services.routing import receipt_lines, routing_options, stated_time_limit, unit_name
from portal.services.snapshots import answers_of, snapshot_of, title_of
from portal.services.submissions import SubmissionError
from portal.statuses import UPLOAD_STATUSES, SubmissionStatus
from portal.templating import current_language, render, zh_spans
from portal.views.access import access
from portal.views.params import since_or_400, whole_number

log = logging.getLogger(__name__)

# Routes carry their full path (rather than a url_prefix) so that /notifications, shared by
# every role, can live in this blueprint next to the /app/submissions pages.
PREFIX = "/app/submissions"
bp = Blueprint("submissions", __name__)


def _eid() -> int:
    return int(current_user.enterprise_id)


def _own_or_404(submission_id: int) -> Submission:
    sub = service.get_for_enterprise(db.session, submission_id, current_user.enterprise_id)
    if sub is None:
        abort(404)  # someone else's application looks exactly like a missing one
    return sub


def upload_dir() -> Path:
    return Path(current_app.config["UPLOAD_DIR"])


def max_attachments() -> int:
    return int(current_app.config.get("MAX_ATTACHMENTS", 10))


def max_file_bytes() -> int:
    return int(current_app.config.get("MAX_ATTACHMENT_BYTES", attachments.DEFAULT_MAX_FILE_BYTES))


def checked_uploads(field: str = "files") -> tuple[list[attachments.CheckedUpload], list[str]]:
    """Every file chosen in the form, checked by content; empty file inputs are ignored."""
    uploads, errors = [], []
    for storage in request.files.getlist(field):
        if not storage or not storage.filename:
            continue
        try:
            uploads.append(attachments.check_upload(storage.stream, storage.filename, max_file_bytes()))
        except attachments.UploadError as exc:
            errors.append(str(exc))
    return uploads, errors


def download(data_or_path: bytes | Path, mimetype: str, name: str, fallback: str) -> Response:
    """Always a download, never rendered inline: uploaded content is not trusted."""
    if isinstance(data_or_path, Path):
        resp = send_file(data_or_path, mimetype=mimetype, as_attachment=True, download_name=fallback,
                         conditional=False, max_age=0)
    else:
        resp = Response(data_or_path, mimetype=mimetype)
    resp.headers["Content-Disposition"] = attachments.content_disposition(name, fallback)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


def serve_frozen_pdf(sub: Submission) -> Response:
    frozen = frozen_pdfs.frozen_pdf(db.session, sub)
    if frozen is None:
        abort(404)
    document, data = frozen
    reference = sub.reference or document.short_code
    name = f"申请表-{title_of(sub)}-{reference}.pdf"
    return download(data, "application/pdf", name, f"application-{reference}.pdf")


def serve_attachment(sub: Submission, attachment_id: int) -> Response:
    att = attachments.get(db.session, sub, attachment_id)
    path = attachments.path_of(att, upload_dir()) if att else None
    if att is None or path is None:
        abort(404)
    return download(path, att.content_type, att.original_name,
                    f"attachment-{att.id}{attachments.EXTENSION_OF.get(att.content_type, '')}")


# -- pages ----------------------------------------------------------------------------------
@bp.get(f"{PREFIX}/")
@access("enterprise")
def index():
    """The enterprise's applications, newest first."""
    subs = service.for_enterprise(db.session, _eid())
    return render("submissions/index.html", subs=subs, status_zh=SubmissionStatus.labels(), title_of=title_of,
                  unit_name=unit_name, local_title=local_title)


def _new_context(measure: Any, profile: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"measure": measure, "units": routing_options(measure, profile.get("sectors")), "profile": profile,
            "fields": FIELDS, "dates_field": DATES_FIELD,
            "token": secrets.token_urlsafe(24),  # one per page render: a double tap sends the same one
            "existing": service.open_by_measure(db.session, _eid()).get(measure.id),
            "pdf_url": url_for("documents.application_pdf", measure_id=measure.id),
            "max_attachments": max_attachments(),
            "max_file": attachments.human_size(max_file_bytes()), "chosen": request.form.get("unit", ""),
            "status_zh": SubmissionStatus.labels(), "local_title": local_title,
            **extra, "errors": [zh_spans(e) for e in extra.get("errors") or []]}


@bp.route(f"{PREFIX}/new/<measure_id>", methods=["GET", "POST"])
@access("enterprise")
def new(measure_id: str):
    """Confirm and submit an application for a matched measure (a plain POST form, CSRF protected)."""
    if accounts.needs_verification(current_user):
        # An application reaches a public authority under this address: it must be proven to be theirs first.
        return render("auth/verify_needed.html", measure_id=measure_id, status=403)
    profile = profile_of(db.session, _eid())
    try:
        measure = service.check_applicable(measure_id, profile, today()).measure
    except SubmissionError as exc:
        if exc.status == 404:
            abort(404)
        return render("submissions/unavailable.html", message=str(exc), measure_id=measure_id, status=exc.status)
    if request.method == "GET":
        return render("submissions/new.html", **_new_context(measure, profile))
    uploads, errors = checked_uploads()
    if errors:
        return render("submissions/new.html", status=422, **_new_context(measure, profile, errors=errors))
    try:
        sub, created = service.submit(db.session, user=current_user, measure_id=measure_id,
                                      unit_id=request.form.get("unit", ""),
                                      idempotency_key=request.form.get("idempotency_key", ""), today=today(),
                                      uploads=uploads, upload_dir=upload_dir(), max_attachments=max_attachments())
    except SubmissionError as exc:
        return render("submissions/new.html", status=exc.status, **_new_context(measure, profile, errors=[str(exc)]))
    flash(_("申请已提交，受理单位会在审核后通知您。") if created else _("这份申请已经提交过了，无需重复提交。"))
    return redirect(url_for("submissions.detail", submission_id=sub.id), 303)


def _detail(sub: Submission, errors: list[str] | None = None, status: int = 200, note: str = "") -> Response:
    stated = stated_time_limit(sub)
    return render("submissions/detail.html", sub=sub, status=status, errors=[zh_spans(e) for e in errors or []],
                  note=note, local_title=local_title, stated_limit=stated,
                  stated_limit_local=_live_measure(sub, "time_limit_note", stated),
                  events=submission_history.history(db.session, sub, internal=False),
                  files=attachments.list_for(db.session, sub.id or 0), human_size=attachments.human_size,
                  returned=(submission_history.last_return_comment(db.session, sub)
                            if sub.status == SubmissionStatus.RETURNED else None),
                  can_upload=sub.status in UPLOAD_STATUSES, max_attachments=max_attachments(),
                  removable={a.id for a in service.removable_attachments(db.session, sub)},
                  max_file=attachments.human_size(max_file_bytes()), receipt=receipt_lines(sub),
                  limit=timelimits.time_limit(sub, snapshot_of(sub), today()),
                  snapshot=snapshot_of(sub), answers=answers_of(sub), fields=FIELDS,
                  dates_field=DATES_FIELD, status_zh=SubmissionStatus.labels(), unit_name=unit_name)


@bp.get(f"{PREFIX}/<int:submission_id>")
@access("enterprise")
def detail(submission_id: int):
    """One application: status, reviewer comments, history, files; upload and resubmit when allowed."""
    return _detail(_own_or_404(submission_id))


@bp.post(f"{PREFIX}/<int:submission_id>/attachments")
@access("enterprise")
def upload(submission_id: int):
    """Add supporting documents (PDF, JPG, PNG) before review starts or after a return."""
    sub = _own_or_404(submission_id)
    uploads, errors = checked_uploads()
    if errors:
        return _detail(sub, errors, 422)
    try:
        names = service.add_attachments(db.session, sub, current_user, uploads, upload_dir(), max_attachments())
    except SubmissionError as exc:
        return _detail(sub, [str(exc)], exc.status)
    flash(_("已上传：%(names)s。", names=_("、").join(names)))
    return redirect(url_for("submissions.detail", submission_id=sub.id), 303)


@bp.post(f"{PREFIX}/<int:submission_id>/resubmit")
@access("enterprise")
def resubmit(submission_id: int):
    """Send a returned application back with a reply note."""
    sub = _own_or_404(submission_id)
    note = request.form.get("note", "")
    try:
        service.resubmit(db.session, sub, current_user, note, today())
    except SubmissionError as exc:
        return _detail(sub, [str(exc)], exc.status, note=note)
    flash(_("已重新提交，审核人员会继续办理。"))
    return redirect(url_for("submissions.detail", submission_id=sub.id), 303)


@bp.get(f"{PREFIX}/<int:submission_id>/files/<int:attachment_id>/remove")
@access("enterprise")
def confirm_remove_attachment(submission_id: int, attachment_id: int):
    """Ask before removing a file (a page of its own, so the question works without JavaScript)."""
    sub = _own_or_404(submission_id)
    att = attachments.get(db.session, sub, attachment_id)
    if att is None:
        abort(404)
    if att not in service.removable_attachments(db.session, sub):
        return redirect(url_for("submissions.detail", submission_id=sub.id), 303)
    return render("submissions/remove_attachment.html", sub=sub, attachment=att, human_size=attachments.human_size)


@bp.post(f"{PREFIX}/<int:submission_id>/files/<int:attachment_id>/remove")
@access("enterprise")
def remove_attachment(submission_id: int, attachment_id: int):
    """Remove a file uploaded by mistake, until a reviewer has seen it (the confirmation page posts here)."""
    sub = _own_or_404(submission_id)
    try:
        name = service.remove_attachment(db.session, sub, current_user, attachment_id, upload_dir())
    except SubmissionError as exc:
        if exc.status == 404:
            abort(404)
        return _detail(_own_or_404(submission_id), [str(exc)], exc.status)
    flash(_("已删除附件：%(name)s。", name=name))
    return redirect(url_for("submissions.detail", submission_id=sub.id), 303)


@bp.get(f"{PREFIX}/<int:submission_id>/files/<int:attachment_id>")
@access("enterprise")
def attachment(submission_id: int, attachment_id: int):
    """Download one of the enterprise's own supporting documents."""
    return serve_attachment(_own_or_404(submission_id), attachment_id)


@bp.get(f"{PREFIX}/<int:submission_id>/application.pdf")
@access("enterprise")
def document(submission_id: int):
    """The application PDF exactly as frozen at submission."""
    return serve_frozen_pdf(_own_or_404(submission_id))


# -- notifications (every role) -------------------------------------------------------------
@bp.get("/notifications")
@access("login")
def notifications_page():
    """The signed-in user's notifications, newest first."""
    return render("submissions/notifications.html", rows=notifications.for_user(db.session, current_user.id))


@bp.post("/notifications/read")
@access("login")
def notifications_read():
    """Mark one notification (and open its link) or all of them as read."""
    raw = request.form.get("id", "")
    if raw == "all":
        notifications.mark_read(db.session, current_user.id)
        db.session.commit()
        return redirect(url_for("submissions.notifications_page"), 303)
    note_id = whole_number(raw)
    if note_id is None:
        abort(404)
    note = notifications.mark_read(db.session, current_user.id, note_id)
    if note is None:
        abort(404)
    db.session.commit()
    link = note.link or ""
    # Only our own paths: a stored link must never send the user to another site.
    if request.form.get("open") and link.startswith("/") and not link.startswith("//") and "\\" not in link:
        return redirect(link, 303)
    return redirect(url_for("submissions.notifications_page"), 303)


# -- template helpers -----------------------------------------------------------------------
def _live_measure(sub: Submission, name: str, frozen: str) -> str:
    """The unofficial ko/en wording of a field of the application's measure, while the measure still reads as
    it did when frozen (`frozen`); "" in Chinese, without a translation, or once the measure has changed."""
    lang = current_language()
    measure = catalog().measures.get(sub.measure_id)
    if lang == "zh" or measure is None or not frozen or getattr(measure, name) != frozen:
        return ""
    local = measure.local(name, lang)
    return local if local != frozen else ""


def local_title(sub: Submission) -> str:
    """The application's measure title in Korean or English (unofficial), or "" (show the Chinese alone)."""
    return _live_measure(sub, "title", title_of(sub))


def _unread_count() -> int:
    if not current_user.is_authenticated:
        return 0
    if "unread_notifications" not in g:
        try:
            g.unread_notifications = notifications.unread_count(db.session, current_user.id)
        except SQLAlchemyError:
            # Error pages render the nav too; a broken database must not break them as well.
            log.exception("could not count notifications")
            g.unread_notifications = 0
    return int(g.unread_notifications)


def _open_submission_for(measure_id: str) -> Submission | None:
    if not current_user.is_authenticated or current_user.role != "enterprise" or not current_user.enterprise_id:
        return None
    if "open_submissions" not in g:
        g.open_submissions = service.open_by_measure(db.session, current_user.enterprise_id)
    return g.open_submissions.get(measure_id)


def _can_apply(result: Any) -> bool:
    """Whether the results page offers 提交申请 for this match (the server checks again on submit)."""
    m = result.measure
    return result.can_apply and m.is_enterprise_facing and bool(routing_options(m, result.sectors))


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {"unread_notifications": _unread_count, "open_submission_for": _open_submission_for,
            "can_apply": _can_apply, "submission_status_zh": SubmissionStatus.labels()}


@bp.app_template_filter("bj_time")
def bj_time(value: dt.datetime | None) -> str:
    """A stored (UTC) time as Beijing time, which is what users and reviewers read."""
    if value is None:
        return ""
    local = value.astimezone(BEIJING)
    return f"{timelimits.date_text(local.date(), padded=False)} {local:%H:%M}"


# -- live notifications badge ---------------------------------------------------------------
def _notifications_cursor() -> int:
    """The feed cursor of the user's newest notification change (0 if none or the database is unavailable)."""
    if not current_user.is_authenticated:
        return 0
    from portal.services import changes

    try:
        return changes.latest_for(db.session, changes.viewer_of(current_user), ("notification",))
    except SQLAlchemyError:
        log.exception("could not read the notifications cursor")
        return 0


@bp.app_context_processor
def _badge_helpers() -> dict[str, Any]:
    return {"notifications_cursor": _notifications_cursor}


@bp.get("/notifications/badge")
@access("login")
def notifications_badge():
    """The header's notifications link, when the user's notifications changed since cursor `since` (htmx poll)."""
    since = since_or_400()
    cursor = _notifications_cursor()
    if cursor == since:
        response = Response("", 204)
        response.vary.add("HX-Request")
        return response
    return render("_notes_link.html", notes_cursor=cursor)
