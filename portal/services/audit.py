"""Audit trail: who did what, when, with before/after."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, col, select

from portal.models import AuditLog


def record(session: Session, actor_id: int | None, action: str, object_type: str, object_id: Any,
           before: Any = None, after: Any = None) -> None:
    """Add an audit row to the session (committed with the change it describes)."""
    session.add(AuditLog(actor_id=actor_id, action=action, object_type=object_type, object_id=str(object_id),
                         before_json=json.dumps(before, ensure_ascii=False, default=str) if before is not None else "",
                         after_json=json.dumps(after, ensure_ascii=False, default=str) if after is not None else ""))


def recent(session: Session, limit: int = 200, object_type: str | None = None) -> list[AuditLog]:
    query = select(AuditLog).order_by(col(AuditLog.id).desc()).limit(limit)
    if object_type:
        query = query.where(AuditLog.object_type == object_type)
    return list(session.exec(query))
