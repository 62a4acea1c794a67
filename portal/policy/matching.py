"""Explainable matching of an enterprise profile against every enterprise-facing measure.

Statuses, from most to least certain:
- eligible: every condition holds.
- needs_info: none fails, some are still unanswered.
- near_miss: exactly one fails, it is one the firm can still meet (a milestone, a threshold, a plan,
  never an identity fact such as location or sector), and nothing else is unknown. Only these are
  shown as "只差一项".
- not_eligible: anything else that fails. expired: past the printed validity end.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

from portal import clock
from portal.formatting import wan as _wan
from portal.policy.catalog import catalog
from portal.policy.conditions import Condition, Profile
from portal.policy.records import MEASURE_KINDS, Amount, Catalog, CityShare, Measure
from portal.profile.fields import apply_gates
from portal.statuses import MatchStatus

# Module names for the hot path of re-matching: a global is ten times quicker to read than an enum member.
ELIGIBLE, NEEDS_INFO, NEAR_MISS = MatchStatus.ELIGIBLE, MatchStatus.NEEDS_INFO, MatchStatus.NEAR_MISS
NOT_ELIGIBLE, EXPIRED = MatchStatus.NOT_ELIGIBLE, MatchStatus.EXPIRED


class ConditionResult(NamedTuple):
    # A tuple, not a frozen dataclass: matching creates millions of these when re-matching.
    condition: Condition
    outcome: bool | None

    @property
    def text(self) -> str:
        return self.condition.describe()


@dataclass(frozen=True, slots=True)
class CashLine:
    """One printed amount as it applies to this firm (万元)."""

    label: str
    unit_zh: str
    floor_wan: float  # what the headline counts: the maximum, or a range's floor
    ceiling_wan: float  # the stated maximum (× count for per-variety amounts)
    min_wan: float | None = None  # set for a printed range such as 50—200
    per_item_wan: float = 0.0  # per variety/product when a count applies
    count: int | None = None  # how many varieties/products the firm said qualify
    rate_percent: float | None = None
    rate_base: str = ""

    def text(self) -> str:
        if self.min_wan is not None:
            amount = f"{_wan(self.min_wan)}—{_wan(self.ceiling_wan)} 万元（{self.unit_zh}）"
        elif self.count:
            amount = f"每个最高 {_wan(self.per_item_wan)} 万元 × {self.count} = 最高 {_wan(self.ceiling_wan)} 万元"
        else:
            amount = f"最高 {_wan(self.ceiling_wan)} 万元（{self.unit_zh}）"
        rate = f"，按{self.rate_base}的 {_wan(self.rate_percent)}% 计" if self.rate_percent else ""
        return f"{self.label or '支持额度'}：{amount}{rate}"


@dataclass(frozen=True, slots=True)
class CityShareLine:
    """Document 002: a share of the city-level support; computed when the city amount is known."""

    label: str
    percent: float
    unit_zh: str
    city_wan: float | None  # None: the firm has not said how much city support it was granted
    computed_wan: float | None

    def text(self) -> str:
        if self.computed_wan is not None and self.city_wan is not None:
            return (f"{self.label}：市级支持 {_wan(self.city_wan)} 万元 × {_wan(self.percent)}% = "
                    f"{_wan(self.computed_wan)} 万元（{self.unit_zh}）")
        return f"{self.label}：市级支持额度的 {_wan(self.percent)}%（填写市级支持额度后可计算）"


@dataclass(slots=True)
class MatchResult:
    measure: Measure
    status: MatchStatus
    profile: Profile  # with gates applied; condition outcomes are worked out again only when shown
    cash: tuple[CashLine, ...] = ()
    city: tuple[CityShareLine, ...] = ()
    days_left: int | None = None  # None: the documents give no end date
    sectors: tuple[str, ...] = ()
    relevance: int = 0  # 2: the clause names one of the firm's sectors; 1: it names the firm's place too
    _results: tuple[ConditionResult, ...] | None = None

    @property
    def results(self) -> tuple[ConditionResult, ...]:
        """Every condition with its outcome (evaluated on demand: most measures are never shown)."""
        if self._results is None:
            self._results = tuple(ConditionResult(c, c.evaluate(self.profile)) for c in self.measure.conditions)
        return self._results

    @property
    def max_cash_wan(self) -> float:
        """The stated maximum of the amounts that apply (× count per variety; 0 when none)."""
        return sum(c.ceiling_wan for c in self.cash)

    @property
    def floor_cash_wan(self) -> float:
        """What the headline counts: stated maxima, and a printed range at its floor."""
        return sum(c.floor_wan for c in self.cash)

    @property
    def city_computed_wan(self) -> float:
        return sum(c.computed_wan or 0.0 for c in self.city)

    @property
    def lead_units(self) -> tuple[str, ...]:
        """Whom to apply to: the lead unit(s) for this firm's sector where the clause splits the lead."""
        return self.measure.lead_units_for(self.sectors)

    @property
    def met(self) -> list[ConditionResult]:
        return [r for r in self.results if r.outcome is True]

    @property
    def failed(self) -> list[ConditionResult]:
        return [r for r in self.results if r.outcome is False]

    @property
    def unknown(self) -> list[ConditionResult]:
        return [r for r in self.results if r.outcome is None]

    @property
    def status_zh(self) -> str:
        return MatchStatus(self.status).zh

    @property
    def can_apply(self) -> bool:
        """Only an eligible measure that is an application (not information) can be submitted."""
        return self.status == ELIGIBLE and not self.measure.is_information

    def reason(self) -> str:
        """One plain sentence saying why, citing the clause."""
        cite = self.measure.citation
        if self.status == EXPIRED:
            return f"{cite}已于{self.measure.effective_valid_until:%Y年%m月%d日}到期。"
        if self.status == ELIGIBLE:
            return f"根据{cite}，您的回答满足：" + "；".join(r.condition.describe_met(self.profile)
                                                          for r in self.met) + "。"
        if self.status == NEAR_MISS:
            miss = self.failed[0].condition
            hint = f"（{miss.hint}）" if miss.hint else ""
            return f"根据{cite}，只差一项：{miss.describe()}{hint}。"
        if self.status == NEEDS_INFO:
            return f"根据{cite}，还需回答：" + "；".join(r.text for r in self.unknown) + "。"
        return f"根据{cite}，以下条件不满足：" + "；".join(r.text for r in self.failed) + "。"

    def what_would_change(self) -> str:
        """For a near miss: the one thing that would make the firm eligible."""
        if self.status != NEAR_MISS:
            return ""
        miss = self.failed[0].condition
        return miss.hint or f"满足“{miss.describe()}”后即符合条件"

    def as_dict(self) -> dict[str, Any]:
        m = self.measure
        return {
            "measure_id": m.id,
            "title": m.title,
            "document": m.document.title,
            "clause": m.clause,
            "kind": m.kind,
            "kind_label": MEASURE_KINDS[m.kind],
            "status": self.status,
            "status_label": self.status_zh,
            "reason": self.reason(),
            "conditions": [{"requirement": r.text, "met": r.outcome} for r in self.results],
            "max_cash_wan": self.max_cash_wan or None,
            "amounts": [{"max_wan": a.max_wan, "min_wan": a.min_wan, "unit": a.unit, "unit_label": a.unit_zh,
                         "label": a.label, "rate_percent": a.rate_percent, "count_fact": a.count_fact or None}
                        for a in m.amounts],
            "applicable_amounts": [{"label": c.label, "floor_wan": c.floor_wan, "ceiling_wan": c.ceiling_wan,
                                    "min_wan": c.min_wan, "count": c.count, "text": c.text()} for c in self.cash],
            "city_share": [{"percent": s.percent, "label": s.label, "unit": s.unit} for s in m.city_share],
            "city_share_computed": [{"percent": c.percent, "city_wan": c.city_wan, "computed_wan": c.computed_wan,
                                     "text": c.text()} for c in self.city],
            "valid_until": m.effective_valid_until.isoformat() if m.effective_valid_until else None,
            "days_left": self.days_left,
            "lead_units": list(self.lead_units),
            "cooperating_units": list(m.cooperating_units),
            "service_points": list(m.service_points),
        }


def _holds(conditions: tuple[Condition, ...], profile: Profile) -> bool:
    return all(c.evaluate(profile) is not False for c in conditions)


def _count(profile: Profile, name: str) -> int | None:
    value = profile.get(name) if name else None
    return int(value) if isinstance(value, int | float) and value >= 1 else None


def _cash_line(a: Amount, profile: Profile) -> CashLine:
    count = _count(profile, a.count_fact)
    ceiling = a.max_wan * (count or 1)
    floor = a.min_wan if a.min_wan is not None else ceiling
    return CashLine(a.label, a.unit_zh, floor, ceiling, a.min_wan, a.max_wan if count else 0.0, count,
                    a.rate_percent, a.rate_base)


def _city_line(s: CityShare, profile: Profile) -> CityShareLine:
    base = profile.get(s.base_fact) if s.base_fact else None
    city = float(base) if isinstance(base, int | float) else None
    computed = round(city * s.percent / 100, 4) if city is not None else None
    return CityShareLine(s.label, s.percent, s.unit_zh, city, computed)


def evaluate(measure: Measure, profile: Profile, today: dt.date) -> MatchResult:
    """One measure against one profile (questions that do not apply count as answered "none")."""
    return _evaluate(measure, apply_gates(profile), today)


def _status(conditions: tuple[Condition, ...], profile: Profile) -> MatchStatus:
    """The status from the conditions alone; stops as soon as the answer is "not eligible"."""
    failed = unknown = False
    for condition in conditions:  # the hot path of re-matching: most measures stop at the sector
        outcome = condition._fn(condition, profile)  # type: ignore[attr-defined]  # = evaluate(), one call less
        if outcome is False:
            if failed or not condition.attainable:
                return NOT_ELIGIBLE
            failed = True
        elif outcome is None:
            unknown = True
    if failed:
        return NOT_ELIGIBLE if unknown else NEAR_MISS
    return NEEDS_INFO if unknown else ELIGIBLE


def _evaluate(measure: Measure, profile: Profile, today: dt.date, sectors: tuple[str, ...] | None = None
              ) -> MatchResult:
    valid_until = measure.effective_valid_until
    days_left = _days_between(today, valid_until) if valid_until else None
    if sectors is None:
        sectors = tuple(profile.get("sectors") or ())
    if days_left is not None and days_left < 0:
        return MatchResult(measure, EXPIRED, profile, (), (), days_left, sectors, 0)
    status = _status(measure.conditions, profile)
    if status == NOT_ELIGIBLE:
        return MatchResult(measure, status, profile, (), (), days_left, sectors, 0)
    cash = tuple(_cash_line(a, profile) for a in measure.amounts if _holds(a.when, profile))
    city = tuple(_city_line(s, profile) for s in measure.city_share if _holds(s.when, profile))
    relevance = (2 if measure.named_sectors.intersection(sectors) else 0) + (1 if measure.place_specific else 0)
    return MatchResult(measure, status, profile, cash, city, days_left, sectors, relevance)


@lru_cache(maxsize=64)
def _days_between(today: dt.date, end: dt.date) -> int:
    return (end - today).days


_ORDER = {ELIGIBLE: 0, NEAR_MISS: 1, NEEDS_INFO: 2, NOT_ELIGIBLE: 3, EXPIRED: 4}


def _sort_key(r: MatchResult) -> tuple[Any, ...]:
    # Certainty first, then how closely the clause concerns this firm, then value.
    m = r.measure
    if r.status in (NOT_ELIGIBLE, EXPIRED):
        return (_ORDER[r.status], False, 0, 0.0, False, m.id)
    return (_ORDER[r.status], m.is_information, -r.relevance, -(r.floor_cash_wan + r.city_computed_wan),
            -bool(m.city_share), m.id)


def match_profile(profile: Profile, today: dt.date | None = None, cat: Catalog | None = None) -> list[MatchResult]:
    """Every enterprise-facing measure, best first: by certainty, relevance to the firm, then value."""
    cat = cat or catalog()
    today = today or clock.today()
    profile = apply_gates(profile)
    sectors = tuple(profile.get("sectors") or ())
    results = [_evaluate(m, profile, today, sectors) for m in cat.enterprise_measures()]
    # Measures come in id order, so only the few that apply need sorting; the rest keep id order.
    ranked = sorted((r for r in results if r.status not in (NOT_ELIGIBLE, EXPIRED)), key=_sort_key)
    ranked.extend(r for r in results if r.status == NOT_ELIGIBLE)
    ranked.extend(r for r in results if r.status == EXPIRED)
    return ranked


@dataclass
class Summary:
    """The results headline: what the firm can apply for, counted honestly."""

    by_kind: dict[str, int] = field(default_factory=dict)  # eligible measures per MEASURE_KINDS key
    cash_wan: float = 0.0  # stated maxima (× count), printed ranges at their floor
    ranges: list[str] = field(default_factory=list)  # e.g. "年营业收入首次超过…：50—200 万元"
    city_computed_wan: float = 0.0  # document 002 shares computed from the city amount given
    city_pending: int = 0  # shares whose city amount the firm has not given yet
    near_miss: int = 0
    needs_info: int = 0

    @property
    def eligible(self) -> int:
        return sum(self.by_kind.values())

    @property
    def applications(self) -> int:
        return self.eligible - self.by_kind.get("info", 0)

    def kinds(self) -> list[tuple[str, int]]:
        """(label, count) of what the firm can apply for, in headline order (information is apart)."""
        return [(label, self.by_kind[k]) for k, label in MEASURE_KINDS.items() if self.by_kind.get(k) and k != "info"]


def summarize(results: Iterable[MatchResult]) -> Summary:
    out = Summary()
    for r in results:
        if r.measure.is_information and r.status != ELIGIBLE:
            continue  # information asks nothing of the firm: it is never "missing" anything
        if r.status == NEAR_MISS:
            out.near_miss += 1
        elif r.status == NEEDS_INFO:
            out.needs_info += 1
        if r.status != ELIGIBLE:
            continue
        out.by_kind[r.measure.kind] = out.by_kind.get(r.measure.kind, 0) + 1
        out.cash_wan += r.floor_cash_wan
        out.ranges.extend(c.text() for c in r.cash if c.min_wan is not None)
        for c in r.city:
            if c.computed_wan is None:
                out.city_pending += 1
            else:
                out.city_computed_wan += c.computed_wan
    return out


def total_max_cash(results: Iterable[MatchResult]) -> float:
    """Headline cash of eligible measures (万元): stated maxima × count, printed ranges at their floor."""
    return summarize(results).cash_wan


def grouped(results: list[MatchResult]) -> dict[str, list[MatchResult]]:
    groups: dict[str, list[MatchResult]] = {s: [] for s in (ELIGIBLE, NEAR_MISS, NEEDS_INFO, NOT_ELIGIBLE,
                                                            EXPIRED)}
    for r in results:
        groups[r.status].append(r)
    return groups


def by_lead_unit(results: Iterable[MatchResult]) -> list[tuple[str, list[MatchResult]]]:
    """Eligible applications grouped by whom to apply to (first lead unit for the firm's sector).

    Groups keep the order of their best measure, so the ranking (certainty, relevance, value) holds.
    """
    groups: dict[str, list[MatchResult]] = {}
    for r in results:
        key = r.lead_units[0] if r.lead_units else ""
        groups.setdefault(key, []).append(r)
    return list(groups.items())
