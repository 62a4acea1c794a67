"""Every route declares an access rule, and every rule is enforced for every kind of user."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from portal.views.access import RULES
from tests.factories import Browser, make_user

# Sample values for URL arguments; the point is the access decision, not the object.
SAMPLE_ARGS = {"measure_id": "d003-01", "document_id": "d003", "unit_id": "sp-zhonghan-station",
               "code": "identity", "name": "location", "token": "not-a-token", "submission_id": 999999,
               "attachment_id": 999999, "filename": "css/portal.css", "token_id": 999999, "session_id": 999999}
IDENTITIES = ("anonymous", "enterprise", "reviewer", "admin")


def routes(app: Flask) -> list[tuple[str, str, str]]:
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((rule.endpoint, rule.rule, method))
    return out


def test_every_view_declares_an_access_rule(app: Flask) -> None:
    missing = [endpoint for endpoint, _, _ in routes(app)
               if getattr(app.view_functions[endpoint], "access_rule", None) not in RULES]
    assert missing == []


def _browser_as(app: Flask, identity: str) -> Browser:
    browser = Browser(app.test_client())
    browser.get("/login")
    if identity != "anonymous":
        user = make_user(app, identity, unit="sp-zhonghan-station" if identity == "reviewer" else None)
        browser.login(user["email"])
        browser.get("/")  # fresh CSRF token for the signed-in session
    return browser


def _allowed(rule: str, identity: str) -> bool:
    if rule == "public":
        return True
    if rule == "login":
        return identity != "anonymous"
    return identity == rule


def test_access_matrix(app: Flask) -> None:
    """Walk url_map as each identity: denied means 403 (signed in) or a redirect to login."""
    failures: list[Any] = []
    browsers = {identity: _browser_as(app, identity) for identity in IDENTITIES}
    with app.test_request_context():
        from flask import url_for

        targets = []
        for endpoint, rule, method in routes(app):
            args = {k: v for k, v in SAMPLE_ARGS.items() if f"<{k}>" in rule or f":{k}>" in rule}
            targets.append((endpoint, method, url_for(endpoint, **args),
                            app.view_functions[endpoint].access_rule))
    for endpoint, method, url, rule in targets:
        if endpoint in ("auth.logout", "account.end_all_devices"):
            continue  # would end the session of the browser under test; covered in test_auth, test_sessions
        for identity, browser in browsers.items():
            if method == "GET":
                resp = browser.get(url)
            elif method == "POST":
                resp = browser.post(url, {})
            else:
                resp = browser.client.open(url, method=method, data={"csrf_token": browser.token})
            # Pages redirect to the login page; API, htmx and script requests get 401 with the login URL.
            denied = resp.status_code == 403 or (resp.status_code == 302
                                                 and "/login" in resp.headers.get("Location", "")) \
                or (resp.status_code == 401 and "/login" in resp.headers.get("X-Login-URL", ""))
            if _allowed(rule, identity) == denied or resp.status_code >= 500:
                failures.append((endpoint, method, identity, resp.status_code))
    assert failures == []


@pytest.mark.parametrize("identity", ["enterprise", "reviewer", "admin"])
def test_role_homes_render(app: Flask, identity: str) -> None:
    browser = _browser_as(app, identity)
    home = {"enterprise": "/app", "reviewer": "/review/", "admin": "/admin/"}[identity]
    resp = browser.get(home)
    assert resp.status_code == 200
    assert "退出" in resp.get_data(as_text=True)
