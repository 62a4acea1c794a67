"""Questionnaire answers: autosaved per field, versioned, merged across devices.

Each field carries its own version. A device sends the version it last saw; if the server moved
on in the meantime *and* holds a different value, the save is refused as a conflict and both
values are shown, so nobody's answer is silently overwritten. Saves to different fields never
conflict. The write happens inside one transaction that also bumps the enterprise's revision
and the profile snapshot, so readers always see a consistent profile.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlmodel import Session, select

from portal.models import Answer, AnswerHistory, Enterprise, utcnow
from portal.profile.validate import AnswerError, clean_value


@dataclass(frozen=True)
class SaveResult:
    field: str
    value: Any
    version: int
    revision: int
    conflict: bool = False
    theirs: Any = None  # the server's value when conflict is True


def answers_of(session: Session, enterprise_id: int) -> dict[str, Answer]:
    rows = session.exec(select(Answer).where(Answer.enterprise_id == enterprise_id))
    return {a.field: a for a in rows}


def profile_of(session: Session, enterprise_id: int) -> dict[str, Any]:
    enterprise = session.get(Enterprise, enterprise_id)
    return json.loads(enterprise.profile_json) if enterprise else {}


def versions_of(session: Session, enterprise_id: int) -> dict[str, int]:
    return {name: a.version for name, a in answers_of(session, enterprise_id).items()}


def save_answer(session: Session, enterprise_id: int, user_id: int | None, name: str, raw: Any,
                base_version: int | None, today: dt.date | None = None) -> SaveResult:
    """Validate and store one answer. Raises AnswerError for invalid input (nothing stored)."""
    value = clean_value(name, raw, today)
    # Lock the enterprise row (PostgreSQL; SQLite already holds its write lock) so two devices
    # saving different fields at once both land in the snapshot and the revision counter.
    # FOR NO KEY UPDATE: rows referencing the enterprise (submissions) can still be inserted.
    enterprise = session.exec(select(Enterprise).where(Enterprise.id == enterprise_id).with_for_update(key_share=True)
                              .execution_options(populate_existing=True)).first()
    if enterprise is None:
        raise AnswerError(_("企业不存在。"))
    row = session.exec(select(Answer).where(Answer.enterprise_id == enterprise_id, Answer.field == name)).first()
    current = json.loads(row.value_json) if row else None
    current_version = row.version if row else 0
    if value == current:
        return SaveResult(name, value, current_version, enterprise.answers_revision)
    if base_version is not None and base_version != current_version:
        # Someone else saved this field after this device loaded it, with a different value.
        return SaveResult(name, value, current_version, enterprise.answers_revision, conflict=True, theirs=current)
    enterprise.answers_revision += 1
    if row is None:
        row = Answer(enterprise_id=enterprise_id, field=name, value_json="null", version=0)
    row.value_json = json.dumps(value, ensure_ascii=False)
    row.version += 1
    row.revision = enterprise.answers_revision
    row.updated_by, row.updated_at = user_id, utcnow()
    profile = json.loads(enterprise.profile_json or "{}")
    if value is None:
        profile.pop(name, None)
    else:
        profile[name] = value
    enterprise.profile_json = json.dumps(profile, ensure_ascii=False, sort_keys=True)
    if name == "enterprise_name" and value:
        enterprise.name = value
    session.add(row)
    session.add(enterprise)
    session.add(AnswerHistory(enterprise_id=enterprise_id, field=name, value_json=row.value_json,
                              version=row.version, changed_by=user_id))
    session.commit()
    return SaveResult(name, value, row.version, enterprise.answers_revision)


def save_many(session: Session, enterprise_id: int, user_id: int | None, values: dict[str, Any],
              base_versions: dict[str, int | None], today: dt.date | None = None
              ) -> tuple[list[SaveResult], dict[str, str]]:
    """Save a whole step: valid fields are stored, invalid ones reported (never half-written)."""
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    for name, raw in values.items():
        try:
            clean_value(name, raw, today)
            cleaned[name] = raw
        except AnswerError as exc:
            errors[name] = str(exc)
    results = [save_answer(session, enterprise_id, user_id, name, raw, base_versions.get(name), today)
               for name, raw in cleaned.items()]
    return results, errors
