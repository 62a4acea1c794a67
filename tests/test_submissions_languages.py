"""The enterprise's application pages and the PDF progress page in Korean and English.

Every Chinese character left on a Korean or English page must be policy wording or a name, marked
lang="zh-Hans" (the Chinese interface itself is covered, unchanged, by test_submissions and test_task_queue).
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_babel import force_locale
from sqlmodel import select

from portal.extensions import db
from portal.models import Attachment, PdfJob, SubmissionEvent
from portal.policy.records import Measure
from portal.statuses import PdfJobState, SubmissionStatus
from tests.factories import (
    MEASURE,
    PDF,
    PNG,
    Browser,
    app_with_queue,
    enterprise,
    load,
    submission_id,
    submit,
)
from tests.i18n_pages import CJK, stray_chinese

pytestmark = pytest.mark.usefixtures("fake_pdf")


def test_the_checker_finds_unmarked_chinese() -> None:
    assert stray_chinese('<main><p>Apply <span lang="zh-Hans">提高审批效能</span></p></main>') == []
    assert stray_chinese("<main><p>Apply 提高审批效能</p></main>") == ["Apply 提高审批效能"]
    assert stray_chinese('<main><p lang="zh-Hans">中文<br><span>仍是中文</span></p><p>又一句</p></main>') == ["又一句"]


def _in(app: Flask, lang: str) -> tuple[dict[str, Any], Browser]:
    user, browser = enterprise(app)
    browser.client.set_cookie("lang", lang)
    return user, browser


def _page(browser: Browser, url: str) -> str:
    resp = browser.get(url)
    assert resp.status_code == 200, resp.status_code
    html = resp.get_data(as_text=True)
    assert stray_chinese(html) == [], url
    return html


@pytest.fixture()
def translated_title(monkeypatch: pytest.MonkeyPatch) -> None:
    """MEASURE with unofficial ko/en titles (the data files may not have them yet)."""
    original = Measure.local
    titles = {"en": "Faster approvals", "ko": "심사 효율 제고"}

    def local(self: Measure, name: str, lang: str) -> str:
        if self.id == MEASURE and name == "title" and lang in titles:
            return titles[lang]
        return original(self, name, lang)

    monkeypatch.setattr(Measure, "local", local)


# -- the pages, in English and Korean ---------------------------------------------------------
@pytest.mark.usefixtures("translated_title")
def test_submitting_in_english(app: Flask) -> None:
    _, browser = _in(app, "en")
    new = _page(browser, f"/app/submissions/new/{MEASURE}")
    assert "Apply: Faster approvals" in new and "Submit application" in new and "Receiving unit" in new
    assert '<span class="zh-original" lang="zh-Hans">提高审批效能</span>' in new  # the Chinese beside it
    assert "Unofficial translation" in new and "(lead unit)" in new
    assert '<span lang="zh-Hans">医疗器械注册处</span>' in new
    sid = submission_id(submit(browser, files=[("营业执照.pdf", PDF)]))
    detail = _page(browser, f"/app/submissions/{sid}")
    for text in ("Receipt", "Reference", "QXZC-2026-000001", "Submitted", "Attachments", "History",
                 "Application submitted, reference QXZC-2026-000001, receiving unit:", "Answers at submission",
                 "Time limit 3 months: counted from the day the receiving unit confirms", "Faster approvals"):
        assert text in detail, text
    assert "Application submitted. The receiving unit will notify you after its review." in detail  # flash
    index = _page(browser, "/app/submissions/")
    assert "My applications" in index and "Reference QXZC-2026-000001 · submitted" in index
    notes = _page(browser, "/notifications")
    assert "Notifications" in notes and "Mark all as read" in notes


def test_submitting_in_korean(app: Flask) -> None:
    _, browser = _in(app, "ko")
    new = _page(browser, f"/app/submissions/new/{MEASURE}")
    assert "신청 제출 확인" in new and "접수 기관" in new
    assert '<span class="zh-original" lang="zh-Hans">提高审批效能</span>' in new  # beside the data's Korean title
    sid = submission_id(submit(browser))
    detail = _page(browser, f"/app/submissions/{sid}")
    assert "접수 확인증" in detail and "제출됨" in detail and "처리 기록" in detail and "신청 제출, 접수 번호" in detail
    assert "내 신청" in _page(browser, "/app/submissions/")
    assert "알림" in _page(browser, "/notifications")


def test_refusals_are_in_the_readers_language(app: Flask) -> None:
    _, browser = _in(app, "en")
    sid = submission_id(submit(browser))
    bad = browser.post(f"/app/submissions/{sid}/attachments", {"files": [(io.BytesIO(b"<html>"), "证明.pdf")]})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "is not a valid PDF, JPG or PNG file (checked by its content)" in html
    assert '“<span lang="zh-Hans">证明</span>.pdf”' in html and stray_chinese(html) == []
    again = browser.get(f"/app/submissions/new/{MEASURE}").get_data(as_text=True)
    assert "You have already applied for this measure (reference QXZC-2026-000001, Submitted)" in again
    browser.client.set_cookie("lang", "ko")
    empty = browser.post(f"/app/submissions/{sid}/attachments", {})
    assert empty.status_code == 422 and "업로드할 파일을 선택해 주십시오." in empty.get_data(as_text=True)


def test_a_measure_that_cannot_be_applied_for_says_why_in_english(app: Flask) -> None:
    _, browser = _in(app, "en")
    resp = browser.get("/app/submissions/new/d003-s4")  # names no responsible unit
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409 and "You cannot apply yet" in html and "names no receiving unit" in html
    assert stray_chinese(html) == []


# -- removing an attachment asks first ----------------------------------------------------------
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_removing_an_attachment_asks_first_without_javascript(app: Flask, lang: str) -> None:
    _, browser = _in(app, lang)
    sid = submission_id(submit(browser, files=[("wrong.png", PNG)]))
    with app.app_context():
        att = db.session.exec(select(Attachment).where(Attachment.submission_id == sid)).one()
    confirm_url = f"/app/submissions/{sid}/files/{att.id}/remove"
    detail = browser.get(f"/app/submissions/{sid}").get_data(as_text=True)
    assert f'href="{confirm_url}"' in detail  # 删除 is a link to the question, not a form that deletes
    question = browser.get(confirm_url)
    page = question.get_data(as_text=True)
    assert question.status_code == 200 and f'action="{confirm_url}"' in page and "wrong.png" in page
    assert ("确认删除" if lang == "zh" else "Delete the attachment “wrong.png”?") in page
    if lang != "zh":
        assert stray_chinese(page) == []
    with app.app_context():  # asking removed nothing
        assert db.session.get(Attachment, att.id) is not None
    assert browser.post(confirm_url).status_code == 303
    with app.app_context():
        assert db.session.get(Attachment, att.id) is None
    detail = browser.get(f"/app/submissions/{sid}").get_data(as_text=True)
    # The history names the removal, not a comment ("意见").
    assert ("删除附件：wrong.png" if lang == "zh" else "Attachment deleted: wrong.png") in detail
    entry = next(li for li in detail.split("<li") if "wrong.png" in li and 'class="what"' in li)
    label = re.search(r'<p class="what">(.*?)</p>', entry, re.S)
    assert label and label.group(1).strip() == ("删除附件" if lang == "zh" else "Delete attachment")
    # The file is gone: so is the question about it.
    assert browser.get(confirm_url).status_code == 404


def test_the_stored_timeline_stays_chinese_and_reads_in_the_readers_language(app: Flask) -> None:
    _, browser = _in(app, "en")
    sid = submission_id(submit(browser))
    with app.app_context():
        [event] = db.session.exec(select(SubmissionEvent).where(SubmissionEvent.submission_id == sid)).all()
    assert event.comment == "提交申请，受理编号 QXZC-2026-000001，受理单位：医疗器械注册处。"
    assert load(app, sid).status == SubmissionStatus.SUBMITTED


# -- statuses -----------------------------------------------------------------------------------
def test_status_labels_translate_at_call_time_and_keep_the_chinese(app: Flask) -> None:
    with app.test_request_context():
        assert SubmissionStatus.label("returned") == "退回补充材料"
        assert SubmissionStatus.labels()["approved"] == "已通过"
        with force_locale("en"):
            assert SubmissionStatus.label("returned") == "Returned for correction"
            assert SubmissionStatus.labels()["approved"] == "Approved" and PdfJobState.QUEUED.text == "Queued"
            assert SubmissionStatus.zh_label("returned") == "退回补充材料" == SubmissionStatus.RETURNED.zh
            assert SubmissionStatus.label("unknown") == "unknown"
        with force_locale("ko"):
            assert SubmissionStatus.label("in_review") == "심사 중" and PdfJobState.FAILED.text == "생성 실패"


# -- the PDF progress page ----------------------------------------------------------------------
@pytest.fixture()
def queued_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    with app_with_queue(database_url, tmp_path) as app:
        yield app


def _job_token(browser: Browser, url: str) -> str:
    resp = browser.client.get(url)
    assert resp.status_code == 303, resp.get_data(as_text=True)[:300]
    return resp.headers["Location"].rsplit("/", 1)[-1]


def _live_region(html: str) -> str:
    match = re.search(r'<div role="status" aria-live="polite">(.*?)</div>\s*</div>', html, re.S)
    assert match, html
    return match.group(1)


@pytest.mark.parametrize(("lang", "queued", "lost", "again"), [
    ("en", "Queued", "Generation was interrupted (the service restarted or timed out).", "Generate again"),
    ("ko", "대기 중", "생성이 중단되었습니다", "다시 생성"),
])
def test_the_pdf_progress_page_in_english_and_korean(queued_app: Flask, lang: str, queued: str, lost: str,
                                                      again: str) -> None:
    _, browser = _in(queued_app, lang)
    token = _job_token(browser, "/results/report.pdf")
    html = _page(browser, f"/app/documents/{token}")
    assert f"<strong>{queued}</strong>" in _live_region(html)  # announced by the live region
    assert ("Policy match report (PDF)" if lang == "en" else "정책 매칭 보고서(PDF)") in html
    fragment = browser.client.get(f"/app/documents/{token}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert queued in fragment and CJK.search(fragment) is None
    with queued_app.app_context():
        job = db.session.exec(select(PdfJob)).one()
        job.state, job.created_at = "running", job.created_at - dt.timedelta(hours=1)
        db.session.add(job)
        db.session.commit()
    failed = _page(browser, f"/app/documents/{token}")
    assert 'data-state="failed"' in failed and lost in _live_region(failed) and again in failed


def test_a_failure_worded_by_the_renderer_stays_chinese_and_is_marked(queued_app: Flask,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from portal.pdf.errors import PdfError
    from portal.services import pdf_jobs

    def too_big(*args: Any, **kw: Any) -> Any:
        raise PdfError("PDF 内容过大（测试）")

    monkeypatch.setattr(pdf_jobs, "render_request", too_big)
    _, browser = _in(queued_app, "en")
    token = _job_token(browser, "/results/report.pdf")
    with queued_app.app_context():
        pdf_jobs.run(db.session.exec(select(PdfJob)).one().id or 0)
    html = _page(browser, f"/app/documents/{token}")
    assert '<strong>Failed</strong>: <span lang="zh-Hans">PDF 内容过大（测试）</span>' in html


@pytest.mark.usefixtures("translated_title")
def test_the_application_form_progress_page_titles_the_measure_in_english(queued_app: Flask) -> None:
    _, browser = _in(queued_app, "en")
    token = _job_token(browser, f"/results/{MEASURE}/application.pdf")
    html = _page(browser, f"/app/documents/{token}")
    assert "<title>Pre-filled application form (PDF): Faster approvals · Queued" in html
    assert "Pre-filled application form (PDF): Faster approvals" in html


def test_a_file_a_reviewer_has_seen_is_not_offered_for_removal(app: Flask) -> None:
    from tests.factories import reviewer

    _, browser = _in(app, "en")
    sid = submission_id(submit(browser, files=[("seen.png", PNG)]))
    with app.app_context():
        att = db.session.exec(select(Attachment).where(Attachment.submission_id == sid)).one()
    _, desk = reviewer(app)
    desk.get(f"/review/{sid}")  # opening it starts the review
    confirm_url = f"/app/submissions/{sid}/files/{att.id}/remove"
    assert confirm_url not in browser.get(f"/app/submissions/{sid}").get_data(as_text=True)
    back = browser.get(confirm_url)
    assert back.status_code == 303 and back.headers["Location"].endswith(f"/app/submissions/{sid}")
    refused = browser.post(confirm_url)
    assert refused.status_code == 409 and "its attachments are under review and cannot be deleted" in \
        refused.get_data(as_text=True)


def test_reviewers_are_notified_in_their_accounts_language(app: Flask) -> None:
    from portal.models import Notification, User
    from tests.factories import reviewer

    english, _ = reviewer(app)
    chinese, _ = reviewer(app)
    with app.app_context():
        user = db.session.get(User, english["id"])
        assert user is not None
        user.language = "en"
        db.session.add(user)
        db.session.commit()
    _, browser = _in(app, "ko")  # the applicant's language does not decide the reviewers'
    submission_id(submit(browser))
    with app.app_context():
        def message(user_id: int) -> str:
            return db.session.exec(select(Notification.message).where(Notification.user_id == user_id)).one()

        assert message(english["id"]).startswith("New application QXZC-2026-000001: ")
        assert message(chinese["id"]).startswith("新的申请 QXZC-2026-000001：")
