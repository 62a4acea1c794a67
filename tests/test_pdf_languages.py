"""PDFs in the reader's language: the report in Korean or English, the Chinese application form with glosses,
tagged (PDF/UA) with the document language, start-aligned Chinese text and ASCII download names.

Renders are real (WeasyPrint in the worker pool) and shared through module fixtures.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import urllib.parse
from pathlib import Path

import pytest
import tinyhtml5
from flask import Flask
from pypdf import PdfReader

from portal import clock
from portal.pdf.bench import REPORT_PROFILE
from portal.pdf.render import build_html, in_language, render_application, render_report
from portal.pdf.request import (
    PdfRequest,
    application_request,
    ascii_filename_for,
    filename_for,
    report_request,
)
from portal.pdf.worker import shutdown_pool
from portal.services import pdf_jobs
from tests.factories import Browser, autosave
from tests.test_pdf import BASE_URL, IMPORTER, KOREAN, TODAY  # the same firms and date as the Chinese PDFs

HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
HANGUL = re.compile(r"[\uac00-\ud7a3]")


@pytest.fixture(scope="module", autouse=True)
def _pool():
    yield
    shutdown_pool()


def pdftotext(data: bytes, *args: str) -> str:
    return subprocess.run(["pdftotext", *args, "-", "-"], input=data, capture_output=True, check=True).stdout.decode()


@pytest.fixture(scope="module")
def reports():
    # 16 entries: eligible, near misses and one needing information, with amounts.
    return {lang: render_report(REPORT_PROFILE, TODAY, base_url=BASE_URL, lang=lang) for lang in ("zh", "ko", "en")}


@pytest.fixture(scope="module")
def applications():
    return {lang: render_application(KOREAN, "d003-09", TODAY, base_url=BASE_URL, lang=lang) for lang in ("zh", "en")}


def catalog_root(data: bytes):  # type: ignore[no-untyped-def]
    return PdfReader(io.BytesIO(data)).trailer["/Root"]


def structure_types(node) -> set[str]:  # type: ignore[no-untyped-def]
    """The structure element types (/S) in a tagged PDF's structure tree."""
    node = node.get_object()
    found: set[str] = set()
    if isinstance(node, list):
        for child in node:
            found |= structure_types(child)
    elif isinstance(node, dict):
        if "/S" in node:
            found.add(str(node["/S"]))
        if "/K" in node and not isinstance(node["/K"], int):
            found |= structure_types(node["/K"])
    return found


def parse(html: str):  # type: ignore[no-untyped-def]
    return tinyhtml5.parse(html)


def local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def by_class(root, name: str) -> list:  # type: ignore[no-untyped-def]
    return [e for e in root.iter() if name in (e.get("class") or "").split()]


def unmarked_chinese(element, lang: str = "") -> list[str]:  # type: ignore[no-untyped-def]
    """Texts with Han characters whose nearest lang attribute is not zh-Hans."""
    lang = element.get("lang") or lang
    own = (element.text or "") + "".join(child.tail or "" for child in element)
    found = [own.strip()[:60]] if HAN.search(own) and lang != "zh-Hans" else []
    for child in element:
        found += unmarked_chinese(child, lang)
    return found


# -- the request ------------------------------------------------------------------------------
def test_language_is_part_of_the_request_and_of_what_identifies_the_document():
    zh = report_request(IMPORTER, TODAY, base_url=BASE_URL)
    en = report_request(IMPORTER, TODAY, base_url=BASE_URL, lang="en")
    ko = report_request(IMPORTER, TODAY, base_url=BASE_URL, lang="ko")
    assert (zh.lang, en.lang, ko.lang) == ("zh", "en", "ko")
    assert len({zh.input_hash, en.input_hash, ko.input_hash}) == 3
    assert len({pdf_jobs.inflight_key(7, r) for r in (zh, en, ko)}) == 3
    # The worker gets the language with the rest of the request (the job row stores its JSON).
    assert PdfRequest.from_json(en.to_json()) == en and PdfRequest.from_json(en.to_json()).input_hash == en.input_hash
    # A request stored before languages existed is a Chinese one, with the hash (and code) it always had.
    old = json.loads(zh.to_json())
    del old["lang"]
    assert PdfRequest.from_json(json.dumps(old)).input_hash == zh.input_hash
    assert report_request(IMPORTER, TODAY, lang="fr").lang == "zh"  # unknown: Chinese


# -- the report ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("lang", "present", "absent"), [
    ("en", ["Policy match report", "Measures you are eligible for", "Next steps", "Verification code",
            "Page 1 of"], ["政策匹配报告", "符合条件的措施", "下一步", "核验码", "第1页"]),
    ("ko", ["정책 매칭 보고서", "해당하는 지원 조치", "다음 단계", "검증 코드", "1 / 5 페이지"],
     ["政策匹配报告", "符合条件的措施", "下一步", "核验码", "第1页"]),
])
def test_report_is_written_in_the_chosen_language(reports, lang, present, absent):
    text = pdftotext(reports[lang].data)
    for heading in present:
        assert heading in text, heading
    for chinese in absent:
        assert chinese not in re.sub(r"\s+", "", text), chinese
    assert "政策匹配报告" in pdftotext(reports["zh"].data)  # the Chinese report is as it was


def test_report_amounts_and_dates_in_the_chosen_language(reports):
    en, ko = pdftotext(reports["en"].data), pdftotext(reports["ko"].data)
    assert "Assessed on June 1, 2026" in en and "판단 기준일: 2026년 6월 1일" in ko
    assert re.search(r"CNY \d{1,3}(,\d{3})+", en) and re.search(r"\d만 위안", ko)
    assert "Korean-invested" in en and "韩资企业" not in en  # answers in the options' own ko/en wording
    # The amounts the report states itself (the reasons are policy wording, translated where the data is).
    for text, label in ((en, "Support"), (ko, "지원 내용")):
        support = [line for line in text.splitlines() if line.startswith(label)]
        assert support and not any("万元" in line or "不超过" in line for line in support), support


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_chinese_left_in_a_translated_report_is_marked_zh_hans(lang):
    """Citations, unit names and untranslated policy wording stay Chinese: each such run sits in lang="zh-Hans"."""
    contacts = {"化妆品监管处": {"phone": "0431-88886666", "address": "长春市人民大街 1 号"}}
    html = build_html(report_request(IMPORTER, TODAY, base_url=BASE_URL, contacts=contacts, lang=lang))
    root = parse(html)
    assert root.get("lang") == lang
    body = next(e for e in root if local(e.tag) == "body")
    assert unmarked_chinese(body, lang) == []
    assert "lang=\"zh-Hans\"" in html and "化妆品监管处" in html


def test_korean_text_gets_glyphs_from_the_embedded_cjk_font(reports, tmp_path):
    data = reports["ko"].data
    assert HANGUL.search(pdftotext(data))  # drawn with glyphs that map back to Hangul, not .notdef boxes
    (tmp_path / "ko.pdf").write_bytes(data)
    fonts = subprocess.run(["pdffonts", str(tmp_path / "ko.pdf")], capture_output=True, check=True).stdout.decode()
    names = [line.split()[0] for line in fonts.splitlines()[2:]]
    assert names and all("Noto-Sans-CJK" in name for name in names), fonts


def test_the_request_language_wins_over_the_ambient_one(app: Flask):
    """The worker renders for the reader who asked, whatever request or app context it runs in."""
    request = report_request(REPORT_PROFILE, TODAY, base_url=BASE_URL, lang="en")
    with app.test_request_context("/", headers={"Accept-Language": "ko"}):
        html = build_html(request)
        chinese = build_html(report_request(REPORT_PROFILE, TODAY, base_url=BASE_URL))
    assert "Policy match report" in html and not HANGUL.search(html.split("<body", 1)[1].replace("김민준", ""))
    assert "政策匹配报告" in chinese and "Policy match report" not in chinese


# -- the application form -----------------------------------------------------------------------
def test_application_form_stays_chinese_with_glosses_in_english(applications):
    en, zh = pdftotext(applications["en"].data), pdftotext(applications["zh"].data)
    for label in ("政策依据", "一、申请企业基本情况", "法定代表人（签字）", "第1页"):
        assert label in re.sub(r"\s+", "", en), label
    for gloss in ("Policy basis", "1. About the applicant company", "Legal representative (signature)",
                  "Company name"):
        assert gloss in en and gloss not in zh, gloss
    html = build_html(application_request(KOREAN, "d003-09", TODAY, base_url=BASE_URL, lang="en"))
    root = parse(html)
    assert root.get("lang") == "zh-Hans"
    glosses = by_class(root, "gloss")
    assert glosses and all(g.get("lang") == "en" for g in glosses)
    assert not by_class(parse(build_html(application_request(KOREAN, "d003-09", TODAY, base_url=BASE_URL))), "gloss")


def test_application_form_glosses_in_korean():
    html = build_html(application_request(KOREAN, "d003-09", TODAY, base_url=BASE_URL, lang="ko"))
    glosses = by_class(parse(html), "gloss")
    assert {g.get("lang") for g in glosses} == {"ko"}
    assert "근거 정책" in html and "법정대표자(서명)" in html


def test_policy_wording_of_the_form_stays_chinese_whatever_the_language():
    """The form's own text is built in Chinese even when everything around it speaks English."""
    request = application_request(KOREAN, "d003-09", TODAY, base_url=BASE_URL, lang="en")
    with in_language("en"):
        html = build_html(request)
    assert "平台初步判断" in html and "不超过" in html and "Up to" not in html and "CNY" not in html


# -- tagging ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("kind", "lang", "expected"), [("report", "en", "en"), ("report", "ko", "ko"),
                                                        ("report", "zh", "zh-Hans"), ("application", "en", "zh-Hans")])
def test_pdfs_are_tagged_with_structure_language_and_title(reports, applications, kind, lang, expected):
    data = (reports if kind == "report" else applications)[lang].data
    root = catalog_root(data)
    assert "/StructTreeRoot" in root
    assert {"/Document", "/H1", "/H2", "/Table", "/TH", "/P"} <= structure_types(root["/StructTreeRoot"])
    assert root["/ViewerPreferences"]["/DisplayDocTitle"].value is True  # viewers show the title, not the file name
    assert root["/MarkInfo"]["/Marked"].value is True
    assert root["/Lang"] == expected
    title = PdfReader(io.BytesIO(data)).metadata.title
    assert title and title.startswith({"report": {"en": "Policy match report", "ko": "정책 매칭 보고서",
                                                  "zh": "政策匹配报告"}[lang], "application": "政策兑现申请表"}[kind])


# -- layout -----------------------------------------------------------------------------------------
def test_chinese_body_text_is_not_justified_apart(reports):
    """Justified CJK lines spread their last characters to the margin; text extraction then splits words."""
    text = pdftotext(reports["zh"].data)
    assert "暂不符合" in text
    css = "\n".join(p.read_text(encoding="utf-8") for p in Path("pdf_templates").rglob("*.css"))
    assert "justify" not in re.sub(r"/\*.*?\*/", "", css, flags=re.S)


# -- download names ---------------------------------------------------------------------------------
def test_ascii_download_names_say_what_and_when():
    app = application_request(KOREAN, "d003-09", TODAY)
    assert ascii_filename_for(app) == "application-d003-09-2026-06-01.pdf"
    assert ascii_filename_for(report_request(IMPORTER, TODAY)) == "report-2026-06-01.pdf"
    assert ascii_filename_for(report_request(IMPORTER, TODAY, lang="en")) == "report-2026-06-01-en.pdf"
    assert filename_for(report_request(IMPORTER, TODAY, lang="en")).startswith("Policy match report-")
    assert filename_for(report_request(IMPORTER, TODAY, lang="ko")).startswith("정책 매칭 보고서-")
    assert filename_for(application_request(KOREAN, "d003-09", TODAY, lang="en")).startswith("申请表-")


def _disposition_names(header: str) -> tuple[str, str]:
    ascii_name = re.search(r'filename="([^"]*)"', header)
    utf8 = re.search(r"filename\*=UTF-8''(\S+)", header)
    assert ascii_name and utf8, header
    return ascii_name.group(1), urllib.parse.unquote(utf8.group(1))


def test_downloads_follow_the_interface_language_and_have_ascii_names(logged_in: Browser, app: Flask, client):
    autosave(logged_in, enterprise_name="吉林语言测试药业有限公司", location="changchun_other",
            sectors=["chemical_drug"], milestones=["clinical_trial_approval"])
    with app.app_context():
        day = clock.today().isoformat()
    zh = logged_in.get("/results/d003-01/application.pdf")
    assert zh.status_code == 200
    ascii_name, utf8_name = _disposition_names(zh.headers["Content-Disposition"])
    assert ascii_name == f"application-d003-01-{day}.pdf" and utf8_name.startswith("申请表-吉林语言测试药业有限公司")
    client.set_cookie("lang", "en")
    report = logged_in.get("/results/report.pdf")
    assert report.status_code == 200 and report.data.startswith(b"%PDF")
    ascii_name, utf8_name = _disposition_names(report.headers["Content-Disposition"])
    assert ascii_name == f"report-{day}-en.pdf" and utf8_name.startswith("Policy match report-")
    text = pdftotext(report.data)
    assert "Policy match report" in text and "政策匹配报告" not in text
    form = logged_in.get("/results/d003-01/application.pdf")  # another document than the Chinese one
    assert form.status_code == 200 and form.data != zh.data
    assert "Policy basis" in pdftotext(form.data)
    assert _disposition_names(form.headers["Content-Disposition"])[0] == f"application-d003-01-{day}-en.pdf"
