"""Access rules for views. Every view declares one; tests walk url_map and check them all."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import abort
from flask_login import current_user

from portal.extensions import login_manager

RULES = ("public", "login", "enterprise", "reviewer", "admin")
F = TypeVar("F", bound=Callable[..., Any])


def same_site_path(target: str | None, default: str) -> str:
    """Where a `next` parameter may send the user: a path on this site, never another host.

    Browsers drop tabs and line breaks inside URLs and read "\\" as "/", so "/\t/evil.example" would
    become "//evil.example": any such character refuses the target outright.
    """
    target = target or ""
    if any(c.isspace() or ord(c) < 0x20 or c == "\\" for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def access(rule: str) -> Callable[[F], F]:
    """Declare who may call a view: anyone, any signed-in user, or one role."""
    if rule not in RULES:
        raise ValueError(rule)

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if rule != "public":
                if not current_user.is_authenticated:
                    return login_manager.unauthorized()
                if rule != "login" and current_user.role != rule:
                    abort(403)
            return view(*args, **kwargs)

        wrapper.access_rule = rule  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate
