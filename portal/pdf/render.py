"""Application forms and match reports as PDF: context from the catalog, HTML from Jinja, PDF from WeasyPrint.

Rendering happens in worker processes (portal.pdf.worker) under a time and memory limit; this
module turns a PdfRequest (portal.pdf.request) into HTML and the result. Identical inputs give
byte-identical PDFs: the verification code, PDF /ID and metadata dates are all derived from the inputs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import flask_babel
from flask import Flask, has_app_context
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from portal.formatting import wan, zh_date
from portal.i18n import TRANSLATIONS
from portal.pdf.context import (
    MATERIALS_NOTE,
    MISSING,
    NO_CONTACT,
    application_context,
    gloss,
    local_date,
    money,
    report_context,
    term,
    zh_runs,
)
from portal.pdf.jobs import TEMPLATES_DIR, RenderJob
from portal.pdf.request import (
    DEFAULT_BASE_URL,
    Contacts,
    PdfRequest,
    application_request,
    check_code,
    filename_for,
    readable_profile_errors,
    report_request,
    short_code_for,
)
from portal.pdf.worker import get_pool

__all__ = ["RenderedPdf", "build_html", "render_application", "render_report", "render_request",
           "template_base_url"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderedPdf:
    """A rendered PDF and what identifies it."""

    data: bytes
    sha256: str
    short_code: str
    input_hash: str
    filename: str
    kind: str = "application"
    measure_id: str | None = None
    pages: int = 0
    #: URLs WeasyPrint asked for (bundled CSS, the QR data: URI) and those refused; for audits and tests.
    requested: tuple[str, ...] = field(default=(), repr=False, compare=False)
    refused: tuple[str, ...] = field(default=(), repr=False, compare=False)


@lru_cache(maxsize=1)
def _jinja() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.i18n"])
    env.policies["ext.i18n.trimmed"] = True  # as extracted (portal/translations/babel.cfg)
    # As Flask-Babel installs them for page templates: the translations of the locale current at call time
    # (the one build_html forces); Jinja's newstyle gettext formats and escapes the variables itself.
    env.install_gettext_callables(  # type: ignore[attr-defined]
        lambda s: flask_babel.get_translations().ugettext(s),
        lambda s, p, n: flask_babel.get_translations().ungettext(s, p, n), newstyle=True)
    env.filters["wan"] = wan
    env.filters["zh_date"] = zh_date
    env.filters["local_date"] = local_date
    env.filters["money"] = money
    env.filters["zh_runs"] = zh_runs
    env.globals.update(MISSING=MISSING, NO_CONTACT=NO_CONTACT, MATERIALS_NOTE=MATERIALS_NOTE, gloss=gloss,
                       term=term)
    return env


@lru_cache(maxsize=1)
def _standalone_app() -> Flask:
    """An app holding only the catalogs, for renders outside the portal app (scripts, the benchmark, tests)."""
    app = Flask("portal.pdf")
    flask_babel.Babel(app, default_locale="zh", default_translation_directories=str(TRANSLATIONS))
    return app


@contextmanager
def in_language(lang: str) -> Iterator[None]:
    """Translations of `lang` for everything said while rendering: templates, context and policy wording.

    The worker renders outside any web request, for a reader who chose a language: force it. Outside
    an app context a bare app with the catalogs stands in (force_locale does nothing without one).
    """
    if not has_app_context():
        with _standalone_app().app_context(), flask_babel.force_locale(lang):
            yield
        return
    with flask_babel.force_locale(lang):
        yield


def _template_name(kind: str) -> str:
    return f"{kind}/{kind}.html"


def build_html(request: PdfRequest, short_code: str | None = None) -> str:
    """The HTML WeasyPrint renders for `request` (all user text escaped by Jinja autoescape)."""
    code = check_code(short_code) if short_code else short_code_for(request.input_hash)
    # The report is written in the reader's language; the application form is Chinese (it is filed with a
    # Chinese authority) and its `gloss` calls add the reader's language under its labels.
    with in_language("zh" if request.kind == "application" else request.lang):
        with readable_profile_errors():
            context = (application_context(request, code) if request.kind == "application"
                       else report_context(request, code))
        return _jinja().get_template(_template_name(request.kind)).render(**context)


def template_base_url(kind: str) -> str:
    """file: URL of the template folder; relative links in the HTML resolve inside pdf_templates/."""
    return (TEMPLATES_DIR / kind).as_uri() + "/"


def render_request(request: PdfRequest, *, short_code: str | None = None, timeout: float | None = None) -> RenderedPdf:
    """Render a prepared request in a worker process (PdfError on timeout or failure)."""
    code = check_code(short_code) if short_code else short_code_for(request.input_hash)
    html = build_html(request, code)
    input_hash = request.input_hash
    job = RenderJob(html, template_base_url(request.kind), bytes.fromhex(input_hash[:32]))
    with in_language(request.lang):  # a timeout or failure is reported to the reader in their language
        output = get_pool().render(job, timeout=timeout)
    if output.refused:
        log.warning("PDF %s: refused to fetch %s", code, ", ".join(output.refused))
    return RenderedPdf(data=output.data, sha256=hashlib.sha256(output.data).hexdigest(), short_code=code,
                       input_hash=input_hash, filename=filename_for(request), kind=request.kind,
                       measure_id=request.measure_id, pages=output.pages, requested=output.requested,
                       refused=output.refused)


def render_application(profile: Mapping[str, Any], measure_id: str, today: dt.date, *, short_code: str | None = None,
                       base_url: str = DEFAULT_BASE_URL, contacts: Contacts | None = None,
                       timeout: float | None = None, lang: str = "zh") -> RenderedPdf:
    """Pre-filled application form for one measure (KeyError/PdfError for unknown or internal measures)."""
    request = application_request(profile, measure_id, today, contacts=contacts, base_url=base_url, lang=lang)
    return render_request(request, short_code=short_code, timeout=timeout)


def render_report(profile: Mapping[str, Any], today: dt.date, *, contacts: Contacts | None = None,
                  short_code: str | None = None, base_url: str = DEFAULT_BASE_URL,
                  timeout: float | None = None, lang: str = "zh") -> RenderedPdf:
    """Match report: every eligible, near-miss and needs-info measure with reasons, amounts and contacts."""
    request = report_request(profile, today, contacts=contacts, base_url=base_url, lang=lang)
    return render_request(request, short_code=short_code, timeout=timeout)
