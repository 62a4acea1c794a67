"""Production refuses weak settings; development derives the public address from the request (issue 13)."""

from __future__ import annotations

import io
import re
import secrets
from typing import Any

import pytest
from flask import Flask
from pypdf import PdfReader

from portal import create_app
from portal.config import ProductionConfig, weak_password_hash, weak_secret_key
from tests.factories import PASSWORD, Browser, make_user

STRONG = "9c1f4e7a2b8d3c6f0e5a7b9d1c3e5f7a2b4d6f8e0a1c3e5b7d9f1a3c5e7b9d0f"
BASE = "https://portal.example.cn"


@pytest.fixture()
def production(monkeypatch: pytest.MonkeyPatch, database_url: str):  # type: ignore[no-untyped-def]
    """Start the portal as `PORTAL_ENV=production` would, with SECRET_KEY from the environment."""
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setattr(ProductionConfig, "PUBLIC_BASE_URL", "")  # whatever this machine's environment says

    def start(secret_key: str | None = STRONG, **settings: Any) -> Flask:
        if secret_key is None:
            monkeypatch.delenv("SECRET_KEY", raising=False)
        else:
            monkeypatch.setenv("SECRET_KEY", secret_key)
        return create_app({"DATABASE_URL": database_url, **settings})

    return start


@pytest.mark.parametrize("key", [
    "short-key",                                    # fewer than 32 characters
    "a" * 64,                                       # one repeated character
    "abab" * 16,                                    # two characters
    "0123456789" * 4,                               # a short pattern repeated
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaabcdefghijk",  # almost all one character
    "please-change-me-before-going-live-2026!",     # a placeholder
    "test-secret-key-not-for-production",           # the test suite's key
])
def test_production_refuses_a_weak_secret_key(production, key: str) -> None:  # type: ignore[no-untyped-def]
    assert weak_secret_key(key)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        production(key, PUBLIC_BASE_URL=BASE)


def test_production_refuses_a_missing_secret_key(production) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        production(None, PUBLIC_BASE_URL=BASE)


@pytest.mark.parametrize("key", [secrets.token_hex(32), secrets.token_urlsafe(32), secrets.token_hex(16), STRONG])
def test_generated_keys_are_accepted(key: str) -> None:
    assert weak_secret_key(key) is None


def test_production_requires_public_base_url(production) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RuntimeError, match="PUBLIC_BASE_URL must be set"):
        production()
    with pytest.raises(RuntimeError, match="PUBLIC_BASE_URL must be set"):
        production(PUBLIC_BASE_URL="")
    with pytest.raises(RuntimeError, match="https://"):
        production(PUBLIC_BASE_URL="http://127.0.0.1:5000")


@pytest.mark.parametrize("method", ["pbkdf2:sha256:1000", "pbkdf2:sha1:2000000", "scrypt:1024:8:1", "scrypt:32768:1:1",
                                    "md5", "scrypt:x", ""])
def test_production_refuses_a_weak_password_hash(production, method: str) -> None:  # type: ignore[no-untyped-def]
    assert weak_password_hash(method)
    with pytest.raises(RuntimeError, match="PASSWORD_HASH_METHOD"):
        production(PUBLIC_BASE_URL=BASE, PASSWORD_HASH_METHOD=method)


@pytest.mark.parametrize("method", ["scrypt", "scrypt:32768:8:1", "scrypt:65536:8:2", "pbkdf2", "pbkdf2:sha512",
                                    "pbkdf2:sha256:1000000"])
def test_strong_password_hashes_are_accepted(production, method: str) -> None:  # type: ignore[no-untyped-def]
    assert weak_password_hash(method) is None
    assert production(PUBLIC_BASE_URL=BASE, PASSWORD_HASH_METHOD=method).config["PASSWORD_HASH_METHOD"] == method


def test_production_starts_with_good_settings(production) -> None:  # type: ignore[no-untyped-def]
    app = production(PUBLIC_BASE_URL=BASE + "/")
    assert app.config["PRODUCTION"] and app.config["SESSION_COOKIE_SECURE"]
    assert app.test_client().get("/healthz").status_code == 200


def test_development_leaves_public_base_url_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    import importlib

    import portal.config

    fresh = importlib.reload(portal.config)
    try:
        assert fresh.DevelopmentConfig.PUBLIC_BASE_URL == ""
    finally:
        importlib.reload(portal.config)


def _flat_text(pdf: bytes) -> str:
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))


@pytest.mark.parametrize("host", ["http://portal.test:8123", "http://192.0.2.7:5001"])
def test_development_pdfs_carry_the_requests_address(app: Flask, host: str) -> None:
    """Not 127.0.0.1:5000 for good: the verification link and QR code use the address the user reached."""
    app.config["PUBLIC_BASE_URL"] = ""
    user = make_user(app, "enterprise")
    browser = Browser(app.test_client())
    browser.get("/login", base_url=host)
    assert browser.post("/login", {"email": user["email"], "password": PASSWORD}, base_url=host).status_code == 302
    assert browser.post("/q/answer/enterprise_name", {"enterprise_name": "地址测试企业"},
                        base_url=host).status_code == 200
    resp = browser.get("/results/report.pdf", base_url=host)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    code = resp.headers["X-Verification-Code"]
    flat = _flat_text(resp.data)
    assert f"{host}/verify/{code}" in flat
    assert "127.0.0.1:5000" not in flat


def test_configured_public_base_url_wins_over_the_request(app: Flask) -> None:
    app.config["PUBLIC_BASE_URL"] = BASE + "/"
    user = make_user(app, "enterprise")
    browser = Browser(app.test_client())
    browser.login(user["email"])
    resp = browser.get("/results/report.pdf")
    assert resp.status_code == 200
    assert f"{BASE}/verify/{resp.headers['X-Verification-Code']}" in _flat_text(resp.data)
