"""The change feed: one append-only log of what changed, read by every device with `since=<cursor>`.

Rows are not written by the services one by one: a session hook notices every Answer, Submission,
SubmissionEvent, Attachment and Notification the transaction inserted, changed or deleted, and
appends one Change row per object just before the transaction commits, in the same transaction.
No call site can forget it.

Gap-free cursor: a reader that has seen cursor N must never later find a row < N appear. On
PostgreSQL the ids come from a sequence, and a slow transaction could take id 7, let id 8 commit,
and commit 7 after a reader moved past 8. So the hook takes a transaction-scoped advisory lock
before appending: ids are handed out in lock order, and the lock is held until commit, so commit
order equals id order. The hook runs after everything else the transaction does, so the lock is
held only for the time of the final inserts and the commit. SQLite has one writer at a time already.

Retention: `prune()` compacts the log (an entity's superseded rows older than the retention go;
its latest row stays, so `since=0` still rebuilds everything) and drops tombstones older than the
retention. A cursor below the newest dropped tombstone could miss a deletion: it gets 410.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, event, func, inspect, or_, text
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from portal.models import (
    Answer,
    Attachment,
    Change,
    FeedState,
    IssuedDocument,
    Notification,
    Submission,
    SubmissionEvent,
    utcnow,
)
from portal.statuses import Visibility

RETENTION_DAYS = 90
MAX_LIMIT = 1000
DEFAULT_LIMIT = 200
# Any constant works; it only has to be the same for every writer of the feed.
FEED_LOCK_KEY = 0x6A6C_6664  # "jlfd"
_PENDING = "portal_pending_changes"
PRUNED_THROUGH = "pruned_through"

# audience values: who may read a row
BOTH, ENTERPRISE, UNIT, USER = "both", "enterprise", "unit", "user"  # both: the enterprise and its unit


class CursorExpired(Exception):
    """The cursor is older than the retention: rows it would need (tombstones) are gone."""


@dataclass(frozen=True)
class Viewer:
    user_id: int
    role: str
    enterprise_id: int | None = None
    unit_id: str | None = None


def viewer_of(user: Any) -> Viewer:
    """The feed reader a signed-in user is."""
    return Viewer(user.id, user.role, user.enterprise_id, user.service_unit_id)


@dataclass(frozen=True)
class Page:
    changes: list[dict[str, Any]]
    next_cursor: int
    has_more: bool


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):  # raw SQL on SQLite (migration backfill) gives text
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.isoformat()


def _loads(text_value: str | None, default: Any) -> Any:
    try:
        return json.loads(text_value) if text_value else default
    except ValueError:
        return default


# -- payloads: plain functions of a row's columns (also used by migration 0003's backfill) ------
def answer_payload(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"enterprise_id": row["enterprise_id"], "field": row["field"], "value": _loads(row["value_json"], None),
            "version": row["version"], "updated_at": _iso(row["updated_at"])}


def submission_payload(row: Mapping[str, Any], document: Mapping[str, Any] | None) -> dict[str, Any]:
    snapshot = _loads(row["measure_snapshot_json"], {})
    return {
        "id": row["id"], "enterprise_id": row["enterprise_id"], "measure_id": row["measure_id"],
        "title": str(snapshot.get("title") or row["measure_id"]), "status": row["status"],
        "routed_unit_id": row["routed_unit_id"], "version": row.get("version") or 1,
        "created_at": _iso(row["created_at"]), "updated_at": _iso(row["updated_at"]),
        "materials_complete_at": _iso(row.get("materials_complete_at")),
        "reference": row.get("reference"), "decided_at": _iso(row.get("decided_at")),
        "answers": _loads(row["answers_json"], {}),
        "document": ({"short_code": document["short_code"], "sha256": document["sha256"]} if document else None),
    }


def event_payload(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "submission_id": row["submission_id"], "at": _iso(row["at"]),
            "actor_id": row["actor_id"], "from_status": row["from_status"], "to_status": row["to_status"],
            "comment": row["comment"], "visibility": row["visibility"]}


def attachment_payload(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "submission_id": row["submission_id"], "original_name": row["original_name"],
            "content_type": row["content_type"], "size": row["size"], "sha256": row["sha256"],
            "uploaded_at": _iso(row["uploaded_at"])}


def notification_payload(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "message": row["message"], "link": row["link"], "created_at": _iso(row["created_at"]),
            "read_at": _iso(row["read_at"])}


ENTITIES = ("answer", "submission", "event", "attachment", "notification")


def columns_of(obj: Any) -> dict[str, Any]:
    """A mapped object's columns as a plain dict (what the payload functions take)."""
    return _columns(obj)


def _columns(obj: Any) -> dict[str, Any]:
    return {attr.key: getattr(obj, attr.key) for attr in inspect(obj).mapper.column_attrs}


# -- capture --------------------------------------------------------------------------------
_TRACKED: dict[type, str] = {Answer: "answer", Submission: "submission", SubmissionEvent: "event",
                             Attachment: "attachment", Notification: "notification"}


def _pending(session: Session) -> dict[tuple[str, Any], tuple[str, Any]]:
    return session.info.setdefault(_PENDING, {})


def _after_flush(session: Session, _context: Any) -> None:
    pending = None
    for obj in list(session.new) + list(session.dirty):
        kind = _TRACKED.get(type(obj))
        if kind is None or (obj not in session.new and not session.is_modified(obj, include_collections=False)):
            continue
        pending = _pending(session) if pending is None else pending
        pending.pop((kind, obj.id), None)  # re-insert: rows keep the order of their last change
        pending[(kind, obj.id)] = ("upsert", obj)
        if kind == "submission":
            moved_from = inspect(obj).attrs.routed_unit_id.history.deleted
            if moved_from and moved_from[0] and moved_from[0] != obj.routed_unit_id:
                # Forwarded: the old unit's queue loses it, the new unit's gains its whole history.
                pending[("unit-left", obj.id)] = ("delete", {"id": obj.id, "enterprise_id": obj.enterprise_id,
                                                            "unit_id": moved_from[0]})
                pending[("unit-joined", obj.id)] = ("history", obj)
    for obj in session.deleted:
        kind = _TRACKED.get(type(obj))
        if kind is None:
            continue
        pending = _pending(session) if pending is None else pending
        pending.pop((kind, obj.id), None)
        pending[(kind, obj.id)] = ("delete", _columns(obj))


def _before_commit(session: Session) -> None:
    session.flush()  # so the last changes of the transaction are captured too
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    unique: dict[tuple[Any, ...], Change] = {}
    for (kind, _), (op, obj) in pending.items():
        for row in _rows_for(session, kind, op, obj):
            # A forwarded application's history is re-published; one row per entity and reader suffices.
            unique[(row.entity, row.entity_key, row.audience, row.unit_id, row.user_id)] = row
    rows = list(unique.values())
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": FEED_LOCK_KEY})
    now = utcnow()
    for row in rows:
        row.at = now
    session.add_all(rows)


def _discard_pending(session: Session, previous: Any = None) -> None:
    if previous is not None and getattr(previous, "nested", False):
        return  # a savepoint rolled back; what the outer transaction did still commits
    session.info.pop(_PENDING, None)


def _submission_of(session: Session, submission_id: int) -> Submission | None:
    return session.get(Submission, submission_id)


def _document_of(session: Session, sub: Submission) -> dict[str, Any] | None:
    doc = session.get(IssuedDocument, sub.document_id) if sub.document_id is not None else None
    return {"short_code": doc.short_code, "sha256": doc.sha256} if doc else None


def _change(entity: str, key: str, op: str, audience: str, payload: dict[str, Any], *,
            enterprise_id: int | None = None, unit_id: str | None = None, user_id: int | None = None) -> Change:
    return Change(entity=entity, entity_key=key, op=op, audience=audience, enterprise_id=enterprise_id,
                  unit_id=unit_id, user_id=user_id,
                  payload_json=json.dumps(payload, ensure_ascii=False, separators=(",", ":")))


def _rows_for(session: Session, kind: str, op: str, obj: Any) -> list[Change]:
    if kind == "unit-left":
        return [_change("submission", str(obj["id"]), "delete", UNIT, {"id": obj["id"]},
                        enterprise_id=obj["enterprise_id"], unit_id=obj["unit_id"])]
    if kind == "unit-joined":
        return _history_for_unit(session, obj)
    columns = obj if isinstance(obj, dict) else _columns(obj)
    if kind == "answer":
        key = f"{columns['enterprise_id']}:{columns['field']}"
        gone = op == "delete" or _loads(columns["value_json"], None) is None
        payload = {"enterprise_id": columns["enterprise_id"], "field": columns["field"]} if gone \
            else answer_payload(columns)
        return [_change("answer", key, "delete" if gone else "upsert", ENTERPRISE, payload,
                        enterprise_id=columns["enterprise_id"])]
    if kind == "notification":
        payload = {"id": columns["id"]} if op == "delete" else notification_payload(columns)
        return [_change("notification", str(columns["id"]), op, USER, payload, user_id=columns["user_id"])]
    if kind == "submission":
        payload = {"id": columns["id"]} if op == "delete" else submission_payload(columns, _document_of(session, obj))
        return [_change("submission", str(columns["id"]), op, BOTH, payload,
                        enterprise_id=columns["enterprise_id"], unit_id=columns["routed_unit_id"])]
    sub = _submission_of(session, columns["submission_id"])
    if sub is None:
        return []
    if kind == "event":
        audience = BOTH if columns["visibility"] == Visibility.ENTERPRISE else UNIT
        payload = {"id": columns["id"], "submission_id": columns["submission_id"]} if op == "delete" \
            else event_payload(columns)
        return [_change("event", str(columns["id"]), op, audience, payload,
                        enterprise_id=sub.enterprise_id, unit_id=sub.routed_unit_id)]
    payload = {"id": columns["id"], "submission_id": columns["submission_id"]} if op == "delete" \
        else attachment_payload(columns)
    return [_change("attachment", str(columns["id"]), op, BOTH, payload,
                    enterprise_id=sub.enterprise_id, unit_id=sub.routed_unit_id)]


def _history_for_unit(session: Session, sub: Submission) -> list[Change]:
    """A forwarded application's events and attachments, re-published to the unit that now holds it."""
    rows: list[Change] = []
    for ev in session.exec(select(SubmissionEvent).where(SubmissionEvent.submission_id == sub.id)):
        rows.append(_change("event", str(ev.id), "upsert", BOTH if ev.visibility == Visibility.ENTERPRISE else UNIT,
                            event_payload(_columns(ev)), enterprise_id=sub.enterprise_id,
                            unit_id=sub.routed_unit_id))
    for att in session.exec(select(Attachment).where(Attachment.submission_id == sub.id)):
        rows.append(_change("attachment", str(att.id), "upsert", BOTH, attachment_payload(_columns(att)),
                            enterprise_id=sub.enterprise_id, unit_id=sub.routed_unit_id))
    return rows


def install() -> None:
    """Hook the feed into every Session (idempotent)."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "before_commit", _before_commit)
        event.listen(Session, "after_soft_rollback", _discard_pending)


# -- reading --------------------------------------------------------------------------------
def visible_to(viewer: Viewer) -> Any:
    """SQL condition: the rows this viewer may read."""
    own = and_(col(Change.audience) == USER, col(Change.user_id) == viewer.user_id)
    if viewer.role == "enterprise":
        return or_(and_(col(Change.audience).in_((BOTH, ENTERPRISE)),
                        col(Change.enterprise_id) == viewer.enterprise_id), own)
    if viewer.role == "reviewer":
        return or_(and_(col(Change.audience).in_((BOTH, UNIT)), col(Change.unit_id) == viewer.unit_id), own)
    if viewer.role == "admin":
        return or_(col(Change.audience).in_((BOTH, UNIT)), own)
    return own


def pruned_through(session: Session) -> int:
    state = session.get(FeedState, PRUNED_THROUGH)
    return state.value if state else 0


def head(session: Session) -> int:
    """The highest committed cursor: everything at or below it is final."""
    return int(session.exec(select(func.coalesce(func.max(Change.id), 0))).one())


def read(session: Session, viewer: Viewer, since: int, limit: int = DEFAULT_LIMIT,
         entities: tuple[str, ...] = ()) -> Page:
    """Changes after `since` that the viewer may see, oldest first."""
    if 0 < since < pruned_through(session):
        raise CursorExpired
    # Read the head first: a row committed after this point has a higher id and is left for next time.
    top = head(session)
    query = select(Change).where(col(Change.id) > since, col(Change.id) <= top, visible_to(viewer))
    if entities:
        query = query.where(col(Change.entity).in_(entities))
    rows = list(session.exec(query.order_by(col(Change.id)).limit(limit + 1)))
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = rows[-1].id if has_more else max(top, since)
    return Page([as_json(r) for r in rows], int(next_cursor or 0), has_more)


def as_json(row: Change) -> dict[str, Any]:
    return {"cursor": row.id, "at": _iso(row.at), "entity": row.entity, "key": row.entity_key, "op": row.op,
            "data": _loads(row.payload_json, {})}


def latest_for(session: Session, viewer: Viewer, entities: tuple[str, ...]) -> int:
    """Cursor of the newest row of these kinds the viewer may see (0 if none)."""
    query = select(func.coalesce(func.max(Change.id), 0)).where(visible_to(viewer), col(Change.entity).in_(entities))
    return int(session.exec(query).one())


# -- retention ------------------------------------------------------------------------------
def prune(session: Session, now: dt.datetime | None = None, days: int = RETENTION_DAYS) -> int:
    """Compact the log and drop old tombstones; returns how many rows went."""
    cutoff = (now or utcnow()) - dt.timedelta(days=days)
    later = aliased(Change)
    superseded = select(later.id).where(
        later.entity == Change.entity, later.entity_key == Change.entity_key, later.audience == Change.audience,
        func.coalesce(later.unit_id, "") == func.coalesce(Change.unit_id, ""),
        func.coalesce(later.user_id, 0) == func.coalesce(Change.user_id, 0),
        later.id > Change.id).exists()
    old = col(Change.at) < cutoff
    tombstones = select(func.max(Change.id)).where(old, col(Change.op) == "delete")
    newest_tombstone = session.exec(tombstones).one() or 0
    doomed = [row_id for row_id in session.exec(select(Change.id).where(old, or_(col(Change.op) == "delete",
                                                                                   superseded)))]
    for start in range(0, len(doomed), 500):
        chunk = doomed[start:start + 500]
        session.execute(Change.__table__.delete().where(col(Change.id).in_(chunk)))  # type: ignore[attr-defined]
    if newest_tombstone:
        state = session.get(FeedState, PRUNED_THROUGH) or FeedState(name=PRUNED_THROUGH, value=0)
        state.value = max(state.value, int(newest_tombstone))
        session.add(state)
    session.commit()
    return len(doomed)
