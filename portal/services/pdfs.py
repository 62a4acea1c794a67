"""Application forms and match reports as PDFs: their inputs, the cache of rendered files and the
verification rows (IssuedDocument). Identical inputs are rendered once: the same enterprise asking again
for the same document (same input hash) gets the recorded row and the cached file.

Who renders and when is portal.services.pdf_jobs (the task queue); this module stores and finds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask_babel import get_locale
from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from portal.models import IssuedDocument, PdfJob, Submission, utcnow
from portal.pdf.render import RenderedPdf, render_request
from portal.pdf.request import PdfRequest, application_request, check_lang, report_request, short_code_for
from portal.services.units import CONTACT_FIELDS
from portal.services.units import contacts as stored_contacts

log = logging.getLogger(__name__)


def unit_contacts(session: Session) -> dict[str, dict[str, str]]:
    """Administrator-entered contacts of every unit, as the renderer expects them (unit id -> fields)."""
    out = {}
    for unit_id, contact in stored_contacts(session).items():
        fields = {f: getattr(contact, f) for f in CONTACT_FIELDS if getattr(contact, f)}
        if fields:
            out[unit_id] = fields
    return out


def current_language() -> str:
    """The language of the person asking (zh, ko or en: the account's, the cookie's, the browser's), else zh."""
    locale = get_locale()  # None outside a request
    return check_lang(locale.language if locale is not None else "zh")


def build_request(session: Session, profile: Mapping[str, Any], measure_id: str | None, today: dt.date,
                  base_url: str, *, reference: str = "", lang: str | None = None) -> PdfRequest:
    """The checked inputs of an application (measure_id) or a report (None), with the units' contacts.

    `lang` (default: the language of the current request) is what the report is written in and what the
    application form glosses its labels in; the worker renders in it, so it is part of the request.
    """
    contacts = unit_contacts(session)
    lang = check_lang(lang) if lang is not None else current_language()
    if measure_id is None:
        return report_request(profile, today, contacts=contacts, base_url=base_url, lang=lang)
    return application_request(profile, measure_id, today, contacts=contacts, base_url=base_url, reference=reference,
                               lang=lang)


def existing(session: Session, enterprise_id: int | None, request: PdfRequest) -> IssuedDocument | None:
    """The document issued to this enterprise for exactly these inputs, if any."""
    query = select(IssuedDocument).where(IssuedDocument.input_hash == request.input_hash,
                                         IssuedDocument.kind == request.kind,
                                         IssuedDocument.enterprise_id == enterprise_id)
    return session.exec(query.order_by(IssuedDocument.id)).first()


def free_code(session: Session, request: PdfRequest, enterprise_id: int | None) -> str:
    """The code derived from the inputs, or (if another document or queued job holds it) a salted variant."""
    code = short_code_for(request.input_hash)
    attempt = 0
    while (session.exec(select(IssuedDocument.id).where(IssuedDocument.short_code == code)).first() is not None
           or session.exec(select(PdfJob.id).where(PdfJob.short_code == code,
                                                   PdfJob.enterprise_id != enterprise_id)).first() is not None):
        attempt += 1
        code = short_code_for(request.input_hash, salt=f":{enterprise_id}:{attempt}")
    return code


def _cached_file(cache_dir: Path, doc: IssuedDocument) -> Path:
    # Look in the configured cache directory even if it moved since the row was written.
    return cache_dir / Path(doc.path).name if doc.path else cache_dir / f"{doc.kind}-{doc.short_code}.pdf"


def read_cached(cache_dir: Path, doc: IssuedDocument) -> bytes:
    """The cached file's bytes, or b"" when it is gone (`portal pdf-cache clean` may delete it at any time)."""
    try:
        return _cached_file(Path(cache_dir), doc).read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        return b""


def intact(doc: IssuedDocument, data: bytes) -> bool:
    """Whether `data` is the document's PDF, as recorded."""
    return bool(data) and hashlib.sha256(data).hexdigest() == doc.sha256


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pdf")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)  # readers see the old file or the whole new one, never half
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _rerender(session: Session, doc: IssuedDocument, request: PdfRequest, cache_dir: Path) -> bytes:
    """Render a recorded document again under its code (its cache file was cleaned up meanwhile)."""
    pdf = render_request(request, short_code=doc.short_code)
    path = cache_dir / f"{request.kind}-{doc.short_code}.pdf"
    _write_atomically(path, pdf.data)
    doc.sha256, doc.path = pdf.sha256, str(path)
    session.add(doc)
    return pdf.data


def record(session: Session, enterprise_id: int | None, request: PdfRequest, pdf: RenderedPdf,
           cache_dir: Path) -> tuple[IssuedDocument, bytes]:
    """Store a rendered PDF in the cache and its verification row (or return the row a racer stored)."""
    cache_dir = Path(cache_dir)
    found = existing(session, enterprise_id, request)
    if found is not None and found.short_code != pdf.short_code:
        return found, read_cached(cache_dir, found) or _rerender(session, found, request, cache_dir)
    path = cache_dir / f"{request.kind}-{pdf.short_code}.pdf"
    _write_atomically(path, pdf.data)
    if found is not None:  # re-rendered a missing or damaged cache file under its recorded code
        found.sha256, found.path = pdf.sha256, str(path)
        session.add(found)
        return found, pdf.data
    doc = IssuedDocument(short_code=pdf.short_code, kind=request.kind, enterprise_id=enterprise_id,
                         enterprise_name=(request.enterprise_name or "（未填写）")[:200], measure_id=request.measure_id,
                         input_hash=request.input_hash, sha256=pdf.sha256, path=str(path), issued_at=utcnow())
    session.add(doc)
    session.flush()
    return doc, pdf.data


# -- retention ------------------------------------------------------------------------------
@dataclass(frozen=True)
class CacheCleanup:
    deleted: int
    freed_bytes: int
    kept: int
    kept_bytes: int
    protected: int  # files a submission froze: never deleted, but counted in kept_bytes


def clean_cache(session: Session, cache_dir: Path, frozen_dir: Path, *, max_bytes: int, max_age_days: int,
                dry_run: bool = False) -> CacheCleanup:
    """Delete cached PDFs oldest first: every one older than max_age_days, then more until the cache fits
    max_bytes. Never the file of a document a submission froze. The IssuedDocument rows stay (the
    verification page reads them) with their path cleared; a later download renders the file again.
    """
    cache_dir, frozen_dir = Path(cache_dir).resolve(), Path(frozen_dir).resolve()
    if cache_dir == frozen_dir or frozen_dir in cache_dir.parents:
        raise ValueError(f"PDF_CACHE_DIR ({cache_dir}) must not be inside the frozen applications folder")
    if not cache_dir.is_dir():
        return CacheCleanup(0, 0, 0, 0, 0)
    frozen = session.exec(select(IssuedDocument.id, IssuedDocument.path, IssuedDocument.sha256, IssuedDocument.kind,
                                 IssuedDocument.short_code)
                           .join(Submission, col(Submission.document_id) == IssuedDocument.id)).all()
    # A document being submitted right now is not protected yet; that is safe because the submission
    # keeps its own copy from the bytes in memory (frozen_pdfs._keep_copy), not from this file.
    protected = {Path(p).name for _, p, _, _, _ in frozen if p}
    protected |= {f"{sha}.pdf" for _, _, sha, _, _ in frozen if sha}
    protected |= {f"{kind}-{code}.pdf" for _, _, _, kind, code in frozen}
    now = time.time()
    files = []
    for path in cache_dir.iterdir():
        if path.is_symlink() or not path.is_file() or path.suffix != ".pdf":
            continue  # only our own PDFs, even if the folder is shared by mistake
        stat = path.stat()
        if path.name.startswith(".tmp-"):
            if not dry_run and stat.st_mtime < now - 86400:
                path.unlink(missing_ok=True)  # left by a render killed mid-write
            continue
        files.append((stat.st_mtime, path.name, stat.st_size))
    files.sort()
    total = sum(size for _, _, size in files)
    cutoff = now - max_age_days * 86400
    doomed: list[str] = []
    freed = 0
    for mtime, name, size in files:
        if name in protected:
            continue
        if mtime < cutoff or total > max_bytes:
            doomed.append(name)
            total -= size
            freed += size
    if not dry_run:
        for name in doomed:
            (cache_dir / name).unlink(missing_ok=True)
        frozen_ids = [doc_id for doc_id, _, _, _, _ in frozen]
        for start in range(0, len(doomed), 200):
            chunk = doomed[start:start + 200]
            session.exec(update(IssuedDocument)
                            .where(or_(*(col(IssuedDocument.path).endswith(f"/{n}", autoescape=True) for n in chunk)),
                                   col(IssuedDocument.id).not_in(frozen_ids))
                            .values(path=""))
        session.commit()
    n_protected = sum(1 for _, name, _ in files if name in protected)
    return CacheCleanup(len(doomed), freed, len(files) - len(doomed), total, n_protected)
