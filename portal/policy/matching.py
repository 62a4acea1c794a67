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
from portal.formatting import local_date, money
from portal.formatting import wan as _wan
from portal.policy.catalog import catalog
from portal.policy.conditions import Condition, Profile
from portal.policy.records import MEASURE_KINDS, Amount, Catalog, CityShare, Measure
from portal.policy.wording import _, join_list, label
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

    def text_in(self, lang: str = "zh") -> str:
        return self.condition.describe(lang)


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
    amount: Amount | None = field(default=None, compare=False)  # the printed amount, for its ko/en label and rate base

    def text(self, lang: str = "zh") -> str:
        """The line as shown: zh "最高 500 万元（一次性）", ko "최대 500만 위안", en "up to CNY 5,000,000"."""
        unit = label(self.unit_zh, lang)
        if self.min_wan is not None:
            amount = _("%(min)s—%(max)s 万元（%(unit)s）", lang, min=_sum(self.min_wan, lang),
                       max=_sum(self.ceiling_wan, lang), unit=unit)
        elif self.count:
            amount = _("每个最高 %(each)s 万元 × %(count)s = 最高 %(total)s 万元", lang,
                       each=_sum(self.per_item_wan, lang), count=self.count, total=_sum(self.ceiling_wan, lang))
        else:
            amount = _("最高 %(max)s 万元（%(unit)s）", lang, max=_sum(self.ceiling_wan, lang), unit=unit)
        rate = ""
        if self.rate_percent:
            base = self.amount.local("rate_base", lang) if self.amount else self.rate_base
            rate = _("，按%(base)s的 %(rate)s%% 计", lang, base=base, rate=_wan(self.rate_percent))
        name = (self.amount.local("label", lang) if self.amount else self.label) or _("支持额度", lang)
        return _("%(label)s：%(amount)s%(rate)s", lang, label=name, amount=amount, rate=rate)


@dataclass(frozen=True, slots=True)
class CityShareLine:
    """Document 002: a share of the city-level support; computed when the city amount is known."""

    label: str
    percent: float
    unit_zh: str
    city_wan: float | None  # None: the firm has not said how much city support it was granted
    computed_wan: float | None
    share: CityShare | None = field(default=None, compare=False)  # the printed share, for its ko/en label

    def text(self, lang: str = "zh") -> str:
        name = self.share.local("label", lang) if self.share else self.label
        if self.computed_wan is not None and self.city_wan is not None:
            return _("%(label)s：市级支持 %(city)s 万元 × %(percent)s%% = %(amount)s 万元（%(unit)s）", lang,
                     label=name, city=_sum(self.city_wan, lang), percent=_wan(self.percent),
                     amount=_sum(self.computed_wan, lang), unit=label(self.unit_zh, lang))
        return _("%(label)s：市级支持额度的 %(percent)s%%（填写市级支持额度后可计算）", lang, label=name,
                 percent=_wan(self.percent))


def _sum(value: float, lang: str) -> str:
    """An amount inside a sentence whose Chinese frame writes 万元 itself: the number alone in zh."""
    return money(value, lang) if lang in ("ko", "en") else _wan(value)




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

    def status_label(self, lang: str = "zh") -> str:
        return label(self.status_zh, lang)  # the Chinese label is its own message id

    @property
    def can_apply(self) -> bool:
        """Only an eligible measure that is an application (not information) can be submitted."""
        return self.status == ELIGIBLE and not self.measure.is_information

    def reason(self, lang: str = "zh") -> str:
        """One plain sentence saying why, citing the clause (the citation stays Chinese: it names the document)."""
        cite = self.measure.citation
        if self.status == EXPIRED:
            end = self.measure.effective_valid_until
            when = f"{end:%Y年%m月%d日}" if lang not in ("ko", "en") else local_date(end, lang)
            return _("%(citation)s已于%(date)s到期。", lang, citation=cite, date=when)
        if self.status == ELIGIBLE:
            return _("根据%(citation)s，您的回答满足：%(conditions)s。", lang, citation=cite,
                     conditions=join_list([r.condition.describe_met(self.profile, lang) for r in self.met], lang))
        if self.status == NEAR_MISS:
            miss = self.failed[0].condition
            hint = miss.local("hint", lang)
            return _("根据%(citation)s，只差一项：%(condition)s%(hint)s。", lang, citation=cite,
                     condition=miss.describe(lang), hint=_("（%(hint)s）", lang, hint=hint) if hint else "")
        if self.status == NEEDS_INFO:
            return _("根据%(citation)s，还需回答：%(conditions)s。", lang, citation=cite,
                     conditions=join_list([r.text_in(lang) for r in self.unknown], lang))
        return _("根据%(citation)s，以下条件不满足：%(conditions)s。", lang, citation=cite,
                 conditions=join_list([r.text_in(lang) for r in self.failed], lang))

    def what_would_change(self, lang: str = "zh") -> str:
        """For a near miss: the one thing that would make the firm eligible."""
        if self.status != NEAR_MISS:
            return ""
        miss = self.failed[0].condition
        return miss.local("hint", lang) or _("满足“%(condition)s”后即符合条件", lang, condition=miss.describe(lang))

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
                    a.rate_percent, a.rate_base, a)


def _city_line(s: CityShare, profile: Profile) -> CityShareLine:
    base = profile.get(s.base_fact) if s.base_fact else None
    city = float(base) if isinstance(base, int | float) else None
    computed = round(city * s.percent / 100, 4) if city is not None else None
    return CityShareLine(s.label, s.percent, s.unit_zh, city, computed, s)


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
    range_lines: list[CashLine] = field(default_factory=list)  # the same lines, to word in another language
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
        out.range_lines.extend(c for c in r.cash if c.min_wan is not None)
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
