"""Hostile input on every form and JSON route, as every kind of user: never a 5xx.

Walks the URL map like tests/test_access.py. Signed-in posts carry the CSRF token so they reach the views;
form field names are read from the page itself where the route has one. A few hundred requests, no Hypothesis:
the point is breadth (every route) with values known to have broken parsers before.
"""

from __future__ import annotations

import itertools
import re
import uuid
from typing import Any

import pytest
from flask import Flask
from werkzeug.routing import Rule

from portal.profile.fields import FIELDS, FIELDS_BY_NAME
from portal.profile.validate import DATES_FIELD
from tests.factories import UNIT, Browser, enterprise, make_user, reviewer, submission_id, submit

pytestmark = pytest.mark.usefixtures("fake_pdf")  # WeasyPrint is not under test here

HUGE = "A" * 99_999 + "長"  # 100 kB
BIG_INT = "9" * 400
CONTROL = "a\x00b\x01c\x1f\x7f\r\n\t"
UNICODE = "\u202eevil\ufeff\u200b\U0001f600\u0301 ＡＢ１２３ ٣ ² \ud7ff"
FORM_VALUES = ("", " ", BIG_INT, "-1", "1e400", "NaN", "inf", "1_000", "１２３", "²", CONTROL, UNICODE,
               "yes", "<script>alert(1)</script>", "../../../etc/passwd", "//evil.example/", "/\t/evil.example",
               "javascript:alert(1)", "' OR 1=1 --", "%00", "0" * 60, "None", "[]", "{}")
FORM_ROUNDS = ("²", BIG_INT, CONTROL + UNICODE)
QUERY_VALUES = ("²", BIG_INT, CONTROL + UNICODE, "x" * 20_000)  # 20 kB: an overlong query
NESTED = "[" * 100_000 + "]" * 100_000
NESTED_OBJECT = '{"a":' * 50_000 + "1" + "}" * 50_000
JSON_BODIES: tuple[str | bytes, ...] = (
    NESTED, NESTED_OBJECT, '{"profile": ' + NESTED + "}", '{"value": ' + NESTED + "}",
    '{"value": 1, "value": 2}', '{"profile": {"location": "zhonghan_zone", "location": "outside_jilin"}}',
    '{"value": ' + BIG_INT + "}", '{"profile": {"annual_revenue_wan": ' + BIG_INT + "}}",
    '{"value": 1e400}', '{"value": NaN}', '{"profile": {"annual_revenue_wan": Infinity}}', '{"value": "\\ud800"}',
    '{"profile": {"enterprise_name": "\\udfff"}}', "null", "[]", '"text"', "true", "1", "", "not json", "{",
    '{"value": null}', '{"value": []}', '{"value": {}}', '{"value": true}', '{"value": ["x", "x"]}',
    '{"value": "' + "x" * 100_000 + '"}', '{"value": "a\\u0000b"}',
    '{"profile": {"sectors": [[]], "milestone_dates": {"clinical_trial_approval": {}}, "good_credit": "yes"}}',
    '{"profile": {"milestone_dates": {"clinical_trial_approval": "99999-01-01"}}, "date": "0001-01-01"}',
    '{"profile": {}, "date": "9999-12-31"}', '{"profile": {}, "date": []}', '{"profile": null}',
    '{"action": [], "comment": {}, "visibility": 1, "to_unit": null}',
    '{"action": "comment", "comment": "' + "评" * 30_000 + '", "visibility": "internal"}',
    '{"action": "forward", "to_unit": "\\u0000", "visibility": "enterprise"}',
    b"\xff\xfe{}",  # not UTF-8
)
QUERY_NAMES = ("since", "limit", "next", "q", "page", "entity", "show", "step", "go", "document", "sector",
               "benefit", "unit", "location", "audience", "shown", "v__location", "lang", "code", "status",
               "sort", "format", "age", "token")
# Posts on the form pages that name no inputs on a page of their own.
FORM_NAMES = ("email", "password", "password2", "current_password", "new_password", "name", "enterprise_name",
              "unit", "comment", "action", "visibility", "to_unit", "scope", "token", "code", "next", "go",
              "next_url", "idempotency_key", "user_id", "role", "unit_id", "phone", "address", "note", "q",
              "remember", "milestones__present", "sectors__present", DATES_FIELD,
              *(f"date__{c}" for c in FIELDS_BY_NAME["milestones"].option_codes()[:2]),
              *(f.name for f in FIELDS), *(f"v__{f.name}" for f in FIELDS[:8]))
# Routes that end the signed-in session under test (covered in their own tests).
SKIP = ("auth.logout", "account.end_all_devices")
INPUT_NAME = re.compile(r'<(?:input|select|textarea)[^>]*\bname="([^"]+)"')
IDENTITIES = ("anonymous", "enterprise", "reviewer", "admin")


def _allowed(rule: str, identity: str) -> bool:
    return rule == "public" or (rule == "login" and identity != "anonymous") or rule == identity


class Walk:
    """The signed-in browsers, sample URL arguments and the list of 5xx seen."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        user, ent = enterprise(app)
        self.submission = submission_id(submit(ent))
        _rev, rev = reviewer(app, UNIT)
        admin = Browser(app.test_client())
        admin.login(make_user(app, "admin")["email"])
        anonymous = Browser(app.test_client())
        anonymous.get("/login")
        self.browsers = {"anonymous": anonymous, "enterprise": ent, "reviewer": rev, "admin": admin}
        for browser in self.browsers.values():
            browser.get("/")  # a CSRF token for the signed-in session
        self.failures: list[tuple[str, str, str, int, str]] = []
        self.sent = 0
        self.values = itertools.cycle(FORM_VALUES)

    def args_for(self, rule: Rule) -> dict[str, Any]:
        samples = {"measure_id": "d003-01", "document_id": "d003", "unit_id": "sp-zhonghan-station",
                   "code": "identity", "name": "location", "token": "not-a-token", "filename": "css/portal.css",
                   "submission_id": self.submission}
        return {a: samples.get(a, 999999 if _is_int(rule, a) else "x") for a in rule.arguments}

    def url(self, rule: Rule, **override: Any) -> str:
        with self.app.test_request_context():
            from flask import url_for

            return url_for(rule.endpoint, **{**self.args_for(rule), **override})

    def check(self, identity: str, method: str, url: str, resp: Any) -> None:
        self.sent += 1
        if resp.status_code >= 500:
            self.failures.append((identity, method, url[:120], resp.status_code, resp.get_data(as_text=True)[:200]))

    def form(self, names: list[str], round_: int) -> dict[str, Any]:
        """Round 0 mixes the values; later rounds give every field the same one (so "²" meets every `id`)."""
        if round_ == 0:
            data: dict[str, Any] = {n: next(self.values) for n in names}
            data[names[0]] = HUGE
        else:
            value = FORM_ROUNDS[(round_ - 1) % len(FORM_ROUNDS)]
            data = dict.fromkeys(names, value)
        for f in FIELDS:  # checkbox groups post lists: a list where one string is expected, and duplicates
            if f.kind == "multi" and f.name in data:
                data[f.name] = [data[f.name], "x", "x"]
        if round_ == len(FORM_ROUNDS):
            data = {n: [v, v] for n, v in data.items()}  # every field twice: a list where one string is expected
        return data


def _bytes(body: str | bytes) -> bytes:
    return body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass")


def _is_int(rule: Rule, arg: str) -> bool:
    return f"<int:{arg}>" in rule.rule


def _form_names(browser: Browser, url: str) -> list[str]:
    page = browser.client.get(url)
    names = INPUT_NAME.findall(page.get_data(as_text=True)) if page.mimetype == "text/html" else []
    return sorted(set(names) - {"csrf_token"}) or list(FORM_NAMES)


@pytest.fixture()
def walk(app: Flask) -> Walk:
    return Walk(app)


def _rules(app: Flask) -> list[Rule]:
    return [r for r in app.url_map.iter_rules() if r.endpoint != "static" and r.endpoint not in SKIP]


def test_every_get_route_survives_hostile_query_and_path(app: Flask, walk: Walk) -> None:
    for rule in _rules(app):
        if "GET" not in (rule.methods or ()):
            continue
        access_rule = app.view_functions[rule.endpoint].access_rule
        for identity, browser in walk.browsers.items():
            # Every parameter gets the same hostile value in a round, so each value meets each parameter.
            for value in QUERY_VALUES if _allowed(access_rule, identity) else QUERY_VALUES[:1]:
                url = walk.url(rule)
                walk.check(identity, "GET", url, browser.client.get(url, query_string=dict.fromkeys(QUERY_NAMES,
                                                                                                   value)))
            strings = [a for a in rule.arguments if not _is_int(rule, a) and a != "filename"]
            if strings and _allowed(access_rule, identity):
                for hostile in (UNICODE, "x" * 5_000, CONTROL.replace("\x00", "")):
                    url = walk.url(rule, **{a: hostile for a in strings})
                    walk.check(identity, "GET", url, browser.client.get(url))
    assert walk.failures == [], walk.failures
    assert walk.sent > 100


def test_every_form_route_survives_hostile_values(app: Flask, walk: Walk) -> None:
    for rule in _rules(app):
        if "POST" not in (rule.methods or ()) or rule.endpoint.startswith("api."):
            continue
        access_rule = app.view_functions[rule.endpoint].access_rule
        for identity, browser in walk.browsers.items():
            url = walk.url(rule)
            allowed = _allowed(access_rule, identity)
            names = _form_names(browser, url) if allowed and "GET" in (rule.methods or ()) else list(FORM_NAMES)
            for n in range(len(FORM_ROUNDS) + 1 if allowed else 1):
                data = walk.form(names, n)
                headers = {"X-Requested-With": "fetch"} if n % 2 else {}
                walk.check(identity, "POST", url, browser.post(url, data, headers=headers))
    assert walk.failures == [], walk.failures


def test_every_json_route_survives_hostile_bodies(app: Flask, walk: Walk) -> None:
    for rule in _rules(app):
        methods = (rule.methods or set()) & {"POST", "PUT", "PATCH", "DELETE"}
        if not rule.endpoint.startswith("api.") or not methods:
            continue
        access_rule = app.view_functions[rule.endpoint].access_rule
        url = walk.url(rule, **({"name": "annual_revenue_wan"} if "name" in rule.arguments else {}))
        for identity, browser in walk.browsers.items():
            bodies = JSON_BODIES if _allowed(access_rule, identity) else JSON_BODIES[:2]
            for method in sorted(methods):
                for i, body in enumerate(bodies):
                    headers = {"X-CSRFToken": browser.token, "Idempotency-Key": str(uuid.uuid4()),
                               "If-Match": ('"0"', '"1"', "W/\"²\"", '"' + BIG_INT + '"')[i % 4]}
                    resp = browser.client.open(url, method=method, data=_bytes(body),
                                               content_type="application/json", headers=headers)
                    walk.check(identity, method, url, resp)
    assert walk.failures == [], walk.failures
    assert all(walk.browsers[i].client.get("/api/v1/me").status_code == 200 for i in IDENTITIES[1:])


# -- the 500s once reachable, each now a clear 4xx ---------------------------------------------------------
def _api_write(browser: Browser, method: str, url: str, body: str | bytes, version: str = '"0"') -> Any:
    return browser.client.open(url, method=method, data=_bytes(body), content_type="application/json",
                               headers={"X-CSRFToken": browser.token, "Idempotency-Key": str(uuid.uuid4()),
                                        "If-Match": version})


def test_deeply_nested_json_is_refused_not_a_recursion_error(walk: Walk) -> None:
    anonymous, ent, rev = (walk.browsers[i] for i in ("anonymous", "enterprise", "reviewer"))
    for body in (NESTED, NESTED_OBJECT, '{"profile": ' + NESTED + "}"):
        resp = anonymous.client.post("/api/v1/match", data=body, content_type="application/json")
        assert resp.status_code == 422 and "嵌套" in resp.get_json()["error"]
    put = _api_write(ent, "PUT", "/api/v1/answers/annual_revenue_wan", '{"value": ' + NESTED + "}")
    assert put.status_code == 400 and "嵌套" in put.get_json()["error"]
    action = _api_write(rev, "POST", f"/api/v1/submissions/{walk.submission}/actions", NESTED, '"1"')
    assert action.status_code == 400 and "嵌套" in action.get_json()["error"]
    # Within the limit, nesting is only a wrong type: 422 as before.
    shallow = _api_write(ent, "PUT", "/api/v1/answers/annual_revenue_wan", '{"value": [[[1]]]}')
    assert shallow.status_code == 422


def test_a_400_digit_number_is_refused_with_a_message(app: Flask, walk: Walk) -> None:
    ent = walk.browsers["enterprise"]
    api = _api_write(ent, "PUT", "/api/v1/answers/annual_revenue_wan", '{"value": ' + BIG_INT + "}")
    assert api.status_code == 422 and "过大" in api.get_json()["error"]
    match = walk.browsers["anonymous"].client.post(
        "/api/v1/match", data='{"profile": {"annual_revenue_wan": ' + BIG_INT + "}}", content_type="application/json")
    assert match.status_code == 422 and "过大" in match.get_json()["problems"][0]["message"]
    for typed, message in ((BIG_INT, "过大"), ("1" + "0" * 39, "过大"), ("1e400", "过大"), ("1_000", "应为数字"),
                           ("٣", "应为数字"), ("NaN", "应为数字")):
        autosave = ent.post("/q/answer/annual_revenue_wan", {"annual_revenue_wan": typed})
        assert autosave.status_code == 422 and message in autosave.get_data(as_text=True), typed
    step = ent.post("/q/figures", {"annual_revenue_wan": BIG_INT, "v__annual_revenue_wan": BIG_INT})
    assert step.status_code == 422 and "上一年度营业收入" in step.get_data(as_text=True)
    # Full-width digits typed with a Chinese input method are still read in a form.
    assert ent.post("/q/answer/annual_revenue_wan", {"annual_revenue_wan": "１，２５０"}).status_code == 200
