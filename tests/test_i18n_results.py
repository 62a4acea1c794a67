"""Match results, amounts, dates and the public pages in Korean and English (the Chinese is tested elsewhere).

The policy text stays Chinese where the data has no translation yet; every piece of Chinese on a ko/en
page must then sit inside an element marked lang="zh-Hans".
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal.formatting import local_date
from portal.policy.catalog import catalog
from portal.policy.conditions import Condition
from portal.policy.matching import CashLine, CityShareLine, evaluate, match_profile
from portal.policy.records import Amount
from portal.services.calendar import reminder_text
from tests.factories import enterprise
from tests.i18n_pages import has_chinese, stray_chinese
from tests.personas import PERSONAS

TODAY = dt.date(2026, 5, 1)
DEVICE_MAKER = next(p for p in PERSONAS if p.key == "device_zhonghan").profile
# Text of templates other helpers own (base.html's nav, submissions/_apply_button.html), translated there.
NOT_OURS = ("通知", "提交申请", "查看我的申请")


def stray(html: str) -> list[str]:
    return [s for s in stray_chinese(html) if not s.startswith(NOT_OURS) and not s.startswith("：")]


def test_stray_chinese_is_found_outside_zh_hans_only() -> None:
    assert stray_chinese('<p lang="en">Up to <span lang="zh-Hans">万元</span></p>') == []
    assert stray_chinese('<p lang="en">Up to 500 万元</p>') == ["Up to 500 万元"]
    assert stray_chinese('<div lang="zh-Hans"><p>中文<br>继续</p></div><p>外面</p>') == ["外面"]


# --- amounts and dates ---------------------------------------------------------------------

def test_dates_in_each_language() -> None:
    day = dt.date(2026, 6, 1)
    assert local_date(day, "zh") == "2026年6月1日"
    assert local_date(day, "ko") == "2026년 6월 1일"
    assert local_date(day, "en") == "June 1, 2026"
    assert local_date(None, "en") == ""


def test_amount_lines_in_each_language(app: Flask) -> None:
    amount = Amount(max_wan=500, unit="one_off", label="")
    line = CashLine("", "一次性", 500, 500, amount=amount)
    ranged = CashLine("首次突破", "每年度", 50, 200, min_wan=50)
    counted = CashLine("", "每个品种", 600, 600, per_item_wan=200, count=3)
    share = CityShareLine("配套奖励", 50, "一次性", 120, 60)
    with app.app_context():
        assert line.text() == "支持额度：最高 500 万元（一次性）"  # the API's wording, unchanged
        assert line.text("ko") == "지원 한도: 최대 500만 위안(일회성)"
        assert line.text("en") == "Support: up to CNY 5,000,000 (one-off)"
        assert ranged.text("en") == "首次突破: CNY 500,000–CNY 2,000,000 (per year)"
        assert counted.text("en") == "Support: up to CNY 2,000,000 each × 3 = up to CNY 6,000,000"
        assert share.text() == "配套奖励：市级支持 120 万元 × 50% = 60 万元（一次性）"
        assert share.text("en") == "配套奖励: city-level support CNY 1,200,000 × 50% = CNY 600,000 (one-off)"
        assert share.text("ko") == "配套奖励: 시급 지원 120만 위안 × 50% = 60만 위안(일회성)"


def test_generated_condition_wording_uses_the_question_labels(app: Flask) -> None:
    at_least = Condition("at_least", fact="project_investment_wan", number=3000)
    sectors = Condition("any_of", fact="sectors", values=("medical_device", "ivd"))
    either = Condition("either", children=(at_least, sectors))
    with app.app_context():
        assert at_least.describe() == "重大产业化项目总投资不低于3,000万元"
        assert at_least.describe("en") == "Total investment of the major project: at least CNY 30,000,000"
        assert at_least.describe("ko") == "주요 프로젝트 총투자: 3,000만 위안 이상"
        assert " or " in sectors.describe("en") and not has_chinese(sectors.describe("en"))
        assert either.describe("en").startswith("(Total investment") and " or (" in either.describe("en")
        assert either.describe() == f"（{at_least.describe()}）或（{sectors.describe()}）"


def test_a_condition_label_and_hint_come_from_the_data_translation(app: Flask) -> None:
    c = Condition("is_true", fact="good_credit", label="信用良好", hint="修复信用后可申请",
                  tr=(("en", "label", "Good credit record"), ("en", "hint", "Apply once the record is repaired")))
    assert c.describe("en") == "Good credit record" and c.describe("ko") == "信用良好" and c.describe() == "信用良好"


def test_reasons_in_english_and_korean_keep_the_chinese_by_default(app: Flask) -> None:
    results = match_profile(DEVICE_MAKER, TODAY)
    by_status = {r.status: r for r in reversed(results)}
    eligible, near = by_status["eligible"], by_status["near_miss"]
    with app.app_context():
        assert eligible.reason().startswith(f"根据{eligible.measure.citation}，您的回答满足：")
        en = eligible.reason("en")
        assert en.startswith(f"Under {eligible.measure.citation}, your answers meet: ") and en.endswith(".")
        assert eligible.reason("ko").startswith(f"{eligible.measure.citation}에 따라 귀하의 답변은")
        assert near.reason("en").startswith(f"Under {near.measure.citation}, one condition is missing: ")
        assert near.status_label("en") == "One condition short" and near.status_label() == "只差一项"
        assert near.status_label("ko") == "조건 하나 부족"
        assert near.what_would_change("en")


def test_expired_reason_dates_the_end_in_the_language(app: Flask) -> None:
    m = next(m for m in catalog().enterprise_measures() if m.effective_valid_until)
    r = evaluate(m, DEVICE_MAKER, m.effective_valid_until + dt.timedelta(days=1))
    end = m.effective_valid_until
    with app.app_context():
        assert r.reason() == f"{m.citation}已于{end:%Y年%m月%d日}到期。"
        assert r.reason("en") == f"{m.citation} expired on {local_date(end, 'en')}."


def test_validity_reminder_in_the_recipients_language(app: Flask) -> None:
    m = next(m for m in catalog().enterprise_measures() if m.effective_valid_until)
    with app.app_context():
        assert reminder_text(m, 5).startswith(f"政策到期提醒：您符合条件的“{m.title}”")
        assert reminder_text(m, 5, "en").startswith("Deadline reminder:") and "5 days left" in reminder_text(m, 5, "en")
        assert "오늘이 마지막 날입니다" in reminder_text(m, 0, "ko")


# --- pages ---------------------------------------------------------------------------------

def test_results_page_in_english(app: Flask) -> None:
    _, browser = enterprise(app, DEVICE_MAKER)
    browser.client.set_cookie("lang", "en")
    html = browser.get("/results?show=all").get_data(as_text=True)
    assert '<html lang="en"' in html
    assert "You can apply for <strong>" in html and "Funding caps stated in the documents" in html
    assert re.search(r"up to CNY [\d,]+", html) and "万元" not in re.sub(r'lang="zh-Hans">[^<]*', "", html)
    assert "Under <span lang=\"zh-Hans\">《" in html  # the citation stays Chinese, marked as such
    assert "One condition short" in html and "How to become eligible: " in html
    assert "Valid until " in html or "Validity: " in html
    assert stray(html) == []


def test_results_page_in_korean(app: Flask) -> None:
    _, browser = enterprise(app, DEVICE_MAKER)
    browser.client.set_cookie("lang", "ko")
    html = browser.get("/results?show=all").get_data(as_text=True)
    assert "신청 가능 <strong>" in html and "만 위안" in html and "에 따라 귀하의 답변은" in html
    assert "조건 하나 부족" in html
    assert stray(html) == []


def test_results_page_in_chinese_is_unchanged(app: Flask) -> None:
    _, browser = enterprise(app, DEVICE_MAKER)
    html = browser.get("/results?show=all").get_data(as_text=True)
    assert "可以申请 <strong>" in html and "根据《" in html and "万元" in html and "只差一项" in html
    assert "Under " not in html and "原文</summary>" not in html


@pytest.mark.parametrize("lang, words", [("en", ("Policy library", "Search", "All sectors", "Medical devices")),
                                          ("ko", ("정책 목록", "검색", "모든 업종", "의료기기"))])
def test_library_in_korean_and_english(client: FlaskClient, lang: str, words: tuple[str, ...]) -> None:
    client.set_cookie("lang", lang)
    html = client.get("/measures").get_data(as_text=True)
    for word in words:
        assert word in html
    assert stray(html) == []
    swap = client.get("/measures?sector=tcm", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert stray(swap) == [] and ("chosen" in swap if lang == "en" else "개 선택" in swap)


def test_library_headings_go_in_order(client: FlaskClient) -> None:
    html = client.get("/measures").get_data(as_text=True)
    levels = [int(n) for n in re.findall(r"<h([1-6])", html)]
    assert levels[0] == 1 and all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False))


def test_measure_page_shows_the_translation_beside_the_chinese(client: FlaskClient,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    m = catalog().measures["d000-03"]
    translated = dataclasses.replace(m, tr=(("en", "title", "Green channel for innovative devices"),
                                            ("en", "summary", "Innovative Class II devices in the zone")))
    monkeypatch.setitem(catalog().measures, m.id, translated)
    client.set_cookie("lang", "en")
    html = client.get(f"/measures/{m.id}").get_data(as_text=True)
    assert f'<h1><span lang="en">Green channel for innovative devices</span> <span class="zh-original" ' \
           f'lang="zh-Hans">{m.title}</span></h1>' in html
    assert "Unofficial translation" in html and "Innovative Class II devices in the zone" in html
    assert '<blockquote class="clause" lang="zh-Hans">' in html
    assert stray(html) == []
    client.set_cookie("lang", "zh")
    zh = client.get(f"/measures/{m.id}").get_data(as_text=True)
    assert f'<h1 lang="zh-Hans">{m.title}</h1>' in zh and "非官方翻译" not in zh


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("url", ["/", "/measures/d002-04", "/documents/d000", "/units", "/measures?audience=all"])
def test_public_pages_mark_every_chinese_text(client: FlaskClient, lang: str, url: str) -> None:
    client.set_cookie("lang", lang)
    resp = client.get(url)
    assert resp.status_code == 200
    assert stray(resp.get_data(as_text=True)) == []


def test_verification_page_in_english(client: FlaskClient) -> None:
    client.set_cookie("lang", "en")
    resp = client.get("/verify/NOPE1234")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 404 and "Verify a document" in html and "No document has the verification code" in html
    assert stray(html) == []


def test_a_translated_result_shows_both_titles_and_the_clause_one_tap_away(app: Flask,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    cat = catalog()
    m = cat.measures["d000-03"]
    translated = dataclasses.replace(m, tr=(("en", "title", "Green channel for innovative devices"),))
    monkeypatch.setitem(cat.__dict__, "_enterprise_measures",
                        tuple(translated if x.id == m.id else x for x in cat.enterprise_measures()))
    _, browser = enterprise(app)
    browser.client.set_cookie("lang", "en")
    html = browser.get("/results").get_data(as_text=True)
    card = html[html.index(f'id="r-{m.id}"'):]
    card = card[:card.index("</li>")]
    assert '<span lang="en">Green channel for innovative devices</span> <span class="zh-original" lang="zh-Hans">' \
           f"{m.title}</span>" in card
    assert "Unofficial translation" in card
    assert f'<summary>Original text</summary><blockquote class="clause" lang="zh-Hans">{m.text}</blockquote>' in card
