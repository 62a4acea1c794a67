"""Enterprise staff: PDF downloads. A ready PDF is sent at once; otherwise the task queue renders it and a
progress page (polled by htmx, or refreshed by hand without JavaScript) offers it when it is done."""

from __future__ import annotations

import io
from pathlib import Path

from flask import Blueprint, abort, current_app, redirect, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.clock import today
from portal.config import LOCAL_BASE_URL, public_base_url
from portal.extensions import db
from portal.models import PdfJob
from portal.pdf.errors import PdfError
from portal.pdf.request import PdfRequest, ascii_filename_for
from portal.policy.catalog import catalog
from portal.policy.records import Measure
from portal.services import answers as answer_service
from portal.services import pdf_jobs, pdfs
from portal.services.attachments import content_disposition
from portal.statuses import PdfJobState
from portal.templating import current_language, render
from portal.views.access import access
from portal.views.params import measure_or_404

bp = Blueprint("documents", __name__)
#: What a reader is told to wait before asking again after a 429 (seconds).
BUSY_RETRY_AFTER = 10


def _cache_dir() -> Path:
    return Path(current_app.config["PDF_CACHE_DIR"])


def _send(delivery: pdf_jobs.Delivery, pdf_request: PdfRequest) -> Response:
    response = send_file(io.BytesIO(delivery.data), mimetype="application/pdf", as_attachment=True,
                         download_name=delivery.filename, etag=delivery.document.sha256, max_age=0)
    # Werkzeug's ASCII fallback drops every Chinese character ("-()-.pdf"): name it by measure and date instead.
    response.headers["Content-Disposition"] = content_disposition(delivery.filename, ascii_filename_for(pdf_request))
    response.headers["X-Verification-Code"] = delivery.document.short_code
    return response


def _unavailable(message: str, status: int = 503) -> Response:
    response = render("errors/error.html", code=status, title=_("暂时无法生成 PDF"), message=_(message), status=status)
    if status == 429:
        response.headers["Retry-After"] = str(BUSY_RETRY_AFTER)
    return response


def _send_or_queue(pdf_request: PdfRequest) -> Response:
    """Send the PDF if it is ready (or was rendered inline); else queue it and show its progress."""
    try:
        outcome = pdf_jobs.start(db.session, int(current_user.enterprise_id), pdf_request, _cache_dir(),
                                 limit=current_app.config["PDF_JOBS_PER_ENTERPRISE"])
    except pdf_jobs.PdfBusy as exc:
        return _unavailable(str(exc), exc.status)
    except PdfError as exc:  # the queue could not take the job
        return _unavailable(str(exc))
    if isinstance(outcome, pdf_jobs.Delivery):
        return _send(outcome, pdf_request)
    if outcome.state == PdfJobState.DONE and (done := pdf_jobs.delivery(db.session, outcome, _cache_dir())):
        return _send(done, pdf_request)  # rendered inline (TASKS_IMMEDIATE) or by a fast worker
    return redirect(url_for("documents.job", token=outcome.token), 303)


def _pdf(measure_id: str | None) -> Response:
    """The current answers' application form (measure_id) or match report."""
    profile = answer_service.profile_of(db.session, int(current_user.enterprise_id))
    try:
        pdf_request = pdfs.build_request(db.session, profile, measure_id, today(), public_base_url(LOCAL_BASE_URL))
    except PdfError as exc:
        return _unavailable(str(exc))
    return _send_or_queue(pdf_request)


@bp.get("/results/<measure_id>/application.pdf")
@access("enterprise")
def application_pdf(measure_id: str) -> Response:
    """Pre-filled application form for one measure (print, sign, seal)."""
    measure_or_404(measure_id, enterprise_facing=True)
    return _pdf(measure_id)


@bp.get("/results/report.pdf")
@access("enterprise")
def report_pdf() -> Response:
    """The match report: every applicable measure with reasons, amounts, validity and contacts."""
    return _pdf(None)


def _own_job_or_404(token: str) -> PdfJob:
    job = pdf_jobs.by_token(db.session, token) if 8 <= len(token) <= 32 else None
    if job is None or job.enterprise_id != current_user.enterprise_id:
        abort(404)
    return job


def _measure(job: PdfJob) -> Measure | None:
    """The measure of an application form's job (the template titles the page with it); None for the report."""
    return None if job.kind == "report" else catalog().measures.get(job.measure_id or "")


def _again_url(job: PdfJob) -> str:
    if job.kind == "report":
        return url_for("documents.report_pdf")
    return url_for("documents.application_pdf", measure_id=job.measure_id)


@bp.get("/app/documents/<token>")
@access("enterprise")
def job(token: str) -> Response:
    """Where a queued PDF stands: 排队中, 正在生成, then a download link (htmx polls the progress block)."""
    found = _own_job_or_404(token)
    state = pdf_jobs.state_of(found)
    stored = pdf_jobs.error_of(found) if state == PdfJobState.FAILED else ""
    error = pdf_jobs.error_text(stored)
    return render("documents/job.html", block="progress", job=found, state=state, measure=_measure(found),
                  ahead=pdf_jobs.position(db.session, found) if state == PdfJobState.QUEUED else 0,
                  error=error, error_in_chinese=bool(error) and error == stored and current_language() != "zh",
                  again_url=_again_url(found), in_flight=state in pdf_jobs.IN_FLIGHT,
                  waiting_long=pdf_jobs.waiting_long(found))


@bp.get("/app/documents/<token>/file")
@access("enterprise")
def job_file(token: str) -> Response:
    """The finished PDF of a job; if its file was cleaned from the cache since, the same inputs are queued again."""
    found = _own_job_or_404(token)
    done = pdf_jobs.delivery(db.session, found, _cache_dir())
    if done is not None:
        return _send(done, PdfRequest.from_json(found.request_json))
    if pdf_jobs.state_of(found) == PdfJobState.DONE:
        return _send_or_queue(PdfRequest.from_json(found.request_json))
    return redirect(url_for("documents.job", token=found.token), 303)
