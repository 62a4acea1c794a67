"""Downloading pre-filled PDFs from the results page, and verifying them afterwards."""

from __future__ import annotations

import io
import urllib.parse

from flask import Flask
from pypdf import PdfReader
from sqlmodel import func, select

from portal.extensions import db
from portal.models import IssuedDocument
from tests.factories import Browser, autosave


def test_application_pdf_download_is_prefilled_cached_and_verifiable(logged_in: Browser, app: Flask,
                                                                      client) -> None:  # type: ignore[no-untyped-def]
    autosave(logged_in, enterprise_name="吉林下载测试药业有限公司", location="changchun_other",
            sectors=["chemical_drug"], milestones=["clinical_trial_approval"])
    results = logged_in.get("/results").get_data(as_text=True)
    assert "/results/d003-01/application.pdf" in results and "/results/report.pdf" in results
    first = logged_in.get("/results/d003-01/application.pdf")
    assert first.status_code == 200 and first.mimetype == "application/pdf" and first.data.startswith(b"%PDF")
    disposition = first.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and "filename*=UTF-8''" in disposition
    assert "申请表" in urllib.parse.unquote(disposition)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(first.data)).pages)
    assert "吉林下载测试药业有限公司" in text
    second = logged_in.get("/results/d003-01/application.pdf")
    assert second.data == first.data  # identical inputs: the cached document, not a new render
    with app.app_context():
        assert db.session.exec(select(func.count()).select_from(IssuedDocument)).one() == 1
        doc = db.session.exec(select(IssuedDocument)).one()
    assert first.headers["X-Verification-Code"] == doc.short_code
    reviewer = Browser(client)  # anyone holding the paper can check it
    page = reviewer.get(f"/verify/{doc.short_code}").get_data(as_text=True)
    assert "吉林下载测试药业有限公司" in page and doc.sha256 in page
    genuine = reviewer.post("/verify", {"file": (io.BytesIO(first.data), "a.pdf")})
    assert genuine.status_code == 200 and doc.short_code in genuine.get_data(as_text=True)
    edited = reviewer.post("/verify", {"file": (io.BytesIO(first.data.replace(b"%PDF", b"%PDF ", 1)), "a.pdf")})
    assert edited.status_code == 404


def test_report_pdf_and_refusals(logged_in: Browser) -> None:
    autosave(logged_in, enterprise_name="报告测试企业", location="zhonghan_zone")
    report = logged_in.get("/results/report.pdf")
    assert report.status_code == 200 and report.data.startswith(b"%PDF")
    assert "匹配报告" in urllib.parse.unquote(report.headers["Content-Disposition"])
    internal = next(m.id for m in __import__("portal.policy.catalog", fromlist=["catalog"]).catalog().measures.values()
                    if m.audience == "government_internal")
    assert logged_in.get(f"/results/{internal}/application.pdf").status_code == 404
    assert logged_in.get("/results/nope/application.pdf").status_code == 404
