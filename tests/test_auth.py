"""Accounts: register, log in/out, password change, throttling, colleague invitations."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import select

from portal.extensions import db
from portal.models import AuditLog, User
from tests.conftest import PASSWORD, Browser, make_user, settings_for_tests


def test_register_creates_enterprise_and_signs_in(browser: Browser, app: Flask) -> None:
    browser.get("/register")
    resp = browser.post("/register", {"enterprise_name": "吉林某药业有限公司", "name": "张三",
                                      "email": "Zhang@Example.com", "password": PASSWORD, "password2": PASSWORD})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/q")
    assert browser.get("/app").status_code == 200
    with app.app_context():
        user = db.session.exec(select(User).where(User.email == "zhang@example.com")).one()
        assert user.role == "enterprise" and user.password_hash.startswith("scrypt:")
        assert PASSWORD not in user.password_hash


def test_register_rejects_weak_password_and_mismatch(browser: Browser) -> None:
    browser.get("/register")
    weak = browser.post("/register", {"enterprise_name": "甲", "name": "乙", "email": "a@b.cn",
                                      "password": "1234567890", "password2": "1234567890"})
    assert weak.status_code == 422 and "字母和数字" in weak.get_data(as_text=True)
    mismatch = browser.post("/register", {"enterprise_name": "甲", "name": "乙", "email": "a@b.cn",
                                          "password": PASSWORD, "password2": PASSWORD + "x"})
    assert mismatch.status_code == 422 and "不一致" in mismatch.get_data(as_text=True)


def test_duplicate_email_is_refused(browser: Browser, enterprise_user: dict) -> None:
    browser.get("/register")
    resp = browser.post("/register", {"enterprise_name": "甲", "name": "乙", "email": enterprise_user["email"],
                                      "password": PASSWORD, "password2": PASSWORD})
    assert resp.status_code == 422 and "已注册" in resp.get_data(as_text=True)


def test_wrong_password_and_unknown_user_look_the_same(browser: Browser, enterprise_user: dict) -> None:
    browser.get("/login")
    a = browser.post("/login", {"email": enterprise_user["email"], "password": "wrong-password-1"})
    b = browser.post("/login", {"email": "nobody@example.com", "password": "wrong-password-1"})
    assert a.status_code == b.status_code == 401
    assert "邮箱或密码不正确" in a.get_data(as_text=True) and "邮箱或密码不正确" in b.get_data(as_text=True)


def test_logout_requires_post_and_ends_the_session(logged_in: Browser) -> None:
    assert logged_in.client.get("/logout").status_code == 405
    resp = logged_in.post("/logout")
    assert resp.status_code == 302
    assert "/login" in logged_in.get("/app").headers["Location"]


def test_login_redirect_only_to_local_paths(browser: Browser, enterprise_user: dict) -> None:
    browser.get("/login")
    resp = browser.post("/login?next=//evil.example/x", {"email": enterprise_user["email"], "password": PASSWORD})
    assert resp.status_code == 302 and "evil.example" not in resp.headers["Location"]


def test_login_is_throttled(database_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from portal import create_app

    app = create_app(settings_for_tests(DATABASE_URL=database_url, LOGIN_RATE_LIMIT="3 per minute"))
    browser = Browser(app.test_client())
    browser.get("/login")
    codes = [browser.post("/login", {"email": "x@example.com", "password": "bad-pass-123"}).status_code
             for _ in range(5)]
    assert codes[:3] == [401, 401, 401] and codes[3:] == [429, 429]
    assert "操作过于频繁" in browser.post("/login", {"email": "x@example.com", "password": "y"}).get_data(as_text=True)


def test_change_password(logged_in: Browser, enterprise_user: dict, app: Flask) -> None:
    logged_in.get("/password")
    bad = logged_in.post("/password", {"current_password": "nope", "new_password": "new-secret-99",
                                       "new_password2": "new-secret-99"})
    assert bad.status_code == 422
    ok = logged_in.post("/password", {"current_password": PASSWORD, "new_password": "new-secret-99",
                                      "new_password2": "new-secret-99"})
    assert ok.status_code == 302
    fresh = Browser(app.test_client())
    fresh.login(enterprise_user["email"], "new-secret-99")


def test_invited_colleague_joins_the_same_enterprise(logged_in: Browser, enterprise_user: dict, app: Flask) -> None:
    logged_in.get("/invite")
    resp = logged_in.post("/invite", {"email": "colleague@example.com"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    link = page.split('class="copy" readonly value="', 1)[1].split('"', 1)[0]
    path = "/" + link.split("/", 3)[3]
    colleague = Browser(app.test_client())
    colleague.get(path)
    joined = colleague.post(path, {"name": "李四", "password": PASSWORD, "password2": PASSWORD})
    assert joined.status_code == 302
    with app.app_context():
        user = db.session.exec(select(User).where(User.email == "colleague@example.com")).one()
        assert user.enterprise_id == enterprise_user["enterprise_id"]
        actions = {a.action for a in db.session.exec(select(AuditLog))}
        assert {"account.invite", "account.accept_invite"} <= actions
    again = Browser(app.test_client())
    assert again.get(path).status_code == 404  # one use only


def test_reviewer_cannot_open_enterprise_pages(app: Flask, client: FlaskClient) -> None:
    reviewer = make_user(app, "reviewer", unit="sp-zhonghan-station")
    browser = Browser(client)
    browser.login(reviewer["email"])
    assert browser.get("/app").status_code == 403
    assert browser.get("/review/").status_code == 200
