"""Administrators: unit contact directory, staff accounts (both audited), the audit trail and measure usage."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, request, url_for
from flask_login import current_user

from portal.extensions import db, limiter
from portal.models import User
from portal.policy.catalog import catalog
from portal.services import accounts, audit, rematch, units
from portal.templating import render
from portal.views.access import access
from portal.views.auth import public_link, user_or_address
from portal.views.params import whole_number

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


@bp.get("/measures")
@access("admin")
def measure_usage():
    """Which measures drive applications and which no stored profile is eligible for."""
    return render("admin/measures.html", usage=rematch.measure_usage(db.session))


def _staff_page(error: str | None = None, link: str | None = None, email: str = "", status: int = 200) -> Response:
    units_by_id = catalog().units
    return render("admin/staff.html", users=accounts.staff(db.session),
                  invitations=accounts.pending_staff_invitations(db.session), expires_at=accounts.invitation_expires_at,
                  units=sorted(units_by_id.values(), key=lambda u: u.display_name),
                  unit_names={uid: u.display_name for uid, u in units_by_id.items()}, error=error, link=link,
                  email=email, form=request.form, status=status)


@bp.get("/staff")
@access("admin")
def staff():
    """Reviewers and administrators: unit, status, pending invitations."""
    return _staff_page()


@bp.post("/staff/invite")
@access("admin")
@limiter.limit("60 per hour", key_func=user_or_address)
def invite_staff():
    """Invite a reviewer for a unit: the link is shown here and e-mailed to the address."""
    unit_id = request.form.get("unit", "")
    try:
        token = accounts.invite_staff(db.session, current_user, request.form.get("email", ""), "reviewer",
                                     unit_id or None)
    except accounts.AccountError as exc:
        return _staff_page(error=str(exc), status=422)
    email = accounts.normalise_email(request.form.get("email", ""))
    link = public_link("auth.accept_invite", token=token)
    accounts.mail_invitation(email, link, f"成为“{catalog().units[unit_id].display_name}”的审核员")
    return _staff_page(link=link, email=email)


def _target_user() -> User:
    user_id = whole_number(request.form.get("user_id"))
    user = db.session.get(User, user_id) if user_id is not None else None
    if user is None:
        abort(404)
    return user


@bp.post("/staff/disable")
@access("admin")
def disable_user():
    """Disable an account (user_id in the form): it can no longer sign in and its devices are signed out."""
    user = _target_user()
    try:
        changed = accounts.set_active(db.session, user, False, current_user.id)
    except accounts.AccountError as exc:
        return _staff_page(error=str(exc), status=400)
    flash(f"已停用 {user.email}。" if changed else f"{user.email} 已是停用状态。")
    return redirect(url_for("admin.staff"), 303)


@bp.post("/staff/enable")
@access("admin")
def enable_user():
    """Re-enable a disabled account (user_id in the form)."""
    user = _target_user()
    changed = accounts.set_active(db.session, user, True, current_user.id)
    flash(f"已重新启用 {user.email}。" if changed else f"{user.email} 已是启用状态。")
    return redirect(url_for("admin.staff"), 303)
