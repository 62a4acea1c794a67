"""Idempotency-Key for API writes: a replay gets the stored response, never a second effect.

The key is claimed (a row with status 0) in its own transaction before the write runs, so two
copies of one request racing each other cannot both run: the second finds the claim. The finished
response is then stored on the claim. A claim left by a crashed worker is taken over after a while.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select

from portal.errors import UserError
from portal.models import IdempotencyRecord, utcnow

KEY_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
ABANDONED_AFTER = dt.timedelta(seconds=60)
KEEP_FOR = dt.timedelta(days=7)
IN_PROGRESS = 0


@dataclass(frozen=True)
class Outcome:
    body: dict[str, Any]
    status: int
    replayed: bool = False


class KeyProblem(UserError):
    """The key is missing, malformed, reused with another body, or its first request is still running."""


def request_hash(method: str, path: str, body: Any) -> str:
    canonical = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def run_once(session: Session, user_id: int, key: str | None, fingerprint: str,
             write: Callable[[], tuple[dict[str, Any], int]]) -> Outcome:
    """Run `write` once per (user, key); a replay with the same request returns what the first got."""
    if not key or not KEY_RE.match(key):
        raise KeyProblem(_("写操作需要请求头 Idempotency-Key（16–64 位字母、数字、- 或 _），重试时沿用同一个值。"), 400)
    session.rollback()  # a fresh transaction for the claim
    stored = session.exec(select(IdempotencyRecord).where(IdempotencyRecord.user_id == user_id,
                                                          IdempotencyRecord.key == key)).first()
    if stored is not None:
        if stored.request_hash != fingerprint:
            raise KeyProblem(_("这个 Idempotency-Key 已用于另一个请求；新的请求请换一个新的 Key。"), 422)
        if stored.status_code != IN_PROGRESS:
            return Outcome(json.loads(stored.response_json), stored.status_code, replayed=True)
        if utcnow() - _aware(stored.created_at) < ABANDONED_AFTER:
            raise KeyProblem(_("同一请求正在处理中，请稍后用同一个 Key 重试。"), 409)
        claim = stored  # its first run died before answering: run it now
    else:
        claim = IdempotencyRecord(user_id=user_id, key=key, request_hash=fingerprint, status_code=IN_PROGRESS,
                                  response_json="{}")
        session.add(claim)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            return run_once(session, user_id, key, fingerprint, write)  # lost the race: read the winner's row
    claim_id = claim.id
    try:
        body, status = write()
    except Exception:
        session.rollback()
        session.exec(delete(IdempotencyRecord).where(IdempotencyRecord.id == claim_id))  # type: ignore[call-overload]
        session.commit()
        raise
    session.rollback()  # whatever the write left open (errors roll back; success has committed)
    record = session.get(IdempotencyRecord, claim_id)
    if record is not None:
        record.status_code = status
        record.response_json = json.dumps(body, ensure_ascii=False, default=str)
        session.add(record)
        session.commit()
    return Outcome(body, status)


def prune(session: Session, now: dt.datetime | None = None) -> int:
    cutoff = (now or utcnow()) - KEEP_FOR
    result = session.exec(delete(IdempotencyRecord).where(col(IdempotencyRecord.created_at) < cutoff))  # type: ignore[call-overload]
    session.commit()
    return int(result.rowcount or 0)
