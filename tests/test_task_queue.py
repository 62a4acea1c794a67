"""The task queue: PDF downloads become jobs a worker renders, a progress page follows them, e-mail is retried.

Most tests here run without a worker (TASKS_IMMEDIATE off, nothing consumes the queue) to see the states a
reader sees; one starts a real `portal worker` process on the test database and a SQLite queue file.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlmodel import select

from portal.extensions import db
from portal.models import IssuedDocument, PdfJob
from portal.services import notifications, pdf_jobs, pdfs
from portal.services.answers import profile_of
from portal.tasks import huey
from tests.factories import ZONE_DEVICE_MAKER, Browser, app_with_queue, enterprise

MEASURE = "d003-09"


@pytest.fixture()
def queued_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    with app_with_queue(database_url, tmp_path) as app:
        yield app


def _job_token(response: Any) -> str:
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    match = re.fullmatch(r".*/app/documents/([A-Za-z0-9_-]+)", response.headers["Location"])
    assert match, response.headers["Location"]
    return match.group(1)


def _jobs(app: Flask) -> list[PdfJob]:
    with app.app_context():
        return list(db.session.exec(select(PdfJob).order_by(PdfJob.id)))


def test_a_download_is_queued_and_its_page_says_so_with_and_without_javascript(queued_app: Flask) -> None:
    _, browser = enterprise(queued_app)
    token = _job_token(browser.client.get(f"/results/{MEASURE}/application.pdf"))
    assert huey.pending_count() == 1
    # Asking again for the same document shares the job: no second render is queued.
    assert _job_token(browser.client.get(f"/results/{MEASURE}/application.pdf")) == token
    assert huey.pending_count() == 1 and len(_jobs(queued_app)) == 1

    page = browser.client.get(f"/app/documents/{token}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in html and 'data-state="queued"' in html and "排队中" in html
    assert 'role="status"' in html and 'aria-live="polite"' in html  # the state is read out, not only shown
    assert f'href="/app/documents/{token}"' in html  # without JavaScript: a link to look again
    assert 'hx-trigger="every 1s"' in html
    fragment = browser.client.get(f"/app/documents/{token}", headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and body.lstrip().startswith('<div id="pdf-job"') and "排队中" in body
    assert "HX-Request" in fragment.headers["Vary"]
    # Not done yet: the file address leads back to the progress page.
    early = browser.client.get(f"/app/documents/{token}/file")
    assert early.status_code == 303 and early.headers["Location"].endswith(f"/app/documents/{token}")

    # Another enterprise cannot see it.
    _, stranger = enterprise(queued_app, name="别家企业")
    assert stranger.client.get(f"/app/documents/{token}").status_code == 404
    assert stranger.client.get(f"/app/documents/{token}/file").status_code == 404


def test_the_worker_side_renders_once_and_the_page_offers_the_file(queued_app: Flask) -> None:
    _, browser = enterprise(queued_app)
    token = _job_token(browser.client.get("/results/report.pdf"))
    (job,) = _jobs(queued_app)
    with queued_app.app_context():
        pdf_jobs.run(job.id or 0)
        pdf_jobs.run(job.id or 0)  # the same task delivered twice: the second finds the job done
    (job,) = _jobs(queued_app)
    assert (job.state, job.inflight_key, job.attempts, job.error) == ("done", None, 1, "")
    html = browser.client.get(f"/app/documents/{token}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'data-state="done"' in html and "hx-trigger" not in html  # polling stops
    assert f'href="/app/documents/{token}/file"' in html
    pdf = browser.client.get(f"/app/documents/{token}/file")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    assert pdf.headers["Content-Disposition"].startswith("attachment")
    with queued_app.app_context():
        (doc,) = db.session.exec(select(IssuedDocument)).all()
    assert doc.id == job.document_id and pdf.headers["X-Verification-Code"] == doc.short_code
    # Now it is ready: the download address sends the file at once.
    again = browser.client.get("/results/report.pdf")
    assert again.status_code == 200 and again.data == pdf.data and len(_jobs(queued_app)) == 1


def test_a_failed_render_is_shown_with_its_reason_and_a_way_to_try_again(queued_app: Flask,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from portal.pdf.errors import PdfError

    def too_big(*args: Any, **kw: Any) -> Any:
        raise PdfError("生成失败：PDF 内容过大，超出内存限制。")

    monkeypatch.setattr(pdf_jobs, "render_request", too_big)
    _, browser = enterprise(queued_app)
    token = _job_token(browser.client.get("/results/report.pdf"))
    with queued_app.app_context():
        pdf_jobs.run(_jobs(queued_app)[0].id or 0)
    html = browser.client.get(f"/app/documents/{token}").get_data(as_text=True)
    assert 'data-state="failed"' in html and "内存超出限制" not in html and "PDF 内容过大" in html
    assert 'href="/results/report.pdf"' in html  # 重新生成
    # The failed job is out of flight: asking again queues a new one.
    assert _job_token(browser.client.get("/results/report.pdf")) != token


def test_a_queue_that_cannot_take_the_job_is_a_clear_503_and_leaves_nothing_in_flight(
        queued_app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    def unreachable(*args: Any, **kw: Any) -> None:
        raise ConnectionError("redis down")

    monkeypatch.setattr(huey, "enqueue", unreachable)
    _, browser = enterprise(queued_app)
    refused = browser.client.get("/results/report.pdf")
    assert refused.status_code == 503 and "PDF 生成服务暂时无法接收任务" in refused.get_data(as_text=True)
    assert [(j.state, j.inflight_key) for j in _jobs(queued_app)] == [("failed", None)]


def test_a_job_waiting_long_says_the_worker_may_not_be_running(queued_app: Flask) -> None:
    _, browser = enterprise(queued_app)
    token = _job_token(browser.client.get("/results/report.pdf"))
    assert "排队时间较长" not in browser.client.get(f"/app/documents/{token}").get_data(as_text=True)
    with queued_app.app_context():
        job = db.session.exec(select(PdfJob)).one()
        job.created_at -= dt.timedelta(minutes=2)
        db.session.add(job)
        db.session.commit()
    html = browser.client.get(f"/app/documents/{token}").get_data(as_text=True)
    assert 'data-state="queued"' in html and "排队时间较长" in html


def test_a_job_lost_with_its_worker_is_failed_and_queued_again(queued_app: Flask) -> None:
    _, browser = enterprise(queued_app)
    token = _job_token(browser.client.get("/results/report.pdf"))
    with queued_app.app_context():
        job = db.session.exec(select(PdfJob)).one()
        job.state, job.created_at = "running", job.created_at - dt.timedelta(hours=1)
        db.session.add(job)
        db.session.commit()
    html = browser.client.get(f"/app/documents/{token}").get_data(as_text=True)
    assert 'data-state="failed"' in html and "生成中断" in html
    new_token = _job_token(browser.client.get("/results/report.pdf"))
    states = [(j.token, j.state) for j in _jobs(queued_app)]
    assert states == [(token, "failed"), (new_token, "queued")]


def test_finished_jobs_are_forgotten_after_two_days_by_the_cache_cleanup(queued_app: Flask) -> None:
    _, browser = enterprise(queued_app)
    old_token = _job_token(browser.client.get("/results/report.pdf"))
    _job_token(browser.client.get(f"/results/{MEASURE}/application.pdf"))
    with queued_app.app_context():
        old, in_flight = db.session.exec(select(PdfJob).order_by(PdfJob.id)).all()
        pdf_jobs.run(old.id or 0)
        db.session.rollback()
        old = db.session.get(PdfJob, old.id)
        assert old is not None and old.finished_at is not None
        old.finished_at -= dt.timedelta(days=3)
        db.session.add(old)
        db.session.commit()
    result = queued_app.test_cli_runner().invoke(args=["pdf-cache", "clean"])
    assert result.exit_code == 0 and "forgot 1 finished PDF jobs" in result.output, result.output
    assert [j.state for j in _jobs(queued_app)] == ["queued"]  # the one in flight stays
    assert browser.client.get(f"/app/documents/{old_token}").status_code == 404
    with queued_app.app_context():
        assert len(db.session.exec(select(IssuedDocument)).all()) == 1  # the document itself stays verifiable


def test_too_many_pdfs_in_flight_is_a_clear_429(queued_app: Flask) -> None:
    queued_app.config["PDF_JOBS_PER_ENTERPRISE"] = 1
    _, browser = enterprise(queued_app)
    _job_token(browser.client.get("/results/report.pdf"))
    busy = browser.client.get(f"/results/{MEASURE}/application.pdf")
    assert busy.status_code == 429 and busy.headers["Retry-After"].isdigit()
    assert "已有 1 份 PDF 正在排队或生成" in busy.get_data(as_text=True)
    assert len(_jobs(queued_app)) == 1
    # The same document again is not a new job, so it is not refused.
    assert browser.client.get("/results/report.pdf").status_code == 303
    # Another enterprise has its own allowance.
    _, other = enterprise(queued_app, name="别家企业")
    assert other.client.get("/results/report.pdf").status_code == 303


def test_a_failed_smtp_send_is_queued_again_and_a_queue_outage_loses_nothing_silently(
        app: Flask, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    attempts: list[str] = []

    class RefusingSMTP:
        def __init__(self, host: str, port: int, timeout: float) -> None:
            attempts.append(host)
            raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr(notifications.smtplib, "SMTP", RefusingSMTP)
    app.config.update(SMTP_HOST="smtp.example.invalid")
    with app.app_context():
        notifications.send_mail(notifications.Mail("a@example.cn", "主题", "正文"))
    assert attempts == ["smtp.example.invalid"]
    (retry,) = huey.scheduled()  # tried again later, not dropped
    assert retry.args == ("a@example.cn", "主题", "正文") and retry.retries == notifications.MAIL_RETRIES - 1

    def broken_queue(*args: Any, **kw: Any) -> None:
        raise ConnectionError("queue unreachable")

    monkeypatch.setattr(huey, "enqueue", broken_queue)
    with app.app_context():
        notifications.send_mail(notifications.Mail("b@example.cn", "另一封", "要紧的正文"))  # does not raise
    assert any("b@example.cn" in r.getMessage() and "要紧的正文" in r.getMessage() for r in caplog.records)


# -- a real worker process -------------------------------------------------------------------
def _start_worker(app: Flask, tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": app.config["DATABASE_URL"], "TASKS_DB": str(app.config["TASKS_DB"]),
           "PDF_CACHE_DIR": str(app.config["PDF_CACHE_DIR"]), "PORTAL_INSTANCE": str(tmp_path / "instance"),
           "SECRET_KEY": "worker-test-" + "k" * 40, "PORTAL_ENV": "development", "REDIS_URL": ""}
    env.pop("TASKS_IMMEDIATE", None)
    return subprocess.Popen([sys.executable, "-c", "from portal.cli import main; main()", "worker", "--renderers", "1"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _stop(worker: subprocess.Popen[bytes]) -> str:
    worker.send_signal(signal.SIGINT)  # graceful: finish the jobs in hand
    try:
        out, _ = worker.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()
        out, _ = worker.communicate()
    return out.decode(errors="replace")


def _wait_done(browser: Browser, token: str, seconds: float = 60) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        html = browser.client.get(f"/app/documents/{token}", headers={"HX-Request": "true"}).get_data(as_text=True)
        if 'data-state="done"' in html or 'data-state="failed"' in html:
            return html
        time.sleep(0.2)
    raise AssertionError(f"job {token} not finished after {seconds} s")


def test_a_worker_process_renders_every_queued_pdf_exactly_once(queued_app: Flask, tmp_path: Path) -> None:
    _, first = enterprise(queued_app)
    other = "第二家企业"
    _, second = enterprise(queued_app, answers={**ZONE_DEVICE_MAKER, "enterprise_name": other}, name=other)
    tokens = [(first, _job_token(first.client.get("/results/report.pdf"))),
              (first, _job_token(first.client.get(f"/results/{MEASURE}/application.pdf"))),
              (second, _job_token(second.client.get("/results/report.pdf")))]
    assert huey.pending_count() == 3
    worker = _start_worker(queued_app, tmp_path)
    try:
        pages = [_wait_done(browser, token) for browser, token in tokens]
    finally:
        log = _stop(worker)
    assert all('data-state="done"' in page for page in pages), log[-2000:]
    files = [browser.client.get(f"/app/documents/{token}/file") for browser, token in tokens]
    assert all(f.status_code == 200 and f.data.startswith(b"%PDF-") for f in files)
    assert len({f.headers["X-Verification-Code"] for f in files}) == 3
    jobs = _jobs(queued_app)
    assert [(j.state, j.attempts) for j in jobs] == [("done", 1)] * 3
    with queued_app.app_context():
        assert len(db.session.exec(select(IssuedDocument)).all()) == 3
    assert huey.pending_count() == 0
    assert "Traceback" not in log, log[-2000:]


def test_a_submission_waiting_for_a_job_already_in_flight_does_not_block_its_worker(queued_app: Flask) -> None:
    """A writing request (POST) holds SQLite's writers' lock from its first read: before it waits for a job,
    it must let go of it, or the worker could never record the PDF (nor the request read the job again)."""
    user, _ = enterprise(queued_app)
    eid, today, base = user["enterprise_id"], dt.date(2026, 6, 1), "https://portal.example.cn"
    cache = Path(queued_app.config["PDF_CACHE_DIR"])
    with queued_app.app_context():
        profile = profile_of(db.session, eid)
        queued = pdf_jobs.start(db.session, eid, pdfs.build_request(db.session, profile, MEASURE, today, base),
                                cache, limit=None)
    assert isinstance(queued, PdfJob)  # in flight; the submission below finds and waits for it
    outcome: list[Any] = []

    def submit() -> None:
        with queued_app.test_request_context("/app/submissions/new", method="POST"):
            outcome.append(pdf_jobs.issue_and_wait(db.session, eid, profile, MEASURE, today, base, cache,
                                                   timeout=20))

    def worker() -> None:
        time.sleep(0.3)  # the submission is waiting by now
        with queued_app.app_context():
            pdf_jobs.run(queued.id or 0)

    threads = [threading.Thread(target=submit, daemon=True), threading.Thread(target=worker, daemon=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert outcome and outcome[0][1].startswith(b"%PDF-"), "the submission and the worker blocked each other"
