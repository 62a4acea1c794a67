"""The matching engine: condition forms, what counts as a near miss, and the honest headline."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.policy.catalog import catalog
from portal.policy.conditions import parse_condition
from portal.policy.matching import evaluate, grouped, match_profile, summarize

DAY = dt.date(2026, 6, 1)
IN_JILIN = {"location": "changchun_other"}


# -- condition forms ----------------------------------------------------------------------------
@pytest.mark.parametrize(("raw", "profile", "expected"), [
    ({"fact": "revived_variety_sales_wan", "more_than": 2000}, {"revived_variety_sales_wan": 2000}, False),
    ({"fact": "revived_variety_sales_wan", "more_than": 2000}, {"revived_variety_sales_wan": 2000.5}, True),
    ({"fact": "revived_variety_sales_wan", "more_than": 2000}, {}, None),
    ({"fact": "project_investment_wan", "at_least": 3000}, {"project_investment_wan": 3000}, True),
    # "首次超过10亿元": exactly 10亿 is not above it; "首次突破30亿元": reaching it counts.
    ({"first_exceeds": "annual_revenue_wan", "previous": "previous_peak_revenue_wan", "thresholds": [100000],
      "strict": True}, {"annual_revenue_wan": 100000, "previous_peak_revenue_wan": 50000}, False),
    ({"first_exceeds": "annual_revenue_wan", "previous": "previous_peak_revenue_wan", "thresholds": [100000],
      "strict": True}, {"annual_revenue_wan": 120000, "previous_peak_revenue_wan": 100000}, True),
    ({"first_exceeds": "annual_revenue_wan", "previous": "previous_peak_revenue_wan", "thresholds": [300000]},
     {"annual_revenue_wan": 300000, "previous_peak_revenue_wan": 250000}, True),
    ({"first_exceeds": "annual_revenue_wan", "previous": "previous_peak_revenue_wan", "thresholds": [300000]},
     {"annual_revenue_wan": 400000, "previous_peak_revenue_wan": 300000}, False),
    ({"all": [{"fact": "roles", "any_of": ["mah"]}, {"fact": "plans", "any_of": ["commission_in_new_area"]}]},
     {"roles": ["mah"], "plans": []}, False),
    ({"all": [{"fact": "roles", "any_of": ["mah"]}, {"fact": "plans", "any_of": ["commission_in_new_area"]}]},
     {"roles": ["mah"]}, None),
    ({"all": [{"fact": "roles", "any_of": ["mah"]}, {"fact": "plans", "any_of": ["commission_in_new_area"]}]},
     {"roles": ["mah"], "plans": ["commission_in_new_area"]}, True),
])
def test_condition_forms(raw: dict, profile: dict, expected: bool | None) -> None:
    assert parse_condition(raw).evaluate(profile) is expected


def test_identity_facts_are_not_attainable_but_plans_and_milestones_are() -> None:
    assert not parse_condition({"fact": "location", "is_in": ["zhonghan_zone"]}).attainable
    assert not parse_condition({"fact": "sectors", "any_of": ["cosmetics"]}).attainable
    assert parse_condition({"fact": "milestones", "any_of": ["generic_consistency"]}).attainable
    assert parse_condition({"either": [{"fact": "location", "is_in": ["changchun_new_area"]},
                                       {"fact": "plans", "any_of": ["settle_in_new_area"]}]}).attainable


def test_earlier_peak_is_asked_only_once_this_year_crosses_a_threshold() -> None:
    cond = parse_condition({"first_exceeds": "annual_revenue_wan", "previous": "previous_peak_revenue_wan",
                            "thresholds": [100000], "strict": True})
    assert cond.asks({}) == {"annual_revenue_wan"}
    assert cond.asks({"annual_revenue_wan": 20000}) == {"annual_revenue_wan"}
    assert cond.asks({"annual_revenue_wan": 150000}) == {"annual_revenue_wan", "previous_peak_revenue_wan"}


# -- statuses ------------------------------------------------------------------------------------
def test_a_failed_identity_fact_is_never_a_near_miss() -> None:
    # 000（三） for a device maker outside the zone: the zone is where the firm is, not something it can do.
    m = catalog().measures["d000-03"]
    outside = {"location": "changchun_other", "sectors": ["medical_device"], "device_classes": ["class2"],
               "device_procedures": ["class2_innovative"]}
    assert evaluate(m, outside, DAY).status == "not_eligible"
    inside_standard = {**outside, "location": "zhonghan_zone", "device_procedures": ["class2_standard"]}
    result = evaluate(m, inside_standard, DAY)
    assert result.status == "near_miss" and result.what_would_change()


def test_an_unknown_besides_the_failed_condition_is_not_only_one_step_away() -> None:
    m = catalog().measures["d000-03"]
    result = evaluate(m, {"location": "zhonghan_zone", "sectors": ["medical_device"]}, DAY)
    assert result.status == "needs_info"  # nothing fails yet
    partly = {"location": "zhonghan_zone", "sectors": ["medical_device"], "device_classes": ["class2"],
              "device_procedures": ["class2_standard"]}
    assert evaluate(m, partly, DAY).status == "near_miss"
    d002_05 = catalog().measures["d002-05"]
    # 新区 受托生产 whose settlement is unknown and city support unknown: not "只差一项".
    unknown_more = {"location": "changchun_new_area", "sectors": ["chemical_drug"],
                    "roles": ["contract_manufacturer", "drug_manufacturer"], "settled_in_new_area": False}
    assert evaluate(d002_05, unknown_more, DAY).status == "not_eligible"


def test_a_firm_outside_the_industry_gets_nothing() -> None:
    results = match_profile({"location": "changchun_other", "sectors": ["other"], "plans": [], "milestones": []},
                            DAY)
    groups = grouped(results)
    assert not groups["eligible"] and not groups["near_miss"] and not groups["needs_info"]


def test_class_and_procedure_belong_to_one_product() -> None:
    # Class III in priority review and class II in standard review: no "class II in priority" fast track.
    mixed = {"location": "zhonghan_zone", "sectors": ["medical_device"], "device_classes": ["class2", "class3"],
             "device_procedures": ["class3_priority", "class2_standard"]}
    assert evaluate(catalog().measures["d000-03"], mixed, DAY).status != "eligible"


# -- amounts and the headline ------------------------------------------------------------------
def test_per_variety_maximum_is_multiplied_by_the_count() -> None:
    profile = {**IN_JILIN, "sectors": ["chemical_drug"], "milestones": ["generic_consistency"],
               "consistency_varieties": 3}
    result = evaluate(catalog().measures["d003-07"], profile, DAY)
    assert result.status == "eligible"
    assert result.max_cash_wan == 900 and result.cash[0].count == 3
    assert "300 万元 × 3 = 最高 900 万元" in result.cash[0].text()
    one = evaluate(catalog().measures["d003-07"], {**profile, "consistency_varieties": None}, DAY)
    assert one.max_cash_wan == 300  # unknown count: the stated per-variety maximum, once


def test_a_printed_range_is_shown_as_a_range_and_counted_at_its_floor() -> None:
    profile = {**IN_JILIN, "sectors": ["tcm"], "annual_revenue_wan": 120000, "previous_peak_revenue_wan": 90000}
    result = evaluate(catalog().measures["d003-12"], profile, DAY)
    assert result.status == "eligible"
    assert result.floor_cash_wan == 50 and result.max_cash_wan == 200
    assert "50—200 万元" in result.cash[0].text()
    summary = summarize([result])
    assert summary.cash_wan == 50 and summary.ranges


def test_city_share_is_computed_when_the_city_amount_is_known() -> None:
    m = catalog().measures["d002-07"]
    base = {"location": "changchun_new_area", "sectors": ["medical_device"],
            "milestones": ["class3_first_registration", "device_invention_patent"]}
    unknown = evaluate(m, base, DAY)
    assert unknown.status == "needs_info"  # how much the city granted decides the reward
    granted = evaluate(m, {**base, "city_support_device_wan": 300}, DAY)
    assert granted.status == "eligible" and granted.city[0].computed_wan == 15
    assert "300 万元 × 5% = 15 万元" in granted.city[0].text()
    assert evaluate(m, {**base, "city_support_device_wan": 0}, DAY).status == "near_miss"


def test_headline_counts_by_kind_and_never_says_zero_over_services() -> None:
    profile = {"location": "zhonghan_zone", "ownership": "korean_invested", "sectors": ["cosmetics"],
               "roles": ["domestic_responsible_person"], "cosmetics_activities": ["import_ordinary"],
               "milestones": [], "plans": [], "projects": [], "korean_park": True}
    summary = summarize(match_profile(profile, DAY))
    assert summary.applications > 0 and summary.cash_wan == 0
    kinds = dict(summary.kinds())
    assert kinds.get("服务") and kinds.get("审评审批加速")


def test_order_is_certainty_then_relevance_then_value() -> None:
    profile = {"location": "changchun_new_area", "sectors": ["biologic"], "roles": ["mah", "drug_manufacturer"],
               "milestones": [], "plans": [], "projects": ["biologic_industrialisation"], "biologic_varieties": 2}
    results = match_profile(profile, DAY)
    statuses = [r.status for r in results]
    assert statuses == sorted(statuses, key=["eligible", "near_miss", "needs_info", "not_eligible",
                                             "expired"].index)
    eligible = [r for r in results if r.status == "eligible" and not r.measure.is_information]
    # The clause naming the firm's own sector comes before ones for the whole industry.
    assert eligible[0].relevance >= eligible[-1].relevance


def test_without_a_date_matching_judges_on_the_portals_day() -> None:
    """No `today` given: the portal's clock (Beijing, or PORTAL_TODAY), never the machine's own calendar."""
    from flask import Flask

    app = Flask(__name__)
    profile = {"location": "changchun_new_area", "sectors": ["medical_device"]}
    with app.app_context():
        app.config["PORTAL_TODAY"] = "2027-01-05"  # document 002 ended on 2026-12-31
        late = {r.measure.id: r.status for r in match_profile(profile)}
        app.config["PORTAL_TODAY"] = DAY.isoformat()
        on_day = {r.measure.id: r.status for r in match_profile(profile)}
    assert late["d002-07"] == "expired" and on_day["d002-07"] != "expired"
    assert on_day == {r.measure.id: r.status for r in match_profile(profile, DAY)}
