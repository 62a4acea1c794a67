"""Builders shared by the test modules: settings, users, a CSRF-aware client, applications and their reviews.

Fixtures live in conftest.py; everything a test module imports lives here, so no test module imports another.
"""

from __future__ import annotations

import hashlib
import io
import json
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

from portal.config import TestingConfig
from portal.db import make_engine
from portal.extensions import db
from portal.models import IssuedDocument, Submission
from portal.services import answers as answer_service

TEST_DAY = "2026-06-01"
PASSWORD = "correct-horse-42"

# A Class II innovative device maker in the 中韩示范区: eligible for 000（三）(90-day time limit),
# whose service points include the 中韩示范服务站.
ZONE_DEVICE_MAKER = {
    "enterprise_name": "吉林测试医疗器械有限公司",
    "location": "zhonghan_zone",
    "sectors": ["medical_device"],
    "roles": ["device_registrant"],
    "device_classes": ["class2"],
    "device_procedures": ["class2_innovative"],
}
MEASURE = "d000-03"  # lead unit 医疗器械注册处; the clause prints no service point
UNIT = "jlmpa-device-registration"  # where applications for MEASURE go (its lead unit)
PDF = b"%PDF-1.7\n% test document\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


# -- databases and settings --------------------------------------------------------------------
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


def settings_for_tests(**overrides: Any) -> dict[str, Any]:
    """TestingConfig as a dict, so one test can change a value without touching others."""
    cfg = TestingConfig()
    settings = {name: getattr(cfg, name) for name in dir(cfg) if name.isupper()}
    settings.update(PORTAL_TODAY=TEST_DAY)
    settings.update(overrides)
    return settings


@contextmanager
def app_with_queue(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """An app whose tasks go to a real SQLite queue file, which nothing consumes unless a test runs the worker."""
    from portal import create_app
    from portal.tasks import huey

    app = create_app(settings_for_tests(DATABASE_URL=database_url, UPLOAD_DIR=tmp_path / "uploads",
                                        PDF_CACHE_DIR=tmp_path / "pdf", TASKS_IMMEDIATE=False,
                                        TASKS_DB=tmp_path / "tasks.db", REDIS_URL=""))
    try:
        yield app
    finally:
        truncate(app)
        huey.immediate = True  # the next app configures the queue again; leave no file-backed queue behind


def truncate(app: Flask) -> None:
    """Empty every table of the app's database (the schema stays): the next test starts clean."""
    from sqlmodel import SQLModel

    import portal.models  # noqa: F401 - registers the tables

    with app.app_context(), db.engine.begin() as conn:
        for table in reversed(SQLModel.metadata.sorted_tables):
            conn.execute(table.delete())


# -- users and their browsers ------------------------------------------------------------------
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


def set_answers(app: Flask, user: dict[str, Any], answers: dict[str, Any]) -> None:
    with app.app_context(), db.standalone() as session:
        for name, value in answers.items():
            answer_service.save_answer(session, user["enterprise_id"], user["id"], name, value, None)


def autosave(browser: Browser, **answers: object) -> None:
    """Answer questions as the questionnaire's autosave does, one POST each (a list sends its `__present`)."""
    for name, value in answers.items():
        data: dict[str, Any] = {name: value}
        if isinstance(value, list):
            data[f"{name}__present"] = "1"
        assert browser.post(f"/q/answer/{name}", data).status_code == 200


def enterprise(app: Flask, answers: dict[str, Any] | None = None, name: str = "测试企业") -> tuple[dict, Browser]:
    """A signed-in enterprise user with the given answers."""
    user = make_user(app, "enterprise", enterprise=name)
    set_answers(app, user, ZONE_DEVICE_MAKER if answers is None else answers)
    browser = Browser(app.test_client())
    browser.login(user["email"])
    return user, browser


def signed_in(app: Flask, role: str, unit: str | None = None) -> tuple[dict, Browser]:
    """A new user of `role` and a browser signed in as them."""
    user = make_user(app, role, unit=unit)
    browser = Browser(app.test_client())
    browser.login(user["email"])
    return user, browser


def reviewer(app: Flask, unit: str = UNIT) -> tuple[dict, Browser]:
    return signed_in(app, "reviewer", unit)


# -- applications and their review -------------------------------------------------------------
def token_of(html: str) -> str:
    match = re.search(r'name="idempotency_key" value="([^"]+)"', html)
    assert match, "the form has no idempotency key"
    return match.group(1)


def submit(browser: Browser, measure: str = MEASURE, unit: str = UNIT, files: list | None = None,
           token: str | None = None):  # type: ignore[no-untyped-def]
    page = browser.get(f"/app/submissions/new/{measure}")
    data: dict[str, Any] = {"unit": unit, "idempotency_key": token or token_of(page.get_data(as_text=True))}
    if files:
        data["files"] = [(io.BytesIO(content), name) for name, content in files]
    return browser.post(f"/app/submissions/new/{measure}", data)


def submission_id(resp) -> int:  # type: ignore[no-untyped-def]
    assert resp.status_code == 303, resp.get_data(as_text=True)[:2000]
    return int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[-1])


def load(app: Flask, sid: int) -> Submission:
    with app.app_context():
        sub = db.session.get(Submission, sid)
        assert sub is not None
        return sub


def act(browser: Browser, sid: int, action: str, comment: str = "意见", visibility: str = "enterprise",
        **extra: str):  # type: ignore[no-untyped-def]
    browser.get(f"/review/{sid}")  # opening an application nobody has opened starts its review
    return browser.post(f"/review/{sid}/action", {"action": action, "comment": comment, "visibility": visibility,
                                                  **extra})


def fake_pdf_renderer(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Put a tiny stand-in for the WeasyPrint renderer (seconds per render) in place; returns the measures rendered."""
    from portal.db import db
    from portal.services import pdf_jobs

    calls: list[str] = []

    def issue_and_wait(session, enterprise_id, profile, measure_id, today, base_url,  # type: ignore[no-untyped-def]
                       cache_dir, *, reference="", timeout=None):
        session.rollback()  # like the real one: no read snapshot held while "rendering"
        data = PDF + json.dumps([measure_id, enterprise_id, uuid.uuid4().hex]).encode()
        digest = hashlib.sha256(data).hexdigest()
        path = Path(cache_dir) / f"application-{digest[:12]}.pdf"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        with db.standalone() as writer:
            doc = IssuedDocument(short_code=digest[:10].upper(), kind="application", enterprise_id=enterprise_id,
                                 enterprise_name=str(profile.get("enterprise_name", "")), measure_id=measure_id,
                                 input_hash=digest, sha256=digest, path=str(path))
            writer.add(doc)
            writer.commit()
        calls.append(measure_id)
        return doc, data, f"{measure_id}.pdf"

    monkeypatch.setattr(pdf_jobs, "issue_and_wait", issue_and_wait)
    return calls
