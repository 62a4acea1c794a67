"""Supporting documents: checked by content, stored under generated names, served only as downloads."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import quote

from flask_babel import gettext as _
from sqlmodel import Session, col, func, select

from portal.errors import UserError
from portal.models import Attachment, Submission, utcnow

#: What the portal accepts: magic bytes -> (content type, file extensions that may carry it).
KINDS: tuple[tuple[bytes, str, tuple[str, ...]], ...] = (
    (b"%PDF-", "application/pdf", (".pdf",)),
    (b"\xff\xd8\xff", "image/jpeg", (".jpg", ".jpeg")),
    (b"\x89PNG\r\n\x1a\n", "image/png", (".png",)),
)
EXTENSION_OF = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}
DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\"\\/:*?<>|;]+")
_STORED_NAME = re.compile(r"^[0-9a-f]{32}\.(pdf|jpg|png)$")


class UploadError(UserError):
    """A file that cannot be accepted; the message is shown to the user."""


@dataclass(frozen=True)
class CheckedUpload:
    original_name: str
    data: bytes
    content_type: str
    extension: str
    sha256: str

    @property
    def size(self) -> int:
        return len(self.data)


def sanitise_name(name: str | None) -> str:
    """A display name safe for headers and pages: no path, no control or quoting characters."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[\\/]", name)[-1]  # browsers on Windows used to send the full path
    name = _UNSAFE.sub("_", name).strip(" ._") or "附件"
    if len(name) > 120:
        stem, ext = os.path.splitext(name)
        ext = ext[:10]
        name = stem[: 120 - len(ext)] + ext
    return name


def content_disposition(name: str, fallback: str) -> str:
    """`attachment` with an ASCII filename for old clients and RFC 5987 filename* for Chinese names."""
    name = sanitise_name(name)
    ascii_name = name.encode("ascii", "ignore").decode("ascii")
    if ascii_name == name:
        return f'attachment; filename="{name}"'
    return f"attachment; filename=\"{sanitise_name(fallback)}\"; filename*=UTF-8''{quote(name, safe='')}"


def human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MB"
    return f"{max(1, round(size / 1024))} KB"


def check_upload(stream: IO[bytes], filename: str | None, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> CheckedUpload:
    """Read and check one uploaded file; raises UploadError with a message in the request's language."""
    name = sanitise_name(filename)
    data = stream.read(max_bytes + 1)
    if not data:
        raise UploadError(_("“%(name)s”是空文件。", name=name))
    if len(data) > max_bytes:
        raise UploadError(_("“%(name)s”超过单个文件 %(limit)s 的上限，请压缩后重试。", name=name,
                            limit=human_size(max_bytes)))
    detected = next(((ctype, exts) for magic, ctype, exts in KINDS if data.startswith(magic)), None)
    if detected is None:
        # The extension is not trusted: an HTML page renamed .pdf ends up here.
        raise UploadError(_("“%(name)s”不是有效的 PDF、JPG 或 PNG 文件（按文件内容识别）。", name=name))
    ctype, exts = detected
    ext = os.path.splitext(name)[1].lower()
    if ext not in exts:
        raise UploadError(_("“%(name)s”的扩展名与文件内容（%(kind)s）不符，请检查后重新上传。", name=name,
                            kind=EXTENSION_OF[ctype][1:].upper()))
    return CheckedUpload(name, data, ctype, EXTENSION_OF[ctype], hashlib.sha256(data).hexdigest())


def count_for(session: Session, submission_id: int) -> int:
    query = select(func.count()).select_from(Attachment).where(Attachment.submission_id == submission_id)
    return int(session.exec(query).one())


def list_for(session: Session, submission_id: int) -> list[Attachment]:
    query = select(Attachment).where(Attachment.submission_id == submission_id)
    return list(session.exec(query.order_by(col(Attachment.id))))


def get(session: Session, submission: Submission, attachment_id: int) -> Attachment | None:
    """An attachment only through the submission it belongs to (the caller checked who may see that)."""
    att = session.get(Attachment, attachment_id)
    return att if att is not None and att.submission_id == submission.id else None


def store(session: Session, submission_id: int, upload: CheckedUpload, user_id: int, upload_dir: Path,
          at: dt.datetime | None = None) -> Attachment:
    """Write the file under a generated name and add its row; the caller commits (or calls discard)."""
    upload_dir.mkdir(parents=True, exist_ok=True)
    stored = f"{uuid.uuid4().hex}{upload.extension}"
    tmp = upload_dir / f".{stored}.part"
    tmp.write_bytes(upload.data)
    os.replace(tmp, upload_dir / stored)  # never a half-written file under the final name
    att = Attachment(submission_id=submission_id, original_name=upload.original_name, stored_name=stored,
                     content_type=upload.content_type, size=upload.size, sha256=upload.sha256, uploaded_by=user_id,
                     uploaded_at=at or utcnow())
    session.add(att)
    return att


def discard(stored_names: list[str], upload_dir: Path) -> None:
    """Remove files written for a transaction that did not commit."""
    for name in stored_names:
        if _STORED_NAME.match(name):
            (upload_dir / name).unlink(missing_ok=True)


def path_of(att: Attachment, upload_dir: Path) -> Path | None:
    """The file on disk, refusing anything that is not one of our generated names."""
    if not _STORED_NAME.match(att.stored_name):
        return None
    path = upload_dir / att.stored_name
    return path if path.is_file() else None
