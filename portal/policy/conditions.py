"""Machine-readable measure conditions, each a small plain function over the profile.

A condition evaluates to True (met), False (not met) or None (the deciding answer is missing).
YAML forms (one key chooses the function):

    {fact: location, is_in: [zhonghan_zone]}           single-choice answer is one of
    {fact: sectors, any_of: [medical_device, ivd]}     multi-choice answer contains any
    {fact: sectors, all_of: [cosmetics]}               multi-choice answer contains all
    {fact: is_leading_enterprise, is_true: true}       yes/no answer is yes
    {fact: project_investment_wan, at_least: 3000}     number >= value
    {first_exceeds: annual_revenue_wan, previous: previous_peak_revenue_wan,
     thresholds: [100000, 200000]}                     current crosses a threshold for the first time
    {either: [cond, cond, ...]}                        at least one sub-condition holds

Every condition may carry `label` (plain Chinese: what the clause requires) and `hint`
(what would change the outcome); otherwise both are generated from the field labels.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from portal.profile.fields import FIELDS_BY_NAME, Field

Profile = Mapping[str, Any]
Truth = bool | None

OPERATORS = ("is_in", "any_of", "all_of", "is_true", "at_least")


@dataclass(frozen=True)
class Condition:
    kind: str  # one of OPERATORS, "first_exceeds" or "either"
    fact: str = ""
    values: tuple[Any, ...] = ()
    number: float = 0.0
    previous: str = ""
    children: tuple[Condition, ...] = ()
    label: str = ""
    hint: str = ""

    # -- evaluation -----------------------------------------------------------------------
    def evaluate(self, profile: Profile) -> Truth:
        return _EVALUATORS[self.kind](self, profile)

    def facts(self) -> set[str]:
        """Profile fields this condition reads."""
        if self.kind == "either":
            return set().union(*(c.facts() for c in self.children))
        if self.kind == "first_exceeds":
            return {self.fact, self.previous}
        return {self.fact}

    # -- wording --------------------------------------------------------------------------
    def describe(self) -> str:
        """What the clause requires, in plain Chinese."""
        if self.label:
            return self.label
        if self.kind == "either":
            return "或".join(f"（{c.describe()}）" for c in self.children)
        f = FIELDS_BY_NAME[self.fact]
        if self.kind in ("is_in", "any_of"):
            return f"{_strip_hint(f.zh)}：{'或'.join(_option_zh(f, v) for v in self.values)}"
        if self.kind == "all_of":
            return f"{_strip_hint(f.zh)}：{'和'.join(_option_zh(f, v) for v in self.values)}"
        if self.kind == "is_true":
            return f"{_strip_hint(f.zh)}：是"
        if self.kind == "at_least":
            return f"{f.zh}不低于{_fmt(self.number)}{f.unit_zh}"
        thresholds = "、".join(f"{_fmt(t)}{f.unit_zh}" for t in self.values)
        return f"{f.zh}首次突破{thresholds}"

    def missing_questions(self, profile: Profile) -> list[str]:
        return [FIELDS_BY_NAME[n].zh for n in sorted(self.facts()) if is_unanswered(profile, n)]


def is_unanswered(profile: Profile, name: str) -> bool:
    value = profile.get(name)
    return value is None or value == ""


def _strip_hint(label: str) -> str:
    return label.split("（")[0]


def _option_zh(f: Field, code: Any) -> str:
    opt = f.option(str(code))
    return opt.zh if opt else str(code)


def _fmt(number: float) -> str:
    return f"{number:,.0f}" if number == int(number) else f"{number:,}"


def _is_in(c: Condition, p: Profile) -> Truth:
    v = p.get(c.fact)
    return None if v in (None, "") else v in c.values


def _any_of(c: Condition, p: Profile) -> Truth:
    v = p.get(c.fact)
    return None if v is None else bool(set(v) & set(c.values))


def _all_of(c: Condition, p: Profile) -> Truth:
    v = p.get(c.fact)
    return None if v is None else set(c.values) <= set(v)


def _is_true(c: Condition, p: Profile) -> Truth:
    v = p.get(c.fact)
    return None if v is None else bool(v)


def _at_least(c: Condition, p: Profile) -> Truth:
    v = p.get(c.fact)
    return None if v is None else float(v) >= c.number


def _first_exceeds(c: Condition, p: Profile) -> Truth:
    current, previous = p.get(c.fact), p.get(c.previous)
    if current is None:
        return None
    crossed = [t for t in c.values if float(current) >= t]
    if not crossed:
        return False
    if previous is None:
        return None
    # "首次突破": at least one threshold reached now that no earlier year reached.
    return any(float(previous) < t for t in crossed)


def _either(c: Condition, p: Profile) -> Truth:
    results = [child.evaluate(p) for child in c.children]
    if any(r is True for r in results):
        return True
    if any(r is None for r in results):
        return None
    return False


_EVALUATORS = {
    "is_in": _is_in,
    "any_of": _any_of,
    "all_of": _all_of,
    "is_true": _is_true,
    "at_least": _at_least,
    "first_exceeds": _first_exceeds,
    "either": _either,
}


class ConditionError(ValueError):
    """A condition in the data is malformed (message names the problem)."""


def parse_condition(raw: Any) -> Condition:
    """Build a Condition from its YAML mapping, checking field names and option codes."""
    if not isinstance(raw, Mapping):
        raise ConditionError(f"condition must be a mapping, got {raw!r}")
    label, hint = str(raw.get("label", "")), str(raw.get("hint", ""))
    allowed_meta = {"label", "hint"}
    if "either" in raw:
        _only(raw, {"either"} | allowed_meta)
        children = raw["either"]
        if not isinstance(children, list) or len(children) < 2:
            raise ConditionError("either needs a list of at least two conditions")
        return Condition("either", children=tuple(parse_condition(c) for c in children), label=label, hint=hint)
    if "first_exceeds" in raw:
        _only(raw, {"first_exceeds", "previous", "thresholds"} | allowed_meta)
        fact, previous = raw["first_exceeds"], raw.get("previous")
        for name in (fact, previous):
            _number_field(name)
        thresholds = raw.get("thresholds")
        numeric = isinstance(thresholds, list) and all(isinstance(t, int | float) for t in thresholds)
        if not numeric or not thresholds:
            raise ConditionError("first_exceeds needs numeric thresholds")
        return Condition("first_exceeds", fact=fact, previous=previous, values=tuple(float(t) for t in thresholds),
                         label=label, hint=hint)
    ops = [k for k in OPERATORS if k in raw]
    if len(ops) != 1 or "fact" not in raw:
        raise ConditionError(f"condition needs `fact` and exactly one of {', '.join(OPERATORS)}: {dict(raw)!r}")
    op = ops[0]
    _only(raw, {"fact", op} | allowed_meta)
    name = raw["fact"]
    f = FIELDS_BY_NAME.get(name)
    if f is None:
        raise ConditionError(f"unknown profile field {name!r}")
    value = raw[op]
    if op in ("is_in", "any_of", "all_of"):
        expected = {"is_in": "choice", "any_of": "multi", "all_of": "multi"}[op]
        if f.kind != expected:
            raise ConditionError(f"{op} needs a {expected} field; {name!r} is {f.kind}")
        if not isinstance(value, list) or not value:
            raise ConditionError(f"{op} needs a non-empty list of option codes")
        unknown = [v for v in value if v not in f.option_codes()]
        if unknown:
            raise ConditionError(f"unknown option code(s) {unknown} for field {name!r}")
        return Condition(op, fact=name, values=tuple(value), label=label, hint=hint)
    if op == "is_true":
        if f.kind != "bool" or value is not True:
            raise ConditionError(f"is_true needs a yes/no field and the value true; {name!r} is {f.kind}")
        return Condition(op, fact=name, label=label, hint=hint)
    _number_field(name)
    if not isinstance(value, int | float):
        raise ConditionError("at_least needs a number")
    return Condition(op, fact=name, number=float(value), label=label, hint=hint)


def _only(raw: Mapping[str, Any], allowed: set[str]) -> None:
    extra = set(raw) - allowed
    if extra:
        raise ConditionError(f"unexpected key(s) {sorted(extra)} in condition")


def _number_field(name: Any) -> None:
    f = FIELDS_BY_NAME.get(name)
    if f is None or f.kind != "number":
        raise ConditionError(f"{name!r} is not a number field")
