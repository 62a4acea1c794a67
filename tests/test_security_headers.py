"""Response headers: CSP, HSTS in production, and no caching of anything personal (issue 13)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal import create_app
from portal.config import ProductionConfig
from tests.factories import Browser, make_user, settings_for_tests

HX = {"HX-Request": "true"}


def _directives(resp: Any) -> dict[str, str]:
    policy = resp.headers["Content-Security-Policy"]
    return {part.split()[0]: " ".join(part.split()[1:]) for part in policy.split(";") if part.strip()}


def test_csp_forbids_base_and_foreign_form_targets_and_keeps_the_rest(client: FlaskClient) -> None:
    csp = _directives(client.get("/"))
    assert csp["base-uri"] == "'none'" and csp["form-action"] == "'self'"
    assert csp["default-src"] == "'self'" and csp["script-src"] == "'self'" and csp["style-src"] == "'self'"
    assert csp["img-src"] == "'self' data:" and csp["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in client.get("/").headers["Content-Security-Policy"]


def test_no_hsts_in_development(client: FlaskClient) -> None:
    assert "Strict-Transport-Security" not in client.get("/").headers


def test_hsts_in_production(database_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert ProductionConfig.HSTS_SECONDS >= 365 * 24 * 3600
    app = create_app(settings_for_tests(DATABASE_URL=database_url, PRODUCTION=True,
                                        HSTS_SECONDS=ProductionConfig.HSTS_SECONDS, SECRET_KEY=secrets.token_hex(32),
                                        PUBLIC_BASE_URL="https://portal.example.cn", PDF_CACHE_DIR=tmp_path / "pdf",
                                        PASSWORD_HASH_METHOD="scrypt"))
    for url in ("/", "/login", "/no-such-page"):
        hsts = app.test_client().get(url).headers["Strict-Transport-Security"]
        parts = [p.strip() for p in hsts.split(";")]
        assert int(parts[0].removeprefix("max-age=")) >= 31536000 and "includeSubDomains" in parts


def test_anonymous_public_pages_may_be_cached_as_before(client: FlaskClient) -> None:
    for url in ("/", "/measures", "/login"):
        assert "no-store" not in (client.get(url).headers.get("Cache-Control") or ""), url


def test_everything_a_signed_in_user_receives_is_no_store(app: Flask, logged_in: Browser) -> None:
    answered = logged_in.post("/q/answer/enterprise_name", {"enterprise_name": "缓存测试企业"})
    responses = {
        "dashboard page": logged_in.get("/app"),
        "public page while signed in": logged_in.get("/measures"),
        "htmx fragment": logged_in.get("/measures?q=化妆品", headers=HX),
        "autosave answer": answered,
        "JSON API": logged_in.get("/api/v1/measures"),
        "PDF download": logged_in.get("/results/report.pdf"),
        "not found page": logged_in.get("/no-such-page"),
    }
    for name, resp in responses.items():
        assert resp.status_code < 500, name
        assert "no-store" in resp.headers.get("Cache-Control", ""), name
    pdf = responses["PDF download"]
    assert pdf.status_code == 200 and pdf.headers["Content-Disposition"].startswith("attachment")


def test_static_assets_stay_cacheable_for_signed_in_users(app: Flask, logged_in: Browser) -> None:
    asset = next(Path(app.static_folder or "static").glob("vendor/*.js"))
    resp = logged_in.get(f"/static/vendor/{asset.name}")
    assert resp.status_code == 200 and "no-store" not in resp.headers.get("Cache-Control", "")
    assert resp.cache_control.max_age == 31536000
    sw = logged_in.get("/sw.js")
    assert sw.status_code == 200 and sw.headers["Cache-Control"] == "no-cache"


def test_reviewer_pages_and_exports_are_no_store(app: Flask, client: FlaskClient) -> None:
    reviewer = make_user(app, "reviewer", unit="sp-zhonghan-station")
    browser = Browser(client)
    browser.login(reviewer["email"])
    for url in ("/review/", "/review/export.csv", "/review/export.xlsx"):
        resp = browser.get(url)
        assert resp.status_code == 200, url
        assert "no-store" in resp.headers.get("Cache-Control", ""), url


@pytest.mark.parametrize("url", ["/link"])
def test_hand_off_page_qr_needs_no_inline_script_or_style(app: Flask, url: str) -> None:
    """The inline SVG QR code draws with attributes: nothing the strict CSP would block."""
    resp = app.test_client().get(url)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<svg" in html and 'class="qr"' in html
    svg = html[html.index("<svg"):html.index("</svg>")]
    assert "style=" not in svg and "<script" not in svg and "<style" not in svg
    assert "<script>" not in html and " on" + "click=" not in html
