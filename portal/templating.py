"""Rendering helpers: full page or htmx fragment from one template, plus shared filters."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask, Response, current_app, make_response, render_template, request
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from jinja2_fragments.flask import render_block

from portal.extensions import htmx
from portal.policy.catalog import MEASURE_KINDS, NO_MATERIALS_NOTE
from portal.profile.fields import Field, gate_open


def today() -> dt.date:
    """Today's date, or the fixed PORTAL_TODAY (tests and demos judge validity against it)."""
    fixed = current_app.config.get("PORTAL_TODAY")
    return dt.date.fromisoformat(fixed) if fixed else dt.date.today()


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


def wan(value: float | None) -> str:
    """万元 amounts without trailing .0."""
    if value is None:
        return ""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def zh_date(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    return f"{value.year}年{value.month}月{value.day}日"


def num(value: float | int) -> str:
    """Numbers as typed: 1200 rather than 1200.0."""
    return f"{value:g}" if abs(value) < 1e15 else str(value)


def answer(value: Any, f: Field) -> str:
    """An answer in the words of its question's options."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(o.zh if (o := f.option(v)) else str(v) for v in value) or "（都不是）"
    if f.kind == "choice":
        option = f.option(value)
        return option.zh if option else str(value)
    if isinstance(value, int | float):
        return f"{num(value)} {f.unit_zh}".strip()
    return str(value)


def alt_label(item: Any) -> str:
    """The Korean or English wording of a question or option, when the user chose that language.

    Chinese stays the primary text (the documents are Chinese); the chosen language is shown
    beside it so Korean-invested firms in the 中韩示范区 can follow.
    """
    lang = request.cookies.get("lang", "zh")
    if lang == "ko":
        return getattr(item, "ko", "") or getattr(item, "en", "")
    if lang == "en":
        return getattr(item, "en", "")
    return ""


def register(app: Flask) -> None:
    app.jinja_env.filters["wan"] = wan
    app.jinja_env.filters["num"] = num
    app.jinja_env.filters["answer"] = answer
    app.jinja_env.filters["zh_date"] = zh_date
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {"today": today(), "csrf_token": generate_csrf, "gate_open": gate_open, "alt": alt_label,
                "current_user": current_user, "lang": request.cookies.get("lang", "zh"),
                "kind_label": MEASURE_KINDS.get, "no_materials_note": NO_MATERIALS_NOTE}

    @app.after_request
    def _security_headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
        )
        return response
