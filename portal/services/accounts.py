"""Accounts: enterprise staff, reviewers of a service unit, administrators."""

from __future__ import annotations

import hashlib
import re
import secrets

from sqlmodel import Session, func, select
from werkzeug.security import check_password_hash, generate_password_hash

from portal.extensions import db
from portal.models import Enterprise, Invitation, User, utcnow
from portal.services import audit

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 10
# A fixed hash to compare against when the e-mail is unknown, so timing does not reveal accounts.
_DUMMY_HASH = generate_password_hash("dummy-password-for-timing")


class AccountError(ValueError):
    """A user-facing problem with account data (message is shown as is)."""


def load_user(user_id: str) -> User | None:
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    return user if user is not None and user.is_active else None


def hash_password(password: str) -> str:
    # scrypt (werkzeug's default): a memory-hard KDF.
    return generate_password_hash(password, method="scrypt")


def validate_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"密码至少需要 {MIN_PASSWORD} 个字符。")
    if password.isdigit() or password.isalpha():
        raise AccountError("密码需同时包含字母和数字（或其他符号）。")


def normalise_email(email: str) -> str:
    email = (email or "").strip().lower()
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise AccountError("请输入有效的电子邮箱地址。")
    return email


def find_by_email(session: Session, email: str) -> User | None:
    return session.exec(select(User).where(User.email == email.strip().lower())).first()


def authenticate(session: Session, email: str, password: str) -> User | None:
    user = find_by_email(session, email)
    if user is None or not user.is_active:
        check_password_hash(_DUMMY_HASH, password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


def register_enterprise(session: Session, enterprise_name: str, name: str, email: str, password: str) -> User:
    enterprise_name, name = enterprise_name.strip(), name.strip()
    if not enterprise_name or len(enterprise_name) > 200:
        raise AccountError("请填写企业名称（200 字以内）。")
    if not name or len(name) > 100:
        raise AccountError("请填写您的姓名（100 字以内）。")
    email = normalise_email(email)
    validate_password(password)
    if find_by_email(session, email):
        raise AccountError("该邮箱已注册，请直接登录。")
    enterprise = Enterprise(name=enterprise_name)
    session.add(enterprise)
    session.flush()
    user = User(email=email, name=name, password_hash=hash_password(password), role="enterprise",
                enterprise_id=enterprise.id)
    session.add(user)
    session.flush()
    audit.record(session, user.id, "account.register", "user", user.id, after={"email": email, "role": "enterprise"})
    session.commit()
    return user


def create_user(session: Session, *, email: str, name: str, password: str, role: str,
                enterprise_id: int | None = None, service_unit_id: str | None = None,
                actor_id: int | None = None) -> User:
    email = normalise_email(email)
    validate_password(password)
    if find_by_email(session, email):
        raise AccountError("该邮箱已注册。")
    user = User(email=email, name=name.strip(), password_hash=hash_password(password), role=role,
                enterprise_id=enterprise_id, service_unit_id=service_unit_id)
    session.add(user)
    session.flush()
    audit.record(session, actor_id, "account.create", "user", user.id,
                 after={"email": email, "role": role, "service_unit_id": service_unit_id})
    session.commit()
    return user


def change_password(session: Session, user: User, current: str, new: str) -> None:
    if not check_password_hash(user.password_hash, current):
        raise AccountError("当前密码不正确。")
    validate_password(new)
    user.password_hash = hash_password(new)
    session.add(user)
    audit.record(session, user.id, "account.password", "user", user.id)
    session.commit()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite_colleague(session: Session, inviter: User, email: str) -> str:
    """Create an invitation; returns the one-time token (only its hash is stored)."""
    email = normalise_email(email)
    if find_by_email(session, email):
        raise AccountError("该邮箱已有账号。")
    token = secrets.token_urlsafe(24)
    session.add(Invitation(enterprise_id=inviter.enterprise_id, email=email, token_hash=_token_hash(token),
                           invited_by=inviter.id))
    audit.record(session, inviter.id, "account.invite", "enterprise", inviter.enterprise_id, after={"email": email})
    session.commit()
    return token


def find_invitation(session: Session, token: str) -> Invitation | None:
    inv = session.exec(select(Invitation).where(Invitation.token_hash == _token_hash(token))).first()
    return inv if inv is not None and inv.accepted_at is None else None


def accept_invitation(session: Session, token: str, name: str, password: str) -> User:
    inv = find_invitation(session, token)
    if inv is None:
        raise AccountError("邀请链接无效或已被使用。")
    if not name.strip():
        raise AccountError("请填写您的姓名。")
    validate_password(password)
    user = User(email=inv.email, name=name.strip(), password_hash=hash_password(password), role="enterprise",
                enterprise_id=inv.enterprise_id)
    inv.accepted_at = utcnow()
    session.add(user)
    session.add(inv)
    session.flush()
    audit.record(session, user.id, "account.accept_invite", "user", user.id, after={"email": inv.email})
    session.commit()
    return user


def colleagues(session: Session, enterprise_id: int) -> list[User]:
    return list(session.exec(select(User).where(User.enterprise_id == enterprise_id).order_by(User.id)))


def count_users(session: Session) -> int:
    return session.exec(select(func.count()).select_from(User)).one()
