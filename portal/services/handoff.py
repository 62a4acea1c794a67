"""Hand-off between devices: a short one-time code moves a signed-in session to another browser.

Two directions share one table (HandoffCode):

* approve: a browser that is not signed in shows a code (and a QR code); a signed-in device approves
  it with an explicit POST; the showing browser - and only it, recognised by a random value kept in
  its session - then signs in.
* share: a signed-in device shows a code (approved at creation); another browser types it and signs in.

Only SHA-256 digests of the code and of the browser value are stored. Codes live five minutes and are
consumed once; the consuming UPDATE is conditional, so two browsers racing for one code cannot both win.
Every service function takes `now`, defaulting to `clock()`, so tests can move time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from flask_babel import lazy_gettext as _l
from sqlmodel import Session, col, delete, select, update

from portal.errors import UserError
from portal.models import HandoffCode, User, utcnow
from portal.services import audit

# No 0/O, 1/I/L: codes are read off a screen and typed on another device.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 8
TTL = dt.timedelta(minutes=5)
KINDS = ("approve", "share")
# Spent and expired rows are kept a day (for support questions), then dropped when new codes are made.
KEEP = dt.timedelta(days=1)
# One wording for unknown, mistyped, expired and used codes: a guesser learns nothing from it.
INVALID = _l("代码无效：可能输入有误、已超过 5 分钟有效期或已被使用。请在另一台设备上重新获取代码后再试。")


class HandoffError(UserError):
    """A code that cannot be used (message shown as is)."""


def clock() -> dt.datetime:
    """The current time; tests replace it to let codes expire."""
    return utcnow()


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def new_browser_secret() -> str:
    """A random value a browser keeps in its session; codes it starts are bound to its digest."""
    return secrets.token_urlsafe(32)


def normalise(raw: str | None) -> str | None:
    """A typed code as stored: upper case, without dashes or spaces; None if it cannot be a code."""
    code = "".join((raw or "")[:40].split()).replace("-", "").replace("－", "").upper()
    if len(code) != LENGTH or any(c not in ALPHABET for c in code):
        return None
    return code


def grouped(code: str) -> str:
    """ABCDEFGH as ABCD-EFGH, easier to read aloud and type."""
    return f"{code[:4]}-{code[4:]}"


def _find(session: Session, code: str | None) -> HandoffCode | None:
    normal = normalise(code)
    if normal is None:
        return None
    return session.exec(select(HandoffCode).where(HandoffCode.code_hash == digest(normal))).first()


def _refuse(session: Session, row: HandoffCode, actor_id: int | None, reason: str) -> HandoffError:
    """Audit a refused use of an existing code (committed: the refusal is the news) and build the error."""
    audit.record(session, actor_id, "handoff.refuse", "handoffcode", row.id, after={"kind": row.kind, "reason": reason})
    session.commit()
    return HandoffError(INVALID)


def start(session: Session, kind: str, browser_secret: str, user: User | None = None,
          now: dt.datetime | None = None) -> tuple[HandoffCode, str]:
    """Create a code bound to the browser holding `browser_secret`; returns the row and the plaintext code.

    share codes are approved at creation by `user`, the signed-in user who asks for one.
    """
    if kind not in KINDS or (kind == "share") != (user is not None):
        raise ValueError(kind)
    now = now or clock()
    session.exec(delete(HandoffCode).where(col(HandoffCode.expires_at) < now - KEEP))  # type: ignore[call-overload]
    while True:
        code = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        # 31^8 codes: a clash is all but impossible, but the unique index would turn one into a 500.
        if session.exec(select(HandoffCode.id).where(HandoffCode.code_hash == digest(code))).first() is None:
            break
    row = HandoffCode(code_hash=digest(code), kind=kind, browser_hash=digest(browser_secret),
                      user_id=user.id if user else None, created_at=now, expires_at=now + TTL,
                      approved_at=now if user else None)
    session.add(row)
    session.flush()
    audit.record(session, user.id if user else None, "handoff.create", "handoffcode", row.id,
                 after={"kind": kind, "expires_at": row.expires_at})
    session.commit()
    return row, code


def for_browser(session: Session, code: str | None, browser_secret: str | None) -> HandoffCode | None:
    """The row of `code` if the browser holding `browser_secret` started it; None otherwise."""
    row = _find(session, code)
    if row is None or not browser_secret or row.browser_hash != digest(browser_secret):
        return None
    return row


def state(row: HandoffCode | None, now: dt.datetime | None = None) -> str:
    """What the browser that started a code should show: pending, approved, expired, consumed or missing."""
    if row is None:
        return "missing"
    if row.consumed_at is not None:
        return "consumed"
    if (now or clock()) >= row.expires_at:
        return "expired"
    return "approved" if row.approved_at is not None else "pending"


def approve(session: Session, code: str | None, user: User, now: dt.datetime | None = None) -> HandoffCode:
    """A signed-in user approves a code shown by another browser, which may then sign in as that user."""
    now = now or clock()
    row = _find(session, code)
    if row is None:
        raise HandoffError(INVALID)
    if row.kind != "approve":
        raise _refuse(session, row, user.id, "wrong_kind")
    if row.consumed_at is not None or row.approved_at is not None:
        raise _refuse(session, row, user.id, "used")
    if now >= row.expires_at:
        raise _refuse(session, row, user.id, "expired")
    # Conditional: of two approvals racing for one code, exactly one changes the row.
    result = session.exec(update(HandoffCode)  # type: ignore[call-overload]
                          .where(col(HandoffCode.id) == row.id, col(HandoffCode.approved_at).is_(None),
                                 col(HandoffCode.consumed_at).is_(None))
                          .values(approved_at=now, user_id=user.id))
    if result.rowcount != 1:
        session.rollback()
        raise _refuse(session, row, user.id, "used")
    audit.record(session, user.id, "handoff.approve", "handoffcode", row.id, after={"kind": row.kind})
    session.commit()
    session.refresh(row)
    return row


def redeem(session: Session, code: str | None, browser_secret: str | None, now: dt.datetime | None = None) -> User:
    """Consume an approved code in the browser asking to sign in; returns the user to sign in as.

    An approve code works only in the browser that started it; a share code in whichever browser types it.
    """
    now = now or clock()
    row = _find(session, code)
    if row is None:
        raise HandoffError(INVALID)
    if row.consumed_at is not None:
        raise _refuse(session, row, None, "used")
    if now >= row.expires_at:
        raise _refuse(session, row, None, "expired")
    if row.kind == "approve" and (not browser_secret or row.browser_hash != digest(browser_secret)):
        raise _refuse(session, row, None, "wrong_browser")
    if row.approved_at is None or row.user_id is None:
        raise _refuse(session, row, None, "not_approved")
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise _refuse(session, row, None, "inactive_user")
    result = session.exec(update(HandoffCode)  # type: ignore[call-overload]
                          .where(col(HandoffCode.id) == row.id, col(HandoffCode.consumed_at).is_(None))
                          .values(consumed_at=now))
    if result.rowcount != 1:
        session.rollback()
        raise _refuse(session, row, None, "used")
    audit.record(session, user.id, "handoff.consume", "handoffcode", row.id, after={"kind": row.kind})
    session.commit()
    return user
