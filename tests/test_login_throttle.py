"""Login throttling keyed on account and on client, behind an optional trusted proxy (issue 13)."""

from __future__ import annotations

import logging
import secrets
from typing import Any

import pytest
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from portal import create_app
from tests.factories import PASSWORD, Browser, make_user, settings_for_tests


def _app(database_url: str, **settings: Any) -> Flask:
    return create_app(settings_for_tests(DATABASE_URL=database_url, **settings))


def _attempt(browser: Browser, email: str, remote: str = "127.0.0.1", password: str = "wrong-pass-123",  # noqa: S107
             **headers: str) -> int:
    return browser.post("/login", {"email": email, "password": password},
                        environ_base={"REMOTE_ADDR": remote}, headers=headers).status_code


def test_eleventh_failed_login_for_one_account_is_refused_from_any_address(database_url: str) -> None:
    app = _app(database_url, LOGIN_RATE_LIMIT="10 per minute", LOGIN_CLIENT_RATE_LIMIT="1000 per minute")
    user = make_user(app, "enterprise")
    browser = Browser(app.test_client())
    codes = [_attempt(browser, user["email"], f"198.51.100.{i}") for i in range(1, 12)]
    assert codes == [401] * 10 + [429]
    # The same account spelled differently is the same account; the right password waits too.
    assert _attempt(browser, "  " + user["email"].upper(), "203.0.113.50", PASSWORD) == 429
    # Another account from a fresh address is unaffected.
    assert _attempt(browser, "someone-else@example.com", "203.0.113.51") == 401


def test_per_client_limit_still_holds_across_accounts(database_url: str) -> None:
    app = _app(database_url, LOGIN_RATE_LIMIT="1000 per minute", LOGIN_CLIENT_RATE_LIMIT="5 per minute")
    browser = Browser(app.test_client())
    codes = [_attempt(browser, f"guess{i}@example.com", "198.51.100.9") for i in range(7)]
    assert codes == [401] * 5 + [429, 429]
    assert _attempt(browser, "guess99@example.com", "198.51.100.10") == 401  # another client


def test_successful_logins_from_one_office_address_are_not_counted(database_url: str) -> None:
    app = _app(database_url, LOGIN_RATE_LIMIT="1000 per minute", LOGIN_CLIENT_RATE_LIMIT="3 per minute")
    users = [make_user(app, "enterprise") for _ in range(5)]
    for user in users:  # five colleagues behind one NAT address sign in
        browser = Browser(app.test_client())
        assert _attempt(browser, user["email"], "192.0.2.1", PASSWORD) == 302


def test_forwarded_for_is_ignored_without_trusted_proxies(database_url: str) -> None:
    app = _app(database_url, LOGIN_RATE_LIMIT="1000 per minute", LOGIN_CLIENT_RATE_LIMIT="3 per minute")
    assert app.config["TRUSTED_PROXIES"] == 0 and not isinstance(app.wsgi_app, ProxyFix)
    browser = Browser(app.test_client())
    # A client cannot escape its counter by inventing X-Forwarded-For values.
    codes = [_attempt(browser, f"a{i}@example.com", "198.51.100.20", **{"X-Forwarded-For": f"10.9.0.{i}"})
             for i in range(5)]
    assert codes == [401, 401, 401, 429, 429]


def test_trusted_proxy_gives_each_client_its_own_counter(database_url: str) -> None:
    app = _app(database_url, LOGIN_RATE_LIMIT="1000 per minute", LOGIN_CLIENT_RATE_LIMIT="3 per minute",
               TRUSTED_PROXIES=1)
    assert isinstance(app.wsgi_app, ProxyFix)
    browser = Browser(app.test_client())
    proxy = "10.0.0.2"  # every request arrives from the reverse proxy
    spread = [_attempt(browser, f"b{i}@example.com", proxy, **{"X-Forwarded-For": f"198.51.100.{i}"})
              for i in range(6)]
    assert spread == [401] * 6  # different users behind the proxy do not share one counter
    one = [_attempt(browser, f"c{i}@example.com", proxy, **{"X-Forwarded-For": "203.0.113.7"}) for i in range(4)]
    assert one == [401, 401, 401, 429]
    # Only the proxy's own entry is believed: a client-supplied first hop does not reset the count.
    spoofed = _attempt(browser, "d@example.com", proxy, **{"X-Forwarded-For": "1.2.3.4, 203.0.113.7"})
    assert spoofed == 429


def _production(database_url: str, **settings: Any) -> Flask:
    return _app(database_url, PRODUCTION=True, SECRET_KEY=secrets.token_hex(32),
                PUBLIC_BASE_URL="https://portal.example.cn", PASSWORD_HASH_METHOD="scrypt", **settings)


def test_production_warns_when_throttling_is_not_shared(database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="portal"):
        _production(database_url, RATELIMIT_STORAGE_URI="memory://")
    assert any("memory://" in r.getMessage() and "REDIS_URL" in r.getMessage() for r in caplog.records)


def test_no_warning_with_shared_storage_or_in_development(database_url: str,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="portal"):
        _production(database_url, RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0")
        _app(database_url, RATELIMIT_STORAGE_URI="memory://")
    assert not [r for r in caplog.records if "RATELIMIT_STORAGE_URI" in r.getMessage()]
