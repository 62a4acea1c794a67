"""A reviewer's desk in a real browser at 1280×800 (issue 12's must-show): three enterprises apply for the same
measure; a reviewer of the routed unit reads the dashboard (counts, SVG chart, by-measure table), works the queue
with the keyboard — 材料齐全 on the first, 需补正 (refused without a comment, then with one) on the second,
审核通过 on the third — sees the dashboard follow, and exports the queue as an Excel workbook with real dates."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook
from playwright.sync_api import Locator, Page, expect

from portal.services.timelimits import add_months
from tests.browser.factories import LiveServer, login, no_horizontal_scroll
from tests.factories import MEASURE, UNIT, ZONE_DEVICE_MAKER, enterprise, make_user, submission_id, submit

pytestmark = pytest.mark.usefixtures("fake_pdf")  # WeasyPrint is not under test here

ENTERPRISES = ("甲一医疗器械有限公司", "乙二医疗器械有限公司", "丙三医疗器械有限公司")
REFERENCE = re.compile(r"^QXZC-2026-00000[1-3]$")
DETAIL_URL = re.compile(r"/review/\d+$")
CLOCK = re.compile(r"材料齐全 (\d{4}-\d{2}-\d{2}) 起 3 个月，至 (\d{4}-\d{2}-\d{2})")
SHOT = "/tmp/desk-dashboard.png"


def figure(page: Page, term: str) -> Locator:
    """The number under one heading of the dashboard's figures (申请总数, 待打开, 办结 …)."""
    heading = page.locator("dt", has_text=re.compile(f"^{term}$"))
    return page.locator(".figures > div").filter(has=heading).locator("dd")


def status_count(page: Page, status_zh: str) -> Locator:
    """The count cell of one row of the dashboard's by-status table."""
    return page.locator("table.compact tr").filter(
        has=page.get_by_role("rowheader", name=status_zh, exact=True)).get_by_role("cell")


def measure_row(page: Page) -> Locator:
    section = page.locator("section.card").filter(has=page.get_by_role("heading", name="按措施"))
    return section.get_by_role("row").filter(has_text=MEASURE)


def arrived(page: Page) -> None:
    """Wait until the application page a click or key led to has loaded, its shortcut script included."""
    expect(page).to_have_url(DETAIL_URL)
    page.wait_for_load_state("load")


def reference_of(page: Page) -> str:
    text = page.locator("strong.reference").inner_text().strip()
    assert REFERENCE.match(text), text
    return text


def test_reviewer_works_three_applications_with_the_dashboard(live: LiveServer, live_app: Flask,
                                                              desktop: Page) -> None:
    base = live.url
    # -- three enterprises (three accounts) apply, through the test client: not what is under test here
    for name in ENTERPRISES:
        _, ent = enterprise(live_app, {**ZONE_DEVICE_MAKER, "enterprise_name": name}, name=name)
        submission_id(submit(ent))
    reviewer: dict[str, Any] = make_user(live_app, "reviewer", unit=UNIT)

    page = desktop
    assert page.viewport_size == {"width": 1280, "height": 800}
    login(page, base, reviewer["email"])

    # -- the dashboard before any work: 3 applications, all 3 unopened
    page.goto(f"{base}/review/dashboard")
    expect(page.get_by_role("heading", level=1)).to_have_text("本单位概览")
    expect(figure(page, "申请总数")).to_have_text("3")
    expect(figure(page, "待打开")).to_have_text("3")
    expect(figure(page, "办结")).to_have_text("0")
    chart = page.locator("figure.chart").get_by_role("img")
    expect(chart).to_have_count(1)
    assert chart.evaluate("el => el.tagName.toLowerCase()") == "svg"
    expect(chart).to_have_attribute("aria-label", re.compile(r"已提交 3 件"))
    expect(status_count(page, "已提交")).to_have_text("3")
    expect(measure_row(page).get_by_role("cell")).to_have_text(["3", "3"])  # applications, still open
    assert no_horizontal_scroll(page)

    # -- the queue, by keyboard: J focuses the first row, Enter opens it and starts its review
    page.goto(f"{base}/review/")
    rows = page.locator("table.queue tbody tr")
    expect(rows).to_have_count(3)
    first_link = rows.first.get_by_role("link").first
    first_ref = first_link.inner_text().strip()
    expect(rows.first.locator(".tag")).to_have_text("已提交")
    page.keyboard.press("j")
    expect(first_link).to_be_focused()
    page.keyboard.press("Enter")
    arrived(page)
    expect(page.locator(".status .tag").first).to_have_text("审核中")
    ref1, url1 = reference_of(page), page.url
    assert ref1 == first_ref

    # -- application 1: M chooses 材料齐全 and puts the cursor in the comment; submit and open the next
    page.keyboard.press("m")
    expect(page.get_by_role("radio", name=re.compile("^材料齐全"))).to_be_checked()
    expect(page.get_by_role("textbox", name=re.compile("^意见"))).to_be_focused()
    page.get_by_role("button", name="提交并打开下一份").click()
    expect(page).not_to_have_url(url1)
    arrived(page)
    expect(page.locator(".flash")).to_contain_text(f"{ref1} 已更新：审核中，材料齐全，已开始计算办理时限。")
    ref2, url2 = reference_of(page), page.url
    assert ref2 != ref1
    expect(page.locator(".status .tag").first).to_have_text("审核中")  # opening it started its review

    # application 1 now shows when the materials were complete and its running clock
    page.goto(url1)
    complete_at = page.locator("dl.contact dt", has_text="材料齐全").locator("xpath=following-sibling::dd[1]")
    expect(complete_at).to_have_text(re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}$"))
    limit = page.locator("p.limit")
    expect(limit).to_have_text(CLOCK)
    started, deadline = CLOCK.search(limit.inner_text()).groups()  # type: ignore[union-attr]
    assert dt.date.fromisoformat(deadline) == add_months(dt.date.fromisoformat(started), 3)
    expect(page.get_by_role("radio", name=re.compile("^材料齐全"))).to_have_count(0)  # decided once

    # -- application 2: R chooses 需补正; an empty comment is refused (422) and nothing changes
    page.goto(url2)
    page.keyboard.press("r")
    returned = page.get_by_role("radio", name=re.compile("^需补正"))
    expect(returned).to_be_checked()
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/action")) as refused:
        page.get_by_role("button", name="提交并打开下一份").click()
    assert refused.value.status == 422
    expect(page.get_by_role("alert")).to_contain_text("请填写意见")
    assert reference_of(page) == ref2
    expect(page.locator(".status .tag").first).to_have_text("审核中")
    expect(returned).to_be_checked()  # the choice is kept for the second try
    page.get_by_role("textbox", name=re.compile("^意见")).fill("请补充产品检验报告的盖章扫描件")
    page.get_by_role("button", name="提交并打开下一份").click()
    arrived(page)
    expect(page.locator(".flash")).to_contain_text(f"{ref2} 已更新：退回补充材料。")
    ref3 = reference_of(page)
    assert ref3 not in (ref1, ref2)
    expect(page.locator(".status .tag").first).to_have_text("审核中")

    # -- application 3: A chooses 审核通过; no comment needed
    page.keyboard.press("a")
    expect(page.get_by_role("radio", name=re.compile("^审核通过"))).to_be_checked()
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.locator(".flash")).to_contain_text(f"{ref3} 已更新：已通过。")
    expect(page.locator(".status .tag").first).to_have_text("已通过")
    actions = page.get_by_role("group", name=re.compile("^操作"))
    expect(actions.get_by_role("radio")).to_have_count(1)  # decided: only a comment is left
    expect(page.get_by_role("radio", name=re.compile("^仅添加意见"))).to_be_visible()
    assert no_horizontal_scroll(page)

    # -- the dashboard follows: 1 审核中, 1 退回补充材料, 1 已通过; 办结 1
    page.goto(f"{base}/review/dashboard")
    expect(figure(page, "申请总数")).to_have_text("3")
    expect(figure(page, "待打开")).to_have_text("0")
    expect(figure(page, "办结")).to_have_text("1")
    for status_zh, count in (("已提交", "0"), ("审核中", "1"), ("退回补充材料", "1"), ("已通过", "1"), ("未通过", "0")):
        expect(status_count(page, status_zh)).to_have_text(count)
    expect(chart).to_have_attribute(
        "aria-label", re.compile(r"已提交 0 件；.*审核中 1 件；退回补充材料 1 件；已通过 1 件；未通过 0 件$"))
    expect(measure_row(page).get_by_role("cell")).to_have_text(["3", "2"])
    assert no_horizontal_scroll(page)
    page.screenshot(path=SHOT, full_page=True)

    # -- the queue offers exports; the workbook opens, one row per application, with real dates
    page.goto(f"{base}/review/")
    expect(page.get_by_role("link", name="CSV", exact=True)).to_be_visible()
    excel = page.get_by_role("link", name="Excel", exact=True)
    href = excel.get_attribute("href")
    assert href
    resp = page.request.get(base + href)
    assert resp.status == 200 and resp.body()[:2] == b"PK"
    sheet = load_workbook(io.BytesIO(resp.body())).active
    assert sheet is not None
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    head, body = values[0], values[1:]
    assert len(body) == 3
    assert sorted(r[head.index("受理编号")] for r in body) == sorted([ref1, ref2, ref3])
    assert sorted(r[head.index("状态")] for r in body) == ["审核中", "已通过", "退回补充材料"]
    submitted_col = head.index("提交时间（北京时间）")
    assert all(isinstance(r[submitted_col], dt.datetime) for r in body)
