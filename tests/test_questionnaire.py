"""Questionnaire: derived branching, step saves, autosave with versions, cross-device sync, results."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from flask import Flask
from stdnum.cn import uscc

from portal.extensions import db
from portal.models import Answer, Enterprise
from portal.policy.flow import steps_for
from tests.factories import Browser, autosave

DAY = dt.date(2026, 6, 1)
VALID_USCC = "91220101" + "MA0000000"  # body; the check digit is computed below
VALID_USCC += uscc.calc_check_digit(VALID_USCC)
WRONG_USCC = VALID_USCC[:-1] + ("1" if VALID_USCC[-1] != "1" else "2")  # check digit off by one


def step_codes(profile: dict) -> list[str]:
    return [s.code for s, _ in steps_for(profile, DAY)]


def test_cosmetics_importer_is_never_asked_about_devices() -> None:
    profile = {"location": "zhonghan_zone", "sectors": ["cosmetics"], "roles": ["domestic_responsible_person"]}
    assert "devices" not in step_codes(profile) and "cosmetics" in step_codes(profile)


def test_device_maker_is_not_asked_about_cosmetics() -> None:
    profile = {"location": "zhonghan_zone", "sectors": ["medical_device"], "roles": ["device_registrant"]}
    assert "cosmetics" not in step_codes(profile) and "devices" in step_codes(profile)


def test_domestic_responsible_person_is_offered_only_with_cosmetics(logged_in: Browser) -> None:
    logged_in.post("/q/answer/sectors", {"sectors__present": "1", "sectors": ["chemical_drug"]})
    page = logged_in.get("/q/roles").get_data(as_text=True)
    assert "进口化妆品境内责任人" not in page and "药品上市许可持有人" in page
    logged_in.post("/q/answer/sectors", {"sectors__present": "1", "sectors": ["cosmetics"]})
    page = logged_in.get("/q/roles").get_data(as_text=True)
    assert "进口化妆品境内责任人" in page and "药品上市许可持有人" not in page  # roles follow the sector


def test_questions_follow_the_conditions_of_live_measures() -> None:
    """Outside Jilin, province-only questions stop mattering: fewer questions are asked."""
    inside = steps_for({"location": "changchun_other"}, DAY)
    outside = steps_for({"location": "outside_jilin"}, DAY)
    count = lambda steps: sum(len(names) for _, names in steps)  # noqa: E731
    assert count(outside) < count(inside)


def test_step_post_saves_and_moves_on(logged_in: Browser, app: Flask, enterprise_user: dict) -> None:
    logged_in.get("/q/location")
    resp = logged_in.post("/q/location", {"location": "zhonghan_zone", "ownership": "korean_invested",
                                          "go": "next"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/q/business")
    with app.app_context():
        ent = db.session.get(Enterprise, enterprise_user["enterprise_id"])
        assert json.loads(ent.profile_json)["location"] == "zhonghan_zone"


def test_back_button_goes_to_previous_step(logged_in: Browser) -> None:
    logged_in.get("/q/business")
    resp = logged_in.post("/q/business", {"sectors__present": "1", "sectors": ["tcm"], "go": "back"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/q/location")
    # The first step leads back home: 企业名称 and the other form details are not on the way to results.
    resp = logged_in.post("/q/location", {"location": "zhonghan_zone", "go": "back"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/app")


def test_invalid_answers_show_beside_field_and_in_summary_and_are_not_stored(
        logged_in: Browser, app: Flask, enterprise_user: dict) -> None:
    logged_in.get("/q/identity")
    resp = logged_in.post("/q/identity", {"enterprise_name": "吉林测试药业", "credit_code": WRONG_USCC,
                                          "contact_phone": "abc", "go": "next"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert 'class="error-summary"' in page and 'id="err-credit_code"' in page and 'id="err-contact_phone"' in page
    assert f'value="{WRONG_USCC}"' in page  # what the user typed stays in the field
    with app.app_context():
        rows = {a.field: a for a in db.session.exec(
            __import__("sqlmodel").select(Answer).where(Answer.enterprise_id == enterprise_user["enterprise_id"]))}
    assert "credit_code" not in rows and "contact_phone" not in rows
    assert json.loads(rows["enterprise_name"].value_json) == "吉林测试药业"  # valid answers were kept


def test_valid_credit_code_is_accepted(logged_in: Browser) -> None:
    resp = logged_in.post("/q/answer/credit_code", {"credit_code": VALID_USCC.lower(), "v__credit_code": "0"})
    assert resp.status_code == 200 and "已保存" in resp.get_data(as_text=True)


@pytest.mark.parametrize(("name", "data", "message"), [
    ("annual_revenue_wan", {"annual_revenue_wan": "-5"}, "不能为负数"),
    ("annual_revenue_wan", {"annual_revenue_wan": "1e30"}, "数值过大"),
    ("location", {"location": "mars"}, ""),
    ("sectors", {"sectors__present": "1", "sectors": ["<script>"]}, "无效选项"),
])
def test_autosave_rejects_bad_input(logged_in: Browser, name: str, data: dict, message: str) -> None:
    resp = logged_in.post(f"/q/answer/{name}", data)
    assert resp.status_code == 422
    assert message in resp.get_data(as_text=True)


@pytest.mark.parametrize("typed", ["1234567", "1234567.891", "0.05"])
def test_a_saved_number_comes_back_into_its_field_exactly(logged_in: Browser, typed: str) -> None:
    # The field's value is what gets saved again: a rounded or 1.23457e+06 prefill would lose the answer.
    assert logged_in.post("/q/answer/annual_revenue_wan", {"annual_revenue_wan": typed}).status_code == 200
    page = logged_in.get("/q/figures").get_data(as_text=True)
    assert f'name="annual_revenue_wan" inputmode="decimal" value="{typed}"' in page


def test_unknown_question_is_404(logged_in: Browser) -> None:
    assert logged_in.post("/q/answer/not_a_field", {"not_a_field": "x"}).status_code == 404


def test_two_devices_same_field_conflict_is_shown_not_lost(logged_in: Browser, app: Flask,
                                                          enterprise_user: dict) -> None:
    phone = logged_in
    desktop = Browser(app.test_client())
    desktop.login(enterprise_user["email"])
    desktop.get("/app")
    # Both devices loaded the question at version 0.
    assert phone.post("/q/answer/location", {"location": "zhonghan_zone", "v__location": "0"}).status_code == 200
    clash = desktop.post("/q/answer/location", {"location": "changchun_new_area", "v__location": "0"})
    page = clash.get_data(as_text=True)
    assert clash.status_code == 409 and "另一台设备" in page and "中韩(长春)国际合作示范区" in page
    with app.app_context():
        ent = db.session.get(Enterprise, enterprise_user["enterprise_id"])
        assert json.loads(ent.profile_json)["location"] == "zhonghan_zone"  # first answer not overwritten
    # Having seen the conflict (the fragment carries version 1), the desktop may now decide.
    assert 'name="v__location" value="1"' in page
    assert desktop.post("/q/answer/location", {"location": "changchun_new_area",
                                               "v__location": "1"}).status_code == 200


def test_two_devices_different_fields_merge(logged_in: Browser, app: Flask, enterprise_user: dict) -> None:
    desktop = Browser(app.test_client())
    desktop.login(enterprise_user["email"])
    desktop.get("/app")
    assert logged_in.post("/q/answer/location", {"location": "zhonghan_zone", "v__location": "0"}).status_code == 200
    assert desktop.post("/q/answer/ownership", {"ownership": "domestic", "v__ownership": "0"}).status_code == 200
    with app.app_context():
        profile = json.loads(db.session.get(Enterprise, enterprise_user["enterprise_id"]).profile_json)
    assert profile["location"] == "zhonghan_zone" and profile["ownership"] == "domestic"


def feed_cursor(html: str) -> int:
    match = re.search(r'data-cursor="(\d+)"', html)
    assert match, "the page carries no feed cursor"
    return int(match.group(1))


def test_sync_sends_answers_changed_elsewhere(logged_in: Browser, app: Flask, enterprise_user: dict) -> None:
    cursor = feed_cursor(logged_in.get("/q/location").get_data(as_text=True))
    assert logged_in.get(f"/q/sync?since={cursor}").status_code == 204
    desktop = Browser(app.test_client())
    desktop.login(enterprise_user["email"])
    desktop.get("/app")
    desktop.post("/q/answer/location", {"location": "changchun_new_area", "v__location": "0"})
    resp = logged_in.get(f"/q/sync?since={cursor}&step=location&shown=location&shown=ownership")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'id="q-location"' in page and 'hx-swap-oob="true"' in page
    assert 'value="changchun_new_area" checked' in page
    assert feed_cursor(page) > cursor  # the poll goes on from the new cursor
    assert logged_in.get(f"/q/sync?since={feed_cursor(page)}").status_code == 204
    assert logged_in.get("/q/sync?since=abc").status_code == 400


def test_sync_does_not_echo_an_answer_this_page_saved(logged_in: Browser) -> None:
    cursor = feed_cursor(logged_in.get("/q/location").get_data(as_text=True))
    saved = logged_in.post("/q/answer/location", {"location": "zhonghan_zone", "v__location": "0"})
    assert 'name="v__location" value="1"' in saved.get_data(as_text=True)
    resp = logged_in.get(f"/q/sync?since={cursor}&step=location&shown=location&shown=ownership"
                         "&v__location=1&v__ownership=0")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'id="q-location"' not in page  # only the new cursor
    assert feed_cursor(page) > cursor


def test_sync_reloads_the_step_when_another_device_changes_its_questions(logged_in: Browser, app: Flask,
                                                                        enterprise_user: dict) -> None:
    for name, value in [("location", "changchun_new_area"), ("sectors", ["chemical_drug"]), ("roles", ["mah"])]:
        data = {name: value, f"{name}__present": "1"} if isinstance(value, list) else {name: value}
        logged_in.post(f"/q/answer/{name}", data)
    page = logged_in.get("/q/plans").get_data(as_text=True)
    shown = re.findall(r'name="shown" value="([^"]+)"', page)
    assert shown and "settled_in_new_area" not in shown
    query = f"/q/sync?since={feed_cursor(page)}&step=plans&" + "&".join(f"shown={n}" for n in shown)
    desktop = Browser(app.test_client())
    desktop.login(enterprise_user["email"])
    desktop.get("/app")
    desktop.post("/q/answer/ownership", {"ownership": "domestic"})  # changes nothing the step asks
    resp = logged_in.get(query)
    assert resp.status_code == 200 and "HX-Trigger" not in resp.headers
    desktop.post("/q/answer/plans", {"plans__present": "1", "plans": ["commission_in_new_area"]})
    resp = logged_in.get(query)
    assert resp.status_code == 200 and resp.headers.get("HX-Trigger") == "step-changed"


def test_review_page_has_a_change_link_per_answer(logged_in: Browser) -> None:
    logged_in.post("/q/answer/location", {"location": "zhonghan_zone"})
    page = logged_in.get("/q/review").get_data(as_text=True)
    assert "中韩(长春)国际合作示范区" in page
    assert page.count('class="change"') >= 5 and "/q/location#q-location" in page


def test_results_explain_value_validity_and_contacts(logged_in: Browser) -> None:
    autosave(logged_in, location="zhonghan_zone", sectors=["medical_device"], roles=["device_registrant"],
             device_classes=["class2", "class3"], device_procedures=["class2_standard", "class3_standard"],
             milestones=["class3_first_registration", "device_in_production"])
    page = logged_in.get("/results").get_data(as_text=True)
    assert "可以申请" in page and "根据《" in page and "最高 100 万元" in page  # 003-9, stated maximum
    assert "（牵头单位）" in page or "联系方式待管理员补充" in page
    assert "有效期" in page and "文件未列明申报材料" in page
    # Class II in standard review: 000（三） is one attainable step away and says what would change it.
    assert 'id="r-d000-03"' in page and "只差一项" in page and "怎样可以符合" in page
    fragment = logged_in.get("/results?show=all", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and "暂不符合" in fragment


def test_a_firm_outside_the_industry_is_told_early(logged_in: Browser) -> None:
    logged_in.post("/q/answer/location", {"location": "changchun_other"})
    resp = logged_in.post("/q/business", {"sectors__present": "1", "sectors": ["other"], "go": "next"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/results")
    page = logged_in.get("/results").get_data(as_text=True)
    assert "不在其覆盖范围内" in page or "没有适用于贵企业的措施" in page
    assert logged_in.get("/q").headers["Location"].endswith("/results")


def test_only_options_that_can_change_a_result_are_offered(logged_in: Browser) -> None:
    for name, value in [("location", "zhonghan_zone"), ("sectors", ["cosmetics"]),
                        ("roles", ["domestic_responsible_person"])]:
        data = {name: value, f"{name}__present": "1"} if isinstance(value, list) else {name: value}
        logged_in.post(f"/q/answer/{name}", data)
    milestones = logged_in.get("/q/milestones").get_data(as_text=True)
    # A cosmetics importer is asked no drug or device milestones (each option is a checkbox value).
    for code in ("generic_consistency", "class3_first_registration", "new_drug_certificate", "pharmacopoeia_drafter"):
        assert f'value="{code}"' not in milestones
    plans = logged_in.get("/q/plans").get_data(as_text=True)
    assert 'value="fda_edqm_drug"' not in plans and 'value="site_change"' not in plans


def test_a_condition_already_met_offers_no_further_options(logged_in: Browser) -> None:
    for name, value in [("location", "changchun_new_area"), ("ownership", "domestic"), ("sectors", ["chemical_drug"]),
                        ("roles", ["mah"])]:
        data = {name: value, f"{name}__present": "1"} if isinstance(value, list) else {name: value}
        logged_in.post(f"/q/answer/{name}", data)
    plans = logged_in.get("/q/plans").get_data(as_text=True)
    # Already in 长春新区: "到长春新区落地" changes nothing; coming to the 示范区 still could.
    assert 'value="settle_in_new_area"' not in plans and 'value="settle_in_zhonghan"' in plans
    logged_in.post("/q/answer/plans", {"plans__present": "1", "plans": []})
    # A plan not chosen stays on offer: ticking it later is how a near miss becomes eligible.
    assert 'value="commission_in_new_area"' in logged_in.get("/q/plans").get_data(as_text=True)


def test_a_date_beside_an_unticked_milestone_ticks_it(logged_in: Browser, app: Flask, enterprise_user: dict) -> None:
    for name, value in [("location", "changchun_other"), ("sectors", ["chemical_drug"])]:
        data = {name: value, f"{name}__present": "1"} if isinstance(value, list) else {name: value}
        logged_in.post(f"/q/answer/{name}", data)
    resp = logged_in.post("/q/answer/milestones", {"milestones__present": "1",
                                                    "date__clinical_trial_approval": "2026-03-01"})
    assert resp.status_code == 200
    with app.app_context():
        profile = json.loads(db.session.get(Enterprise, enterprise_user["enterprise_id"]).profile_json)
    assert profile["milestones"] == ["clinical_trial_approval"]
    assert profile["milestone_dates"] == {"clinical_trial_approval": "2026-03-01"}


def test_an_answer_that_changes_the_step_reloads_its_questions(logged_in: Browser) -> None:
    for name, value in [("location", "changchun_new_area"), ("sectors", ["chemical_drug"]), ("roles", ["mah"])]:
        data = {name: value, f"{name}__present": "1"} if isinstance(value, list) else {name: value}
        logged_in.post(f"/q/answer/{name}", data)
    page = logged_in.get("/q/plans").get_data(as_text=True)
    assert 'id="q-settled_in_new_area"' not in page  # a detail: asked once the commission itself is given
    resp = logged_in.post("/q/answer/plans", {"plans__present": "1", "plans": ["commission_in_new_area"]})
    assert resp.headers.get("HX-Trigger") == "step-changed"
    assert 'id="q-settled_in_new_area"' in logged_in.get("/q/plans").get_data(as_text=True)
    same = logged_in.post("/q/answer/plans", {"plans__present": "1", "plans": ["commission_in_new_area"]})
    assert "HX-Trigger" not in same.headers


def test_without_javascript_new_questions_of_a_step_are_shown_before_moving_on(logged_in: Browser) -> None:
    for name, value in [("location", "changchun_new_area"), ("sectors", ["chemical_drug"]), ("roles", ["mah"])]:
        data = {name: value, f"{name}__present": "1"} if isinstance(value, list) else {name: value}
        logged_in.post(f"/q/answer/{name}", data)
    logged_in.get("/q/plans")
    resp = logged_in.post("/q/plans", {"plans__present": "1", "plans": ["commission_in_new_area"], "go": "next"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/q/plans#q-settled_in_new_area")
    page = logged_in.get("/q/plans").get_data(as_text=True)
    assert 'id="q-settled_in_new_area"' in page and "本页新增了" in page
    done = logged_in.post("/q/plans", {"plans__present": "1", "plans": ["commission_in_new_area"],
                                       "settled_in_new_area": "no", "go": "next"})
    assert done.status_code == 302 and "/q/plans" not in done.headers["Location"]


def test_registration_answers_are_not_asked_again(client) -> None:  # type: ignore[no-untyped-def]
    browser = Browser(client)
    page = browser.get("/register")
    assert page.status_code == 200
    resp = browser.post("/register", {"enterprise_name": "长春注册复用药业有限公司", "name": "赵六",
                                      "email": "reuse@example.cn", "password": "correct horse battery",
                                      "password2": "correct horse battery"})
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]  # same answer as for a known e-mail
    browser.login("reuse@example.cn", "correct horse battery")
    form = browser.get("/q/identity").get_data(as_text=True)
    assert 'value="长春注册复用药业有限公司"' in form and 'value="赵六"' in form
    assert browser.get("/q").headers["Content-Location"].endswith("/q/location")  # not the form details first


def test_profile_schema_lists_fields_with_chinese_labels(client) -> None:  # type: ignore[no-untyped-def]
    schema = client.get("/api/v1/profile-schema").get_json()
    loc = schema["properties"]["location"]
    assert "zhonghan_zone" in loc["enum"] and loc["x-enum-labels"]["zhonghan_zone"]["zh"] == "中韩(长春)国际合作示范区"
    assert schema["properties"]["annual_revenue_wan"]["type"] == "number"


def test_match_api_returns_results_and_422_problems(client) -> None:  # type: ignore[no-untyped-def]
    ok = client.post("/api/v1/match", json={"profile": {"location": "zhonghan_zone", "sectors": ["medical_device"],
                                                        "device_classes": ["class3"]}, "date": "2026-06-01"})
    body = ok.get_json()
    assert ok.status_code == 200 and body["date"] == "2026-06-01"
    assert any(r["status"] == "eligible" for r in body["results"])
    later = client.post("/api/v1/match", json={"profile": {"location": "changchun_new_area"}, "date": "2027-02-01"})
    assert any(r["status"] == "expired" for r in later.get_json()["results"])  # document 002 ended 2026-12-31
    bad = client.post("/api/v1/match", json={"profile": {"location": "mars", "annual_revenue_wan": "lots",
                                                         "no_such_field": 1}})
    problems = {p["field"] for p in bad.get_json()["problems"]}
    assert bad.status_code == 422 and {"location", "annual_revenue_wan", "no_such_field"} <= problems
    assert client.post("/api/v1/match", data="not json", content_type="application/json").status_code == 422


def test_korean_labels_follow_the_chinese_when_chosen(logged_in: Browser) -> None:
    assert "소재지" not in logged_in.get("/q/location").get_data(as_text=True)
    logged_in.post("/lang", {"code": "ko", "next": "/q/location"})
    page = logged_in.get("/q/location").get_data(as_text=True)
    assert "企业所在地" in page and "소재지" in page and "중한(창춘)국제협력시범구" in page
