"""The change feed (/api/v1/changes), device tokens, Idempotency-Key and If-Match on API writes."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
import time
import uuid
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event
from sqlmodel import Session, col, func, select

from portal.extensions import db
from portal.models import AnswerHistory, Change, DeviceToken, IdempotencyRecord, Submission, User
from portal.services import answers as answer_service
from portal.services import changes, review_actions, tokens
from tests.factories import enterprise, make_user, reviewer, submission_id, submit

pytestmark = pytest.mark.usefixtures("fake_pdf")  # WeasyPrint is not under test here

OTHER_UNIT = "sp-zhonghan-station"


def token_for(app: Flask, user_id: int, scope: str = "write") -> str:
    with app.app_context(), db.standalone() as session:
        user = session.get(User, user_id)
        _token, plaintext = tokens.issue(session, user, "测试电脑", scope)
    return plaintext


def api(app: Flask, token: str, method: str, path: str, body: Any = None, **headers: str):  # type: ignore[no-untyped-def]
    client = app.test_client()
    return client.open(path, method=method, json=body, headers={"Authorization": f"Bearer {token}", **headers})


def feed(app: Flask, token: str, since: int = 0, limit: int = 1000, **params: str) -> dict[str, Any]:
    query = "&".join(f"{k}={v}" for k, v in {"since": since, "limit": limit, **params}.items())
    resp = api(app, token, "GET", f"/api/v1/changes?{query}")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()


def all_changes(app: Flask, token: str) -> list[dict[str, Any]]:
    out, since = [], 0
    while True:
        page = feed(app, token, since, limit=7)
        out += page["changes"]
        since = page["next_cursor"]
        if not page["has_more"]:
            return out


def key() -> str:
    return uuid.uuid4().hex


# -- what the feed carries and who sees it --------------------------------------------------------
def test_answers_reach_the_feed_of_their_enterprise_only(app: Flask) -> None:
    user_a, _ = enterprise(app)
    user_b, _ = enterprise(app, {"location": "changchun_new_area"}, name="另一企业")
    token_a, token_b = token_for(app, user_a["id"]), token_for(app, user_b["id"])
    seen_a = all_changes(app, token_a)
    fields_a = {c["data"]["field"] for c in seen_a if c["entity"] == "answer"}
    assert {"location", "sectors", "device_classes"} <= fields_a
    assert all(c["data"]["enterprise_id"] == user_a["enterprise_id"] for c in seen_a if c["entity"] == "answer")
    assert [c["data"]["field"] for c in all_changes(app, token_b)] == ["location"]
    cursors = [c["cursor"] for c in seen_a]
    assert cursors == sorted(cursors) and len(set(cursors)) == len(cursors)


def test_a_cleared_answer_is_a_tombstone(app: Flask) -> None:
    user, _ = enterprise(app)
    token = token_for(app, user["id"])
    cursor = feed(app, token)["next_cursor"]
    with app.app_context(), db.standalone() as session:
        answer_service.save_answer(session, user["enterprise_id"], user["id"], "device_classes", None, None)
    page = feed(app, token, cursor)
    assert [(c["entity"], c["key"], c["op"]) for c in page["changes"]] == [
        ("answer", f"{user['enterprise_id']}:device_classes", "delete")]
    assert feed(app, token, page["next_cursor"])["changes"] == []


def test_unit_sees_its_queue_the_enterprise_its_applications_not_internal_notes(app: Flask) -> None:
    user, browser = enterprise(app)
    sid = submission_id(submit(browser))
    rev, _ = reviewer(app)
    outsider, _ = reviewer(app, unit=OTHER_UNIT)
    with app.app_context(), db.standalone() as session:
        sub = session.get(Submission, sid)
        reviewer_user = session.get(User, rev["id"])
        review_actions.review(session, sub, reviewer_user, "start_review", "内部备注：核对许可证", "internal")
        review_actions.review(session, sub, reviewer_user, "return", "请补充注册证复印件", "enterprise")
    ent, unit, other = (all_changes(app, token_for(app, u["id"])) for u in (user, rev, outsider))
    comments = lambda seen: [c["data"]["comment"] for c in seen if c["entity"] == "event"]  # noqa: E731
    assert "请补充注册证复印件" in comments(ent) and "内部备注：核对许可证" not in comments(ent)
    assert {"请补充注册证复印件", "内部备注：核对许可证"} <= set(comments(unit))
    assert not any(c["entity"] in ("submission", "event") for c in other)
    assert not any(c["entity"] == "answer" for c in unit)  # drafts are the enterprise's own business
    latest = [c for c in unit if c["entity"] == "submission"][-1]["data"]
    assert latest["status"] == "returned" and latest["version"] == 3 and latest["document"]["sha256"]
    # notifications go to their user only
    assert any(c["entity"] == "notification" for c in ent)
    assert all(c["entity"] != "notification" or "退回" not in c["data"]["message"] for c in unit)


def test_forwarding_moves_the_application_between_unit_feeds(app: Flask) -> None:
    _user, browser = enterprise(app)
    sid = submission_id(submit(browser))
    rev, _ = reviewer(app)
    other, _ = reviewer(app, unit=OTHER_UNIT)
    token_rev, token_other = token_for(app, rev["id"]), token_for(app, other["id"])
    before = feed(app, token_rev)["next_cursor"]
    with app.app_context(), db.standalone() as session:
        review_actions.review(session, session.get(Submission, sid), session.get(User, rev["id"]), "forward",
                                  "属于示范服务站", "internal", to_unit=OTHER_UNIT)
    left = feed(app, token_rev, before)["changes"]
    assert ("submission", str(sid), "delete") in [(c["entity"], c["key"], c["op"]) for c in left]
    joined = all_changes(app, token_other)
    assert {c["entity"] for c in joined} >= {"submission", "event"}
    assert len([c for c in joined if c["entity"] == "event"]) == 2  # its history came along


# -- the cursor is gap-free in commit order ----------------------------------------------------
def test_interleaved_transactions_leave_no_gap(app: Flask) -> None:
    """A slow transaction that took its cursor first must commit before a later one becomes visible."""
    user_a, _ = enterprise(app, {"location": "zhonghan_zone"})
    user_b, _ = enterprise(app, {"location": "zhonghan_zone"}, name="另一企业")
    admin = make_user(app, "admin")
    with app.app_context():
        engine = db.engine
    slow_in_commit, release_slow = threading.Event(), threading.Event()
    slow_connections: set[int] = set()

    @event.listens_for(engine, "commit")
    def hold(conn) -> None:  # type: ignore[no-untyped-def]
        if id(conn.connection.dbapi_connection) in slow_connections:
            slow_in_commit.set()  # its Change row is written; the COMMIT waits for the test
            assert release_slow.wait(30)

    def save(user: dict[str, Any], value: str, slow: bool) -> None:
        with app.app_context(), db.standalone() as session:
            if slow:
                slow_connections.add(id(session.connection().connection.dbapi_connection))
            answer_service.save_answer(session, user["enterprise_id"], user["id"], "location", value, None)

    def read_all(cursor: int) -> tuple[list[int], int]:
        """Where the feed moves a reader's cursor, and every row (of anyone) up to there."""
        with app.app_context(), Session(db.engine) as session:
            page = changes.read(session, changes.Viewer(admin["id"], "admin"), cursor, 1000, ("answer",))
        with app.app_context(), Session(db.engine) as session:
            rows = session.exec(select(Change.id).where(col(Change.id) > cursor, col(Change.id) <= page.next_cursor)
                                .order_by(col(Change.id))).all()
        return list(rows), page.next_cursor

    with app.app_context(), Session(db.engine) as session:
        start = changes.head(session)
    slow = threading.Thread(target=save, args=(user_a, "changchun_new_area", True))
    slow.start()
    assert slow_in_commit.wait(30)
    fast = threading.Thread(target=save, args=(user_b, "changchun_new_area", False))
    fast.start()
    fast.join(1.0)  # the later writer waits for the feed lock (PostgreSQL) or the write lock (SQLite)
    seen_early, cursor_early = read_all(start)
    assert seen_early == [] and cursor_early == start  # nothing readable yet, and the cursor did not move
    release_slow.set()
    slow.join(30)
    fast.join(30)
    event.remove(engine, "commit", hold)
    seen_late, _ = read_all(cursor_early)
    assert len(seen_late) == 2 and seen_late == sorted(seen_late)
    with app.app_context(), Session(db.engine) as session:
        owners = [json.loads(session.get(Change, i).payload_json)["enterprise_id"] for i in seen_late]
    assert owners == [user_a["enterprise_id"], user_b["enterprise_id"]]  # cursor order is commit order


def test_readers_during_a_write_storm_never_skip_a_row(app: Flask) -> None:
    """Many writers, one reader following next_cursor: it ends up with every row, each once."""
    users = [enterprise(app, {"location": "zhonghan_zone"}, name=f"企业{i}")[0] for i in range(4)]
    with app.app_context(), Session(db.engine) as session:
        start = changes.head(session)
    done = threading.Event()

    def writer(user: dict[str, Any]) -> None:
        with app.app_context():
            for i in range(12):
                with db.standalone() as session:
                    answer_service.save_answer(session, user["enterprise_id"], user["id"], "annual_revenue_wan",
                                               str(10 + i), None)

    seen: list[int] = []

    def reader() -> None:
        cursor = start
        with app.app_context():
            while True:
                finished = done.is_set()
                with Session(db.engine) as session:
                    top = changes.head(session)
                    rows = session.exec(select(Change.id).where(col(Change.id) > cursor, col(Change.id) <= top)
                                        .order_by(col(Change.id))).all()
                seen.extend(rows)
                cursor = max([cursor, top])
                if finished:
                    return
                time.sleep(0.005)

    threads = [threading.Thread(target=writer, args=(u,)) for u in users]
    follow = threading.Thread(target=reader)
    follow.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    done.set()
    follow.join(60)
    with app.app_context(), Session(db.engine) as session:
        committed = session.exec(select(Change.id).where(col(Change.id) > start).order_by(col(Change.id))).all()
    assert len(committed) == 48 and seen == list(committed)


# -- retention -----------------------------------------------------------------------------------
def test_an_old_cursor_gets_410_and_since_zero_rebuilds(app: Flask) -> None:
    user, _ = enterprise(app, {"location": "zhonghan_zone", "annual_revenue_wan": "10"})
    token = token_for(app, user["id"])
    early = feed(app, token)["next_cursor"]
    with app.app_context(), db.standalone() as session:
        answer_service.save_answer(session, user["enterprise_id"], user["id"], "annual_revenue_wan", None, None)
        answer_service.save_answer(session, user["enterprise_id"], user["id"], "location", "changchun_new_area",
                                   None)
        # Within the retention nothing goes.
        assert changes.prune(session, days=changes.RETENTION_DAYS) == 0
        later = dt.datetime.now(dt.UTC) + dt.timedelta(days=changes.RETENTION_DAYS + 1)
        dropped = changes.prune(session, now=later)
    assert dropped >= 3  # the tombstone, the answer it deleted, the superseded location
    resp = api(app, token, "GET", f"/api/v1/changes?since={early}")
    assert resp.status_code == 410 and resp.get_json()["resync_from"] == 0
    rebuilt = feed(app, token)["changes"]
    assert [(c["data"]["field"], c["data"]["value"]) for c in rebuilt if c["entity"] == "answer"] == [
        ("location", "changchun_new_area")]


def test_feed_parameters_are_checked(app: Flask) -> None:
    user, _ = enterprise(app)
    token = token_for(app, user["id"], "read")
    for query in ("since=-1", "since=abc", "since=" + "9" * 40, "limit=0", "limit=5000", "entity=secrets"):
        resp = api(app, token, "GET", f"/api/v1/changes?{query}")
        assert resp.status_code == 400 and resp.get_json()["error"], query


# -- tokens --------------------------------------------------------------------------------------
def test_tokens_are_hashed_scoped_revocable_and_record_last_use(app: Flask) -> None:
    user, browser = enterprise(app)
    page = browser.post("/account/tokens", {"name": "办公室电脑", "scope": "read"})
    assert page.status_code == 201 and page.headers["Cache-Control"] == "no-store"
    plaintext = page.get_data(as_text=True).split('<code class="token">')[1].split("<")[0]
    with app.app_context(), Session(db.engine) as session:
        stored = session.exec(select(DeviceToken).where(DeviceToken.user_id == user["id"])).one()
        assert stored.token_hash == tokens.digest(plaintext) and plaintext not in stored.token_hash
        assert stored.last_used_at is None
    assert api(app, plaintext, "GET", "/api/v1/me").get_json()["scope"] == "read"
    refused = api(app, plaintext, "PUT", "/api/v1/answers/annual_revenue_wan", {"value": "5"}, **{"If-Match": '"0"',
                                                                                         "Idempotency-Key": key()})
    assert refused.status_code == 403
    listing = browser.get("/account").get_data(as_text=True)
    assert "办公室电脑" in listing and "尚未使用" not in listing  # last use is shown
    assert browser.post(f"/account/tokens/{stored.id}/revoke", {}).status_code == 302
    gone = api(app, plaintext, "GET", "/api/v1/me")
    assert gone.status_code == 401 and "Bearer" in gone.headers["WWW-Authenticate"]
    assert api(app, "jlp_" + "x" * 43, "GET", "/api/v1/changes").status_code == 401
    other, other_browser = enterprise(app, name="另一企业")
    assert other_browser.post(f"/account/tokens/{stored.id}/revoke", {}).status_code == 404


def test_a_cookie_signed_api_write_needs_the_csrf_token(app: Flask) -> None:
    _user, browser = enterprise(app)
    headers = {"If-Match": '"1"', "Idempotency-Key": key()}
    forged = browser.client.put("/api/v1/answers/annual_revenue_wan", json={"value": "8"}, headers=headers)
    assert forged.status_code == 400
    browser.get("/app")
    ok = browser.client.put("/api/v1/answers/annual_revenue_wan", json={"value": "8"},
                            headers={**headers, "X-CSRFToken": browser.token, "If-Match": '"0"'})
    assert ok.status_code == 200, ok.get_data(as_text=True)


# -- Idempotency-Key and If-Match ----------------------------------------------------------------
def test_a_replayed_write_stores_one_row(app: Flask) -> None:
    user, _ = enterprise(app)
    token = token_for(app, user["id"])
    same = {"If-Match": '"0"', "Idempotency-Key": key()}
    answers = [api(app, token, "PUT", "/api/v1/answers/annual_revenue_wan", {"value": "25"}, **same) for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 200]
    assert [r.get_json() for r in answers] == [{"field": "annual_revenue_wan", "value": 25, "version": 1}] * 3
    assert answers[0].headers.get("Idempotent-Replayed") is None
    assert answers[1].headers["Idempotent-Replayed"] == answers[2].headers["Idempotent-Replayed"] == "true"
    assert answers[0].headers["ETag"] == '"1"'
    with app.app_context(), Session(db.engine) as session:
        history = session.exec(select(func.count()).select_from(AnswerHistory).where(
            AnswerHistory.enterprise_id == user["enterprise_id"], AnswerHistory.field == "annual_revenue_wan")).one()
        records = session.exec(select(func.count()).select_from(IdempotencyRecord).where(
            IdempotencyRecord.user_id == user["id"])).one()
        feed_rows = session.exec(select(func.count()).select_from(Change).where(
            Change.entity_key == f"{user['enterprise_id']}:annual_revenue_wan")).one()
    assert (history, records, feed_rows) == (1, 1, 1)
    other_body = api(app, token, "PUT", "/api/v1/answers/annual_revenue_wan", {"value": "26"}, **same)
    assert other_body.status_code == 422 and "Idempotency-Key" in other_body.get_json()["error"]


def test_if_match_is_required_and_a_stale_version_is_refused(app: Flask) -> None:
    user, _ = enterprise(app)
    token = token_for(app, user["id"])
    path = "/api/v1/answers/annual_revenue_wan"
    assert api(app, token, "PUT", path, {"value": "5"}, **{"Idempotency-Key": key()}).status_code == 428
    assert api(app, token, "PUT", path, {"value": "5"}, **{"If-Match": '"0"'}).status_code == 400  # no key
    assert api(app, token, "PUT", path, {"value": "5"}, **{"If-Match": '"0"', "Idempotency-Key": key()}) \
        .get_json()["version"] == 1
    stale = api(app, token, "PUT", path, {"value": "7"}, **{"If-Match": '"0"', "Idempotency-Key": key()})
    assert stale.status_code == 412 and stale.get_json()["current"] == {"value": 5, "version": 1}
    bad = api(app, token, "PUT", path, {"value": "很多"}, **{"If-Match": '"1"', "Idempotency-Key": key()})
    assert bad.status_code == 422 and bad.get_json()["field"] == "annual_revenue_wan"
    assert api(app, token, "PUT", "/api/v1/answers/nonsense", {"value": 1},
               **{"If-Match": '"0"', "Idempotency-Key": key()}).status_code == 404
    with app.app_context():
        assert answer_service.profile_of(db.session, user["enterprise_id"])["annual_revenue_wan"] == 5


def test_reviewer_actions_over_the_api_check_the_version(app: Flask) -> None:
    _user, browser = enterprise(app)
    sid = submission_id(submit(browser))
    rev, _ = reviewer(app)
    token = token_for(app, rev["id"])
    path = f"/api/v1/submissions/{sid}/actions"
    start = {"action": "start_review", "comment": "开始审核", "visibility": "enterprise"}
    first = api(app, token, "POST", path, start, **{"If-Match": '"1"', "Idempotency-Key": key()})
    assert first.status_code == 200 and first.get_json()["status"] == "in_review" and first.get_json()["version"] == 2
    stale = api(app, token, "POST", path, {"action": "approve", "comment": "同意", "visibility": "enterprise"},
                **{"If-Match": '"1"', "Idempotency-Key": key()})
    assert stale.status_code == 412 and stale.get_json()["current"]["status"] == "in_review"
    assert api(app, token, "POST", path, start, **{"Idempotency-Key": key()}).status_code == 428
    done_key = key()
    approve = {"action": "approve", "comment": "同意", "visibility": "enterprise"}
    approved = [api(app, token, "POST", path, approve, **{"If-Match": '"2"', "Idempotency-Key": done_key})
                for _ in range(2)]
    assert [r.status_code for r in approved] == [200, 200] and approved[1].headers["Idempotent-Replayed"] == "true"
    with app.app_context(), Session(db.engine) as session:
        sub = session.get(Submission, sid)
        assert (sub.status, sub.version) == ("approved", 3)
    outsider, _ = reviewer(app, unit=OTHER_UNIT)
    assert api(app, token_for(app, outsider["id"]), "POST", path, approve,
               **{"If-Match": '"3"', "Idempotency-Key": key()}).status_code == 404


def test_files_come_with_their_digest(app: Flask) -> None:
    user, browser = enterprise(app)
    sid = submission_id(submit(browser, files=[("证明.pdf", b"%PDF-1.7\n% proof\n%%EOF\n")]))
    token = token_for(app, user["id"], "read")
    pdf = api(app, token, "GET", f"/api/v1/submissions/{sid}/application.pdf")
    assert pdf.status_code == 200 and pdf.headers["X-Content-SHA256"] == hashlib.sha256(pdf.data).hexdigest()
    attachment = next(c for c in all_changes(app, token) if c["entity"] == "attachment")["data"]
    got = api(app, token, "GET", f"/api/v1/attachments/{attachment['id']}")
    assert got.status_code == 200 and hashlib.sha256(got.data).hexdigest() == attachment["sha256"]
    stranger, _ = enterprise(app, name="另一企业")
    assert api(app, token_for(app, stranger["id"]), "GET", f"/api/v1/attachments/{attachment['id']}") \
        .status_code == 404


@pytest.mark.parametrize("entity", changes.ENTITIES)
def test_every_entity_kind_is_captured(app: Flask, entity: str) -> None:
    """Each tracked table reaches the feed through the session hook, with no call site involved."""
    user, browser = enterprise(app)
    sid = submission_id(submit(browser, files=[("证明.pdf", b"%PDF-1.7\n% proof\n%%EOF\n")]))
    rev, _ = reviewer(app)
    with app.app_context(), db.standalone() as session:
        review_actions.review(session, session.get(Submission, sid), session.get(User, rev["id"]),
                                  "start_review", "开始审核", "enterprise")
    seen = {c["entity"] for c in all_changes(app, token_for(app, user["id"]))}
    assert entity in seen


def test_prune_command(app: Flask) -> None:
    user, _ = enterprise(app)
    result = app.test_cli_runner().invoke(args=["changes", "prune"])
    assert result.exit_code == 0 and "0 rows dropped" in result.output
    assert app.test_cli_runner().invoke(args=["changes", "prune", "--days", "30"]).exit_code == 2  # < 90 refused
    assert feed(app, token_for(app, user["id"]))["changes"]
