"""Questionnaire: derived branching, step saves, autosave with versions, cross-device sync, results."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from flask import Flask
from stdnum.cn import uscc

from portal.extensions import db
from portal.models import Answer, Enterprise
from portal.profile.flow import steps_for
from tests.conftest import Browser

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
    page = logged_in.get("/q/business").get_data(as_text=True)
    assert "进口化妆品境内责任人" not in page
    logged_in.post("/q/answer/sectors", {"sectors__present": "1", "sectors": ["cosmetics"]})
    assert "进口化妆品境内责任人" in logged_in.get("/q/business").get_data(as_text=True)


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
    logged_in.get("/q/location")
    resp = logged_in.post("/q/location", {"location": "zhonghan_zone", "go": "back"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/q/identity")


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


def test_sync_sends_answers_changed_elsewhere(logged_in: Browser, app: Flask, enterprise_user: dict) -> None:
    assert logged_in.get("/q/sync?since=0").status_code == 204
    desktop = Browser(app.test_client())
    desktop.login(enterprise_user["email"])
    desktop.get("/app")
    desktop.post("/q/answer/location", {"location": "changchun_new_area", "v__location": "0"})
    resp = logged_in.get("/q/sync?since=0&shown=location&shown=ownership")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'id="q-location"' in page and 'hx-swap-oob="true"' in page
    assert 'value="changchun_new_area" checked' in page
    assert 'data-revision="1"' in page
    assert logged_in.get("/q/sync?since=1").status_code == 204
    assert logged_in.get("/q/sync?since=abc").status_code == 400


def test_review_page_has_a_change_link_per_answer(logged_in: Browser) -> None:
    logged_in.post("/q/answer/location", {"location": "zhonghan_zone"})
    page = logged_in.get("/q/review").get_data(as_text=True)
    assert "中韩(长春)国际合作示范区" in page
    assert page.count('class="change"') >= 5 and "/q/location#q-location" in page


def test_results_explain_value_validity_and_contacts(logged_in: Browser) -> None:
    for name, value in [("location", "zhonghan_zone"), ("sectors", ["medical_device"]),
                        ("roles", ["device_registrant"]), ("device_classes", ["class3"])]:
        data = {name: value}
        if isinstance(value, list):
            data[f"{name}__present"] = "1"
        assert logged_in.post(f"/q/answer/{name}", data).status_code == 200
    page = logged_in.get("/results").get_data(as_text=True)
    assert "符合条件" in page and "根据《" in page and "万元" in page
    assert "牵头单位" in page and "联系方式待管理员补充" in page
    fragment = logged_in.get("/results?show=all", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and "差一项条件" in fragment and "只差一项" in fragment


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
    logged_in.get("/lang/ko?next=/q/location")
    page = logged_in.get("/q/location").get_data(as_text=True)
    assert "企业所在地" in page and "소재지" in page and "중한(창춘)국제협력시범구" in page
