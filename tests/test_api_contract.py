"""The API keeps its published contract: GET /api/v1/profile-schema and the validator agree.

Profiles generated from the served schema (hypothesis-jsonschema) are matched with 200; the same profiles
with one constraint broken are refused with 422. Each generated profile is also checked against the schema
with jsonschema, so the test proves the schema states the rule, not only that the validator enforces it.

The credit code's check character cannot be written in JSON Schema. The schema names it with the custom
format "x-credit-code" (which hypothesis-jsonschema and jsonschema ignore unless told) and describes it;
here that format gets a strategy of valid codes and a format checker, so generated codes are valid and a
wrong check character is one of the mutations. The milestone dates' bounds use the formatMinimum and
formatMaximum keywords, which neither library knows: the test adds them to the validator and generates
dates inside the bounds the schema states.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import jsonschema
import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from stdnum.cn import uscc

from portal.profile.validate import CREDIT_CODE_FORMAT, DATES_FIELD, MAX_NUMBER
from portal.views.api import ERROR_BUDGET, MAX_PROBLEMS
from tests.factories import TEST_DAY

DAY = dt.date.fromisoformat(TEST_DAY)
CONTRACT = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])


def _served_schema(client: FlaskClient) -> dict[str, Any]:
    resp = client.get("/api/v1/profile-schema")
    assert resp.status_code == 200
    return resp.get_json()


# -- the schema, read by a validator that knows everything the schema states -----------------------------
def _format_bound(compare: Any) -> Any:
    def check(validator: Any, bound: str, instance: Any, schema: dict[str, Any]) -> Any:
        if isinstance(instance, str) and not compare(instance, bound):
            yield jsonschema.ValidationError(f"{instance!r} is outside {bound}")
    return check


FORMATS = jsonschema.FormatChecker()


@FORMATS.checks(CREDIT_CODE_FORMAT)
def _credit_code(value: object) -> bool:
    return not isinstance(value, str) or uscc.is_valid(value)


Validator = jsonschema.validators.extend(jsonschema.Draft202012Validator, {
    "formatMinimum": _format_bound(lambda value, bound: value >= bound),  # ISO dates sort as strings
    "formatMaximum": _format_bound(lambda value, bound: value <= bound),
})


def _valid_by_schema(schema: dict[str, Any], profile: Any) -> bool:
    return Validator(schema, format_checker=FORMATS).is_valid(profile)


# -- generation ------------------------------------------------------------------------------------------
CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


@st.composite
def credit_codes(draw: st.DrawFn) -> str:
    body = draw(st.text("0123456789", min_size=8, max_size=8)) + draw(st.text(CODE_CHARS, min_size=9, max_size=9))
    return body + uscc.calc_check_digit(body)


def _profiles(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Profiles valid by the schema: each property from its own schema, any subset of them.

    The object level is assembled here (hypothesis-jsonschema 0.23's object strategy no longer runs on
    current Hypothesis); with additionalProperties false and no required keys it is just "optional keys".
    """
    props: dict[str, st.SearchStrategy[Any]] = {}
    for name, prop in schema["properties"].items():
        if name == DATES_FIELD:
            bounds = prop["additionalProperties"]
            dates = st.dates(dt.date.fromisoformat(bounds["formatMinimum"]),
                             dt.date.fromisoformat(bounds["formatMaximum"])).map(dt.date.isoformat)
            props[name] = st.dictionaries(st.sampled_from(prop["propertyNames"]["enum"]), dates, max_size=4)
        else:
            props[name] = from_schema(prop, custom_formats={CREDIT_CODE_FORMAT: credit_codes()})
    return st.fixed_dictionaries({}, optional=props)


def _match(client: FlaskClient, profile: Any) -> Any:
    return client.post("/api/v1/match", json={"profile": profile, "date": TEST_DAY})


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def test_profiles_valid_by_the_schema_are_matched(client: FlaskClient) -> None:
    schema = _served_schema(client)

    @CONTRACT
    @given(_profiles(schema))
    def check(profile: dict[str, Any]) -> None:
        assert _valid_by_schema(schema, profile)
        resp = _match(client, profile)
        assert resp.status_code == 200, (profile, resp.get_json())

    check()


# -- one constraint broken ---------------------------------------------------------------------------------
def _wrong_values(schema: dict[str, Any], name: str, valid: Any) -> list[Any]:
    """Values that break exactly one rule the schema states for property `name`."""
    prop = schema["properties"][name]
    kind = prop["type"]
    out: list[Any] = [None]  # null is never an answer
    if kind == "number":
        out += ["yes", "1_000", "１２３", "12", True, -1, -0.5, MAX_NUMBER * 2, 10 ** 400, [1], {"v": 1}]
    elif kind == "boolean":
        out += ["yes", "true", "1", 1, 0, [], {}]
    elif kind == "array":
        codes = prop["items"]["enum"]
        out += [[codes[0], codes[0]], codes[0], ["no-such-option"], [1], [None], {}, [[codes[0]]]]
    elif kind == "object":  # milestone dates
        code = schema["properties"][name]["propertyNames"]["enum"][0]
        out += [{code: "20200101"}, {code: "2020-1-1"}, {code: "2020-02-30"}, {code: "1979-12-31"},
                {code: (DAY + dt.timedelta(days=1)).isoformat()}, {"no-such-milestone": "2020-01-01"},
                {code: None}, {code: ""}, {code: 20200101}, [], "2020-01-01"]
    elif "enum" in prop:
        out += ["", "no-such-option", [prop["enum"][0]], 1, True, prop["enum"][0].upper() + "!"]
    else:  # text
        out += [123, True, ["text"], {"zh": "x"}, "x" * (prop["maxLength"] + 1), "a\x00b", "a\x07b"]
        if name == "credit_code":
            wrong_check = valid[:-1] + next(c for c in CODE_CHARS if c != valid[-1])
            out += [wrong_check, valid.lower(), valid[:-1], "A" + valid[1:], valid[:8] + " " + valid[8:]]
        if name == "contact_phone":
            out += ["call me", "12", "138-0013-80OO", "+86\t13800138000"]
    return out


@st.composite
def _mutated(draw: st.DrawFn, schema: dict[str, Any],
             profiles: st.SearchStrategy[dict[str, Any]]) -> tuple[dict[str, Any], str]:
    profile = draw(profiles)  # built once by the caller: building it per example cost most of the test's time
    names = sorted(schema["properties"])
    how = draw(st.sampled_from(("value", "value", "value", "unknown key", "date key")))
    if how == "unknown key":
        key = draw(st.text(min_size=1, max_size=20).filter(lambda k: k not in schema["properties"]))
        return {**profile, key: draw(st.sampled_from((1, "x", None, [], {})))}, f"unknown key {key!r}"
    if how == "date key":  # once dropped silently: now an unknown field like any other
        return {**profile, "date": TEST_DAY}, "date inside profile"
    name = draw(st.sampled_from(names))
    valid = profile.get(name) if name != "credit_code" else draw(credit_codes())
    wrong = draw(st.sampled_from(_wrong_values(schema, name, valid)))
    return {**profile, name: wrong}, f"{name}={wrong!r}"[:200]


def test_profiles_breaking_one_constraint_are_refused(client: FlaskClient) -> None:
    schema = _served_schema(client)

    @CONTRACT
    @given(_mutated(schema, _profiles(schema)))
    def check(case: tuple[dict[str, Any], str]) -> None:
        profile, broken = case
        assert not _valid_by_schema(schema, profile), f"the schema does not state the rule broken by {broken}"
        resp = _match(client, profile)
        assert resp.status_code == 422, (broken, resp.get_json())
        assert resp.get_json()["problems"], broken

    check()


def test_the_schema_states_each_rule_the_validator_enforces(client: FlaskClient) -> None:
    props = _served_schema(client)["properties"]
    assert props["credit_code"]["pattern"] == "^[0-9]{8}[0-9A-HJ-NPQRTUWXY]{10}$"
    assert props["credit_code"]["format"] == CREDIT_CODE_FORMAT and "校验码" in props["credit_code"]["description"]
    assert "pattern" in props["contact_phone"]
    dates = props[DATES_FIELD]["additionalProperties"]
    assert (dates["format"], dates["formatMinimum"], dates["formatMaximum"]) == ("date", "1980-01-01", TEST_DAY)
    for prop in props.values():
        assert "null" not in json.dumps(prop.get("type"))
        if prop["type"] == "array":
            assert prop["uniqueItems"] is True
        if prop["type"] == "number":
            assert (prop["minimum"], prop["maximum"]) == (0, MAX_NUMBER)


# -- the request around the profile ------------------------------------------------------------------------
def test_the_top_level_date_still_sets_the_match_day(client: FlaskClient) -> None:
    later = client.post("/api/v1/match", json={"profile": {"location": "changchun_new_area"}, "date": "2027-02-01"})
    assert later.status_code == 200 and later.get_json()["date"] == "2027-02-01"
    bare = client.post("/api/v1/match", json={"location": "changchun_new_area", "date": "2027-02-01"})
    assert bare.status_code == 200 and bare.get_json()["date"] == "2027-02-01"
    inside = client.post("/api/v1/match", json={"profile": {"location": "changchun_new_area", "date": "2027-02-01"}})
    assert inside.status_code == 422 and [p["field"] for p in inside.get_json()["problems"]] == ["date"]
    for bad in ("20270201", None, "2027-02-30", 20270201):
        assert client.post("/api/v1/match", json={"profile": {}, "date": bad}).status_code == 422, bad
    assert client.post("/api/v1/match", json={"profile": {}, "extra": 1}).status_code == 422
    # Milestone dates are bounded by the match day, not the server's.
    dated = {"milestones": ["clinical_trial_approval"], DATES_FIELD: {"clinical_trial_approval": "2027-01-15"}}
    assert client.post("/api/v1/match", json={"profile": dated, "date": "2027-02-01"}).status_code == 200
    assert client.post("/api/v1/match", json={"profile": dated, "date": "2026-06-01"}).status_code == 422


def test_an_error_is_never_larger_than_the_request(client: FlaskClient) -> None:
    for count in (200, 2_000, 20_000):
        body = json.dumps({"profile": {f"unknown_{i}": 1 for i in range(count)}}).encode()
        resp = client.post("/api/v1/match", data=body, content_type="application/json")
        answer = resp.get_json()
        # A request smaller than ERROR_BUDGET may get up to that much back: still a few kB at most.
        assert resp.status_code == 422 and len(resp.data) <= max(len(body), ERROR_BUDGET)
        assert 0 < len(answer["problems"]) <= MAX_PROBLEMS and answer["problem_count"] == count
    # A small request still hears about each of its few problems.
    few = client.post("/api/v1/match", json={"profile": {"a": 1, "b": 2, "location": "mars"}})
    assert len(few.get_json()["problems"]) == 3 and "problem_count" not in few.get_json()
    # One very long unknown key is echoed back shortened, not twice in full.
    long_key = json.dumps({"profile": {"k" * 50_000: 1}}).encode()
    resp = client.post("/api/v1/match", data=long_key, content_type="application/json")
    assert resp.status_code == 422 and len(resp.data) < 1_000
    # Beyond the size the API reads at all: a short 413.
    huge = json.dumps({"profile": {f"unknown_{i}": 1 for i in range(100_000)}}).encode()
    resp = client.post("/api/v1/match", data=huge, content_type="application/json")
    assert resp.status_code == 413 and len(resp.data) < 1_000


def test_a_500_does_not_claim_the_input_was_saved(app: Flask, client: FlaskClient,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("simulated failure")

    monkeypatch.setattr("portal.views.api.match_profile", broken)
    api = client.post("/api/v1/match", json={"profile": {}})
    assert api.status_code == 500 and "已保存" not in api.get_json()["detail"]
    assert "可能未保存" in api.get_json()["detail"]
    monkeypatch.setattr("portal.views.params.catalog", broken)  # /measures/<id> looks the measure up there
    page = client.get("/measures/d003-01")
    assert page.status_code == 500
    assert "已保存" not in page.get_data(as_text=True) and "可能未保存" in page.get_data(as_text=True)


# -- the OpenAPI document --------------------------------------------------------------------------------
def _openapi_path(rule: str) -> str:
    """/api/v1/submissions/<int:submission_id>/actions -> /submissions/{submission_id}/actions"""
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.removeprefix("/api/v1"))


def test_the_openapi_document_describes_every_api_route(app: Flask, client: FlaskClient) -> None:
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200
    doc = resp.get_json()
    assert doc["openapi"] == "3.1.0" and doc["servers"] == [{"url": "/api/v1"}]
    routes = {(_openapi_path(r.rule), m.lower()) for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/")
              for m in (r.methods or set()) - {"HEAD", "OPTIONS"}}
    described = {(path, method) for path, item in doc["paths"].items() for method in item}
    assert routes == described
    operation_ids = []
    for path, item in doc["paths"].items():
        for operation in item.values():
            assert operation["responses"] and all(code.isdigit() for code in operation["responses"]), path
            operation_ids.append(operation["operationId"])
            names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert names == set(re.findall(r"{([a-z_]+)}", path)), path
    assert len(operation_ids) == len(set(operation_ids))
    # The profile is the served profile schema itself, not a copy that could drift.
    assert doc["components"]["schemas"]["Profile"] == client.get("/api/v1/profile-schema").get_json()
    for schema in doc["components"]["schemas"].values():
        Validator.check_schema(schema)
    refs = re.findall(r'"\$ref": "#/components/schemas/([A-Za-z]+)"', json.dumps(doc))
    assert refs and set(refs) <= set(doc["components"]["schemas"])
