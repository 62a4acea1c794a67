"""Explainable matching of an enterprise profile against every enterprise-facing measure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from portal.policy.catalog import Catalog, Measure, catalog
from portal.policy.conditions import Condition, Profile
from portal.profile.fields import apply_gates

STATUSES = ("eligible", "needs_info", "near_miss", "not_eligible", "expired")
STATUS_ZH = {
    "eligible": "符合条件",
    "needs_info": "还需补充信息",
    "near_miss": "差一项条件",
    "not_eligible": "暂不符合",
    "expired": "已过有效期",
}


class ConditionResult(NamedTuple):
    # A tuple, not a frozen dataclass: matching creates millions of these when re-matching.
    condition: Condition
    outcome: bool | None

    @property
    def text(self) -> str:
        return self.condition.describe()


@dataclass(slots=True)
class MatchResult:
    measure: Measure
    status: str
    results: tuple[ConditionResult, ...]
    max_cash_wan: float  # stated maximum of the amounts that apply (0 when none)
    days_left: int | None  # None: the documents give no end date

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
        return STATUS_ZH[self.status]

    def reason(self) -> str:
        """One plain sentence saying why, citing the clause."""
        cite = self.measure.citation
        if self.status == "expired":
            return f"{cite}已于{self.measure.effective_valid_until:%Y年%m月%d日}到期。"
        if self.status == "eligible":
            return f"根据{cite}，您的回答满足：" + "；".join(r.text for r in self.met) + "。"
        if self.status == "near_miss":
            miss = self.failed[0].condition
            hint = f"（{miss.hint}）" if miss.hint else ""
            return f"根据{cite}，只差一项：{miss.describe()}{hint}。"
        if self.status == "needs_info":
            return f"根据{cite}，还需回答：" + "；".join(r.text for r in self.unknown) + "。"
        return f"根据{cite}，以下条件不满足：" + "；".join(r.text for r in self.failed) + "。"

    def as_dict(self) -> dict[str, Any]:
        m = self.measure
        return {
            "measure_id": m.id,
            "title": m.title,
            "document": m.document.title,
            "clause": m.clause,
            "status": self.status,
            "status_label": self.status_zh,
            "reason": self.reason(),
            "conditions": [{"requirement": r.text, "met": r.outcome} for r in self.results],
            "max_cash_wan": self.max_cash_wan or None,
            "amounts": [{"max_wan": a.max_wan, "min_wan": a.min_wan, "unit": a.unit, "unit_label": a.unit_zh,
                         "label": a.label, "rate_percent": a.rate_percent} for a in m.amounts],
            "city_share": [{"percent": s.percent, "label": s.label, "unit": s.unit} for s in m.city_share],
            "valid_until": m.effective_valid_until.isoformat() if m.effective_valid_until else None,
            "days_left": self.days_left,
            "lead_units": list(m.lead_units),
            "cooperating_units": list(m.cooperating_units),
            "service_points": list(m.service_points),
        }


def _applicable_cash(measure: Measure, profile: Profile) -> float:
    amounts = [a.max_wan for a in measure.amounts if all(c.evaluate(profile) is not False for c in a.when)]
    return max(amounts, default=0.0)


def evaluate(measure: Measure, profile: Profile, today: dt.date) -> MatchResult:
    """One measure against one profile (questions that do not apply count as answered "none")."""
    return _evaluate(measure, apply_gates(profile), today)


def _evaluate(measure: Measure, profile: Profile, today: dt.date) -> MatchResult:
    valid_until = measure.effective_valid_until
    days_left = (valid_until - today).days if valid_until else None
    results = []
    failed = unknown = 0
    for condition in measure.conditions:  # one pass: this loop is the hot path of re-matching
        outcome = condition.evaluate(profile)
        if outcome is False:
            failed += 1
        elif outcome is None:
            unknown += 1
        results.append(ConditionResult(condition, outcome))
    if days_left is not None and days_left < 0:
        status = "expired"
    else:
        if failed == 0:
            status = "needs_info" if unknown else "eligible"
        elif failed == 1:
            status = "near_miss"
        else:
            status = "not_eligible"
    cash = _applicable_cash(measure, profile) if status != "not_eligible" else 0.0
    return MatchResult(measure, status, tuple(results), cash, days_left)


_ORDER = {"eligible": 0, "near_miss": 1, "needs_info": 2, "not_eligible": 3, "expired": 4}


def match_profile(profile: Profile, today: dt.date | None = None, cat: Catalog | None = None) -> list[MatchResult]:
    """Every enterprise-facing measure, best first: by certainty, then by stated value."""
    cat = cat or catalog()
    today = today or dt.date.today()
    profile = apply_gates(profile)
    results = [_evaluate(m, profile, today) for m in cat.enterprise_measures()]
    results.sort(key=lambda r: (_ORDER[r.status], -r.max_cash_wan, -bool(r.measure.city_share), r.measure.id))
    return results


def total_max_cash(results: Iterable[MatchResult]) -> float:
    """Sum of the stated maximum cash support of eligible measures (万元)."""
    return sum(r.max_cash_wan for r in results if r.status == "eligible")


def grouped(results: list[MatchResult]) -> dict[str, list[MatchResult]]:
    groups: dict[str, list[MatchResult]] = {s: [] for s in ("eligible", "near_miss", "needs_info", "not_eligible",
                                                            "expired")}
    for r in results:
        groups[r.status].append(r)
    return groups
