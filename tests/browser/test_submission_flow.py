"""The whole application path in a real browser: an enterprise on a phone answers, applies and uploads;
a reviewer on a desktop returns it; the enterprise resubmits; the reviewer approves; both see the history."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from playwright.sync_api import Page, expect

from tests.browser.factories import LiveServer, login, no_horizontal_scroll
from tests.factories import PDF, PNG, UNIT, make_user, set_answers

MEASURE = "d000-03"


def answer_step(page: Page, base: str, code: str, values: list[str]) -> None:
    """Tick the given options on one questionnaire step, then 保存并继续."""
    page.goto(f"{base}/q/{code}")
    for value in values:
        page.locator(f"#step input[value='{value}']").check()
    page.get_by_role("button", name="保存并继续").click()
    page.wait_for_load_state()
    expect(page).not_to_have_url(f"{base}/q/{code}")


def test_apply_return_resubmit_approve(live: LiveServer, live_app: Flask, phone: Page, desktop: Page,
                                       enterprise_account: dict[str, Any]) -> None:
    base = live.url
    set_answers(live_app, enterprise_account, {"enterprise_name": "浏览器测试医疗器械有限公司"})
    reviewer = make_user(live_app, "reviewer", unit=UNIT)

    # -- enterprise, on a phone: a few answers through the questionnaire pages
    login(phone, base, enterprise_account["email"])
    answer_step(phone, base, "location", ["zhonghan_zone"])
    answer_step(phone, base, "business", ["medical_device"])
    answer_step(phone, base, "roles", ["device_registrant"])
    answer_step(phone, base, "devices", ["class2_innovative"])

    phone.goto(f"{base}/results")
    card = phone.locator(f"#r-{MEASURE}")
    expect(card).to_contain_text("您的回答满足")
    card.locator("summary").click()  # one line per measure on a phone; the card opens on tap
    assert no_horizontal_scroll(phone)
    with phone.expect_download() as prefilled:  # the pre-filled form, to print, sign and seal
        card.get_by_role("link", name="下载预填申请表（PDF）").click()
    assert Path(prefilled.value.path()).read_bytes()[:5] == b"%PDF-"
    card.get_by_role("link", name="提交申请").click()
    expect(phone.locator("h1")).to_contain_text("提交申请：提高审批效能")
    assert no_horizontal_scroll(phone)
    expect(phone.get_by_role("link", name="先下载申请表 PDF 核对")).to_be_visible()
    phone.locator(f"input[name=unit][value='{UNIT}']").check()
    phone.set_input_files("#files", [
        {"name": "营业执照.png", "mimeType": "image/png", "buffer": PNG},
        {"name": "检验报告.pdf", "mimeType": "application/pdf", "buffer": PDF},
    ])
    phone.get_by_role("button", name="确认提交申请").click()
    expect(phone.locator(".flash")).to_contain_text("申请已提交")
    expect(phone.locator("main")).to_contain_text("营业执照.png")
    expect(phone.locator(".receipt")).to_contain_text("QXZC-2026-000001")  # the receipt, with the reference
    expect(phone.locator(".receipt")).to_contain_text("3个月内完成注册审批")
    assert no_horizontal_scroll(phone)
    submission_url = phone.url
    with phone.expect_download() as frozen:
        phone.get_by_role("link", name="下载提交时的申请表 PDF").click()
    assert Path(frozen.value.path()).read_bytes()[:5] == b"%PDF-"

    # -- reviewer, on a desktop: queue (htmx filter), detail, return with a comment
    login(desktop, base, reviewer["email"])
    desktop.goto(f"{base}/review/")
    expect(desktop.locator("#results")).to_contain_text("浏览器测试医疗器械有限公司")
    desktop.select_option("select[name=status]", "approved")
    expect(desktop.locator("#results")).to_contain_text("没有符合条件的申请")
    assert "status=approved" in desktop.url  # pushed, so reload keeps the filter
    desktop.select_option("select[name=status]", "submitted")
    expect(desktop.locator("#results")).to_contain_text("浏览器测试医疗器械有限公司")
    desktop.locator("#results a", has_text="浏览器测试医疗器械有限公司").click()
    expect(desktop.locator("main")).to_contain_text("中韩(长春)国际合作示范区")  # frozen answers with labels
    expect(desktop.locator(".status")).to_contain_text("审核中")  # opening it started the review
    with desktop.expect_download() as attachment:
        desktop.get_by_role("link", name="营业执照.png").click()
    assert attachment.value.suggested_filename == "营业执照.png"

    def review(action: str, comment: str) -> None:
        desktop.locator(f"input[name=action][value={action}]").check()
        desktop.fill("textarea[name=comment]", comment)
        desktop.get_by_role("button", name="提交", exact=True).click()
        expect(desktop.locator(".flash")).to_contain_text("已更新")

    review("return", "请补充产品检验报告的盖章扫描件")

    # -- enterprise sees the comment (and a notification), adds what is asked, resubmits
    phone.goto(f"{base}/notifications")
    expect(phone.locator("main")).to_contain_text("需补正")
    phone.get_by_role("button", name="查看").first.click()
    expect(phone).to_have_url(submission_url)
    expect(phone.locator("#return-comment")).to_contain_text("请补充产品检验报告的盖章扫描件")
    phone.set_input_files("#files", [{"name": "盖章检验报告.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    phone.get_by_role("button", name="上传", exact=True).click()
    expect(phone.locator(".flash")).to_contain_text("盖章检验报告.pdf")
    phone.fill("textarea[name=note]", "已上传盖章的检验报告扫描件")
    phone.get_by_role("button", name="重新提交").click()
    expect(phone.locator(".flash")).to_contain_text("已重新提交")
    assert no_horizontal_scroll(phone)

    # -- reviewer approves
    desktop.reload()
    expect(desktop.locator("main")).to_contain_text("已上传盖章的检验报告扫描件")
    expect(desktop.locator("main")).to_contain_text("盖章检验报告.pdf")
    expect(desktop.locator(".resubmission")).to_contain_text("新增附件：盖章检验报告.pdf")
    review("materials_complete", "")
    expect(desktop.locator(".limit")).to_contain_text("起 3 个月")
    review("approve", "材料齐全，予以通过")
    history = desktop.locator(".timeline")
    for text in ("请补充产品检验报告的盖章扫描件", "已上传盖章的检验报告扫描件", "予以通过"):
        expect(history).to_contain_text(text)
    assert no_horizontal_scroll(desktop)

    # -- both see the whole history
    phone.reload()
    expect(phone.locator(".status")).to_contain_text("已通过")
    timeline = phone.locator(".timeline")
    for text in ("已提交", "请补充产品检验报告的盖章扫描件", "已上传盖章的检验报告扫描件", "予以通过"):
        expect(timeline).to_contain_text(text)
    expect(phone.locator("input[type=file]")).to_have_count(0)  # nothing editable after a decision
