"""Reviewer decisions prepared offline: `queue-action` writes the outbox, `push` delivers it.

Each outbox row keeps its idempotency key and the If-Match it was first sent with, so a re-run after a
lost response resends the very same request and the server replays its stored answer instead of
acting twice. A refused action (412 someone acted first, 409 the workflow says no) is never retried.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from portal.statuses import Visibility
from portal.sync.client import SyncClient
from portal.sync.mirror import Mirror, row_of
from portal.sync.pull import now_iso

ACTIONS = ("start_review", "materials_complete", "return", "approve", "reject", "comment", "forward")
VISIBILITIES = tuple(v.value for v in Visibility)
NEEDS_COMMENT = ("return", "reject", "comment")  # as the server's REVIEW_ACTIONS say
PENDING, SENT, CONFLICT, FAILED = "pending", "sent", "conflict", "failed"


class QueueError(ValueError):
    """The action cannot be queued (message shown as is)."""


def queue_action(mirror: Mirror, submission_id: int, action: str, comment: str,
                 visibility: str = Visibility.ENTERPRISE, to_unit: str | None = None) -> dict[str, Any]:
    """Add one decision to the outbox, against the submission version the mirror holds now."""
    if action not in ACTIONS:
        raise QueueError(f"未知操作 {action!r}；可用：{', '.join(ACTIONS)}")
    if visibility not in VISIBILITIES:
        raise QueueError(f"visibility 应为 {' / '.join(VISIBILITIES)}")
    # The server refuses these too; saying so now beats a refusal discovered at push time.
    if action in NEEDS_COMMENT and not (comment or "").strip():
        raise QueueError("请填写意见（--comment）：需补正、不予通过和仅添加意见都需要意见。")
    if action in ("return", "reject") and visibility != Visibility.ENTERPRISE:
        raise QueueError("需补正或不予通过时，意见须对企业可见（--visibility enterprise）。")
    if action == "forward" and not to_unit:
        raise QueueError("转交（forward）需要 --to-unit")
    sub = mirror.submission(submission_id)
    if sub is None:
        raise QueueError(f"本地镜像中没有申请 {submission_id}；请先 portal sync pull。")
    with mirror.db.atomic():
        # A decision queued after another unsent one on the same application builds on it: it is sent
        # against the version our own earlier action produced, never against a guess.
        earlier = mirror.db.execute("SELECT max(id) FROM outbox WHERE submission_id = ? AND state = ?",
                                    [submission_id, PENDING]).fetchone()[0]
        row = {"submission_id": submission_id, "action": action, "comment": comment or "", "visibility": visibility,
               "to_unit": to_unit, "base_version": int(sub["version"] or 1), "after_id": earlier,
               "idempotency_key": uuid.uuid4().hex, "state": PENDING, "queued_at": now_iso(), "attempts": 0}
        table = mirror.db["outbox"]
        table.insert(row)  # type: ignore[union-attr]
        row["id"] = table.last_pk  # type: ignore[union-attr]
    return row


@dataclass
class PushResult:
    sent: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    kept: list[dict[str, Any]] = field(default_factory=list)  # still pending: network, server or token trouble
    stopped: str | None = None  # why the run stopped early


def _body_of(row: dict[str, Any]) -> dict[str, Any]:
    body = {"action": row["action"], "comment": row["comment"] or "", "visibility": row["visibility"]}
    if row.get("to_unit"):
        body["to_unit"] = row["to_unit"]
    return body


def _update(mirror: Mirror, row_id: int, **values: Any) -> None:
    with mirror.db.atomic():
        mirror.db["outbox"].update(row_id, values)  # type: ignore[union-attr]


def _error(body: Any) -> str:
    if isinstance(body, dict):
        return str(body.get("error") or body.get("message") or body)[:500]
    return str(body)[:500]


def push(client: SyncClient, mirror: Mirror, *, report: Callable[[str], None] | None = None) -> PushResult:
    """Send every pending outbox row in the order it was queued."""
    result = PushResult()
    rows = list(mirror.db["outbox"].rows_where("state = ?", [PENDING], order_by="id"))
    for index, row in enumerate(rows):
        row = mirror.db["outbox"].get(row["id"])  # type: ignore[union-attr]  # an earlier row may have changed it
        version = row["if_match"]
        if version is None:
            version, blocker = _version_for(mirror, row)
            if blocker == PENDING:
                result.kept.append(row)
                continue
            if blocker is not None:
                _update(mirror, row["id"], state=CONFLICT, message=blocker, last_attempt_at=now_iso())
                result.conflicts.append(mirror.db["outbox"].get(row["id"]))  # type: ignore[union-attr]
                continue
            # Fixed before the first send: a resend must be byte-for-byte the same request.
            _update(mirror, row["id"], if_match=version)
        _update(mirror, row["id"], attempts=(row["attempts"] or 0) + 1, last_attempt_at=now_iso())
        try:
            answer = client.act(row["submission_id"], _body_of(row), version=int(version),
                                idempotency_key=row["idempotency_key"])
        except httpx.TransportError as exc:
            result.stopped = f"网络错误（{type(exc).__name__}）：未确认的操作保留在待发队列，下次 push 原样重发"
            result.kept.extend(rows[index:])
            break
        outcome = _settle(mirror, row, answer.status, answer.body)
        if outcome == SENT:
            result.sent.append(mirror.db["outbox"].get(row["id"]))  # type: ignore[union-attr]
        elif outcome == CONFLICT:
            result.conflicts.append(mirror.db["outbox"].get(row["id"]))  # type: ignore[union-attr]
        elif outcome == FAILED:
            result.failed.append(mirror.db["outbox"].get(row["id"]))  # type: ignore[union-attr]
        else:
            result.stopped = f"HTTP {answer.status}：{_error(answer.body)}（操作保留在待发队列）"
            result.kept.extend(rows[index:])
            break
        if report is not None:
            report(f"{row['id']}: {outcome}")
    return result


def _version_for(mirror: Mirror, row: dict[str, Any]) -> tuple[int, str | None]:
    """The If-Match to send, or why not to send: PENDING (wait for the earlier row) or a conflict message."""
    if row["after_id"] is None:
        return int(row["base_version"]), None
    earlier = mirror.db["outbox"].get(row["after_id"])  # type: ignore[union-attr]
    if earlier["state"] == SENT and earlier["result_version"] is not None:
        return int(earlier["result_version"]), None
    if earlier["state"] == PENDING:
        return 0, PENDING
    return 0, f"同一申请的前一项待发操作（#{earlier['id']} {earlier['action']}）未执行，本项也未发送。"


def _settle(mirror: Mirror, row: dict[str, Any], status: int, body: Any) -> str:
    """Record the server's answer; returns the row's new state (PENDING: keep it and stop)."""
    if status == 200 and isinstance(body, dict) and "id" in body:
        with mirror.db.atomic():
            mirror.db["outbox"].update(row["id"], {  # type: ignore[union-attr]
                "state": SENT, "http_status": 200, "server_status": body.get("status"),
                "server_version": body.get("version"), "result_version": body.get("version"), "message": None})
            current = mirror.submission(int(body["id"]))
            # The feed may already hold a newer state than this (replayed) response: never step back.
            if current is None or int(current.get("version") or 0) <= int(body.get("version") or 0):
                mirror.db["submissions"].upsert(row_of("submission", str(body["id"]), body),  # type: ignore[union-attr]
                                                pk="id", alter=True)
        return SENT
    if status in (409, 412):
        current = body.get("current") if isinstance(body, dict) else None
        values: dict[str, Any] = {"state": CONFLICT, "http_status": status, "message": _error(body)}
        if isinstance(current, dict):
            values.update(server_status=current.get("status"), server_version=current.get("version"))
        else:
            mirrored = mirror.submission(int(row["submission_id"])) or {}
            values.update(server_status=mirrored.get("status"), server_version=mirrored.get("version"))
        _update(mirror, row["id"], **values)
        return CONFLICT
    if status in (401, 403) or status == 429 or status >= 500:
        # The token, a rate limit or the server: nothing is wrong with the decision itself.
        _update(mirror, row["id"], http_status=status, message=_error(body))
        return PENDING
    _update(mirror, row["id"], state=FAILED, http_status=status, message=_error(body))
    return FAILED
