"""Policy library and public pages in a real browser, on a phone and on a desktop."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from portal.services.library import default_count
from tests.browser.factories import DESKTOP, PHONE, LiveServer, new_page, no_horizontal_scroll


@pytest.mark.parametrize("path", ["/", "/measures", "/measures/d003-12", "/documents/d002", "/documents/d000",
                                  "/units", "/login", "/register", "/no-such-page"])
def test_public_pages_fit_a_phone(live: LiveServer, phone: Page, path: str) -> None:
    phone.goto(live.url + path)
    expect(phone.locator("header.site")).to_be_visible()
    assert no_horizontal_scroll(phone), f"{path} scrolls sideways at 360px"


def test_first_screen_of_the_library_on_a_phone_shows_results(live: LiveServer, phone: Page) -> None:
    phone.goto(live.url + "/measures")
    expect(phone.locator("p.count")).to_have_text(f"共 {default_count()} 条")
    search = phone.locator("input[name=q]").bounding_box()
    first = phone.locator("#results li.card").first.bounding_box()
    assert search and search["y"] + search["height"] < 740
    assert first and first["y"] < 740, f"first result starts at {first and first['y']}px, below the fold"
    expect(phone.locator("details.filter-panel")).not_to_have_attribute("open", "")
    expect(phone.locator("select[name=document]")).to_be_hidden()
    expect(phone.locator("details.filter-panel summary")).to_have_text("筛选（已选 0 项）")
    expect(phone.locator("#results .snippet").first).not_to_be_empty()


def test_search_and_filter_on_a_phone(live: LiveServer, phone: Page) -> None:
    default = f"共 {default_count()} 条"
    phone.goto(live.url + "/measures")
    expect(phone.locator("p.count")).to_have_text(default)
    phone.fill("input[name=q]", "一致性评价")
    expect(phone.locator("p.count")).not_to_have_text(default)  # htmx swapped the results in place
    assert "q=" in phone.url  # pushed URL, so reload and sharing keep the search
    expect(phone.locator("#results")).to_contain_text("推动化学药集约化")
    expect(phone.locator("#results mark").first).to_have_text("一致性评价")
    phone.reload()
    expect(phone.locator("input[name=q]")).to_have_value("一致性评价")
    phone.click("details.filter-panel summary")
    phone.select_option("select[name=document]", "d002")
    expect(phone.locator("p.count")).to_have_text("共 0 条")
    expect(phone.locator("details.filter-panel summary")).to_have_text("筛选（已选 1 项）")  # updated out of band
    expect(phone.locator("details.filter-panel")).to_have_attribute("open", "")  # the swap leaves the panel open
    phone.fill("input[name=q]", "")
    expect(phone.locator("#results")).to_contain_text("长春新区")
    phone.select_option("select[name=audience]", "all")
    expect(phone.locator("p.count")).to_have_text("共 14 条")
    expect(phone.locator("details.filter-panel summary")).to_have_text("筛选（已选 2 项）")


def test_measure_page_shows_clause_validity_and_units(live: LiveServer, phone: Page) -> None:
    phone.goto(live.url + "/measures/d002-04")
    expect(phone.locator("main")).to_contain_text("还有 213 天")
    expect(phone.locator("main")).to_contain_text("联系方式待管理员补充")
    phone.get_by_role("link", name="长春新区支持医药健康产业高质量发展若干措施").first.click()
    expect(phone).to_have_url(f"{live.url}/documents/d002")


def test_measure_page_links_to_its_clause_in_the_full_text(live: LiveServer, phone: Page) -> None:
    phone.goto(live.url + "/measures/d001-03")
    phone.get_by_role("link", name="查看原文（第三条在文件中的位置）").click()
    expect(phone).to_have_url(f"{live.url}/documents/d001#d001-03")
    clause = phone.locator("#d001-03")
    expect(clause).to_be_in_viewport()
    expect(clause).to_contain_text("（三）引导产业创新研发。")
    clause.get_by_role("link", name="本条在平台中的说明：").click()
    expect(phone).to_have_url(f"{live.url}/measures/d001-03")


def test_library_works_without_javascript(live: LiveServer, chromium) -> None:  # type: ignore[no-untyped-def]
    page = new_page(chromium, PHONE, java_script_enabled=False)
    try:
        page.goto(live.url + "/measures")
        page.fill("input[name=q]", "化妆品")
        page.click(".library-search button[type=submit]")
        expect(page.locator("p.count")).not_to_have_text(f"共 {default_count()} 条")
        assert "q=%E5%8C%96" in page.url
        expect(page.locator("#results mark").first).to_have_text("化妆品")
        page.click("details.filter-panel summary")  # <details> opens without script
        page.select_option("select[name=audience]", "all")
        page.click(".filter-actions button[type=submit]")
        assert "audience=all" in page.url
        expect(page.locator("details.filter-panel summary")).to_have_text("筛选（已选 1 项）")
    finally:
        page.context.close()


def test_desktop_layout(live: LiveServer, chromium) -> None:  # type: ignore[no-untyped-def]
    page = new_page(chromium, DESKTOP)
    try:
        page.goto(live.url + "/measures")
        assert no_horizontal_scroll(page)
        box = page.locator("form.filters").bounding_box()
        assert box and box["width"] > 900
        page.click("details.filter-panel summary")
        first, last = page.locator(".filter-fields select").first, page.locator(".filter-fields select").nth(2)
        a, b = first.bounding_box(), last.bounding_box()
        assert a and b and abs(a["y"] - b["y"]) < 2  # three filters side by side on a wide screen
    finally:
        page.context.close()
