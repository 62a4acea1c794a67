"""Service-station reviewers: their unit's queue, the frozen application, the workflow and exports."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, request, url_for
from flask_login import current_user

from portal.extensions import db
from portal.models import Submission
from portal.policy.catalog import catalog
from portal.profile.fields import FIELDS, FIELDS_BY_NAME
from portal.profile.validate import DATES_FIELD
from portal.services import attachments, exports
from portal.services import submissions as service
from portal.services.submissions import SubmissionError
from portal.templating import render, today
from portal.views.access import access
from portal.views.submissions import download, serve_attachment, serve_frozen_pdf

bp = Blueprint("review", __name__, url_prefix="/review")


def _unit_id() -> str | None:
    return current_user.service_unit_id or None


def _routed_or_404(submission_id: int) -> Submission:
    sub = service.get_for_unit(db.session, submission_id, _unit_id())
    if sub is None:
        abort(404)  # another unit's application (or one forwarded away) looks like a missing one
    return sub


def _filtered() -> tuple[service.QueueFilters, dict[str, str], list[service.QueueRow]]:
    filters, errors = service.parse_filters(request.args)
    return filters, errors, service.queue(db.session, _unit_id(), filters, today())


@bp.get("/")
@access("reviewer")
def queue():
    """Submissions routed to the reviewer's unit, filtered and sorted (full page, or the list for htmx)."""
    filters, errors, rows = _filtered()
    unit = catalog().units.get(_unit_id() or "")
    return render("review/queue.html", block="results", status=422 if errors else 200, unit=unit, rows=rows,
                  filters=filters, errors=errors, status_zh=service.STATUS_ZH, sorts=service.SORTS,
                  measures=service.measures_in_queue(db.session, _unit_id()),
                  sectors=FIELDS_BY_NAME["sectors"].options, locations=FIELDS_BY_NAME["location"].options,
                  unit_name=service.unit_name)


def _nothing_to_export(filters: service.QueueFilters, errors: dict[str, str]) -> Response:
    # The queue page offers export links only when there are rows; an empty file would help nobody.
    return render("review/nothing_to_export.html", status=422 if errors else 200, errors=errors,
                  args=filters.as_args())


def _export_name(ext: str) -> tuple[str, str]:
    unit = service.unit_name(_unit_id() or "")
    day = today().isoformat()
    return f"审核队列-{unit}-{day}.{ext}", f"review-queue-{day}.{ext}"


@bp.get("/export.csv")
@access("reviewer")
def export_csv():
    """The filtered queue as CSV (UTF-8 with BOM, so Excel shows Chinese)."""
    filters, errors, rows = _filtered()
    if errors or not rows:
        return _nothing_to_export(filters, errors)
    name, fallback = _export_name("csv")
    return download(exports.to_csv(rows), "text/csv; charset=utf-8", name, fallback)


@bp.get("/export.xlsx")
@access("reviewer")
def export_xlsx():
    """The filtered queue as an Excel workbook."""
    filters, errors, rows = _filtered()
    if errors or not rows:
        return _nothing_to_export(filters, errors)
    name, fallback = _export_name("xlsx")
    return download(exports.to_xlsx(rows), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    name, fallback)


def _detail(sub: Submission, errors: list[str] | None = None, status: int = 200,
            form: dict[str, str] | None = None) -> Response:
    units = sorted(catalog().units.values(), key=lambda u: (u.kind != "service_point", u.display_name))
    return render("review/detail.html", sub=sub, status=status, errors=errors or [], form=form or {},
                  enterprise=service.enterprise_name(db.session, sub),
                  events=service.history(db.session, sub, internal=True),
                  files=attachments.list_for(db.session, sub.id or 0), human_size=attachments.human_size,
                  actions=service.actions_for(sub.status), limit=service.time_limit(sub, today()),
                  snapshot=service.snapshot_of(sub), answers=service.answers_of(sub),
                  changed=service.measure_changed(sub), fields=FIELDS, dates_field=DATES_FIELD,
                  status_zh=service.STATUS_ZH, visibility_zh=service.VISIBILITY_ZH, unit_name=service.unit_name,
                  forward_units=[u for u in units if u.id != sub.routed_unit_id])


@bp.get("/<int:submission_id>")
@access("reviewer")
def detail(submission_id: int):
    """One application as submitted: frozen answers and measure, PDF, attachments, history, actions."""
    return _detail(_routed_or_404(submission_id))


@bp.post("/<int:submission_id>/action")
@access("reviewer")
def action(submission_id: int):
    """Change the status (or just comment); every change needs a comment, internal or to the enterprise."""
    sub = _routed_or_404(submission_id)
    form = request.form
    try:
        sub = service.review(db.session, sub, current_user, form.get("action", ""), form.get("comment"),
                             form.get("visibility"), form.get("to_unit"), form.get("expected_status"))
    except SubmissionError as exc:
        db.session.rollback()
        sub = _routed_or_404(submission_id)
        return _detail(sub, [str(exc)], exc.status, form.to_dict())
    if sub.routed_unit_id != _unit_id():
        flash(f"已转交{service.unit_name(sub.routed_unit_id)}，本单位不再处理此申请。")
        return redirect(url_for("review.queue"), 303)
    flash(f"已更新：{service.STATUS_ZH[sub.status]}。")
    return redirect(url_for("review.detail", submission_id=sub.id), 303)


@bp.get("/<int:submission_id>/files/<int:attachment_id>")
@access("reviewer")
def attachment(submission_id: int, attachment_id: int):
    """Download a supporting document of an application routed to this unit."""
    return serve_attachment(_routed_or_404(submission_id), attachment_id)


@bp.get("/<int:submission_id>/application.pdf")
@access("reviewer")
def document(submission_id: int):
    """The application PDF as frozen at submission."""
    return serve_frozen_pdf(_routed_or_404(submission_id))
