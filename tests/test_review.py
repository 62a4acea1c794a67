"""Reviewer side: unit-scoped queue, filters, exports, the status workflow, comments, audit, notifications,
and a generated access matrix over every submission route of both blueprints."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook
from sqlmodel import select

from portal.extensions import db
from portal.models import Attachment, AuditLog, Notification, Submission, User
from portal.services import notifications
from tests.factories import (
    PDF,
    PNG,
    UNIT,
    ZONE_DEVICE_MAKER,
    Browser,
    act,
    enterprise,
    load,
    make_user,
    reviewer,
    submission_id,
    submit,
)

pytestmark = pytest.mark.usefixtures("fake_pdf")  # WeasyPrint is not under test here

OTHER_UNIT = "jlmpa-admin-approval"


def set_status(app: Flask, sid: int, status: str) -> None:
    with app.app_context():
        sub = db.session.get(Submission, sid)
        sub.status = status
        db.session.add(sub)
        db.session.commit()


@pytest.fixture()
def submitted(app: Flask) -> dict[str, Any]:
    """An application to the 中韩示范服务站 with one attachment, its enterprise and a reviewer of the station."""
    rev_user, rev = reviewer(app)
    ent_user, ent = enterprise(app)
    sid = submission_id(submit(ent, files=[("检验报告.pdf", PDF)]))
    return {"sid": sid, "ent": ent, "ent_user": ent_user, "rev": rev, "rev_user": rev_user}


# -- queue ------------------------------------------------------------------------------------
def test_queue_shows_only_the_reviewers_unit(app: Flask, submitted: dict) -> None:
    page = submitted["rev"].get("/review/").get_data(as_text=True)
    assert "吉林测试医疗器械有限公司" in page and f"/review/{submitted['sid']}" in page
    _, elsewhere = reviewer(app, OTHER_UNIT)
    other = elsewhere.get("/review/").get_data(as_text=True)
    assert "吉林测试医疗器械有限公司" not in other and "本单位暂无申请" in other
    assert elsewhere.get(f"/review/{submitted['sid']}").status_code == 404


def test_queue_filters_plain_get_and_htmx_fragment(app: Flask, submitted: dict) -> None:
    ent_user2, ent2 = enterprise(app, {**ZONE_DEVICE_MAKER, "enterprise_name": "长春新区某公司",
                                       "location": "zhonghan_zone", "sectors": ["medical_device", "ivd"]},
                                 name="长春新区某公司")
    sid2 = submission_id(submit(ent2, measure="d001-02"))  # also handled by 医疗器械注册处
    rev = submitted["rev"]
    act(rev, submitted["sid"], "start_review")
    full = rev.get("/review/?status=in_review")
    page = full.get_data(as_text=True)
    assert full.status_code == 200 and "<html" in page and 'id="results"' in page
    assert f"/review/{submitted['sid']}\"" in page and f"/review/{sid2}\"" not in page
    fragment = rev.get("/review/?measure=d001-02", headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and body.lstrip().startswith('<section id="results"')
    assert f"/review/{sid2}\"" in body and f"/review/{submitted['sid']}\"" not in body
    assert "Vary" in fragment.headers and "HX-Request" in fragment.headers["Vary"]
    ivd = rev.get("/review/?sector=ivd").get_data(as_text=True)
    assert f"/review/{sid2}\"" in ivd and f"/review/{submitted['sid']}\"" not in ivd
    assert "共 0 件" in rev.get("/review/?location=outside_jilin").get_data(as_text=True)
    oldest = rev.get("/review/?sort=oldest").get_data(as_text=True)
    assert oldest.index(f"/review/{submitted['sid']}\"") < oldest.index(f"/review/{sid2}\"")
    newest = rev.get("/review/").get_data(as_text=True)
    assert newest.index(f"/review/{sid2}\"") < newest.index(f"/review/{submitted['sid']}\"")
    assert f"/review/{sid2}\"" in rev.get("/review/?sort=measure").get_data(as_text=True)
    assert f"/review/{sid2}\"" in rev.get("/review/?sort=status").get_data(as_text=True)


def test_queue_age_filter(app: Flask, submitted: dict) -> None:
    with app.app_context():
        sub = db.session.get(Submission, submitted["sid"])
        sub.created_at = dt.datetime(2026, 5, 1, 8, tzinfo=dt.UTC)  # 31 days before TEST_DAY
        db.session.add(sub)
        db.session.commit()
    rev = submitted["rev"]
    assert "31 天" in rev.get("/review/?min_age=31").get_data(as_text=True)
    assert "共 0 件" in rev.get("/review/?min_age=32").get_data(as_text=True)


BAD_FILTERS = ("status=bogus", "min_age=abc", "min_age=-1", "sort=sideways", "measure=x<y", "sector=%00",
               "min_age=99999999999999999999")


def test_bad_filters_get_a_chinese_message_not_a_500(submitted: dict) -> None:
    for query in BAD_FILTERS:
        resp = submitted["rev"].get(f"/review/?{query}")
        body = resp.get_data(as_text=True)
        assert resp.status_code == 422 and ("无效" in body or "整数" in body), query
        assert submitted["rev"].client.get(f"/review/export.csv?{query}").status_code == 422, query


def test_exports_csv_with_bom_and_xlsx(app: Flask, submitted: dict) -> None:
    # An enterprise name that Excel would run as a formula must arrive as text.
    ent_user, ent = enterprise(app, {**ZONE_DEVICE_MAKER, "enterprise_name": "=HYPERLINK(\"http://x\")"},
                               name="formula")
    submission_id(submit(ent))
    client = submitted["rev"].client
    resp = client.get("/review/export.csv?sort=oldest")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert resp.data.startswith(b"\xef\xbb\xbf")
    assert "filename*=UTF-8''" in resp.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))
    head = rows[0]
    assert head[:3] == ["受理编号", "企业名称", "统一社会信用代码"]
    for column in ("联系人", "联系人邮箱", "办结时间（北京时间）", "办理天数", "最近意见"):
        assert column in head
    first = dict(zip(head, rows[1], strict=True))
    assert first["受理编号"] == "QXZC-2026-000001" and first["企业名称"] == "吉林测试医疗器械有限公司"
    assert first["状态"] == "已提交" and first["联系人邮箱"] == submitted["ent_user"]["email"]
    assert first["办理时限"].startswith("时限 3 个月：自受理单位确认材料齐全之日起计算")
    assert first["最近意见"].startswith("提交申请，受理编号 QXZC-2026-000001")
    assert rows[2][1] == "'=HYPERLINK(\"http://x\")"
    only = list(csv.reader(io.StringIO(client.get("/review/export.csv?location=zhonghan_zone&measure=d000-03")
                                       .data.decode("utf-8-sig"))))
    assert len(only) == 3
    xlsx = client.get("/review/export.xlsx")
    assert xlsx.status_code == 200 and xlsx.data.startswith(b"PK")
    ws = load_workbook(io.BytesIO(xlsx.data)).active
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert values[0][0] == "受理编号" and len(values) == 3
    submitted_col = values[0].index("提交时间（北京时间）") + 1
    cell = ws.cell(row=2, column=submitted_col)
    assert isinstance(cell.value, dt.datetime) and cell.number_format == "yyyy-mm-dd hh:mm"  # a real date
    assert isinstance(ws.cell(row=2, column=values[0].index("已等待天数") + 1).value, int)
    cell = next(c for row in ws.iter_rows() for c in row if isinstance(c.value, str) and "HYPERLINK" in c.value)
    assert cell.data_type == "s"


def test_export_with_nothing_to_export(submitted: dict) -> None:
    resp = submitted["rev"].get("/review/export.xlsx?status=approved")
    assert resp.status_code == 200 and "没有可导出的申请" in resp.get_data(as_text=True)


# -- workflow ---------------------------------------------------------------------------------
def test_full_workflow_with_comments_history_and_audit(app: Flask, submitted: dict) -> None:
    sid, rev, ent = submitted["sid"], submitted["rev"], submitted["ent"]
    rev.get(f"/review/{sid}")
    assert load(app, sid).status == "in_review"  # opened = review started, no extra post
    assert act(rev, sid, "comment", "内部：材料看起来齐全，待核对检验报告", "internal").status_code == 303
    assert act(rev, sid, "return", "请补充产品检验报告原件扫描件").status_code == 303
    assert load(app, sid).status == "returned"
    page = ent.get(f"/app/submissions/{sid}").get_data(as_text=True)
    assert "请补充产品检验报告原件扫描件" in page and "内部：" not in page and "重新提交" in page
    assert "重新提交并确认材料齐全后重新计算" in page
    ent.post(f"/app/submissions/{sid}/attachments", {"files": [(io.BytesIO(PNG), "检验报告扫描件.png")]})
    assert ent.post(f"/app/submissions/{sid}/resubmit", {"note": "已上传检验报告扫描件"}).status_code == 303
    review_page = rev.get(f"/review/{sid}").get_data(as_text=True)
    assert "本次补正的变化" in review_page and "新增附件：检验报告扫描件.png" in review_page
    assert act(rev, sid, "materials_complete", "").status_code == 303
    assert act(rev, sid, "approve", "").status_code == 303  # no comment needed to approve
    assert act(rev, sid, "approve", "材料齐全，予以通过").status_code == 409  # already decided
    act(rev, sid, "comment", "材料齐全，予以通过")
    assert load(app, sid).status == "approved" and load(app, sid).decided_at is not None
    review_page = rev.get(f"/review/{sid}").get_data(as_text=True)
    for text in ("内部：材料看起来齐全", "仅内部可见", "已上传检验报告扫描件", "予以通过", "检验报告扫描件.png"):
        assert text in review_page
    ent_page = ent.get(f"/app/submissions/{sid}").get_data(as_text=True)
    assert "予以通过" in ent_page and "内部：" not in ent_page and "已通过" in ent_page
    assert 'name="files"' not in ent_page  # nothing is editable any more
    with app.app_context():
        audit = [(a.action, a.before_json, a.after_json) for a in db.session.exec(
            select(AuditLog).where(AuditLog.object_type == "submission").order_by(AuditLog.id))]
    assert [a for a, _, _ in audit] == ["submission.create", "submission.start_review", "submission.comment",
                                        "submission.return", "submission.upload", "submission.resubmit",
                                        "submission.start_review", "submission.materials_complete",
                                        "submission.approve", "submission.comment"]
    assert '"status": "in_review"' in audit[-2][1] and '"status": "approved"' in audit[-2][2]


INVALID_TRANSITIONS = (("submitted", "approve"), ("submitted", "return"), ("returned", "approve"),
                       ("approved", "reject"), ("rejected", "start_review"), ("in_review", "start_review"),
                       ("approved", "forward"), ("returned", "forward"))


def test_invalid_transitions_are_409(app: Flask, submitted: dict) -> None:
    rev = submitted["rev"]
    rev.get("/review/")
    for status, action in INVALID_TRANSITIONS:
        set_status(app, submitted["sid"], status)
        resp = rev.post(f"/review/{submitted['sid']}/action", {"action": action, "comment": "意见",
                                                                "visibility": "enterprise", "to_unit": OTHER_UNIT})
        assert resp.status_code == 409 and "不能执行" in resp.get_data(as_text=True), (status, action)
        assert load(app, submitted["sid"]).status == status


BAD_REVIEW_INPUT = (
    ({"action": "return", "comment": "", "visibility": "enterprise"}, "请填写意见"),
    ({"action": "reject", "comment": "  ", "visibility": "enterprise"}, "请填写意见"),
    ({"action": "comment", "comment": "好"}, "可见"),
    ({"action": "approve", "comment": "x" * 2001, "visibility": "enterprise"}, "不能超过"),
    ({"action": "approve", "comment": "好", "visibility": "everyone"}, "可见"),
    ({"action": "reject", "comment": "不符合", "visibility": "internal"}, "须对企业可见"),
    ({"action": "destroy", "comment": "好", "visibility": "enterprise"}, "请选择要执行的操作"),
    ({}, "请选择要执行的操作"),
    ({"action": "forward", "comment": "好", "visibility": "internal", "to_unit": "nowhere"}, "请选择要转交的单位"),
    ({"action": "forward", "comment": "好", "visibility": "internal", "to_unit": UNIT}, "不能转交给本单位"),
)


def test_bad_review_input_is_422(app: Flask, submitted: dict) -> None:
    rev = submitted["rev"]
    rev.get(f"/review/{submitted['sid']}")
    for data, message in BAD_REVIEW_INPUT:
        resp = rev.post(f"/review/{submitted['sid']}/action", data)
        assert resp.status_code == 422 and message in resp.get_data(as_text=True), data
    assert load(app, submitted["sid"]).status == "in_review"  # opened, nothing else


def test_return_needs_a_comment_the_enterprise_can_see(app: Flask, submitted: dict) -> None:
    act(submitted["rev"], submitted["sid"], "start_review")
    resp = act(submitted["rev"], submitted["sid"], "return", "内部备注", "internal")
    assert resp.status_code == 422 and "须对企业可见" in resp.get_data(as_text=True)


def test_stale_page_is_409(app: Flask, submitted: dict) -> None:
    rev = submitted["rev"]
    resp = act(rev, submitted["sid"], "comment", expected_status="in_review")
    assert resp.status_code == 303
    again = act(rev, submitted["sid"], "comment", expected_status="submitted")
    assert again.status_code == 409 and "刚被更新" in again.get_data(as_text=True)


def test_forward_moves_the_application_to_the_other_unit(app: Flask, submitted: dict) -> None:
    sid = submitted["sid"]
    _, new_unit = reviewer(app, OTHER_UNIT)
    resp = act(submitted["rev"], sid, "forward", "属于行政审批办职责", "internal", to_unit=OTHER_UNIT)
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/review/")
    sub = load(app, sid)
    assert sub.routed_unit_id == OTHER_UNIT and sub.status == "forwarded"
    assert submitted["rev"].get(f"/review/{sid}").status_code == 404
    assert f"/review/{sid}\"" not in submitted["rev"].get("/review/").get_data(as_text=True)
    page = new_unit.get(f"/review/{sid}").get_data(as_text=True)
    assert "属于行政审批办职责" in page and "转交至" in page
    assert new_unit.client.get(f"/review/{sid}/application.pdf").status_code == 200
    assert load(app, sid).status == "in_review"  # the new unit opened it
    ent_page = submitted["ent"].get(f"/app/submissions/{sid}").get_data(as_text=True)
    assert "属于行政审批办职责" not in ent_page and "已转交其他单位" in ent_page


def test_time_limit_counts_from_materials_complete(app: Flask, submitted: dict) -> None:
    sid = submitted["sid"]
    with app.app_context():
        sub = db.session.get(Submission, sid)
        sub.materials_complete_at = dt.datetime(2026, 2, 1, 2, tzinfo=dt.UTC)  # 120 days before TEST_DAY
        db.session.add(sub)
        db.session.commit()
    page = submitted["rev"].get(f"/review/{sid}").get_data(as_text=True)
    # 000（三）: "3个月内" — three calendar months from the day the materials were complete (Beijing date).
    assert "材料齐全 2026-02-01 起 3 个月，至 2026-05-01（已超出 31 天）" in page and "已超时限" in page
    queue = submitted["rev"].get("/review/?due=overdue").get_data(as_text=True)
    assert "已超出 31 天" in queue and "QXZC-2026-000001" in queue
    assert "QXZC-2026-000001" not in submitted["rev"].get("/review/?status=approved").get_data(as_text=True)


def test_reviewer_sees_frozen_answers_with_labels(submitted: dict) -> None:
    page = submitted["rev"].get(f"/review/{submitted['sid']}").get_data(as_text=True)
    assert "企业所在地" in page and "中韩(长春)国际合作示范区" in page and "第二类" in page
    assert "提交时的措施条文" in page and "提高审批效能" in page


def test_reviewer_downloads_are_attachments(app: Flask, submitted: dict) -> None:
    with app.app_context():
        att = db.session.exec(select(Attachment)).one()
    client = submitted["rev"].client
    resp = client.get(f"/review/{submitted['sid']}/files/{att.id}")
    assert resp.status_code == 200 and resp.data == PDF and resp.mimetype == "application/pdf"
    assert resp.headers["Content-Disposition"].startswith("attachment;")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    pdf = client.get(f"/review/{submitted['sid']}/application.pdf")
    assert pdf.status_code == 200 and pdf.headers["Content-Disposition"].startswith("attachment;")


# -- notifications ----------------------------------------------------------------------------
def _notes(app: Flask, user_id: int) -> list[Notification]:
    with app.app_context():
        return list(db.session.exec(select(Notification).where(Notification.user_id == user_id)))


def test_notifications_both_sides_and_mark_read(app: Flask, submitted: dict,
                                                caplog: pytest.LogCaptureFixture) -> None:
    rev_notes = _notes(app, submitted["rev_user"]["id"])
    assert len(rev_notes) == 1 and "新的申请" in rev_notes[0].message
    assert rev_notes[0].link == f"/review/{submitted['sid']}"
    with caplog.at_level(logging.INFO, logger="portal.services.notifications"):
        act(submitted["rev"], submitted["sid"], "comment", "内部", "internal")
    assert "SMTP_HOST not set" in caplog.text  # no SMTP: the e-mail is logged instead
    ent_notes = [n for n in _notes(app, submitted["ent_user"]["id"]) if "已收到您的申请" not in n.message]
    assert [n.message for n in ent_notes] == ["您的申请 QXZC-2026-000001“提高审批效能”状态更新为：审核中。"]
    ent = submitted["ent"]
    nav = ent.get("/app").get_data(as_text=True)
    assert 'class="badge"' in nav and "2 条未读" in nav  # the receipt and the status change
    page = ent.get("/notifications").get_data(as_text=True)
    assert "状态更新为：审核中" in page
    opened = ent.post("/notifications/read", {"id": str(ent_notes[0].id), "open": "1"})
    assert opened.status_code == 303 and opened.headers["Location"].endswith(f"/app/submissions/{submitted['sid']}")
    assert "1 条未读" in ent.get("/app").get_data(as_text=True)
    # Someone else's notification cannot be touched.
    assert submitted["rev"].post("/notifications/read", {"id": str(ent_notes[0].id)}).status_code == 404
    assert submitted["rev"].post("/notifications/read", {"id": "all"}).status_code == 303
    assert all(n.read_at for n in _notes(app, submitted["rev_user"]["id"]))
    assert submitted["rev"].post("/notifications/read", {"id": "abc"}).status_code == 404


def test_notification_links_stay_on_site(app: Flask, submitted: dict) -> None:
    with app.app_context():
        note = Notification(user_id=submitted["ent_user"]["id"], message="x", link="//evil.example/")
        db.session.add(note)
        db.session.commit()
        nid = note.id
    submitted["ent"].get("/notifications")
    resp = submitted["ent"].post("/notifications/read", {"id": str(nid), "open": "1"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/notifications")


def test_email_sent_through_smtp_after_commit(app: Flask, submitted: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[Any] = []

    class FakeSMTP:
        def __init__(self, host: str, port: int, timeout: float) -> None:
            sent.append(("connect", host, port))

        def __enter__(self) -> FakeSMTP:
            return self

        def __exit__(self, *exc: Any) -> None:
            pass

        def send_message(self, msg: Any) -> None:
            sent.append(("send", msg["To"], msg["Subject"], msg.get_content()))

    monkeypatch.setattr(notifications.smtplib, "SMTP", FakeSMTP)
    app.config.update(SMTP_HOST="smtp.example.invalid", SMTP_PORT=2525)
    submitted["rev"].get(f"/review/{submitted['sid']}")  # opening starts the review and tells the enterprise
    assert ("connect", "smtp.example.invalid", 2525) in sent
    mail = next(s for s in sent if s[0] == "send")
    assert mail[1] == submitted["ent_user"]["email"] and "审核中" in mail[2]
    assert f"/app/submissions/{submitted['sid']}" in mail[3]
    # A refused change sends nothing.
    sent.clear()
    act(submitted["rev"], submitted["sid"], "reject", "")
    assert sent == []


def test_admin_reads_the_audit_trail(app: Flask, submitted: dict) -> None:
    submitted["rev"].get(f"/review/{submitted['sid']}")
    admin = Browser(app.test_client())
    admin.login(make_user(app, "admin")["email"])
    page = admin.get("/admin/audit?type=submission").get_data(as_text=True)
    assert "submission.start_review" in page and "submission.create" in page


# -- generated access matrix ------------------------------------------------------------------
def _submission_routes(app: Flask) -> list[tuple[str, str, str]]:
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] in ("submissions", "review") and "submission_id" in rule.arguments:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                out.append((rule.endpoint, rule.rule, method))
    return out


def test_access_matrix_for_every_submission_route(app: Flask, submitted: dict) -> None:
    """Owner and routed unit allowed; everyone else 403 (wrong role) or 404 (right role, not theirs)."""
    sid = submitted["sid"]
    with app.app_context():
        att_id = db.session.exec(select(Attachment)).one().id
    _, other_ent = enterprise(app, name="别家企业")
    _, other_rev = reviewer(app, OTHER_UNIT)
    admin = Browser(app.test_client())
    admin.login(make_user(app, "admin")["email"])
    identities = {"owner": submitted["ent"], "other_enterprise": other_ent, "unit_reviewer": submitted["rev"],
                  "other_reviewer": other_rev, "admin": admin}
    for b in identities.values():
        b.get("/notifications")  # a fresh CSRF token for each signed-in session
    submitted["rev"].get(f"/review/{sid}")  # in review from here on: the owner can no longer remove files
    routes = _submission_routes(app)
    assert {e for e, _, _ in routes} >= {"submissions.detail", "submissions.upload", "submissions.resubmit",
                                         "submissions.attachment", "submissions.document", "review.detail",
                                         "review.action", "review.attachment", "review.document"}
    failures = []
    with app.test_request_context():
        from flask import url_for

        targets = [(endpoint, method, url_for(endpoint, submission_id=sid, **(
            {"attachment_id": att_id} if "<int:attachment_id>" in rule else {})))
            for endpoint, rule, method in routes]
    for endpoint, method, url in targets:
        side = endpoint.split(".")[0]
        allowed = {"owner"} if side == "submissions" else {"unit_reviewer"}
        for name, b in identities.items():
            # POSTs carry no data: allowed users get a validation answer (409/422), never 403/404.
            resp = b.client.get(url) if method == "GET" else b.post(url, {})
            code = resp.status_code
            role_ok = (side == "submissions" and name in ("owner", "other_enterprise")) or \
                      (side == "review" and name in ("unit_reviewer", "other_reviewer"))
            expected_denial = 404 if role_ok else 403
            ok = code not in (403, 404) and code < 500 if name in allowed else code == expected_denial
            if not ok:
                failures.append((endpoint, method, name, code))
    assert failures == []
    with app.app_context():
        assert load(app, sid).status == "in_review"  # no denied request changed anything
        assert db.session.get(Attachment, att_id) is not None
        assert db.session.exec(select(User).where(User.role == "admin")).first() is not None
