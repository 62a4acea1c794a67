"""A phone in English or Korean: /q lands on the step's own URL, autosaves are read out, and the offline
outbox and the service worker's offline page speak the same language."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser as PwBrowser
from playwright.sync_api import expect

from tests.browser.audit import chinese_outside_policy_text
from tests.browser.factories import PHONE, LiveServer, login

WORDS = {
    "en": {"step": "Location and ownership", "saved": "Saved", "announced": "Saved: Location",
           "offline": "Offline: 1 answer is kept only on this device", "heading": "You are offline",
           "back": "Back to the questionnaire"},
    "ko": {"step": "소재지 및 기업 성격", "saved": "저장됨", "announced": "저장됨: 소재지",
           "offline": "오프라인: 답변 1개가 이 기기에만 저장되어 있습니다", "heading": "현재 오프라인입니다",
           "back": "설문으로 돌아가기"},
}


@pytest.mark.parametrize(("lang", "locale"), [("en", "en-US"), ("ko", "ko-KR")])
def test_a_phone_in_english_or_korean_fills_in_saves_and_goes_offline_in_that_language(
        live: LiveServer, chromium: PwBrowser, enterprise_account: dict, lang: str, locale: str) -> None:
    words = WORDS[lang]
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale=locale)
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        login(page, live.url, enterprise_account["email"])
        page.goto(live.url + "/q")  # the first step, served at /q; its own URL goes in the address bar
        expect(page).to_have_url(live.url + "/q/location")
        expect(page.locator("html")).to_have_attribute("lang", lang)
        expect(page.locator("h1")).to_contain_text(words["step"])
        assert chinese_outside_policy_text(page) == []
        expect(page.locator("html[data-offline-ready]")).to_have_count(1)  # the worker has the steps and words

        page.check("input[name=location][value=zhonghan_zone]")
        expect(page.locator("#q-location .saved")).to_have_text(words["saved"])
        status = page.locator("#save-status")  # a live region that stays while the question is swapped
        expect(status).to_have_attribute("aria-live", "polite")
        expect(status).to_have_text(words["announced"])

        context.set_offline(True)
        page.check("input[name=ownership][value=korean_invested]")
        expect(page.locator("#outbox-status")).to_have_text(words["offline"])
        page.goto(live.url + "/app")  # not kept on the phone: the worker's offline page, in the same language
        expect(page.locator("html")).to_have_attribute("lang", lang)
        expect(page.locator("h1")).to_have_text(words["heading"])
        expect(page.get_by_role("link", name=words["back"])).to_have_attribute("href", "/q")
        expect(page.locator("#outbox-status")).to_have_text(words["offline"])
        assert chinese_outside_policy_text(page) == []
    finally:
        context.close()
