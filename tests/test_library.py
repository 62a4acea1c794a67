"""Policy library pages and JSON API: filters, Chinese search, validity against a fixed today."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from portal.policy.catalog import catalog
from portal.policy.sources import SOURCES_DIR, SourceText, load_source, squash
from portal.services import library
from tests.factories import Browser, make_user


def _card_ids(page: str) -> set[str]:
    return set(re.findall(r'<h3><a href="/measures/([^"]+)">', page))


def test_library_defaults_to_enterprise_facing_measures_and_agrees_with_home(client: FlaskClient) -> None:
    cat = catalog()
    facing = {m.id for m in cat.measures.values() if m.is_enterprise_facing}
    assert library.default_count() == len(facing) < len(cat.measures)
    page = client.get("/measures").get_data(as_text=True)
    assert f"共 {len(facing)} 条" in page and _card_ids(page) == facing
    home = client.get("/").get_data(as_text=True)
    assert f"{len(facing)} 项面向企业的措施" in home and f"浏览政策库（{len(facing)} 条）" in home


def test_audience_filter_reaches_government_internal_clauses(client: FlaskClient) -> None:
    everything = client.get("/measures?audience=all").get_data(as_text=True)
    assert "共 102 条" in everything and len(_card_ids(everything)) == 102
    internal = client.get("/measures?audience=government_internal").get_data(as_text=True)
    ids = _card_ids(internal)
    assert ids and all(catalog().measures[i].audience == "government_internal" for i in ids)
    assert 'value="all"' in internal and "面向企业（默认）" in internal
    # The JSON API keeps its contract: no audience given, no audience filter.
    assert len(client.get("/api/v1/measures").get_json()) == 102


def test_filters_fold_into_details_after_the_search_box(client: FlaskClient) -> None:
    page = client.get("/measures?document=d002&audience=all").get_data(as_text=True)
    assert page.index('name="q"') < page.index("<details class=\"filter-panel\"") < page.index('name="document"')
    assert "筛选（<span id=\"filter-count\">已选 2 项</span>）" in page
    assert "hx-swap-oob" not in page  # a full page has one summary; only htmx swaps update it out of band
    swap = client.get("/measures?document=d002", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in swap and '<span id="filter-count" hx-swap-oob="true">已选 1 项</span>' in swap


def test_a_snippet_per_hit_with_the_term_marked(client: FlaskClient) -> None:
    page = client.get("/measures?q=一致性评价").get_data(as_text=True)
    assert "<mark>一致性评价</mark>" in page
    plain = client.get("/measures").get_data(as_text=True)
    m = catalog().measures["d002-04"]
    assert f'<p class="snippet" lang="zh-Hans">{m.eligibility[:60]}' in plain and "<mark>" not in plain


def test_snippet_escapes_the_text_before_marking() -> None:
    m = replace(catalog().measures["d003-07"], text="前文<b>一致性评价</b>&后文")
    out = library.snippet(m, "一致性 评价")
    assert str(out) == "前文&lt;b&gt;<mark>一致性</mark><mark>评价</mark>&lt;/b&gt;&amp;后文"
    long = replace(m, text="甲" * 50 + "一致性评价" + "乙" * 100)
    cut = str(library.snippet(long, "一致性评价"))
    assert cut.startswith("…") and cut.endswith("…") and "<mark>一致性评价</mark>" in cut
    n = library.PLAIN_SNIPPET
    assert str(library.snippet(m, "")) == m.eligibility[:n] + ("…" if len(m.eligibility) > n else "")


def test_document_page_shows_the_full_text_with_clause_anchors(client: FlaskClient) -> None:
    cat = catalog()
    for doc_id, doc in cat.documents.items():
        page = client.get(f"/documents/{doc_id}").get_data(as_text=True)
        for m in cat.measures_of(doc_id):
            assert f'id="{m.id}"' in page, m.id
            assert f'href="/measures/{m.id}"' in page
        source = load_source(doc)
        view = library.source_view(doc_id)
        shown = "".join(p.text for b in view.blocks for p in b.paragraphs)
        assert squash(shown) == squash(source.body)  # every character of the official text, nothing added
        assert doc.title in page
    page = client.get("/documents/d001").get_data(as_text=True)
    assert "（二十五）强化专业技术支撑。" in page  # hard-wrapped lines are joined into readable paragraphs
    d000 = client.get("/documents/d000").get_data(as_text=True)
    assert "（三）提高审批效能。支持中韩示范区开展医药大健康产业试点示范" in d000


def test_measure_page_links_to_its_clause_in_the_document(client: FlaskClient) -> None:
    page = client.get("/measures/d001-03").get_data(as_text=True)
    assert '<a href="/documents/d001#d001-03">查看原文（第三条在文件中的位置）</a>' in page
    assert "查看原文（第七条在文件中的位置）" in client.get("/measures/d002-07").get_data(as_text=True)
    assert '/documents/d003#d003-s2"' in client.get("/measures/d003-s2").get_data(as_text=True)


def test_document_page_escapes_the_source_text(client: FlaskClient, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    doc = catalog().documents["d002"]
    forged = SourceText(document_id="d002", path=Path("d002.txt"), header={},
                        body="<script>alert(1)</script>\n" + load_source(doc).body)
    view = library.build_source_view(forged, catalog().measures_of("d002"))
    monkeypatch.setattr(library, "source_view", lambda _doc_id: view)
    page = client.get("/documents/d002").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_document_page_needs_nothing_outside_the_repository() -> None:
    import portal

    package = Path(portal.__file__).resolve().parent
    assert SOURCES_DIR.resolve().is_relative_to(package)
    assert all((SOURCES_DIR / d.source_file).is_file() for d in catalog().documents.values())


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
