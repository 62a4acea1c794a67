"""Policy library pages and JSON API: filters, Chinese search, validity against a fixed today."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import Browser, make_user


def test_library_lists_every_measure(client: FlaskClient) -> None:
    page = client.get("/measures").get_data(as_text=True)
    assert "共 102 条" in page


def test_chinese_substring_search(client: FlaskClient) -> None:
    page = client.get("/measures?q=一致性评价").get_data(as_text=True)
    assert "d003-07" in page
    assert "共 0 条" not in page
    none = client.get("/measures?q=量子计算机").get_data(as_text=True)
    assert "共 0 条" in none and "没有符合条件的措施" in none


def test_filters_combine(client: FlaskClient) -> None:
    page = client.get("/measures?document=d002&benefit=matching_reward").get_data(as_text=True)
    assert "d002-04" in page and "d003-" not in page
    api = client.get("/api/v1/measures?document=d002&benefit=matching_reward").get_json()
    assert api and all(m["document"]["id"] == "d002" and "matching_reward" in m["benefit_kinds"] for m in api)


def test_unit_and_location_filters(client: FlaskClient) -> None:
    zone = client.get("/api/v1/measures?location=zhonghan_zone").get_json()
    assert {m["id"] for m in zone} >= {f"d000-0{i}" for i in range(1, 7)}
    assert not any(m["document"]["id"] == "d002" for m in zone)  # 长春新区 measures are not zone-only
    new_area = client.get("/api/v1/measures?location=changchun_new_area").get_json()
    assert new_area and all(m["document"]["id"] == "d002" for m in new_area)
    by_unit = client.get("/api/v1/measures?unit=jlmpa-admin-approval").get_json()
    from portal.policy.catalog import catalog

    def unit_ids(m: dict) -> set[str]:
        return {u.id for name in m["lead_units"] + m["cooperating_units"] if (u := catalog().unit_by_name(name))}

    assert by_unit and all("jlmpa-admin-approval" in unit_ids(m) for m in by_unit)


def test_measure_page_quotes_clause_and_computes_validity(client: FlaskClient) -> None:
    # Fixed today 2026-06-01; document 002 ends 2026-12-31 -> 213 days.
    page = client.get("/measures/d002-04").get_data(as_text=True)
    assert "还有 <strong>213</strong> 天" in page and "2026年12月31日" in page
    m = client.get("/api/v1/measures/d002-04").get_json()
    assert m["days_left"] == 213 and m["validity"] == "open" and m["valid_until"] == "2026-12-31"


def test_expired_when_today_is_past_the_end(app: Flask, client: FlaskClient) -> None:
    app.config["PORTAL_TODAY"] = "2027-01-15"
    m = client.get("/api/v1/measures/d002-04").get_json()
    assert m["validity"] == "expired" and m["days_left"] < 0
    assert "已过期" in client.get("/measures/d002-04").get_data(as_text=True)


def test_documents_with_old_goals_show_their_issue_date(client: FlaskClient) -> None:
    page = client.get("/documents/d003").get_data(as_text=True)
    assert "2021年12月15日" in page
    assert "2021年12月15日" in client.get("/measures/d003-07").get_data(as_text=True)


def test_units_ship_without_invented_contacts(client: FlaskClient) -> None:
    page = client.get("/units").get_data(as_text=True)
    assert "联系方式待管理员补充" in page
    units = client.get("/api/v1/units").get_json()
    assert any(u["name"] == "创新医疗器械中韩示范服务站" or "中韩示范服务站" in u["name"] for u in units)
    assert all(u["contact"] is None for u in units)  # nothing entered yet, nothing invented


def test_admin_edits_contact_audited_and_shown(app: Flask, client: FlaskClient) -> None:
    admin = make_user(app, "admin")
    browser = Browser(client)
    browser.login(admin["email"])
    browser.get("/admin/units/sp-zhonghan-station")
    bad = browser.post("/admin/units/sp-zhonghan-station", {"phone": "call me maybe", "address": "", "hours": "",
                                                            "email": "", "web": ""})
    assert bad.status_code == 422
    ok = browser.post("/admin/units/sp-zhonghan-station", {"phone": "0431-00000000", "address": "管理员录入的地址",
                                                           "hours": "", "email": "", "web": ""})
    assert ok.status_code == 302
    assert "管理员录入的地址" in client.get("/units").get_data(as_text=True)
    audit = browser.get("/admin/audit").get_data(as_text=True)
    assert "unit.contact" in audit and "sp-zhonghan-station" in audit
