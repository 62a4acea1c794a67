"""Sessions and remember-me cookies name one device each; logout, password change and the account page end them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask
from sqlmodel import Session, select

from portal.extensions import db
from portal.models import DeviceToken, User, UserSession
from portal.services import devices
from tests.factories import PASSWORD, Browser, make_user

REMEMBER = "remember_token"


def signed_in(app: Flask, email: str, remember: bool = False) -> Browser:
    browser = Browser(app.test_client())
    browser.get("/login")
    data: dict[str, Any] = {"email": email, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    assert browser.post("/login", data).status_code == 302
    browser.get("/app")  # a fresh CSRF token for the signed-in session
    return browser


def cookie(browser: Browser, name: str) -> str | None:
    found = browser.client.get_cookie(name)
    return found.value if found else None


def replay(app: Flask, cookies: dict[str, str], path: str = "/app") -> int:
    """A stranger's client presenting copied cookies."""
    client = app.test_client()
    for name, value in cookies.items():
        client.set_cookie(name, value)
    return client.get(path).status_code


def stolen(browser: Browser) -> dict[str, str]:
    return {name: value for name in ("session", REMEMBER) if (value := cookie(browser, name))}


def test_a_session_cookie_copied_before_logout_is_dead_after_it(app: Flask) -> None:
    user = make_user(app, "enterprise")
    browser = signed_in(app, user["email"])
    copy = stolen(browser)
    assert replay(app, copy) == 200
    browser.post("/logout", {})
    assert replay(app, copy) == 302  # to the login page, not the enterprise home


def test_remember_me_is_per_device_and_ends_with_logout(app: Flask) -> None:
    user = make_user(app, "enterprise")
    first, second = signed_in(app, user["email"], remember=True), signed_in(app, user["email"], remember=True)
    one, two = cookie(first, REMEMBER), cookie(second, REMEMBER)
    assert one and two and one != two  # no longer "<id>|HMAC(id)", the same at every login
    only_remember = {REMEMBER: one}
    assert replay(app, only_remember) == 200  # restores the session on a browser without one
    first.post("/logout", {})
    assert replay(app, only_remember) == 302
    assert replay(app, {REMEMBER: two}) == 200  # the other device is untouched


def test_password_change_signs_out_every_other_device(app: Flask) -> None:
    user = make_user(app, "enterprise")
    here, there = signed_in(app, user["email"]), signed_in(app, user["email"], remember=True)
    theirs = stolen(there)
    new_password = "another-horse-43"
    resp = here.post("/password", {"current_password": PASSWORD, "new_password": new_password,
                                   "new_password2": new_password})
    assert resp.status_code == 302
    assert here.get("/app").status_code == 200  # this device stays signed in
    assert there.get("/app").status_code == 302
    assert replay(app, theirs) == 302 and replay(app, {REMEMBER: theirs[REMEMBER]}) == 302


def test_the_account_page_lists_devices_and_ends_one(app: Flask) -> None:
    user = make_user(app, "enterprise")
    phone = Browser(app.test_client())
    phone.client.environ_base["HTTP_USER_AGENT"] = "Mozilla/5.0 (Linux; Android 14) Chrome/131 Mobile Safari/537"
    phone.get("/login")
    phone.login(user["email"])
    desktop = signed_in(app, user["email"])
    page = desktop.get("/account").get_data(as_text=True)
    assert "Chrome · Android" in page and "（本机）" in page
    with app.app_context(), Session(db.engine) as session:
        phone_row = session.exec(select(UserSession).where(UserSession.user_id == user["id"])
                                 .order_by(UserSession.id)).first()
    assert desktop.post(f"/account/sessions/{phone_row.id}/end", {}).status_code == 302
    assert phone.get("/app").status_code == 302
    assert desktop.get("/app").status_code == 200
    other = make_user(app, "enterprise")
    stranger = signed_in(app, other["email"])
    assert stranger.post(f"/account/sessions/{phone_row.id}/end", {}).status_code == 404


def test_sign_out_everywhere(app: Flask) -> None:
    user = make_user(app, "reviewer", unit="sp-zhonghan-station")
    devices = [signed_in(app, user["email"], remember=True) for _ in range(3)]
    copies = [stolen(d) for d in devices]
    resp = devices[0].post("/account/sessions/end-all", {})
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert all(replay(app, c, "/review/") == 302 for c in copies)


def test_disabling_a_user_ends_their_devices(app: Flask) -> None:
    user = make_user(app, "enterprise")
    browser = signed_in(app, user["email"], remember=True)
    copy = stolen(browser)
    with app.app_context(), db.standalone() as session:
        stored = session.get(User, user["id"])
        assert devices.end_sessions(session, stored, "disabled") == 1
    assert replay(app, copy) == 302


def test_an_idle_device_expires(app: Flask) -> None:
    user = make_user(app, "enterprise")
    browser = signed_in(app, user["email"])
    with app.app_context(), db.standalone() as session:
        row = session.exec(select(UserSession).where(UserSession.user_id == user["id"])).one()
        row.last_seen_at = dt.datetime.now(dt.UTC) - devices.SESSION_IDLE_LIMIT - dt.timedelta(minutes=1)
        session.add(row)
        session.commit()
    assert browser.get("/app").status_code == 302


def test_only_the_secret_digest_is_stored(app: Flask) -> None:
    user = make_user(app, "enterprise")
    browser = signed_in(app, user["email"], remember=True)
    remember = cookie(browser, REMEMBER) or ""
    secret = remember.split("|")[0].split(":", 1)[1]
    with app.app_context(), Session(db.engine) as session:
        row = session.exec(select(UserSession).where(UserSession.user_id == user["id"])).one()
    assert secret and secret not in row.secret_hash and len(row.secret_hash) == 64


def test_a_read_that_refreshes_its_device_after_another_write_does_not_fail(app: Flask) -> None:
    """Seen under load on SQLite: a GET touching its device row after another request had committed got
    "database is locked" (a read snapshot cannot become a write) and answered 500."""
    from portal.services import tokens

    user = make_user(app, "enterprise")
    with app.app_context(), db.standalone() as session:
        stored = session.get(User, user["id"])
        assert stored is not None
        login_id = devices.start_session(session, stored)
        token, plaintext = tokens.issue(session, stored, "台式机同步", "read")
        long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
        for row in session.exec(select(UserSession).where(UserSession.user_id == user["id"])):
            row.last_seen_at = long_ago
            session.add(row)
        session.commit()
    with app.test_request_context("/app", method="GET"):
        db.session.exec(select(User)).first()  # the request's read snapshot begins
        with db.standalone() as other:  # another request commits meanwhile
            other_user = other.get(User, user["id"])
            assert other_user is not None
            other_user.name = "改过的名字"
            other.add(other_user)
            other.commit()
        loaded = devices.load_session_user(login_id)
        assert loaded is not None and loaded.id == user["id"]
        assert tokens.authenticate(db.session, plaintext) is not None  # the API's device tokens likewise
    with app.app_context(), Session(db.engine) as session:
        row = session.exec(select(UserSession).where(UserSession.user_id == user["id"])).one()
        used = session.get(DeviceToken, token.id)
        assert used is not None and used.last_used_at is not None
    for when in (row.last_seen_at, used.last_used_at):
        assert (when if when.tzinfo else when.replace(tzinfo=dt.UTC)) > long_ago + dt.timedelta(minutes=5)
