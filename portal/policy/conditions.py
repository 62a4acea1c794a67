"""Machine-readable measure conditions, each a small plain function over the profile.

A condition evaluates to True (met), False (not met) or None (the deciding answer is missing).
YAML forms (one key chooses the function):

    {fact: location, is_in: [zhonghan_zone]}           single-choice answer is one of
    {fact: sectors, any_of: [medical_device, ivd]}     multi-choice answer contains any
    {fact: sectors, all_of: [cosmetics]}               multi-choice answer contains all
    {fact: is_leading_enterprise, is_true: true}       yes/no answer is yes
    {fact: project_investment_wan, at_least: 3000}     number >= value ("以上")
    {fact: revived_variety_sales_wan, more_than: 2000} number > value ("超过" is strict)
    {first_exceeds: annual_revenue_wan, previous: previous_peak_revenue_wan,
     thresholds: [100000, 200000], strict: true}       current crosses a threshold for the first time
                                                       (strict: "超过", above it; otherwise reaching it)
    {either: [cond, cond, ...]}                        at least one sub-condition holds
    {all: [cond, cond, ...]}                           every sub-condition holds (a path inside `either`)
    {use: in_jilin}                                    a named condition (data/conditions.yaml), as written
                                                       there; a `label` or `hint` beside `use` replaces its own

Every condition may carry `label` (plain Chinese: what the clause requires) and `hint`
(what would change the outcome); otherwise both are generated from the field labels.

A condition is *attainable* when the firm can still meet it by acting (a milestone, a threshold, a
plan); one that reads only identity facts (`Field.fixed`: location, sector, role…) is not.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from portal.formatting import money
from portal.policy.translations import TranslationError, Translations, pick
from portal.policy.translations import parse as parse_translations
from portal.policy.wording import _, join_and, join_both, join_enum, join_list, join_or
from portal.profile.fields import FIELDS_BY_NAME, Field

Profile = Mapping[str, Any]
Truth = bool | None

OPERATORS = ("is_in", "any_of", "all_of", "is_true", "at_least", "more_than")


@dataclass(frozen=True)
class Condition:
    kind: str  # one of OPERATORS, "first_exceeds", "either" or "all"
    fact: str = ""
    values: tuple[Any, ...] = ()
    number: float = 0.0
    previous: str = ""
    children: tuple[Condition, ...] = ()
    label: str = ""
    hint: str = ""
    strict: bool = False  # first_exceeds: "超过" (above) rather than "突破/达到" (reaching)
    tr: Translations = ()  # unofficial ko/en wording of label and hint (portal/policy/translations.py)

    def local(self, name: str, lang: str) -> str:
        """`label` or `hint` in `lang` when translated, else the Chinese."""
        return pick(self.tr, lang, name) or getattr(self, name)

    def __post_init__(self) -> None:
        # Matching evaluates conditions millions of times: bind the function and the option set once.
        object.__setattr__(self, "_fn", _EVALUATORS[self.kind])
        object.__setattr__(self, "value_set", frozenset(self.values))

    # -- evaluation -----------------------------------------------------------------------
    def evaluate(self, profile: Profile) -> Truth:
        return self._fn(self, profile)  # type: ignore[attr-defined]

    def facts(self) -> frozenset[str]:
        """Profile fields this condition reads (worked out once: the questionnaire asks it on every answer)."""
        return self._facts

    @cached_property
    def _facts(self) -> frozenset[str]:
        if self.kind in ("either", "all"):
            return frozenset().union(*(c.facts() for c in self.children))
        if self.kind == "first_exceeds":
            return frozenset((self.fact, self.previous))
        return frozenset((self.fact,))

    def asks(self, profile: Profile) -> frozenset[str]:
        """The facts worth asking now: e.g. the earlier peak only once this year crosses a threshold."""
        if self.kind in ("either", "all"):
            return frozenset().union(*(c.asks(profile) for c in self.children))
        if self.kind == "first_exceeds":
            current = profile.get(self.fact)
            if current is None or not any(_reached(float(current), t, self.strict) for t in self.values):
                return frozenset((self.fact,))
        return self.facts()

    @cached_property
    def attainable(self) -> bool:
        """Can the firm still meet this by acting? False when it reads only identity facts."""
        return any(not FIELDS_BY_NAME[name].fixed for name in self.facts())

    @cached_property
    def is_detail(self) -> bool:
        """Reads only details (city amount, loan…), asked once the rest of the measure holds."""
        return all(FIELDS_BY_NAME[name].detail for name in self.facts())

    def open_options(self, profile: Profile) -> dict[str, set[str]]:
        """Option codes worth offering for this profile, per choice/multi field.

        Nothing once the condition is met, nor for a part an identity fact has ruled out (a domestic
        firm's "foreign firm coming to Jilin" path); a plan not ticked yet stays on offer.
        """
        outcome = self.evaluate(profile)
        if outcome is True or (outcome is False and not self.attainable):
            return {}
        if self.kind in ("either", "all"):
            out: dict[str, set[str]] = {}
            for child in self.children:
                for name, codes in child.open_options(profile).items():
                    out.setdefault(name, set()).update(codes)
            return out
        if self.kind in ("is_in", "any_of", "all_of"):
            return {self.fact: set(self.values)}
        return {}

    # -- wording --------------------------------------------------------------------------
    def describe(self, lang: str = "zh") -> str:
        """What the clause requires, in plain words (Chinese unless `lang` is ko or en)."""
        label = self.local("label", lang)
        if label:
            return label
        if self.kind == "either":
            if lang not in ("ko", "en"):
                return "或".join(f"（{c.describe()}）" for c in self.children)
            return join_or([f"({c.describe(lang)})" for c in self.children], lang)
        if self.kind == "all":
            return join_both([c.describe(lang) for c in self.children], lang)
        f = FIELDS_BY_NAME[self.fact]
        if self.kind in ("is_in", "any_of"):
            return _("%(question)s：%(options)s", lang, question=_field_label(f, lang),
                     options=join_or([_option_label(f, v, lang) for v in self.values], lang))
        if self.kind == "all_of":
            return _("%(question)s：%(options)s", lang, question=_field_label(f, lang),
                     options=join_and([_option_label(f, v, lang) for v in self.values], lang))
        if self.kind == "is_true":
            return _("%(question)s：是", lang, question=_field_label(f, lang))
        if self.kind == "at_least":
            return _("%(question)s不低于%(amount)s", lang, question=_field_label(f, lang, full=True),
                     amount=_quantity(self.number, f, lang))
        if self.kind == "more_than":
            return _("%(question)s超过%(amount)s", lang, question=_field_label(f, lang, full=True),
                     amount=_quantity(self.number, f, lang))
        if lang in ("ko", "en"):
            thresholds = join_or([_quantity(t, f, lang) for t in self.values], lang)
        else:
            thresholds = "、".join(_quantity(t, f, lang) for t in self.values)
        if self.strict:
            return _("%(question)s首次超过%(amounts)s", lang, question=_field_label(f, lang, full=True),
                     amounts=thresholds)
        return _("%(question)s首次突破%(amounts)s", lang, question=_field_label(f, lang, full=True),
                 amounts=thresholds)

    def describe_met(self, profile: Profile, lang: str = "zh") -> str:
        """How this firm meets the condition, e.g. "所属行业：中药" rather than the clause's whole list."""
        if self.kind == "either":
            met = next((c for c in self.children if c.evaluate(profile) is True), None)
            return met.describe_met(profile, lang) if met else self.describe(lang)
        if self.kind == "all":
            return join_list([c.describe_met(profile, lang) for c in self.children], lang)
        if self.kind in ("any_of", "is_in") and self.fact in FIELDS_BY_NAME:
            value = profile.get(self.fact)
            chosen = [v for v in (value if isinstance(value, list) else [value]) if v in self.value_set]  # type: ignore[attr-defined]
            if chosen:
                f = FIELDS_BY_NAME[self.fact]
                return _("%(question)s：%(options)s", lang, question=_field_label(f, lang),
                         options=join_enum([_option_label(f, v, lang) for v in chosen], lang))
        return self.describe(lang)

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


def _in(item: Any, lang: str) -> str:
    """The ko/en wording of a question or option (Korean falls back to English), else ""."""
    if lang == "ko":
        return getattr(item, "ko", "") or getattr(item, "en", "")
    if lang == "en":
        return getattr(item, "en", "")
    return ""


def _field_label(f: Field, lang: str, full: bool = False) -> str:
    """The question's label as generated wording uses it (Chinese without its bracketed examples)."""
    local = _in(f, lang)
    if local:
        return local if full else local.split(" (")[0].split("(")[0].strip()
    return f.zh if full else _strip_hint(f.zh)


def _option_label(f: Field, code: Any, lang: str) -> str:
    opt = f.option(str(code))
    return (_in(opt, lang) or opt.zh) if opt else str(code)


def _quantity(number: float, f: Field, lang: str) -> str:
    """A threshold with its unit: zh "2,000万元", ko "2,000만 위안", en "CNY 20,000,000"; counts bare."""
    if lang not in ("ko", "en"):
        return f"{_fmt(number)}{f.unit_zh}"
    if f.unit_zh == "万元":
        return money(number, lang)
    if f.unit_zh == "个" and lang == "ko":
        return f"{_fmt(number)}개"
    return _fmt(number)


def _fmt(number: float) -> str:
    return f"{number:,.0f}" if number == int(number) else f"{number:,}"


def _is_in(c: Condition, p: Profile) -> Truth:
    v = p.get(c.fact)
    return None if v is None or v == "" else v in c.value_set  # type: ignore[attr-defined]


def _any_of(c: Condition, p: Profile) -> Truth:
    v = p.get(c.fact)
    return None if v is None else not c.value_set.isdisjoint(v)  # type: ignore[attr-defined]


def _all_of(c: Condition, p: Profile) -> Truth:
    v = p.get(c.fact)
    return None if v is None else c.value_set.issubset(v)  # type: ignore[attr-defined]


def _is_true(c: Condition, p: Profile) -> Truth:
    v = p.get(c.fact)
    return None if v is None else bool(v)


def _at_least(c: Condition, p: Profile) -> Truth:
    v = p.get(c.fact)
    return None if v is None else float(v) >= c.number


def _more_than(c: Condition, p: Profile) -> Truth:
    v = p.get(c.fact)
    return None if v is None else float(v) > c.number


def _reached(value: float, threshold: float, strict: bool) -> bool:
    return value > threshold if strict else value >= threshold


def _first_exceeds(c: Condition, p: Profile) -> Truth:
    current, previous = p.get(c.fact), p.get(c.previous)
    if current is None:
        return None
    crossed = [t for t in c.values if _reached(float(current), t, c.strict)]
    if not crossed:
        return False
    if previous is None:
        return None
    # "首次突破/首次超过": at least one threshold passed now that no earlier year passed.
    return any(not _reached(float(previous), t, c.strict) for t in crossed)


def _combine(decisive: bool) -> Callable[[Condition, Profile], Truth]:
    """either (one True decides) or all (one False decides); otherwise unknown if any child is."""
    def combined(c: Condition, p: Profile) -> Truth:
        unknown = False
        for child in c.children:
            r = child.evaluate(p)
            if r is decisive:
                return decisive
            if r is None:
                unknown = True
        return None if unknown else not decisive
    return combined


_EVALUATORS = {
    "is_in": _is_in,
    "any_of": _any_of,
    "all_of": _all_of,
    "is_true": _is_true,
    "at_least": _at_least,
    "more_than": _more_than,
    "first_exceeds": _first_exceeds,
    "either": _combine(True),
    "all": _combine(False),
}


class ConditionError(ValueError):
    """A condition in the data is malformed (message names the problem)."""


def parse_condition(raw: Any, named: Mapping[str, Condition] | None = None) -> Condition:
    """Build a Condition from its YAML mapping, checking field names and option codes.

    `named` holds the conditions a `{use: name}` may refer to (see data/conditions.yaml).
    """
    if not isinstance(raw, Mapping):
        raise ConditionError(f"condition must be a mapping, got {raw!r}")
    condition = _parse_condition(raw, named)
    if not any(lang in raw for lang in ("ko", "en")):
        return condition
    try:
        tr = parse_translations(raw, ("label", "hint"))
    except TranslationError as exc:
        raise ConditionError(str(exc)) from exc
    # A `{use: name}` with its own wording keeps the named condition's translations of the other field.
    own = {(lang, name) for lang, name, _ in tr}
    return replace(condition, tr=(*(t for t in condition.tr if (t[0], t[1]) not in own), *tr))


def _parse_condition(raw: Mapping[str, Any], named: Mapping[str, Condition] | None) -> Condition:
    label, hint = str(raw.get("label", "")), str(raw.get("hint", ""))
    allowed_meta = {"label", "hint", "ko", "en"}
    if "use" in raw:
        _only(raw, {"use"} | allowed_meta)
        base = (named or {}).get(raw["use"])
        if base is None:
            known = ", ".join(named or {}) or "none"
            raise ConditionError(f"unknown named condition {raw['use']!r}; the named conditions are: {known}")
        overridden = {key: str(raw[key]) for key in ("label", "hint") if key in raw}
        # The named condition's own translations go with its own wording only.
        kept = tuple(t for t in base.tr if t[1] not in overridden)
        return replace(base, tr=kept, **overridden)
    for combinator in ("either", "all"):
        if combinator in raw:
            _only(raw, {combinator} | allowed_meta)
            children = raw[combinator]
            if not isinstance(children, list) or len(children) < 2:
                raise ConditionError(f"{combinator} needs a list of at least two conditions")
            return Condition(combinator, children=tuple(parse_condition(c, named) for c in children), label=label,
                             hint=hint)
    if "first_exceeds" in raw:
        _only(raw, {"first_exceeds", "previous", "thresholds", "strict"} | allowed_meta)
        fact, previous = raw["first_exceeds"], raw.get("previous")
        for name in (fact, previous):
            _number_field(name)
        thresholds = raw.get("thresholds")
        numeric = isinstance(thresholds, list) and all(isinstance(t, int | float) for t in thresholds)
        if not numeric or not thresholds:
            raise ConditionError("first_exceeds needs numeric thresholds")
        if not isinstance(raw.get("strict", False), bool):
            raise ConditionError("first_exceeds strict must be true or false")
        return Condition("first_exceeds", fact=fact, previous=previous, values=tuple(float(t) for t in thresholds),
                         label=label, hint=hint, strict=raw.get("strict", False))
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
        raise ConditionError(f"{op} needs a number")
    return Condition(op, fact=name, number=float(value), label=label, hint=hint)


def _only(raw: Mapping[str, Any], allowed: set[str]) -> None:
    extra = set(raw) - allowed
    if extra:
        raise ConditionError(f"unexpected key(s) {sorted(extra)} in condition")


def _number_field(name: Any) -> None:
    f = FIELDS_BY_NAME.get(name)
    if f is None or f.kind != "number":
        raise ConditionError(f"{name!r} is not a number field")
