"""The condition language on its own (portal/policy/conditions.py): each form, unknown answers, parse errors."""

from __future__ import annotations

from typing import Any

import pytest

from portal.policy.conditions import Condition, ConditionError, is_unanswered, parse_condition

REVENUE = {"first_exceeds": "annual_revenue_wan", "previous": "previous_peak_revenue_wan",
           "thresholds": [100000, 200000]}


def cond(**raw: Any) -> Condition:
    return parse_condition(raw)


# -- each form: met, not met, unknown ------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "profile", "expected"), [
    # is_in: a single-choice answer is one of the codes; "" is no answer
    ({"fact": "location", "is_in": ["zhonghan_zone", "changchun_new_area"]}, {"location": "changchun_new_area"}, True),
    ({"fact": "location", "is_in": ["zhonghan_zone"]}, {"location": "jilin_other"}, False),
    ({"fact": "location", "is_in": ["zhonghan_zone"]}, {}, None),
    ({"fact": "location", "is_in": ["zhonghan_zone"]}, {"location": ""}, None),
    # any_of: the multi-choice answer shares a code; an empty list is an answer ("none of them")
    ({"fact": "sectors", "any_of": ["medical_device", "ivd"]}, {"sectors": ["ivd", "cosmetics"]}, True),
    ({"fact": "sectors", "any_of": ["medical_device", "ivd"]}, {"sectors": ["cosmetics"]}, False),
    ({"fact": "sectors", "any_of": ["medical_device", "ivd"]}, {"sectors": []}, False),
    ({"fact": "sectors", "any_of": ["medical_device", "ivd"]}, {}, None),
    # all_of: every code ticked
    ({"fact": "milestones", "all_of": ["class3_first_registration", "device_invention_patent"]},
     {"milestones": ["device_invention_patent", "class3_first_registration", "high_tech_first"]}, True),
    ({"fact": "milestones", "all_of": ["class3_first_registration", "device_invention_patent"]},
     {"milestones": ["class3_first_registration"]}, False),
    ({"fact": "milestones", "all_of": ["class3_first_registration"]}, {}, None),
    # is_true
    ({"fact": "korean_park", "is_true": True}, {"korean_park": True}, True),
    ({"fact": "korean_park", "is_true": True}, {"korean_park": False}, False),
    ({"fact": "korean_park", "is_true": True}, {}, None),
    # at_least ("以上": the threshold itself counts) and more_than ("超过": strictly above)
    ({"fact": "project_investment_wan", "at_least": 3000}, {"project_investment_wan": 3000}, True),
    ({"fact": "project_investment_wan", "at_least": 3000}, {"project_investment_wan": 2999.5}, False),
    ({"fact": "project_investment_wan", "at_least": 3000}, {}, None),
    ({"fact": "project_investment_wan", "more_than": 3000}, {"project_investment_wan": 3000}, False),
    ({"fact": "project_investment_wan", "more_than": 3000}, {"project_investment_wan": 3000.5}, True),
    ({"fact": "project_investment_wan", "more_than": 0}, {"project_investment_wan": "12"}, True),
    ({"fact": "project_investment_wan", "more_than": 3000}, {}, None),
])
def test_each_operator(raw: dict[str, Any], profile: dict[str, Any], expected: bool | None) -> None:
    assert parse_condition(raw).evaluate(profile) is expected


@pytest.mark.parametrize(("current", "previous", "expected"), [
    (None, 50000, None),  # this year unknown
    (90000, None, False),  # below every threshold: no need to know the earlier peak
    (150000, None, None),  # crossed one: whether for the first time depends on the earlier peak
    (150000, 90000, True),  # first time above 10亿
    (150000, 120000, False),  # 10亿 passed before, 20亿 not reached
    (250000, 150000, True),  # 10亿 passed before, 20亿 now for the first time
    (250000, 250000, False),  # both passed before
    (100000, 90000, True),  # reaching the threshold counts ("突破"), unless strict
])
def test_first_exceeds(current: float | None, previous: float | None, expected: bool | None) -> None:
    profile = {k: v for k, v in (("annual_revenue_wan", current), ("previous_peak_revenue_wan", previous))
               if v is not None}
    assert parse_condition(REVENUE).evaluate(profile) is expected


def test_first_exceeds_strict_needs_to_be_above_the_threshold() -> None:
    strict = parse_condition({**REVENUE, "strict": True})
    assert strict.evaluate({"annual_revenue_wan": 100000, "previous_peak_revenue_wan": 90000}) is False
    assert strict.evaluate({"annual_revenue_wan": 100001, "previous_peak_revenue_wan": 90000}) is True
    assert strict.evaluate({"annual_revenue_wan": 100001, "previous_peak_revenue_wan": 100000}) is True
    assert strict.describe() == "上一年度营业收入首次超过100,000万元、200,000万元"
    assert parse_condition(REVENUE).describe() == "上一年度营业收入首次突破100,000万元、200,000万元"


IN_ZONE = {"fact": "location", "is_in": ["zhonghan_zone"]}
IN_PARK = {"fact": "korean_park", "is_true": True}


@pytest.mark.parametrize(("combinator", "zone", "park", "expected"), [
    # either: one True decides; otherwise unknown if any child is
    ("either", "zhonghan_zone", None, True),
    ("either", "jilin_other", None, None),
    ("either", "jilin_other", False, False),
    ("either", None, None, None),
    # all: one False decides; otherwise unknown if any child is
    ("all", "jilin_other", None, False),
    ("all", "zhonghan_zone", None, None),
    ("all", "zhonghan_zone", True, True),
    ("all", "zhonghan_zone", False, False),
])
def test_either_and_all_with_unknown_answers(combinator: str, zone: str | None, park: bool | None,
                                             expected: bool | None) -> None:
    profile = {k: v for k, v in (("location", zone), ("korean_park", park)) if v is not None}
    assert parse_condition({combinator: [IN_ZONE, IN_PARK]}).evaluate(profile) is expected


def test_nested_paths() -> None:
    c = parse_condition({"either": [{"all": [IN_ZONE, IN_PARK]},
                                    {"fact": "plans", "any_of": ["settle_in_zhonghan"]}]})
    assert c.evaluate({"location": "zhonghan_zone", "korean_park": True}) is True
    assert c.evaluate({"location": "outside_jilin", "plans": ["settle_in_zhonghan"]}) is True
    assert c.evaluate({"location": "outside_jilin", "plans": []}) is False
    assert c.evaluate({"location": "zhonghan_zone", "plans": []}) is None  # the park is still unanswered
    assert c.facts() == {"location", "korean_park", "plans"}


# -- named conditions ----------------------------------------------------------------------------------

NAMED = {"in_zone": Condition("is_in", fact="location", values=("zhonghan_zone",), label="位于中韩示范区",
                              hint="示范区内企业适用")}


def test_use_stands_for_the_named_condition() -> None:
    assert parse_condition({"use": "in_zone"}, NAMED) == NAMED["in_zone"]
    inside = parse_condition({"all": [{"use": "in_zone"}, IN_PARK]}, NAMED)
    assert inside.children[0] == NAMED["in_zone"]
    assert inside.evaluate({"location": "zhonghan_zone", "korean_park": True}) is True


def test_label_and_hint_beside_use_replace_the_named_ones() -> None:
    relabelled = parse_condition({"use": "in_zone", "label": "已在示范区设立"}, NAMED)
    assert (relabelled.label, relabelled.hint, relabelled.values) == ("已在示范区设立", "示范区内企业适用",
                                                                       ("zhonghan_zone",))
    rehinted = parse_condition({"use": "in_zone", "hint": "另一提示"}, NAMED)
    assert (rehinted.label, rehinted.hint) == ("位于中韩示范区", "另一提示")
    unlabelled = parse_condition({"use": "in_zone", "label": ""}, NAMED)
    assert unlabelled.label == "" and unlabelled.describe() == "企业所在地：中韩(长春)国际合作示范区"
    assert NAMED["in_zone"].label == "位于中韩示范区"  # the named one itself is untouched


# -- what a condition reads and asks -------------------------------------------------------------------

def test_first_exceeds_asks_for_the_earlier_peak_only_once_a_threshold_is_crossed() -> None:
    c = parse_condition(REVENUE)
    assert c.facts() == {"annual_revenue_wan", "previous_peak_revenue_wan"}
    assert c.asks({}) == {"annual_revenue_wan"}
    assert c.asks({"annual_revenue_wan": 50000}) == {"annual_revenue_wan"}
    assert c.asks({"annual_revenue_wan": 150000}) == {"annual_revenue_wan", "previous_peak_revenue_wan"}


def test_identity_facts_are_not_attainable_details_are_asked_last() -> None:
    assert not cond(**IN_ZONE).attainable  # where the firm is cannot be changed by acting
    assert cond(**IN_PARK).attainable
    assert parse_condition({"either": [IN_ZONE, IN_PARK]}).attainable
    assert cond(fact="project_investment_wan", at_least=3000).is_detail
    assert not cond(**IN_PARK).is_detail


def test_open_options() -> None:
    plans = cond(fact="plans", any_of=["settle_in_zhonghan", "settle_in_new_area"])
    assert plans.open_options({}) == {"plans": {"settle_in_zhonghan", "settle_in_new_area"}}
    assert plans.open_options({"plans": []}) == {"plans": {"settle_in_zhonghan", "settle_in_new_area"}}
    assert plans.open_options({"plans": ["settle_in_zhonghan"]}) == {}  # met: nothing more to offer
    zone = cond(**IN_ZONE)
    assert zone.open_options({"location": "jilin_other"}) == {}  # ruled out by an identity fact
    path = parse_condition({"either": [{"all": [IN_ZONE, IN_PARK]},
                                       {"fact": "plans", "any_of": ["settle_in_zhonghan"]}]})
    assert path.open_options({"location": "outside_jilin"}) == {"plans": {"settle_in_zhonghan"}}
    assert cond(**IN_PARK).open_options({}) == {}  # yes/no and numbers have no options to narrow


def test_missing_questions_and_unanswered() -> None:
    c = parse_condition({"all": [IN_ZONE, IN_PARK]})
    assert c.missing_questions({"location": "zhonghan_zone"}) == ["是否已入驻中韩示范区“韩国医美产业”区中园"]
    assert is_unanswered({"location": ""}, "location") and is_unanswered({}, "location")
    assert not is_unanswered({"sectors": []}, "sectors")


# -- wording -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "text"), [
    ({"fact": "location", "is_in": ["zhonghan_zone", "changchun_new_area"]},
     "企业所在地：中韩(长春)国际合作示范区或长春新区"),
    ({"fact": "sectors", "any_of": ["medical_device", "ivd"]}, "所属行业：医疗器械或体外诊断试剂"),
    ({"fact": "sectors", "all_of": ["medical_device", "ivd"]}, "所属行业：医疗器械和体外诊断试剂"),
    ({"fact": "korean_park", "is_true": True}, "是否已入驻中韩示范区“韩国医美产业”区中园：是"),
    ({"fact": "project_investment_wan", "at_least": 3000}, "重大产业化项目总投资不低于3,000万元"),
    ({"fact": "project_investment_wan", "more_than": 2.5}, "重大产业化项目总投资超过2.5万元"),
    ({"fact": "project_investment_wan", "more_than": 0, "label": "有投资"}, "有投资"),
    ({"either": [IN_ZONE, IN_PARK]},
     "（企业所在地：中韩(长春)国际合作示范区）或（是否已入驻中韩示范区“韩国医美产业”区中园：是）"),
    ({"all": [IN_ZONE, {**IN_PARK, "label": "已入园"}]}, "企业所在地：中韩(长春)国际合作示范区且已入园"),
])
def test_describe(raw: dict[str, Any], text: str) -> None:
    assert parse_condition(raw).describe() == text


def test_describe_met_names_what_this_firm_has() -> None:
    sectors = cond(fact="sectors", any_of=["medical_device", "ivd", "cosmetics"], label="药械妆企业")
    assert sectors.describe_met({"sectors": ["ivd", "health_food"]}) == "所属行业：体外诊断试剂"
    assert sectors.describe_met({"sectors": ["health_food"]}) == "药械妆企业"  # not met: the clause's wording
    path = parse_condition({"either": [{**IN_ZONE, "label": "在示范区"}, {**IN_PARK, "label": "已入园"}]})
    assert path.describe_met({"location": "jilin_other", "korean_park": True}) == "已入园"
    both = parse_condition({"all": [IN_ZONE, {**IN_PARK, "label": "已入园"}]})
    assert both.describe_met({"location": "zhonghan_zone", "korean_park": True}) == \
        "企业所在地：中韩(长春)国际合作示范区；已入园"


# -- parse errors --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "message"), [
    (["location"], "condition must be a mapping"),
    ({"fact": "nowhere", "is_in": ["x"]}, "unknown profile field 'nowhere'"),
    ({"fact": "location"}, "needs `fact` and exactly one of"),
    ({"is_in": ["zhonghan_zone"]}, "needs `fact` and exactly one of"),
    ({"fact": "location", "is_in": ["zhonghan_zone"], "any_of": ["zhonghan_zone"]}, "exactly one of"),
    ({"fact": "location", "is_in": ["zhonghan_zone"], "lable": "x"}, "unexpected key(s) ['lable']"),
    ({"fact": "sectors", "is_in": ["ivd"]}, "is_in needs a choice field; 'sectors' is multi"),
    ({"fact": "location", "any_of": ["zhonghan_zone"]}, "any_of needs a multi field; 'location' is choice"),
    ({"fact": "sectors", "all_of": []}, "all_of needs a non-empty list of option codes"),
    ({"fact": "sectors", "any_of": "ivd"}, "any_of needs a non-empty list of option codes"),
    ({"fact": "location", "is_in": ["zhonghan_zone", "mars"]}, "unknown option code(s) ['mars'] for field 'location'"),
    ({"fact": "korean_park", "is_true": False}, "is_true needs a yes/no field and the value true"),
    ({"fact": "location", "is_true": True}, "is_true needs a yes/no field"),
    ({"fact": "project_investment_wan", "at_least": "3000"}, "at_least needs a number"),
    ({"fact": "korean_park", "more_than": 1}, "'korean_park' is not a number field"),
    ({"either": [IN_ZONE]}, "either needs a list of at least two conditions"),
    ({"all": IN_ZONE}, "all needs a list of at least two conditions"),
    ({"either": [IN_ZONE, IN_PARK], "fact": "location"}, "unexpected key(s) ['fact']"),
    ({"either": [IN_ZONE, {"fact": "location", "is_in": ["mars"]}]}, "unknown option code(s) ['mars']"),
    ({**REVENUE, "thresholds": []}, "first_exceeds needs numeric thresholds"),
    ({**REVENUE, "thresholds": ["10亿"]}, "first_exceeds needs numeric thresholds"),
    ({**REVENUE, "strict": "yes"}, "first_exceeds strict must be true or false"),
    ({**REVENUE, "previous": "korean_park"}, "'korean_park' is not a number field"),
    ({**REVENUE, "previous": None}, "None is not a number field"),
    ({**REVENUE, "at_least": 5}, "unexpected key(s) ['at_least']"),
    ({"use": "in_zone"}, "unknown named condition 'in_zone'; the named conditions are: none"),
])
def test_parse_errors(raw: Any, message: str) -> None:
    with pytest.raises(ConditionError) as exc:
        parse_condition(raw)
    assert message in str(exc.value)


def test_use_errors() -> None:
    with pytest.raises(ConditionError, match="unknown named condition 'in_jilin'; the named conditions are: in_zone"):
        parse_condition({"use": "in_jilin"}, NAMED)
    with pytest.raises(ConditionError, match=r"unexpected key\(s\) \['fact'\]"):
        parse_condition({"use": "in_zone", "fact": "location"}, NAMED)
