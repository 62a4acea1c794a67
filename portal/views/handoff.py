"""Hand-off between phone and desktop: show a code on one device, approve or type it on the other."""

from __future__ import annotations

import datetime as dt

import segno
from flask import Blueprint, Response, current_app, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal import clock
from portal.extensions import db, limiter
from portal.models import HandoffCode, User
from portal.services import handoff as service
from portal.templating import render
from portal.views.access import access, same_site_path
from portal.views.auth import home_for, sign_in

bp = Blueprint("handoff", __name__)

# Flask session keys. The session cookie is signed, so no other browser can present this one's value.
BROWSER, CODE, NEXT = "handoff_browser", "handoff_code", "handoff_next"
# A code with less time left than this is replaced on reload rather than shown: nobody finishes in 30 s.
MIN_LEFT = dt.timedelta(seconds=30)
BAD_FORMAT = _l("代码格式不正确：应为 8 位字母和数字，例如 ABCD-EFGH（不区分大小写，可省略横线）。")
STATE_NOTES = {
    "pending": _l("手机上还没有确认。请在手机上点“确认在这台电脑上登录”，然后再点“继续”。"),
    "expired": _l("上一个代码已过期或已失效，下面是新的代码。"),
    "consumed": _l("上一个代码已使用过，下面是新的代码。"),
    "missing": _l("没有找到这台电脑待确认的代码，下面是新的代码。"),
}


def _limit() -> str:
    # Eight characters from 31 give ~10^12 codes: a few tries a minute per address make guessing hopeless.
    return str(current_app.config.get("HANDOFF_RATE_LIMIT", "10 per minute;60 per hour"))


def _browser_secret() -> str:
    if not session.get(BROWSER):
        session[BROWSER] = service.new_browser_secret()
    return str(session[BROWSER])


def _no_store(response: Response) -> Response:
    # Codes must not linger in shared caches or in the back-forward cache of an office computer.
    response.headers["Cache-Control"] = "no-store"
    return response


def _public_url(path: str) -> str:
    base = (current_app.config.get("PUBLIC_BASE_URL") or request.host_url).rstrip("/")
    return f"{base}{path}"


def _qr_svg(url: str) -> str:
    # Inline SVG: no extra request and no script; segno draws with attributes, so CSP style-src is unaffected.
    return segno.make(url, error="m").svg_inline(scale=4, border=2, light="#fff", omitsize=True,
                                                 svgclass="qr", title=_("用已登录的手机扫描此二维码"))


def _clock_time(value: dt.datetime) -> str:
    return value.astimezone(clock.BEIJING).strftime("%H:%M")


def _current_code() -> tuple[str, HandoffCode]:
    """This browser's code, reused while it waits with time left (reloads do not pile up rows); else a new one."""
    secret, code = _browser_secret(), session.get(CODE)
    row = service.for_browser(db.session, code, secret) if code else None
    if code and row is not None and service.state(row) in ("pending", "approved") \
            and row.expires_at - service.clock() > MIN_LEFT:
        return code, row
    db.session.rollback()  # end the read before the write below takes the write lock in its own session
    with db.standalone() as writer:  # a GET that writes: take the write lock up front (see portal.db)
        row, code = service.start(writer, "approve", secret)
    session[CODE] = code
    return code, row


def _page(error: str | None = None, notice: str | None = None, status: int = 200, typed: str = "") -> Response:
    """The /link page: this browser's code and QR, plus the form for a code shown on a phone."""
    context = {"error": error, "notice": notice, "typed": typed, "link_url": _public_url(url_for("handoff.link")),
               "approve_url": _public_url(url_for("handoff.approve"))}
    if current_user.is_authenticated:
        return _no_store(render("handoff/link.html", signed_in=True, status=status, **context))
    code, row = _current_code()
    return _no_store(render("handoff/link.html", signed_in=False, state="pending", code=service.grouped(code),
                            expires=_clock_time(row.expires_at),
                            qr=_qr_svg(_public_url(url_for("handoff.approve", code=code))), status=status,
                            **context))


def _sign_in(user: User) -> Response:
    sign_in(user)
    target = same_site_path(session.pop(NEXT, None), home_for(user))
    session.pop(CODE, None)
    session.pop(BROWSER, None)
    return _no_store(redirect(target))


@bp.get("/link")
@access("public")
@limiter.limit("30 per minute")
def link():
    """Show a one-time code and QR to approve on a signed-in phone, and a form for a code shown on a phone."""
    if request.args.get("next"):
        session[NEXT] = same_site_path(request.args.get("next"), "")
    return _page()


@bp.get("/link/status")
@access("public")
def status():
    """Whether this browser's code was approved (htmx polls it); signs this browser in once it was."""
    code, secret = session.get(CODE), session.get(BROWSER)
    current = service.state(service.for_browser(db.session, code, secret))
    if current == "approved":
        db.session.rollback()
        try:
            with db.standalone() as writer:
                user_id = service.redeem(writer, code, secret).id
        except service.HandoffError:
            current = "expired"  # expired between the read and the write: offer a fresh code
        else:
            user = db.session.get(User, user_id)
            if user is not None and user.is_active:
                response = _sign_in(user)
                if request.headers.get("HX-Request"):
                    # htmx would swap the redirected page into the fragment: have it navigate the page instead.
                    response = _no_store(Response(_("正在登录…"),
                                                  headers={"HX-Redirect": response.headers["Location"]}))
                return response
            current = "expired"
    if current_user.is_authenticated:  # signed in meanwhile (another tab, the login form): go home
        home = home_for(current_user)
        return Response(headers={"HX-Redirect": home}) if request.headers.get("HX-Request") else redirect(home)
    if not request.headers.get("HX-Request"):
        # The no-JS "continue" button: the page again, saying why it did not go on.
        return _page(notice=STATE_NOTES.get(current))
    return _no_store(render("handoff/link.html", block="status", state=current))


@bp.post("/link/enter")
@access("public")
@limiter.limit(_limit)
def enter():
    """Sign this browser in with a code shown on a signed-in phone (typed with or without the dash)."""
    typed = request.form.get("code", "")[:40]
    if service.normalise(typed) is None:
        return _page(error=str(BAD_FORMAT), status=400, typed=typed)
    try:
        user = service.redeem(db.session, typed, session.get(BROWSER))
    except service.HandoffError as exc:
        return _page(error=str(exc), status=422, typed=typed)
    return _sign_in(user)


@bp.route("/link/approve", methods=["GET", "POST"])
@access("login")
@limiter.limit(_limit, methods=["POST"])
def approve():
    """Approve a code shown on another browser so it signs in as you; a GET only shows the confirmation form."""
    typed = (request.form if request.method == "POST" else request.args).get("code", "")[:40]
    normal = service.normalise(typed)
    context = {"home": home_for(current_user), "done": False, "error": None, "code": typed}
    if normal is None and (typed or request.method == "POST"):
        return _no_store(render("handoff/approve.html", status=400, **(context | {"error": str(BAD_FORMAT)})))
    if normal is not None:
        context["code"] = service.grouped(normal)
    if request.method == "GET":
        # Never approve on GET: mail and chat link scanners open links before the user does.
        return _no_store(render("handoff/approve.html", **context))
    try:
        service.approve(db.session, normal, current_user)
    except service.HandoffError as exc:
        return _no_store(render("handoff/approve.html", status=422, **(context | {"error": str(exc)})))
    return _no_store(render("handoff/approve.html", **(context | {"done": True})))


@bp.route("/link/share", methods=["GET", "POST"])
@access("login")
@limiter.limit("20 per hour", methods=["POST"])
def share():
    """Show a one-time code on this signed-in device to type on another browser, which then signs in as you."""
    code, expires = None, None
    if request.method == "POST":
        row, plain = service.start(db.session, "share", _browser_secret(), user=current_user)
        code, expires = service.grouped(plain), _clock_time(row.expires_at)
    return _no_store(render("handoff/share.html", code=code, expires=expires,
                            link_url=_public_url(url_for("handoff.link"))))
