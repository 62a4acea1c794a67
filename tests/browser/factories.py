"""Helpers the browser test modules share: the live server, Chromium pages, signing in, layout checks."""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask
from playwright.sync_api import Browser as PwBrowser
from playwright.sync_api import Page
from werkzeug.serving import make_server

from tests.factories import PASSWORD

CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-extensions", "--no-first-run"]


class LiveServer:
    """The app served on a free local port from a thread, for the duration of a `with` block."""

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


def new_page(chromium: PwBrowser, viewport: dict[str, int], **kw: Any) -> Page:
    context = chromium.new_context(**{"viewport": viewport, "locale": "zh-CN", "accept_downloads": True, **kw})
    context.set_default_timeout(10_000)
    return context.new_page()


def login(page: Page, base: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit].primary")
    page.wait_for_load_state()
    assert "/login" not in page.url, page.content()[:500]


def no_horizontal_scroll(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
