"""The application PDF frozen with a submission: issued once, kept beside the uploads, checked on every read.

The PDF cache may be cleaned at any time (`portal pdf-cache clean`); the frozen copy may not.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from pathlib import Path
from typing import Any

from sqlmodel import Session

from portal.config import setting
from portal.models import IssuedDocument, Submission

log = logging.getLogger(__name__)
FROZEN_SUBDIR = "applications"  # under UPLOAD_DIR; backups copy it (services/backup.py)


def issue(session: Session, enterprise_id: int, profile: dict[str, Any], measure_id: str, today: dt.date,
          reference: str) -> IssuedDocument:
    """Generate and record the application PDF and keep a copy of it (raises PdfError).

    The render is a job for the task queue, first in line, and waited for: this session's read
    transaction ends before it and the document is recorded in a short write transaction of its own,
    so a render never holds the database write lock.
    """
    from portal.config import LOCAL_BASE_URL, public_base_url
    from portal.services import pdf_jobs

    document, data, _name = pdf_jobs.issue_and_wait(session, enterprise_id, profile, measure_id, today,
                                                    public_base_url(LOCAL_BASE_URL), Path(setting("PDF_CACHE_DIR")),
                                                    reference=reference)
    _keep_copy(document, data)
    return document


def _frozen_dir() -> Path:
    return Path(setting("UPLOAD_DIR")) / FROZEN_SUBDIR


def _keep_copy(document: IssuedDocument, data: bytes) -> None:
    """Keep the submitted PDF beside the uploads: the PDF cache may be cleared, the submission may not."""
    digest = hashlib.sha256(data).hexdigest()
    folder = _frozen_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{digest}.pdf"
    if not target.exists():
        tmp = folder / f".{digest}.part"
        tmp.write_bytes(data)
        tmp.replace(target)


def frozen_document(session: Session, sub: Submission) -> IssuedDocument | None:
    return session.get(IssuedDocument, sub.document_id) if sub.document_id is not None else None


def frozen_pdf(session: Session, sub: Submission) -> tuple[IssuedDocument, bytes] | None:
    """The PDF frozen at submission, checked against its recorded SHA-256."""
    if sub.document_id is None:
        return None
    document = session.get(IssuedDocument, sub.document_id)
    if document is None:
        return None
    candidates = []
    if re.fullmatch(r"[0-9a-f]{64}", document.sha256 or ""):
        candidates.append(_frozen_dir() / f"{document.sha256}.pdf")
    if document.path:
        candidates.append(Path(document.path))
    for path in candidates:
        if path.is_file():
            data = path.read_bytes()
            if not document.sha256 or hashlib.sha256(data).hexdigest() == document.sha256:
                return document, data
            log.error("frozen PDF %s of submission %s does not match its SHA-256", path, sub.id)
    return None
