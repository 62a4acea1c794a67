"""`portal sync pull`: fold the change feed into the mirror, fetch frozen PDFs and attachments, refresh results."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from portal.sync.client import ApiError, CursorTooOld, SyncClient
from portal.sync.mirror import SCHEMA, Mirror, safe_name

DEFAULT_BATCH = 500
# The identity a mirror was filled for: if any of these change, what the feed shows changes too.
IDENTITY = ("id", "role", "enterprise_id", "unit_id")


@dataclass
class PullResult:
    """What one pull did; `elapsed` is wall time in seconds (the benchmark reads it)."""

    changes: int = 0
    batches: int = 0
    upserts: int = 0
    deletes: int = 0
    cursor: int = 0
    resynced: bool = False
    files_downloaded: int = 0
    files_present: int = 0
    files_rejected: list[str] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    results: int | None = None  # rows in `results` after an enterprise pull; None when not computed
    results_problem: str | None = None
    elapsed: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


Notify = Callable[[str], None]


def _quiet(_message: str) -> None:
    return None


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def pull(client: SyncClient, mirror: Mirror, *, limit: int = DEFAULT_BATCH, files: bool = True,
         me: dict[str, Any] | None = None, progress: Callable[[PullResult], None] | None = None,
         notify: Notify = _quiet) -> PullResult:
    """Pull everything new; safe to kill at any point and run again."""
    started = time.perf_counter()
    result = PullResult()
    me = me if me is not None else client.me()
    known = mirror.state("user") or {}
    if mirror.cursor and (mirror.state("server") != client.server
                          or any(known.get(k) != me.get(k) for k in IDENTITY)):
        notify("本地镜像属于另一个服务器或账号（或账号的角色、单位已变），清空后重新同步。")
        mirror.wipe()
        result.resynced = True
    with mirror.db.atomic():
        mirror.set_state("server", client.server)
        mirror.set_state("user", {k: me.get(k) for k in ("id", "email", "name", "role", "enterprise_id",
                                                           "unit_id", "scope")})
    _pull_feed(client, mirror, limit, result, progress, notify)
    if files:
        _sync_files(client, mirror, result, notify)
    if me.get("role") == "enterprise" and me.get("enterprise_id") is not None:
        _refresh_results(client, mirror, int(me["enterprise_id"]), result)
    mirror.set_state("last_pull_at", now_iso())
    result.elapsed = time.perf_counter() - started
    return result


def _pull_feed(client: SyncClient, mirror: Mirror, limit: int, result: PullResult,
               progress: Callable[[PullResult], None] | None, notify: Notify) -> None:
    cursor = mirror.cursor
    while True:
        try:
            page = client.changes(cursor, limit)
        except CursorTooOld as exc:
            if result.resynced and cursor == 0:
                raise  # 410 for cursor 0 means the server is broken; looping would not help
            notify(f"本地游标 {cursor} 太旧（服务器已清理更早的删除记录），清空镜像并从 {exc.resync_from} 重新同步。")
            mirror.wipe()
            if exc.resync_from:
                mirror.set_state("cursor", exc.resync_from)
            cursor = mirror.cursor
            result.resynced = True
            continue
        changes = page.get("changes") or []
        next_cursor = int(page.get("next_cursor", cursor))
        applied = mirror.apply(changes, next_cursor)
        for path in applied.stale_files:
            path.unlink(missing_ok=True)
        result.batches += 1
        result.changes += len(changes)
        result.upserts += applied.upserts
        result.deletes += applied.deletes
        result.cursor = next_cursor
        if progress is not None:
            progress(result)
        if not page.get("has_more"):
            return
        if next_cursor <= cursor:
            raise ApiError(200, page, f"服务器返回 has_more 但游标未前进（{cursor} → {next_cursor}），已停止。")
        cursor = next_cursor


# -- files ------------------------------------------------------------------------------------
def _sha256_of(path: Path) -> str | None:
    try:
        with path.open("rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError:
        return None


@dataclass(frozen=True)
class _Wanted:
    label: str
    url: str
    rel: str  # path under the mirror's files dir
    expected: str  # SHA-256 the feed announced ("" if it announced none)


def _wanted(mirror: Mirror) -> list[tuple[str, Any, _Wanted]]:
    """Files the mirror lists but does not hold verified: (table, id, what)."""
    out: list[tuple[str, Any, _Wanted]] = []
    files = mirror.files_dir
    sql = ("SELECT id, document_short_code, document_sha256, pdf_path, pdf_sha256 FROM submissions "
           "WHERE document_short_code IS NOT NULL OR document_sha256 IS NOT NULL ORDER BY id")
    for sid, code, expected, path, have in mirror.db.execute(sql).fetchall():
        if path and have and have == expected and (files / path).is_file():
            continue
        rel = f"applications/{sid}-{safe_name(code or 'application')}.pdf"
        url = f"/api/v1/submissions/{sid}/application.pdf"
        out.append(("submissions", sid, _Wanted(f"申请 {sid} 的申请表 PDF", url, rel, (expected or "").lower())))
    sql = "SELECT id, original_name, sha256, local_path, verified FROM attachments ORDER BY id"
    for aid, name, expected, path, verified in mirror.db.execute(sql).fetchall():
        if verified and path and (files / path).is_file():
            continue
        rel = f"attachments/{aid}-{safe_name(name or 'file')}"
        out.append(("attachments", aid, _Wanted(f"附件 {aid}“{name}”", f"/api/v1/attachments/{aid}", rel,
                                                (expected or "").lower())))
    return out


def _mark(mirror: Mirror, table: str, row_id: Any, rel: str, sha: str) -> Path | None:
    """Record a verified file on its row; returns the row's previous file if it was another one."""
    with mirror.db.atomic():
        if table == "submissions":
            old = mirror.db.execute("SELECT pdf_path FROM submissions WHERE id = ?", [row_id]).fetchone()
            mirror.db.execute("UPDATE submissions SET pdf_path = ?, pdf_sha256 = ? WHERE id = ?", [rel, sha, row_id])
        else:
            old = mirror.db.execute("SELECT local_path FROM attachments WHERE id = ?", [row_id]).fetchone()
            mirror.db.execute("UPDATE attachments SET local_path = ?, verified = 1 WHERE id = ?", [rel, row_id])
    previous = old[0] if old else None
    return mirror.files_dir / previous if previous and previous != rel else None


def _sync_files(client: SyncClient, mirror: Mirror, result: PullResult, notify: Notify) -> None:
    temp_dir = mirror.files_dir / ".partial"
    for table, row_id, want in _wanted(mirror):
        target = mirror.files_dir / want.rel
        # Already on disk and matching (a pull killed after the move, or a resync): keep it without a download.
        on_disk = _sha256_of(target) if target.is_file() else None
        if on_disk and want.expected and on_disk == want.expected:
            stale = _mark(mirror, table, row_id, want.rel, on_disk)
            if stale is not None:
                stale.unlink(missing_ok=True)
            result.files_present += 1
            continue
        try:
            got = client.download(want.url, temp_dir)
        except ApiError as exc:
            result.file_errors.append(f"{want.label}：下载失败（{exc}）")
            continue
        except httpx.TransportError as exc:
            result.file_errors.append(f"{want.label}：网络错误（{type(exc).__name__}），其余文件下次再取")
            return
        expected = want.expected or (got.header_sha256 or "")
        problem = None
        if not expected:
            problem = "服务器未提供 SHA-256，无法校验"
        elif got.sha256 != expected:
            problem = f"SHA-256 不符：应为 {expected}，收到的内容为 {got.sha256}"
        elif got.header_sha256 and got.header_sha256 != expected:
            problem = f"X-Content-SHA256 {got.header_sha256} 与同步记录 {expected} 不一致"
        if problem is not None:
            got.temp_path.unlink(missing_ok=True)
            message = f"{want.label}：{problem}；文件未保存。"
            result.files_rejected.append(message)
            notify(message)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(got.temp_path, target)
        stale = _mark(mirror, table, row_id, want.rel, got.sha256)
        if stale is not None:
            stale.unlink(missing_ok=True)
        result.files_downloaded += 1


# -- results ----------------------------------------------------------------------------------
def result_row(item: dict[str, Any], computed_at: str) -> dict[str, Any]:
    row = {k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v for k, v in item.items()}
    row["computed_at"] = computed_at
    return row


def _refresh_results(client: SyncClient, mirror: Mirror, enterprise_id: int, result: PullResult) -> None:
    """Match the mirrored answers (public /api/v1/match) and keep the results next to them."""
    try:
        status, body = client.match(mirror.profile(enterprise_id))
    except httpx.TransportError as exc:
        result.results_problem = f"匹配结果未更新：网络错误（{type(exc).__name__}）"
        return
    if status != 200 or not isinstance(body, dict):
        problems = body.get("problems") if isinstance(body, dict) else None
        listed = [f"{p.get('field')}: {p.get('message')}" for p in (problems or [])[:5]]
        more = len(problems or []) - len(listed)
        detail = "；".join(listed) + (f"；另有 {more} 项" if more > 0 else "") if listed else str(body)[:200]
        result.results_problem = f"匹配结果已清空（HTTP {status}）：{detail}"
        # Results of answers the server now refuses would look current in the spreadsheet: drop them.
        with mirror.db.atomic():
            mirror.db.execute("DELETE FROM results")
        return
    at = now_iso()
    rows = [result_row(item, at) for item in body.get("results") or []]
    with mirror.db.atomic():
        mirror.db.execute("DELETE FROM results")
        if rows:
            mirror.db["results"].insert_all(rows, pk=SCHEMA["results"][1], alter=True)  # type: ignore[union-attr]
        mirror.set_state("results_date", body.get("date"))
    result.results = len(rows)
