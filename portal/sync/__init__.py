"""`portal sync`: a desktop client of the change feed (issue 11 §3).

It talks to the server over HTTP only (httpx) and keeps a local SQLite mirror (sqlite-utils) that
Datasette or a spreadsheet can open. Nothing here imports the Flask app or the server's database code.
"""

from __future__ import annotations

from portal.sync.client import ApiError, CursorTooOld, SyncClient
from portal.sync.mirror import Mirror
from portal.sync.pull import PullResult, pull
from portal.sync.push import PushResult, push, queue_action

__all__ = ["ApiError", "CursorTooOld", "Mirror", "PullResult", "PushResult", "SyncClient", "pull", "push",
           "queue_action"]
