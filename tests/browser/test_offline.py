"""Offline on the phone: answers survive a closed tab and an expired session, conflicts reach the user.

The service worker (/sw.js) keeps the questionnaire's pages, so 保存并继续 moves between steps
with no connection; answers wait in an IndexedDB outbox and are replayed once the user is signed in.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser as PwBrowser
from playwright.sync_api import BrowserContext, Page, expect

from portal.extensions import db
from portal.services import answers as answer_service
from tests.browser.factories import DESKTOP, PHONE, LiveServer, login, no_horizontal_scroll
from tests.factories import PASSWORD


def server_profile(app: Flask, enterprise_id: int) -> dict[str, Any]:
    with app.app_context():
        return answer_service.profile_of(db.session, enterprise_id)


def outbox(page: Page) -> list[dict[str, Any]]:
    """The IndexedDB outbox as the page sees it."""
    return page.evaluate("""() => new Promise((resolve, reject) => {
        const req = indexedDB.open("portal", 1);
        req.onerror = () => reject(req.error);
        req.onsuccess = () => {
            const get = req.result.transaction("outbox").objectStore("outbox").getAll();
            get.onsuccess = () => resolve(get.result);
        };
    })""")


def wait_until(check: Any, timeout: float = 10) -> None:
    """Poll a Python condition (page.wait_for_function would need eval, which the CSP forbids)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


@pytest.fixture()
def phone_context(chromium: PwBrowser) -> Iterator[BrowserContext]:
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN")
    context.set_default_timeout(10_000)
    yield context
    context.close()


def open_step_ready_offline(context: BrowserContext, base: str, code: str) -> Page:
    page = context.new_page()
    page.goto(f"{base}/q/{code}")
    # The service worker has stored every step of the questionnaire for this user.
    expect(page.locator("html[data-offline-ready]")).to_have_count(1)
    return page


def test_answers_given_offline_on_three_steps_survive_a_closed_tab_and_an_expired_session(
        live: LiveServer, live_app: Flask, phone_context: BrowserContext, chromium: PwBrowser,
        enterprise_account: dict) -> None:
    eid = enterprise_account["enterprise_id"]
    first = phone_context.new_page()
    login(first, live.url, enterprise_account["email"])
    first.close()
    page = open_step_ready_offline(phone_context, live.url, "location")
    status = page.locator("#outbox-status")
    expect(status).to_have_attribute("role", "status")
    expect(status).to_have_attribute("aria-live", "polite")

    phone_context.set_offline(True)
    page.check("input[name=location][value=zhonghan_zone]")
    expect(page.locator("#q-location")).to_have_class(re.compile(r"\boffline\b"))
    page.click("button[value=next]")  # 保存并继续 with no connection: the next step comes from the cache
    expect(page).to_have_url(live.url + "/q/business")
    expect(page.locator("#q-sectors")).to_have_count(1)
    page.check("input[name=sectors][value=medical_device]")
    expect(page.locator("#q-sectors")).to_have_class(re.compile(r"\boffline\b"))
    page.click("button[value=next]")
    expect(page).to_have_url(live.url + "/q/roles")
    page.locator("input[name=roles]").first.check()
    role = page.locator("input[name=roles]").first.get_attribute("value")
    page.click("button[value=next]")  # the third answer is kept by the step's own 保存并继续
    expect(page).not_to_have_url(live.url + "/q/roles")
    expect(page.locator("#outbox-status")).to_have_text("离线：3 个回答仅保存在本机")
    assert no_horizontal_scroll(page)
    assert sorted(item["field"] for item in outbox(page)) == ["location", "roles", "sectors"]
    assert server_profile(live_app, eid) == {}

    page.close()  # the tab is gone; the outbox stays on the phone
    phone_context.clear_cookies()  # and the session expires
    phone_context.set_offline(False)
    page = phone_context.new_page()
    page.goto(live.url + "/q/location")  # signed out: the login page
    expect(page).to_have_url(re.compile(r"/login"))
    status = page.locator("#outbox-status")
    expect(status).to_contain_text("登录已过期：3 个回答仅保存在本机，请重新登录后自动同步")
    relogin = status.get_by_role("link", name="重新登录")
    expect(relogin).to_have_attribute("href", re.compile(r"^/login\?next=%2Fq%2Flocation$"))
    assert server_profile(live_app, eid) == {}
    relogin.click()
    page.fill("input[name=email]", enterprise_account["email"])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    expect(page).to_have_url(live.url + "/q/location")
    expect(page.locator("#outbox-status")).to_have_text("已同步")
    wait_until(lambda: len(server_profile(live_app, eid)) == 3)
    saved = server_profile(live_app, eid)
    assert saved == {"location": "zhonghan_zone", "sectors": ["medical_device"], "roles": [role]}
    assert outbox(page) == []

    desktop = chromium.new_context(viewport=DESKTOP, locale="zh-CN")
    try:
        desktop.set_default_timeout(10_000)
        other = desktop.new_page()
        login(other, live.url, enterprise_account["email"])
        other.goto(live.url + "/q/location")
        expect(other.locator("input[name=location][value=zhonghan_zone]")).to_be_checked()
        other.goto(live.url + "/q/business")
        expect(other.locator("input[name=sectors][value=medical_device]")).to_be_checked()
        other.goto(live.url + "/q/roles")
        expect(other.locator(f"input[name=roles][value={role}]")).to_be_checked()
    finally:
        desktop.close()


def test_a_conflict_found_on_replay_is_shown_and_settled_by_the_user(
        live: LiveServer, live_app: Flask, phone_context: BrowserContext, enterprise_account: dict) -> None:
    eid, uid = enterprise_account["enterprise_id"], enterprise_account["id"]
    page = phone_context.new_page()
    login(page, live.url, enterprise_account["email"])
    page = open_step_ready_offline(phone_context, live.url, "location")
    phone_context.set_offline(True)
    page.check("input[name=location][value=zhonghan_zone]")
    page.check("input[name=ownership][value=domestic]")
    expect(page.locator("#outbox-status")).to_have_text("离线：2 个回答仅保存在本机")
    # Meanwhile a colleague answers both questions differently on another device.
    with live_app.app_context(), db.standalone() as session:
        answer_service.save_answer(session, eid, uid, "location", "changchun_new_area", None)
        answer_service.save_answer(session, eid, uid, "ownership", "foreign_invested", None)
    page.close()

    phone_context.set_offline(False)
    page = phone_context.new_page()
    page.goto(live.url + "/app")  # wherever the user is, the refused answers are shown
    panel = page.locator("#outbox-panel")
    expect(panel).to_be_visible()
    expect(panel.locator(".outbox-item")).to_have_count(2)
    location = panel.locator(".outbox-item[data-field=location]")
    expect(location).to_contain_text("您的回答：中韩(长春)国际合作示范区")
    expect(location).to_contain_text("服务器上的回答：长春新区")
    expect(page.locator("#outbox-status")).to_contain_text("2 个回答需要您确认")
    # Kept, not dropped: a reload shows them again.
    page.reload()
    expect(panel.locator(".outbox-item")).to_have_count(2)
    assert server_profile(live_app, eid)["location"] == "changchun_new_area"
    assert no_horizontal_scroll(page)

    location.get_by_role("button", name="用我的").click()
    expect(panel.locator(".outbox-item")).to_have_count(1)
    wait_until(lambda: server_profile(live_app, eid)["location"] == "zhonghan_zone")
    panel.locator(".outbox-item[data-field=ownership]").get_by_role("button", name="用服务器的").click()
    expect(panel).to_be_hidden()
    expect(page.locator("#outbox-status")).to_have_text("已同步")
    assert outbox(page) == []
    saved = server_profile(live_app, eid)
    assert saved["location"] == "zhonghan_zone" and saved["ownership"] == "foreign_invested"


def test_service_worker_is_served_from_the_root(live: LiveServer, live_app: Flask) -> None:
    resp = live_app.test_client().get("/sw.js")
    assert resp.status_code == 200
    assert resp.mimetype == "text/javascript"
    assert resp.headers["Cache-Control"] == "no-cache"
    assert b"portal-outbox" in resp.data


def test_online_step_submit_still_moves_on_and_shows_the_servers_errors(
        live: LiveServer, live_app: Flask, phone: Page, enterprise_account: dict) -> None:
    """保存并继续 is posted by script now: a refused step still shows the server's page, with the flash kept."""
    login(phone, live.url, enterprise_account["email"])
    phone.goto(live.url + "/q/figures")
    phone.fill("#in-annual_revenue_wan", "很多")
    phone.click("button[value=next]")
    expect(phone).to_have_url(live.url + "/q/figures")
    expect(phone.locator(".error-summary")).to_be_visible()
    expect(phone.locator("#in-annual_revenue_wan")).to_have_value("很多")  # what was typed is kept
    phone.fill("#in-annual_revenue_wan", "1200")
    phone.click("button[value=next]")
    expect(phone).to_have_url(live.url + "/q/plans")
    assert server_profile(live_app, enterprise_account["enterprise_id"])["annual_revenue_wan"] == 1200
    expect(phone.locator("#outbox-status")).to_have_text("")


def test_answers_given_after_the_session_expired_on_an_open_page_are_kept(
        live: LiveServer, live_app: Flask, phone: Page, enterprise_account: dict) -> None:
    eid = enterprise_account["enterprise_id"]
    login(phone, live.url, enterprise_account["email"])
    phone.goto(live.url + "/q/location")
    phone.check("input[name=location][value=jilin_other]")
    expect(phone.locator("#q-location .saved")).to_have_text("已保存")
    phone.context.clear_cookies()  # the session ends while the page is open
    phone.check("input[name=ownership][value=domestic]")
    expect(phone.locator("#outbox-status")).to_contain_text("登录已过期：1 个回答仅保存在本机")
    phone.click("button[value=next]")
    expect(phone).to_have_url(re.compile(r"/login\?next=%2Fq%2Fbusiness$"))
    expect(phone.locator("#outbox-status")).to_contain_text("登录已过期：1 个回答仅保存在本机")
    phone.fill("input[name=email]", enterprise_account["email"])
    phone.fill("input[name=password]", PASSWORD)
    phone.click("button[type=submit].primary")
    expect(phone).to_have_url(live.url + "/q/business")
    expect(phone.locator("#outbox-status")).to_have_text("已同步")
    assert server_profile(live_app, eid) == {"location": "jilin_other", "ownership": "domestic"}
