"""Retention and quotas: `portal pdf-cache clean` and the per-enterprise upload quota."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlmodel import func, select

from portal.extensions import db
from portal.models import Attachment, IssuedDocument, Submission
from portal.pdf.render import RenderedPdf
from portal.pdf.request import short_code_for
from portal.services import pdf_jobs, pdfs
from portal.services.answers import profile_of
from tests.factories import PDF, ZONE_DEVICE_MAKER, enterprise, submission_id, submit

pytestmark = pytest.mark.usefixtures("fake_pdf")  # WeasyPrint is not under test here

real_issue = pdf_jobs.issue_and_wait  # fake_pdf replaces it during each test; reports below use the real one
MB = 1024 * 1024


@pytest.fixture()
def renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A deterministic stand-in for WeasyPrint under the real download/cache logic; records each render."""
    calls: list[str] = []

    def render_request(request: Any, *, short_code: str | None = None, timeout: float | None = None) -> RenderedPdf:
        code = short_code or short_code_for(request.input_hash)
        data = b"%PDF-1.7\n% report " + code.encode() + request.input_hash.encode() + b"\n" + b"x" * 1000
        calls.append(code)
        return RenderedPdf(data=data, sha256=hashlib.sha256(data).hexdigest(), short_code=code,
                           input_hash=request.input_hash, filename="report.pdf", kind=request.kind,
                           measure_id=request.measure_id)

    monkeypatch.setattr(pdfs, "render_request", render_request)
    monkeypatch.setattr(pdf_jobs, "render_request", render_request)
    return calls


def _report(app: Flask, enterprise_id: int, day: dt.date) -> IssuedDocument:
    with app.app_context():
        profile = profile_of(db.session, enterprise_id)
        doc, _data, _name = real_issue(db.session, enterprise_id, profile, None, day, "https://portal.example.cn",
                                       Path(app.config["PDF_CACHE_DIR"]))
        return doc


def _age(path: Path, days: float) -> None:
    then = time.time() - days * 86400
    os.utime(path, (then, then))


def _row(app: Flask, doc_id: int | None) -> IssuedDocument:
    with app.app_context():
        row = db.session.get(IssuedDocument, doc_id)
        assert row is not None
        return row


def _clean(app: Flask, **kw: Any) -> pdfs.CacheCleanup:
    with app.app_context(), db.standalone() as session:
        return pdfs.clean_cache(session, Path(app.config["PDF_CACHE_DIR"]),
                                Path(app.config["UPLOAD_DIR"]) / "applications", **kw)


# -- PDF cache ------------------------------------------------------------------------------
def test_cache_cleanup_by_age_and_size_keeps_frozen_pdfs_and_verification(app: Flask, renders: list[str]) -> None:
    user, browser = enterprise(app)
    sid = submission_id(submit(browser))
    with app.app_context():
        frozen = db.session.get(IssuedDocument, db.session.get(Submission, sid).document_id)
    frozen_file = Path(frozen.path)
    _age(frozen_file, 400)  # the oldest file of all, and it must survive every cleanup
    reports = [_report(app, user["enterprise_id"], dt.date(2026, 6, d)) for d in range(1, 6)]
    for doc, days in zip(reports, (200, 100, 50, 10, 1), strict=True):
        _age(Path(doc.path), days)
    size = Path(reports[0].path).stat().st_size

    dry = _clean(app, max_bytes=100 * MB, max_age_days=30, dry_run=True)
    assert dry.deleted == 3 and all(Path(d.path).is_file() for d in reports)

    by_age = _clean(app, max_bytes=100 * MB, max_age_days=30)
    assert (by_age.deleted, by_age.kept, by_age.protected) == (3, 3, 1)
    assert [Path(d.path).is_file() for d in reports] == [False, False, False, True, True]
    assert frozen_file.is_file()
    for doc in reports[:3]:  # rows stay for verification, their path is cleared
        assert _row(app, doc.id).path == "" and _row(app, doc.id).sha256 == doc.sha256
        page = app.test_client().get(f"/verify/{doc.short_code}")
        assert page.status_code == 200 and doc.sha256 in page.get_data(as_text=True)

    # Size: room for the frozen PDF and one report; the older report goes, the frozen one never.
    by_size = _clean(app, max_bytes=frozen_file.stat().st_size + size, max_age_days=3650)
    assert by_size.deleted == 1 and not Path(reports[3].path).is_file() and Path(reports[4].path).is_file()
    assert frozen_file.is_file()
    assert _clean(app, max_bytes=0, max_age_days=0).deleted == 1  # everything but the frozen PDF
    assert frozen_file.is_file() and _row(app, frozen.id).path == frozen.path
    assert browser.client.get(f"/app/submissions/{sid}/application.pdf").status_code == 200
    with app.app_context():
        assert db.session.exec(select(func.count()).select_from(IssuedDocument)).one() == 6

    # A later download renders the deleted file again under its recorded code.
    before = len(renders)
    again = _report(app, user["enterprise_id"], dt.date(2026, 6, 1))
    assert len(renders) == before + 1 and again.id == reports[0].id and again.short_code == reports[0].short_code
    assert again.sha256 == reports[0].sha256 and Path(again.path).is_file() and _row(app, again.id).path


def test_report_download_after_cleanup_renders_again(app: Flask, renders: list[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    _, browser = enterprise(app)
    first = browser.client.get("/results/report.pdf")
    assert first.status_code == 200 and len(renders) == 1
    assert browser.client.get("/results/report.pdf").data == first.data and len(renders) == 1  # from the cache
    result = app.test_cli_runner().invoke(args=["pdf-cache", "clean", "--max-days", "0"])
    assert result.exit_code == 0 and "deleted 1 files" in result.output, result.output
    again = browser.client.get("/results/report.pdf")
    assert again.status_code == 200 and len(renders) == 2
    assert again.headers["X-Verification-Code"] == first.headers["X-Verification-Code"] and again.data == first.data


def test_cache_cleanup_refuses_the_frozen_folder_and_skips_foreign_files(app: Flask) -> None:
    frozen_dir = Path(app.config["UPLOAD_DIR"]) / "applications"
    frozen_dir.mkdir(parents=True)
    with app.app_context(), db.standalone() as session, pytest.raises(ValueError, match="must not be inside"):
        pdfs.clean_cache(session, frozen_dir, frozen_dir, max_bytes=0, max_age_days=0)
    cache = Path(app.config["PDF_CACHE_DIR"])
    cache.mkdir(parents=True)
    (cache / "notes.txt").write_text("not ours")
    assert _clean(app, max_bytes=0, max_age_days=0).deleted == 0 and (cache / "notes.txt").exists()


# -- upload quota ---------------------------------------------------------------------------
def _upload_files(app: Flask) -> list[Path]:
    return [p for p in Path(app.config["UPLOAD_DIR"]).glob("*") if p.is_file()]


def test_upload_quota_is_per_enterprise_and_refused_before_storing(app: Flask) -> None:
    app.config.update(UPLOAD_QUOTA_MB=1)
    big = PDF + b"0" * (600 * 1024)
    user, browser = enterprise(app)
    sid = submission_id(submit(browser, files=[("a.pdf", big)]))
    files_before = _upload_files(app)
    resp = browser.post(f"/app/submissions/{sid}/attachments", {"files": [(io.BytesIO(big), "b.pdf")]})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 413 and "超出本企业附件存储空间上限（1.0 MB）" in body and "已使用 600 KB" in body
    assert _upload_files(app) == files_before
    with app.app_context():
        assert db.session.exec(select(func.count()).select_from(Attachment)).one() == 1
    small = browser.post(f"/app/submissions/{sid}/attachments", {"files": [(io.BytesIO(PDF), "c.pdf")]})
    assert small.status_code == 303  # what still fits is accepted
    # Another enterprise has its own quota.
    _, other = enterprise(app, name="另一企业")
    assert submit(other, files=[("a.pdf", big)]).status_code == 303
    app.config.update(UPLOAD_QUOTA_MB=0)  # 0: no limit
    assert browser.post(f"/app/submissions/{sid}/attachments",
                        {"files": [(io.BytesIO(big), "d.pdf")]}).status_code == 303


def test_submit_over_quota_stores_nothing(app: Flask, fake_pdf: list[str]) -> None:
    app.config.update(UPLOAD_QUOTA_MB=1)
    _, browser = enterprise(app, ZONE_DEVICE_MAKER)
    resp = submit(browser, files=[("a.pdf", PDF + b"0" * (700 * 1024)), ("b.pdf", PDF + b"1" * (400 * 1024))])
    assert resp.status_code == 413 and "超出本企业附件存储空间上限" in resp.get_data(as_text=True)
    assert fake_pdf == [] and _upload_files(app) == []  # not even the application PDF was issued
    with app.app_context():
        assert db.session.exec(select(Submission)).first() is None
