"""What views read from URLs and forms: numbers (cursors, versions, ids) and the measure a URL names."""

from __future__ import annotations

import re

from flask import abort, request

from portal.policy.catalog import catalog
from portal.policy.records import Measure

DIGITS_RE = re.compile(r"[0-9]{1,18}")


def whole_number(raw: str | None) -> int | None:
    """ASCII digits that fit a BIGINT, else None.

    str.isdigit() also passes "²" (int() then fails) and a 400-digit number overflows the database driver.
    """
    return int(raw) if raw and DIGITS_RE.fullmatch(raw) else None


def since_or_400() -> int:
    """The feed cursor `since` a poll sends; 400 when it is missing or not a whole number."""
    since = whole_number(request.args.get("since"))
    if since is None:
        abort(400)
    return since


def measure_or_404(measure_id: str, *, enterprise_facing: bool = False) -> Measure:
    """The measure a URL names; 404 when there is none (or, if asked, when it is not for enterprises)."""
    measure = catalog().measures.get(measure_id)
    if measure is None or (enterprise_facing and not measure.is_enterprise_facing):
        abort(404)
    return measure
