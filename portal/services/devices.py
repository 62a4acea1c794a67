"""Signed-in devices: one UserSession row per browser a user signed in on.

Flask-Login stores `User.get_id()` in the session cookie and signs it into the remember-me cookie.
We make that id "<user id>:<device secret>", and only the secret's SHA-256 is stored (UserSession):
ending the device row ends both cookies, wherever they were copied to.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets

from sqlalchemy import update
from sqlmodel import Session, col, select

from portal.extensions import db
from portal.models import User, UserSession, utcnow
from portal.services import audit
from portal.services.tokens import digest

SESSION_IDLE_LIMIT = dt.timedelta(days=30)
SESSION_TOUCH_EVERY = dt.timedelta(minutes=5)
DEVICE_LOGIN = "_device_login"  # instance attributes set on a User loaded for a device
DEVICE_SESSION_ID = "_device_session_id"


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def start_session(session: Session, user: User, user_agent: str = "", ip: str = "") -> str:
    """A new signed-in device for `user`; returns the id Flask-Login will store ("<id>:<secret>")."""
    secret = secrets.token_urlsafe(32)
    row = UserSession(user_id=user.id, secret_hash=digest(secret), user_agent=(user_agent or "")[:200],
                      ip=(ip or "")[:64])
    session.add(row)
    session.flush()
    audit.record(session, user.id, "session.start", "usersession", row.id, after={"ip": row.ip})
    session.commit()
    login_id = f"{user.id}:{secret}"
    object.__setattr__(user, DEVICE_LOGIN, login_id)  # not a column: what get_id() hands to Flask-Login
    object.__setattr__(user, DEVICE_SESSION_ID, row.id)
    return login_id


def load_session_user(login_id: str) -> User | None:
    """Flask-Login user loader: the user behind a live device session, or None (signed out)."""
    user_part, _, secret = (login_id or "").partition(":")
    if not re.fullmatch(r"[0-9]{1,18}", user_part) or not secret or len(secret) > 100:
        return None  # includes ids from before device sessions: sign in again
    session = db.session
    row = session.exec(select(UserSession).where(UserSession.secret_hash == digest(secret))).first()
    if row is None or row.ended_at is not None or row.user_id != int(user_part):
        return None
    now = utcnow()
    if now - _aware(row.last_seen_at) > SESSION_IDLE_LIMIT:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    if now - _aware(row.last_seen_at) > SESSION_TOUCH_EVERY:
        # Loading the user comes before the request's own work, so this write carries nothing else.
        db.write_now(session, update(UserSession).where(col(UserSession.id) == row.id).values(last_seen_at=now))
    object.__setattr__(user, DEVICE_LOGIN, login_id)
    object.__setattr__(user, DEVICE_SESSION_ID, row.id)
    return user


def current_session_id(user: User) -> int | None:
    return getattr(user, DEVICE_SESSION_ID, None)


def active_sessions(session: Session, user_id: int) -> list[UserSession]:
    cutoff = utcnow() - SESSION_IDLE_LIMIT
    query = select(UserSession).where(UserSession.user_id == user_id, col(UserSession.ended_at).is_(None),
                                      col(UserSession.last_seen_at) > cutoff)
    return list(session.exec(query.order_by(col(UserSession.last_seen_at).desc())))


def end_session(session: Session, user: User, session_id: int, reason: str) -> bool:
    """End one of the user's devices; False if it was not theirs or already ended."""
    row = session.get(UserSession, session_id)
    if row is None or row.user_id != user.id or row.ended_at is not None:
        return False
    row.ended_at, row.ended_reason = utcnow(), reason[:32]
    session.add(row)
    audit.record(session, user.id, "session.end", "usersession", row.id, after={"reason": reason})
    session.commit()
    return True


def end_sessions(session: Session, user: User, reason: str, keep: int | None = None,
                 actor_id: int | None = None) -> int:
    """End every device of `user` (but `keep`): after a password change, disabling, "sign out everywhere"."""
    query = select(UserSession).where(UserSession.user_id == user.id, col(UserSession.ended_at).is_(None))
    ended = 0
    now = utcnow()
    for row in session.exec(query):
        if row.id == keep:
            continue
        row.ended_at, row.ended_reason = now, reason[:32]
        session.add(row)
        ended += 1
    audit.record(session, actor_id if actor_id is not None else user.id, "session.end_all", "user", user.id,
                 after={"reason": reason, "ended": ended, "kept": keep})
    session.commit()
    return ended
