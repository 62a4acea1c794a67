"""Unit contact directory: names come from the documents, contacts from administrators."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlmodel import Session, select

from portal.errors import UserError
from portal.formatting import CONTACT_LABELS
from portal.models import UnitContact, utcnow
from portal.policy.catalog import catalog
from portal.policy.records import Unit
from portal.services import audit

CONTACT_FIELDS = ("address", "phone", "hours", "email", "web")
CONTACT_LIMITS = {"address": 300, "phone": 50, "hours": 200, "email": 254, "web": 300}
PHONE_RE = re.compile(r"^[0-9+()（）\-\s、,，转]*$")


class ContactError(UserError):
    """Contact details refused, one message per field in `errors`."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class UnitView:
    unit: Unit
    contact: UnitContact | None

    @property
    def has_contact(self) -> bool:
        return self.contact is not None and any(getattr(self.contact, f) for f in CONTACT_FIELDS)


def contacts(session: Session) -> dict[str, UnitContact]:
    return {c.unit_id: c for c in session.exec(select(UnitContact))}


def unit_views(session: Session, unit_names_or_ids: list[str] | tuple[str, ...]) -> list[UnitView]:
    """Resolve printed names (or ids) to units with their contacts, in the given order."""
    cat, known = catalog(), contacts(session)
    out = []
    for key in unit_names_or_ids:
        unit = cat.units.get(key) or cat.unit_by_name(key)
        if unit is not None:
            out.append(UnitView(unit, known.get(unit.id)))
    return out


def views_by_key(session: Session, keys: set[str] | list[str]) -> dict[str, UnitView]:
    """Printed names or ids -> their unit view; unknown keys are left out."""
    cat, known = catalog(), contacts(session)
    out = {}
    for key in keys:
        unit = cat.units.get(key) or cat.unit_by_name(key)
        if unit is not None:
            out[key] = UnitView(unit, known.get(unit.id))
    return out


def all_unit_views(session: Session) -> list[UnitView]:
    known = contacts(session)
    return [UnitView(u, known.get(u.id)) for u in catalog().units.values()]


def validate_contact(data: dict[str, str]) -> dict[str, str]:
    clean, errors = {}, {}
    for name in CONTACT_FIELDS:
        value = (data.get(name) or "").strip()
        if len(value) > CONTACT_LIMITS[name]:
            errors[name] = _("%(field)s不能超过 %(limit)s 个字符。", field=_(CONTACT_LABELS[name]),
                             limit=CONTACT_LIMITS[name])
        clean[name] = value
    if clean["phone"] and not PHONE_RE.match(clean["phone"]):
        errors["phone"] = _("电话只能包含数字、空格、括号、“-”“转”等字符。")
    if clean["email"] and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", clean["email"]):
        errors["email"] = _("电子邮箱格式不正确。")
    if clean["web"] and not re.match(r"^https?://[^\s]+$", clean["web"]):
        errors["web"] = _("网址需以 http:// 或 https:// 开头。")
    if errors:
        raise ContactError(errors)
    return clean


def update_contact(session: Session, unit_id: str, data: dict[str, str], actor_id: int) -> UnitContact:
    if unit_id not in catalog().units:
        raise KeyError(unit_id)
    clean = validate_contact(data)
    contact = session.get(UnitContact, unit_id)
    before = {f: getattr(contact, f) for f in CONTACT_FIELDS} if contact else None
    if contact is None:
        contact = UnitContact(unit_id=unit_id)
    for name, value in clean.items():
        setattr(contact, name, value)
    contact.updated_by, contact.updated_at = actor_id, utcnow()
    session.add(contact)
    audit.record(session, actor_id, "unit.contact", "unit", unit_id, before=before, after=clean)
    session.commit()
    return contact
