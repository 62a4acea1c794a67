"""Rendering helpers: full page or htmx fragment from one template, plus the filters (portal.formatting)."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, g, make_response, render_template, request, session
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from jinja2_fragments.flask import render_block
from markupsafe import Markup

from portal import clock, formatting
from portal.extensions import htmx
from portal.formatting import money
from portal.i18n import DEFAULT, HTML_LANG, NAMES
from portal.policy.records import MEASURE_KINDS, NO_MATERIALS_NOTE
from portal.policy.wording import label
from portal.profile.fields import gate_open


def wants_fragment() -> bool:
    """A live htmx swap (not a history restore, not a boosted link): answered with a block, not a page.

    Pushed URLs are requested again as full pages on reload or history restore.
    """
    return bool(htmx) and not htmx.history_restore_request and not htmx.boosted


def render(template: str, block: str | None = None, status: int = 200, **context: Any) -> Response:
    """Full page for normal and history-restore requests; only `block` for htmx swaps."""
    fragment = bool(block) and wants_fragment()
    body = render_block(template, block, **context) if fragment else render_template(template, **context)
    response = make_response(body, status)
    response.vary.add("HX-Request")
    return response


def num(value: float | int) -> str:
    """A number for an input's value, exactly as stored: 1200 rather than 1200.0, never rounded.

    The value is posted back as the answer, so `%g` (1.23457e+06) would silently change it.
    """
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def current_language() -> str:
    """zh, ko or en: the language this response is in (portal.extensions.select_locale)."""
    return str(get_locale() or DEFAULT)


def zh_lang_attribute(text: object) -> Markup:
    """` lang="zh-Hans"` for text someone typed in Chinese (a name), else nothing (formatting.text_lang)."""
    lang = formatting.text_lang(text)
    return Markup(f' lang="{lang}"') if lang else Markup("")  # noqa: S704 - a constant


def zh_spans(text: Any) -> Markup:
    """Each run of Chinese in <span lang="zh-Hans"> on a Korean or English page (formatting.mark_chinese)."""
    return formatting.mark_chinese(text, current_language())


def local_date(value: Any) -> str:
    """A date in the page's language: 2026年6月1日, 2026년 6월 1일, 1 June 2026."""
    return formatting.local_date(value, current_language())


def translated_label(text: str | None) -> str:
    """A Chinese label from one of the marked dictionaries (records.AUDIENCES …) in the page's language."""
    return label(text or "", current_language())


def register(app: Flask) -> None:
    app.jinja_env.filters["wan"] = formatting.wan
    app.jinja_env.filters["date"] = local_date
    app.jinja_env.filters["zh_spans"] = zh_spans
    app.jinja_env.filters["zh_lang"] = zh_lang_attribute
    app.jinja_env.filters["tl"] = translated_label
    app.jinja_env.filters["tl_pair"] = lambda pair: (pair[0], translated_label(pair[1]))
    app.jinja_env.filters["money"] = lambda value: money(value, current_language())
    app.jinja_env.filters["num"] = num
    app.jinja_env.filters["answer"] = formatting.answer_text
    app.jinja_env.filters["zh_date"] = formatting.zh_date
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.jinja_env.policies["ext.i18n.trimmed"] = True  # as extracted (portal/translations/babel.cfg)

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {"today": clock.today(), "csrf_token": generate_csrf, "gate_open": gate_open,
                "answer_words": formatting.answer_words, "text_lang": formatting.text_lang,
                "current_user": current_user, "lang": current_language(),
                "html_lang": HTML_LANG.get(current_language(), HTML_LANG[DEFAULT]), "html_langs": HTML_LANG,
                "language_names": NAMES,
                "kind_label": lambda kind: translated_label(MEASURE_KINDS.get(kind)),
                "no_materials_note": NO_MATERIALS_NOTE, "has_chinese": formatting.has_chinese}

    app.after_request(security_headers)


# One small middleware rather than Flask-Talisman: the portal needs six headers and one cache rule that
# depends on who is signed in; Talisman would add HTTPS redirects (TLS ends at the reverse proxy here),
# nonce machinery the strict CSP does not need, and its own defaults to audit and keep in step.
CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                           "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
# Served to everyone alike and safe to cache even for a signed-in user.
_SHARED_ENDPOINTS = frozenset({"static", "public.service_worker", "public.favicon"})


def _signed_in() -> bool:
    """Whether this response went to a signed-in user, without a database query of its own."""
    user = g.get("_login_user")  # Flask-Login's loaded user, when the request asked for it
    if user is not None:
        return bool(user.is_authenticated)
    return "_user_id" in session


def security_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    hsts = int(current_app.config.get("HSTS_SECONDS") or 0)
    if hsts > 0:
        response.headers.setdefault("Strict-Transport-Security", f"max-age={hsts}; includeSubDomains")
    # Nothing personal may be kept by a shared office computer, its back-forward cache or a proxy:
    # every answer to a signed-in user (pages, fragments, JSON, files) and every file download.
    download = response.headers.get("Content-Disposition", "").lower().startswith("attachment")
    personal = download or (request.endpoint not in _SHARED_ENDPOINTS and _signed_in())
    if personal and "no-store" not in (response.headers.get("Cache-Control") or ""):
        response.headers["Cache-Control"] = "no-store"
    return response
