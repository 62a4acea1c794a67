"""Enterprise side of applications: submit (frozen answers, measure and PDF), idempotency, uploads, resubmit."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlmodel import col, select

from portal.extensions import db
from portal.models import Attachment, AuditLog, IssuedDocument, Notification, Submission, SubmissionEvent, User
from portal.policy.catalog import catalog
from portal.services import attachments
from portal.services import submissions as service
from portal.services.routing import routing_options
from portal.services.snapshots import measure_fingerprint
from tests.factories import (
    JPEG,
    MEASURE,
    PDF,
    PNG,
    UNIT,
    ZONE_DEVICE_MAKER,
    enterprise,
    load,
    make_user,
    set_answers,
    submission_id,
    submit,
    token_of,
)

pytestmark = pytest.mark.usefixtures("fake_pdf")  # WeasyPrint takes seconds; one test below uses the real one
LEAD = "jlmpa-device-registration"


# -- submitting -------------------------------------------------------------------------------
def test_results_offer_apply_for_eligible_measures(app: Flask) -> None:
    _, browser = enterprise(app)
    page = browser.get("/results").get_data(as_text=True)
    assert f"/app/submissions/new/{MEASURE}" in page and "提交申请" in page
    # 003 names no responsible unit: nothing to route to, so no button.
    assert "/app/submissions/new/d003-s4" not in page


def test_submit_freezes_answers_measure_and_pdf(app: Flask, fake_pdf: list[str]) -> None:
    user, browser = enterprise(app)
    page = browser.get(f"/app/submissions/new/{MEASURE}").get_data(as_text=True)
    assert "医疗器械注册处" in page and 'enctype="multipart/form-data"' in page
    assert "文件未列明申报材料，请向责任单位确认。" in page  # no clause prints a materials list
    sid = submission_id(browser.post(f"/app/submissions/new/{MEASURE}",
                                     {"unit": UNIT, "idempotency_key": token_of(page),
                                      "files": [(io.BytesIO(PDF), "营业执照.pdf")]}))
    sub = load(app, sid)
    assert sub.status == "submitted" and sub.routed_unit_id == UNIT and sub.enterprise_id == user["enterprise_id"]
    assert json.loads(sub.answers_json)["device_classes"] == ["class2"]
    measure = catalog().measures[MEASURE]
    assert sub.measure_fingerprint == measure_fingerprint(measure)
    snap = json.loads(sub.measure_snapshot_json)
    assert snap["text"] == measure.text and snap["time_limit_months"] == 3 and snap["conditions"]
    assert sub.document_id is not None and fake_pdf == [MEASURE]
    # Whether the materials are complete is the reviewer's decision: the clock does not start at submission.
    assert sub.materials_complete_at is None
    assert sub.reference == "QXZC-2026-000001"  # 医疗器械注册处, 2026, first of the year
    judged = json.loads(sub.judgement_json)
    assert judged["status"] == "eligible" and judged["met"] and judged["judged_on"] == "2026-06-01"
    # Answers changed later do not touch the frozen application.
    set_answers(app, user, {"device_classes": ["class3"]})
    assert json.loads(load(app, sid).answers_json)["device_classes"] == ["class2"]
    detail = browser.get(f"/app/submissions/{sid}").get_data(as_text=True)
    assert "营业执照.pdf" in detail and "已提交" in detail and "受理回执" in detail and "QXZC-2026-000001" in detail
    assert "相关资料齐全且符合要求的，3个月内完成注册审批" in detail and "尚未确认" in detail
    pdf = browser.client.get(f"/app/submissions/{sid}/application.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    assert pdf.headers["Content-Disposition"].startswith("attachment;")
    with app.app_context():
        rows = db.session.exec(select(AuditLog).where(AuditLog.object_type == "submission",
                                                      AuditLog.object_id == str(sid)))
        actions = [a.action for a in rows]
    assert actions == ["submission.create"]


def test_default_route_is_the_first_lead_unit(app: Flask) -> None:
    _, browser = enterprise(app)
    sid = submission_id(submit(browser, unit=""))
    assert load(app, sid).routed_unit_id == LEAD


def test_unit_outside_the_measure_is_refused(app: Flask) -> None:
    _, browser = enterprise(app)
    resp = submit(browser, unit="jlmpa-legal")
    assert resp.status_code == 422 and "受理单位" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.exec(select(Submission)).first() is None


def test_double_tap_creates_one_submission(app: Flask) -> None:
    _, browser = enterprise(app)
    page = browser.get(f"/app/submissions/new/{MEASURE}").get_data(as_text=True)
    data = {"unit": UNIT, "idempotency_key": token_of(page)}
    first = browser.post(f"/app/submissions/new/{MEASURE}", data)
    second = browser.post(f"/app/submissions/new/{MEASURE}", data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    with app.app_context():
        assert len(list(db.session.exec(select(Submission)))) == 1


def _race(app: Flask, monkeypatch: pytest.MonkeyPatch, keys: list[str]) -> list[Any]:
    """Submit from two threads at once. On PostgreSQL both pass the early checks before either inserts
    (a barrier inside the PDF step); SQLite serialises writers at BEGIN IMMEDIATE, so there is no barrier."""
    from portal.models import User
    from portal.services import pdf_jobs

    user = make_user(app, "enterprise")
    set_answers(app, user, ZONE_DEVICE_MAKER)
    barrier = threading.Barrier(2) if app.config["DATABASE_URL"].startswith("postgresql") else None
    issue = pdf_jobs.issue_and_wait

    def waiting_issue(*args: Any, **kw: Any) -> Any:
        if barrier is not None:
            barrier.wait(timeout=30)
        return issue(*args, **kw)

    monkeypatch.setattr(pdf_jobs, "issue_and_wait", waiting_issue)
    results: list[Any] = [None, None]

    def run(i: int) -> None:
        with app.app_context(), db.standalone() as session:
            try:
                sub, created = service.submit(
                    session, user=session.get(User, user["id"]), measure_id=MEASURE, unit_id=UNIT,
                    idempotency_key=keys[i], today=dt.date(2026, 6, 1), uploads=[],
                    upload_dir=Path(app.config["UPLOAD_DIR"]), max_attachments=10)
                results[i] = (sub.id, created)
            except service.SubmissionError as exc:
                results[i] = exc.status

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    with app.app_context():
        assert len(list(db.session.exec(select(Submission)))) == 1
    return results


def test_simultaneous_double_tap_creates_one_submission(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    results = _race(app, monkeypatch, ["same-token-" + "a" * 20] * 2)
    assert results[0][0] == results[1][0] and sorted(r[1] for r in results) == [False, True]


def test_simultaneous_tabs_create_one_open_submission(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    results = _race(app, monkeypatch, ["tab-one-" + "a" * 20, "tab-two-" + "b" * 20])
    assert results.count(409) == 1  # the later tab is told an application is already open
    assert any(isinstance(r, tuple) and r[1] for r in results)


def test_second_open_submission_for_the_same_measure_is_refused(app: Flask) -> None:
    _, browser = enterprise(app)
    sid = submission_id(submit(browser))
    page = browser.get(f"/app/submissions/new/{MEASURE}").get_data(as_text=True)
    assert "办结前不能重复提交" in page and 'name="idempotency_key"' not in page
    resp = browser.post(f"/app/submissions/new/{MEASURE}", {"unit": UNIT, "idempotency_key": "x" * 32})
    assert resp.status_code == 409 and "受理编号 QXZC-2026-000001" in resp.get_data(as_text=True)
    assert f"/app/submissions/{sid}" in browser.get("/results").get_data(as_text=True)  # 查看我的申请


def test_a_closed_application_can_be_followed_by_a_new_one(app: Flask) -> None:
    _, browser = enterprise(app)
    sid = submission_id(submit(browser))
    with app.app_context():
        sub = db.session.get(Submission, sid)
        sub.status = "rejected"
        db.session.add(sub)
        db.session.commit()
    assert submission_id(submit(browser)) != sid


@pytest.mark.parametrize(("answers", "measure", "status", "message"), [
    ({"location": "zhonghan_zone"}, MEASURE, 422, "请先在问卷中回答"),  # needs info
    ({**ZONE_DEVICE_MAKER, "location": "changchun_other", "plans": [], "device_classes": ["class3"],
      "device_procedures": ["class2_standard"]}, MEASURE, 422, "暂不符合"),
    (ZONE_DEVICE_MAKER, "d003-s4", 409, "未列明该措施的受理单位"),
    (ZONE_DEVICE_MAKER, "d001-05", 409, "无需申请"),  # 首违不罚 is information, not an application
    (ZONE_DEVICE_MAKER, "no-such-measure", 404, ""),
])
def test_refusals_are_clear(app: Flask, answers: dict, measure: str, status: int, message: str) -> None:
    _, browser = enterprise(app, answers)
    browser.get("/app")
    for resp in (browser.get(f"/app/submissions/new/{measure}"),
                 browser.post(f"/app/submissions/new/{measure}", {"idempotency_key": "k" * 32})):
        assert resp.status_code == status
        assert message in resp.get_data(as_text=True)


def test_government_internal_measures_cannot_be_applied_for(app: Flask) -> None:
    internal = next(m for m in catalog().measures.values() if not m.is_enterprise_facing)
    _, browser = enterprise(app)
    assert browser.get(f"/app/submissions/new/{internal.id}").status_code == 404


def test_expired_measures_cannot_be_applied_for(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    _, browser = enterprise(app)
    measure = catalog().measures[MEASURE]
    monkeypatch.setitem(catalog().measures, MEASURE,
                        __import__("dataclasses").replace(measure, valid_until=dt.date(2026, 1, 1)))
    resp = browser.get(f"/app/submissions/new/{MEASURE}")
    assert resp.status_code == 409 and "到期" in resp.get_data(as_text=True)


def test_submit_without_csrf_or_token_is_refused(app: Flask) -> None:
    _, browser = enterprise(app)
    browser.get(f"/app/submissions/new/{MEASURE}")
    no_csrf = browser.client.post(f"/app/submissions/new/{MEASURE}", data={"idempotency_key": "k" * 32})
    assert no_csrf.status_code == 400 and "CSRF" in no_csrf.get_data(as_text=True)
    no_token = browser.post(f"/app/submissions/new/{MEASURE}", {"unit": UNIT})
    assert no_token.status_code == 400 and "页面已过期" in no_token.get_data(as_text=True)


def test_real_pdf_is_frozen(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the real WeasyPrint renderer: the frozen PDF is the issued, verifiable document, with its reference."""
    from portal.services import pdf_jobs

    monkeypatch.undo()  # drop the fake renderer
    assert pdf_jobs.issue_and_wait.__module__ == "portal.services.pdf_jobs"
    _, browser = enterprise(app)
    sid = submission_id(submit(browser))
    sub = load(app, sid)
    with app.app_context():
        doc = db.session.get(IssuedDocument, sub.document_id)
        assert doc is not None and doc.measure_id == MEASURE and doc.kind == "application"
    resp = browser.client.get(f"/app/submissions/{sid}/application.pdf")
    assert resp.status_code == 200 and resp.data.startswith(b"%PDF-")
    assert hashlib.sha256(resp.data).hexdigest() == doc.sha256
    text = subprocess.run(["pdftotext", "-", "-"], input=resp.data, capture_output=True, check=True).stdout.decode()
    assert "受理编号" in text and "QXZC-2026-000001" in text
    assert "QXZC-2026-000001" in resp.headers["Content-Disposition"]
    # The submission keeps its own copy: clearing the PDF cache does not lose it.
    Path(doc.path).unlink()
    assert browser.client.get(f"/app/submissions/{sid}/application.pdf").data == resp.data


def test_pdf_failure_is_a_clear_503_and_nothing_is_stored(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    from portal.pdf.errors import PdfError
    from portal.services import pdf_jobs

    def broken(*args: Any, **kw: Any) -> Any:
        raise PdfError("排版服务繁忙，请稍后重试。")

    monkeypatch.undo()  # the real queue and job, with a renderer that fails
    monkeypatch.setattr(pdf_jobs, "render_request", broken)
    _, browser = enterprise(app)
    resp = submit(browser, files=[("a.pdf", PDF)])
    assert resp.status_code == 503 and "申请表 PDF 生成失败：排版服务繁忙" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.exec(select(Submission)).first() is None
    assert not list(Path(app.config["UPLOAD_DIR"]).glob("*.pdf"))


# -- attachments ------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "content", "message"), [
    ("page.pdf", b"<!doctype html><script>alert(1)</script>", "不是有效的"),  # HTML renamed .pdf
    ("photo.png", JPEG, "扩展名与文件内容"),  # mismatch
    ("scan.pdf", PNG, "扩展名与文件内容"),
    ("doc.docx", b"PK\x03\x04" + b"\x00" * 20, "不是有效的"),
    ("empty.pdf", b"", "空文件"),
    ("script.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "不是有效的"),
])
def test_uploads_are_checked_by_content(app: Flask, name: str, content: bytes, message: str) -> None:
    _, browser = enterprise(app)
    resp = submit(browser, files=[(name, content)])
    assert resp.status_code == 422 and message in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.exec(select(Submission)).first() is None  # nothing half-submitted


def test_upload_limits(app: Flask) -> None:
    app.config.update(MAX_ATTACHMENTS=2, MAX_ATTACHMENT_BYTES=1000)
    _, browser = enterprise(app)
    big = submit(browser, files=[("big.pdf", PDF + b"0" * 2000)])
    assert big.status_code == 422 and "上限" in big.get_data(as_text=True)
    sid = submission_id(submit(browser, files=[("a.pdf", PDF), ("b.png", PNG)]))
    resp = browser.post(f"/app/submissions/{sid}/attachments", {"files": [(io.BytesIO(JPEG), "c.jpg")]})
    assert resp.status_code == 422 and "最多 2 个附件" in resp.get_data(as_text=True)


def test_request_size_limit_gives_a_clear_413(app: Flask) -> None:
    app.config.update(MAX_CONTENT_LENGTH=2000)
    _, browser = enterprise(app)
    resp = submit(browser, files=[("big.pdf", PDF + b"0" * 5000)])
    assert resp.status_code == 413 and "文件过大" in resp.get_data(as_text=True)


def test_files_are_stored_under_generated_names_and_served_as_downloads(app: Flask, tmp_path: Path) -> None:
    _, browser = enterprise(app)
    sid = submission_id(submit(browser, files=[("../../营业执照 副本.png", PNG)]))
    with app.app_context():
        att = db.session.exec(select(Attachment).where(Attachment.submission_id == sid)).one()
    assert re.fullmatch(r"[0-9a-f]{32}\.png", att.stored_name) and att.original_name == "营业执照 副本.png"
    assert (Path(app.config["UPLOAD_DIR"]) / att.stored_name).read_bytes() == PNG
    resp = browser.client.get(f"/app/submissions/{sid}/files/{att.id}")
    assert resp.status_code == 200 and resp.data == PNG and resp.mimetype == "image/png"
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and 'filename="attachment-' in disposition
    assert "filename*=UTF-8''%E8%90%A5%E4%B8%9A%E6%89%A7%E7%85%A7%20%E5%89%AF%E6%9C%AC.png" in disposition
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_uploads_only_before_review_or_when_returned(app: Flask) -> None:
    _, browser = enterprise(app)
    sid = submission_id(submit(browser))
    ok = browser.post(f"/app/submissions/{sid}/attachments", {"files": [(io.BytesIO(PDF), "补充.pdf")]})
    assert ok.status_code == 303
    for status, allowed in (("in_review", False), ("returned", True), ("approved", False)):
        with app.app_context():
            sub = db.session.get(Submission, sid)
            sub.status = status
            db.session.add(sub)
            db.session.commit()
        resp = browser.post(f"/app/submissions/{sid}/attachments", {"files": [(io.BytesIO(PNG), "x.png")]})
        assert (resp.status_code == 303) == allowed, (status, resp.status_code)
        if not allowed:
            assert resp.status_code == 409 and "不能再上传附件" in resp.get_data(as_text=True)
    empty = browser.post(f"/app/submissions/{sid}/attachments", {})
    assert empty.status_code in (409, 422)


def test_a_failed_upload_undoes_only_its_own_writes(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """add_attachments writes under a SAVEPOINT: a refusal after the first file undoes that file's row and file,
    while what the request wrote before stays and can still be committed."""
    user, browser = enterprise(app)
    sid = submission_id(submit(browser))
    real_store, stored = attachments.store, []

    def store_then_refuse(*args: Any, **kwargs: Any) -> Attachment:
        if stored:
            raise attachments.UploadError("第二个文件写入失败。")
        att = real_store(*args, **kwargs)
        stored.append(att.stored_name)
        return att

    monkeypatch.setattr(attachments, "store", store_then_refuse)
    uploads = [attachments.check_upload(io.BytesIO(PDF), "一.pdf"), attachments.check_upload(io.BytesIO(PNG), "二.png")]
    upload_dir = Path(app.config["UPLOAD_DIR"])
    with app.test_request_context(method="POST"):  # a writing request, as the upload view runs it
        session = db.session
        session.add(Notification(user_id=user["id"], message="同一请求中更早的写入"))
        session.flush()
        with pytest.raises(attachments.UploadError):
            service.add_attachments(session, session.get(Submission, sid), session.get(User, user["id"]), uploads,
                                    upload_dir, 10)
        session.commit()  # no rollback needed: the caller's transaction is still usable
    with app.app_context():
        assert db.session.exec(select(Attachment).where(Attachment.submission_id == sid)).all() == []
        assert db.session.exec(select(Notification).where(Notification.message == "同一请求中更早的写入")).one()
    assert stored and not (upload_dir / stored[0]).exists()


def test_resubmit_only_when_returned_and_with_a_note(app: Flask) -> None:
    _, browser = enterprise(app)
    sid = submission_id(submit(browser))
    early = browser.post(f"/app/submissions/{sid}/resubmit", {"note": "补充了"})
    assert early.status_code == 409 and "只有被退回的申请" in early.get_data(as_text=True)
    with app.app_context():
        sub = db.session.get(Submission, sid)
        sub.status = "returned"
        db.session.add(sub)
        db.session.commit()
    blank = browser.post(f"/app/submissions/{sid}/resubmit", {"note": "  "})
    assert blank.status_code == 422 and "请填写补充说明" in blank.get_data(as_text=True)
    assert browser.post(f"/app/submissions/{sid}/resubmit", {"note": "已补充检验报告"}).status_code == 303
    sub = load(app, sid)
    assert sub.status == "resubmitted"
    with app.app_context():
        last = db.session.exec(select(SubmissionEvent).where(SubmissionEvent.submission_id == sid)
                               .order_by(col(SubmissionEvent.id).desc())).first()
    assert last.comment == "已补充检验报告" and last.from_status == "returned"


def test_submissions_list_and_dashboard(app: Flask) -> None:
    _, browser = enterprise(app)
    sid = submission_id(submit(browser))
    page = browser.get("/app/submissions/").get_data(as_text=True)
    assert f"/app/submissions/{sid}" in page and "提高审批效能" in page


def test_other_enterprise_gets_404_everywhere(app: Flask) -> None:
    _, owner = enterprise(app)
    sid = submission_id(submit(owner, files=[("a.pdf", PDF)]))
    with app.app_context():
        att = db.session.exec(select(Attachment)).one()
    _, other = enterprise(app, name="另一家企业")
    other.get("/app")
    for url in (f"/app/submissions/{sid}", f"/app/submissions/{sid}/application.pdf",
                f"/app/submissions/{sid}/files/{att.id}"):
        assert other.client.get(url).status_code == 404, url
    assert other.post(f"/app/submissions/{sid}/resubmit", {"note": "x"}).status_code == 404
    assert other.post(f"/app/submissions/{sid}/attachments",
                      {"files": [(io.BytesIO(PDF), "x.pdf")]}).status_code == 404
    # An attachment id is only found through its own submission.
    _, third = enterprise(app, name="第三家企业")
    own = submission_id(submit(third))
    assert third.get(f"/app/submissions/{own}/files/{att.id}").status_code == 404


def test_routing_offers_the_lead_unit_for_the_firms_sector_and_printed_service_points(app: Flask) -> None:
    cat = catalog()
    # 000（二） prints the 网办专区 and the 中韩示范服务站 beside its lead unit.
    assert [u.id for u in routing_options(cat.measures["d000-02"], ["medical_device"])] == [
        "jlmpa-admin-approval", "sp-online-zone", "sp-zhonghan-station"]
    # 001（一） "药品注册管理处、医疗器械注册处、化妆品处分别牵头": each firm goes to its own sector's unit.
    first = cat.measures["d001-01"]
    assert [u.id for u in routing_options(first, ["cosmetics"])] == ["jlmpa-cosmetics"]
    assert [u.id for u in routing_options(first, ["medical_device"])] == ["jlmpa-device-registration"]
    assert [u.id for u in routing_options(first, ["chemical_drug"])] == ["jlmpa-drug-registration"]


def test_near_misses_have_no_submit_button(app: Flask) -> None:
    # A zone device maker whose class II product is in the standard procedure: 000（三） is one step away.
    _, browser = enterprise(app, {**ZONE_DEVICE_MAKER, "device_procedures": ["class2_standard"]})
    page = browser.get("/results").get_data(as_text=True)
    assert 'id="r-d000-03"' in page and "只差一项" in page and "怎样可以符合" in page
    assert f"/app/submissions/new/{MEASURE}" not in page
    resp = browser.get(f"/app/submissions/new/{MEASURE}")
    assert resp.status_code == 422 and "暂不符合" in resp.get_data(as_text=True)
