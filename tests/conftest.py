"""Shared fixtures. The suite runs on SQLite by default and on PostgreSQL when TEST_DATABASE_URL is set."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from portal import create_app, migrate
from portal.config import TestingConfig
from portal.db import make_engine
from portal.extensions import db

TEST_DAY = "2026-06-01"
PASSWORD = "correct-horse-42"


def _postgres_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL") or None


@contextmanager
def empty_database(sqlite_dir: Path, prefix: str = "t") -> Iterator[str]:
    """An empty database: a SQLite file in `sqlite_dir`, or a fresh schema of TEST_DATABASE_URL (dropped after)."""
    pg = _postgres_url()
    if pg is None:
        yield f"sqlite:///{sqlite_dir / 'portal.db'}"
        return
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = make_engine(pg)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in pg else "?"
    try:
        yield f"{pg}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated, empty database for the session: a temp SQLite file or a fresh PostgreSQL schema."""
    with empty_database(tmp_path_factory.mktemp("db")) as url:
        migrate.upgrade(url, "head")
        yield url


def settings_for_tests(**overrides: Any) -> dict[str, Any]:
    """TestingConfig as a dict, so one test can change a value without touching others."""
    cfg = TestingConfig()
    settings = {name: getattr(cfg, name) for name in dir(cfg) if name.isupper()}
    settings.update(PORTAL_TODAY=TEST_DAY)
    settings.update(overrides)
    return settings


@pytest.fixture()
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = create_app(settings_for_tests(DATABASE_URL=database_url, UPLOAD_DIR=tmp_path / "uploads",
                                   PDF_CACHE_DIR=tmp_path / "pdf"))
    yield app
    _truncate(app)


def _truncate(app: Flask) -> None:
    from sqlmodel import SQLModel

    import portal.models  # noqa: F401 - registers the tables

    with app.app_context(), db.engine.begin() as conn:
        for table in reversed(SQLModel.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


class Browser:
    """A test client that behaves like a user's browser: reads the CSRF token from pages."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.token = ""

    def get(self, url: str, **kw: Any):  # type: ignore[no-untyped-def]
        resp = self.client.get(url, **kw)
        if resp.mimetype == "text/html":
            body = resp.get_data(as_text=True)
            if 'name="csrf_token"' in body:
                self.token = csrf_from(body)
        return resp

    def post(self, url: str, data: dict[str, Any] | None = None, **kw: Any):  # type: ignore[no-untyped-def]
        if not self.token:
            self.get("/login")
        payload = dict(data or {})
        payload.setdefault("csrf_token", self.token)
        return self.client.post(url, data=payload, **kw)

    def login(self, email: str, password: str = PASSWORD) -> None:
        resp = self.post("/login", {"email": email, "password": password})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]


@pytest.fixture()
def browser(client: FlaskClient) -> Browser:
    return Browser(client)


def make_user(app: Flask, role: str, email: str | None = None, unit: str | None = None,
              enterprise: str = "测试企业") -> dict[str, Any]:
    from portal.services import accounts

    email = email or f"{role}-{uuid.uuid4().hex[:8]}@example.com"
    with app.app_context(), db.standalone() as session:
        if role == "enterprise":
            # Verified, as after following the mailed link: most tests are about what comes after.
            user = accounts.register_enterprise(session, enterprise, "员工", email, PASSWORD, verified=True)
        else:
            user = accounts.create_user(session, email=email, name=role, password=PASSWORD, role=role,
                                        service_unit_id=unit)
        return {"id": user.id, "email": email, "enterprise_id": user.enterprise_id}


@pytest.fixture()
def enterprise_user(app: Flask) -> dict[str, Any]:
    return make_user(app, "enterprise")


@pytest.fixture()
def logged_in(browser: Browser, enterprise_user: dict[str, Any]) -> Browser:
    browser.login(enterprise_user["email"])
    return browser
