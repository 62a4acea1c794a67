"""PDFs rendered by the task queue: a download starts (or reuses) a job, a worker renders it, the page polls.

A job row (PdfJob) is the shared truth between web hosts and worker hosts: its state is what the progress
page shows, its `inflight_key` makes two hosts asking for the same document share one render, and the
number of jobs an enterprise has in flight is what the per-enterprise limit counts. The task runs a job at
most once to completion: a second delivery of the same task finds the job finished and does nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from portal.config import setting
from portal.db import db
from portal.errors import UserError
from portal.models import Enterprise, IssuedDocument, PdfJob, utcnow
from portal.pdf.errors import PdfError
from portal.pdf.render import render_request
from portal.pdf.request import PdfRequest, filename_for
from portal.services import pdfs
from portal.statuses import PdfJobState, _l
from portal.tasks import PDF_EXPIRES_S, PDF_STALE_S, PRIORITY_DOWNLOAD, PRIORITY_SUBMISSION, app_context, huey

log = logging.getLogger(__name__)
IN_FLIGHT = (PdfJobState.QUEUED, PdfJobState.RUNNING)
#: Renders of one job before it is given up (a worker crash mid-render is retried by the queue).
MAX_ATTEMPTS = 3
# Stored on the job in Chinese (a worker has no reader's language); shown translated (error_text).
LOST_JOB = _l("生成中断（处理服务重启或超时），请重新生成。")
QUEUE_DOWN = _l("PDF 生成服务暂时无法接收任务，请稍后重试；如持续出现请联系平台管理员。")
GAVE_UP = _l("生成失败，请稍后重试；如仍失败请联系管理员。")
#: A job queued longer than this gets a hint on its page: perhaps no worker is running.
SLOW_QUEUE = dt.timedelta(seconds=60)


class PdfBusy(UserError):
    """Too many PDFs of this enterprise in flight."""

    def __init__(self, limit: int) -> None:
        super().__init__(ngettext("本企业已有 %(num)s 份 PDF 正在排队或生成，"
                                  "请等这些完成后再生成新的文件。",
                                  "本企业已有 %(num)s 份 PDF 正在排队或生成，"
                                  "请等这些完成后再生成新的文件。", limit), 429)


@dataclass(frozen=True)
class Delivery:
    """A rendered PDF ready to send."""

    document: IssuedDocument
    data: bytes
    filename: str


def inflight_key(enterprise_id: int | None, request: PdfRequest) -> str:
    return f"{enterprise_id or 0}:{request.kind}:{request.input_hash}"


def ready(session: Session, enterprise_id: int | None, request: PdfRequest, cache_dir: Path) -> Delivery | None:
    """The document already issued for exactly these inputs, if its cached file is intact."""
    doc = pdfs.existing(session, enterprise_id, request)
    if doc is None:
        return None
    data = pdfs.read_cached(cache_dir, doc)
    return Delivery(doc, data, filename_for(request)) if pdfs.intact(doc, data) else None


def _stale(job: PdfJob, now: dt.datetime) -> bool:
    return job.created_at < now - dt.timedelta(seconds=PDF_STALE_S)


def _in_flight(session: Session, key: str) -> PdfJob | None:
    return session.exec(select(PdfJob).where(PdfJob.inflight_key == key)).first()


def _retire_if_lost(session: Session, job: PdfJob, now: dt.datetime) -> bool:
    """Mark a job failed when it has been in flight for too long (its worker died); True when it was."""
    if job.state not in IN_FLIGHT or not _stale(job, now):
        return False
    job.state, job.error, job.inflight_key, job.finished_at = PdfJobState.FAILED, LOST_JOB, None, now
    session.add(job)
    return True


def start(session: Session, enterprise_id: int | None, request: PdfRequest, cache_dir: Path, *,
          limit: int | None, priority: int = PRIORITY_DOWNLOAD) -> Delivery | PdfJob:
    """The PDF if it is ready, else its job: the one in flight for these inputs, or a new one, queued.

    `session` only reads, and its transaction ends before anything is written; the job row is written
    in a short transaction of its own. Raises PdfBusy when `limit` jobs of the enterprise are in flight.
    """
    if (delivery := ready(session, enterprise_id, request, cache_dir)) is not None:
        return delivery
    key = inflight_key(enterprise_id, request)
    now = utcnow()
    job = _in_flight(session, key)
    if job is not None:
        session.expunge(job)  # keeps its loaded values through the rollback
    # End the read transaction: the writer below, or a caller polling the job, takes the write lock
    # (on SQLite a writing request's session holds it from its first read on).
    session.rollback()
    if job is not None and not _stale(job, now):
        return job
    with db.standalone() as writer:
        job, created = _create(writer, enterprise_id, request, key, limit, now)
        writer.commit()
        job_id = job.id
    assert job_id is not None
    if created:
        try:
            render_pdf_task(job_id, priority=priority)  # after commit: the worker must find the row
        except Exception as exc:  # the queue is unreachable: say so now rather than leave a job nobody runs
            log.exception("could not queue PDF job %s", job_id)
            _finish(job_id, PdfJobState.FAILED, error=QUEUE_DOWN)
            raise PdfError(QUEUE_DOWN) from exc
    return _reload(job_id)


def _create(writer: Session, enterprise_id: int | None, request: PdfRequest, key: str, limit: int | None,
            now: dt.datetime) -> tuple[PdfJob, bool]:
    if enterprise_id is not None:  # one enterprise at a time, so the limit holds across hosts
        writer.exec(select(Enterprise).where(Enterprise.id == enterprise_id).with_for_update(key_share=True)).first()
    existing = _in_flight(writer, key)
    if existing is not None and not _retire_if_lost(writer, existing, now):
        return existing, False
    if limit is not None:
        in_flight = select(PdfJob).where(PdfJob.enterprise_id == enterprise_id, col(PdfJob.state).in_(IN_FLIGHT))
        busy = [job for job in writer.exec(in_flight) if not _retire_if_lost(writer, job, now)]
        if len(busy) >= limit:
            writer.commit()  # keep what was retired
            raise PdfBusy(limit)
    issued = pdfs.existing(writer, enterprise_id, request)
    code = issued.short_code if issued is not None else pdfs.free_code(writer, request, enterprise_id)
    job = PdfJob(token=secrets.token_urlsafe(16), enterprise_id=enterprise_id, kind=request.kind,
                 measure_id=request.measure_id, short_code=code,
                 request_json=request.to_json(), state=PdfJobState.QUEUED, inflight_key=key, created_at=now)
    try:
        with writer.begin_nested():
            writer.add(job)
    except IntegrityError:  # another host queued the same document a moment ago: share its job
        racer = _in_flight(writer, key)
        if racer is None:
            raise
        return racer, False
    return job, True


def _reload(job_id: int) -> PdfJob:
    with db.standalone() as reader:
        job = reader.get(PdfJob, job_id)
        assert job is not None
        reader.expunge(job)
        reader.rollback()
        return job


def by_token(session: Session, token: str) -> PdfJob | None:
    """A job by its address in URLs."""
    return session.exec(select(PdfJob).where(PdfJob.token == token)).first()


def position(session: Session, job: PdfJob) -> int:
    """Jobs queued before this one (on every host): what the reader waits behind."""
    query = select(func.count()).select_from(PdfJob).where(PdfJob.state == PdfJobState.QUEUED,
                                                           col(PdfJob.id) < job.id)
    return int(session.exec(query).one())


def state_of(job: PdfJob, now: dt.datetime | None = None) -> PdfJobState:
    """What to show for a job: a job in flight for too long is shown as failed."""
    if job.state in IN_FLIGHT and _stale(job, now or utcnow()):
        return PdfJobState.FAILED
    return PdfJobState(job.state)


def waiting_long(job: PdfJob, now: dt.datetime | None = None) -> bool:
    """Queued for longer than a render queue should ever take on a healthy deployment."""
    return job.state == PdfJobState.QUEUED and job.created_at < (now or utcnow()) - SLOW_QUEUE


def error_of(job: PdfJob) -> str:
    """Why the job failed, as stored (Chinese)."""
    return job.error or (LOST_JOB if job.state in IN_FLIGHT else "")


def error_text(message: str) -> str:
    """A stored failure message in the reader's language where the catalog has it (LOST_JOB, QUEUE_DOWN, …);
    a message the renderer worded itself stays as stored."""
    return _(message) if message else ""


def delivery(session: Session, job: PdfJob, cache_dir: Path) -> Delivery | None:
    """The finished job's PDF, or None when it is not done or its cached file was cleaned up since."""
    if job.state != PdfJobState.DONE or job.document_id is None:
        return None
    doc = session.get(IssuedDocument, job.document_id)
    if doc is None:
        return None
    data = pdfs.read_cached(cache_dir, doc)
    if not pdfs.intact(doc, data):
        return None
    return Delivery(doc, data, filename_for(PdfRequest.from_json(job.request_json)))


def forget_finished(session: Session, older_than: dt.timedelta = dt.timedelta(days=2)) -> int:
    """Delete the rows of jobs that ended before `older_than` ago (their documents stay); returns how many.

    A progress page older than that has long been read; its link then answers 404.
    """
    cutoff = utcnow() - older_than
    query = delete(PdfJob).where(col(PdfJob.state).not_in(IN_FLIGHT), col(PdfJob.finished_at) < cutoff)
    deleted = session.exec(query).rowcount  # type: ignore[call-overload]
    session.commit()
    return int(deleted or 0)


# -- the worker side --------------------------------------------------------------------------
@huey.task(retries=MAX_ATTEMPTS - 1, retry_delay=5, expires=PDF_EXPIRES_S, name="render_pdf")
def render_pdf_task(job_id: int) -> None:
    """Render one queued PDF (see run); an unexpected crash is tried again by the queue."""
    with app_context():
        run(job_id)


def run(job_id: int) -> None:
    """Render a job once: claim it, render with no transaction open, record the document and finish it."""
    cache_dir = Path(setting("PDF_CACHE_DIR"))
    with db.standalone() as writer:
        job = writer.get(PdfJob, job_id)
        if job is None or job.state not in IN_FLIGHT:
            return  # finished already (a task delivered twice) or deleted
        job.state, job.started_at, job.attempts = PdfJobState.RUNNING, utcnow(), job.attempts + 1
        writer.add(job)
        writer.commit()
        attempts, code, request_json, enterprise_id = job.attempts, job.short_code, job.request_json, job.enterprise_id
    request = PdfRequest.from_json(request_json)
    try:
        pdf = render_request(request, short_code=code)
    except PdfError as exc:  # the renderer's own verdict (too big, too slow, bad input): final
        _finish(job_id, PdfJobState.FAILED, error=str(exc))
        return
    except Exception:
        if attempts >= MAX_ATTEMPTS:
            log.exception("PDF job %s failed %d times; giving up", job_id, attempts)
            _finish(job_id, PdfJobState.FAILED, error=GAVE_UP)
            return
        raise
    with db.standalone() as writer:
        document, _data = pdfs.record(writer, enterprise_id, request, pdf, cache_dir)
        _finish_in(writer, job_id, PdfJobState.DONE, document_id=document.id)
        writer.commit()


def _finish(job_id: int, state: PdfJobState, *, error: str = "") -> None:
    with db.standalone() as writer:
        _finish_in(writer, job_id, state, error=error)
        writer.commit()


def _finish_in(writer: Session, job_id: int, state: PdfJobState, *, error: str = "",
               document_id: int | None = None) -> None:
    job = writer.get(PdfJob, job_id)
    if job is None:
        return
    job.state, job.error, job.document_id = state, error[:500], document_id
    job.inflight_key, job.finished_at = None, utcnow()
    writer.add(job)


# -- waiting for a job (submission PDFs) ------------------------------------------------------
def issue_and_wait(session: Session, enterprise_id: int, profile: Mapping[str, Any], measure_id: str,
                   today: dt.date, base_url: str, cache_dir: Path, *, reference: str = "",
                   timeout: float | None = None) -> tuple[IssuedDocument, bytes, str]:
    """The application PDF of a submission: queued first in line, and waited for (raises PdfError).

    An applicant pressing 提交 waits for it, so it is not subject to the download limit.
    """
    request = pdfs.build_request(session, profile, measure_id, today, base_url, reference=reference)
    outcome = start(session, enterprise_id, request, Path(cache_dir), limit=None, priority=PRIORITY_SUBMISSION)
    wait = float(timeout if timeout is not None else setting("PDF_WAIT_SECONDS", 60))
    deadline = time.monotonic() + wait
    pause = 0.05
    while isinstance(outcome, PdfJob):
        job = outcome
        if job.state == PdfJobState.FAILED:
            raise PdfError(job.error or LOST_JOB)
        if job.state == PdfJobState.DONE:
            with db.standalone() as reader:  # closing keeps the row's loaded values (a rollback would expire them)
                found = delivery(reader, job, Path(cache_dir))
            if found is None:
                raise PdfError(_("生成的 PDF 文件已不可读，请重新提交。"))
            outcome = found
            break
        if time.monotonic() >= deadline:
            raise PdfError(_("PDF 生成排队超过 %(seconds)s 秒（处理服务繁忙或未运行），请稍后重试。",
                             seconds=f"{wait:g}"))
        time.sleep(pause)
        pause = min(pause * 1.5, 0.5)
        outcome = _reload(job.id or 0)
    return outcome.document, outcome.data, outcome.filename
