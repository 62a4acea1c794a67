"""The signed-in user's account: devices and personal API tokens (any role)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user

from portal.extensions import db
from portal.services import tokens
from portal.templating import render
from portal.views.access import access

bp = Blueprint("account", __name__, url_prefix="/account")


def _page(new_token: str = "", error: str = "", status: int = 200):  # type: ignore[no-untyped-def]
    response = render("account/index.html", tokens=tokens.active_for(db.session, current_user.id),
                      scopes=tokens.SCOPES, new_token=new_token, error=error, form=request.form, status=status)
    response.headers["Cache-Control"] = "no-store"  # a new token is shown once: never from a cache
    return response


@bp.get("")
@access("login")
def index():
    """Account page: personal API tokens for the desktop client, with last use and revoke."""
    return _page()


@bp.post("/tokens")
@access("login")
def create_token():
    """Create a personal API token; its value is shown once on the page that answers."""
    try:
        _token, plaintext = tokens.issue(db.session, current_user, request.form.get("name", ""),
                                         request.form.get("scope", ""))
    except tokens.TokenError as exc:
        db.session.rollback()
        return _page(error=str(exc), status=422)
    return _page(new_token=plaintext, status=201)


@bp.post("/tokens/<int:token_id>/revoke")
@access("login")
def revoke_token(token_id: int):
    """Revoke one of the user's tokens; a device using it is refused from its next request."""
    try:
        token = tokens.revoke(db.session, current_user, token_id)
    except tokens.TokenError as exc:
        db.session.rollback()
        return _page(error=str(exc), status=404)
    flash(f"已撤销令牌“{token.name}”。")
    return redirect(url_for("account.index"))
