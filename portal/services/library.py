"""Browsing and searching the policy library (the catalog is in memory; no queries needed)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from portal.policy.catalog import Measure, catalog, squash
from portal.profile.fields import FIELDS_BY_NAME

LOCATION_FILTERS = {
    "zhonghan_zone": "中韩示范区",
    "changchun_new_area": "长春新区",
    "corridor": "长辽梅通白延走廊",
    "province": "全省",
}


@dataclass(frozen=True)
class LibraryFilter:
    document: str = ""
    sector: str = ""
    benefit: str = ""
    unit: str = ""
    location: str = ""
    audience: str = ""
    q: str = ""


def measure_locations(m: Measure) -> set[str]:
    """Where a measure applies, from its location conditions (no location condition: province-wide)."""
    codes: set[str] = set()
    for c in m.conditions:
        for cond in (c, *c.children):
            if cond.fact == "location":
                codes.update(cond.values)
    if not codes:
        return {"province"}
    out = set()
    if codes <= {"zhonghan_zone"}:
        out.add("zhonghan_zone")
    elif codes <= {"changchun_new_area"}:
        out.add("changchun_new_area")
    elif "corridor_other" in codes and "jilin_other" not in codes:
        out.add("corridor")
    else:
        out.add("province")
    if m.document.id == "d000":
        out.add("zhonghan_zone")
    if m.document.id == "d002":
        out.add("changchun_new_area")
    return out


def _search_blob(m: Measure) -> str:
    return squash(" ".join([m.title, m.text, m.eligibility, m.document.title, m.part,
                            " ".join(m.lead_units), " ".join(m.cooperating_units)])).lower()


def search(f: LibraryFilter) -> list[Measure]:
    cat = catalog()
    terms = [squash(t).lower() for t in f.q.split() if t.strip()]
    out = []
    for m in cat.measures.values():
        if f.document and m.document.id != f.document:
            continue
        if f.sector and f.sector not in m.sectors and "all" not in m.sectors:
            continue
        if f.benefit and f.benefit not in m.benefit_kinds:
            continue
        if f.audience and m.audience != f.audience:
            continue
        if f.unit:
            unit = cat.units.get(f.unit)
            names = {unit.name, *unit.aliases} if unit else {f.unit}
            if not names & set(m.lead_units + m.cooperating_units):
                continue
        if f.location and f.location not in measure_locations(m):
            continue
        if terms:
            blob = _search_blob(m)
            if not all(t in blob for t in terms):
                continue
        out.append(m)
    return out


def sector_options() -> list[tuple[str, str]]:
    return [(o.code, o.zh) for o in FIELDS_BY_NAME["sectors"].options]


def validity(m: Measure, today: dt.date) -> tuple[str, int | None]:
    """('open' | 'ending' | 'expired' | 'unstated', days left)."""
    end = m.effective_valid_until
    if end is None:
        return "unstated", None
    days = (end - today).days
    if days < 0:
        return "expired", days
    return ("ending" if days <= 90 else "open"), days
