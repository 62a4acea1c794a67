"""Service-station desk work: references, the receipt, the materials decision and its clock, the judgement,
what a resubmission changed, removing a mistaken upload, the dashboard and "next"."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlmodel import select

from portal.clock import local_date
from portal.extensions import db
from portal.models import Attachment, AuditLog, Notification, Submission
from portal.services import references
from portal.services.routing import receipt_lines, receipt_text
from portal.services.timelimits import NEAR_DAYS, add_months, time_limit
from tests.factories import (
    PDF,
    PNG,
    UNIT,
    ZONE_DEVICE_MAKER,
    act,
    enterprise,
    load,
    reviewer,
    set_answers,
    submission_id,
    submit,
)

pytestmark = pytest.mark.usefixtures("fake_pdf")  # WeasyPrint is not under test here

SNAPSHOT_3_MONTHS = {"title": "提高审批效能", "time_limit_months": 3,
                     "time_limit_note": "相关资料齐全且符合要求的，3个月内完成注册审批"}


def _at(day: str, hour_utc: int = 2) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour_utc), dt.UTC)


# -- the clock (a fixed date, no app needed) ---------------------------------------------------
@pytest.mark.parametrize(("start", "months", "end"), [
    ("2026-02-01", 3, "2026-05-01"), ("2026-11-30", 3, "2027-02-28"), ("2028-11-30", 3, "2029-02-28"),
    ("2027-11-30", 3, "2028-02-29"), ("2026-01-31", 1, "2026-02-28"), ("2026-12-15", 12, "2027-12-15"),
])
def test_add_months_keeps_the_day_or_takes_the_months_last(start: str, months: int, end: str) -> None:
    assert add_months(dt.date.fromisoformat(start), months) == dt.date.fromisoformat(end)


@pytest.mark.parametrize(("status", "complete", "today", "state", "remaining", "flag"), [
    ("in_review", None, "2026-03-01", "waiting", None, ""),
    ("in_review", "2026-02-01", "2026-03-01", "running", 61, ""),
    ("in_review", "2026-02-01", f"{dt.date(2026, 5, 1) - dt.timedelta(days=NEAR_DAYS):%Y-%m-%d}", "running",
     NEAR_DAYS, "临近时限"),
    ("in_review", "2026-02-01", "2026-05-01", "running", 0, "临近时限"),
    ("in_review", "2026-02-01", "2026-05-02", "running", -1, "已超时限"),
    ("returned", None, "2026-05-02", "paused", None, ""),
    ("approved", "2026-02-01", "2026-06-01", "done", -31, ""),
])
def test_the_clock_runs_from_the_materials_decision(status: str, complete: str | None, today: str, state: str,
                                                    remaining: int | None, flag: str) -> None:
    sub = Submission(enterprise_id=1, measure_id="d000-03", measure_fingerprint="f", measure_snapshot_json="{}",
                     answers_json="{}", routed_unit_id=UNIT, status=status, idempotency_key="k", created_by=1,
                     materials_complete_at=_at(complete) if complete else None)
    limit = time_limit(sub, SNAPSHOT_3_MONTHS, dt.date.fromisoformat(today))
    assert limit is not None and limit.state == state and limit.remaining == remaining and limit.flag == flag
    assert limit.label == "3 个月"
    if state == "running":
        assert limit.describe().startswith("材料齐全 2026-02-01 起 3 个月，至 2026-05-01")


def test_a_stored_time_counts_on_its_beijing_date() -> None:
    # 2026-01-31 17:00 UTC is 1 February in Beijing: the three months run from 1 February.
    sub = Submission(enterprise_id=1, measure_id="d000-03", measure_fingerprint="f", measure_snapshot_json="{}",
                     answers_json="{}", routed_unit_id=UNIT, status="in_review", idempotency_key="k", created_by=1,
                     materials_complete_at=dt.datetime(2026, 1, 31, 17, tzinfo=dt.UTC))
    limit = time_limit(sub, SNAPSHOT_3_MONTHS, dt.date(2026, 3, 1))
    assert limit is not None and limit.started == dt.date(2026, 2, 1) and limit.deadline == dt.date(2026, 5, 1)


def test_no_limit_where_the_clause_states_none() -> None:
    sub = Submission(enterprise_id=1, measure_id="d002-06", measure_fingerprint="f", measure_snapshot_json="{}",
                     answers_json="{}", routed_unit_id=UNIT, status="in_review", idempotency_key="k", created_by=1)
    assert time_limit(sub, {"title": "x"}, dt.date(2026, 3, 1)) is None


# -- references -----------------------------------------------------------------------------------
def test_references_count_per_unit_and_beijing_year(app: Flask) -> None:
    with app.app_context(), db.standalone() as session:
        taken = [references.next_reference(session, unit, at) for unit, at in (
            ("sp-zhonghan-station", _at("2026-03-01")), ("sp-zhonghan-station", _at("2026-03-02")),
            ("jlmpa-device-registration", _at("2026-03-02")),
            # 16:30 UTC on 31 December is already 1 January in Beijing: a new year, numbered from 1.
            ("sp-zhonghan-station", dt.datetime(2026, 12, 31, 16, 30, tzinfo=dt.UTC)),
            ("sp-zhonghan-station", dt.datetime(2026, 12, 31, 15, 30, tzinfo=dt.UTC)))]
        session.commit()
    assert taken == ["ZH-2026-000001", "ZH-2026-000002", "QXZC-2026-000001", "ZH-2027-000001", "ZH-2026-000003"]
    assert references.format_reference("ZH", 2026, 123) == "ZH-2026-000123"
    assert references.unit_code("no-such-unit") == "XX"


def test_a_reference_is_on_the_application_everywhere(app: Flask) -> None:
    ent_user, ent = enterprise(app)
    rev_user, rev = reviewer(app)
    sid = submission_id(submit(ent))
    ref = load(app, sid).reference
    assert ref == "QXZC-2026-000001"
    assert ref in ent.get("/app/submissions/").get_data(as_text=True)
    assert ref in rev.get("/review/").get_data(as_text=True)
    with app.app_context():
        notes = db.session.exec(select(Notification)).all()
    assert notes and all(ref in n.message for n in notes)  # the reviewers' "new" and the enterprise's receipt
    second_user, second = enterprise(app, name="第二家")
    assert load(app, submission_id(submit(second))).reference == "QXZC-2026-000002"


# -- the receipt ----------------------------------------------------------------------------------
def test_the_receipt_names_the_reference_the_unit_and_the_stated_handling_time(app: Flask) -> None:
    ent_user, ent = enterprise(app)
    sid = submission_id(submit(ent))
    with app.app_context():
        [receipt] = db.session.exec(select(Notification).where(Notification.user_id == ent_user["id"])).all()
    assert receipt.message == ("已收到您的申请“提高审批效能”，受理编号 QXZC-2026-000001，受理单位：医疗器械注册处。"
                               "文件规定的办理时限：相关资料齐全且符合要求的，3个月内完成注册审批"
                               "（自受理单位确认材料齐全之日起计算）。审核进展会通知您。")
    assert receipt.link == f"/app/submissions/{sid}"
    page = ent.get(f"/app/submissions/{sid}").get_data(as_text=True)
    assert "受理回执" in page and "QXZC-2026-000001" in page and "3个月内完成注册审批" in page


def test_a_receipt_says_when_the_documents_state_no_handling_time(app: Flask) -> None:
    with app.app_context():
        from portal.policy.catalog import catalog

        unit = catalog().units["sp-zhonghan-station"]
        sub = Submission(id=7, enterprise_id=1, measure_id="d002-06", measure_fingerprint="f",
                         measure_snapshot_json=json.dumps({"title": "医疗器械与制药设备研发产业化"}), answers_json="{}",
                         routed_unit_id=unit.id, status="submitted", idempotency_key="k", created_by=1,
                         reference="ZH-2026-000009")
        assert "文件未规定办理时限。" in receipt_text(sub, unit) and "ZH-2026-000009" in receipt_text(sub, unit)
        assert receipt_lines(sub)[2] == ("办理时限", "文件未规定办理时限")


# -- the materials decision, the judgement, a resubmission --------------------------------------------
def test_materials_complete_is_the_reviewers_decision_and_starts_the_clock(app: Flask) -> None:
    ent_user, ent = enterprise(app)
    _, rev = reviewer(app)
    sid = submission_id(submit(ent))
    assert load(app, sid).materials_complete_at is None
    page = rev.get(f"/review/{sid}").get_data(as_text=True)
    assert "尚未确认" in page and "系统判断（提交时）" in page and "符合条件" in page and "已满足" in page
    assert act(rev, sid, "materials_complete", "").status_code == 303
    started = load(app, sid).materials_complete_at
    assert started is not None and local_date(started) == dt.date(2026, 6, 1)  # PORTAL_TODAY, in Beijing
    assert act(rev, sid, "materials_complete", "").status_code == 409  # once
    page = rev.get(f"/review/{sid}").get_data(as_text=True)
    assert "材料齐全 2026-06-01 起 3 个月，至 2026-09-01（剩余 92 天）" in page
    with app.app_context():
        told = [n.message for n in db.session.exec(select(Notification).where(
            Notification.user_id == ent_user["id"]))]
    assert any("确认材料齐全" in m and "3个月内完成注册审批" in m for m in told)
    # 需补正 stops the clock; the next confirmation starts it again.
    assert act(rev, sid, "return", "请补充检验报告").status_code == 303
    assert load(app, sid).materials_complete_at is None


def test_a_resubmission_shows_what_changed(app: Flask, fake_pdf: list[str]) -> None:  # noqa: F811
    ent_user, ent = enterprise(app)
    _, rev = reviewer(app)
    sid = submission_id(submit(ent, files=[("说明.pdf", PDF)]))
    first_document = load(app, sid).document_id
    act(rev, sid, "return", "企业名称与营业执照不一致，请更正后重新提交")
    set_answers(app, ent_user, {"enterprise_name": "吉林测试医疗器械股份有限公司"})
    ent.get(f"/app/submissions/{sid}")
    ent.post(f"/app/submissions/{sid}/attachments", {"files": [(io.BytesIO(PNG), "营业执照.png")]})
    assert ent.post(f"/app/submissions/{sid}/resubmit", {"note": "已更正企业名称"}).status_code == 303
    sub = load(app, sid)
    assert json.loads(sub.answers_json)["enterprise_name"] == "吉林测试医疗器械股份有限公司"
    assert sub.document_id != first_document and len(fake_pdf) == 2  # a new PDF under the same reference
    assert sub.reference == "QXZC-2026-000001" and sub.materials_complete_at is None
    page = rev.get(f"/review/{sid}").get_data(as_text=True)
    assert "本次补正的变化" in page and "吉林测试医疗器械有限公司" in page and "吉林测试医疗器械股份有限公司" in page
    changes = page.split("本次补正的变化")[1].split("</section>")[0]
    assert "新增附件：营业执照.png" in changes and "说明.pdf" not in changes  # uploaded before the return


def test_a_resubmission_without_changes_says_so(app: Flask, fake_pdf: list[str]) -> None:  # noqa: F811
    _, ent = enterprise(app)
    _, rev = reviewer(app)
    sid = submission_id(submit(ent))
    act(rev, sid, "return", "请说明研发进度")
    ent.get(f"/app/submissions/{sid}")
    assert ent.post(f"/app/submissions/{sid}/resubmit", {"note": "研发进度见说明"}).status_code == 303
    assert len(fake_pdf) == 1  # same answers: the frozen PDF stays
    assert "回答和附件与退回时相同" in rev.get(f"/review/{sid}").get_data(as_text=True)


# -- removing a mistaken upload -------------------------------------------------------------------
def _attachments(app: Flask, sid: int) -> list[Attachment]:
    with app.app_context():
        return list(db.session.exec(select(Attachment).where(Attachment.submission_id == sid)))


def test_an_attachment_can_be_removed_until_a_reviewer_has_seen_it(app: Flask) -> None:
    _, ent = enterprise(app)
    _, rev = reviewer(app)
    sid = submission_id(submit(ent, files=[("错误文件.pdf", PDF), ("营业执照.pdf", PDF)]))
    wrong, kept = _attachments(app, sid)
    stored = Path(app.config["UPLOAD_DIR"]) / wrong.stored_name
    assert stored.is_file()
    page = ent.get(f"/app/submissions/{sid}").get_data(as_text=True)
    assert f"/files/{wrong.id}/remove" in page
    resp = ent.post(f"/app/submissions/{sid}/files/{wrong.id}/remove")
    assert resp.status_code == 303
    assert [a.original_name for a in _attachments(app, sid)] == ["营业执照.pdf"] and not stored.exists()
    with app.app_context():
        [row] = db.session.exec(select(AuditLog).where(AuditLog.action == "submission.remove_attachment")).all()
    assert "错误文件.pdf" in row.before_json and wrong.sha256 in row.before_json
    assert "删除附件：错误文件.pdf" in rev.get(f"/review/{sid}").get_data(as_text=True)  # opened: review starts
    refused = ent.post(f"/app/submissions/{sid}/files/{kept.id}/remove")
    assert refused.status_code == 409 and "不能删除" in refused.get_data(as_text=True)
    assert len(_attachments(app, sid)) == 1
    assert ent.post(f"/app/submissions/{sid}/files/999999/remove").status_code == 404


def test_after_a_return_only_files_uploaded_since_can_be_removed(app: Flask) -> None:
    _, ent = enterprise(app)
    _, rev = reviewer(app)
    sid = submission_id(submit(ent, files=[("原件.pdf", PDF)]))
    act(rev, sid, "return", "请补充")
    ent.get(f"/app/submissions/{sid}")
    ent.post(f"/app/submissions/{sid}/attachments", {"files": [(io.BytesIO(PNG), "传错了.png")]})
    seen, new = _attachments(app, sid)
    assert ent.post(f"/app/submissions/{sid}/files/{seen.id}/remove").status_code == 409
    assert ent.post(f"/app/submissions/{sid}/files/{new.id}/remove").status_code == 303
    assert [a.original_name for a in _attachments(app, sid)] == ["原件.pdf"]


# -- the unit's desk --------------------------------------------------------------------------------
def _backdate(app: Flask, sid: int, **values: Any) -> None:
    with app.app_context():
        sub = db.session.get(Submission, sid)
        assert sub is not None
        for name, value in values.items():
            setattr(sub, name, value)
        db.session.add(sub)
        db.session.commit()


def test_dashboard_counts_median_handling_time_and_overdue(app: Flask) -> None:
    _, rev = reviewer(app)
    sids = [submission_id(submit(enterprise(app, {**ZONE_DEVICE_MAKER, "enterprise_name": f"企业{i}"},
                                            name=f"企业{i}")[1])) for i in range(4)]
    act(rev, sids[0], "approve", "")
    act(rev, sids[1], "reject", "不符合")
    act(rev, sids[2], "materials_complete", "")
    _backdate(app, sids[0], created_at=_at("2026-05-22"))  # decided today (2026-06-01): 10 days
    _backdate(app, sids[1], created_at=_at("2026-05-27"))  # 5 days
    _backdate(app, sids[2], materials_complete_at=_at("2026-02-01"))  # due 2026-05-01: past its limit
    page = rev.get("/review/dashboard").get_data(as_text=True)
    assert '<svg role="img"' in page and "已通过 1 件" in page and "待打开" in page
    assert "7.5 天" in page  # median of 10 and 5
    assert "已超时限" in page and "QXZC-2026-000003" in page
    flagged = rev.get("/review/?due=overdue").get_data(as_text=True)
    assert "QXZC-2026-000003" in flagged and "QXZC-2026-000004" not in flagged
    assert "时限筛选无效" in rev.get("/review/?due=soon").get_data(as_text=True)


def test_submit_and_next_opens_the_oldest_waiting_application(app: Flask) -> None:
    _, rev = reviewer(app)
    first = submission_id(submit(enterprise(app, name="甲")[1]))
    second = submission_id(submit(enterprise(app, name="乙")[1]))
    resp = act(rev, first, "approve", "", then="next")
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/review/{second}")
    last = act(rev, second, "approve", "", then="next")
    assert last.headers["Location"].endswith("/review/")  # nothing left waiting
