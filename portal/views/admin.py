"""Administrators: unit contact directory (audited) and the audit trail."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user

from portal.extensions import db
from portal.policy.catalog import catalog
from portal.services import audit, units
from portal.templating import render
from portal.views.access import access

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/")
@access("admin")
def index():
    """Administration home: units and their contacts."""
    return render("admin/index.html", views=units.all_unit_views(db.session))


@bp.route("/units/<unit_id>", methods=["GET", "POST"])
@access("admin")
def edit_unit(unit_id: str):
    """Edit a unit's contact details (the documents give none)."""
    unit = catalog().units.get(unit_id)
    if unit is None:
        abort(404)
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            units.update_contact(db.session, unit_id, request.form.to_dict(), current_user.id)
        except units.ContactError as exc:
            db.session.rollback()
            errors = exc.errors
        else:
            flash(f"已更新“{unit.display_name}”的联系方式。")
            return redirect(url_for("admin.index"))
    contact = units.contacts(db.session).get(unit_id)
    return render("admin/unit.html", unit=unit, contact=contact, errors=errors, form=request.form,
                  labels=units.CONTACT_LABELS, status=422 if errors else 200)


@bp.get("/audit")
@access("admin")
def audit_log():
    """The audit trail, newest first."""
    kind = request.args.get("type") or None
    return render("admin/audit.html", rows=audit.recent(db.session, 300, kind), kind=kind)
