"""Browser tests: the real app on a local port, driven by Debian's Chromium through Playwright."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser as PwBrowser
from playwright.sync_api import Page, sync_playwright

from tests.browser.audit import AuditedBrowser
from tests.browser.factories import CHROMIUM, CHROMIUM_ARGS, DESKTOP, PHONE, LiveServer, new_page
from tests.factories import make_user


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium() -> Iterator[PwBrowser]:
    """Chromium whose contexts are audited with axe-core on every page they visit (tests/browser/audit.py)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield AuditedBrowser(browser)  # type: ignore[misc]
        browser.close()


@pytest.fixture(autouse=True)
def accessibility_audit(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a browser test when a page it visited has WCAG 2.2 A/AA violations (axe-core)."""
    yield
    if "chromium" not in request.fixturenames:
        return
    browser: AuditedBrowser = request.getfixturevalue("chromium")
    browser.audit_open_contexts()
    found, browser.violations = browser.violations, []
    assert not found, "axe-core found WCAG 2.2 AA violations:\n" + "\n".join(found)


@pytest.fixture()
def live_app(app: Flask) -> Flask:
    """The test app (same database, same clean-up) that the live server serves."""
    return app


@pytest.fixture()
def live(live_app: Flask) -> Iterator[LiveServer]:
    with LiveServer(live_app) as server:
        yield server


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


@pytest.fixture()
def enterprise_account(live_app: Flask) -> dict[str, Any]:
    return make_user(live_app, "enterprise", enterprise="浏览器测试企业")
