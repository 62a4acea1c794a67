"""Shared fixtures. The suite runs on SQLite by default and on PostgreSQL when TEST_DATABASE_URL is set.

Builders and helpers that test modules import are in tests/factories.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal import create_app, migrate
from tests.factories import Browser, empty_database, fake_pdf_renderer, make_user, settings_for_tests, truncate


def pytest_sessionstart(session: pytest.Session) -> None:
    """Tests read the compiled ko/en catalogs: compile them when a .po is newer (as `make test` does)."""
    from portal.i18n import CATALOG_LANGUAGES, compile_catalogs, po_path

    if any(not po_path(lang).with_suffix(".mo").exists()
           or po_path(lang).with_suffix(".mo").stat().st_mtime < po_path(lang).stat().st_mtime
           for lang in CATALOG_LANGUAGES):
        compile_catalogs()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated, empty database for the session: a temp SQLite file or a fresh PostgreSQL schema."""
    with empty_database(tmp_path_factory.mktemp("db")) as url:
        migrate.upgrade(url, "head")
        yield url


@pytest.fixture()
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = create_app(settings_for_tests(DATABASE_URL=database_url, UPLOAD_DIR=tmp_path / "uploads",
                                   PDF_CACHE_DIR=tmp_path / "pdf"))
    yield app
    truncate(app)


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture()
def browser(client: FlaskClient) -> Browser:
    return Browser(client)


@pytest.fixture()
def enterprise_user(app: Flask) -> dict[str, Any]:
    return make_user(app, "enterprise")


@pytest.fixture()
def logged_in(browser: Browser, enterprise_user: dict[str, Any]) -> Browser:
    browser.login(enterprise_user["email"])
    return browser


@pytest.fixture()
def fake_pdf(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A tiny stand-in for the WeasyPrint renderer; modules that submit applications use it for every test
    (`pytestmark = pytest.mark.usefixtures("fake_pdf")`), and `monkeypatch.undo()` brings back the real one."""
    return fake_pdf_renderer(monkeypatch)
