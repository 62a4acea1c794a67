"""HTTP side of `portal sync`: the few /api/v1 calls the client makes, with a Bearer token."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

USER_AGENT = "portal-sync/0.1"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class ApiError(Exception):
    """The server answered with an unexpected status; `status` and `body` say what it said."""

    def __init__(self, status: int, body: Any, message: str | None = None) -> None:
        self.status = status
        self.body = body
        detail = body.get("error") if isinstance(body, dict) else None
        super().__init__(message or f"HTTP {status}: {detail or body!r}"[:500])


class CursorTooOld(ApiError):
    """410 from the feed: rows this cursor would need (tombstones) were pruned; start again from `resync_from`."""

    @property
    def resync_from(self) -> int:
        return int(self.body.get("resync_from", 0)) if isinstance(self.body, dict) else 0


@dataclass(frozen=True)
class Download:
    """A file fetched to a temporary path, with the SHA-256 computed while it streamed in."""

    temp_path: Path
    sha256: str
    size: int
    header_sha256: str | None  # what the server said in X-Content-SHA256


@dataclass(frozen=True)
class ActionResponse:
    status: int
    body: Any


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:500]


class SyncClient:
    """One server, one token. `transport` lets tests (and the benchmark) talk to a WSGI app in-process."""

    def __init__(self, server: str, token: str, *, transport: httpx.BaseTransport | None = None,
                 timeout: httpx.Timeout | float = DEFAULT_TIMEOUT) -> None:
        self.server = server.rstrip("/")
        self.http = httpx.Client(base_url=self.server, transport=transport, timeout=timeout,
                                 headers={"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT,
                                          "Accept": "application/json"})

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _json(self, response: httpx.Response) -> Any:
        if response.status_code != 200:
            raise ApiError(response.status_code, _body(response))
        return response.json()

    def me(self) -> dict[str, Any]:
        return self._json(self.http.get("/api/v1/me"))

    def changes(self, since: int, limit: int) -> dict[str, Any]:
        response = self.http.get("/api/v1/changes", params={"since": since, "limit": limit})
        if response.status_code == 410:
            raise CursorTooOld(410, _body(response))
        return self._json(response)

    def match(self, profile: dict[str, Any]) -> tuple[int, Any]:
        """POST /api/v1/match; returns (status, body) because 422 (profile incomplete) is an expected answer."""
        response = self.http.post("/api/v1/match", json={"profile": profile})
        return response.status_code, _body(response)

    def act(self, submission_id: int, body: dict[str, Any], *, version: int, idempotency_key: str) -> ActionResponse:
        response = self.http.post(f"/api/v1/submissions/{submission_id}/actions", json=body,
                                  headers={"Idempotency-Key": idempotency_key, "If-Match": f'"{version}"'})
        return ActionResponse(response.status_code, _body(response))

    def download(self, path: str, directory: Path) -> Download:
        """Stream a file into `directory` (same filesystem as its final place, so the move is atomic)."""
        directory.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, name = tempfile.mkstemp(prefix=".part-", dir=directory)
        try:
            with os.fdopen(fd, "wb") as out, self.http.stream("GET", path) as response:
                if response.status_code != 200:
                    response.read()
                    raise ApiError(response.status_code, _body(response))
                for chunk in response.iter_bytes(1 << 16):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
                header = (response.headers.get("X-Content-SHA256") or "").strip().lower() or None
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        return Download(Path(name), digest.hexdigest(), size, header)

