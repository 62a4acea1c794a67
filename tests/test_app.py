"""Application foundation: factory, config, health, error pages, headers, fragments."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal import create_app
from portal.config import ProductionConfig
from tests.factories import PASSWORD, Browser, make_user, settings_for_tests


def test_healthz_checks_the_database(client: FlaskClient) -> None:
    resp = client.get("/healthz")
    assert resp.status_code == 200 and resp.get_json() == {"status": "ok"}


def test_healthz_reports_an_unmigrated_database(tmp_path) -> None:  # type: ignore[no-untyped-def]
    broken = create_app(settings_for_tests(DATABASE_URL=f"sqlite:///{tmp_path}/empty.db"))
    resp = broken.test_client().get("/healthz")
    assert resp.status_code == 503 and resp.get_json()["status"] == "error"


def test_production_refuses_to_start_without_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(ProductionConfig())


def test_production_cookies_are_secure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "0f3c9a4be21d7785c6e0a9b1d4f27c83e5a6b9d0c1f2e3a4b5c6d7e8f9a0b1c2")
    monkeypatch.setattr(ProductionConfig, "PUBLIC_BASE_URL", "https://portal.example.cn")
    app = create_app(ProductionConfig())
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["SESSION_COOKIE_HTTPONLY"]
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


@pytest.mark.parametrize(("url", "status", "words"), [
    ("/no-such-page", 404, "页面不存在"),
    ("/measures/d999-99", 404, "页面不存在"),
])
def test_error_pages_use_the_layout(client: FlaskClient, url: str, status: int, words: str) -> None:
    resp = client.get(url)
    body = resp.get_data(as_text=True)
    assert resp.status_code == status and words in body and "政策库" in body  # the site navigation


def test_post_without_csrf_token_is_refused_with_a_clear_page(client: FlaskClient) -> None:
    resp = client.post("/login", data={"email": "a@b.cn", "password": "x"})
    assert resp.status_code == 400 and "页面已过期" in resp.get_data(as_text=True)


def test_oversized_upload_gets_413(app: Flask, client: FlaskClient) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 1024
    resp = client.post("/verify", data={"file": (__import__("io").BytesIO(b"x" * 4096), "big.pdf")})
    assert resp.status_code == 413 and "文件过大" in resp.get_data(as_text=True)


def test_api_errors_are_json(client: FlaskClient) -> None:
    resp = client.get("/api/v1/measures/nope")
    assert resp.status_code == 404 and resp.is_json


def test_security_headers(client: FlaskClient) -> None:
    resp = client.get("/")
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_one_template_serves_full_page_and_htmx_fragment(client: FlaskClient) -> None:
    full = client.get("/measures?q=化妆品")
    frag = client.get("/measures?q=化妆品", headers={"HX-Request": "true"})
    restore = client.get("/measures?q=化妆品", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    for resp in (full, frag, restore):
        assert resp.status_code == 200 and "HX-Request" in resp.headers["Vary"]
    assert "<html" in full.get_data(as_text=True) and "<html" in restore.get_data(as_text=True)
    fragment = frag.get_data(as_text=True)
    assert "<html" not in fragment and 'class="count"' in fragment


def test_htmx_is_vendored_at_a_pinned_version(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assert "/static/vendor/htmx-2.0.8.min.js" in page and "unpkg" not in page and "cdn" not in page.lower()
    assert client.get("/static/vendor/htmx-2.0.8.min.js").status_code == 200


def test_language_switch_keeps_the_user_on_the_page(client: FlaskClient) -> None:
    browser = Browser(client)
    browser.get("/measures")
    resp = browser.post("/lang", {"code": "ko", "next": "/measures"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/measures")
    assert "lang=ko" in resp.headers.get("Set-Cookie", "")
    assert browser.post("/lang", {"code": "xx", "next": "/"}).status_code == 400
    evil = browser.post("/lang", {"code": "en", "next": "//evil.example"})
    assert "evil.example" not in evil.headers["Location"]
    assert client.post("/lang", data={"code": "en"}).status_code == 400  # no CSRF token: refused


def test_a_signed_in_user_keeps_the_language_on_the_account(app, client: FlaskClient) -> None:  # type: ignore[no-untyped-def]
    user = make_user(app, "enterprise")
    browser = Browser(client)
    browser.login(user["email"])
    browser.post("/lang", {"code": "en", "next": "/"})
    client.delete_cookie("lang")
    assert '<html lang="en"' in browser.get("/measures").get_data(as_text=True)  # from the account, not a cookie


@pytest.mark.parametrize("target", ["/%09/evil.example/", "/%0a/evil.example", "/\\evil.example", "//evil.example",
                                    "https://evil.example/", "javascript:alert(1)", " /measures"])
def test_next_targets_never_leave_the_site(app, client: FlaskClient, target: str) -> None:  # type: ignore[no-untyped-def]
    """One helper for every `next`: tabs and line breaks that browsers drop cannot turn a path into a host."""
    resp = Browser(client).post("/lang", {"code": "zh", "next": unquote(target)})  # a form field arrives decoded
    assert resp.status_code == 303 and resp.headers["Location"] == "/"
    user = make_user(app, "enterprise")
    browser = Browser(client)
    browser.get("/login")
    login = browser.post(f"/login?next={target}", {"email": user["email"], "password": PASSWORD})
    assert login.status_code == 302 and login.headers["Location"] == "/app"  # home, not the target
