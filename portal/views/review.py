"""Service-station reviewers: their unit's queue and dashboard, the frozen application, the workflow and exports."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.clock import today
from portal.extensions import db
from portal.models import Submission, User
from portal.policy.catalog import catalog
from portal.profile.fields import FIELDS, FIELDS_BY_NAME
from portal.profile.validate import DATES_FIELD
from portal.services import attachments, exports, review_actions, review_queue, submission_history, timelimits
from portal.services import submissions as service
from portal.services.routing import unit_name
from portal.services.snapshots import (
    answers_of,
    enterprise_name,
    judgement_of,
    measure_changed,
    reference_of,
    snapshot_of,
)
from portal.services.submissions import SubmissionError
from portal.statuses import UNOPENED, MatchStatus, SubmissionStatus, Visibility
from portal.templating import current_language, render
from portal.views.access import access
from portal.views.charts import bar_chart
from portal.views.submissions import download, serve_attachment, serve_frozen_pdf

bp = Blueprint("review", __name__, url_prefix="/review")


def _unit_id() -> str | None:
    return current_user.service_unit_id or None


def _routed_or_404(submission_id: int) -> Submission:
    sub = service.get_for_unit(db.session, submission_id, _unit_id())
    if sub is None:
        abort(404)  # another unit's application (or one forwarded away) looks like a missing one
    return sub


def _option_pairs(field_name: str) -> list[tuple[str, str]]:
    """(code, label) of a question's options in the reader's language (Chinese, or the ko/en wording)."""
    lang = current_language()
    return [(o.code, (getattr(o, lang, "") or o.zh) if lang != "zh" else o.zh)
            for o in FIELDS_BY_NAME[field_name].options]


def _local_titles(measure_ids: list[str]) -> dict[str, str]:
    return review_queue.local_titles(measure_ids, current_language())


def _filtered() -> tuple[review_queue.QueueFilters, dict[str, str], list[review_queue.QueueRow]]:
    filters, errors = review_queue.parse_filters(request.args)
    return filters, errors, review_queue.queue(db.session, _unit_id(), filters, today())


@bp.get("/")
@access("reviewer")
def queue():
    """Submissions routed to the reviewer's unit, filtered and sorted (full page, or the list for htmx)."""
    filters, errors, rows = _filtered()
    unit = catalog().units.get(_unit_id() or "")
    measures = review_queue.measures_in_queue(db.session, _unit_id())
    local_titles = _local_titles([m for m, _t in measures] + [r.submission.measure_id for r in rows])
    return render("review/queue.html", block="results", status=422 if errors else 200, unit=unit, rows=rows,
                  filters=filters, errors=errors, status_zh=SubmissionStatus.labels(),
                  sorts={k: str(v) for k, v in review_queue.SORTS.items()},
                  due_options={k: str(v) for k, v in review_queue.DUE.items()}, measures=measures,
                  local_titles=local_titles, sectors=_option_pairs("sectors"), locations=_option_pairs("location"),
                  unit_name=unit_name)


@bp.get("/dashboard")
@access("reviewer")
def dashboard():
    """The unit at a glance: counts by status and measure, median handling time, clocks near or past their limit."""
    board = review_queue.dashboard(db.session, _unit_id(), today())
    unit = catalog().units.get(_unit_id() or "")
    chart = bar_chart([(label, count) for _code, label, count in board.by_status], title=_("各状态申请数量"),
                      unit_label=_("件"))
    return render("review/dashboard.html", board=board, unit=unit, chart=chart, near_days=timelimits.NEAR_DAYS,
                  local_titles=_local_titles([m[0] for m in board.by_measure]))


def _nothing_to_export(filters: review_queue.QueueFilters, errors: dict[str, str]) -> Response:
    # The queue page offers export links only when there are rows; an empty file would help nobody.
    return render("review/nothing_to_export.html", status=422 if errors else 200, errors=errors,
                  args=filters.as_args())


def _export(kind: str) -> Response:
    filters, errors, rows = _filtered()
    if errors or not rows:
        return _nothing_to_export(filters, errors)
    # Headings, statuses and titles in the reviewer's language: Chinese for a Chinese reviewer, as before.
    table = exports.queue_table(rows, review_queue.contacts_of(db.session, rows),
                                review_queue.last_comments(db.session, rows),
                                _local_titles([r.submission.measure_id for r in rows]))
    day = today().isoformat()
    sheet = _("审核队列")
    name, fallback = f"{sheet}-{unit_name(_unit_id() or '')}-{day}.{kind}", f"review-queue-{day}.{kind}"
    if kind == "csv":
        return download(exports.to_csv(table), "text/csv; charset=utf-8", name, fallback)
    return download(exports.to_xlsx(table, sheet),
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", name, fallback)


@bp.get("/export.csv")
@access("reviewer")
def export_csv():
    """The filtered queue as CSV (UTF-8 with BOM, so Excel shows Chinese)."""
    return _export("csv")


@bp.get("/export.xlsx")
@access("reviewer")
def export_xlsx():
    """The filtered queue as an Excel workbook with real dates and numbers."""
    return _export("xlsx")


def _detail(sub: Submission, errors: list[str] | None = None, status: int = 200,
            form: dict[str, str] | None = None) -> Response:
    units = sorted(catalog().units.values(), key=lambda u: (u.kind != "service_point", u.display_name))
    snapshot = snapshot_of(sub)
    return render("review/detail.html", sub=sub, status=status, errors=errors or [], form=form or {},
                  enterprise=enterprise_name(db.session, sub), reference=reference_of(sub),
                  events=submission_history.history(db.session, sub, internal=True),
                  files=attachments.list_for(db.session, sub.id or 0), human_size=attachments.human_size,
                  actions=review_actions.actions_for(sub.status), limit=timelimits.time_limit(sub, snapshot, today()),
                  snapshot=snapshot, answers=answers_of(sub), judgement=judgement_of(sub),
                  resubmission=submission_history.last_resubmission(db.session, sub),
                  changed=measure_changed(sub), fields=FIELDS, dates_field=DATES_FIELD,
                  fields_by_name=FIELDS_BY_NAME, match_status_zh=MatchStatus.labels(),
                  status_zh=SubmissionStatus.labels(), visibility_zh=Visibility.labels(),
                  unit_name=unit_name, local_title=_local_titles([sub.measure_id]).get(sub.measure_id, ""),
                  forward_units=[u for u in units if u.id != sub.routed_unit_id],
                  next_sub=review_queue.next_to_work(db.session, _unit_id(), sub.id))


@bp.get("/<int:submission_id>")
@access("reviewer")
def detail(submission_id: int):
    """One application as submitted; opening one nobody has opened yet starts its review."""
    sub = _routed_or_404(submission_id)
    if request.method == "GET" and sub.status in UNOPENED:  # not on HEAD (link checkers)
        # A GET reads without the writers' lock; the one write it makes goes through a writing session.
        # Take the id first: after the rollback current_user is expired, and reloading it through the
        # request session inside the writer would wait for the writers' lock this thread holds (SQLite).
        reviewer_id = current_user.id
        db.session.rollback()
        with db.standalone() as writer:
            opened, reviewer = writer.get(Submission, submission_id), writer.get(User, reviewer_id)
            if opened is not None and reviewer is not None:
                review_actions.open_for_review(writer, opened, reviewer)
        sub = _routed_or_404(submission_id)
    return _detail(sub)


@bp.post("/<int:submission_id>/action")
@access("reviewer")
def action(submission_id: int):
    """Change the status, confirm the materials or comment; a comment is required only where the enterprise
    must read it (return, reject). "and next" opens the next application waiting in the queue."""
    sub = _routed_or_404(submission_id)
    form = request.form
    try:
        sub = review_actions.review(db.session, sub, current_user, form.get("action", ""), form.get("comment"),
                             form.get("visibility"), form.get("to_unit"), form.get("expected_status"))
    except SubmissionError as exc:
        sub = _routed_or_404(submission_id)
        return _detail(sub, [str(exc)], exc.status, form.to_dict())
    reference = reference_of(sub)
    if sub.routed_unit_id != _unit_id():
        flash(_("%(ref)s 已转交%(unit)s，本单位不再处理此申请。", ref=reference, unit=unit_name(sub.routed_unit_id)))
        return redirect(url_for("review.queue"), 303)
    status = SubmissionStatus.label(sub.status)
    if form.get("action") == "materials_complete":
        flash(_("%(ref)s 已更新：%(status)s，材料齐全，已开始计算办理时限。", ref=reference, status=status))
    else:
        flash(_("%(ref)s 已更新：%(status)s。", ref=reference, status=status))
    if form.get("then") == "next":
        following = review_queue.next_to_work(db.session, _unit_id(), sub.id)
        if following is not None:
            return redirect(url_for("review.detail", submission_id=following.id), 303)
        flash(_("队列中没有待处理的申请了。"))
        return redirect(url_for("review.queue"), 303)
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
