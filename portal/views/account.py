"""The signed-in user's account: interface language, signed-in devices and personal API tokens (any role)."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Blueprint, flash, redirect, url_for
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user

from portal.extensions import db
from portal.i18n import LANGUAGES, NAMES
from portal.services import accounts, devices, tokens
from portal.templating import render
from portal.views.access import access
from portal.views.account_forms import LanguageForm, TokenForm
from portal.views.auth import remember_language

bp = Blueprint("account", __name__, url_prefix="/account")

# Enough to recognise one's own devices; order matters (Edge and WeChat also say "Chrome"/"Safari").
_BROWSERS = (("MicroMessenger", _l("微信")), ("Edg/", "Edge"), ("Firefox", "Firefox"), ("Chrome", "Chrome"),
             ("Safari", "Safari"))
_SYSTEMS = (("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"), ("Windows", "Windows"),
            ("Mac OS X", "macOS"), ("Linux", "Linux"))


@bp.app_template_filter("device_label")
def device_label(user_agent: str | None) -> str:
    """'Chrome · Android' from a User-Agent header; 'Unknown device' (translated) when it says nothing known."""
    ua = user_agent or ""
    browser = next((name for key, name in _BROWSERS if key in ua), "")
    system = next((name for key, name in _SYSTEMS if key in ua), "")
    return " · ".join(str(p) for p in (browser, system) if p) or _("未知设备")


def _page(new_token: str = "", error: str = "", status: int = 200,  # type: ignore[no-untyped-def]
          form: Mapping[str, str] | None = None):
    response = render("account/index.html", tokens=tokens.active_for(db.session, current_user.id),
                      devices=devices.active_sessions(db.session, current_user.id),
                      this_device=devices.current_session_id(current_user),
                      scopes=tokens.SCOPES, languages=NAMES, new_token=new_token, error=error, form=form or {},
                      status=status)
    response.headers["Cache-Control"] = "no-store"  # a new token is shown once: never from a cache
    return response


@bp.get("")
@access("login")
def index():
    """Account page: personal API tokens for the desktop client, with last use and revoke."""
    return _page()


@bp.post("/language")
@access("login")
def set_language():
    """Change the account's interface language (every device and the e-mails follow it); this browser too."""
    code = LanguageForm().language.data
    if code not in LANGUAGES:
        return _page(error=_("未知的界面语言。"), status=422)
    accounts.set_language(db.session, current_user, code)
    with force_locale(code):  # this request's locale was chosen before the change
        flash(_("界面语言已更改。"))
    return remember_language(redirect(url_for("account.index")), code)


@bp.post("/tokens")
@access("login")
def create_token():
    """Create a personal API token; its value is shown once on the page that answers."""
    form = TokenForm()
    try:
        _token, plaintext = tokens.issue(db.session, current_user, form.name.data, form.scope.data)
    except tokens.TokenError as exc:
        return _page(error=str(exc), status=422, form=form.data)
    return _page(new_token=plaintext, status=201)


@bp.post("/tokens/<int:token_id>/revoke")
@access("login")
def revoke_token(token_id: int):
    """Revoke one of the user's tokens; a device using it is refused from its next request."""
    try:
        token = tokens.revoke(db.session, current_user, token_id)
    except tokens.TokenError as exc:
        return _page(error=str(exc), status=404)
    flash(_("已撤销令牌“%(name)s”。", name=token.name))
    return redirect(url_for("account.index"))


@bp.post("/sessions/<int:session_id>/end")
@access("login")
def end_device(session_id: int):
    """Sign out one device (its session and remember-me cookie stop working at once)."""
    this_device = devices.current_session_id(current_user)
    if not devices.end_session(db.session, current_user, session_id, "ended_by_user"):
        return _page(error=_("该设备不存在或已退出。"), status=404)
    if session_id == this_device:
        logout_user()
        flash(_("已退出这台设备。"))
        return redirect(url_for("auth.login"))
    flash(_("已让该设备退出登录。"))
    return redirect(url_for("account.index"))


@bp.post("/sessions/end-all")
@access("login")
def end_all_devices():
    """Sign out everywhere, this device included (e.g. after losing a phone)."""
    ended = devices.end_sessions(db.session, current_user, "signed_out_everywhere")
    logout_user()
    flash(ngettext("已在所有设备上退出登录（%(num)s 台）。请重新登录。",
                   "已在所有设备上退出登录（%(num)s 台）。请重新登录。", ended))
    return redirect(url_for("auth.login"))
