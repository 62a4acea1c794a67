"""Where an application goes, and the receipt that tells the enterprise: reference, receiving unit, handling time."""

from __future__ import annotations

from typing import Any

from portal.models import Submission
from portal.policy.catalog import catalog
from portal.policy.records import Measure, Unit
from portal.services.snapshots import reference_of, snapshot_of, title_of


def routing_options(measure: Measure, sectors: Any = None) -> list[Unit]:
    """Where an application may go: the lead unit(s) for the firm's sector, then the printed service points."""
    cat = catalog()
    out: list[Unit] = []
    # Every lead unit the clause names for this firm's sector (all of them where it does not split by
    # sector), so an application never lands by default on whichever unit happens to be printed first.
    for name in measure.lead_units_for(sectors):
        if (lead := cat.unit_by_name(name)) is not None and lead not in out:
            out.append(lead)
    for sp in measure.service_points:
        unit = cat.units.get(sp)
        if unit is not None and unit not in out:
            out.append(unit)
    return out


def unit_name(unit_id: str) -> str:
    unit = catalog().units.get(unit_id)
    return unit.display_name if unit else unit_id


NO_TIME_LIMIT = "文件未规定办理时限"
CLOCK_START = "自受理单位确认材料齐全之日起计算"


def stated_time_limit(sub: Submission) -> str:
    """The handling time the clause states (its words, as frozen with the application); "" where none."""
    return str(snapshot_of(sub).get("time_limit_note") or "")


def receipt_lines(sub: Submission) -> list[tuple[str, str]]:
    """The receipt the enterprise keeps: reference, receiving unit and the handling time the clause states."""
    stated = stated_time_limit(sub)
    return [("受理编号", reference_of(sub)), ("受理单位", unit_name(sub.routed_unit_id)),
            ("办理时限", f"{stated}（文件原文，{CLOCK_START}）" if stated else NO_TIME_LIMIT)]


def receipt_text(sub: Submission, unit: Unit) -> str:
    """The receipt notification: reference, receiving unit, and the handling time where the clause states one."""
    stated = stated_time_limit(sub)
    limit = f"文件规定的办理时限：{stated}（{CLOCK_START}）。" if stated else f"{NO_TIME_LIMIT}。"
    return (f"已收到您的申请“{title_of(sub)}”，受理编号 {reference_of(sub)}，受理单位：{unit.display_name}。"
            f"{limit}审核进展会通知您。")
