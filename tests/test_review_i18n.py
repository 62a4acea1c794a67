"""The reviewer desk and the administrator pages in Korean and English: page text, filters, buttons, flashes,
exports and the notices a decision sends, which follow the recipient's language, not the reviewer's."""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook
from sqlmodel import select

from portal.extensions import db
from portal.models import Notification, User
from portal.services import notifications
from tests.factories import PDF, Browser, act, enterprise, reviewer, signed_in, submission_id, submit

pytestmark = pytest.mark.usefixtures("fake_pdf")  # WeasyPrint is not under test here

CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]+")
# What other parts of the portal put into these pages (time-limit wording, the shared answer, file and
# history partials, the notifications link, Beijing dates, the comment check); they are translated with
# those parts, so this check leaves them out: elements of these classes, and these exact runs of text.
ELSEWHERE = {"limit", "timeline", "files", "answers", "notes-link"}
ELSEWHERE_TEXT = {"年", "月", "日", "请填写意见。"}


class _Stray(HTMLParser):
    """CJK text in <body> outside lang="zh-Hans" (and outside ELSEWHERE-class elements)."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[bool] = []  # per open element: is its text exempt?
        self.in_body = False
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self.in_body = True
        if tag in self.VOID:
            return
        a = dict(attrs)
        exempt = (a.get("lang") == "zh-Hans" or bool(ELSEWHERE & set((a.get("class") or "").split()))
                  or tag in ("script", "style"))
        self.stack.append(exempt or (bool(self.stack) and self.stack[-1]))

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.in_body and not (self.stack and self.stack[-1]):
            self.found += [run for run in CJK.findall(data) if run not in ELSEWHERE_TEXT]


def stray_chinese(html: str) -> list[str]:
    parser = _Stray()
    parser.feed(html)
    return parser.found


def in_language(browser: Browser, lang: str) -> Browser:
    browser.client.set_cookie("lang", lang)
    return browser


@pytest.fixture()
def desk(app: Flask) -> dict[str, Any]:
    rev_user, rev = reviewer(app)
    ent_user, ent = enterprise(app)
    sid = submission_id(submit(ent, files=[("检验报告.pdf", PDF)]))
    return {"sid": sid, "rev": rev, "rev_user": rev_user, "ent": ent, "ent_user": ent_user}


@pytest.mark.parametrize(("lang", "words", "html_lang"), [
    ("en", ["Review queue", "All statuses", "Newest first", "Apply filters", "Reference no.", "Shortcuts: J / K",
            "1 application", "Submitted", "0 days"], 'lang="en"'),
    ("ko", ["심사", "모든 상태", "최근 제출순", "필터", "접수 번호", "단축키", "총 1건", "0일"], 'lang="ko"'),
])
def test_queue_in_korean_and_english(desk: dict, lang: str, words: list[str], html_lang: str) -> None:
    page = in_language(desk["rev"], lang).get("/review/").get_data(as_text=True)
    assert html_lang in page
    for word in words:
        assert word in page, word
    assert "吉林测试医疗器械有限公司" in page  # the company's name stays as it is, marked Chinese
    assert stray_chinese(page) == []
    # The htmx list alone, after a filter change, is in the same language.
    fragment = desk["rev"].get("/review/?status=in_review&sort=oldest", headers={"HX-Request": "true"})
    text = fragment.get_data(as_text=True)
    assert "<html" not in text and stray_chinese(text) == []


def test_bad_filters_are_reported_in_english(desk: dict) -> None:
    resp = in_language(desk["rev"], "en").get("/review/?status=nope&min_age=abc")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "Invalid status filter." in page and "Days waiting must be a whole number from 0 to 3650." in page
    assert stray_chinese(page) == []


@pytest.mark.parametrize(("lang", "words"), [
    ("en", ["Approve", "Reject", "Return for correction", "Comment only", "Visible to the company",
            "Internal only", "Submit and open next", "System assessment (at submission)", "History",
            "Download the application form PDF as submitted", "In review", "Measure clause at submission"]),
    ("ko", ["승인", "불승인", "보완 요청", "기업 공개", "내부 전용", "처리 기록", "심사 중", "제출 시 조치 조항"]),
])
def test_detail_in_korean_and_english(desk: dict, lang: str, words: list[str]) -> None:
    page = in_language(desk["rev"], lang).get(f"/review/{desk['sid']}").get_data(as_text=True)
    for word in words:
        assert word in page, word
    assert '<blockquote class="clause" lang="zh-Hans">' in page  # the clause itself stays Chinese, marked
    assert stray_chinese(page) == []


def test_the_chinese_desk_is_unchanged(desk: dict) -> None:
    page = desk["rev"].get(f"/review/{desk['sid']}").get_data(as_text=True)
    for word in ("审核通过", "不予通过", "需补正（退回补充材料）", "企业可见", "提交并打开下一份",
                 "系统判断（提交时）"):
        assert word in page, word
    assert "非官方翻译" not in page and "Approve" not in page
    queue = desk["rev"].get("/review/").get_data(as_text=True)
    assert "审核队列" in queue and "共 1 件" in queue and "全部状态" in queue


def test_flash_and_refusals_in_the_reviewers_language(desk: dict) -> None:
    rev = in_language(desk["rev"], "en")
    refused = act(rev, desk["sid"], "return", "", "enterprise")
    assert refused.status_code == 422 and "Return for correction" in refused.get_data(as_text=True)
    assert stray_chinese(refused.get_data(as_text=True)) == []
    wrong = rev.post(f"/review/{desk['sid']}/action", {"action": "reject", "comment": "x", "visibility": "internal"})
    assert wrong.status_code == 422
    assert "For “Reject” the comment must be visible to the company" in wrong.get_data(as_text=True)
    done = act(rev, desk["sid"], "materials_complete", "", "enterprise")
    assert done.status_code == 303
    page = rev.get(done.headers["Location"]).get_data(as_text=True)
    assert "updated: In review. Materials complete; the time limit is now running." in page


@pytest.mark.parametrize(("lang", "heading", "sheet"), [
    ("zh", "受理编号", "审核队列"), ("en", "Reference no.", "Review queue"), ("ko", "접수 번호", "심사 대기열"),
])
def test_export_headings_follow_the_reviewer(desk: dict, lang: str, heading: str, sheet: str) -> None:
    rev = in_language(desk["rev"], lang)
    rows = list(csv.reader(io.StringIO(rev.get("/review/export.csv").get_data().decode("utf-8-sig"))))
    assert rows[0][0] == heading and len(rows) == 2
    status = {"zh": "已提交", "en": "Submitted", "ko": "제출됨"}[lang]
    assert rows[1][rows[0].index({"zh": "状态", "en": "Status", "ko": "상태"}[lang])] == status
    location = {"zh": "中韩(长春)国际合作示范区", "ko": "중한(창춘)국제협력시범구",
                "en": "China-Korea (Changchun) International Cooperation Demonstration Zone"}[lang]
    assert rows[1][rows[0].index({"zh": "所在地", "en": "Location", "ko": "소재지"}[lang])] == location
    book = load_workbook(io.BytesIO(rev.get("/review/export.xlsx").get_data()))
    assert book.active.title == sheet and book.active["A1"].value == heading


def _set_language(app: Flask, user_id: int, lang: str) -> None:
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None
        user.language = lang
        db.session.add(user)
        db.session.commit()


def _notes(app: Flask, user_id: int) -> list[str]:
    with app.app_context():
        return [n.message for n in db.session.exec(select(Notification).where(Notification.user_id == user_id)
                                                    .order_by(Notification.id))]


@pytest.mark.parametrize(("recipient", "reviewer_lang", "expected"), [
    ("ko", "en", "상태가 변경되었습니다: 승인."),
    ("en", "ko", "is now: Approved."),
    ("", "en", "状态更新为：已通过。"),  # no language chosen: Chinese, whatever the reviewer reads
])
def test_a_decision_is_mailed_in_the_enterprise_users_language(app: Flask, desk: dict,
                                                                monkeypatch: pytest.MonkeyPatch, recipient: str,
                                                                reviewer_lang: str, expected: str) -> None:
    sent: list[notifications.Mail] = []
    monkeypatch.setattr(notifications, "send_mail", sent.append)
    _set_language(app, desk["ent_user"]["id"], recipient)
    rev = in_language(desk["rev"], reviewer_lang)
    rev.get(f"/review/{desk['sid']}")
    sent.clear()
    resp = rev.post(f"/review/{desk['sid']}/action", {"action": "approve", "comment": "", "visibility": "enterprise"})
    assert resp.status_code == 303
    [mail] = sent
    assert mail.to == desk["ent_user"]["email"] and expected in mail.body
    assert expected in _notes(app, desk["ent_user"]["id"])[-1]
    # The reviewer's own page stays in the reviewer's language.
    page = rev.get(resp.headers["Location"]).get_data(as_text=True)
    assert {"en": "updated: Approved.", "ko": "업데이트됨: 승인."}[reviewer_lang] in page


def test_a_forwarded_application_tells_the_other_units_reviewers_in_their_language(app: Flask, desk: dict) -> None:
    other_user, _other = reviewer(app, "jlmpa-admin-approval")
    _set_language(app, other_user["id"], "en")
    rev = in_language(desk["rev"], "ko")
    resp = act(rev, desk["sid"], "forward", "", "enterprise", to_unit="jlmpa-admin-approval")
    assert resp.status_code == 303
    [note] = _notes(app, other_user["id"])
    assert note.startswith("Application forwarded to you ")
    assert "이관했습니다" in rev.get("/review/").get_data(as_text=True)


@pytest.mark.parametrize(("lang", "words"), [
    ("en", ["Units and contacts", "Staff accounts (reviewers, administrators)", "Unit", "Contact", "Edit",
            "audit log", "To be added"]),
    ("ko", ["기관 및 연락처", "직원 계정", "연락처", "편집", "감사 로그", "입력 필요"]),
])
def test_admin_index_in_korean_and_english(app: Flask, lang: str, words: list[str]) -> None:
    _user, admin = signed_in(app, "admin")
    page = in_language(admin, lang).get("/admin/").get_data(as_text=True)
    for word in words:
        assert word in page, word
    assert stray_chinese(page) == []
    for path in ("/admin/staff", "/admin/measures", "/admin/audit", "/admin/units/jlmpa-device-registration"):
        other = admin.get(path)
        assert other.status_code == 200 and stray_chinese(other.get_data(as_text=True)) == [], path


def test_admin_index_in_chinese_is_unchanged(app: Flask) -> None:
    _user, admin = signed_in(app, "admin")
    page = admin.get("/admin/").get_data(as_text=True)
    assert "单位与联系方式" in page and "待补充" in page and "编辑" in page and 'lang="zh-Hans"' in page



@pytest.mark.parametrize(("lang", "words"), [
    ("en", ["Unit overview", "All applications", "Not yet opened", "Median days to decision",
            "Applications by status", "In review", "By measure"]),
    ("ko", ["기관 현황", "전체 신청", "미열람", "처리 일수 중앙값", "상태별 신청 건수", "심사 중"]),
])
def test_dashboard_in_korean_and_english(desk: dict, lang: str, words: list[str]) -> None:
    rev = in_language(desk["rev"], lang)
    rev.get(f"/review/{desk['sid']}")  # opened: one in review
    page = rev.get("/review/dashboard").get_data(as_text=True)
    for word in words:
        assert word in page, word
    assert stray_chinese(page) == []


def test_rematch_notices_are_written_in_each_recipients_language(app: Flask) -> None:
    from functools import partial

    from portal.services.rematch import _Batch, _write, notice_text

    users = {}
    for lang in ("ko", "en", ""):
        user, _browser = enterprise(app)
        _set_language(app, user["id"], lang)
        users[lang] = user
    batch = _Batch()
    for user in users.values():
        batch.notices[user["enterprise_id"]] = partial(notice_text, ["d000-03"], ["d000-01"],
                                                       {"d000-01": "not_eligible"}, lambda mid: f"<{mid}>")
    with app.app_context(), db.standalone() as session:
        assert _write(session, batch, True) == 3
        session.commit()
    [ko] = _notes(app, users["ko"]["id"])
    [en] = _notes(app, users["en"]["id"])
    [zh] = _notes(app, users[""]["id"])
    assert en == ("The policy library has been updated and your results have changed. Now eligible: “<d000-03>”. "
                  "No longer eligible: “<d000-01>” (Not eligible yet). Please check your latest results.")
    assert ko.startswith("정책 목록이 업데이트되어") and "(현재 해당 없음)" in ko
    assert zh == ("政策库已更新，您的匹配结果有变化。新符合条件：“<d000-03>”。不再符合条件：“<d000-01>”（暂不符合）。"
                  "请查看最新匹配结果。")



@pytest.mark.parametrize(("lang", "summary", "expected"), [
    ("en", "条件、金额", "Conditions, Amounts"),
    ("ko", "重新列入知识库：金额、new_field", "정책 목록에 다시 포함: 금액, new_field"),
    ("en", "首次记录", "First recorded"),
    ("zh", "重新列入知识库：条件、金额", "重新列入知识库：条件、金额"),
])
def test_version_summaries_read_in_the_current_language(app: Flask, lang: str, summary: str, expected: str) -> None:
    from flask_babel import force_locale

    from portal.services.rematch import summary_text

    with app.test_request_context(), force_locale(lang):
        assert summary_text(summary) == expected


@pytest.fixture()
def translated_title(monkeypatch: pytest.MonkeyPatch) -> None:
    """d000-03 with unofficial Korean and English titles, as the policy data will carry them."""
    from dataclasses import replace

    from portal.policy.catalog import catalog

    measure = catalog().measures["d000-03"]
    monkeypatch.setitem(catalog().measures, "d000-03", replace(measure, tr=(
        ("ko", "title", "심사·승인 효율 제고"), ("en", "title", "Faster approval"),
        ("en", "time_limit_note", "approved within 3 months once the materials are complete"))))


@pytest.mark.usefixtures("translated_title")
def test_translated_titles_lead_with_the_chinese_beside_them(app: Flask, desk: dict,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    rev = in_language(desk["rev"], "en")
    queue = rev.get("/review/").get_data(as_text=True)
    assert ('<span class="local-title">Faster approval</span> <small class="unofficial">Unofficial translation'
            '</small><br><small lang="zh-Hans">提高审批效能</small>') in queue
    assert "d000-03 Faster approval</option>" in queue and stray_chinese(queue) == []
    detail = rev.get(f"/review/{desk['sid']}").get_data(as_text=True)
    assert '<span class="local-title">Faster approval</span>' in detail and stray_chinese(detail) == []
    rows = list(csv.reader(io.StringIO(rev.get("/review/export.csv").get_data().decode("utf-8-sig"))))
    assert rows[1][rows[0].index("Measure")] == "Faster approval"
    # The enterprise user reads English: the notice names the measure and its time limit in English.
    sent: list[notifications.Mail] = []
    monkeypatch.setattr(notifications, "send_mail", sent.append)
    _set_language(app, desk["ent_user"]["id"], "en")
    in_language(desk["rev"], "ko")
    assert act(desk["rev"], desk["sid"], "materials_complete", "", "enterprise").status_code == 303
    assert [m.body.splitlines()[0] for m in sent] == [
        "The receiving unit has confirmed that the materials for your application QXZC-2026-000001"
        " “Faster approval” are complete. The handling time limit (approved within 3 months once the materials are"
        " complete) runs from today."]
    # A Chinese reader of the same page sees the frozen Chinese title only.
    in_language(desk["rev"], "zh")
    page = desk["rev"].get("/review/").get_data(as_text=True)
    assert "Faster approval" not in page and "非官方翻译" not in page
