"""Which questions to ask, derived from the measures' conditions (no hand-edited flow).

A question is worth asking when some live measure reads it and no *other* condition of that
measure already fails: only then can the answer still change the result. Identity questions are
always asked because every application form needs them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from portal.policy.catalog import Catalog, catalog
from portal.profile.fields import FIELDS, FIELDS_BY_NAME, IDENTITY_FIELDS, STEPS, Step, gate_open


def relevant_fields(profile: Mapping[str, Any], today: dt.date, cat: Catalog | None = None) -> set[str]:
    cat = cat or catalog()
    relevant = set(IDENTITY_FIELDS)
    for m in cat.enterprise_measures():
        end = m.effective_valid_until
        if end is not None and end < today:
            continue
        outcomes = [(c, c.evaluate(profile)) for c in m.conditions]
        for cond, _ in outcomes:
            facts = cond.facts()
            if facts <= relevant:
                continue
            if not any(o is False and not (c.facts() & facts) for c, o in outcomes if c is not cond):
                relevant |= facts
        if not any(o is False for _, o in outcomes):
            for amount in m.amounts:
                for cond in amount.when:
                    relevant |= cond.facts()
    return {name for name in relevant if gate_open(FIELDS_BY_NAME[name].ask_if, profile)}


def steps_for(profile: Mapping[str, Any], today: dt.date) -> list[tuple[Step, list[str]]]:
    """The steps to show, each with its relevant fields in presentation order."""
    relevant = relevant_fields(profile, today)
    out = []
    for step in STEPS:
        names = [f.name for f in FIELDS if f.step == step.code and f.name in relevant]
        if names:
            out.append((step, names))
    return out
