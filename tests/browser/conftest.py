"""Browser tests: the real app on a local port, driven by Debian's Chromium through Playwright."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser as PwBrowser
from playwright.sync_api import Page, sync_playwright
from werkzeug.serving import make_server

from tests.conftest import PASSWORD, make_user

CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-extensions", "--no-first-run"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium() -> Iterator[PwBrowser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class LiveServer:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture()
def live_app(app: Flask) -> Flask:
    """The test app (same database, same clean-up) that the live server serves."""
    return app


@pytest.fixture()
def live(live_app: Flask) -> Iterator[LiveServer]:
    with LiveServer(live_app) as server:
        yield server


def new_page(chromium: PwBrowser, viewport: dict[str, int], **kw: Any) -> Page:
    context = chromium.new_context(viewport=viewport, locale="zh-CN", accept_downloads=True, **kw)
    context.set_default_timeout(10_000)
    return context.new_page()


@pytest.fixture()
def phone(chromium: PwBrowser) -> Iterator[Page]:
    page = new_page(chromium, PHONE, is_mobile=True, has_touch=True)
    yield page
    page.context.close()


@pytest.fixture()
def desktop(chromium: PwBrowser) -> Iterator[Page]:
    page = new_page(chromium, DESKTOP)
    yield page
    page.context.close()


def login(page: Page, base: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit].primary")
    page.wait_for_load_state()
    assert "/login" not in page.url, page.content()[:500]


def no_horizontal_scroll(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.fixture()
def enterprise_account(live_app: Flask) -> dict[str, Any]:
    return make_user(live_app, "enterprise", enterprise="浏览器测试企业")
