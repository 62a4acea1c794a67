"""Where an application goes, and the receipt that tells the enterprise: reference, receiving unit, handling time."""

from __future__ import annotations

from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

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


NO_TIME_LIMIT = _l("文件未规定办理时限")
CLOCK_START = _l("自受理单位确认材料齐全之日起计算")


def _lang() -> str:
    return str(get_locale() or "zh")


def stated_time_limit(sub: Submission) -> str:
    """The handling time the clause states (its words, as frozen with the application); "" where none."""
    return str(snapshot_of(sub).get("time_limit_note") or "")


def stated_time_limit_in(sub: Submission, lang: str) -> str:
    """The stated handling time for a reader of `lang`: the unofficial ko/en wording where the clause has one
    and is unchanged since the application was frozen, else the Chinese words."""
    stated = stated_time_limit(sub)
    measure = catalog().measures.get(sub.measure_id)
    if stated and lang != "zh" and measure is not None and measure.time_limit_note == stated:
        return measure.local("time_limit_note", lang)
    return stated


def title_in(sub: Submission, lang: str) -> str:
    """The measure's title for a reader of `lang` (unofficial ko/en wording where there is one)."""
    measure = catalog().measures.get(sub.measure_id)
    if lang == "zh" or measure is None:
        return title_of(sub)
    return measure.local("title", lang)


def receipt_lines(sub: Submission) -> list[tuple[str, str]]:
    """The receipt the enterprise keeps: reference, receiving unit and the handling time the clause states."""
    stated = stated_time_limit_in(sub, _lang())
    return [(_("受理编号"), reference_of(sub)), (_("受理单位"), unit_name(sub.routed_unit_id)),
            (_("办理时限"), _("%(limit)s（文件原文，%(start)s）", limit=stated, start=CLOCK_START) if stated
             else str(NO_TIME_LIMIT))]


def receipt_text(sub: Submission, unit: Unit) -> str:
    """The receipt notification: reference, receiving unit, and the handling time where the clause states one.

    In the current language: build it inside flask_babel.force_locale(recipient's language).
    """
    lang = _lang()
    stated = stated_time_limit_in(sub, lang)
    if stated:
        return _("已收到您的申请“%(title)s”，受理编号 %(ref)s，受理单位：%(unit)s。文件规定的办理时限：%(limit)s（%(start)s）。审核进展会通知您。",  # noqa: E501
                 title=title_in(sub, lang), ref=reference_of(sub), unit=unit.display_name, limit=stated,
                 start=CLOCK_START)
    return _("已收到您的申请“%(title)s”，受理编号 %(ref)s，受理单位：%(unit)s。文件未规定办理时限。审核进展会通知您。",
             title=title_in(sub, lang), ref=reference_of(sub), unit=unit.display_name)
