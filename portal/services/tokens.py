"""Personal device tokens for the API (desktop client, scripts): shown once, stored as SHA-256."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import update
from sqlmodel import Session, col, select

from portal.db import db
from portal.errors import UserError
from portal.models import DeviceToken, User, utcnow
from portal.services import audit

SCOPES = {"read": _l("只读"), "write": _l("读写")}  # labels: str() them before storing
PREFIX = "jlp_"  # recognisable in logs and secret scanners
NAME_MAX = 60
MAX_ACTIVE = 20
# last_used_at is written at most this often per token, so reads stay reads.
TOUCH_EVERY = dt.timedelta(minutes=5)


class TokenError(UserError):
    """A user-facing problem creating or revoking a token (message shown as is)."""


def digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def issue(session: Session, user: User, name: str, scope: str) -> tuple[DeviceToken, str]:
    """Create a token; the plaintext is returned once and never stored."""
    name = " ".join((name or "").split())
    if not name:
        raise TokenError(_("请给令牌起个名字，例如“办公室电脑”。"))
    if len(name) > NAME_MAX:
        raise TokenError(_("名称不超过 %(n)s 个字符。", n=NAME_MAX))
    if scope not in SCOPES:
        raise TokenError(_("请选择权限：只读或读写。"))
    if len(active_for(session, user.id)) >= MAX_ACTIVE:
        raise TokenError(_("最多保留 %(n)s 个有效令牌，请先撤销不用的。", n=MAX_ACTIVE))
    plaintext = PREFIX + secrets.token_urlsafe(32)
    token = DeviceToken(user_id=user.id, name=name, token_hash=digest(plaintext), scope=scope)
    session.add(token)
    session.flush()
    audit.record(session, user.id, "token.create", "devicetoken", token.id, {}, {"name": name, "scope": scope})
    session.commit()
    return token, plaintext


def active_for(session: Session, user_id: int | None) -> list[DeviceToken]:
    query = select(DeviceToken).where(DeviceToken.user_id == user_id, col(DeviceToken.revoked_at).is_(None))
    return list(session.exec(query.order_by(col(DeviceToken.created_at).desc())))


def revoke(session: Session, user: User, token_id: int) -> DeviceToken:
    token = session.get(DeviceToken, token_id)
    if token is None or token.user_id != user.id or token.revoked_at is not None:
        raise TokenError(_("该令牌不存在或已撤销。"))
    token.revoked_at = utcnow()
    session.add(token)
    audit.record(session, user.id, "token.revoke", "devicetoken", token.id, {"name": token.name}, {})
    session.commit()
    return token


def authenticate(session: Session, plaintext: str) -> tuple[User, DeviceToken] | None:
    """The active user behind a presented token, or None."""
    if not plaintext.startswith(PREFIX) or len(plaintext) > 100:
        return None
    token = session.exec(select(DeviceToken).where(DeviceToken.token_hash == digest(plaintext))).first()
    if token is None or token.revoked_at is not None:
        return None
    user = session.get(User, token.user_id)
    if user is None or not user.is_active:
        return None
    now = utcnow()
    last = token.last_used_at
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=dt.UTC)
    if last is None or now - last > TOUCH_EVERY:
        # Authentication runs before the request does any work, so this write carries nothing else.
        db.write_now(session, update(DeviceToken).where(col(DeviceToken.id) == token.id).values(last_used_at=now))
    return user, token
