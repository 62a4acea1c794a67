"""Which questions to ask, derived from the measures' conditions (no hand-edited flow).

A question is worth asking when some live measure reads it and no *other* condition of that
measure already fails: only then can the answer still change the result. The same holds for the
options of a multiple-choice question: a cosmetics importer is offered no drug or device milestones.

Which *steps* exist is decided by identity answers alone (location, sectors, roles…), so the step
count does not move while the firm answers milestones, figures and plans. The identity questions of
the application form (企业名称、信用代码…) change no result: they are asked when a form is prepared,
not on the way to the results.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from portal.policy.catalog import catalog
from portal.policy.records import Catalog
from portal.profile.fields import FIELDS, FIELDS_BY_NAME, STEPS, Step, gate_open

APPLICATION_STEP = "identity"  # asked before a form is generated, not on the way to the results
# Identity questions offer every option (their gates still apply): the firm must be able to say
# what it is, even where that rules a measure out.
ALL_OPTIONS = frozenset(f.name for f in FIELDS if f.fixed)


@dataclass(frozen=True)
class Relevance:
    fields: frozenset[str]
    options: dict[str, frozenset[str]]  # per multi/choice field: the option codes worth offering

    def offers(self, name: str, code: str) -> bool:
        return name in ALL_OPTIONS or name not in self.options or code in self.options[name]


class _Answers:
    """A profile as a cache key: equal answers, equal key (lists and dates frozen)."""

    __slots__ = ("key", "profile")

    def __init__(self, profile: Mapping[str, Any]) -> None:
        self.profile = profile
        self.key = tuple(sorted((k, _frozen(v)) for k, v in profile.items()))

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Answers) and self.key == other.key


def _frozen(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    return value


def relevance(profile: Mapping[str, Any], today: dt.date, cat: Catalog | None = None) -> Relevance:
    """The questions (and options) whose answer can still change a result for this profile.

    Every questionnaire request needs it several times (the steps, the options, the identity-only
    step list, the step before and after an autosave), mostly for answers it has seen already.
    """
    if cat is not None and cat is not catalog():
        return _relevance(profile, today, cat)
    return _remembered_relevance(_Answers(profile), today)


@lru_cache(maxsize=2048)
def _remembered_relevance(answers: _Answers, today: dt.date) -> Relevance:
    return _relevance(answers.profile, today, catalog())


def _relevance(profile: Mapping[str, Any], today: dt.date, cat: Catalog) -> Relevance:
    fields: set[str] = set()
    options: dict[str, set[str]] = {}
    for m in cat.enterprise_measures():
        end = m.effective_valid_until
        if (end is not None and end < today) or m.is_information:
            continue  # information (首违不罚…) states its own condition: it costs the firm no question
        outcomes = [(c, c.evaluate(profile)) for c in m.conditions]
        for cond, outcome in outcomes:
            facts = cond.facts()
            if any(o is False and not (c.facts() & facts) for c, o in outcomes if c is not cond):
                continue
            if outcome is None and cond.is_detail and \
                    not all(o is True for c, o in outcomes if c is not cond and not c.is_detail):
                continue  # a detail (city amount, loan…) waits until the rest of the measure holds
            if outcome is None:
                fields |= cond.asks(profile)
            else:
                # Decided already: keep its answered questions editable, ask nothing new for it.
                fields |= {name for name in facts if name in profile}
            # Met already, its other options change nothing (a firm in 新区 needs no plan to go there).
            for name, codes in cond.open_options(profile).items():
                options.setdefault(name, set()).update(codes)
        if all(o is not False for _, o in outcomes):
            for share in (*m.amounts, *m.city_share):
                for cond in share.when:
                    fields |= cond.facts()
        if all(o is True for _, o in outcomes):
            # "每个品种": how many varieties only matters once the firm qualifies at all.
            fields |= {a.count_fact for a in m.amounts if a.count_fact}
    kept = {name for name in fields if gate_open(FIELDS_BY_NAME[name].ask_if, profile)}
    return Relevance(frozenset(kept), {k: frozenset(v) for k, v in options.items()})


def _identity_only(profile: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in profile.items() if k in FIELDS_BY_NAME and FIELDS_BY_NAME[k].fixed}


def steps_for(profile: Mapping[str, Any], today: dt.date, full: Relevance | None = None
              ) -> list[tuple[Step, list[str]]]:
    """The steps on the way to the results, each with its relevant fields in presentation order.

    A step exists when identity answers make one of its questions relevant; the questions shown in
    it follow every answer. A step whose questions all fell away is kept (with none) so the count
    stays put; the view skips it. `full` is this profile's relevance when the caller has it already.
    """
    by_identity = relevance(_identity_only(profile), today).fields
    asked = (full or relevance(profile, today)).fields
    out = []
    for step in STEPS:
        if step.code == APPLICATION_STEP:
            continue
        if not any(name in by_identity for name in step.fields):
            continue
        out.append((step, [name for name in step.fields if name in asked]))
    return out


def application_fields() -> list[str]:
    """The questions of the application form itself (asked before a PDF or a submission)."""
    return [f.name for f in FIELDS if f.step == APPLICATION_STEP]
