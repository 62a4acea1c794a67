"""Issued PDF documents: lookup by verification code or SHA-256."""

from __future__ import annotations

import hashlib
from typing import BinaryIO

from sqlmodel import Session, select

from portal.models import IssuedDocument


def find_by_code(session: Session, code: str) -> IssuedDocument | None:
    return session.exec(select(IssuedDocument).where(IssuedDocument.short_code == code)).first()


def find_by_sha(session: Session, sha256: str) -> IssuedDocument | None:
    return session.exec(select(IssuedDocument).where(IssuedDocument.sha256 == sha256)).first()


def sha256_stream(stream: BinaryIO) -> str:
    """SHA-256 of a freshly received upload, however large (MAX_CONTENT_LENGTH is what bounds uploads)."""
    return hashlib.file_digest(stream, "sha256").hexdigest()
