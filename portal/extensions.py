"""Extensions created at module level and bound in create_app() with init_app."""

from __future__ import annotations

from flask import Response, has_request_context, request
from flask_babel import Babel, get_locale
from flask_compress import Compress
from flask_htmx import HTMX
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from portal.db import db
from portal.i18n import DEFAULT, LANGUAGES

csrf = CSRFProtect()
htmx = HTMX()
login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)
babel = Babel()
compress = Compress()  # phones on slow links: text responses and static files go out compressed


def login_account_key() -> str:
    """Throttle key for sign-in attempts on one account, wherever they come from."""
    return "login-account:" + request.form.get("email", "").strip().lower()[:254]


def login_client_key() -> str:
    """Throttle key for sign-in attempts from one client address (the proxy's client with TRUSTED_PROXIES)."""
    return "login-client:" + get_remote_address()


def failed_login(response: Response) -> bool:
    """Count refused sign-ins against the client address; a successful one (a redirect) costs nothing."""
    return response.status_code >= 400


def select_locale() -> str:
    """The account's language, else this visitor's choice (cookie), else the browser's, else Chinese."""
    from flask_login import current_user

    if not has_request_context():
        return DEFAULT  # commands and the worker say which language they render in (flask_babel.force_locale)
    user_language = getattr(current_user, "language", "") if current_user else ""
    if user_language in LANGUAGES:
        return user_language
    chosen = request.cookies.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT


def settle_language() -> None:
    """Choose the request's language before any transaction starts (a before_request hook).

    Flask-Babel chooses on the first gettext and keeps it for the request; choosing reads the signed-in
    user, which after a commit means a query. A service translating its refusal while another session
    holds the writers' lock (a standalone writer on SQLite) would otherwise wait for itself.
    """
    if request.endpoint != "static":
        get_locale()


__all__ = ["babel", "compress", "csrf", "db", "failed_login", "htmx", "limiter", "login_account_key",
           "login_client_key", "login_manager", "select_locale", "settle_language"]
