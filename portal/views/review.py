"""Service-station reviewers: the queue of their unit's submissions."""

from __future__ import annotations

from flask import Blueprint
from flask_login import current_user

from portal.extensions import db
from portal.policy.catalog import catalog
from portal.services import submissions
from portal.templating import render
from portal.views.access import access

bp = Blueprint("review", __name__, url_prefix="/review")


@bp.get("/")
@access("reviewer")
def queue():
    """Submissions routed to the reviewer's unit."""
    unit = catalog().units.get(current_user.service_unit_id or "")
    rows = submissions.for_unit(db.session, current_user.service_unit_id or "")
    return render("review/queue.html", unit=unit, rows=rows, status_zh=submissions.STATUS_ZH, cat=catalog())
