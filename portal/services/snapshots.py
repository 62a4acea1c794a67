"""What an application froze when it was made: the measure as it read that day, the answers, the portal's judgement.

Also the readable title and reference every page, notice and export shows for an application.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from typing import Any

from sqlmodel import Session

from portal.models import Enterprise, Submission
from portal.policy.catalog import catalog
from portal.policy.matching import MatchResult
from portal.policy.records import Measure
from portal.statuses import MatchStatus


def _plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, dt.date):
        return obj.isoformat()
    return obj


def measure_snapshot(measure: Measure) -> dict[str, Any]:
    """Everything a measure says that an application depends on (not its test cases or file position)."""
    return {
        **measure.record(),
        "conditions": _plain(measure.conditions), "amounts": _plain(measure.amounts),
        "city_share": _plain(measure.city_share), "materials": list(measure.materials),
        "time_limit_note": measure.time_limit_note,
    }


def canonical_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def measure_fingerprint(measure: Measure) -> str:
    """SHA-256 of the measure's canonical data: changes whenever its text, amounts or conditions do."""
    return hashlib.sha256(canonical_json(measure_snapshot(measure)).encode("utf-8")).hexdigest()


def snapshot_of(sub: Submission) -> dict[str, Any]:
    return json.loads(sub.measure_snapshot_json or "{}")


def answers_of(sub: Submission) -> dict[str, Any]:
    return json.loads(sub.answers_json or "{}")


def measure_changed(sub: Submission) -> bool:
    """Has the measure been edited (or removed) since this application froze it?"""
    measure = catalog().measures.get(sub.measure_id)
    return measure is None or measure_fingerprint(measure) != sub.measure_fingerprint


def title_of(sub: Submission) -> str:
    return str(snapshot_of(sub).get("title") or sub.measure_id)


def reference_of(sub: Submission) -> str:
    """The readable reference; "#id" only for an application stored before references existed."""
    return sub.reference or f"#{sub.id}"


def judgement(result: MatchResult, today: dt.date) -> dict[str, Any]:
    """The portal's own judgement, frozen with the application so the reviewer sees what it said then."""
    return {
        "status": result.status, "status_zh": MatchStatus.zh_label(result.status),
        "judged_on": today.isoformat(), "reason": result.reason(),
        "met": [r.text for r in result.met], "unknown": [r.text for r in result.unknown],
        "failed": [r.text for r in result.failed],
        "amounts": [c.text() for c in result.cash] + [c.text() for c in result.city],
        "max_cash_wan": result.max_cash_wan,
    }


def judgement_of(sub: Submission) -> dict[str, Any]:
    """The judgement frozen at (re)submission; {} for applications stored before it was kept."""
    return json.loads(sub.judgement_json or "{}")


def enterprise_name(session: Session, sub: Submission) -> str:
    name = answers_of(sub).get("enterprise_name")
    if name:
        return str(name)
    ent = session.get(Enterprise, sub.enterprise_id)
    return ent.name if ent else f"企业 {sub.enterprise_id}"
