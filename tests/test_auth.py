"""Accounts: register, log in/out, password change, throttling, colleague invitations."""

from __future__ import annotations

import datetime as dt
import logging
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import select

from portal.extensions import db
from portal.models import AuditLog, Enterprise, Invitation, User
from portal.services import accounts
from portal.services.notifications import Mail
from tests.factories import PASSWORD, Browser, make_user, settings_for_tests


@pytest.fixture()
def mails(monkeypatch: pytest.MonkeyPatch) -> list[Mail]:
    """Every e-mail the account service sends, instead of logging it."""
    sent: list[Mail] = []
    monkeypatch.setattr(accounts, "send_mail", sent.append)
    return sent


def link_path(text: str, marker: str) -> str:
    """The path of the first link in `text` containing `marker` (as a user would click it)."""
    match = re.search(r"https?://[^/\s\"]+([^\s\"<]*" + re.escape(marker) + r"[^\s\"<]*)", text)
    assert match, f"no {marker} link in {text[:300]}"
    return match.group(1)


def _comparable(page: str) -> str:
    """A page without what differs per browser anyway (CSRF token, CSP nonce)."""
    page = re.sub(r'(name="csrf_token" value|nonce)="[^"]+"', r"\1=X", page)
    return re.sub(r'"X-CSRFToken": "[^"]+"', "X-CSRFToken=X", page)


def test_register_creates_an_unverified_enterprise_account_and_mails_a_link(browser: Browser, app: Flask,
                                                                              mails: list[Mail]) -> None:
    app.config["PASSWORD_HASH_METHOD"] = "scrypt"  # production's default (the tests' cheap one verifies it too)
    browser.get("/register")
    resp = browser.post("/register", {"enterprise_name": "吉林某药业有限公司", "name": "张三",
                                      "email": "Zhang@Example.com", "password": PASSWORD, "password2": PASSWORD})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login")
    assert "zhang@example.com" in browser.get("/login").get_data(as_text=True)  # "we sent a verification e-mail"
    with app.app_context():
        user = db.session.exec(select(User).where(User.email == "zhang@example.com")).one()
        assert user.role == "enterprise" and user.password_hash.startswith("scrypt:")
        assert PASSWORD not in user.password_hash and user.email_verified_at is None
    assert [m.to for m in mails] == ["zhang@example.com"] and "/verify-email/" in mails[0].body
    # Unverified accounts sign in and use the questionnaire; only submitting waits for the address.
    browser.login("zhang@example.com")
    assert browser.get("/app").status_code == 200


def test_register_rejects_weak_password_and_mismatch(browser: Browser) -> None:
    browser.get("/register")
    weak = browser.post("/register", {"enterprise_name": "甲", "name": "乙", "email": "a@b.cn",
                                      "password": "1234567890", "password2": "1234567890"})
    assert weak.status_code == 422 and "字母和数字" in weak.get_data(as_text=True)
    mismatch = browser.post("/register", {"enterprise_name": "甲", "name": "乙", "email": "a@b.cn",
                                          "password": PASSWORD, "password2": PASSWORD + "x"})
    assert mismatch.status_code == 422 and "不一致" in mismatch.get_data(as_text=True)


def _register(app: Flask, email: str):  # type: ignore[no-untyped-def]
    """Register from a fresh browser; returns (response, the page it leads to, the session cookie names)."""
    browser = Browser(app.test_client())
    browser.get("/register")
    resp = browser.post("/register", {"enterprise_name": "甲药业", "name": "乙", "email": email,
                                      "password": PASSWORD, "password2": PASSWORD})
    landing = browser.client.get(resp.headers["Location"]).get_data(as_text=True)
    return resp, _comparable(landing.replace(email, "EMAIL")), browser


def test_register_answers_alike_for_known_and_new_addresses(app: Flask, enterprise_user: dict,
                                                            mails: list[Mail]) -> None:
    """Defect (issue 13): /register said "该邮箱已注册" (422) for known addresses, so anyone could probe them."""
    with app.app_context():
        users_before = len(db.session.exec(select(User)).all())
        enterprises_before = len(db.session.exec(select(Enterprise)).all())
    known, known_page, known_browser = _register(app, enterprise_user["email"])
    new, new_page, new_browser = _register(app, "brand-new@example.com")
    assert known.status_code == new.status_code == 302
    assert known.headers["Location"] == new.headers["Location"]
    assert known_page == new_page and "注册申请已提交" in new_page
    # Neither browser is signed in: a session for new addresses only would tell the two apart.
    assert "/login" in known_browser.client.get("/app").headers["Location"]
    assert "/login" in new_browser.client.get("/app").headers["Location"]
    with app.app_context():
        assert len(db.session.exec(select(User)).all()) == users_before + 1  # only the new address
        assert len(db.session.exec(select(Enterprise)).all()) == enterprises_before + 1
    owner_mail = next(m for m in mails if m.to == enterprise_user["email"])
    assert "尝试用此邮箱注册" in owner_mail.body and "/verify-email/" not in owner_mail.body
    assert "/verify-email/" in next(m for m in mails if m.to == "brand-new@example.com").body


def test_register_is_throttled(database_url: str) -> None:
    from portal import create_app

    app = create_app(settings_for_tests(DATABASE_URL=database_url, REGISTER_RATE_LIMIT="2 per minute"))
    browser = Browser(app.test_client())
    browser.get("/register")
    codes = [browser.post("/register", {"enterprise_name": "甲", "name": "乙", "email": f"t{i}@example.com",
                                        "password": "short", "password2": "short"}).status_code for i in range(3)]
    assert codes == [422, 422, 429]


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


# -- invitations ----------------------------------------------------------------------------
def _invite(browser: Browser, email: str) -> str:
    """Invite `email` from the signed-in browser; returns the link's path as shown to the inviter."""
    browser.get("/invite")
    resp = browser.post("/invite", {"email": email})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    page = resp.get_data(as_text=True)
    return link_path(page.split('class="copy" readonly value="', 1)[1].split('"', 1)[0], "/invite/")


def test_second_invitation_for_an_address_is_refused_not_a_500(logged_in: Browser, app: Flask) -> None:
    """Defect (issue 13): accepting a second invitation for an address with an account raised IntegrityError."""
    first, second = _invite(logged_in, "twice@example.com"), _invite(logged_in, "twice@example.com")
    joined = Browser(app.test_client())
    joined.get(first)
    assert joined.post(first, {"name": "李四", "password": PASSWORD, "password2": PASSWORD}).status_code == 302
    again = Browser(app.test_client())
    page = again.get(second)
    assert page.status_code == 409 and "该邮箱已有账号" in page.get_data(as_text=True)
    resp = again.post(second, {"name": "李四", "password": PASSWORD, "password2": PASSWORD})
    assert resp.status_code == 409 and "请直接登录" in resp.get_data(as_text=True)
    with app.app_context():
        assert len(db.session.exec(select(User).where(User.email == "twice@example.com")).all()) == 1


def test_accepting_a_refused_invitation_in_a_race_is_a_409(app: Flask, enterprise_user: dict) -> None:
    """Two invitations accepted at the same moment: the unique e-mail turns the loser into a 409, not a 500."""
    with app.app_context():
        inviter = db.session.get(User, enterprise_user["id"])
        tokens = [accounts.invite_colleague(db.session, inviter, "race@example.com") for _ in range(2)]
        accounts.accept_invitation(db.session, tokens[0], "甲", PASSWORD)
        real_problem = accounts.invitation_problem
        try:  # as if the check ran before the other request committed
            accounts.invitation_problem = lambda session, inv: None  # type: ignore[assignment]
            with pytest.raises(accounts.LinkRefused) as refused:
                accounts.accept_invitation(db.session, tokens[1], "乙", PASSWORD)
        finally:
            accounts.invitation_problem = real_problem  # type: ignore[assignment]
        assert refused.value.status == 409


def test_inviting_a_known_address_answers_alike_and_adds_no_account(logged_in: Browser, app: Flask,
                                                                   mails: list[Mail]) -> None:
    """Defect (issue 13): /invite said "该邮箱已有账号" for known addresses."""
    existing = make_user(app, "enterprise", enterprise="另一家企业")
    logged_in.get("/invite")
    known = logged_in.post("/invite", {"email": existing["email"]})
    new = logged_in.post("/invite", {"email": "new-colleague@example.com"})
    assert known.status_code == new.status_code == 200

    def shown(resp) -> str:  # type: ignore[no-untyped-def]
        page = resp.get_data(as_text=True)
        status = page.split('role="status">', 1)[1].split("</p>", 1)[0]
        return status.replace(existing["email"], "EMAIL").replace("new-colleague@example.com", "EMAIL")

    assert shown(known) == shown(new) and "邀请已发送" in shown(new)
    assert {m.to for m in mails} == {existing["email"], "new-colleague@example.com"}
    path = link_path(next(m.body for m in mails if m.to == existing["email"]), "/invite/")
    owner = Browser(app.test_client())
    assert owner.get(path).status_code == 409
    with app.app_context():
        user = db.session.get(User, existing["id"])
        assert user.enterprise_id == existing["enterprise_id"]  # not moved to the inviter's enterprise
        assert len(db.session.exec(select(User).where(User.email == existing["email"])).all()) == 1


def test_invite_is_throttled(database_url: str) -> None:
    from portal import create_app

    app = create_app(settings_for_tests(DATABASE_URL=database_url, INVITE_RATE_LIMIT="2 per minute"))
    user = make_user(app, "enterprise")
    browser = Browser(app.test_client())
    browser.login(user["email"])
    browser.get("/invite")
    codes = [browser.post("/invite", {"email": f"c{i}@example.com"}).status_code for i in range(3)]
    assert codes == [200, 200, 429]
    assert browser.get("/invite").status_code == 200  # only POST counts


def test_invitations_expire_after_seven_days_and_can_be_sent_again(logged_in: Browser, app: Flask) -> None:
    path = _invite(logged_in, "late@example.com")
    with app.app_context():
        inv = db.session.exec(select(Invitation).where(Invitation.email == "late@example.com")).one()
        inv.created_at = inv.created_at - dt.timedelta(days=7, minutes=1)
        db.session.add(inv)
        db.session.commit()
    late = Browser(app.test_client())
    page = late.get(path)
    assert page.status_code == 410 and "7 天有效期" in page.get_data(as_text=True)
    assert late.post(path, {"name": "王五", "password": PASSWORD, "password2": PASSWORD}).status_code == 410
    fresh = _invite(logged_in, "late@example.com")
    late.get(fresh)
    assert late.post(fresh, {"name": "王五", "password": PASSWORD, "password2": PASSWORD}).status_code == 302


# -- e-mail verification --------------------------------------------------------------------
def _register_unverified(app: Flask, mails: list[Mail], email: str = "verify-me@example.com") -> tuple[Browser, str]:
    """A registered, signed-in, unverified user; returns the browser and the mailed verification path."""
    browser = Browser(app.test_client())
    browser.get("/register")
    browser.post("/register", {"enterprise_name": "吉林验证药业", "name": "周七", "email": email,
                               "password": PASSWORD, "password2": PASSWORD})
    browser.login(email)
    return browser, link_path(next(m.body for m in mails if m.to == email), "/verify-email/")


def test_unverified_enterprise_cannot_submit_until_the_link_is_confirmed(app: Flask, mails: list[Mail]) -> None:
    from tests.factories import MEASURE, ZONE_DEVICE_MAKER

    browser, path = _register_unverified(app, mails)
    with app.app_context():
        user = db.session.exec(select(User).where(User.email == "verify-me@example.com")).one()
        from portal.services import answers as answer_service

        for name, value in ZONE_DEVICE_MAKER.items():
            answer_service.save_answer(db.session, int(user.enterprise_id), user.id, name, value, None)
    assert browser.get("/results").status_code == 200
    assert browser.get(f"/results/{MEASURE}/application.pdf").status_code == 200
    assert "重新发送验证邮件" in browser.get("/app").get_data(as_text=True)
    refused = browser.get(f"/app/submissions/new/{MEASURE}")
    assert refused.status_code == 403 and "请先确认电子邮箱" in refused.get_data(as_text=True)
    assert browser.post(f"/app/submissions/new/{MEASURE}", {"unit": "x"}).status_code == 403
    # A GET (a mail scanner following the link) changes nothing.
    confirm = browser.get(path)
    assert confirm.status_code == 200 and "确认邮箱" in confirm.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, user.id).email_verified_at is None
    done = browser.post(path)
    assert done.status_code == 302 and done.headers["Location"].endswith("/app")
    with app.app_context():
        assert db.session.get(User, user.id).email_verified_at is not None
        assert db.session.exec(select(AuditLog).where(AuditLog.action == "account.verify_email")).first()
    assert browser.get(f"/app/submissions/new/{MEASURE}").status_code == 200
    assert "重新发送验证邮件" not in browser.get("/app").get_data(as_text=True)
    assert browser.post(path).status_code == 302  # a second click is harmless


def test_verification_links_that_are_forged_expired_or_for_another_address_are_refused(
        app: Flask, mails: list[Mail], monkeypatch: pytest.MonkeyPatch) -> None:
    browser, path = _register_unverified(app, mails)
    forged = path[:-3] + ("aaa" if not path.endswith("aaa") else "bbb")
    assert browser.get(forged).status_code == 400 and browser.post(forged).status_code == 400
    assert browser.get("/verify-email/not-a-token").status_code == 400
    monkeypatch.setattr(accounts, "VERIFY_EMAIL_VALID", dt.timedelta(seconds=-1))
    expired = browser.get(path)
    assert expired.status_code == 410 and "已过期" in expired.get_data(as_text=True)
    monkeypatch.undo()
    with app.app_context():  # the address changed since the link was sent: it proves nothing now
        user = db.session.exec(select(User).where(User.email == "verify-me@example.com")).one()
        user.email = "changed@example.com"
        db.session.add(user)
        db.session.commit()
    assert browser.post(path).status_code == 400


def test_resend_verification_mails_a_new_link_and_is_throttled(app: Flask, mails: list[Mail]) -> None:
    browser, _ = _register_unverified(app, mails)
    browser.get("/app")
    resp = browser.post("/verify-email/resend")
    assert resp.status_code == 302
    assert sum(1 for m in mails if m.to == "verify-me@example.com") == 2
    codes = [browser.post("/verify-email/resend").status_code for _ in range(5)]
    assert codes[-1] == 429


def test_invited_and_cli_created_accounts_count_as_verified(logged_in: Browser, app: Flask) -> None:
    path = _invite(logged_in, "invited@example.com")
    colleague = Browser(app.test_client())
    colleague.get(path)
    colleague.post(path, {"name": "郑八", "password": PASSWORD, "password2": PASSWORD})
    with app.app_context():
        for email in ("invited@example.com", make_user(app, "admin")["email"]):
            assert db.session.exec(select(User).where(User.email == email)).one().email_verified_at is not None


def test_without_smtp_the_verification_link_is_logged(browser: Browser, caplog: pytest.LogCaptureFixture) -> None:
    browser.get("/register")
    with caplog.at_level(logging.INFO, logger="portal.services.notifications"):
        browser.post("/register", {"enterprise_name": "吉林日志药业", "name": "吴九", "email": "log@example.com",
                                   "password": PASSWORD, "password2": PASSWORD})
    assert "/verify-email/" in caplog.text and "log@example.com" in caplog.text
