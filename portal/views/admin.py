"""Administrators: unit contact directory, staff accounts (both audited), the audit trail and measure usage."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal.extensions import db, limiter
from portal.models import User
from portal.policy.catalog import catalog
from portal.services import accounts, audit, rematch, review_queue, units
from portal.templating import current_language, render
from portal.views.access import access
from portal.views.auth import public_link, user_or_address
from portal.views.params import whole_number

bp = Blueprint("admin", __name__, url_prefix="/admin")

#: Unit kinds (portal/policy/data/units.yaml) as the index names them.
UNIT_KINDS = {"department": _l("省药监局处室"), "centre": _l("直属事业单位"), "agency": _l("省政府部门等"),
              "local": _l("地方政府及其部门"), "service_point": _l("服务点")}
#: portal.formatting.CONTACT_LABELS in the reader's language (the msgids are the same Chinese words).
CONTACT_LABELS = {"address": _l("地址"), "phone": _l("电话"), "hours": _l("办公时间"), "email": _l("电子邮箱"),
                  "web": _l("网址")}


def _local_titles(measure_ids: list[str]) -> dict[str, str]:
    return review_queue.local_titles(measure_ids, current_language())


@bp.get("/")
@access("admin")
def index():
    """Administration home: units and their contacts."""
    return render("admin/index.html", views=units.all_unit_views(db.session),
                  unit_kinds={k: str(v) for k, v in UNIT_KINDS.items()})


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
            flash(_("已更新“%(unit)s”的联系方式。", unit=unit.display_name))
            return redirect(url_for("admin.index"))
    contact = units.contacts(db.session).get(unit_id)
    return render("admin/unit.html", unit=unit, contact=contact, errors=errors, form=request.form,
                  labels={k: str(CONTACT_LABELS.get(k, label)) for k, label in units.CONTACT_LABELS.items()},
                  status=422 if errors else 200)


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
    usage = rematch.measure_usage(db.session)
    return render("admin/measures.html", usage=usage, local_titles=_local_titles([r.measure_id for r in usage.rows]))


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
    # The invitee has no account (and so no language) yet: the invitation goes out in Chinese, the
    # portal's default, whatever language the administrator works in.
    with force_locale("zh"):
        accounts.mail_invitation(email, link, _("成为“%(unit)s”的审核员", unit=catalog().units[unit_id].display_name))
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
    flash(_("已停用 %(email)s。", email=user.email) if changed else _("%(email)s 已是停用状态。", email=user.email))
    return redirect(url_for("admin.staff"), 303)


@bp.post("/staff/enable")
@access("admin")
def enable_user():
    """Re-enable a disabled account (user_id in the form)."""
    user = _target_user()
    changed = accounts.set_active(db.session, user, True, current_user.id)
    flash(_("已重新启用 %(email)s。", email=user.email) if changed
          else _("%(email)s 已是启用状态。", email=user.email))
    return redirect(url_for("admin.staff"), 303)
