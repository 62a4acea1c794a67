"""Hand-off between phone and desktop (issue 11 §4): two test clients play the two browsers."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any

import pytest
from flask import Flask
from sqlmodel import select

from portal.extensions import db
from portal.models import AuditLog, HandoffCode
from portal.services import handoff as service
from tests.factories import PASSWORD, Browser, make_user, signed_in

HX = {"HX-Request": "true"}
GARBAGE = ["", "abc", "ABCD-EFG", "ABCD-EFGHJ", "0000-0000", "OOOO-IIII", "ABCD-EFG!", "代码代码代码代码",
           "x" * 5000, "ABCD\nEFGH", "../../etc/passwd"]


def _browser(app: Flask) -> Browser:
    return Browser(app.test_client())


def _phone(app: Flask, role: str = "enterprise") -> tuple[Browser, dict[str, Any]]:
    user, phone = signed_in(app, role, unit="sp-zhonghan-station" if role == "reviewer" else None)
    return phone, user


def _code_on(html: str) -> str:
    match = re.search(r'class="handoff-code"[^>]*>([A-Z0-9]{4}-[A-Z0-9]{4})<', html)
    assert match, "page shows no code"
    return match.group(1)


def _signed_in(browser: Browser) -> bool:
    return browser.client.get("/account").status_code == 200


def _audit(app: Flask) -> list[tuple[str, dict[str, Any]]]:
    import json

    with app.app_context():
        rows = db.session.exec(select(AuditLog).where(AuditLog.object_type == "handoffcode").order_by(AuditLog.id))
        return [(a.action, json.loads(a.after_json or "{}")) for a in rows]


def _row(app: Flask, code: str) -> HandoffCode:
    with app.app_context():
        return db.session.exec(select(HandoffCode).where(HandoffCode.code_hash == service.digest(
            service.normalise(code) or ""))).one()


def _shift_clock(monkeypatch: pytest.MonkeyPatch, delta: dt.timedelta) -> None:
    real = service.utcnow
    monkeypatch.setattr(service, "clock", lambda: real() + delta)


def test_codes_are_unambiguous_and_typed_loosely() -> None:
    assert not set("0O1IL") & set(service.ALPHABET)
    assert service.normalise("abcd-efgh") == "ABCDEFGH"
    assert service.normalise(" abcd efgh ") == "ABCDEFGH"
    assert service.normalise("ABCDEFGH") == "ABCDEFGH"
    assert service.normalise("ABCD-EFG0") is None and service.normalise("ABC") is None
    assert service.grouped("ABCDEFGH") == "ABCD-EFGH"


def test_desktop_shows_phone_approves(app: Flask) -> None:
    desktop = _browser(app)
    page = desktop.get("/link")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    code = _code_on(html)
    assert '<svg' in html and 'class="qr"' in html and 'hx-trigger="every 2s"' in html
    assert "我已在手机上确认，继续" in html
    assert desktop.get("/link").get_data(as_text=True).count(code) == 1  # a reload shows the same code
    waiting = desktop.get("/link/status", headers=HX)
    assert waiting.status_code == 200 and 'hx-trigger="every 2s"' in waiting.get_data(as_text=True)

    phone, user = _phone(app)
    shown = phone.get(f"/link/approve?code={code}")
    assert shown.status_code == 200
    body = shown.get_data(as_text=True)
    assert f'value="{code}"' in body and "确认在这台电脑上登录" in body and user["email"] in body
    # The GET showed a form and nothing else: the desktop is still waiting and not signed in.
    assert _row(app, code).approved_at is None
    assert 'hx-trigger="every 2s"' in desktop.get("/link/status", headers=HX).get_data(as_text=True)
    assert not _signed_in(desktop)

    done = phone.post("/link/approve", {"code": code})
    assert done.status_code == 200 and "已确认" in done.get_data(as_text=True)
    polled = desktop.get("/link/status", headers=HX)
    assert polled.headers["HX-Redirect"] == "/app"
    assert _signed_in(desktop)
    assert _row(app, code).consumed_at is not None
    assert [a for a, _ in _audit(app)] == ["handoff.create", "handoff.approve", "handoff.consume"]

    # Both devices now resume at the same step of the same draft.
    assert phone.post("/q/answer/location", {"location": "zhonghan_zone", "v__location": "0"}).status_code == 200
    assert desktop.client.get("/q").headers["Content-Location"] == phone.client.get("/q").headers["Content-Location"]
    assert "zhonghan_zone" in desktop.get("/q/location").get_data(as_text=True)


def test_no_js_continue_button(app: Flask) -> None:
    desktop = _browser(app)
    code = _code_on(desktop.get("/link").get_data(as_text=True))
    early = desktop.get("/link/status")
    assert early.status_code == 200 and "还没有确认" in early.get_data(as_text=True)
    assert _code_on(early.get_data(as_text=True)) == code  # same code still shown
    phone, _ = _phone(app, "reviewer")  # any role may approve; the desktop lands on that role's home
    assert phone.post("/link/approve", {"code": code.lower().replace("-", "")}).status_code == 200
    resp = desktop.get("/link/status")
    assert resp.status_code == 302 and resp.headers["Location"] == "/review/"
    assert _signed_in(desktop)


def test_next_is_kept_but_only_on_this_site(app: Flask) -> None:
    desktop = _browser(app)
    code = _code_on(desktop.get("/link?next=/q/location").get_data(as_text=True))
    phone, _ = _phone(app)
    phone.post("/link/approve", {"code": code})
    assert desktop.get("/link/status").headers["Location"] == "/q/location"

    other = _browser(app)
    code = _code_on(other.get("/link?next=//evil.example/x").get_data(as_text=True))
    phone.post("/link/approve", {"code": code})
    assert other.get("/link/status").headers["Location"] == "/app"


def test_phone_not_signed_in_goes_to_login_and_back(app: Flask) -> None:
    desktop = _browser(app)
    code = _code_on(desktop.get("/link").get_data(as_text=True))
    user = make_user(app, "enterprise")
    phone = _browser(app)
    resp = phone.get(f"/link/approve?code={code}")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    login_page = phone.get(resp.headers["Location"])
    assert login_page.status_code == 200
    back = phone.post(f"/login?next=/link/approve?code={code}", {"email": user["email"], "password": PASSWORD})
    assert back.status_code == 302 and back.headers["Location"] == f"/link/approve?code={code}"
    assert _row(app, code).approved_at is None


def test_phone_shares_desktop_types(app: Flask) -> None:
    phone, user = _phone(app)
    intro = phone.get("/link/share")
    assert intro.status_code == 200 and "生成登录代码" in intro.get_data(as_text=True)
    shared = phone.post("/link/share")
    assert shared.status_code == 200
    code = _code_on(shared.get_data(as_text=True))
    row = _row(app, code)
    assert row.kind == "share" and row.user_id == user["id"] and row.approved_at is not None

    desktop = _browser(app)
    desktop.get("/link")
    resp = desktop.post("/link/enter", {"code": code.lower().replace("-", "")})
    assert resp.status_code == 302 and resp.headers["Location"] == "/app"
    assert _signed_in(desktop)
    actions = [a for a, _ in _audit(app)]
    assert actions[0] == "handoff.create" and actions[-1] == "handoff.consume"

    # Single use: a second browser typing the same code gets the same neutral refusal.
    again = _browser(app)
    again.get("/link")
    refused = again.post("/link/enter", {"code": code})
    assert refused.status_code == 422 and str(service.INVALID) in refused.get_data(as_text=True)
    assert not _signed_in(again)
    assert _audit(app)[-1] == ("handoff.refuse", {"kind": "share", "reason": "used"})


def test_only_the_sha256_is_stored(app: Flask) -> None:
    phone, _ = _phone(app)
    code = _code_on(phone.post("/link/share").get_data(as_text=True))
    plain = code.replace("-", "")
    row = _row(app, code)
    assert row.code_hash == hashlib.sha256(plain.encode()).hexdigest()
    assert plain not in repr(row.model_dump()) and len(row.browser_hash) == 64


def test_codes_expire_after_five_minutes(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    desktop = _browser(app)
    code = _code_on(desktop.get("/link").get_data(as_text=True))
    phone, user = _phone(app)
    _shift_clock(monkeypatch, dt.timedelta(minutes=5, seconds=1))
    late = phone.post("/link/approve", {"code": code})
    assert late.status_code == 422 and str(service.INVALID) in late.get_data(as_text=True)
    assert _audit(app)[-1] == ("handoff.refuse", {"kind": "approve", "reason": "expired"})
    expired = desktop.get("/link/status", headers=HX)
    assert expired.status_code == 200 and "已过期" in expired.get_data(as_text=True)
    assert "hx-trigger" not in expired.get_data(as_text=True)  # polling stops
    # A reload gives a fresh code, which works.
    fresh = _code_on(desktop.get("/link").get_data(as_text=True))
    assert fresh != code
    assert phone.post("/link/approve", {"code": fresh}).status_code == 200
    assert desktop.get("/link/status", headers=HX).headers.get("HX-Redirect") == "/app"

    monkeypatch.undo()
    shared = _code_on(phone.post("/link/share").get_data(as_text=True))
    _shift_clock(monkeypatch, dt.timedelta(minutes=4, seconds=59))
    assert service.state(_row(app, shared)) == "approved"  # still valid just before five minutes
    _shift_clock(monkeypatch, dt.timedelta(minutes=5))
    other = _browser(app)
    other.get("/link")
    assert other.post("/link/enter", {"code": shared}).status_code == 422
    assert not _signed_in(other)
    assert _audit(app)[-1] == ("handoff.refuse", {"kind": "share", "reason": "expired"})


def test_approved_code_signs_in_only_the_browser_that_showed_it(app: Flask) -> None:
    desktop_x, desktop_y = _browser(app), _browser(app)
    code = _code_on(desktop_x.get("/link").get_data(as_text=True))
    _code_on(desktop_y.get("/link").get_data(as_text=True))  # Y has a session and a code of its own
    phone, _ = _phone(app)
    assert phone.post("/link/approve", {"code": code}).status_code == 200

    # Y polls its own code, and typing X's code is refused like any bad code.
    assert "HX-Redirect" not in desktop_y.get("/link/status", headers=HX).headers
    refused = desktop_y.post("/link/enter", {"code": code})
    assert refused.status_code == 422 and str(service.INVALID) in refused.get_data(as_text=True)
    assert not _signed_in(desktop_y)
    assert _audit(app)[-1] == ("handoff.refuse", {"kind": "approve", "reason": "wrong_browser"})
    # A fresh browser without any session fares no better.
    stranger = _browser(app)
    assert stranger.post("/link/enter", {"code": code}).status_code == 422
    assert "HX-Redirect" not in stranger.get("/link/status", headers=HX).headers
    assert not _signed_in(stranger)

    # X still signs in, once.
    assert desktop_x.get("/link/status", headers=HX).headers["HX-Redirect"] == "/app"
    assert _signed_in(desktop_x)


def test_codes_are_single_use(app: Flask) -> None:
    desktop = _browser(app)
    code = _code_on(desktop.get("/link").get_data(as_text=True))
    phone, _ = _phone(app)
    assert phone.post("/link/approve", {"code": code}).status_code == 200
    second = phone.post("/link/approve", {"code": code})
    assert second.status_code == 422 and str(service.INVALID) in second.get_data(as_text=True)
    assert desktop.get("/link/status", headers=HX).headers["HX-Redirect"] == "/app"
    # Consumed: neither the approver again nor the desktop (typing it) can reuse it.
    assert phone.post("/link/approve", {"code": code}).status_code == 422
    assert desktop.post("/link/enter", {"code": code}).status_code == 422
    assert [a for a, _ in _audit(app)].count("handoff.consume") == 1


def test_unapproved_or_share_codes_in_the_wrong_place_are_refused(app: Flask) -> None:
    desktop = _browser(app)
    code = _code_on(desktop.get("/link").get_data(as_text=True))
    # The desktop cannot sign itself in with its own code before a phone approved it.
    assert desktop.post("/link/enter", {"code": code}).status_code == 422
    assert not _signed_in(desktop)
    phone, _ = _phone(app)
    shared = _code_on(phone.post("/link/share").get_data(as_text=True))
    assert phone.post("/link/approve", {"code": shared}).status_code == 422  # share codes are typed, not approved


@pytest.mark.parametrize("garbage", GARBAGE)
def test_garbage_codes_get_a_message_not_a_crash(app: Flask, garbage: str) -> None:
    desktop = _browser(app)
    desktop.get("/link")
    entered = desktop.post("/link/enter", {"code": garbage})
    assert 400 <= entered.status_code < 500 and "error-summary" in entered.get_data(as_text=True)
    phone, _ = _phone(app)
    posted = phone.post("/link/approve", {"code": garbage})
    assert 400 <= posted.status_code < 500 and "error-summary" in posted.get_data(as_text=True)
    got = phone.get("/link/approve", query_string={"code": garbage})
    assert got.status_code < 500
    assert not _signed_in(desktop)


def test_unknown_and_used_codes_read_the_same(app: Flask) -> None:
    phone, _ = _phone(app)
    used = _code_on(phone.post("/link/share").get_data(as_text=True))
    _browser(app).post("/link/enter", {"code": used})
    unknown = next(c for c in ("ABCD-EFGH", "ABCD-EFGJ") if c != used)
    desktop = _browser(app)
    desktop.get("/link")
    a, b = desktop.post("/link/enter", {"code": used}), desktop.post("/link/enter", {"code": unknown})
    assert a.status_code == b.status_code == 422
    assert str(service.INVALID) in a.get_data(as_text=True) and str(service.INVALID) in b.get_data(as_text=True)


def test_code_entry_is_rate_limited(app: Flask) -> None:
    app.config["HANDOFF_RATE_LIMIT"] = "3 per minute"
    desktop = _browser(app)
    desktop.get("/link")
    codes = [desktop.post("/link/enter", {"code": "ABCD-EFGH"}).status_code for _ in range(4)]
    assert codes == [422, 422, 422, 429]
    phone, _ = _phone(app)
    codes = [phone.post("/link/approve", {"code": "ABCD-EFGH"}).status_code for _ in range(4)]
    assert codes[-1] == 429


def test_signed_in_link_page_offers_sharing(app: Flask) -> None:
    phone, _ = _phone(app)
    page = phone.get("/link")
    assert page.status_code == 200 and "/link/share" in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.exec(select(HandoffCode)).first() is None  # no code made for a signed-in browser


def test_qr_encodes_the_approve_url(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    import segno

    seen: list[str] = []
    real_make = segno.make
    monkeypatch.setattr(segno, "make", lambda content, **kw: seen.append(content) or real_make(content, **kw))
    app.config["PUBLIC_BASE_URL"] = "https://portal.example.cn/"
    code = _code_on(_browser(app).get("/link").get_data(as_text=True))
    assert seen == [f"https://portal.example.cn/link/approve?code={code.replace('-', '')}"]
    app.config["PUBLIC_BASE_URL"] = ""  # not configured: the address the desktop used
    _browser(app).get("/link")
    assert seen[-1].startswith("http://localhost/link/approve?code=")
