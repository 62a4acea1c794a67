"""Sign-up, sign-in, sign-out, password change and colleague invitations."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_login import current_user, login_user, logout_user

from portal.extensions import db, limiter
from portal.services import accounts
from portal.services import answers as answer_service
from portal.templating import render, today
from portal.views.access import access, same_site_path

bp = Blueprint("auth", __name__)


def home_for(user) -> str:  # type: ignore[no-untyped-def]
    return {"enterprise": url_for("enterprise.dashboard"), "reviewer": url_for("review.queue"),
            "admin": url_for("admin.index")}.get(user.role, url_for("public.home"))


@bp.route("/login", methods=["GET", "POST"])
@access("public")
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    """Sign in with e-mail and password (throttled)."""
    error = None
    if request.method == "POST":
        user = accounts.authenticate(db.session, request.form.get("email", ""), request.form.get("password", ""))
        if user is None:
            error = "邮箱或密码不正确。"
        else:
            login_user(user, remember=bool(request.form.get("remember")))
            return redirect(same_site_path(request.values.get("next"), home_for(user)))
    return render("auth/login.html", error=error, email=request.form.get("email", ""),
                  status=401 if error else 200)


@bp.post("/logout")
@access("login")
def logout():
    """Sign out (POST, so a link cannot sign anyone out)."""
    logout_user()
    flash("您已退出登录。")
    return redirect(url_for("public.home"))


@bp.route("/register", methods=["GET", "POST"])
@access("public")
@limiter.limit("20 per hour", methods=["POST"])
def register():
    """Create an enterprise account and its first staff member."""
    error, form = None, request.form
    if request.method == "POST":
        if form.get("password") != form.get("password2"):
            error = "两次输入的密码不一致。"
        else:
            try:
                user = accounts.register_enterprise(db.session, form.get("enterprise_name", ""), form.get("name", ""),
                                                    form.get("email", ""), form.get("password", ""))
            except accounts.AccountError as exc:
                db.session.rollback()
                error = str(exc)
            else:
                # What registration captured is not asked again: it pre-fills the application form.
                answer_service.save_many(db.session, int(user.enterprise_id), user.id,
                                         {"enterprise_name": form.get("enterprise_name", ""),
                                          "contact_person": form.get("name", "")}, {}, today())
                login_user(user)
                flash("注册成功。请先填写企业情况问卷。")
                return redirect(url_for("enterprise.questionnaire"))
    return render("auth/register.html", error=error, form=form, status=422 if error else 200)


@bp.route("/password", methods=["GET", "POST"])
@access("login")
def change_password():
    """Change one's own password."""
    error = None
    if request.method == "POST":
        form = request.form
        if form.get("new_password") != form.get("new_password2"):
            error = "两次输入的新密码不一致。"
        else:
            try:
                accounts.change_password(db.session, current_user, form.get("current_password", ""),
                                         form.get("new_password", ""))
            except accounts.AccountError as exc:
                db.session.rollback()
                error = str(exc)
            else:
                flash("密码已修改。")
                return redirect(home_for(current_user))
    return render("auth/password.html", error=error, status=422 if error else 200)


@bp.route("/invite", methods=["GET", "POST"])
@access("enterprise")
def invite():
    """Invite a colleague to the same enterprise account."""
    error, link = None, None
    if request.method == "POST":
        try:
            token = accounts.invite_colleague(db.session, current_user, request.form.get("email", ""))
        except accounts.AccountError as exc:
            db.session.rollback()
            error = str(exc)
        else:
            link = url_for("auth.accept_invite", token=token, _external=True)
    return render("auth/invite.html", error=error, link=link,
                  colleagues=accounts.colleagues(db.session, current_user.enterprise_id),
                  status=422 if error else 200)


@bp.route("/invite/<token>", methods=["GET", "POST"])
@access("public")
@limiter.limit("30 per hour", methods=["POST"])
def accept_invite(token: str):
    """Join an enterprise account through an invitation link."""
    invitation = accounts.find_invitation(db.session, token)
    if invitation is None:
        abort(404)
    error = None
    if request.method == "POST":
        if request.form.get("password") != request.form.get("password2"):
            error = "两次输入的密码不一致。"
        else:
            try:
                user = accounts.accept_invitation(db.session, token, request.form.get("name", ""),
                                                  request.form.get("password", ""))
            except accounts.AccountError as exc:
                db.session.rollback()
                error = str(exc)
            else:
                login_user(user)
                return redirect(url_for("enterprise.dashboard"))
    return render("auth/accept_invite.html", invitation=invitation, error=error, token=token,
                  status=422 if error else 200)
