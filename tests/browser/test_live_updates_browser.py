"""Live updates between two devices of one user, in a real browser: phone answers, the desktop follows."""

from __future__ import annotations

import time

from flask import Flask
from playwright.sync_api import Page, expect

from portal.extensions import db
from portal.services import answers as answer_service
from tests.browser.factories import LiveServer, login

# The pages' poll intervals (hx-trigger "every 4s" on questionnaire steps, "every 5s" on results): the tests
# move the desktop's clock on by one interval (Playwright's page clock) rather than wait it out in real time.
POLL_MS = 4_000
RESULTS_POLL_MS = 5_000


def test_desktop_questionnaire_follows_the_phone_without_reload(live: LiveServer, phone: Page, desktop: Page,
                                                                 enterprise_account: dict) -> None:
    desktop.clock.install()  # the page's own timers, moved on below instead of waited out
    login(phone, live.url, enterprise_account["email"])
    login(desktop, live.url, enterprise_account["email"])
    desktop.goto(live.url + "/q/location")
    phone.goto(live.url + "/q/location")
    desktop.evaluate("window.notReloaded = true")  # gone if the page were loaded again
    with phone.expect_response(lambda r: "/q/answer/location" in r.url) as saved:
        phone.check("input[name=location][value=zhonghan_zone]")
    assert saved.value.status == 200
    t_saved = time.monotonic()
    # The desktop polls the change feed every 4 s and swaps the question in place.
    desktop.clock.fast_forward(POLL_MS)  # the next poll is due now
    expect(desktop.locator("input[name=location][value=zhonghan_zone]")).to_be_checked(timeout=15_000)
    elapsed = time.monotonic() - t_saved
    print(f"\nphone save -> desktop shows it: {elapsed:.2f} s after its clock moved on one poll (4 s)")
    assert elapsed < 15
    assert desktop.evaluate("window.notReloaded === true")
    expect(desktop.locator("#q-location input[name=v__location]")).to_have_value("1")


def test_a_question_added_on_the_phone_appears_on_the_desktop(live: LiveServer, live_app: Flask, phone: Page,
                                                                desktop: Page, enterprise_account: dict) -> None:
    with live_app.app_context(), db.standalone() as session:
        for name, value in (("location", "changchun_new_area"), ("sectors", ["chemical_drug"]), ("roles", ["mah"])):
            answer_service.save_answer(session, enterprise_account["enterprise_id"], enterprise_account["id"],
                                       name, value, None)
    desktop.clock.install()
    login(phone, live.url, enterprise_account["email"])
    login(desktop, live.url, enterprise_account["email"])
    desktop.goto(live.url + "/q/plans")
    phone.goto(live.url + "/q/plans")
    expect(desktop.locator("#q-settled_in_new_area")).to_have_count(0)
    phone.check("input[name=plans][value=commission_in_new_area]")
    expect(phone.locator("#q-settled_in_new_area")).to_have_count(1)
    # The desktop's step reloads its questions: the new one appears, the answer with it.
    desktop.clock.fast_forward(POLL_MS)
    expect(desktop.locator("#q-settled_in_new_area")).to_have_count(1, timeout=15_000)
    expect(desktop.locator("input[name=plans][value=commission_in_new_area]")).to_be_checked()


def test_results_offer_a_refresh_when_the_phone_changes_an_answer(live: LiveServer, phone: Page, desktop: Page,
                                                                  enterprise_account: dict) -> None:
    desktop.clock.install()
    login(phone, live.url, enterprise_account["email"])
    login(desktop, live.url, enterprise_account["email"])
    desktop.goto(live.url + "/results")
    phone.goto(live.url + "/q/location")
    phone.check("input[name=location][value=zhonghan_zone]")
    expect(phone.locator("#q-location .saved")).to_have_text("已保存")
    banner = desktop.locator("[role=status] .updated-elsewhere")
    desktop.clock.fast_forward(RESULTS_POLL_MS)
    expect(banner).to_contain_text("已在其他设备更新", timeout=15_000)
    banner.get_by_role("link", name="刷新结果").click()
    expect(desktop).to_have_url(live.url + "/results")
    expect(desktop.locator(".updated-elsewhere")).to_have_count(0)
