"""Policy library and public pages in a real browser, on a phone and on a desktop."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import DESKTOP, PHONE, LiveServer, new_page, no_horizontal_scroll


@pytest.mark.parametrize("path", ["/", "/measures", "/measures/d003-12", "/documents/d002", "/units", "/login",
                                  "/register", "/no-such-page"])
def test_public_pages_fit_a_phone(live: LiveServer, phone: Page, path: str) -> None:
    phone.goto(live.url + path)
    expect(phone.locator("header.site")).to_be_visible()
    assert no_horizontal_scroll(phone), f"{path} scrolls sideways at 360px"


def test_search_and_filter_on_a_phone(live: LiveServer, phone: Page) -> None:
    phone.goto(live.url + "/measures")
    expect(phone.locator("p.count")).to_have_text("共 102 条")
    phone.fill("input[name=q]", "一致性评价")
    expect(phone.locator("p.count")).not_to_have_text("共 102 条")  # htmx swapped the results in place
    assert "q=" in phone.url  # pushed URL, so reload and sharing keep the search
    expect(phone.locator("#results")).to_contain_text("推动化学药集约化")
    phone.reload()
    expect(phone.locator("input[name=q]")).to_have_value("一致性评价")
    phone.select_option("select[name=document]", "d002")
    expect(phone.locator("p.count")).to_have_text("共 0 条")
    phone.fill("input[name=q]", "")
    expect(phone.locator("#results")).to_contain_text("长春新区")


def test_measure_page_shows_clause_validity_and_units(live: LiveServer, phone: Page) -> None:
    phone.goto(live.url + "/measures/d002-04")
    expect(phone.locator("main")).to_contain_text("还有 213 天")
    expect(phone.locator("main")).to_contain_text("联系方式待管理员补充")
    phone.get_by_role("link", name="长春新区支持医药健康产业高质量发展若干措施").first.click()
    expect(phone).to_have_url(f"{live.url}/documents/d002")


def test_library_works_without_javascript(live: LiveServer, chromium) -> None:  # type: ignore[no-untyped-def]
    page = new_page(chromium, PHONE, java_script_enabled=False)
    try:
        page.goto(live.url + "/measures")
        page.fill("input[name=q]", "化妆品")
        page.click("form.filters button[type=submit]")
        expect(page.locator("p.count")).not_to_have_text("共 102 条")
        assert "q=%E5%8C%96" in page.url
    finally:
        page.context.close()


def test_desktop_layout(live: LiveServer, chromium) -> None:  # type: ignore[no-untyped-def]
    page = new_page(chromium, DESKTOP)
    try:
        page.goto(live.url + "/measures")
        assert no_horizontal_scroll(page)
        box = page.locator("form.filters").bounding_box()
        assert box and box["width"] > 900
    finally:
        page.context.close()
