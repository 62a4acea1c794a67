"""The questionnaire on a phone: autosave, back/next, offline answers, a second device, no-JS use."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from flask import Flask
from playwright.sync_api import Page, expect

from portal.extensions import db
from portal.models import Enterprise
from portal.services import answers as answer_service
from tests.browser.factories import PHONE, LiveServer, login, new_page, no_horizontal_scroll


def profile(app: Flask, enterprise_id: int) -> dict[str, Any]:
    with app.app_context():
        return json.loads(db.session.get(Enterprise, enterprise_id).profile_json)


def test_phone_walkthrough_autosaves_and_navigates(live: LiveServer, live_app: Flask, phone: Page,
                                                   enterprise_account: dict) -> None:
    login(phone, live.url, enterprise_account["email"])
    phone.goto(live.url + "/q")
    # The form details (企业名称…) change no result: the walk starts where the answers matter.
    expect(phone).to_have_url(live.url + "/q/location")
    expect(phone.locator(".progress-label")).to_contain_text("第 1 步")
    assert no_horizontal_scroll(phone)
    phone.check("input[name=location][value=zhonghan_zone]")
    expect(phone.locator("#q-location .saved")).to_have_text("已保存")  # saved on change, before "next"
    assert profile(live_app, enterprise_account["enterprise_id"])["location"] == "zhonghan_zone"
    phone.click("button[value=next]")
    expect(phone).to_have_url(live.url + "/q/business")
    phone.check("input[name=sectors][value=medical_device]")
    expect(phone.locator("#q-sectors .saved")).to_have_text("已保存")
    phone.click("button[value=next]")
    expect(phone).to_have_url(live.url + "/q/roles")
    expect(phone.locator(".progress-label")).to_contain_text("共")  # the total shows once the sector is known
    # Roles follow the sector: a device firm is not offered cosmetics or drug roles.
    expect(phone.locator("input[name=roles][value=device_registrant]")).to_have_count(1)
    expect(phone.locator("input[name=roles][value=cosmetics_filer]")).to_have_count(0)
    phone.go_back()  # the browser's back button returns to the previous step with the answer kept
    expect(phone).to_have_url(live.url + "/q/business")
    expect(phone.locator("input[name=sectors][value=medical_device]")).to_be_checked()
    phone.goto(live.url + "/q/review")
    expect(phone.locator("main")).to_contain_text("中韩(长春)国际合作示范区")
    phone.locator("a.change[href*='q-location']").click()
    expect(phone).to_have_url(live.url + "/q/location#q-location")
    phone.goto(live.url + "/q/identity")  # asked before a form is generated (registration prefills it)
    phone.fill("#in-legal_representative", "王五")
    phone.locator("#in-legal_representative").press("Tab")  # leaving the field saves it
    expect(phone.locator("#q-legal_representative .saved")).to_have_text("已保存")
    phone.goto(live.url + "/results")
    expect(phone.locator("#summary")).to_contain_text("可以申请")
    assert no_horizontal_scroll(phone)


def test_a_step_reloads_its_questions_when_an_answer_changes_them(live: LiveServer, live_app: Flask, phone: Page,
                                                                  enterprise_account: dict) -> None:
    with live_app.app_context(), db.standalone() as session:
        for name, value in (("location", "changchun_new_area"), ("sectors", ["chemical_drug"]), ("roles", ["mah"])):
            answer_service.save_answer(session, enterprise_account["enterprise_id"], enterprise_account["id"],
                                       name, value, None)
    login(phone, live.url, enterprise_account["email"])
    phone.goto(live.url + "/q/plans")
    expect(phone.locator("#q-settled_in_new_area")).to_have_count(0)
    phone.check("input[name=plans][value=commission_in_new_area]")
    # The detail that now matters appears in place, and the answer given is still there.
    expect(phone.locator("#q-settled_in_new_area")).to_have_count(1, timeout=10_000)
    expect(phone.locator("input[name=plans][value=commission_in_new_area]")).to_be_checked()
    expect(phone.locator("#q-location")).to_have_count(0)


def test_answer_given_offline_is_kept_and_sent_when_back_online(live: LiveServer, live_app: Flask, phone: Page,
                                                                enterprise_account: dict) -> None:
    login(phone, live.url, enterprise_account["email"])
    phone.goto(live.url + "/q/location")
    phone.context.set_offline(True)
    phone.check("input[name=location][value=changchun_new_area]")
    expect(phone.locator("#q-location")).to_have_class("q offline")
    assert "location" in phone.evaluate("localStorage.getItem('portal.pendingAnswers')")
    assert "location" not in profile(live_app, enterprise_account["enterprise_id"])
    phone.context.set_offline(False)
    phone.evaluate("window.dispatchEvent(new Event('online'))")
    deadline = time.monotonic() + 10  # (wait_for_function would need eval, which our CSP forbids)
    while phone.evaluate("localStorage.getItem('portal.pendingAnswers')") != "{}" and time.monotonic() < deadline:
        phone.wait_for_timeout(100)
    assert phone.evaluate("localStorage.getItem('portal.pendingAnswers')") == "{}"
    # The saved question comes back from the server (replay or sync, whichever lands first).
    expect(phone.locator("#q-location")).not_to_have_class(re.compile("offline"))
    expect(phone.locator("input[name=location][value=changchun_new_area]")).to_be_checked()
    assert profile(live_app, enterprise_account["enterprise_id"])["location"] == "changchun_new_area"


def test_second_device_sees_answers_from_the_first(live: LiveServer, live_app: Flask, phone: Page, desktop: Page,
                                                   enterprise_account: dict) -> None:
    for page in (phone, desktop):
        page.clock.install()  # the page's own timers: the polls below are moved on to, not waited for
    login(phone, live.url, enterprise_account["email"])
    login(desktop, live.url, enterprise_account["email"])
    phone.goto(live.url + "/q/location")
    desktop.goto(live.url + "/q/location")
    phone.check("input[name=location][value=zhonghan_zone]")
    expect(phone.locator("#q-location .saved")).to_have_text("已保存")
    # The desktop page polls for changes (every 4 s) and swaps the question in without a reload.
    desktop.clock.fast_forward(4_000)
    expect(desktop.locator("input[name=location][value=zhonghan_zone]")).to_be_checked(timeout=10_000)
    desktop.check("input[name=ownership][value=domestic]")
    expect(desktop.locator("#q-ownership .saved")).to_have_text("已保存")
    phone.clock.fast_forward(4_000)
    expect(phone.locator("input[name=ownership][value=domestic]")).to_be_checked(timeout=10_000)
    saved = profile(live_app, enterprise_account["enterprise_id"])
    assert saved["location"] == "zhonghan_zone" and saved["ownership"] == "domestic"


def test_questionnaire_works_without_javascript(live: LiveServer, live_app: Flask, chromium,  # type: ignore[no-untyped-def]
                                                enterprise_account: dict) -> None:
    page = new_page(chromium, PHONE, java_script_enabled=False)
    try:
        login(page, live.url, enterprise_account["email"])
        page.goto(live.url + "/q/location")
        page.check("input[name=location][value=jilin_other]")
        page.click("button[value=next]")
        expect(page).to_have_url(live.url + "/q/business")
        page.click("button[value=back]")
        expect(page).to_have_url(live.url + "/q/location")
        assert profile(live_app, enterprise_account["enterprise_id"])["location"] == "jilin_other"
    finally:
        page.context.close()
