"""The test cases kept beside the rules (portal/policy/data/measures/*.yaml), run as one table."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.policy.catalog import catalog
from portal.policy.matching import evaluate

# Cases are judged on a fixed day inside every printed validity period.
CASE_DAY = dt.date(2026, 6, 1)

CASES = [(m.id, c) for m in catalog().measures.values() for c in m.cases]


@pytest.mark.parametrize(("measure_id", "case"), CASES, ids=[f"{mid}:{c.name}" for mid, c in CASES])
def test_case_beside_rule(measure_id, case):
    result = evaluate(catalog().measures[measure_id], case.profile, CASE_DAY)
    assert result.status == case.expect, result.reason()


@pytest.mark.parametrize("measure", catalog().enterprise_measures(), ids=lambda m: m.id)
def test_every_enterprise_measure_has_an_eligible_and_a_failing_case(measure):
    expects = {c.expect for c in measure.cases}
    assert "eligible" in expects, f"{measure.id} lacks an eligible case"
    assert expects & {"near_miss", "not_eligible"}, f"{measure.id} lacks a case that is not eligible"
