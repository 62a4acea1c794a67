"""Issue 10 §3: typical enterprises reach their results in few questions and few screens (no browser).

The walk mirrors the questionnaire: steps come from `steps_for`, in order, moving forward only; a step
shows the questions (and options) relevant for the answers given so far and grows while it is being
answered; the last step leads to the results; a firm whose sectors are only `other` goes to the results
straight after the sector step.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field
from typing import Any

import pytest

from portal.policy.flow import relevance, steps_for
from portal.policy.matching import grouped, match_profile
from portal.profile.fields import FIELDS_BY_NAME, NOT_APPLICABLE, OTHER_SECTOR, STEPS, gate_open
from portal.profile.validate import DATES_FIELD, clean_value
from tests.factories import TEST_DAY
from tests.personas import PERSONAS, Persona

TODAY = dt.date.fromisoformat(TEST_DAY)
MEDIAN_QUESTIONS = 15
MEDIAN_SCREENS = 8


@dataclass
class Walk:
    persona: Persona
    questions: list[tuple[str, str]] = field(default_factory=list)  # (step code, field name) in order asked
    offered: dict[str, list[str]] = field(default_factory=dict)  # multi questions: the options shown
    pages: list[str] = field(default_factory=list)  # step pages shown, then "results"
    totals: list[int] = field(default_factory=list)  # "第 n 步，共 N 步": N on each step page
    answers: dict[str, Any] = field(default_factory=dict)
    left_unanswered: list[str] = field(default_factory=list)
    eligible: list[str] = field(default_factory=list)
    near_miss: list[str] = field(default_factory=list)

    @property
    def screens(self) -> int:
        return len(self.pages)


def offered_options(name: str, answers: dict[str, Any]) -> list[str]:
    """The options a multiple-choice question shows for these answers (as templates/enterprise/_question.html)."""
    rel = relevance(answers, TODAY)
    return [o.code for o in FIELDS_BY_NAME[name].options if gate_open(o.ask_if, answers) and rel.offers(name, o.code)]


def offered_answer(name: str, persona: dict[str, Any], answers: dict[str, Any]) -> Any:
    """What the firm gives for one question as shown: only the options on offer, else 'does not apply'."""
    f = FIELDS_BY_NAME[name]
    value = persona.get(name)
    if value is None:
        return None if f.kind == "choice" else NOT_APPLICABLE[f.kind]
    if f.kind == "multi":
        shown = offered_options(name, answers)
        return [c for c in value if c in shown]
    return value


def walk(persona: Persona) -> Walk:
    w = Walk(persona)
    seen: set[str] = set()  # answered, or shown and left blank (a choice the firm has no value for)
    order = [s.code for s in STEPS]
    here = -1
    while True:
        steps = steps_for(w.answers, TODAY)
        later = [(s, names) for s, names in steps if order.index(s.code) > here and names]
        if not later:
            break
        step, _ = later[0]
        here = order.index(step.code)
        w.pages.append(step.code)
        # The page shows "共 N 步" once the sector is known (templates/enterprise/step.html); 0: not shown.
        w.totals.append(len(steps) if "sectors" in w.answers else 0)
        while True:  # the step reloads its questions when an answer changes them
            names = dict((s.code, n) for s, n in steps_for(w.answers, TODAY))[step.code]
            pending = [n for n in names if n not in seen]
            if not pending:
                break
            name = pending[0]
            seen.add(name)
            w.questions.append((step.code, name))
            if FIELDS_BY_NAME[name].kind == "multi":
                w.offered[name] = offered_options(name, w.answers)
            value = offered_answer(name, persona.profile, w.answers)
            if value is not None:
                w.answers[name] = clean_value(name, value, TODAY)
                if name == "milestones" and DATES_FIELD in persona.profile:
                    dates = {c: d for c, d in persona.profile[DATES_FIELD].items() if c in w.answers[name]}
                    w.answers[DATES_FIELD] = clean_value(DATES_FIELD, dates, TODAY)
        if w.answers.get("sectors") == [OTHER_SECTOR]:
            break  # "不在覆盖范围内": straight to the results
    w.pages.append("results")  # the last step leads straight to the results (views/enterprise.py::_after)
    w.left_unanswered = [n for _, names in steps_for(w.answers, TODAY) for n in names if n not in seen]
    groups = grouped(match_profile(w.answers, TODAY))
    w.eligible = [r.measure.id for r in groups["eligible"]]
    w.near_miss = [r.measure.id for r in groups["near_miss"]]
    return w


@pytest.fixture(scope="module")
def walks() -> list[Walk]:
    return [walk(p) for p in PERSONAS]


def table(walks: list[Walk]) -> str:
    lines = [f"{'persona':<28} questions screens eligible near_miss  step totals"]
    for w in walks:
        lines.append(f"{w.persona.key:<28} {len(w.questions):>9} {w.screens:>7} {len(w.eligible):>8} "
                     f"{len(w.near_miss):>9}  {w.totals}")
    lines.append(f"{'median':<28} {statistics.median(len(w.questions) for w in walks):>9} "
                 f"{statistics.median(w.screens for w in walks):>7}")
    for w in walks:
        lines.append(f"  {w.persona.name}: {' → '.join(w.pages)}")
        lines.append(f"    {', '.join(f'{s}.{n}' for s, n in w.questions)}")
        for name, codes in w.offered.items():
            if name not in ("sectors",):
                lines.append(f"    {name} 选项: {', '.join(codes)}")
    return "\n".join(lines)


def test_persona_profiles_are_valid_answers() -> None:
    for p in PERSONAS:
        for name, value in p.profile.items():
            assert clean_value(name, value, TODAY) == value, (p.key, name)


def test_median_questions_and_screens_to_results(walks: list[Walk]) -> None:
    print("\n" + table(walks))
    assert len(walks) >= 8
    assert statistics.median(len(w.questions) for w in walks) <= MEDIAN_QUESTIONS, table(walks)
    assert statistics.median(w.screens for w in walks) <= MEDIAN_SCREENS, table(walks)


@pytest.mark.parametrize("persona", PERSONAS, ids=lambda p: p.key)
def test_persona_reaches_results(persona: Persona, walks: list[Walk]) -> None:
    w = next(w for w in walks if w.persona is persona)
    if w.answers.get("sectors") != [OTHER_SECTOR]:  # a firm outside the industry stops after the sectors
        assert not w.left_unanswered, f"{persona.name}: still unanswered after the walk: {w.left_unanswered}"
    if persona.expect_eligible:
        assert w.eligible, f"{persona.name}: nothing eligible\n{table([w])}"
    else:
        assert not w.eligible, f"{persona.name}: {w.eligible}"
    if persona.max_questions is not None:
        assert len(w.questions) <= persona.max_questions, table([w])
    if persona.max_screens is not None:
        assert w.screens <= persona.max_screens, table([w])


@pytest.mark.parametrize("persona", PERSONAS, ids=lambda p: p.key)
def test_step_count_is_stable_while_answering(persona: Persona, walks: list[Walk]) -> None:
    w = next(w for w in walks if w.persona is persona)
    shown = [t for t in w.totals if t]
    assert w.totals[:2] == [0, 0], "before the sector is chosen the total would only shrink: it is not shown"
    assert len(set(shown)) <= 1, f"{persona.name}: 共 N 步 went {w.totals} over {w.pages}"
