"""`portal users`: create, disable, re-enable accounts and change roles, in production too (every change audited).

Nothing secret goes to the terminal or the shell history: a password is typed at a hidden prompt (twice),
or `--invite` prints a one-time invitation link instead for the person to choose their own.
"""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

ROLE_CHOICE = click.Choice(["reviewer", "admin", "enterprise"])


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _invitation_link(token: str) -> str:
    from flask import url_for

    from portal.config import LOCAL_BASE_URL, public_base_url

    base = public_base_url(LOCAL_BASE_URL)
    # No request here: build the path in a throwaway request context on the public address.
    with current_app.test_request_context(base_url=base):
        return base + url_for("auth.accept_invite", token=token)


@click.group("users")
def users_group() -> None:
    """Staff and enterprise accounts: create, disable, enable, change role."""


@users_group.command("create")
@click.argument("email")
@click.option("--name", required=True, help="Display name.")
@click.option("--role", type=ROLE_CHOICE, required=True)
@click.option("--unit", "unit_id", default=None, help="Service unit id (reviewers only; see `portal measures`).")
@click.option("--enterprise-id", type=int, default=None, help="Existing enterprise (enterprise staff only).")
@click.option("--invite", is_flag=True, help="Print a 7-day invitation link instead of asking for a password.")
@with_appcontext
def users_create(email: str, name: str, role: str, unit_id: str | None, enterprise_id: int | None,
                 invite: bool) -> None:
    """Create an account (or, with --invite, an invitation) for EMAIL."""
    from portal.extensions import db
    from portal.services import accounts

    with db.standalone() as session:
        try:
            email = accounts.normalise_email(email)
            accounts.check_assignment(role, unit_id, enterprise_id, session)
            if accounts.find_by_email(session, email):
                raise accounts.AccountError("an account with this e-mail already exists (use `portal users role`)")
            if not name.strip() or len(name.strip()) > 100:
                raise accounts.AccountError("--name must be 1 to 100 characters")
        except accounts.AccountError as exc:
            _fail(str(exc))
        if invite:
            try:
                token = accounts.invite_staff(session, _cli_inviter(session), email, role, unit_id, enterprise_id,
                                              via="cli")
            except accounts.AccountError as exc:
                session.rollback()
                _fail(str(exc))
            click.echo(f"invitation for {email} ({role}), valid 7 days, one use:")
            click.echo(_invitation_link(token))
            return
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        try:
            user = accounts.create_user(session, email=email, name=name, password=password, role=role,
                                        enterprise_id=enterprise_id, service_unit_id=unit_id)
        except accounts.AccountError as exc:
            session.rollback()
            _fail(str(exc))
        click.echo(f"created {user.email} (id {user.id}, {role}{', ' + unit_id if unit_id else ''})")


def _cli_inviter(session):  # type: ignore[no-untyped-def]
    """An invitation names who sent it; from the command line that is the first active administrator."""
    from sqlmodel import col, select

    from portal.models import User

    admin = session.exec(select(User).where(User.role == "admin", col(User.is_active)).order_by(User.id)).first()
    if admin is None:
        _fail("--invite needs an active administrator to send it; create the first administrator with a password")
    return admin


def _user(session, email: str):  # type: ignore[no-untyped-def]
    from portal.services import accounts

    user = accounts.find_by_email(session, email)
    if user is None:
        _fail(f"no account with e-mail {email.strip().lower()}")
    return user


@users_group.command("disable")
@click.argument("email")
@with_appcontext
def users_disable(email: str) -> None:
    """Disable the account of EMAIL and sign out all its devices."""
    from portal.extensions import db
    from portal.services import accounts

    with db.standalone() as session:
        user = _user(session, email)
        changed = accounts.set_active(session, user, False, None, via="cli")
        click.echo(f"disabled {user.email}" if changed else f"{user.email} was already disabled")


@users_group.command("enable")
@click.argument("email")
@with_appcontext
def users_enable(email: str) -> None:
    """Re-enable the account of EMAIL."""
    from portal.extensions import db
    from portal.services import accounts

    with db.standalone() as session:
        user = _user(session, email)
        changed = accounts.set_active(session, user, True, None, via="cli")
        click.echo(f"enabled {user.email}" if changed else f"{user.email} was already enabled")


@users_group.command("role")
@click.argument("email")
@click.argument("role", type=ROLE_CHOICE)
@click.option("--unit", "unit_id", default=None, help="Service unit id (required for reviewer).")
@click.option("--enterprise-id", type=int, default=None, help="Existing enterprise (required for enterprise).")
@with_appcontext
def users_role(email: str, role: str, unit_id: str | None, enterprise_id: int | None) -> None:
    """Change the role (and unit or enterprise) of EMAIL; a changed role signs out its devices."""
    from portal.extensions import db
    from portal.services import accounts

    with db.standalone() as session:
        user = _user(session, email)
        try:
            accounts.change_role(session, user, role, unit_id, enterprise_id, None, via="cli")
        except accounts.AccountError as exc:
            session.rollback()
            _fail(str(exc))
        click.echo(f"{user.email}: {role}{', ' + unit_id if unit_id else ''}"
                   f"{f', enterprise {enterprise_id}' if enterprise_id else ''}")
