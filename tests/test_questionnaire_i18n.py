"""The questionnaire, its messages and the enterprise dashboard in Korean and English.

Questions and options read in the chosen language, the Chinese wording beside them marked lang="zh-Hans";
no Chinese text is left elsewhere on the parts of the page this area renders.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from tests.factories import Browser

HAN = re.compile("[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff01-\uff5e]")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Stray(HTMLParser):
    """Collects Chinese text that is not inside a lang="zh-Hans" element (scripts and `skip` ids ignored)."""

    def __init__(self, skip: set[str]) -> None:
        super().__init__()
        self.skip = skip
        self.stack: list[bool] = []  # per open element: is the text inside it exempt?
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID:
            return
        a = dict(attrs)
        exempt = (bool(self.stack) and self.stack[-1]) or a.get("lang") == "zh-Hans" or tag in ("script", "style") \
            or a.get("id") in self.skip
        self.stack.append(exempt)

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not (self.stack and self.stack[-1]) and HAN.search(data):
            self.found.append(data.strip())


def stray_chinese(html: str, skip: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    """In <main> (a fragment: all of it); the header and footer are base.html's, checked with it."""
    main = re.search(r"<main[^>]*>(.*)</main>", html, re.S)
    parser = _Stray(set(skip))
    parser.feed(main.group(1) if main else html)
    return parser.found


def in_language(browser: Browser, lang: str) -> Browser:
    browser.client.set_cookie("lang", lang)
    return browser


# What each language must show on the location step.
LOCATION_STEP = {
    "en": ("Location and ownership", "Location", "Domestic", "Save and continue", "Step 1"),
    "ko": ("소재지 및 기업 성격", "소재지", "내자 기업", "저장 후 계속", "1단계"),
}


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_step_reads_in_the_chosen_language_with_the_chinese_beside_it(logged_in: Browser, lang: str) -> None:
    page = in_language(logged_in, lang).get("/q/location").get_data(as_text=True)
    for words in LOCATION_STEP[lang]:
        assert words in page, words
    assert f'<html lang="{lang}"' in page
    assert '<span class="alt" lang="zh-Hans">内资企业</span>' in page  # the Chinese option, small, for comparison
    assert '<span class="alt" lang="zh-Hans">企业所在地</span>' in page
    assert stray_chinese(page) == []


@pytest.mark.parametrize(("lang", "hint"), [("en", "18 characters, as on the business licence"),
                                            ("ko", "18자리, 사업자등록증")])
def test_help_texts_and_units_are_translated(logged_in: Browser, lang: str, hint: str) -> None:
    browser = in_language(logged_in, lang)
    identity = browser.get("/q/identity").get_data(as_text=True)
    assert hint in identity and "见营业执照" not in identity
    assert stray_chinese(identity) == []
    browser.post("/q/answer/sectors", {"sectors__present": "1", "sectors": ["chemical_drug"]})
    figures = browser.get("/q/figures").get_data(as_text=True)
    unit = "(in 10,000 yuan)" if lang == "en" else "(만 위안)"
    assert unit in figures
    assert stray_chinese(figures) == []


@pytest.mark.parametrize(("lang", "message", "summary"), [
    ("en", "The contact phone is not valid", "Please check these questions"),
    ("ko", "연락처 형식이 올바르지 않습니다", "다음 질문을 확인하십시오"),
])
def test_validation_errors_are_translated(logged_in: Browser, lang: str, message: str, summary: str) -> None:
    browser = in_language(logged_in, lang)
    browser.get("/q/identity")
    resp = browser.post("/q/identity", {"contact_phone": "12", "go": "next"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert message in page and summary in page and "联系电话格式不正确" not in page
    assert stray_chinese(page) == []
    # The autosaved question says it too, naming the question in the chosen language.
    fragment = browser.post("/q/answer/annual_revenue_wan", {"annual_revenue_wan": "abc"},
                            headers={"HX-Request": "true"})
    assert fragment.status_code == 422
    label = "Last year's revenue must be a number" if lang == "en" else "전년도 매출: 숫자"
    assert label in fragment.get_data(as_text=True).replace("&#39;", "'")


def test_validation_errors_stay_chinese_in_the_chinese_interface(logged_in: Browser) -> None:
    fragment = logged_in.post("/q/answer/annual_revenue_wan", {"annual_revenue_wan": "abc"},
                              headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "上一年度营业收入应为数字（单位：万元），例如 1250 或 1250.5。" in fragment


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_conflict_is_explained_in_the_chosen_language(logged_in: Browser, lang: str) -> None:
    browser = in_language(logged_in, lang)
    browser.post("/q/answer/location", {"location": "changchun_new_area", "v__location": "0"})
    stale = browser.post("/q/answer/location", {"location": "zhonghan_zone", "v__location": "0"})
    assert stale.status_code == 409
    page = stale.get_data(as_text=True)
    expected = ("This question was just changed on another device to: <strong>Changchun New Area</strong>"
                if lang == "en" else "다른 기기에서 <strong>창춘신구</strong>(으)로 변경되었습니다")
    assert expected in page
    assert stray_chinese(page) == []


@pytest.mark.parametrize(("lang", "words"), [
    ("en", ("Company questionnaire", "You have answered", "Check answers", "My applications")),
    ("ko", ("기업 설문", "관련 질문", "답변 확인", "내 신청")),
])
def test_the_dashboard_in_korean_and_english(logged_in: Browser, lang: str, words: tuple[str, ...]) -> None:
    browser = in_language(logged_in, lang)
    page = browser.get("/app").get_data(as_text=True)
    for w in (*words, "My company" if lang == "en" else "내 기업"):
        assert w in page, w
    assert stray_chinese(page, skip={"summary"}) == []
    browser.post("/q/answer/enterprise_name", {"enterprise_name": "长春测试药业有限公司"})
    page = browser.get("/app").get_data(as_text=True)
    assert '<h1><span lang="zh-Hans">长春测试药业有限公司</span></h1>' in page  # a Chinese name, marked as such
    assert stray_chinese(page, skip={"summary"}) == []  # the match summary is the results' (translated there)


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_review_page_shows_answers_in_the_chosen_language(logged_in: Browser, lang: str) -> None:
    browser = in_language(logged_in, lang)
    browser.post("/q/answer/location", {"location": "changchun_new_area"})
    page = browser.get("/q/review").get_data(as_text=True)
    assert ("Changchun New Area" if lang == "en" else "창춘신구") in page
    assert stray_chinese(page) == []


@pytest.mark.parametrize(("lang", "offline_one", "synced"), [
    ("en", "Offline: {n} answer is kept only on this device", "Synced"),
    ("ko", "오프라인: 답변 {n}개가 이 기기에만 저장되어 있습니다", "동기화됨"),
    ("zh", "离线：{n} 个回答仅保存在本机", "已同步"),
])
def test_the_script_reads_its_words_from_the_page(logged_in: Browser, lang: str, offline_one: str,
                                                  synced: str) -> None:
    page = in_language(logged_in, lang).get("/q/location").get_data(as_text=True)
    block = re.search(r'<script type="application/json" id="portal-messages">(.*?)</script>', page, re.S)
    assert block
    words = json.loads(block.group(1))
    assert words["offline_n_one"] == offline_one and words["synced"] == synced
    assert "{n}" in words["offline_n"] and "{label}" in words["saved_field"]
    assert all(isinstance(v, str) and v for v in words.values())


@pytest.mark.parametrize("lang", ["zh", "en", "ko"])
def test_q_shows_the_first_step_without_a_redirect(logged_in: Browser, lang: str) -> None:
    resp = in_language(logged_in, lang).get("/q")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<html" in page  # a full page
    assert resp.headers["Content-Location"].endswith("/q/location")
    assert 'data-canonical="/q/location"' in page  # portal.js puts the step's URL in the address bar
    assert 'action="/q/location"' in page  # the form posts to the step itself
    assert ("企业所在地" if lang == "zh" else "Location" if lang == "en" else "소재지") in page


def test_q_resumes_at_the_first_unanswered_step(logged_in: Browser) -> None:
    logged_in.post("/q/answer/location", {"location": "zhonghan_zone"})
    logged_in.post("/q/answer/ownership", {"ownership": "domestic"})
    resp = logged_in.get("/q")
    assert resp.status_code == 200 and resp.headers["Content-Location"].endswith("/q/business")
    assert 'action="/q/business"' in resp.get_data(as_text=True)


def test_the_profile_schema_carries_help_and_units_in_english_and_korean(client) -> None:  # type: ignore[no-untyped-def]
    props = client.get("/api/v1/profile-schema").get_json()["properties"]
    assert props["credit_code"]["x-description-en"].startswith("Unified social credit code")
    assert props["credit_code"]["description"].startswith("统一社会信用代码")  # the Chinese stays the schema's own
    assert props["previous_peak_revenue_wan"]["x-description-ko"].startswith("특정 규모")
    assert props["annual_revenue_wan"]["x-unit-en"] == "10,000 yuan" and props["annual_revenue_wan"]["x-unit"] == "万元"


@pytest.mark.usefixtures("fake_pdf")
@pytest.mark.parametrize(("lang", "status"), [("en", "Submitted"), ("ko", "제출됨")])
def test_the_dashboard_lists_applications_in_the_chosen_language(app, lang: str, status: str) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import enterprise, submission_id, submit

    _user, browser = enterprise(app)
    sid = submission_id(submit(browser))
    browser.get(f"/app/submissions/{sid}")  # where the submission leads (its flash is the submissions page's)
    page = in_language(browser, lang).get("/app").get_data(as_text=True)
    mine = page[page.index('<ul class="plain">'):]
    mine = mine[:mine.index("</ul>")]
    assert f" · {status}</li>" in mine and "已提交" not in mine
    assert f'href="/app/submissions/{sid}"' in mine
    assert stray_chinese(page, skip={"summary"}) == []  # the measure's Chinese title is marked lang="zh-Hans"
