"""Notifications: a row per user in the portal, plus e-mail when SMTP_HOST is configured.

E-mails are held on the database session and handed to the task queue only after it commits, so
nobody is told about a change that was rolled back; a worker sends them (portal/tasks.py) and tries
again later when the mail server refuses, so an SMTP outage neither slows a request nor loses a message.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import event
from sqlmodel import Session, col, func, select

from portal.config import setting
from portal.i18n import DEFAULT, LANGUAGES
from portal.models import Notification, User, utcnow
from portal.tasks import MAIL_RETRIES, MAIL_RETRY_DELAY_S, PRIORITY_MAIL, app_context, huey

log = logging.getLogger(__name__)
_PENDING = "portal_pending_mail"
_LISTENING = "portal_mail_listening"
MESSAGE_MAX = 500


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str


def recipient_language(user: User) -> str:
    """The language to write to `user` in: the account's, else Chinese (the worker has no browser to ask)."""
    return user.language if user.language in LANGUAGES else DEFAULT


def notify(session: Session, users: Iterable[User], message: str | Callable[[], str], link: str = "") -> int:
    """Add an in-app notification (and queue an e-mail) for each active user; returns how many.

    The e-mail's frame (subject prefix, link line, footer) is in each recipient's language. `message` may be
    a function that returns the text (e.g. `lambda: gettext("…", ref=ref)`): it is called once per recipient
    inside their language, so the notification and e-mail read in it too; a plain string is used as it is.
    """
    count = 0
    for user in users:
        if not user.is_active or user.id is None:
            continue
        with force_locale(recipient_language(user)):
            text = str(message() if callable(message) else message)[:MESSAGE_MAX]
            mail = Mail(user.email, _("【吉林医药政策服务平台】%(message)s", message=text[:60]), _body(text, link))
        session.add(Notification(user_id=user.id, message=text, link=link[:300]))
        _queue_mail(session, mail)
        count += 1
    return count


def reviewers_of(session: Session, unit_id: str) -> list[User]:
    query = select(User).where(User.role == "reviewer", User.service_unit_id == unit_id, col(User.is_active))
    return list(session.exec(query))


def staff_of(session: Session, enterprise_id: int) -> list[User]:
    query = select(User).where(User.role == "enterprise", User.enterprise_id == enterprise_id, col(User.is_active))
    return list(session.exec(query))


def staff_by_enterprise(session: Session, enterprise_ids: Iterable[int]) -> dict[int, list[User]]:
    """The active staff of several enterprises in one query (bulk jobs), by enterprise id."""
    staff: dict[int, list[User]] = {}
    query = select(User).where(User.role == "enterprise", col(User.enterprise_id).in_(list(enterprise_ids)),
                               col(User.is_active))
    for user in session.exec(query):
        staff.setdefault(user.enterprise_id or 0, []).append(user)
    return staff


def for_user(session: Session, user_id: int, limit: int = 100) -> list[Notification]:
    query = select(Notification).where(Notification.user_id == user_id)
    return list(session.exec(query.order_by(col(Notification.id).desc()).limit(limit)))


def unread_count(session: Session, user_id: int) -> int:
    query = select(func.count()).select_from(Notification).where(Notification.user_id == user_id,
                                                                   col(Notification.read_at).is_(None))
    return int(session.exec(query).one())


def mark_read(session: Session, user_id: int, notification_id: int | None = None) -> Notification | None:
    """Mark one (or, without an id, every) notification of this user as read; the caller commits.

    Returns the notification when one id was given and it belongs to the user.
    """
    if notification_id is None:
        unread = select(Notification).where(Notification.user_id == user_id, col(Notification.read_at).is_(None))
        now = utcnow()
        for note in session.exec(unread):
            note.read_at = now
            session.add(note)
        return None
    note = session.get(Notification, notification_id)
    if note is None or note.user_id != user_id:
        return None
    if note.read_at is None:
        note.read_at = utcnow()
        session.add(note)
    return note


# -- e-mail ---------------------------------------------------------------------------------
def _body(message: str, link: str) -> str:
    from portal.config import public_base_url

    base = public_base_url()  # configured, else the request's address; outside a request a bare path
    url = f"{base}{link}" if link.startswith("/") else link
    lines = [message, ""]
    if url:
        lines += [_("查看详情：%(url)s", url=url), ""]
    lines.append(_("此邮件由吉林省医药产业政策自助服务平台自动发送，请勿直接回复。"))
    return "\n".join(lines)


def _queue_mail(session: Session, mail: Mail) -> None:
    if not session.info.get(_LISTENING):
        # The session lives for one request; its listeners go with it.
        event.listen(session, "after_commit", _send_pending)
        event.listen(session, "after_rollback", _drop_pending)
        session.info[_LISTENING] = True
    session.info.setdefault(_PENDING, []).append(mail)


def _drop_pending(session: Any) -> None:
    session.info.pop(_PENDING, None)


def _send_pending(session: Any) -> None:
    for mail in session.info.pop(_PENDING, None) or []:
        send_mail(mail)


def send_mail(mail: Mail) -> None:
    """Queue an e-mail for a worker to send. Never raises: a queue outage is logged with the whole message."""
    try:
        send_mail_task(mail.to, mail.subject, mail.body, priority=PRIORITY_MAIL)
    except Exception:
        log.exception("could not queue e-mail to %s: %s\n%s", mail.to, mail.subject, mail.body)


@huey.task(retries=MAIL_RETRIES, retry_delay=MAIL_RETRY_DELAY_S, retry_backoff=2, name="send_mail")
def send_mail_task(to: str, subject: str, body: str) -> None:
    """Send one queued e-mail; an SMTP error raises, so the queue tries again later."""
    with app_context():
        deliver(Mail(to, subject, body))


def deliver(mail: Mail) -> bool:
    """Send through SMTP_HOST now (raises on an SMTP error), or log the message when no server is configured."""
    host = setting("SMTP_HOST", "")
    if not host:
        log.info("e-mail (SMTP_HOST not set) to %s: %s\n%s", mail.to, mail.subject, mail.body)
        return False
    msg = EmailMessage()
    msg["From"] = setting("MAIL_FROM", "portal@localhost")
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg.set_content(mail.body)
    try:
        with smtplib.SMTP(host, int(setting("SMTP_PORT", 25)), timeout=10) as smtp:
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException):
        log.warning("could not send e-mail to %s (will be tried again)", mail.to, exc_info=True)
        raise
    return True
