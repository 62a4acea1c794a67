"""The local SQLite mirror of what the server's change feed shows this user (Datasette-friendly).

Datetimes stay ISO-8601 text here; only the XLSX export turns them into real date cells. JSON values
(answers, lists) are JSON text. Each feed batch and the cursor after it are written in ONE
transaction, so a pull killed at any point restarts from the last batch that fully landed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlite_utils

# table -> (columns, primary key). Unknown payload fields are added as columns when they first appear.
SCHEMA: dict[str, tuple[dict[str, type], str]] = {
    "answers": ({"key": str, "enterprise_id": int, "field": str, "value": str, "version": int, "updated_at": str},
                "key"),
    "submissions": ({"id": int, "enterprise_id": int, "measure_id": str, "title": str, "status": str,
                     "routed_unit_id": str, "version": int, "created_at": str, "updated_at": str,
                     "materials_complete_at": str, "reference": str, "decided_at": str, "answers": str,
                     "document_short_code": str, "document_sha256": str, "pdf_path": str, "pdf_sha256": str}, "id"),
    "events": ({"id": int, "submission_id": int, "at": str, "actor_id": int, "from_status": str, "to_status": str,
                "comment": str, "visibility": str}, "id"),
    "attachments": ({"id": int, "submission_id": int, "original_name": str, "content_type": str, "size": int,
                     "sha256": str, "uploaded_at": str, "local_path": str, "verified": int}, "id"),
    "notifications": ({"id": int, "message": str, "link": str, "created_at": str, "read_at": str}, "id"),
    "results": ({"measure_id": str, "title": str, "status": str, "status_label": str, "kind": str,
                 "kind_label": str, "max_cash_wan": float, "valid_until": str, "days_left": int, "reason": str,
                 "document": str, "clause": str, "lead_units": str, "computed_at": str}, "measure_id"),
    "outbox": ({"id": int, "submission_id": int, "action": str, "comment": str, "visibility": str, "to_unit": str,
                "base_version": int, "after_id": int, "idempotency_key": str, "state": str, "queued_at": str,
                "if_match": int, "attempts": int, "last_attempt_at": str, "http_status": int, "server_status": str,
                "server_version": int, "result_version": int, "message": str}, "id"),
    "sync_state": ({"key": str, "value": str}, "key"),
}
# What the feed fills; a resync empties these (the outbox is the user's own work and stays).
FEED_TABLES = ("answers", "submissions", "events", "attachments", "notifications", "results")
ENTITY_TABLE = {"answer": "answers", "submission": "submissions", "event": "events", "attachment": "attachments",
                "notification": "notifications"}
_UNSAFE = re.compile(r"[^\w.\-() ]+")


def safe_name(name: str) -> str:
    """A file name that cannot leave its directory or hide itself."""
    base = _UNSAFE.sub("_", Path(name.replace("\\", "/")).name).strip(" .")
    return base[-120:] or "file"


def _cell(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value


def row_of(entity: str, key: str, data: dict[str, Any]) -> dict[str, Any]:
    """A feed payload as a mirror row."""
    if entity == "answer":
        return {"key": key, "enterprise_id": data.get("enterprise_id"), "field": data.get("field"),
                "value": json.dumps(data.get("value"), ensure_ascii=False), "version": data.get("version"),
                "updated_at": data.get("updated_at")}
    row = {k: _cell(v) for k, v in data.items() if k not in ("document", "answers")}
    if entity == "submission":
        document = data.get("document") or {}
        row["answers"] = json.dumps(data.get("answers") or {}, ensure_ascii=False)
        row["document_short_code"] = document.get("short_code")
        row["document_sha256"] = document.get("sha256")
    return row


@dataclass
class Applied:
    upserts: int = 0
    deletes: int = 0
    stale_files: list[Path] = field(default_factory=list)  # removed after the commit, never before


class Mirror:
    """One mirror file; its downloaded files live next to it in `<name>.files/`."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite_utils.Database(self.path)
        # WAL: Datasette or a spreadsheet tool can read the mirror while a pull writes it.
        self.db.enable_wal()
        self.files_dir = self.path.with_name(self.path.stem + ".files")
        self._ensure_schema()

    def close(self) -> None:
        self.db.close()

    def _ensure_schema(self) -> None:
        with self.db.atomic():
            for name, (columns, pk) in SCHEMA.items():
                self.db[name].create(columns, pk=pk, if_not_exists=True)  # type: ignore[union-attr]
            self.db["events"].create_index(["submission_id"], if_not_exists=True)  # type: ignore[union-attr]
            self.db["attachments"].create_index(["submission_id"], if_not_exists=True)  # type: ignore[union-attr]
            self.db["outbox"].create_index(["state"], if_not_exists=True)  # type: ignore[union-attr]

    # -- small key/value state -------------------------------------------------------------
    def state(self, key: str, default: Any = None) -> Any:
        row = self.db.execute("SELECT value FROM sync_state WHERE key = ?", [key]).fetchone()
        return json.loads(row[0]) if row else default

    def set_state(self, key: str, value: Any) -> None:
        with self.db.atomic():  # a savepoint inside a batch's transaction, its own transaction otherwise
            self.db.execute("INSERT INTO sync_state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
                            "value = excluded.value", [key, json.dumps(value, ensure_ascii=False)])

    @property
    def cursor(self) -> int:
        return int(self.state("cursor", 0))

    # -- the feed ------------------------------------------------------------------------------
    def apply(self, changes: list[dict[str, Any]], next_cursor: int) -> Applied:
        """Fold one batch in and move the cursor, all in one transaction."""
        applied = Applied()
        # Last write wins per row; keeping each row's LAST position keeps a submission's cascade delete
        # after the event rows that came before it and before the ones that came after it.
        folded: dict[tuple[str, str], dict[str, Any]] = {}
        for change in changes:
            if change.get("entity") not in ENTITY_TABLE:
                continue  # a kind this client does not know yet: skip rather than fail the pull
            ident = (change["entity"], str(change["key"]))
            folded.pop(ident, None)
            folded[ident] = change
        with self.db.atomic():
            for run in _runs(folded.values()):
                entity, op = run[0]["entity"], run[0]["op"]
                if op == "delete":
                    self._delete(entity, [str(c["key"]) for c in run], applied)
                else:
                    self._upsert(entity, run, applied)
            self.set_state("cursor", int(next_cursor))
        return applied

    def _upsert(self, entity: str, run: list[dict[str, Any]], applied: Applied) -> None:
        table = ENTITY_TABLE[entity]
        rows = [row_of(entity, str(c["key"]), c.get("data") or {}) for c in run]
        if entity == "attachment":
            # A file the server replaced must be fetched again: forget the local copy's verdict.
            known = self._column(table, "sha256", [r["id"] for r in rows])
            for row in rows:
                if row["id"] in known and known[row["id"]] != row.get("sha256"):
                    row.update(local_path=None, verified=0)
        self.db[table].upsert_all(rows, pk=SCHEMA[table][1], alter=True)  # type: ignore[union-attr]
        applied.upserts += len(rows)

    def _delete(self, entity: str, keys: list[str], applied: Applied) -> None:
        table = ENTITY_TABLE[entity]
        pk = SCHEMA[table][1]
        ids: list[Any] = keys if pk == "key" else [int(k) for k in keys]
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            if entity == "submission":
                applied.stale_files += self._paths("submissions", "pdf_path", f"id IN ({marks})", chunk)
                applied.stale_files += self._paths("attachments", "local_path", f"submission_id IN ({marks})", chunk)
                self.db.execute(f"DELETE FROM events WHERE submission_id IN ({marks})", chunk)  # noqa: S608
                self.db.execute(f"DELETE FROM attachments WHERE submission_id IN ({marks})", chunk)  # noqa: S608
            elif entity == "attachment":
                applied.stale_files += self._paths("attachments", "local_path", f"id IN ({marks})", chunk)
            cur = self.db.execute(f"DELETE FROM {table} WHERE {pk} IN ({marks})", chunk)  # noqa: S608
            applied.deletes += max(cur.rowcount, 0)

    def _paths(self, table: str, column: str, where: str, args: list[Any]) -> list[Path]:
        sql = f"SELECT {column} FROM {table} WHERE {where} AND {column} IS NOT NULL"  # noqa: S608
        return [self.files_dir / r[0] for r in self.db.execute(sql, args).fetchall()]

    def _column(self, table: str, column: str, ids: list[Any]) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            sql = f"SELECT id, {column} FROM {table} WHERE id IN ({','.join('?' * len(chunk))})"  # noqa: S608
            out.update(dict(self.db.execute(sql, chunk).fetchall()))
        return out

    def wipe(self) -> None:
        """Empty what the feed filled and start over at cursor 0 (files stay; matching ones are reused)."""
        with self.db.atomic():
            for table in FEED_TABLES:
                self.db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
            self.set_state("cursor", 0)

    # -- reading -------------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        return {name: self.db[name].count for name in SCHEMA if name != "sync_state"}

    def rows(self, table: str) -> list[dict[str, Any]]:
        return list(self.db[table].rows)

    def submission(self, submission_id: int) -> dict[str, Any] | None:
        rows = list(self.db["submissions"].rows_where("id = ?", [submission_id]))
        return rows[0] if rows else None

    def profile(self, enterprise_id: int) -> dict[str, Any]:
        """The enterprise's answers as the profile /api/v1/match takes."""
        sql = "SELECT field, value FROM answers WHERE enterprise_id = ? ORDER BY field"
        profile = {field_: json.loads(value) for field_, value in self.db.execute(sql, [enterprise_id]).fetchall()}
        return {k: v for k, v in profile.items() if v is not None}


def _runs(changes: Iterable[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Consecutive changes of the same entity and op, so each run is one bulk statement."""
    runs: list[list[dict[str, Any]]] = []
    for change in changes:
        if runs and (runs[-1][0]["entity"], runs[-1][0]["op"]) == (change["entity"], change["op"]):
            runs[-1].append(change)
        else:
            runs.append([change])
    return runs
