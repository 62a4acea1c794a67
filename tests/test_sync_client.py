"""`portal sync`, the desktop client, against the real app over httpx's in-process WSGI transport."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from flask import Flask
from keyring.backends import fail
from openpyxl import load_workbook
from sqlmodel import col, select

from portal.extensions import db
from portal.models import Answer, Attachment, Submission, SubmissionEvent, User, utcnow
from portal.services import changes, tokens
from portal.sync import config as sync_config
from portal.sync.cli import sync_group
from portal.sync.client import SyncClient
from portal.sync.mirror import ENTITY_TABLE, SCHEMA, Mirror, row_of
from portal.sync.pull import pull
from portal.sync.push import CONFLICT, PENDING, SENT, QueueError, push, queue_action
from portal.sync.xlsx import write_xlsx
from tests.factories import (
    MEASURE,
    PDF,
    ZONE_DEVICE_MAKER,
    enterprise,
    make_user,
    reviewer,
    set_answers,
    submission_id,
    submit,
)

pytestmark = pytest.mark.usefixtures("fake_pdf")  # WeasyPrint is not under test here

SERVER = "http://portal.test"


# -- helpers ------------------------------------------------------------------------------------
def token_for(app: Flask, user_id: int, scope: str = "write") -> str:
    with app.app_context(), db.standalone() as session:
        user = session.get(User, user_id)
        return tokens.issue(session, user, "测试电脑", scope)[1]


def wsgi(app: Flask) -> httpx.WSGITransport:
    return httpx.WSGITransport(app=app)


def client_for(app: Flask, token: str, transport: httpx.BaseTransport | None = None) -> SyncClient:
    return SyncClient(SERVER, token, transport=transport or wsgi(app))


class Dying(httpx.BaseTransport):
    """Passes requests to the app; after `feed_calls` feed requests every request fails like a dropped line."""

    def __init__(self, app: Flask, feed_calls: int) -> None:
        self.inner = wsgi(app)
        self.left = feed_calls

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/changes":
            if self.left <= 0:
                raise httpx.ConnectError("killed", request=request)
            self.left -= 1
        return self.inner.handle_request(request)


class Tampering(httpx.BaseTransport):
    """Flips one byte of every file body whose path starts with `prefix` (headers left as the server sent)."""

    def __init__(self, app: Flask, prefix: str) -> None:
        self.inner = wsgi(app)
        self.prefix = prefix

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if not request.url.path.startswith(self.prefix):
            return response
        body = bytearray(response.read())
        body[-1] ^= 0x01
        headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length",
                                                                                    "content-encoding")}
        return httpx.Response(response.status_code, headers=headers, content=bytes(body))


class LosesActionResponses(httpx.BaseTransport):
    """The action reaches the server and is applied, then the connection drops before the answer arrives."""

    def __init__(self, app: Flask) -> None:
        self.inner = wsgi(app)
        self.lost = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path.endswith("/actions"):
            response.read()
            self.lost += 1
            raise httpx.ReadError("connection reset after the server answered", request=request)
        return response


def server_view(app: Flask, token: str) -> dict[tuple[str, str], dict[str, Any] | None]:
    """A fresh read of the whole feed from 0, folded: the latest payload per row, None for a tombstone."""
    folded: dict[tuple[str, str], dict[str, Any] | None] = {}
    with httpx.Client(base_url=SERVER, transport=wsgi(app), headers={"Authorization": f"Bearer {token}"}) as http:
        since = 0
        while True:
            page = http.get("/api/v1/changes", params={"since": since, "limit": 1000}).json()
            for change in page["changes"]:
                folded[(change["entity"], change["key"])] = change["data"] if change["op"] == "upsert" else None
            since = page["next_cursor"]
            if not page["has_more"]:
                return folded


FILE_COLUMNS = {"pdf_path", "pdf_sha256", "local_path", "verified"}


def assert_mirror_matches(mirror: Mirror, view: dict[tuple[str, str], dict[str, Any] | None]) -> None:
    """Row by row: the mirror holds exactly the live rows of the server's feed, with the same values."""
    for entity, table in ENTITY_TABLE.items():
        pk = SCHEMA[table][1]
        expected = {key: row_of(entity, key, data) for (kind, key), data in view.items()
                    if kind == entity and data is not None}
        # The cascade of a deleted submission: its events and attachments go with it.
        if entity in ("event", "attachment"):
            gone = {key for (kind, key), data in view.items() if kind == "submission" and data is None}
            expected = {k: v for k, v in expected.items() if str(v["submission_id"]) not in gone}
        actual = {str(row[pk]): row for row in mirror.rows(table)}
        assert set(actual) == set(expected), table
        for key, want in expected.items():
            have = {k: v for k, v in actual[key].items() if k not in FILE_COLUMNS}
            assert have == {k: want.get(k) for k in have}, (table, key)


def assert_answers_match_db(app: Flask, mirror: Mirror, enterprise_id: int) -> None:
    with app.app_context():
        rows = db.session.exec(select(Answer).where(Answer.enterprise_id == enterprise_id)).all()
        server = {f"{a.enterprise_id}:{a.field}": (json.loads(a.value_json), a.version) for a in rows
                  if json.loads(a.value_json) is not None}
    mirrored = {r["key"]: (json.loads(r["value"]), r["version"]) for r in mirror.rows("answers")}
    assert mirrored == server


def churn(app: Flask, user: dict[str, Any], rounds: int) -> None:
    """Many small answer changes: a long feed with superseded rows."""
    for i in range(rounds):
        set_answers(app, user, {"annual_revenue_wan": 1000 + i, "online_sales_wan": i % 7})


# -- 1. a pull killed mid-way converges ------------------------------------------------------------
def test_pull_killed_midway_then_restarted_matches_the_server(app: Flask, tmp_path: Path) -> None:
    user, browser = enterprise(app)
    churn(app, user, 40)
    sid = submission_id(submit(browser, files=[("检验报告.pdf", PDF)]))
    token = token_for(app, user["id"], "read")
    mirror = Mirror(tmp_path / "mirror.db")

    with pytest.raises(httpx.ConnectError):
        pull(client_for(app, token, Dying(app, feed_calls=5)), mirror, limit=4)
    assert mirror.cursor > 0  # five batches landed, each with its cursor
    assert mirror.submission(sid) is None  # ... and the rest did not

    # The server moves on while the client is down: more edits and a deleted answer (a tombstone).
    churn(app, user, 5)
    set_answers(app, user, {"online_sales_wan": None, "good_credit": True})

    # Killed inside a batch, after its rows were written but before its cursor: nothing of it stays.
    before = mirror.cursor
    real_set_state = Mirror.set_state

    def explode(self: Mirror, key: str, value: Any) -> None:
        if key == "cursor":
            raise KeyboardInterrupt
        real_set_state(self, key, value)

    Mirror.set_state = explode  # type: ignore[method-assign]
    try:
        with pytest.raises(KeyboardInterrupt):
            pull(client_for(app, token), mirror, limit=4)
    finally:
        Mirror.set_state = real_set_state  # type: ignore[method-assign]
    assert mirror.cursor == before

    result = pull(client_for(app, token), mirror, limit=4)
    assert result.batches > 3 and result.cursor == mirror.cursor > before
    view = server_view(app, token)
    assert_mirror_matches(mirror, view)
    assert_answers_match_db(app, mirror, user["enterprise_id"])
    assert "online_sales_wan" not in {r["field"] for r in mirror.rows("answers")}
    assert mirror.submission(sid)["status"] == "submitted"

    # Nothing new: a second pull is one empty batch and changes nothing.
    again = pull(client_for(app, token), mirror, limit=4)
    assert again.changes == 0 and again.files_downloaded == 0
    assert_mirror_matches(mirror, view)


def test_pull_reports_counts_and_elapsed_for_the_benchmark(app: Flask, tmp_path: Path) -> None:
    user, _ = enterprise(app)
    churn(app, user, 10)
    result = pull(client_for(app, token_for(app, user["id"], "read")), Mirror(tmp_path / "m.db"), limit=3)
    assert result.changes >= len(ZONE_DEVICE_MAKER) and result.batches >= 3 and result.elapsed > 0
    assert result.as_dict()["upserts"] == result.upserts


# -- 3. tombstones and 410 -------------------------------------------------------------------------
def delete_submission(app: Flask, sid: int) -> None:
    with app.app_context(), db.standalone() as session:
        for model in (SubmissionEvent, Attachment):
            for row in session.exec(select(model).where(col(model.submission_id) == sid)):
                session.delete(row)
        session.flush()
        session.delete(session.get(Submission, sid))
        session.commit()


def test_tombstones_delete_rows_and_their_children(app: Flask, tmp_path: Path) -> None:
    user, browser = enterprise(app)
    sid = submission_id(submit(browser, files=[("检验报告.pdf", PDF)]))
    token = token_for(app, user["id"], "read")
    mirror = Mirror(tmp_path / "mirror.db")
    pull(client_for(app, token), mirror)
    assert mirror.submission(sid) and mirror.rows("events") and mirror.rows("attachments")
    files = [mirror.files_dir / r["local_path"] for r in mirror.rows("attachments")]
    files.append(mirror.files_dir / mirror.submission(sid)["pdf_path"])
    assert all(f.is_file() for f in files)

    set_answers(app, user, {"device_classes": None})
    delete_submission(app, sid)
    result = pull(client_for(app, token), mirror)
    assert result.deletes >= 2
    assert mirror.submission(sid) is None and not mirror.rows("events") and not mirror.rows("attachments")
    assert "device_classes" not in {r["field"] for r in mirror.rows("answers")}
    assert not any(f.exists() for f in files)  # the deleted application's local files go too
    assert_mirror_matches(mirror, server_view(app, token))


def test_cursor_older_than_retention_resyncs_from_zero(app: Flask, tmp_path: Path) -> None:
    user, _ = enterprise(app)
    token = token_for(app, user["id"], "read")
    mirror = Mirror(tmp_path / "mirror.db")
    pull(client_for(app, token), mirror)
    # A row the server never had: only a wipe removes it.
    mirror.db["answers"].insert({"key": f"{user['enterprise_id']}:ghost", "enterprise_id": user["enterprise_id"],
                                 "field": "ghost", "value": "1", "version": 1})
    set_answers(app, user, {"roles": None, "annual_revenue_wan": 5})
    with app.app_context(), db.standalone() as session:
        assert changes.prune(session, now=utcnow() + dt.timedelta(days=changes.RETENTION_DAYS + 1)) > 0
        assert changes.pruned_through(session) > mirror.cursor
    messages: list[str] = []
    result = pull(client_for(app, token), mirror, notify=messages.append)
    assert result.resynced and any("太旧" in m for m in messages)
    assert "ghost" not in {r["field"] for r in mirror.rows("answers")}
    assert_mirror_matches(mirror, server_view(app, token))
    assert_answers_match_db(app, mirror, user["enterprise_id"])


# -- 4. files verified by SHA-256 ---------------------------------------------------------------------
def test_files_are_verified_and_a_tampered_one_is_not_kept(app: Flask, tmp_path: Path) -> None:
    user, browser = enterprise(app)
    sid = submission_id(submit(browser, files=[("检验报告.pdf", PDF)]))
    token = token_for(app, user["id"], "read")
    mirror = Mirror(tmp_path / "mirror.db")
    result = pull(client_for(app, token, Tampering(app, "/api/v1/attachments/")), mirror)
    assert result.files_downloaded == 1  # the application PDF came through untouched
    assert len(result.files_rejected) == 1 and "SHA-256 不符" in result.files_rejected[0]
    att = mirror.rows("attachments")[0]
    assert not att["verified"] and att["local_path"] is None
    kept = [p for p in (mirror.files_dir / "attachments").glob("*")] if (mirror.files_dir / "attachments").exists() \
        else []
    assert kept == [] and not list((mirror.files_dir / ".partial").glob("*"))

    sub = mirror.submission(sid)
    pdf = mirror.files_dir / sub["pdf_path"]
    assert pdf.read_bytes().startswith(b"%PDF-") and sub["pdf_sha256"] == sub["document_sha256"]

    # A later honest pull fetches it; the PDF already verified is not downloaded again.
    result = pull(client_for(app, token), mirror)
    assert result.files_downloaded == 1 and not result.files_rejected
    att = mirror.rows("attachments")[0]
    assert att["verified"] == 1 and (mirror.files_dir / att["local_path"]).read_bytes() == PDF

    # A file removed locally is fetched again; one that is present and right is only re-verified.
    pdf.unlink()
    assert pull(client_for(app, token), mirror).files_downloaded == 1 and pdf.is_file()


def test_cli_pull_exits_nonzero_on_a_tampered_file(app: Flask, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    user, browser = enterprise(app)
    submit(browser)
    home = login_via_cli(app, tmp_path, monkeypatch, token_for(app, user["id"], "read"))
    outcome = CliRunner().invoke(sync_group, ["pull"], obj={"transport": Tampering(app, "/api/v1/submissions/")},
                                 env={"PORTAL_SYNC_HOME": str(home)})
    assert outcome.exit_code == 1, outcome.output
    assert "SHA-256 不符" in outcome.output and "校验失败 1" in outcome.output


# -- 5. reviewer push ------------------------------------------------------------------------------
def events_of(app: Flask, sid: int) -> list[str]:
    with app.app_context():
        query = select(SubmissionEvent).where(SubmissionEvent.submission_id == sid).order_by(col(SubmissionEvent.id))
        return [e.to_status for e in db.session.exec(query)]


def server_submission(app: Flask, sid: int) -> Submission:
    with app.app_context():
        sub = db.session.get(Submission, sid)
        assert sub is not None
        return sub


@pytest.fixture()
def queue(app: Flask) -> dict[str, Any]:
    """Two applications at the unit, and a reviewer of it with a read-write token."""
    rev_user, _ = reviewer(app)
    _, ent = enterprise(app)
    first = submission_id(submit(ent))
    _, ent2 = enterprise(app, name="另一企业")
    second = submission_id(submit(ent2))
    return {"rev": rev_user, "token": token_for(app, rev_user["id"], "write"), "sids": (first, second)}


def test_push_applies_queued_decisions_in_order(app: Flask, tmp_path: Path, queue: dict[str, Any]) -> None:
    sid = queue["sids"][0]
    mirror = Mirror(tmp_path / "mirror.db")
    pull(client_for(app, queue["token"]), mirror)
    assert mirror.submission(sid)["status"] == "submitted"
    first = queue_action(mirror, sid, "start_review", "开始审核")
    second = queue_action(mirror, sid, "approve", "材料齐全，同意", "enterprise")
    assert second["after_id"] == first["id"] and second["base_version"] == first["base_version"]
    with pytest.raises(QueueError):
        queue_action(mirror, sid, "reject", "  ")  # the enterprise must read why

    result = push(client_for(app, queue["token"]), mirror)
    assert [r["state"] for r in result.sent] == [SENT, SENT] and not result.conflicts
    assert server_submission(app, sid).status == "approved"
    assert events_of(app, sid) == ["submitted", "in_review", "approved"]
    assert mirror.submission(sid)["status"] == "approved"
    assert mirror.submission(sid)["version"] == server_submission(app, sid).version
    # Nothing left to send: a re-run sends nothing.
    assert not push(client_for(app, queue["token"]), mirror).sent
    pull(client_for(app, queue["token"]), mirror)
    assert_mirror_matches(mirror, server_view(app, queue["token"]))


def test_push_reports_a_conflict_when_someone_acted_first(app: Flask, tmp_path: Path,
                                                          queue: dict[str, Any]) -> None:
    sid = queue["sids"][1]
    mirror = Mirror(tmp_path / "mirror.db")
    pull(client_for(app, queue["token"]), mirror)
    mine = queue_action(mirror, sid, "start_review", "受理")
    follow = queue_action(mirror, sid, "reject", "不符合条件")

    other = make_user(app, "reviewer", unit=server_submission(app, sid).routed_unit_id)
    with client_for(app, token_for(app, other["id"])) as theirs:
        version = server_submission(app, sid).version
        done = theirs.act(sid, {"action": "start_review", "comment": "受理", "visibility": "enterprise"},
                          version=version, idempotency_key="other-reviewer-0001")
        assert done.status == 200
        done = theirs.act(sid, {"action": "return", "comment": "请补充材料", "visibility": "enterprise"},
                          version=done.body["version"], idempotency_key="other-reviewer-0002")
        assert done.status == 200
    before = server_submission(app, sid)
    history = events_of(app, sid)

    result = push(client_for(app, queue["token"]), mirror)
    assert not result.sent and [r["id"] for r in result.conflicts] == [mine["id"], follow["id"]]
    row = mirror.db["outbox"].get(mine["id"])
    assert row["state"] == CONFLICT and row["http_status"] == 412
    assert row["server_status"] == "returned" and row["server_version"] == before.version
    assert mirror.db["outbox"].get(follow["id"])["state"] == CONFLICT  # never sent on top of a refused one
    after = server_submission(app, sid)
    assert (after.status, after.version) == (before.status, before.version) and events_of(app, sid) == history
    assert mirror.submission(sid)["status"] == "submitted"  # the mirror learns the truth from the feed, not here
    # Conflicts are never retried.
    assert not push(client_for(app, queue["token"]), mirror).conflicts


def test_push_after_a_lost_response_does_not_apply_twice(app: Flask, tmp_path: Path,
                                                         queue: dict[str, Any]) -> None:
    sid = queue["sids"][0]
    mirror = Mirror(tmp_path / "mirror.db")
    pull(client_for(app, queue["token"]), mirror)
    row = queue_action(mirror, sid, "comment", "请补充营业执照副本", "internal")
    version = server_submission(app, sid).version

    lossy = LosesActionResponses(app)
    result = push(client_for(app, queue["token"], lossy), mirror)
    assert lossy.lost == 1 and result.stopped and [r["id"] for r in result.kept] == [row["id"]]
    assert mirror.db["outbox"].get(row["id"])["state"] == PENDING
    assert server_submission(app, sid).version == version + 1  # it did land

    result = push(client_for(app, queue["token"]), mirror)
    assert [r["id"] for r in result.sent] == [row["id"]]
    assert server_submission(app, sid).version == version + 1  # replayed, not applied again
    assert events_of(app, sid).count("submitted") == 2  # the original event and the one comment
    sent = mirror.db["outbox"].get(row["id"])
    assert sent["attempts"] == 2 and sent["if_match"] == version


def test_push_keeps_rows_when_the_token_cannot_write(app: Flask, tmp_path: Path, queue: dict[str, Any]) -> None:
    sid = queue["sids"][0]
    read_only = token_for(app, queue["rev"]["id"], "read")
    mirror = Mirror(tmp_path / "mirror.db")
    pull(client_for(app, read_only), mirror)
    row = queue_action(mirror, sid, "start_review", "受理")
    result = push(client_for(app, read_only), mirror)
    assert result.stopped and "403" in result.stopped and mirror.db["outbox"].get(row["id"])["state"] == PENDING
    assert server_submission(app, sid).status == "submitted"


# -- enterprise results and 6. XLSX ------------------------------------------------------------------
def test_enterprise_pull_stores_match_results_and_writes_xlsx(app: Flask, tmp_path: Path) -> None:
    user, browser = enterprise(app)
    set_answers(app, user, {"annual_revenue_wan": 1234.5})
    submit(browser)
    mirror = Mirror(tmp_path / "mirror.db")
    result = pull(client_for(app, token_for(app, user["id"], "read")), mirror)
    assert result.results and result.results == len(mirror.rows("results"))
    by_id = {r["measure_id"]: r for r in mirror.rows("results")}
    assert by_id[MEASURE]["status"] == "eligible" and by_id[MEASURE]["title"]
    with httpx.Client(base_url=SERVER, transport=wsgi(app)) as http:
        expected = http.post("/api/v1/match", json={"profile": ZONE_DEVICE_MAKER | {"annual_revenue_wan": 1234.5}})
    assert {r["measure_id"]: r["status"] for r in expected.json()["results"]} == \
        {k: v["status"] for k, v in by_id.items()}

    target = tmp_path / "mirror.xlsx"
    counts = write_xlsx(mirror, target)
    assert counts["submissions"] == 1 and counts["results"] == len(by_id)
    book = load_workbook(target)
    assert set(book.sheetnames) >= {"answers", "submissions", "events", "results", "outbox"}
    subs = book["submissions"]
    header = [c.value for c in subs[1]]
    for column in ("created_at", "updated_at"):
        cell = subs.cell(row=2, column=header.index(column) + 1)
        assert isinstance(cell.value, dt.datetime) and cell.is_date
    assert isinstance(subs.cell(row=2, column=header.index("version") + 1).value, int)
    answers = book["answers"]
    header = [c.value for c in answers[1]]
    rows = answers.iter_rows(min_row=2, values_only=True)
    values = {r[header.index("field")]: r[header.index("value")] for r in rows}
    assert values["annual_revenue_wan"] == 1234.5 and values["location"] == "zhonghan_zone"
    updated = answers.cell(row=2, column=header.index("updated_at") + 1)
    assert isinstance(updated.value, dt.datetime)
    results = book["results"]
    header = [c.value for c in results[1]]
    cash = [r[header.index("max_cash_wan")] for r in results.iter_rows(min_row=2, values_only=True)]
    assert any(isinstance(v, int | float) and v > 0 for v in cash)


def test_xlsx_writes_formula_like_text_as_text(tmp_path: Path) -> None:
    mirror = Mirror(tmp_path / "m.db")
    mirror.db["events"].insert({"id": 1, "submission_id": 1, "at": "2026-06-01T08:00:00+00:00",
                                "comment": '=HYPERLINK("http://evil")', "visibility": "enterprise"})
    write_xlsx(mirror, tmp_path / "m.xlsx")
    sheet = load_workbook(tmp_path / "m.xlsx")["events"]
    header = [c.value for c in sheet[1]]
    cell = sheet.cell(row=2, column=header.index("comment") + 1)
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")


# -- the command line -----------------------------------------------------------------------------------
def login_via_cli(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, token: str) -> Path:
    """`portal sync login` with only the fail keyring (as on this machine): the token goes to a 0600 file."""
    backend = fail.Keyring()
    monkeypatch.setattr(sync_config.keyring, "set_password", backend.set_password)
    monkeypatch.setattr(sync_config.keyring, "get_password", backend.get_password)
    monkeypatch.delenv(sync_config.TOKEN_ENV, raising=False)
    home = tmp_path / "home"
    outcome = CliRunner().invoke(sync_group, ["login", SERVER, "--token", token], obj={"transport": wsgi(app)},
                                 env={"PORTAL_SYNC_HOME": str(home)})
    assert outcome.exit_code == 0, outcome.output
    return home


def test_cli_login_pull_status_queue_push(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          queue: dict[str, Any]) -> None:
    runner = CliRunner()
    home = login_via_cli(app, tmp_path, monkeypatch, queue["token"])
    token_path = home / "token"
    assert token_path.read_text().strip() == queue["token"]
    assert stat.S_IMODE(os.stat(token_path).st_mode) == 0o600
    env = {"PORTAL_SYNC_HOME": str(home)}
    obj = {"transport": wsgi(app)}

    outcome = runner.invoke(sync_group, ["pull", "--xlsx", str(tmp_path / "out.xlsx")], obj=obj, env=env)
    assert outcome.exit_code == 0, outcome.output
    assert "条变更" in outcome.output and (home / "mirror.db").is_file() and (tmp_path / "out.xlsx").is_file()

    sid = queue["sids"][0]
    outcome = runner.invoke(sync_group, ["queue-action", str(sid), "start_review", "--comment", "受理"], env=env)
    assert outcome.exit_code == 0 and "已加入待发队列" in outcome.output, outcome.output
    outcome = runner.invoke(sync_group, ["status"], env=env)
    assert SERVER in outcome.output and queue["rev"]["email"] in outcome.output and "待发 1" in outcome.output
    outcome = runner.invoke(sync_group, ["push"], obj=obj, env=env)
    assert outcome.exit_code == 0 and "已执行" in outcome.output, outcome.output
    assert server_submission(app, sid).status == "in_review"


def test_cli_login_refuses_a_bad_token(app: Flask, tmp_path: Path) -> None:
    home = tmp_path / "home"
    outcome = CliRunner().invoke(sync_group, ["login", SERVER, "--token", "jlp_not-a-real-token"],
                                 obj={"transport": wsgi(app)}, env={"PORTAL_SYNC_HOME": str(home)})
    assert outcome.exit_code == 1 and "401" in outcome.output
    assert not (home / "token").exists()


def test_mirror_is_rebuilt_for_another_account(app: Flask, tmp_path: Path) -> None:
    first, _ = enterprise(app)
    second, _ = enterprise(app, name="另一企业")
    mirror = Mirror(tmp_path / "mirror.db")
    pull(client_for(app, token_for(app, first["id"], "read")), mirror)
    result = pull(client_for(app, token_for(app, second["id"], "read")), mirror)
    assert result.resynced
    assert {r["enterprise_id"] for r in mirror.rows("answers")} == {second["enterprise_id"]}


def test_sync_package_does_not_import_the_app_or_the_database() -> None:
    import subprocess
    import sys

    code = ("import sys, portal.sync, portal.sync.cli, portal.sync.xlsx; "
            "bad = [m for m in sys.modules if m.startswith(('sqlalchemy', 'sqlmodel', 'portal.models', "
            "'portal.extensions', 'portal.services', 'portal.views'))]; print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr

