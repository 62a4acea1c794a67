"""A queued PDF in a real browser: the download opens a progress page that follows the job by itself (htmx)
and offers the file when the worker is done; on a phone, with the state read out to screen readers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlmodel import select

from portal.extensions import db
from portal.models import PdfJob
from portal.services import pdf_jobs
from tests.browser.factories import LiveServer, login, no_horizontal_scroll
from tests.factories import ZONE_DEVICE_MAKER, app_with_queue, set_answers


@pytest.fixture()
def live_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The served app queues its PDFs in a real queue file; this test plays the worker."""
    with app_with_queue(database_url, tmp_path) as app:
        yield app


def test_the_progress_page_follows_the_job_and_offers_the_file(live: LiveServer, live_app: Flask, phone: Page,
                                                               enterprise_account: dict[str, Any]) -> None:
    set_answers(live_app, enterprise_account, {**ZONE_DEVICE_MAKER, "enterprise_name": "浏览器测试企业"})
    login(phone, live.url, enterprise_account["email"])
    phone.goto(f"{live.url}/results")
    phone.get_by_role("link", name="下载匹配报告（PDF）").click()
    phone.wait_for_url(f"{live.url}/app/documents/*")
    status = phone.locator(".pdf-job").get_by_role("status")  # the page's own live region
    expect(status).to_contain_text("排队中")
    assert no_horizontal_scroll(phone)

    with live_app.app_context():  # the worker's turn
        job = db.session.exec(select(PdfJob)).one()
        pdf_jobs.run(job.id or 0)

    # No reload: the page asks again by itself and the live region now offers the file.
    url = phone.url
    expect(status).to_contain_text("已完成", timeout=5000)
    assert phone.url == url
    with phone.expect_download() as download:
        status.get_by_role("link", name="下载 PDF").click()
    assert Path(download.value.path()).read_bytes()[:5] == b"%PDF-"
