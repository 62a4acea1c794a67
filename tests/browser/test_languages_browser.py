"""Issue 14 "Must show": the portal in Korean and in English, in a real browser.

A new firm registers, walks the questionnaire to its results and downloads its match report, in ko and
in en, on a phone; every page on the way shows no Chinese outside elements marked lang="zh-Hans"
(policy text and proper names). Then every main page, for an enterprise, a reviewer and an
administrator, in zh, ko and en at 360×740 and 1280×800, passes axe-core's WCAG 2.2 A/AA rules (the
audit in tests/browser/audit.py runs on every page a browser test visits) and, in ko and en, the same
check for stray Chinese.
"""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from portal.profile.fields import FIELDS_BY_NAME
from tests.browser.audit import catalog_text, chinese_outside_policy_text
from tests.browser.factories import DESKTOP, PHONE, LiveServer, login, new_page
from tests.browser.test_persona_walk import walk
from tests.factories import PASSWORD, ZONE_DEVICE_MAKER, make_user, set_answers
from tests.personas import PERSONAS
from tests.test_pdf_languages import catalog_root

BROWSER_LOCALE = {"zh": "zh-CN", "ko": "ko-KR", "en": "en-US"}
COMPANY = {"ko": "한빛바이오 창춘 유한회사", "en": "Changchun Bright Devices Ltd."}
# A zone device maker: its walk reaches results with measures to apply for.
PERSONA = next(p for p in PERSONAS if p.expect_eligible and p.profile.get("location") == "zhonghan_zone")


def _no_stray_chinese(page: Page) -> None:
    found = chinese_outside_policy_text(page)
    assert not found, f"{page.url}: Chinese outside lang=zh-Hans:\n  " + "\n  ".join(found[:20])


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_a_new_firm_registers_answers_and_gets_its_report_without_meeting_chinese(
        live: LiveServer, chromium: Any, lang: str) -> None:
    tr = catalog_text(lang)
    page = new_page(chromium, PHONE, is_mobile=True, has_touch=True, locale=BROWSER_LOCALE[lang])
    try:
        page.goto(f"{live.url}/")
        assert page.locator("html").get_attribute("lang") == lang  # from the browser's Accept-Language
        _no_stray_chinese(page)

        page.goto(f"{live.url}/register")
        _no_stray_chinese(page)
        page.fill("input[name=enterprise_name]", COMPANY[lang])
        page.fill("input[name=name]", "Kim Minjun" if lang == "en" else "김민준")
        page.fill("input[name=email]", f"walker-{lang}@example.com")
        page.fill("input[name=password]", PASSWORD)
        page.fill("input[name=password2]", PASSWORD)
        with page.expect_navigation():
            page.click("form button.primary[type=submit]")
        expect(page.locator(".error-summary")).to_have_count(0)
        assert page.locator("html").get_attribute("lang") == lang
        _no_stray_chinese(page)
        if "/login" in page.url:  # registered: now sign in
            login(page, live.url, f"walker-{lang}@example.com")
            _no_stray_chinese(page)

        profile = {**PERSONA.profile, "enterprise_name": COMPANY[lang]}
        persona = dataclasses.replace(PERSONA, profile=profile)
        row = walk(page, live.url, persona, lang=lang, on_page=_no_stray_chinese)
        assert row.eligible, f"{lang}: nothing eligible on the results page"

        # The match report, fully in the chosen language.
        report = page.get_by_role("link", name=tr("下载匹配报告（PDF）"))
        pdf = page.context.request.get(f"{live.url}{report.get_attribute('href')}")
        if "html" in pdf.headers.get("content-type", ""):  # queued: the progress page links the file
            page.goto(pdf.url)
            _no_stray_chinese(page)
            pdf = page.context.request.get(page.locator(".pdf-job a[href*='/file']").first.get_attribute("href")
                                           or "")
        body = pdf.body()
        assert body[:5] == b"%PDF-", pdf.headers
        text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=body, capture_output=True,
                              check=True).stdout.decode("utf-8")
        assert catalog_root(body)["/Lang"] == lang
        assert tr("政策匹配报告") in text or tr("匹配报告") in text, text[:400]
        assert COMPANY[lang] in text
    finally:
        page.context.close()


# Pages of each audience worth auditing (GET, no side effects).
ENTERPRISE_PAGES = ["/", "/measures", "/measures/d000-03", "/units", "/app", "/q", "/q/location", "/q/review",
                    "/results", "/app/submissions/", "/notifications", "/account", "/link"]
PUBLIC_PAGES = ["/login", "/register"]
REVIEWER_PAGES = ["/review/", "/review/dashboard"]
ADMIN_PAGES = ["/admin/", "/admin/staff", "/admin/measures"]


@pytest.fixture()
def accounts(live_app: Flask) -> dict[str, dict[str, Any]]:
    firm = make_user(live_app, "enterprise", enterprise="Audit Test Co.")
    set_answers(live_app, firm, {**ZONE_DEVICE_MAKER, "enterprise_name": "Audit Test Co."})
    return {"enterprise": firm, "reviewer": make_user(live_app, "reviewer", unit="jlmpa-device-registration"),
            "admin": make_user(live_app, "admin")}


@pytest.mark.parametrize("lang", ["zh", "ko", "en"])
@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_main_pages_pass_axe_in_every_language_and_size(live: LiveServer, chromium: Any,
                                                         accounts: dict[str, dict[str, Any]], lang: str,
                                                         size: str) -> None:
    viewport = PHONE if size == "phone" else DESKTOP
    visits = [(None, PUBLIC_PAGES), ("enterprise", ENTERPRISE_PAGES), ("reviewer", REVIEWER_PAGES),
              ("admin", ADMIN_PAGES)]
    for role, paths in visits:
        page = new_page(chromium, viewport, locale=BROWSER_LOCALE[lang],
                        **({"is_mobile": True, "has_touch": True} if size == "phone" else {}))
        try:
            if role:
                login(page, live.url, accounts[role]["email"])
            for path in paths:
                response = page.goto(f"{live.url}{path}")
                assert response is not None and response.status < 400, f"{path}: {response and response.status}"
                assert page.locator("html").get_attribute("lang") == {"zh": "zh-Hans"}.get(lang, lang)
                if lang != "zh":
                    _no_stray_chinese(page)
        finally:
            page.context.close()  # the axe audit of every page visited runs here (tests/browser/audit.py)


def test_the_audit_finds_a_violation_when_there_is_one(chromium: Any, tmp_path: Path) -> None:
    """axe really runs: a page with an image lacking alt text and no lang is reported."""
    from tests.browser.audit import axe_violations

    page = chromium._browser.new_page()  # not audited: this page is broken on purpose
    try:
        page.set_content("<html><body><img src='data:image/gif;base64,R0lGODlhAQABAAAAACw='></body></html>")
        ids = {v["id"] for v in axe_violations(page)}
        assert {"image-alt", "html-has-lang"} <= ids, ids
        page.set_content("<html lang='en'><body><p>Hello <span>你好</span></p></body></html>")
        assert chinese_outside_policy_text(page) == ["你好"]
        page.set_content("<html lang='en'><body><p>Hello <span lang='zh-Hans'>你好</span></p></body></html>")
        assert chinese_outside_policy_text(page) == []
    finally:
        page.context.close()


def test_every_question_has_korean_and_english_wording() -> None:
    """The questionnaire never falls back to Chinese for a question or option label."""
    missing = [f.name for f in FIELDS_BY_NAME.values() if not (f.ko and f.en)]
    missing += [f"{f.name}.{o.code}" for f in FIELDS_BY_NAME.values() for o in f.options if not (o.ko and o.en)]
    assert not missing, missing


def test_the_audit_sees_every_page_a_test_passes_through(live: LiveServer, chromium: Any) -> None:
    """Pages reached by typing, by a click and by a redirect are all recorded for the axe audit."""
    page = new_page(chromium, DESKTOP)
    try:
        page.goto(f"{live.url}/measures")
        with page.expect_navigation():
            page.locator("a[href^='/measures/d']").first.click()
        page.goto(f"{live.url}/app")  # signed out: redirected to the sign-in page
        audit = next(a for a in chromium.audits if a.context is page.context)
        paths = [u.removeprefix(live.url).split("?")[0] for u in audit.urls]
        assert paths[0] == "/measures" and paths[1].startswith("/measures/d") and "/login" in paths, paths
    finally:
        page.context.close()
    assert audit.done  # closing the context ran the audit
