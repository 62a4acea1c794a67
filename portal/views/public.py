"""Public pages: home, policy library, documents, PDF verification, health check."""

from __future__ import annotations

import dataclasses

from flask import Blueprint, abort, current_app, jsonify, make_response, redirect, request, send_from_directory, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import text

from portal.clock import today
from portal.extensions import db
from portal.i18n import LANGUAGES
from portal.policy.catalog import catalog
from portal.policy.records import AUDIENCES, BENEFIT_KINDS
from portal.services import accounts, library, units
from portal.services import documents as issued
from portal.templating import current_language, render, wants_fragment
from portal.views.access import access, same_site_path
from portal.views.params import measure_or_404

bp = Blueprint("public", __name__)


@bp.get("/")
@access("public")
def home():
    """Landing page: what the portal does and where to start."""
    # One function for the number quoted here and the library's default count, so they agree.
    return render("public/home.html", documents=list(catalog().documents.values()),
                  library_count=library.default_count())


@bp.get("/healthz")
@access("public")
def healthz():
    """Liveness plus a database round trip that also proves the schema is migrated."""
    try:
        db.session.execute(text("SELECT version_num FROM alembic_version")).one()
    except Exception:  # noqa: BLE001 - any database failure means unhealthy
        db.session.rollback()
        return jsonify({"status": "error", "database": "unreachable or not migrated"}), 503
    return jsonify({"status": "ok"})


@bp.get("/sw.js")
@access("public")
def service_worker():
    """The offline service worker, served from the root so its scope covers every page."""
    response = send_from_directory(current_app.static_folder or "static", "sw.js", mimetype="text/javascript",
                                   max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/favicon.ico")
@access("public")
def favicon():
    """The site icon where browsers look for it by default (pages also link the SVG)."""
    return send_from_directory(current_app.static_folder or "static", "favicon.ico",
                               mimetype="image/vnd.microsoft.icon", max_age=7 * 24 * 3600)


@bp.post("/lang")
@access("public")
def set_language():
    """Switch the interface language: this browser remembers it, and so does the account when signed in."""
    code = request.form.get("code", "")
    if code not in LANGUAGES:
        abort(400, description=_("未知的界面语言。"))
    if current_user.is_authenticated and getattr(current_user, "language", None) != code:
        accounts.set_language(db.session, current_user, code)
    response = make_response(redirect(same_site_path(request.form.get("next"), "/"), code=303))
    response.set_cookie("lang", code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response


def _filter_from_request() -> library.LibraryFilter:
    f = library.LibraryFilter.from_args(request.args)
    # Enterprises come first: government-internal clauses only when the audience filter asks for them.
    return dataclasses.replace(f, audience=f.audience or library.DEFAULT_AUDIENCE)


@bp.get("/measures")
@access("public")
def measures():
    """Policy library: browse, filter and search the clauses (enterprise-facing ones by default)."""
    f = _filter_from_request()
    results = library.search(f)
    cat = catalog()
    return render("public/measures.html", block="results", results=results, f=f, documents=cat.documents,
                  sectors=library.sector_options(current_language()), benefits=BENEFIT_KINDS, audiences=AUDIENCES,
                  audience_filters=library.AUDIENCE_FILTERS, units=[u for u in cat.units.values()],
                  locations=library.LOCATION_FILTERS, validity=library.validity,
                  locations_of=library.measure_locations, snippet=library.snippet, oob=wants_fragment())


@bp.get("/measures/<measure_id>")
@access("public")
def measure(measure_id: str):
    """One measure: quoted clause, amounts, validity, units and their contacts, version history."""
    m = measure_or_404(measure_id)
    state, days = library.validity(m, today())
    view = library.source_view(m.document.id)
    return render("public/measure.html", m=m, state=state, days=days,
                  in_source=bool(view and m.id in view.placed), clause_label=library.clause_label(m),
                  lead=units.unit_views(db.session, m.lead_units),
                  cooperating=units.unit_views(db.session, m.cooperating_units),
                  service_points=units.unit_views(db.session, m.service_points),
                  versions=library.version_history(db.session, m.id), benefits=BENEFIT_KINDS, audiences=AUDIENCES)


@bp.get("/documents/<document_id>")
@access("public")
def document(document_id: str):
    """A source document: its full official text, each clause anchored and linked to its measure page."""
    cat = catalog()
    doc = cat.documents.get(document_id)
    if doc is None:
        abort(404)
    return render("public/document.html", doc=doc, measures=cat.measures_of(document_id), audiences=AUDIENCES,
                  view=library.source_view(document_id))


@bp.get("/units")
@access("public")
def unit_directory():
    """Every unit the documents name, with contacts where administrators entered them."""
    return render("public/units.html", views=units.all_unit_views(db.session))


@bp.get("/verify/<code>")
@access("public")
def verify(code: str):
    """Confirm a generated PDF: issue time, enterprise, measure and SHA-256."""
    doc = issued.find_by_code(db.session, code.strip().upper()[:16])
    if doc is None:
        return render("public/verify.html", doc=None, status=404, code=code)
    measure = catalog().measures.get(doc.measure_id) if doc.measure_id else None
    return render("public/verify.html", doc=doc, measure=measure, code=code)


@bp.post("/verify")
@access("public")
def verify_upload():
    """Upload a PDF to compare its SHA-256 with what the portal issued."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return redirect(url_for("public.home"))
    digest = issued.sha256_stream(upload.stream)
    doc = issued.find_by_sha(db.session, digest)
    return render("public/verify.html", doc=doc, measure=catalog().measures.get(doc.measure_id) if doc and
                  doc.measure_id else None, code=doc.short_code if doc else "", uploaded_sha=digest,
                  status=200 if doc else 404)
