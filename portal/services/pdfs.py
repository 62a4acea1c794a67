"""Issue application forms and match reports as PDFs, recorded for verification (IssuedDocument).

Identical inputs are rendered once: the same enterprise asking again for the same document
(same input hash) gets the recorded row and the cached file. The session is flushed, never
committed; the caller commits with the rest of its unit of work.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from portal.models import IssuedDocument, utcnow
from portal.pdf.render import (
    PdfRequest,
    application_request,
    filename_for,
    render_request,
    report_request,
    short_code_for,
)
from portal.services.units import CONTACT_FIELDS
from portal.services.units import contacts as stored_contacts

log = logging.getLogger(__name__)

Contacts = Mapping[str, Mapping[str, str]]


def unit_contacts(session: Session) -> dict[str, dict[str, str]]:
    """Administrator-entered contacts of every unit, as the renderer expects them (unit id -> fields)."""
    out = {}
    for unit_id, contact in stored_contacts(session).items():
        fields = {f: getattr(contact, f) for f in CONTACT_FIELDS if getattr(contact, f)}
        if fields:
            out[unit_id] = fields
    return out


def issue_application(session: Session, enterprise_id: int | None, profile: Mapping[str, Any], measure_id: str,
                      today: dt.date, base_url: str, cache_dir: Path, *,
                      contacts: Contacts | None = None) -> tuple[IssuedDocument, bytes]:
    """The application form PDF for one measure, reused when identical inputs were issued before."""
    found = unit_contacts(session) if contacts is None else contacts
    request = application_request(profile, measure_id, today, contacts=found, base_url=base_url)
    return _issue(session, enterprise_id, request, Path(cache_dir))


def issue_report(session: Session, enterprise_id: int | None, profile: Mapping[str, Any], today: dt.date,
                 base_url: str, cache_dir: Path, *, contacts: Contacts | None = None) -> tuple[IssuedDocument, bytes]:
    """The match report PDF, reused when identical inputs were issued before."""
    found = unit_contacts(session) if contacts is None else contacts
    request = report_request(profile, today, contacts=found, base_url=base_url)
    return _issue(session, enterprise_id, request, Path(cache_dir))


def _existing(session: Session, enterprise_id: int | None, request: PdfRequest) -> IssuedDocument | None:
    query = select(IssuedDocument).where(IssuedDocument.input_hash == request.input_hash,
                                         IssuedDocument.kind == request.kind,
                                         IssuedDocument.enterprise_id == enterprise_id)
    return session.exec(query.order_by(IssuedDocument.id)).first()


def _free_code(session: Session, request: PdfRequest, enterprise_id: int | None) -> str:
    """The code derived from the inputs, or (if another enterprise holds it) a salted variant."""
    code = short_code_for(request.input_hash)
    attempt = 0
    while session.exec(select(IssuedDocument.id).where(IssuedDocument.short_code == code)).first() is not None:
        attempt += 1
        code = short_code_for(request.input_hash, salt=f":{enterprise_id}:{attempt}")
    return code


def _cached_file(cache_dir: Path, doc: IssuedDocument) -> Path:
    # Look in the configured cache directory even if it moved since the row was written.
    return cache_dir / Path(doc.path).name if doc.path else cache_dir / f"{doc.kind}-{doc.short_code}.pdf"


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


def _issue(session: Session, enterprise_id: int | None, request: PdfRequest,
           cache_dir: Path) -> tuple[IssuedDocument, bytes]:
    doc = _existing(session, enterprise_id, request)
    if doc is not None:
        path = _cached_file(cache_dir, doc)
        data = path.read_bytes() if path.is_file() else b""
        if data and hashlib.sha256(data).hexdigest() == doc.sha256:
            return doc, data
        # File missing (new host, cleaned cache) or damaged: render again with the recorded code.
        pdf = render_request(request, short_code=doc.short_code)
        _write_atomically(path, pdf.data)
        if pdf.sha256 != doc.sha256:
            # Same inputs and format version, different bytes: fonts or WeasyPrint changed on the host.
            log.warning("re-rendered %s has a new SHA-256 (%s, was %s)", doc.short_code, pdf.sha256, doc.sha256)
            doc.sha256 = pdf.sha256
        doc.path = str(path)
        session.add(doc)
        session.flush()
        return doc, pdf.data

    code = _free_code(session, request, enterprise_id)
    pdf = render_request(request, short_code=code)
    path = cache_dir / f"{request.kind}-{code}.pdf"
    _write_atomically(path, pdf.data)
    doc = IssuedDocument(short_code=code, kind=request.kind, enterprise_id=enterprise_id,
                         enterprise_name=(request.enterprise_name or "（未填写）")[:200], measure_id=request.measure_id,
                         input_hash=request.input_hash, sha256=pdf.sha256, path=str(path), issued_at=utcnow())
    try:
        # A savepoint, so losing a race to a parallel identical request does not undo the caller's work.
        with session.begin_nested():
            session.add(doc)
            session.flush()
    except IntegrityError:
        winner = _existing(session, enterprise_id, request)
        if winner is None:
            raise
        return winner, _cached_file(cache_dir, winner).read_bytes()
    return doc, pdf.data


def download(session: Session, write_session: Any, enterprise_id: int, profile: Mapping[str, Any],
             measure_id: str | None, today: dt.date, base_url: str,
             cache_dir: Path) -> tuple[IssuedDocument, bytes, str]:
    """Application (measure_id) or report for a download: render with no database lock held.

    `session` only reads; the verification row is written afterwards through `write_session`
    (a context manager yielding a writing session), so a half-second render never blocks other
    writers, and a read snapshot never has to be upgraded to a write (SQLite would refuse).
    Returns (row, bytes, file name).
    """
    contacts = unit_contacts(session)
    cache_dir = Path(cache_dir)
    if measure_id is None:
        request = report_request(profile, today, contacts=contacts, base_url=base_url)
    else:
        request = application_request(profile, measure_id, today, contacts=contacts, base_url=base_url)
    name = filename_for(request)
    doc = _existing(session, enterprise_id, request)
    if doc is not None:
        data = _cached_file(cache_dir, doc).read_bytes() if _cached_file(cache_dir, doc).is_file() else b""
        if data and hashlib.sha256(data).hexdigest() == doc.sha256:
            return doc, data, name
    code = doc.short_code if doc is not None else _free_code(session, request, enterprise_id)
    session.rollback()  # end the read snapshot before the slow part
    pdf = render_request(request, short_code=code)
    with write_session() as writer:
        row, data = _record(writer, enterprise_id, request, pdf, cache_dir)
        writer.commit()
    return row, data, name


def _record(session: Session, enterprise_id: int | None, request: PdfRequest, pdf: Any,
            cache_dir: Path) -> tuple[IssuedDocument, bytes]:
    """Store an already rendered PDF and its verification row (or return the row a racer stored)."""
    existing = _existing(session, enterprise_id, request)
    if existing is not None and existing.short_code != pdf.short_code:
        return existing, _cached_file(cache_dir, existing).read_bytes()
    path = cache_dir / f"{request.kind}-{pdf.short_code}.pdf"
    _write_atomically(path, pdf.data)
    if existing is not None:  # re-rendered a missing or damaged cache file under its recorded code
        existing.sha256, existing.path = pdf.sha256, str(path)
        session.add(existing)
        return existing, pdf.data
    doc = IssuedDocument(short_code=pdf.short_code, kind=request.kind, enterprise_id=enterprise_id,
                         enterprise_name=(request.enterprise_name or "（未填写）")[:200], measure_id=request.measure_id,
                         input_hash=request.input_hash, sha256=pdf.sha256, path=str(path), issued_at=utcnow())
    session.add(doc)
    session.flush()
    return doc, pdf.data
