"""What `make run` does — migrate, seed demo data, serve with gunicorn — opened in a real browser."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.factories import DESKTOP, PHONE, login, new_page, no_horizontal_scroll
from tests.factories import empty_database

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The SQLite default in the SQLite run; DATABASE_URL pointing at PostgreSQL in the PostgreSQL run."""
    instance = tmp_path_factory.mktemp("instance")
    with empty_database(instance, "s") as database_url:
        env = {**os.environ, "PORTAL_INSTANCE": str(instance), "PORTAL_ENV": "development"}
        env.pop("DATABASE_URL", None)
        if database_url.startswith("postgresql"):
            env["DATABASE_URL"] = database_url
        yield from _serve(env, instance, sqlite=not database_url.startswith("postgresql"))


def _serve(env: dict[str, str], instance: Path, sqlite: bool) -> Iterator[str]:
    for args in (["db", "upgrade"], ["seed"], ["seed"]):  # seeding twice changes nothing
        subprocess.run([str(BIN / "portal"), *args], env=env, check=True, capture_output=True, timeout=120)
    port = _free_port()
    proc = subprocess.Popen([str(BIN / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}",
                             "portal:create_app()"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=1) as resp:  # noqa: S310 - local test server
                    if resp.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not come up")
        assert (instance / "portal.db").exists() == sqlite and (instance / "secret_key").exists()
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone-360x740", "desktop-1280x800"])
def test_served_portal_opens_on_phone_and_desktop(served: str, chromium, viewport: dict) -> None:  # type: ignore[no-untyped-def]
    page = new_page(chromium, viewport)
    try:
        page.goto(served + "/")
        expect(page.locator("h1")).to_contain_text("扶持政策")
        assert no_horizontal_scroll(page)
        login(page, served, "staff@demo.invalid", "demo-pass-2026")
        expect(page.locator("h1")).to_contain_text("演示数据")
        page.goto(served + "/results")
        expect(page.locator("#summary")).to_contain_text("可以申请")
        assert no_horizontal_scroll(page)
    finally:
        page.context.close()
