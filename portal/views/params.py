"""Numbers read from URLs and forms (cursors, versions, ids)."""

from __future__ import annotations

import re

DIGITS_RE = re.compile(r"[0-9]{1,18}")


def whole_number(raw: str | None) -> int | None:
    """ASCII digits that fit a BIGINT, else None.

    str.isdigit() also passes "²" (int() then fails) and a 400-digit number overflows the database driver.
    """
    return int(raw) if raw and DIGITS_RE.fullmatch(raw) else None
