"""PDF application forms and match reports: content, fonts, determinism, safety, limits, issuing.

Everything renders for real (WeasyPrint in the worker pool); renders are shared between tests
through module fixtures to keep the file fast.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import re
import subprocess
import time
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlmodel import select

from portal.formatting import wan
from portal.pdf.context import NO_CONTACT
from portal.pdf.errors import MeasureNotAvailable, PdfError
from portal.pdf.fetcher import BundledOnlyFetcher, FetchRefused
from portal.pdf.fonts import compact_cff
from portal.pdf.jobs import TEMPLATES_DIR, RenderJob
from portal.pdf.render import build_html, render_application, render_report, template_base_url
from portal.pdf.request import application_request, report_request, short_code_for
from portal.pdf.worker import PdfWorkerPool, get_pool, shutdown_pool
from portal.policy.catalog import catalog
from portal.policy.matching import grouped, match_profile, total_max_cash

FIXTURES = Path(__file__).parent / "fixtures"
TODAY = dt.date(2026, 6, 1)
BASE_URL = "https://portal.example.cn"
KOREAN = json.loads((FIXTURES / "pdf_korean_device.json").read_text(encoding="utf-8"))
IMPORTER = json.loads((FIXTURES / "pdf_cosmetics_importer.json").read_text(encoding="utf-8"))
CROCKFORD = re.compile(r"^[0-9A-HJKMNP-TV-Z]{10}$")
PASSWD = "file:///etc/passwd"


@pytest.fixture(scope="module", autouse=True)
def _pool():
    yield
    shutdown_pool()  # do not leave worker processes behind the test module


def text_of(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def squashed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def assert_only_bundled(pdf) -> None:
    assert pdf.refused == ()
    for url in pdf.requested:
        assert url.startswith((TEMPLATES_DIR.as_uri() + "/", "data:")), url


def assert_no_attachments(data: bytes) -> None:
    reader = PdfReader(io.BytesIO(data))
    assert reader.attachments == {}
    assert "/EmbeddedFiles" not in (reader.trailer["/Root"].get("/Names") or {})
    for page in reader.pages:
        for annot in page.get("/Annots") or []:
            assert annot.get_object().get("/Subtype") != "/FileAttachment"


@pytest.fixture(scope="module")
def application():
    return render_application(KOREAN, "d003-09", TODAY, base_url=BASE_URL)


@pytest.fixture(scope="module")
def report():
    contacts = {"化妆品监管处": {"phone": "0431-88886666", "address": "长春市人民大街 1 号"}}
    return render_report(IMPORTER, TODAY, base_url=BASE_URL, contacts=contacts)


# -- application form ------------------------------------------------------------------------
def test_application_form_content(application):
    measure = catalog().measures["d003-09"]
    text = text_of(application.data)
    flat = squashed(text)
    for expected in ("政策兑现申请表", measure.title, measure.citation, "第9条",
                     "한국바이오 주식회사", "统一社会信用代码", "91220101MA0Y3B8X1J", "朴智妍", "13800001234",
                     "符合条件", "企业位于吉林省内", "不超过 100 万元（每个产品）", "不超过 100 万元（每个项目）",
                     "文件未列明申报材料，请向责任单位确认。",
                     "法定代表人（签字）", "企业（盖章）", "2026年6月1日", "文件未规定有效期"):
        assert squashed(expected) in flat, expected
    # The profile has no legal representative: shown as not filled in, never guessed.
    assert "法定代表人（未填写）" in flat
    # Document 003 names no responsible unit; the form says so instead of inventing one.
    assert "文件未列明责任单位" in flat
    pages = application.pages
    assert pages >= 2 and f"第 1 页 / 共 {pages} 页" in text and f"第 {pages} 页 / 共 {pages} 页" in text
    assert application.filename == "申请表-한국바이오 주식회사-推动医疗器械高端化.pdf"


def test_application_verification_and_metadata(application):
    assert CROCKFORD.match(application.short_code)
    assert application.short_code == short_code_for(application.input_hash)
    assert application.sha256 == hashlib.sha256(application.data).hexdigest()
    flat = squashed(text_of(application.data))
    assert f"核验码{application.short_code}" in flat  # running header and verification block
    assert f"{BASE_URL}/verify/{application.short_code}" in flat
    assert "SHA-256" in flat and "生成时间" in flat
    info = PdfReader(io.BytesIO(application.data)).metadata
    assert info["/CreationDate"].startswith("D:20260601") and info["/ModDate"].startswith("D:20260601")
    assert_only_bundled(application)
    # The QR code is an SVG data: URI drawn as vector paths, no image file is fetched.
    assert any(url.startswith("data:image/svg+xml") for url in application.requested)


def test_embedded_fonts_are_compact_cjk_subsets(application):
    reader = PdfReader(io.BytesIO(application.data))
    seen = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            seen.add(font["/BaseFont"])
            assert re.match(r"^/[A-Z]{6}\+Noto-Sans-CJK-SC", font["/BaseFont"]), font["/BaseFont"]
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            assert "/FontFile3" in descriptor
            # Retained-GID subsets were rewritten as bare CID-keyed CFF (see portal/pdf/fonts.py).
            assert descriptor["/FontFile3"].get_object()["/Subtype"] == "/CIDFontType0C"
    assert seen
    assert len(application.data) < 200 * 1024


def test_identical_inputs_identical_pdf(application):
    again = render_application(dict(KOREAN), "d003-09", TODAY, base_url=BASE_URL)
    assert again.data == application.data and again.short_code == application.short_code
    later = application_request(KOREAN, "d003-09", TODAY + dt.timedelta(days=1), base_url=BASE_URL)
    assert later.input_hash != application.input_hash
    assert short_code_for(later.input_hash) != application.short_code


def test_worker_reusing_fonts_and_style_sheets_renders_what_a_fresh_weasyprint_renders():
    from portal.pdf import engine  # WeasyPrint in this process, with no state kept between renders

    jobs = []
    for request in (application_request(KOREAN, "d003-09", TODAY, base_url=BASE_URL),
                    report_request(IMPORTER, TODAY, base_url=BASE_URL)):
        jobs.append(RenderJob(build_html(request), template_base_url(request.kind), bytes.fromhex("ab" * 16)))
    pool = PdfWorkerPool(size=1)  # one worker: every render below reuses what the earlier ones left
    try:
        first, report, again = (pool.render(job) for job in (jobs[0], jobs[1], jobs[0]))
    finally:
        pool.shutdown()
    assert engine._shared is None
    for output, job in ((first, jobs[0]), (report, jobs[1]), (again, jobs[0])):
        fresh = engine.render_html(job)
        assert output.data == fresh.data and output.pages == fresh.pages
        # The parsed sheets stand in for the fetches, so the audit list stays the same.
        assert output.requested == fresh.requested and output.refused == ()
    common, kind = TEMPLATES_DIR.as_uri() + "/common/base.css", TEMPLATES_DIR.as_uri() + "/report/report.css"
    assert report.requested[:2] == (common, kind) and report.requested[2].startswith("data:image/svg+xml")


def test_parsed_style_sheets_stand_in_only_for_plain_links_to_bundled_files():
    from weasyprint import HTML

    from portal.pdf.engine import SharedStyles

    shared = SharedStyles()
    base = template_base_url("application")
    html = build_html(application_request(KOREAN, "d003-09", TODAY))

    def taken(text: str) -> tuple[list | None, list[str]]:
        fetcher = BundledOnlyFetcher()
        return shared.take_linked(HTML(string=text, base_url=base, url_fetcher=fetcher), fetcher), fetcher.requested

    sheets, requested = taken(html)
    assert sheets == [shared.sheets[url] for url in requested] and len(sheets) == 2
    # Anything else keeps WeasyPrint's own path: the fetcher sees (and refuses) what it always did.
    for extra in ("<style>p { color: red }</style>", f'<link rel="stylesheet" href="{PASSWD}">',
                  '<link rel="stylesheet" href="../common/base.css" media="screen">',
                  '<link rel="stylesheet" href="../common/layout.html">'):
        assert taken(html.replace("</head>", extra + "</head>")) == (None, [])
    output = get_pool().render(RenderJob(html.replace("</head>", f'<link rel="stylesheet" href="{PASSWD}"></head>'),
                                         base))
    assert output.refused == (PASSWD,)


def test_service_request_form_addressed_to_lead_unit():
    contacts = {"jlmpa-device-registration": {"phone": "0431-88886666", "address": "长春市人民大街 1 号"}}
    pdf = render_application(KOREAN, "d000-03", TODAY, contacts=contacts)
    flat = squashed(text_of(pdf.data))
    assert "政策服务申请书" in flat
    assert "致：医疗器械注册处" in flat and "申请事项：提高审批效能" in flat
    assert "电话：0431-88886666" in flat and "地址：长春市人民大街1号" in flat
    # Units without administrator-entered contacts: a notice, never an invented number.
    assert NO_CONTACT in flat
    assert "不超过" not in flat  # no cash: no amount lines
    assert "3个月内完成注册审批" in flat


def test_city_share_form_states_percentages():
    flat = squashed(text_of(render_application(KOREAN, "d002-04", TODAY).data))
    assert "按市级支持金额的5%" in flat and "按市级支持金额的50%" in flat
    assert "市级支持金额万元" in flat and "有效期至2026年12月31日（剩余213天）" in flat


def test_unknown_and_internal_measures_are_refused():
    for measure_id in ("d999-99", "d001-04"):  # unknown; government_internal
        with pytest.raises(KeyError):
            render_application(KOREAN, measure_id, TODAY)
        with pytest.raises(PdfError) as info:
            render_application(KOREAN, measure_id, TODAY)
        assert isinstance(info.value, MeasureNotAvailable)
        assert not str(info.value).startswith("'")  # a readable message, not KeyError's repr
    with pytest.raises(PdfError, match="政府内部工作"):
        render_application(KOREAN, "d001-04", TODAY)


def test_amounts_and_answers_are_written_as_on_the_web_pages():
    from flask import Flask

    from portal.formatting import answer_text
    from portal.profile.fields import FIELDS_BY_NAME
    from portal.templating import register

    assert wan(1250) == "1,250" and wan(1250.5) == "1,250.5" and wan(0.25) == "0.25"  # nothing rounded away
    revenue, sectors = FIELDS_BY_NAME["annual_revenue_wan"], FIELDS_BY_NAME["sectors"]
    assert answer_text(1234567.0, revenue) == "1,234,567 万元"
    assert answer_text([], sectors) == "（都不是）"  # answered, unlike a missing answer
    assert "；" in answer_text(["chemical_drug", "biologic"], sectors)  # option labels contain "、"
    app = Flask("filters")
    register(app)
    assert app.jinja_env.filters["wan"] is wan and app.jinja_env.filters["answer"] is answer_text


# -- match report ----------------------------------------------------------------------------
def test_report_lists_matches_with_reasons_amounts_and_contacts(report):
    text = text_of(report.data)
    flat = squashed(text)
    results = match_profile(IMPORTER, TODAY)
    groups = grouped(results)
    assert "政策匹配报告" in flat and "한국코스메틱주식회사" in flat
    for status in ("eligible", "near_miss", "needs_info"):
        for r in groups[status]:
            assert r.measure.id in flat and squashed(r.measure.title) in flat
    for r in groups["not_eligible"]:
        assert r.measure.id not in flat
    assert f"{wan(total_max_cash(results))}万元资金支持上限合计" in flat
    assert "文件未规定有效期" in flat
    assert "化妆品监管处（地址：长春市人民大街1号，电话：0431-88886666）" in flat
    assert NO_CONTACT in flat
    assert "只差一项" in flat and "下一步" in flat
    assert f"{BASE_URL}/verify/{report.short_code}" in flat
    assert f"第 1 页 / 共 {report.pages} 页" in text
    assert report.filename == "政策匹配报告-한국코스메틱 주식회사-20260601.pdf"
    assert_only_bundled(report)


# -- safety ----------------------------------------------------------------------------------
HOSTILE = {
    "enterprise_name": f'<img src="{PASSWD}">',
    "address": f"<link rel=attachment href={PASSWD}>",
    "legal_representative": f"<style>@import url({PASSWD})</style>",
    "contact_person": f"<object data={PASSWD}></object>",
    "contact_phone": "http://127.0.0.1:9/x.png",
    "credit_code": '"><iframe src="http://127.0.0.1:9/"></iframe>',
    "location": "zhonghan_zone",
}


def test_hostile_profile_values_are_printed_not_fetched():
    contacts = {"医疗器械注册处": {"phone": "<img src=http://127.0.0.1:9/y.png>", "web": f"{PASSWD}"}}
    pdf = render_application(HOSTILE, "d000-03", TODAY, contacts=contacts)
    assert_only_bundled(pdf)  # WeasyPrint never even asked for the hostile URLs
    assert_no_attachments(pdf.data)
    flat = squashed(text_of(pdf.data))
    assert "root:x:0" not in flat
    assert squashed(HOSTILE["enterprise_name"]) in flat  # shown as text, escaped
    assert squashed(HOSTILE["legal_representative"]) in flat
    assert not set('/\\:*?"<>|') & set(pdf.filename[:-4])


def test_fetcher_serves_only_bundled_templates():
    fetcher = BundledOnlyFetcher()
    css = fetcher.fetch((TEMPLATES_DIR / "common" / "base.css").as_uri())
    assert b"@page" in css.read()
    root = TEMPLATES_DIR.as_uri()
    for url in (PASSWD, "http://127.0.0.1:9/x.png", "https://example.com/a.css", "ftp://example.com/a",
                root + "/../portal/config.py", root + "/common/../../pyproject.toml",
                root + "/common/layout.html"):  # templates themselves are not resources
        with pytest.raises(FetchRefused):
            fetcher.fetch(url)
    assert PASSWD in fetcher.refused


def test_fetcher_does_not_follow_symlinks_out_of_its_root(tmp_path):
    root = tmp_path / "templates"
    root.mkdir()
    (root / "ok.css").write_text("p { color: red }")
    (tmp_path / "secret.css").write_text("p { content: 'secret' }")
    (root / "leak.css").symlink_to(tmp_path / "secret.css")
    fetcher = BundledOnlyFetcher(root=root)
    assert fetcher.fetch((root / "ok.css").as_uri()).read() == b"p { color: red }"
    with pytest.raises(FetchRefused):
        fetcher.fetch((root / "leak.css").as_uri())


def test_raw_hostile_html_is_refused_by_the_fetcher():
    # Even markup that bypassed escaping cannot load anything outside pdf_templates/.
    html = (f'<html><head><link rel="attachment" href="{PASSWD}"><style>@import url({PASSWD});</style></head>'
            f'<body><p>正文</p><img src="{PASSWD}"><img src="http://127.0.0.1:9/x.png">'
            f'<object data="{PASSWD}" type="image/svg+xml"></object>'
            f'<img src="../../../../../../etc/passwd"></body></html>')
    output = get_pool().render(RenderJob(html, template_base_url("application")))
    assert PASSWD in output.refused and "http://127.0.0.1:9/x.png" in output.refused
    assert all(url.startswith(("file:", "http:")) for url in output.refused)
    assert_no_attachments(output.data)
    assert "root:x:0" not in text_of(output.data)


def test_oversized_or_malformed_input_is_rejected_before_rendering():
    start = time.monotonic()
    cases = [
        dict(KOREAN, enterprise_name="长" * 10_000),
        {f"x{i}": "a" * 1000 for i in range(100)},
        dict(KOREAN, sectors=["medical_device"] * 1000),
        dict(KOREAN, annual_revenue_wan=float("nan")),
        ["not", "a", "profile"],
    ]
    for profile in cases:
        with pytest.raises(PdfError):
            render_application(profile, "d003-09", TODAY)
    with pytest.raises(PdfError, match="格式不正确"):
        render_report(dict(IMPORTER, annual_revenue_wan="lots"), TODAY)  # wrong type: no traceback
    with pytest.raises(PdfError):
        render_application(KOREAN, "d003-09", TODAY, base_url="javascript:alert(1)")
    with pytest.raises(PdfError):
        render_application(KOREAN, "d003-09", TODAY, short_code="../etc")
    assert time.monotonic() - start < 2


def test_timeout_kills_the_worker_and_the_next_render_works(application):
    start = time.monotonic()
    with pytest.raises(PdfError, match="生成超时"):
        render_application(KOREAN, "d003-09", TODAY, base_url=BASE_URL, timeout=0.001)
    assert time.monotonic() - start < 5
    # A fresh worker process renders the same bytes: output does not depend on the process.
    again = render_application(KOREAN, "d003-09", TODAY, base_url=BASE_URL)
    assert again.data == application.data


LONG_DOCUMENT = "<p>你好，吉林。</p>" * 5000  # its layout needs far more memory than a capped worker has left


def test_memory_limit_makes_rendering_fail_cleanly():
    pool = PdfWorkerPool(size=1, memory_mb=64)  # far below what WeasyPrint needs
    try:
        start = time.monotonic()
        with pytest.raises(PdfError):
            pool.render(RenderJob(LONG_DOCUMENT, template_base_url("application")), timeout=20)
        assert time.monotonic() - start < 30
    finally:
        pool.shutdown()


def test_a_worker_at_its_memory_limit_leaves_the_font_cache_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # Fontconfig rewrites a font folder's cache when it cannot read it; a worker already capped at its memory
    # limit could only read nothing and would write "no fonts here" for every later process on the host.
    # Fonts are loaded before the cap: a private cache folder shows what the worker wrote.
    cache, conf = tmp_path / "fontcache", tmp_path / "fonts.conf"
    conf.write_text('<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n'
                    f"<fontconfig><dir>{NOTO_SANS.parent}</dir><cachedir>{cache}</cachedir></fontconfig>\n")
    monkeypatch.setenv("FONTCONFIG_FILE", str(conf))
    pool = PdfWorkerPool(size=1, memory_mb=64, start_method="spawn")  # spawn: a new process reads the env
    try:
        with contextlib.suppress(PdfError):  # whether this render fits under the cap is not the point here
            pool.render(RenderJob("<p>你好</p>", template_base_url("application")), timeout=60)
    finally:
        pool.shutdown()
    written = {f.name: f.stat().st_size for f in cache.glob("*.cache-*")}
    assert written and max(written.values()) > 10_000, written  # the CJK fonts are in it, not an empty list


# -- font compaction -------------------------------------------------------------------------
NOTO_SANS = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


def test_compact_cff_keeps_glyphs_and_cids():
    from fontTools.cffLib import CFFFontSet
    from fontTools.ttLib import TTCollection

    font = next(f for f in TTCollection(str(NOTO_SANS), lazy=True).fonts
                if f["name"].getDebugName(4) == "Noto Sans CJK SC")
    raw = font.reader["CFF "]
    cmap = font.getBestCmap()
    used = {font.getGlyphID(cmap[ord(ch)]) for ch in "吉林省医药한국바이오ABC123，。"}
    compact = CFFFontSet()
    compact.decompile(io.BytesIO(compact_cff(raw, used)), None)
    original = CFFFontSet()
    original.decompile(io.BytesIO(raw), None)
    new, old = compact[compact.fontNames[0]], original[original.fontNames[0]]
    kept = [0, *sorted(used)]
    assert new.charset == [f"cid{g:05d}" if g else ".notdef" for g in kept]  # CIDs survive
    for i, gid in enumerate(kept):
        assert new.CharStrings.charStringsIndex[i].bytecode == old.CharStrings.charStringsIndex[gid].bytecode
        assert new.FDSelect[i] == old.FDSelect[gid]


def test_compacted_fonts_draw_identical_pixels(tmp_path):
    from weasyprint import HTML

    from portal.pdf.fonts import compact_cid_fonts

    html = '<p style="font-size:14pt">吉林省医药产业 한국바이오 주식회사 <b>加粗 ABC 123</b></p>'
    images = []
    for name, finisher in (("plain", None), ("compact", compact_cid_fonts)):
        pdf = tmp_path / f"{name}.pdf"
        pdf.write_bytes(HTML(string=html).write_pdf(finisher=finisher))
        subprocess.run(["pdftoppm", "-r", "50", "-png", str(pdf), str(tmp_path / name)], check=True)
        images.append(next(tmp_path.glob(f"{name}*.png")).read_bytes())
    assert images[0] == images[1]


# -- issuing service -------------------------------------------------------------------------
def _issue(app, enterprise_id, profile, measure_id, cache):
    """The issuing service as a submission uses it: queued (inline under TASKS_IMMEDIATE) and waited for."""
    from portal.db import db
    from portal.services.pdf_jobs import issue_and_wait

    with app.app_context():
        doc, data, _name = issue_and_wait(db.session, enterprise_id, profile, measure_id, TODAY, BASE_URL, cache)
        return doc, data


def test_issue_application_reuses_identical_documents(app, tmp_path, application):
    from portal.db import db
    from portal.models import Enterprise, IssuedDocument, PdfJob

    cache = tmp_path / "pdf"
    with app.app_context():
        first, other = Enterprise(name="한국바이오 주식회사"), Enterprise(name="另一家企业")
        db.session.add_all([first, other])
        db.session.commit()
        first_id, other_id = first.id, other.id

    doc, data = _issue(app, first_id, KOREAN, "d003-09", cache)
    assert data == application.data  # same inputs, no contacts stored: the very same PDF
    assert (doc.kind, doc.measure_id, doc.enterprise_name) == ("application", "d003-09", "한국바이오 주식회사")
    assert doc.sha256 == hashlib.sha256(data).hexdigest() and doc.input_hash == application.input_hash
    path = Path(doc.path)
    assert path.parent == cache and path.read_bytes() == data
    stamp = path.stat().st_mtime_ns

    again, data_again = _issue(app, first_id, KOREAN, "d003-09", cache)
    assert again.id == doc.id and data_again == data and path.stat().st_mtime_ns == stamp  # not re-rendered

    path.unlink()  # cache lost: rendered again under the same code, same bytes
    restored, data_restored = _issue(app, first_id, KOREAN, "d003-09", cache)
    assert restored.id == doc.id and data_restored == data and path.read_bytes() == data

    # Same inputs for another enterprise: its own row, and a different code (codes are unique).
    theirs, their_data = _issue(app, other_id, KOREAN, "d003-09", cache)
    assert theirs.id != doc.id and theirs.short_code != doc.short_code
    assert theirs.short_code in squashed(text_of(their_data))
    with app.app_context():
        assert len(db.session.exec(select(IssuedDocument)).all()) == 2
        jobs = db.session.exec(select(PdfJob).order_by(PdfJob.id)).all()
        # one job per render (the second request found the cached file), each finished and out of flight
        assert [(j.state, j.inflight_key) for j in jobs] == [("done", None)] * 3


def test_issue_report_uses_stored_unit_contacts(app, tmp_path):
    from portal.db import db
    from portal.models import UnitContact

    with app.app_context():
        db.session.add(UnitContact(unit_id="jlmpa-cosmetics", phone="0431-85550000", hours="工作日 9:00-17:00"))
        db.session.commit()
    doc, data = _issue(app, None, IMPORTER, None, tmp_path / "pdf")
    assert (doc.kind, doc.measure_id, doc.enterprise_id) == ("report", None, None)
    flat = squashed(text_of(data))
    assert "化妆品监管处（电话：0431-85550000，办公时间：工作日9:00-17:00）" in flat
    assert doc.short_code in flat and Path(doc.path).read_bytes() == data


# -- logging ---------------------------------------------------------------------------------
def test_weasyprint_progress_lines_stay_out_of_the_logs(caplog: pytest.LogCaptureFixture,
                                                       monkeypatch: pytest.MonkeyPatch):
    import logging

    from weasyprint import HTML

    from portal.config import quiet_library_loggers

    weasyprint, fonttools = logging.getLogger("weasyprint"), logging.getLogger("fontTools")
    monkeypatch.setattr(weasyprint, "level", logging.NOTSET)  # as a fresh process has it
    monkeypatch.setattr(fonttools, "level", logging.DEBUG)  # chosen by an operator: kept
    quiet_library_loggers()
    assert (weasyprint.level, fonttools.level) == (logging.WARNING, logging.DEBUG)
    with caplog.at_level(logging.INFO):
        HTML(string="<p>吉林</p><link rel=stylesheet href=missing.css>", base_url="file:///nonexistent/").render()
    records = [r for r in caplog.records if r.name.startswith("weasyprint")]
    assert records and all(r.levelno >= logging.WARNING for r in records), records  # the failed link, not "Step 1…"
