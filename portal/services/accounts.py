"""Accounts: enterprise staff, reviewers of a service unit, administrators."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from functools import cache

from flask_babel import force_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select
from werkzeug.security import check_password_hash, generate_password_hash

from portal.config import DEFAULT_PASSWORD_HASH, setting
from portal.errors import UserError
from portal.i18n import DEFAULT, LANGUAGES
from portal.models import Enterprise, Invitation, User, utcnow
from portal.services import audit
from portal.services.devices import current_session_id, end_sessions
from portal.services.notifications import Mail, send_mail
from portal.services.tokens import digest

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 10


class AccountError(UserError):
    """A user-facing problem with account data (message is shown as is)."""


class EmailTaken(AccountError):
    """The e-mail already has an account. Public pages must answer as if it had not (no account probing)."""


class LinkRefused(AccountError):
    """An invitation or verification link that cannot be used (expired, already an account, ...)."""

    status = 409


STAFF_ROLES = ("reviewer", "admin")
INVITATION_VALID = dt.timedelta(days=7)
VERIFY_EMAIL_VALID = dt.timedelta(days=3)
VERIFY_EMAIL_SALT = "portal.verify-email"


def _hash_method() -> str:
    return str(setting("PASSWORD_HASH_METHOD", DEFAULT_PASSWORD_HASH))


def hash_password(password: str) -> str:
    """PASSWORD_HASH_METHOD (scrypt unless configured); stored hashes name their own method, so old ones verify."""
    return generate_password_hash(password, method=_hash_method())


@cache
def _dummy_hash(method: str) -> str:
    """A hash to check against when the e-mail is unknown, made like real ones so timing does not reveal accounts."""
    return generate_password_hash("dummy-password-for-timing", method=method)


def validate_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(_("密码至少需要 %(n)s 个字符。", n=MIN_PASSWORD))
    if password.isdigit() or password.isalpha():
        raise AccountError(_("密码需同时包含字母和数字（或其他符号）。"))


def normalise_email(email: str) -> str:
    email = (email or "").strip().lower()
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise AccountError(_("请输入有效的电子邮箱地址。"))
    return email


def find_by_email(session: Session, email: str) -> User | None:
    email = (email or "").strip().lower()
    if len(email) > 254 or any(ord(c) < 0x20 for c in email):
        return None  # no stored address looks like this, and PostgreSQL refuses NUL in text outright
    return session.exec(select(User).where(User.email == email)).first()


def authenticate(session: Session, email: str, password: str) -> User | None:
    user = find_by_email(session, email)
    if user is None or not user.is_active:
        check_password_hash(_dummy_hash(_hash_method()), password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


def register_enterprise(session: Session, enterprise_name: str, name: str, email: str, password: str,
                        verified: bool = False, language: str = "") -> User:
    """A new enterprise and its first staff member; unverified unless `verified` (tests, demo data).
    `language` is the interface language chosen on the form (zh, ko, en; "" follows the browser).

    Raises EmailTaken (after the same password hashing a new account costs, so timing tells nothing)
    when the address already has an account.
    """
    enterprise_name, name = enterprise_name.strip(), name.strip()
    if not enterprise_name or len(enterprise_name) > 200:
        raise AccountError(_("请填写企业名称（200 字以内）。"))
    if not name or len(name) > 100:
        raise AccountError(_("请填写您的姓名（100 字以内）。"))
    email = normalise_email(email)
    validate_password(password)
    password_hash = hash_password(password)
    if find_by_email(session, email):
        raise EmailTaken(_("该邮箱已注册，请直接登录。"))
    try:
        with session.begin_nested():  # a refusal below undoes the enterprise too, and nothing of the caller's
            enterprise = Enterprise(name=enterprise_name)
            session.add(enterprise)
            session.flush()
            user = User(email=email, name=name, password_hash=password_hash, role="enterprise",
                        enterprise_id=enterprise.id, email_verified_at=utcnow() if verified else None,
                        language=language if language in LANGUAGES else "")
            session.add(user)
            session.flush()
    except IntegrityError as exc:  # the same address registered a moment ago by a concurrent request
        raise EmailTaken(_("该邮箱已注册，请直接登录。")) from exc
    audit.record(session, user.id, "account.register", "user", user.id, after={"email": email, "role": "enterprise"})
    session.commit()
    return user


def create_user(session: Session, *, email: str, name: str, password: str, role: str,
                enterprise_id: int | None = None, service_unit_id: str | None = None,
                actor_id: int | None = None) -> User:
    email = normalise_email(email)
    validate_password(password)
    if find_by_email(session, email):
        raise AccountError(_("该邮箱已注册。"))
    # Created by an administrator or the command line, who vouch for the address: verified at once.
    user = User(email=email, name=name.strip(), password_hash=hash_password(password), role=role,
                enterprise_id=enterprise_id, service_unit_id=service_unit_id, email_verified_at=utcnow())
    session.add(user)
    session.flush()
    audit.record(session, actor_id, "account.create", "user", user.id,
                 after={"email": email, "role": role, "service_unit_id": service_unit_id})
    session.commit()
    return user


def set_language(session: Session, user: User, code: str) -> None:
    """Remember the user's interface language on the account (every device, and their e-mails, follow it)."""
    user.language = code
    session.add(user)
    session.commit()


def change_password(session: Session, user: User, current: str, new: str) -> None:
    if not check_password_hash(user.password_hash, current):
        raise AccountError(_("当前密码不正确。"))
    validate_password(new)
    user.password_hash = hash_password(new)
    session.add(user)
    audit.record(session, user.id, "account.password", "user", user.id)
    session.commit()
    # Whoever else knew the old password is signed out everywhere else, remember-me cookies included.
    end_sessions(session, user, "password_changed", keep=current_session_id(user))


def invite_colleague(session: Session, inviter: User, email: str) -> str:
    """Create an invitation; returns the one-time token (only its hash is stored).

    An address that already has an account is invited all the same, so the inviter cannot tell the two
    apart; such an invitation is refused when opened (the owner is told to sign in) and adds no account.
    """
    email = normalise_email(email)
    token = secrets.token_urlsafe(24)
    session.add(Invitation(enterprise_id=inviter.enterprise_id, email=email, token_hash=digest(token),
                           invited_by=inviter.id))
    audit.record(session, inviter.id, "account.invite", "enterprise", inviter.enterprise_id, after={"email": email})
    session.commit()
    return token


def invite_staff(session: Session, inviter: User, email: str, role: str, unit_id: str | None,
                 enterprise_id: int | None = None, *, via: str = "admin") -> str:
    """An administrator (or `portal users create --invite`) invites someone to a role; returns the token.

    Administrators see every account, so an address that already has one is refused outright.
    From the command line (`via="cli"`) the audit names no actor: nobody signed in; the invitation names
    the first administrator as its sender, since an invitation lives only while its sender is active.
    """
    email = normalise_email(email)
    check_assignment(role, unit_id, enterprise_id, session)
    if find_by_email(session, email):
        raise EmailTaken(_("该邮箱已有账号；如需调整其角色或单位，请使用命令 portal users role。"))
    token = secrets.token_urlsafe(24)
    session.add(Invitation(role=role, service_unit_id=unit_id, enterprise_id=enterprise_id, email=email,
                           token_hash=digest(token), invited_by=inviter.id))
    audit.record(session, None if via == "cli" else inviter.id, "account.invite_staff", "user", email,
                 after={"email": email, "role": role, "service_unit_id": unit_id, "enterprise_id": enterprise_id,
                        "via": via})
    session.commit()
    return token


def find_invitation(session: Session, token: str) -> Invitation | None:
    inv = session.exec(select(Invitation).where(Invitation.token_hash == digest(token))).first()
    return inv if inv is not None and inv.accepted_at is None else None


def invitation_expires_at(inv: Invitation) -> dt.datetime:
    return inv.created_at.replace(tzinfo=inv.created_at.tzinfo or dt.UTC) + INVITATION_VALID


def invitation_problem(session: Session, inv: Invitation) -> LinkRefused | None:
    """Why an (unused) invitation cannot be accepted, or None when it can."""
    if utcnow() >= invitation_expires_at(inv):
        return LinkRefused(_("该邀请已超过 7 天有效期。请联系邀请您的同事或管理员重新发送邀请。"), 410)
    inviter = session.get(User, inv.invited_by)
    if inviter is None or not inviter.is_active:
        return LinkRefused(_("发出该邀请的账号已停用，邀请随之失效。请联系管理员重新邀请。"), 410)
    if find_by_email(session, inv.email) is not None:
        # A second invitation for the same address, or one sent to an existing account: never a second account.
        return LinkRefused(_("该邮箱已有账号，无需再次加入。请直接登录；忘记密码请联系本企业同事或管理员。"))
    return None


def accept_invitation(session: Session, token: str, name: str, password: str, language: str = "") -> User:
    inv = find_invitation(session, token)
    if inv is None:
        raise AccountError(_("邀请链接无效或已被使用。"))
    problem = invitation_problem(session, inv)
    if problem:
        raise problem
    if not name.strip() or len(name.strip()) > 100:
        raise AccountError(_("请填写您的姓名（100 字以内）。"))
    validate_password(password)
    # The link reached this address, so the address is verified.
    user = User(email=inv.email, name=name.strip(), password_hash=hash_password(password), role=inv.role,
                enterprise_id=inv.enterprise_id, service_unit_id=inv.service_unit_id, email_verified_at=utcnow(),
                language=language if language in LANGUAGES else "")
    try:
        with session.begin_nested():  # a refusal below leaves the invitation unused
            inv.accepted_at = utcnow()
            session.add(user)
            session.add(inv)
            session.flush()
    except IntegrityError as exc:  # two invitations for one address accepted at the same moment
        raise LinkRefused(_("该邮箱已有账号，无需再次加入。请直接登录。")) from exc
    audit.record(session, user.id, "account.accept_invite", "user", user.id,
                 after={"email": inv.email, "role": inv.role, "service_unit_id": inv.service_unit_id})
    session.commit()
    return user


# -- e-mail verification --------------------------------------------------------------------
def _verify_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(setting("SECRET_KEY"), salt=VERIFY_EMAIL_SALT)


def needs_verification(user: User) -> bool:
    """Enterprise staff must verify their address before submitting; staff accounts are vouched for."""
    return user.role == "enterprise" and user.email_verified_at is None


def email_token(user: User) -> str:
    """A signed link token naming the user and the address it was sent to (nothing stored)."""
    return _verify_serializer().dumps({"uid": user.id, "email": user.email})


def user_for_email_token(session: Session, token: str) -> User:
    """The user a verification token names; AccountError when expired, forged or no longer matching."""
    try:
        data = _verify_serializer().loads(token, max_age=int(VERIFY_EMAIL_VALID.total_seconds()))
    except SignatureExpired as exc:
        raise LinkRefused(_("验证链接已过期（3 天内有效）。请登录后重新发送验证邮件。"), 410) from exc
    except BadSignature as exc:
        raise LinkRefused(_("验证链接无效。请使用邮件中的完整链接，或登录后重新发送验证邮件。"), 400) from exc
    user = session.get(User, data.get("uid")) if isinstance(data, dict) and isinstance(data.get("uid"), int) else None
    # A changed address makes older links useless: they proved another mailbox.
    if user is None or not user.is_active or user.email != data.get("email"):
        raise LinkRefused(_("验证链接无效。请使用邮件中的完整链接，或登录后重新发送验证邮件。"), 400)
    return user


def verify_email(session: Session, token: str) -> User:
    """Mark the address verified (idempotent: a second click changes nothing)."""
    user = user_for_email_token(session, token)
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
        session.add(user)
        audit.record(session, user.id, "account.verify_email", "user", user.id, after={"email": user.email})
        session.commit()
    return user


def mail_language(user: User | None, fallback: str | None = None) -> str:
    """The language to write to a user in: the one stored on the account, else `fallback` (the language of
    the page that caused the e-mail, for instance), else Chinese."""
    stored = getattr(user, "language", "") if user is not None else ""
    if stored in LANGUAGES:
        return stored
    return fallback if fallback in LANGUAGES else DEFAULT


def _page_language() -> str | None:
    """The language of the current request's page, when there is a request."""
    from flask import has_request_context
    from flask_babel import get_locale

    return str(get_locale()) if has_request_context() and get_locale() else None


def mail_verification(user: User, link: str) -> None:
    """The verification link, in the account's language (else the language of the page that asked for it).

    Built here, in the request: the task-queue worker only delivers the finished text.
    """
    with force_locale(mail_language(user, _page_language())):
        mail = Mail(user.email, _("【吉林医药政策服务平台】请确认您的电子邮箱"), "\n".join([
            _("%(name)s，您好：", name=user.name), "",
            _("请打开以下链接确认您的电子邮箱（3 天内有效）："), link, "",
            _("确认之前，您可以填写问卷、查看匹配结果和下载 PDF，但还不能在线提交申请。"),
            _("如果您没有注册过本平台，请忽略本邮件。")]))
    send_mail(mail)


def mail_registration_attempt(email: str, login_link: str, owner: User | None = None) -> None:
    """Tell an account's owner that someone tried to register their address (instead of telling the visitor).

    In the owner's language when the account has one, else in the language of the page the attempt came from.
    """
    with force_locale(mail_language(owner, _page_language())):
        mail = Mail(email, _("【吉林医药政策服务平台】有人尝试用您的邮箱注册"), "\n".join([
            _("有人刚刚尝试用此邮箱注册新的企业账号。此邮箱已有账号，因此没有创建新账号。"), "",
            _("如果是您本人，请直接登录：%(link)s", link=login_link),
            _("如果不是您，可以忽略本邮件，您的账号未受影响。")]))
    send_mail(mail)


def mail_invitation(email: str, link: str, what: str | None = None, *, inviter: str | None = None,
                    unit: str | None = None, lang: str | None = None) -> None:
    """An invitation to join: a colleague's enterprise account (`inviter`, their name) or a unit's reviewers
    (`unit`, its name). The address has no account yet, so the mail is in `lang`, by default the language of
    the inviter's page. `what` (older callers: a Chinese phrase for the invitation) is used as it is."""
    if what and inviter is None and unit is None:
        lang = DEFAULT  # a Chinese phrase: the whole mail in Chinese rather than two languages in one sentence
    with force_locale(lang if lang in LANGUAGES else (_page_language() or DEFAULT)):
        if unit is not None:
            invited = _("您受邀成为“%(unit)s”的审核员。", unit=unit)
        elif inviter is not None:
            invited = _("%(inviter)s 邀请您加入其企业账号。", inviter=inviter)
        elif what:
            invited = f"您受邀{what}。"
        else:
            invited = _("您受邀加入吉林医药政策服务平台。")
        mail = Mail(email, _("【吉林医药政策服务平台】邀请您加入"), "\n".join([
            invited, _("请在 7 天内打开以下链接设置密码（链接只能使用一次）："), link, "",
            _("如果您不认识邀请人，请忽略本邮件。")]))
    send_mail(mail)


# -- staff accounts (administrators, `portal users`) -----------------------------------------
def check_assignment(role: str, unit_id: str | None, enterprise_id: int | None,
                     session: Session | None = None) -> None:
    """A role with what it needs: reviewers a known unit, enterprise staff an existing enterprise."""
    from portal.policy.catalog import catalog

    if role not in ("enterprise", *STAFF_ROLES):
        raise AccountError(_("未知角色：%(role)s（可选 enterprise、reviewer、admin）。", role=role))
    if role == "reviewer" and (not unit_id or unit_id not in catalog().units):
        raise AccountError(_("审核员必须指定一个有效的受理单位。"))
    if role != "reviewer" and unit_id:
        raise AccountError(_("只有审核员需要指定单位。"))
    if role == "enterprise" and (enterprise_id is None or (session is not None
                                                             and session.get(Enterprise, enterprise_id) is None)):
        raise AccountError(_("企业员工必须属于一个已有的企业（企业编号）。"))
    if role != "enterprise" and enterprise_id is not None:
        raise AccountError(_("只有企业员工属于企业。"))


def staff(session: Session) -> list[User]:
    query = select(User).where(col(User.role).in_(STAFF_ROLES))
    return list(session.exec(query.order_by(User.role, User.service_unit_id, User.email)))


def pending_staff_invitations(session: Session) -> list[Invitation]:
    cutoff = utcnow() - INVITATION_VALID
    query = select(Invitation).where(col(Invitation.role).in_(STAFF_ROLES), col(Invitation.accepted_at).is_(None),
                                     col(Invitation.created_at) > cutoff)
    return list(session.exec(query.order_by(col(Invitation.id).desc())))


def set_active(session: Session, user: User, active: bool, actor_id: int | None, via: str = "admin") -> bool:
    """Disable or re-enable an account; False when it already was. Disabling ends every signed-in device."""
    if actor_id is not None and actor_id == user.id and not active:
        raise AccountError(_("不能停用自己的账号。"))
    if user.is_active == active:
        return False
    user.is_active = active
    session.add(user)
    audit.record(session, actor_id, "account.enable" if active else "account.disable", "user", user.id,
                 before={"is_active": not active}, after={"is_active": active, "via": via})
    session.commit()
    if not active:
        end_sessions(session, user, "disabled", actor_id=actor_id)
    return True


def change_role(session: Session, user: User, role: str, unit_id: str | None, enterprise_id: int | None,
                actor_id: int | None, via: str = "cli") -> None:
    check_assignment(role, unit_id, enterprise_id, session)
    before = {"role": user.role, "service_unit_id": user.service_unit_id, "enterprise_id": user.enterprise_id}
    user.role, user.service_unit_id, user.enterprise_id = role, unit_id, enterprise_id
    session.add(user)
    audit.record(session, actor_id, "account.role", "user", user.id, before=before,
                 after={"role": role, "service_unit_id": unit_id, "enterprise_id": enterprise_id, "via": via})
    session.commit()
    if before["role"] != role:
        # What the devices were allowed to see changed with the role: sign in again.
        end_sessions(session, user, "role_changed", actor_id=actor_id)


def colleagues(session: Session, enterprise_id: int) -> list[User]:
    return list(session.exec(select(User).where(User.enterprise_id == enterprise_id).order_by(User.id)))


def count_users(session: Session) -> int:
    return session.exec(select(func.count()).select_from(User)).one()
