"""Sign-up, sign-in, sign-out, password change and colleague invitations."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, redirect, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user

from portal.clock import today
from portal.extensions import db, failed_login, limiter, login_account_key, login_client_key
from portal.i18n import LANGUAGES, NAMES
from portal.policy.catalog import catalog
from portal.services import accounts, devices
from portal.services import answers as answer_service
from portal.templating import render
from portal.views.access import access, same_site_path
from portal.views.account_forms import (
    InviteForm,
    JoinForm,
    LoginForm,
    PasswordForm,
    RegisterForm,
    ResendVerificationForm,
)

bp = Blueprint("auth", __name__)


def sign_in(user, remember: bool = False) -> None:  # type: ignore[no-untyped-def]
    """Sign `user` in on this browser as a new device (see devices.start_session)."""
    devices.start_session(db.session, user, request.user_agent.string, request.remote_addr or "")
    login_user(user, remember=remember)


def public_link(endpoint: str, **values: object) -> str:
    """An absolute link for an e-mail: PUBLIC_BASE_URL (set in production), else this request's address."""
    from portal.config import public_base_url

    return public_base_url() + url_for(endpoint, **values)


def user_or_address() -> str:
    """Rate-limit key: the signed-in account, so colleagues behind one office NAT do not share a counter."""
    return f"user:{current_user.id}" if current_user.is_authenticated else get_remote_address()


LANG_COOKIE_AGE = 365 * 24 * 3600  # as POST /lang (portal/views/public.py)


def chosen_language(posted: str | None) -> str:
    """The interface language a form chose: one of zh/ko/en, else the language of the page it was on."""
    from portal.templating import current_language

    return posted if posted in LANGUAGES else current_language()


def remember_language(response: Response, code: str) -> Response:
    """This browser keeps the language too (the `lang` cookie, as the footer's switch sets it)."""
    response.set_cookie("lang", code, max_age=LANG_COOKIE_AGE, samesite="Lax", httponly=True)
    return response


def home_for(user) -> str:  # type: ignore[no-untyped-def]
    return {"enterprise": url_for("enterprise.dashboard"), "reviewer": url_for("review.queue"),
            "admin": url_for("admin.index")}.get(user.role, url_for("public.home"))


@bp.route("/login", methods=["GET", "POST"])
@access("public")
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], key_func=login_account_key, methods=["POST"])
@limiter.limit(lambda: current_app.config["LOGIN_CLIENT_RATE_LIMIT"], key_func=login_client_key, methods=["POST"],
               deduct_when=failed_login)
def login():
    """Sign in with e-mail and password (throttled)."""
    form, error = LoginForm(), None
    if form.is_submitted():
        user = accounts.authenticate(db.session, form.email.data, form.password.data)
        if user is None:
            error = _("邮箱或密码不正确。")
        else:
            sign_in(user, remember=form.remember.data)
            return redirect(same_site_path(request.values.get("next"), home_for(user)))
    return render("auth/login.html", error=error, email=form.email.data, status=401 if error else 200)


@bp.post("/logout")
@access("login")
def logout():
    """Sign out (POST, so a link cannot sign anyone out); this device's cookies stop working for good."""
    device = devices.current_session_id(current_user)
    if device is not None:
        devices.end_session(db.session, current_user, device, "logout")
    logout_user()
    flash(_("您已退出登录。"))
    return redirect(url_for("public.home"))


@bp.route("/register", methods=["GET", "POST"])
@access("public")
@limiter.limit(lambda: current_app.config.get("REGISTER_RATE_LIMIT", "20 per hour"), methods=["POST"])
def register():
    """Create an enterprise account and its first staff member; the same answer whether the e-mail is known."""
    form, error, email = RegisterForm(), None, ""
    language = chosen_language(form.language.data)
    if form.is_submitted():
        error = form.refusal()
        if error is None:
            try:
                user = accounts.register_enterprise(db.session, form.enterprise_name.data, form.name.data,
                                                    form.email.data, form.password.data, language=language)
            except accounts.EmailTaken:
                # Nothing was written; ending the transaction frees SQLite's writers before the mail goes out.
                db.session.rollback()
                # The owner hears of the attempt by e-mail (in their own language); the visitor sees what a
                # new account would see.
                email = accounts.normalise_email(form.email.data)
                accounts.mail_registration_attempt(email, public_link("auth.login"),
                                                   accounts.find_by_email(db.session, email))
                db.session.rollback()
            except accounts.AccountError as exc:
                error = str(exc)
            else:
                email = user.email
                # What registration captured is not asked again: it pre-fills the application form.
                answer_service.save_many(db.session, int(user.enterprise_id), user.id,
                                         {"enterprise_name": form.enterprise_name.data,
                                          "contact_person": form.name.data}, {}, today())
                accounts.mail_verification(user, public_link("auth.verify_email", token=accounts.email_token(user)))
            if error is None:
                # Not signed in here: a session for new addresses only would itself tell the two cases apart.
                # The same words whether the address was new or already had an account: the form must not
                # reveal which. The next pages speak the language chosen on the form.
                with force_locale(language):
                    flash(_("注册申请已提交。我们已向 %(email)s 发送邮件："
                            "新账号请打开邮件中的链接确认邮箱（3 天内有效）；"
                            "如果该邮箱此前已注册，邮件会说明，请用原密码登录。现在即可登录填写问卷、查看匹配结果，"
                            "确认邮箱后才能在线提交申请。", email=email))
                response = redirect(url_for("auth.login"))
                return remember_language(response, language) if form.language.data in LANGUAGES else response
    return render("auth/register.html", error=error, form=form.data, language=language,
                  language_choices=NAMES, status=422 if error else 200)


@bp.route("/password", methods=["GET", "POST"])
@access("login")
def change_password():
    """Change one's own password."""
    form, error = PasswordForm(), None
    if form.is_submitted():
        error = form.refusal()
        if error is None:
            try:
                accounts.change_password(db.session, current_user, form.current_password.data, form.new_password.data)
            except accounts.AccountError as exc:
                error = str(exc)
            else:
                flash(_("密码已修改。"))
                return redirect(home_for(current_user))
    return render("auth/password.html", error=error, status=422 if error else 200)


@bp.route("/invite", methods=["GET", "POST"])
@access("enterprise")
@limiter.limit(lambda: current_app.config.get("INVITE_RATE_LIMIT", "20 per hour"), methods=["POST"],
               key_func=user_or_address)
def invite():
    """Invite a colleague to the same enterprise account (the same answer whether the e-mail has an account)."""
    form, error, link, email = InviteForm(), None, None, ""
    if form.is_submitted():
        try:
            token = accounts.invite_colleague(db.session, current_user, form.email.data)
        except accounts.AccountError as exc:
            error = str(exc)
        else:
            email = accounts.normalise_email(form.email.data)
            link = public_link("auth.accept_invite", token=token)
            # The new address has no language yet: the inviter's page language is the best guess.
            accounts.mail_invitation(email, link, inviter=current_user.name)
    return render("auth/invite.html", error=error, link=link, email=email,
                  colleagues=accounts.colleagues(db.session, current_user.enterprise_id),
                  status=422 if error else 200)


@bp.route("/invite/<token>", methods=["GET", "POST"])
@access("public")
@limiter.limit("30 per hour", methods=["POST"])
def accept_invite(token: str):
    """Join an enterprise account (or, invited by an administrator, a unit's reviewers) through a link."""
    invitation = accounts.find_invitation(db.session, token)
    if invitation is None:
        abort(404)
    unit = catalog().units.get(invitation.service_unit_id or "")
    unit_name = unit.display_name if unit else None
    refused = accounts.invitation_problem(db.session, invitation)
    if refused is not None:
        return render("auth/accept_invite.html", invitation=invitation, refused=str(refused), token=token,
                      error=None, unit_name=unit_name, status=refused.status)
    form, error, status = JoinForm(), None, 422
    language = chosen_language(form.language.data)
    if form.is_submitted():
        error = form.refusal()
        if error is None:
            try:
                user = accounts.accept_invitation(db.session, token, form.name.data, form.password.data,
                                                  language=language)
            except accounts.AccountError as exc:
                error, status = str(exc), exc.status
            else:
                sign_in(user)
                return remember_language(redirect(home_for(user)), language)
    return render("auth/accept_invite.html", invitation=invitation, error=error, token=token, refused=None,
                  unit_name=unit_name, language=language, language_choices=NAMES, status=status if error else 200)


@bp.route("/verify-email/<token>", methods=["GET", "POST"])
@access("public")
@limiter.limit("30 per hour", methods=["POST"])
def verify_email(token: str):
    """Confirm an e-mail address: GET shows a button, POST confirms (link scanners only GET)."""
    try:
        user = accounts.user_for_email_token(db.session, token)
    except accounts.LinkRefused as exc:
        return render("auth/verify_email.html", error=str(exc), token=token, user=None, status=exc.status)
    if request.method == "POST":
        accounts.verify_email(db.session, token)
        flash(_("邮箱已确认，现在可以在线提交申请了。"))
        signed_in_as_user = current_user.is_authenticated and current_user.id == user.id
        return redirect(url_for("enterprise.dashboard") if signed_in_as_user else url_for("auth.login"))
    return render("auth/verify_email.html", error=None, token=token, user=user)


@bp.post("/verify-email/resend")
@access("enterprise")
@limiter.limit("5 per hour", key_func=user_or_address)
def resend_verification():
    """Send the e-mail verification link again to the signed-in user's address."""
    if accounts.needs_verification(current_user):
        accounts.mail_verification(current_user,
                                   public_link("auth.verify_email", token=accounts.email_token(current_user)))
        flash(_("验证邮件已重新发送到 %(email)s，请在 3 天内打开邮件中的链接。", email=current_user.email))
    else:
        flash(_("您的邮箱已经确认。"))
    return redirect(same_site_path(ResendVerificationForm().next.data, url_for("enterprise.dashboard")))
