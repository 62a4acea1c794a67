"""Accounts, e-mails, hand-off, error pages and API errors in Korean and English (issue 14).

The Chinese interface is the source language and stays as it was; Korean and English come from the catalogs.
E-mails are written in the recipient's language when they are built (in the request), never in the worker.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import select

from portal.extensions import db
from portal.models import Notification, User
from portal.services import accounts, notifications
from portal.services.notifications import Mail
from tests.factories import PASSWORD, Browser, make_user, signed_in
from tests.i18n_pages import CJK, stray_chinese

HANGUL = re.compile(r"[\uac00-\ud7a3]")


@pytest.fixture()
def mails(monkeypatch: pytest.MonkeyPatch) -> list[Mail]:
    """Every e-mail the account service and notifications send, instead of queueing it."""
    sent: list[Mail] = []
    monkeypatch.setattr(accounts, "send_mail", sent.append)
    monkeypatch.setattr(notifications, "send_mail", sent.append)
    return sent


def _body(html: str) -> str:
    """The page's main content (the shared header and footer belong to the layout, tested elsewhere)."""
    return html.split('<main id="main">', 1)[1].split("</main>", 1)[0]


def _register(app: Flask, email: str, language: str | None, cookie: str | None = None):  # type: ignore[no-untyped-def]
    browser = Browser(app.test_client())
    if cookie:
        browser.client.set_cookie("lang", cookie)
    browser.get("/register")
    form = {"enterprise_name": "甲药业", "name": "김민준", "email": email, "password": PASSWORD, "password2": PASSWORD}
    if language:
        form["language"] = language
    return browser, browser.post("/register", form)


def test_registration_offers_the_languages_with_the_page_language_preselected(client: FlaskClient) -> None:
    client.set_cookie("lang", "en")
    page = client.get("/register").get_data(as_text=True)
    assert '<html lang="en"' in page and "Register a company account" in page
    assert re.search(r'<input type="radio" name="language" value="en" checked>', page)
    assert not re.search(r'value="ko" checked', page)
    assert 'lang="ko"><input type="radio" name="language" value="ko"> 한국어' in page
    assert stray_chinese(_body(page)) == []


def test_registering_in_korean_stores_korean_and_the_next_page_is_korean(app: Flask, mails: list[Mail]) -> None:
    browser, resp = _register(app, "kim@example.com", "ko")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login")
    assert "lang=ko" in resp.headers.get("Set-Cookie", "")
    landing = browser.client.get("/login").get_data(as_text=True)
    assert '<html lang="ko"' in landing
    assert "회원가입 신청이 접수되었습니다" in landing and "kim@example.com" in landing  # the flash, in Korean
    assert "注册申请已提交" not in landing and stray_chinese(_body(landing)) == []
    with app.app_context():
        assert db.session.exec(select(User).where(User.email == "kim@example.com")).one().language == "ko"
    # The verification e-mail speaks Korean too, link and all.
    (mail,) = mails
    assert mail.to == "kim@example.com" and "이메일 주소를 인증해 주십시오" in mail.subject
    assert "김민준 님, 안녕하십니까." in mail.body and "/verify-email/" in mail.body
    assert not CJK.search(mail.subject + mail.body)


def test_registering_from_an_english_page_without_choosing_stores_english(app: Flask, mails: list[Mail]) -> None:
    _, resp = _register(app, "page-en@example.com", None, cookie="en")
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.exec(select(User).where(User.email == "page-en@example.com")).one().language == "en"
    assert "Please confirm your e-mail address" in mails[0].subject and not CJK.search(mails[0].body)


def test_registering_in_chinese_is_unchanged(app: Flask, mails: list[Mail]) -> None:
    browser, resp = _register(app, "zhang@example.com", None)
    landing = browser.client.get(resp.headers["Location"]).get_data(as_text=True)
    assert '<html lang="zh-Hans"' in landing and "注册申请已提交。我们已向 zhang@example.com 发送邮件" in landing
    assert mails[0].subject == "【吉林医药政策服务平台】请确认您的电子邮箱"
    assert "请打开以下链接确认您的电子邮箱（3 天内有效）：" in mails[0].body
    with app.app_context():
        assert db.session.exec(select(User).where(User.email == "zhang@example.com")).one().language == "zh"


def test_a_taken_address_gets_its_owners_language_and_the_visitor_the_same_page(app: Flask, mails: list[Mail]) -> None:
    owner = make_user(app, "enterprise")
    with app.app_context():
        user = db.session.get(User, owner["id"])
        accounts.set_language(db.session, user, "en")
    known, known_resp = _register(app, owner["email"], "ko")
    new, new_resp = _register(app, "fresh@example.com", "ko")
    assert known_resp.headers["Location"] == new_resp.headers["Location"]
    assert known_resp.headers.get("Set-Cookie", "").count("lang=ko") == new_resp.headers.get("Set-Cookie", "").count(
        "lang=ko") == 1
    owner_mail = next(m for m in mails if m.to == owner["email"])
    assert "Someone tried to register with your e-mail address" in owner_mail.subject
    assert "/verify-email/" not in owner_mail.body and not CJK.search(owner_mail.body)
    assert "이메일 주소를 인증해 주십시오" in next(m for m in mails if m.to == "fresh@example.com").subject


def test_a_resent_verification_follows_the_account_language(app: Flask, mails: list[Mail]) -> None:
    browser, _ = _register(app, "resend@example.com", "en")
    browser.login("resend@example.com")
    browser.client.delete_cookie("lang")  # the account's language decides, not this browser
    page = browser.get("/app").get_data(as_text=True)
    assert "Please confirm your e-mail address" in page and "Resend verification e-mail" in page
    resp = browser.post("/verify-email/resend", {})
    assert resp.status_code == 302
    assert "A new verification e-mail has been sent to resend@example.com" in browser.get("/app").get_data(as_text=True)
    assert [m.subject for m in mails[-1:]] == ["[Jilin Pharma Policy Portal] Please confirm your e-mail address"]


def test_the_verification_page_in_english(app: Flask, mails: list[Mail]) -> None:
    _register(app, "verify-en@example.com", "en")
    path = re.search(r"https?://[^/\s]+(/verify-email/\S+)", mails[0].body).group(1)  # type: ignore[union-attr]
    reader = Browser(app.test_client())
    reader.client.set_cookie("lang", "en")
    page = reader.get(path).get_data(as_text=True)
    assert "Please confirm that" in page and "verify-en@example.com" in page
    assert stray_chinese(_body(page)) == []
    bad = reader.get("/verify-email/not-a-token")
    assert bad.status_code == 400 and "This verification link is invalid" in bad.get_data(as_text=True)


def test_an_invitation_is_mailed_in_the_inviters_language_and_joining_stores_one(app: Flask,
                                                                               mails: list[Mail]) -> None:
    inviter, browser = signed_in(app, "enterprise")
    browser.post("/lang", {"code": "ko", "next": "/invite"})
    page = browser.post("/invite", {"email": "colleague@example.com"}).get_data(as_text=True)
    assert "colleague@example.com(으)로 초대를 보냈습니다" in page and stray_chinese(_body(page)) == []
    (mail,) = mails
    assert mail.subject == "[지린 의약 정책 포털] 초대장이 도착했습니다"
    assert "님이 귀하를 기업 계정에 초대했습니다" in mail.body and "/invite/" in mail.body
    path = re.search(r"https?://[^/\s]+(/invite/\S+)", mail.body).group(1)  # type: ignore[union-attr]
    joiner = Browser(app.test_client())
    joiner.client.set_cookie("lang", "en")
    form = joiner.get(path).get_data(as_text=True)
    assert "Join a company account" in form and re.search(r'value="en" checked', form)
    resp = joiner.post(path, {"name": "Alex", "password": PASSWORD, "password2": PASSWORD, "language": "ko"})
    assert resp.status_code == 302 and "lang=ko" in resp.headers.get("Set-Cookie", "")
    with app.app_context():
        assert db.session.exec(select(User).where(User.email == "colleague@example.com")).one().language == "ko"


def test_the_account_page_changes_the_language(app: Flask) -> None:
    user, browser = signed_in(app, "enterprise")
    page = browser.get("/account").get_data(as_text=True)
    assert "界面语言" in page and re.search(r'value="zh" checked', page)
    resp = browser.post("/account/language", {"language": "en"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/account")
    assert "lang=en" in resp.headers.get("Set-Cookie", "")
    with app.app_context():
        assert db.session.get(User, user["id"]).language == "en"
    browser.client.delete_cookie("lang")
    page = browser.get("/account").get_data(as_text=True)
    assert '<html lang="en"' in page and "Interface language changed." in page and "Account and devices" in page
    assert re.search(r'value="en" checked', page)
    assert stray_chinese(_body(page)) == []
    assert browser.post("/account/language", {"language": "fr"}).status_code == 422
    assert browser.client.post("/account/language", data={"language": "ko"}).status_code == 400  # no CSRF token


def test_the_account_page_in_korean_names_devices_and_tokens(app: Flask) -> None:
    _, browser = signed_in(app, "enterprise")
    browser.post("/account/language", {"language": "ko"})
    resp = browser.post("/account/tokens", {"name": "", "scope": "read"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "토큰 이름을 입력하십시오" in html
    created = browser.post("/account/tokens", {"name": "office", "scope": "write"}).get_data(as_text=True)
    assert "읽기·쓰기" in created and "(이 기기)" in created and "알 수 없는 기기" in created
    assert stray_chinese(_body(created)) == []


@pytest.mark.parametrize(("url", "status", "words"), [
    ("/no-such-page", 404, "Page not found"),
    ("/measures/d999-99", 404, "The page you are looking for does not exist"),
])
def test_error_pages_in_english(client: FlaskClient, url: str, status: int, words: str) -> None:
    client.set_cookie("lang", "en")
    resp = client.get(url)
    page = resp.get_data(as_text=True)
    assert resp.status_code == status and words in page and "Back to the home page" in page
    assert '<html lang="en"' in page and stray_chinese(_body(page)) == []


def test_error_pages_in_korean_and_unchanged_in_chinese(client: FlaskClient) -> None:
    assert "页面不存在" in client.get("/no-such-page").get_data(as_text=True)
    client.set_cookie("lang", "ko")
    page = client.get("/no-such-page").get_data(as_text=True)
    assert "페이지를 찾을 수 없음" in page and "홈으로 돌아가기" in page and stray_chinese(_body(page)) == []
    csrf = client.post("/login", data={"email": "a@b.cn", "password": "x"})
    assert csrf.status_code == 400 and "CSRF" in csrf.get_data(as_text=True)
    assert "페이지가 만료되었거나" in csrf.get_data(as_text=True)


def test_a_503_without_words_of_its_own_is_translated(app: Flask) -> None:
    from flask import abort

    @app.get("/test-unavailable")
    def unavailable():  # type: ignore[no-untyped-def]
        abort(503)

    client = app.test_client()
    client.set_cookie("lang", "en")
    page = client.get("/test-unavailable").get_data(as_text=True)
    assert "Service unavailable" in page and "under maintenance" in page


def test_login_errors_and_throttle_in_english(client: FlaskClient) -> None:
    browser = Browser(client)
    client.set_cookie("lang", "en")
    page = browser.get("/login").get_data(as_text=True)
    assert "Keep me signed in on this device" in page and stray_chinese(_body(page)) == []
    wrong = browser.post("/login", {"email": "nobody@example.com", "password": "wrong-password-1"})
    assert wrong.status_code == 401 and "Incorrect e-mail address or password." in wrong.get_data(as_text=True)


def test_the_weak_password_refusal_in_korean(client: FlaskClient) -> None:
    browser = Browser(client)
    client.set_cookie("lang", "ko")
    browser.get("/register")
    weak = browser.post("/register", {"enterprise_name": "甲", "name": "乙", "email": "a@b.cn",
                                      "password": "1234567890", "password2": "1234567890"})
    assert weak.status_code == 422 and "문자와 숫자" in weak.get_data(as_text=True)
    mismatch = browser.post("/register", {"enterprise_name": "甲", "name": "乙", "email": "a@b.cn",
                                          "password": PASSWORD, "password2": PASSWORD + "x"})
    assert "두 번 입력한 비밀번호가 일치하지 않습니다." in mismatch.get_data(as_text=True)


def test_handoff_pages_in_korean_and_english(app: Flask) -> None:
    desktop = Browser(app.test_client())
    desktop.client.set_cookie("lang", "ko")
    page = desktop.get("/link").get_data(as_text=True)
    assert "방법 1: 휴대폰으로 확인" in page and "휴대폰의 확인을 기다리는 중" in page
    assert stray_chinese(_body(page)) == [], stray_chinese(_body(page))
    bad = desktop.post("/link/enter", {"code": "abc"})
    assert bad.status_code == 400 and "코드 형식이 올바르지 않습니다" in bad.get_data(as_text=True)
    _, phone = signed_in(app, "enterprise")
    phone.client.set_cookie("lang", "en")
    share = phone.post("/link/share", {}).get_data(as_text=True)
    assert "Valid until" in share and "Do not share this code" in share
    refused = phone.post("/link/approve", {"code": "ABCD-EFGH"})
    assert refused.status_code == 422 and "This code is not valid" in refused.get_data(as_text=True)


def test_api_errors_follow_accept_language_and_default_to_chinese(app: Flask) -> None:
    _, browser = signed_in(app, "enterprise")
    zh = browser.client.get("/api/v1/changes?since=x").get_json()
    assert zh["error"].startswith("since 应为非负整数") and zh["status"] == 400
    en = browser.client.get("/api/v1/changes?since=x", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_json()
    assert en == {"error": "since must be a non-negative integer (the next_cursor you last received; 0 for a first "
                           "sync).", "status": 400}
    anonymous = app.test_client()
    ko = anonymous.post("/api/v1/match", data=b"{", content_type="application/json",
                        headers={"Accept-Language": "ko"}).get_json()
    assert ko["error"] == "요청 본문이 올바른 JSON이 아닙니다." and ko["problems"][0]["field"] == ""
    assert anonymous.get("/api/v1/me", headers={"Accept-Language": "en"}).get_json()["error"] == \
        "Not signed in, or your sign-in has expired"
    assert anonymous.get("/api/v1/me").get_json()["error"] == "未登录或登录已过期"


def test_notifications_are_mailed_in_each_recipients_language(app: Flask, mails: list[Mail]) -> None:
    ko_user = make_user(app, "enterprise")
    zh_user = make_user(app, "enterprise")
    with app.app_context():
        ko = db.session.get(User, ko_user["id"])
        accounts.set_language(db.session, ko, "ko")
        zh = db.session.get(User, zh_user["id"])
        from flask_babel import gettext

        sent = notifications.notify(db.session, [ko, zh], lambda: gettext("界面语言已更改。"), "/app")
        db.session.commit()
        assert sent == 2
        stored = {n.user_id: n.message for n in db.session.exec(select(Notification))}
    assert stored == {ko_user["id"]: "화면 언어를 변경했습니다.", zh_user["id"]: "界面语言已更改。"}
    by_to = {m.to: m for m in mails}
    assert by_to[ko_user["email"]].subject == "[지린 의약 정책 포털] 화면 언어를 변경했습니다."
    assert "자동으로 발송되었습니다" in by_to[ko_user["email"]].body and HANGUL.search(by_to[ko_user["email"]].body)
    assert by_to[zh_user["email"]].subject == "【吉林医药政策服务平台】界面语言已更改。"
    assert "此邮件由吉林省医药产业政策自助服务平台自动发送" in by_to[zh_user["email"]].body
