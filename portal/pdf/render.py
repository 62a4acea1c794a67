"""Application forms and match reports as PDF: context from the catalog, HTML from Jinja, PDF from WeasyPrint.

Rendering happens in worker processes (portal.pdf.worker) under a time and memory limit; this
module only prepares inputs, HTML and the result. Identical inputs give byte-identical PDFs:
the verification code, PDF /ID and metadata dates are all derived from the inputs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import segno
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from portal.pdf.errors import MeasureNotAvailable, PdfError
from portal.pdf.jobs import TEMPLATES_DIR, RenderJob
from portal.pdf.worker import get_pool
from portal.policy.catalog import catalog
from portal.policy.matching import MatchResult, evaluate, grouped, match_profile, total_max_cash
from portal.policy.records import AMOUNT_UNITS, BENEFIT_KINDS, Catalog, Measure, Unit
from portal.profile.fields import FIELDS, FIELDS_BY_NAME, IDENTITY_FIELDS, Field
from portal.profile.validate import DATES_FIELD

__all__ = [
    "DEFAULT_BASE_URL", "MeasureNotAvailable", "PdfError", "PdfRequest", "RenderedPdf", "application_request",
    "build_html", "render_application", "render_report", "render_request", "report_request", "short_code_for",
]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "http://127.0.0.1:5000"
#: Part of the input hash: bump when templates change what a PDF says, so old codes stay truthful.
FORMAT_VERSION = "1"
_REFERENCE_RE = re.compile(r"[A-Z]{2,6}-[0-9]{4}-[0-9]{6}")
#: Bounds on what a profile may contain before we even start (validated profiles are far smaller).
MAX_INPUT_BYTES = 64 * 1024
MAX_TEXT_CHARS = 2000
MAX_ITEMS = 200
MISSING = "（未填写）"
NO_CONTACT = "联系方式待管理员补充"
MATERIALS_NOTE = "以下为条文列明的材料，具体以责任单位要求为准。"
VERIFY_NOTE = "扫描二维码或访问核验网址，可在门户核验页面查看本文件的生成时间、企业名称、所涉措施及 SHA-256 校验值。"
CONTACT_LABELS = {"address": "地址", "phone": "电话", "hours": "办公时间", "email": "电子邮箱", "web": "网址"}
REPORT_STATUSES = ("eligible", "near_miss", "needs_info")
GROUP_TITLES = {"eligible": "符合条件的措施", "near_miss": "只差一项、可以争取的措施",
                "needs_info": "还需补充信息的措施"}
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CODE_RE = re.compile(r"^[0-9A-Z]{4,16}$")
_BASE_URL_RE = re.compile(r"^https?://[^\s\"'<>\\]{1,200}$")
_UNSAFE_FILENAME = re.compile(r"[\\/:*?\"<>|\x00-\x1f\x7f]+")


# -- results ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class RenderedPdf:
    """A rendered PDF and what identifies it."""

    data: bytes
    sha256: str
    short_code: str
    input_hash: str
    filename: str
    kind: str = "application"
    measure_id: str | None = None
    pages: int = 0
    #: URLs WeasyPrint asked for (bundled CSS, the QR data: URI) and those refused; for audits and tests.
    requested: tuple[str, ...] = field(default=(), repr=False, compare=False)
    refused: tuple[str, ...] = field(default=(), repr=False, compare=False)


@dataclass(frozen=True)
class PdfRequest:
    """Everything a PDF depends on, normalised; `input_hash` identifies it."""

    kind: str  # application | report
    measure_id: str | None
    profile: dict[str, Any]
    today: dt.date
    contacts: dict[str, dict[str, str]]  # unit id -> contact fields, only the units this PDF names
    base_url: str
    reference: str = ""  # the application's reference once submitted (ZH-2026-000123); "" on a download

    @property
    def input_hash(self) -> str:
        """SHA-256 of the canonical JSON of all inputs (and the template format version)."""
        inputs = {"format": FORMAT_VERSION, "kind": self.kind, "measure_id": self.measure_id, "profile": self.profile,
                  "today": self.today.isoformat(), "contacts": self.contacts, "base_url": self.base_url}
        if self.reference:  # only then, so the hashes (and codes) of plain downloads stay as they were
            inputs["reference"] = self.reference
        return hashlib.sha256(_canonical(inputs).encode()).hexdigest()

    @property
    def enterprise_name(self) -> str:
        """The enterprise name as entered, or "" when missing."""
        name = self.profile.get("enterprise_name")
        return name.strip() if isinstance(name, str) and name.strip() else ""


# -- inputs ----------------------------------------------------------------------------------
def _canonical(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def _check_value(value: Any, where: str, depth: int = 0) -> None:
    """Reject inputs no questionnaire produces: huge texts, long lists, deep nesting, NaN."""
    if depth > 4:
        raise PdfError(f"填报内容“{where}”层级过深，无法生成 PDF。")
    if isinstance(value, str):
        if len(value) > MAX_TEXT_CHARS:
            raise PdfError(f"填报内容“{where}”过长（超过 {MAX_TEXT_CHARS} 字），无法生成 PDF。")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise PdfError(f"填报内容“{where}”不是有效数字。")
    elif isinstance(value, Mapping | list | tuple):
        if len(value) > MAX_ITEMS:
            raise PdfError(f"填报内容“{where}”条目过多，无法生成 PDF。")
        items = value.items() if isinstance(value, Mapping) else enumerate(value)
        for key, item in items:
            _check_value(str(key), where, depth + 1)
            _check_value(item, where, depth + 1)


_KIND_CHECKS = {
    "text": lambda v: isinstance(v, str),
    "choice": lambda v: isinstance(v, str),
    "bool": lambda v: isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "multi": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
}


def _normalise_profile(profile: Any) -> dict[str, Any]:
    if not isinstance(profile, Mapping):
        raise PdfError("企业填报信息格式不正确，无法生成 PDF。")
    for key, value in profile.items():
        field_ = FIELDS_BY_NAME.get(str(key))
        _check_value(value, field_.zh if field_ else str(key)[:40])
        if field_ is not None and value is not None and not _KIND_CHECKS[field_.kind](value):
            # Matching may never read this answer, so a wrong type must be refused here, not by chance.
            raise PdfError("企业填报信息格式不正确（某些回答的类型不符），请在门户中重新保存问卷后再生成。")
    try:
        text = _canonical(dict(profile))
    except (TypeError, ValueError) as exc:  # e.g. keys of mixed types
        raise PdfError("企业填报信息格式不正确，无法生成 PDF。") from exc
    if len(text.encode()) > MAX_INPUT_BYTES:
        raise PdfError(f"填报内容过长（超过 {MAX_INPUT_BYTES // 1024} KB），无法生成 PDF。")
    return json.loads(text)  # a detached, JSON-shaped copy: later edits by the caller cannot leak in


@contextmanager
def _readable_profile_errors() -> Iterator[None]:
    """Answers of the wrong type (text where a number belongs…) make matching fail: say so plainly."""
    try:
        yield
    except (TypeError, ValueError, AttributeError) as exc:
        raise PdfError("企业填报信息格式不正确（某些回答的类型不符），请在门户中重新保存问卷后再生成。") from exc


def _check_base_url(base_url: str) -> str:
    if not isinstance(base_url, str) or not _BASE_URL_RE.match(base_url):
        raise PdfError("核验网址配置不正确（PUBLIC_BASE_URL 应以 http:// 或 https:// 开头）。")
    return base_url.rstrip("/")


def _resolve_unit(cat: Catalog, key: str) -> Unit | None:
    return cat.units.get(key) or cat.unit_by_name(key)


Contacts = Mapping[str, Mapping[str, str]]


def _normalise_contacts(contacts: Contacts | None, units: Iterable[Unit]) -> dict[str, dict[str, str]]:
    """Contacts of the given units only, keyed by unit id (callers may key by id or printed name)."""
    if not contacts:
        return {}
    if not isinstance(contacts, Mapping):
        raise PdfError("联系方式格式不正确。")
    by_key = dict(contacts)
    out: dict[str, dict[str, str]] = {}
    for unit in units:
        raw = next((by_key[k] for k in (unit.id, unit.name, unit.full_name, unit.display_name) if k and k in by_key),
                   None)
        if not isinstance(raw, Mapping):
            continue
        clean = {k: " ".join(str(raw[k]).split())[:300] for k in CONTACT_LABELS if raw.get(k) and str(raw[k]).strip()}
        if clean:
            out[unit.id] = clean
    return out


def _measure_units(cat: Catalog, measure: Measure) -> list[Unit]:
    units = [_resolve_unit(cat, n) for n in (*measure.lead_units, *measure.cooperating_units, *measure.service_points)]
    return [u for u in units if u is not None]


def _application_measure(measure_id: str) -> Measure:
    measure = catalog().measures.get(measure_id) if isinstance(measure_id, str) else None
    if measure is None:
        raise MeasureNotAvailable(f"未知的措施编号：{str(measure_id)[:40]}")
    if not measure.is_enterprise_facing:
        raise MeasureNotAvailable(f"措施 {measure.id}（{measure.title}）属于政府内部工作，不接受企业申请。")
    return measure


def application_request(profile: Mapping[str, Any], measure_id: str, today: dt.date, *,
                        contacts: Mapping[str, Mapping[str, str]] | None = None,
                        base_url: str = DEFAULT_BASE_URL, reference: str = "") -> PdfRequest:
    """Validate and normalise the inputs of an application form (raises PdfError / MeasureNotAvailable)."""
    measure = _application_measure(measure_id)
    if reference and not _REFERENCE_RE.fullmatch(reference):
        raise PdfError("受理编号格式不正确。")
    return PdfRequest("application", measure.id, _normalise_profile(profile), today,
                      _normalise_contacts(contacts, _measure_units(catalog(), measure)), _check_base_url(base_url),
                      reference)


def report_request(profile: Mapping[str, Any], today: dt.date, *,
                   contacts: Mapping[str, Mapping[str, str]] | None = None,
                   base_url: str = DEFAULT_BASE_URL) -> PdfRequest:
    """Validate and normalise the inputs of a match report."""
    clean = _normalise_profile(profile)
    cat = catalog()
    with _readable_profile_errors():
        shown = [r for r in match_profile(clean, today, cat) if r.status in REPORT_STATUSES]
    units = [u for r in shown for u in _measure_units(cat, r.measure)]
    return PdfRequest("report", None, clean, today, _normalise_contacts(contacts, units), _check_base_url(base_url))


def short_code_for(input_hash: str, salt: str = "") -> str:
    """10-character Crockford base32 verification code derived from the input hash."""
    digest = hashlib.sha256((input_hash + salt).encode()).hexdigest() if salt else input_hash
    number = int(digest, 16) >> (256 - 50)
    return "".join(_CROCKFORD[(number >> shift) & 31] for shift in range(45, -1, -5))


# -- display helpers -------------------------------------------------------------------------
def wan(value: float | None) -> str:
    """万元 amounts without a trailing .0."""
    if value is None:
        return ""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}".rstrip("0").rstrip(".")


def zh_date(value: dt.date | None) -> str:
    """2026年6月1日."""
    return f"{value.year}年{value.month}月{value.day}日" if value else ""


def _percent(value: float) -> str:
    return f"{value:g}%"


def display_answer(field_: Field, value: Any, profile: Mapping[str, Any]) -> str:
    """An answer as the questionnaire showed it (option labels, 是/否, units); unknown codes as given."""
    if value is None or value == "" or value == []:
        return ""
    if field_.kind == "bool":
        return "是" if value is True else "否" if value is False else str(value)
    if field_.kind == "number":
        return f"{wan(value)} {field_.unit_zh}".strip() if isinstance(value, int | float) else str(value)
    if field_.kind in ("choice", "multi"):
        dates = profile.get(DATES_FIELD) if field_.dated else None
        codes = value if isinstance(value, list) else [value]
        labels = []
        for code in codes:
            option = field_.option(code) if isinstance(code, str) else None
            label = option.zh if option else str(code)
            if isinstance(dates, Mapping) and dates.get(code):
                label += f"（{dates[code]}）"
            labels.append(label)
        return "；".join(labels)
    return str(value)


@dataclass(frozen=True)
class UnitEntry:
    name: str
    contact_lines: tuple[str, ...]  # empty: the template prints NO_CONTACT


def _unit_entries(cat: Catalog, keys: Iterable[str], contacts: Mapping[str, Mapping[str, str]]) -> list[UnitEntry]:
    entries = []
    for key in keys:
        unit = _resolve_unit(cat, key)
        if unit is None:
            entries.append(UnitEntry(key, ()))
            continue
        contact = contacts.get(unit.id, {})
        entries.append(UnitEntry(unit.display_name, tuple(f"{CONTACT_LABELS[k]}：{v}" for k, v in contact.items())))
    return entries


@dataclass(frozen=True)
class SupportRow:
    label: str
    cap: str  # "不超过 100 万元（每个产品）" or "按市级支持金额的 5%"
    basis: str  # how the amount is computed, when the clause says
    applicable: bool
    city_share: bool = False


def _applies(conditions: Iterable[Any], profile: Mapping[str, Any]) -> bool:
    return all(c.evaluate(profile) is not False for c in conditions)


def support_rows(measure: Measure, profile: Mapping[str, Any]) -> list[SupportRow]:
    """The support a clause states, each bounded by its maximum and unit."""
    rows = []
    for a in measure.amounts:
        basis = []
        if a.rate_percent:
            basis.append(f"按{a.rate_base or '实际发生额'}的 {_percent(a.rate_percent)} 计算")
        count = profile.get(a.count_fact) if a.count_fact else None
        if isinstance(count, int | float) and count >= 1:
            total = wan(a.max_wan * int(count))
            basis.append(f"{int(count)} 个 × 每个不超过 {wan(a.max_wan)} 万元 = 不超过 {total} 万元")
        cap = f"{wan(a.min_wan)}—{wan(a.max_wan)} 万元（{a.unit_zh}）" if a.min_wan else \
            f"不超过 {wan(a.max_wan)} 万元（{a.unit_zh}）"
        rows.append(SupportRow(a.label or "资金支持", cap, "，".join(basis), _applies(a.when, profile)))
    for s in measure.city_share:
        unit = AMOUNT_UNITS.get(s.unit, "")
        cap = f"按市级支持金额的 {_percent(s.percent)}" + (f"（{unit}）" if unit else "")
        city = profile.get(s.base_fact) if s.base_fact else None
        basis = (f"市级支持 {wan(float(city))} 万元 × {_percent(s.percent)} = {wan(float(city) * s.percent / 100)} 万元"
                 if isinstance(city, int | float) else "按市级政策支持额度计算")
        rows.append(SupportRow(s.label or "配套奖励", cap, basis, _applies(s.when, profile), True))
    return rows


def validity_text(measure: Measure, today: dt.date) -> str:
    """When the measure ends, or that the documents give no end date."""
    end = measure.effective_valid_until
    if end is None:
        return "文件未规定有效期"
    days = (end - today).days
    if days < 0:
        return f"已于{zh_date(end)}到期"
    return f"有效期至{zh_date(end)}（剩余 {days} 天）"


def _benefit_kinds(measure: Measure) -> str:
    return "、".join(BENEFIT_KINDS.get(k, k) for k in measure.benefit_kinds)


def _no_amount_note(measure: Measure) -> str:
    """Kinds of support of a measure without a stated amount, saying so once."""
    kinds = _benefit_kinds(measure) or "政策支持"
    return kinds if "未列金额" in kinds else f"{kinds}（文件未列明支持金额）"


def _safe_filename(*parts: str) -> str:
    cleaned = [" ".join(_UNSAFE_FILENAME.sub(" ", p).split()).strip(" .") for p in parts]
    stem = "-".join(p for p in cleaned if p)[:150] or "文件"
    return f"{stem}.pdf"


def _qr_data_uri(url: str) -> str:
    # SVG keeps the code sharp at any zoom and costs a few hundred bytes; a data: URI is not a fetch.
    return segno.make(url, error="m").svg_data_uri(scale=1, border=0, dark="#000", light=None)


def _enterprise_rows(profile: Mapping[str, Any]) -> list[tuple[str, str]]:
    rows = [(FIELDS_BY_NAME[n].zh, display_answer(FIELDS_BY_NAME[n], profile.get(n), profile) or MISSING)
            for n in IDENTITY_FIELDS]
    for name in ("location", "ownership"):
        if profile.get(name):
            rows.append((FIELDS_BY_NAME[name].zh, display_answer(FIELDS_BY_NAME[name], profile[name], profile)))
    return rows


def _answers_for(measure: Measure, profile: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The questionnaire answers this measure's conditions read, in questionnaire order."""
    facts = measure.facts()
    rows = []
    for f in FIELDS:
        if f.name in facts:
            rows.append((f.zh, display_answer(f, profile.get(f.name), profile) or MISSING))
    return rows


def _verification(request: PdfRequest, code: str) -> dict[str, str]:
    url = f"{request.base_url}/verify/{code}"
    return {"code": code, "url": url, "qr": _qr_data_uri(url), "note": VERIFY_NOTE}


def _meta(request: PdfRequest, title: str) -> dict[str, str]:
    # Fixed to the judging date (Beijing time) so identical inputs give identical bytes.
    stamp = f"{request.today.isoformat()}T00:00:00+08:00"
    return {"title": title, "created": stamp, "modified": stamp}


# -- contexts --------------------------------------------------------------------------------
def _application_context(request: PdfRequest, code: str) -> dict[str, Any]:
    cat, profile = catalog(), request.profile
    measure = cat.measures[request.measure_id or ""]
    result = evaluate(measure, profile, request.today)
    rows = support_rows(measure, profile)
    service_request = not measure.has_cash
    name = request.enterprise_name
    kind_title = "政策服务申请书" if service_request else "政策兑现申请表"
    return {
        "kind": "application",
        "kind_title": kind_title,
        "reference": request.reference,
        "meta": _meta(request, f"{kind_title}-{name or '企业'}-{measure.title}"),
        "measure": measure,
        "document": measure.document,
        "result": result,
        "met": [r.text for r in result.met],
        "failed": [r.text + (f"（{r.condition.hint}）" if r.condition.hint else "") for r in result.failed],
        "unknown": [r.text for r in result.unknown],
        "answers": _answers_for(measure, profile),
        "enterprise_name": name or MISSING,
        "enterprise_rows": _enterprise_rows(profile),
        "service_request": service_request,
        "benefit_kinds": _benefit_kinds(measure),
        "no_amount_note": _no_amount_note(measure),
        "support_rows": sorted(rows, key=lambda r: not r.applicable),
        "max_cash": result.max_cash_wan,
        "addressee": "、".join(u.display_name for u in (_resolve_unit(cat, n) for n in result.lead_units) if u),
        "lead_units": _unit_entries(cat, result.lead_units, request.contacts),
        "cooperating_units": _unit_entries(cat, measure.cooperating_units, request.contacts),
        "service_points": _unit_entries(cat, measure.service_points, request.contacts),
        "materials": list(measure.materials),
        "validity": validity_text(measure, request.today),
        "today": request.today,
        "verify": _verification(request, code),
    }


@dataclass(frozen=True)
class ReportItem:
    result: MatchResult
    kinds: str
    support: list[SupportRow]
    validity: str
    lead_units: list[UnitEntry]
    cooperating_units: list[UnitEntry]
    service_points: list[UnitEntry]
    next_steps: list[str]


def _next_steps(r: MatchResult, profile: Mapping[str, Any]) -> list[str]:
    m = r.measure
    steps = []
    if r.status == "eligible":
        if m.materials:
            steps.append(f"对照申报材料清单准备材料（共 {len(m.materials)} 项，以责任单位要求为准）。")
        steps.append(f"在门户生成本措施的申请表（措施编号 {m.id}），由法定代表人签字、企业盖章后向责任单位提交。")
    elif r.status == "near_miss":
        # The reason already names the missing condition and its hint.
        steps.append("条件具备后在门户更新回答，平台将重新判断。")
    else:
        questions = sorted({q for c in r.unknown for q in c.condition.missing_questions(profile)})
        steps.append("在门户补充回答：" + "；".join(questions or [c.text for c in r.unknown]) + "。")
    if r.days_left is not None and 0 <= r.days_left <= 90:
        steps.append(f"注意：距政策有效期截止仅剩 {r.days_left} 天。")
    return steps


def _report_context(request: PdfRequest, code: str) -> dict[str, Any]:
    cat, profile = catalog(), request.profile
    results = match_profile(profile, request.today, cat)
    groups = grouped(results)
    name = request.enterprise_name
    sections = []
    for status in REPORT_STATUSES:
        items = [ReportItem(r, _no_amount_note(r.measure), support_rows(r.measure, profile),
                            validity_text(r.measure, request.today),
                            _unit_entries(cat, r.lead_units, request.contacts),
                            _unit_entries(cat, r.measure.cooperating_units, request.contacts),
                            _unit_entries(cat, r.measure.service_points, request.contacts),
                            _next_steps(r, profile)) for r in groups[status]]
        sections.append({"status": status, "title": GROUP_TITLES[status], "items": items})
    return {
        "kind": "report",
        "kind_title": "政策匹配报告",
        "meta": _meta(request, f"政策匹配报告-{name or '企业'}-{request.today:%Y%m%d}"),
        "enterprise_name": name or MISSING,
        "enterprise_rows": _enterprise_rows(profile),
        "sections": sections,
        "counts": {s: len(groups[s]) for s in groups},
        "shown": sum(len(groups[s]) for s in REPORT_STATUSES),
        "total_max_cash": total_max_cash(results),
        "today": request.today,
        "verify": _verification(request, code),
    }


# -- rendering -------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _jinja() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["wan"] = wan
    env.filters["zh_date"] = zh_date
    env.globals.update(MISSING=MISSING, NO_CONTACT=NO_CONTACT, MATERIALS_NOTE=MATERIALS_NOTE)
    return env


def _template_name(kind: str) -> str:
    return f"{kind}/{kind}.html"


def build_html(request: PdfRequest, short_code: str | None = None) -> str:
    """The HTML WeasyPrint renders for `request` (all user text escaped by Jinja autoescape)."""
    code = _check_code(short_code) if short_code else short_code_for(request.input_hash)
    with _readable_profile_errors():
        context = (_application_context(request, code) if request.kind == "application"
                   else _report_context(request, code))
    return _jinja().get_template(_template_name(request.kind)).render(**context)


def template_base_url(kind: str) -> str:
    """file: URL of the template folder; relative links in the HTML resolve inside pdf_templates/."""
    return (TEMPLATES_DIR / kind).as_uri() + "/"


def _check_code(code: str) -> str:
    if not isinstance(code, str) or not _CODE_RE.match(code):
        raise PdfError("核验码格式不正确（应为 4–16 位大写字母或数字）。")
    return code


def filename_for(request: PdfRequest) -> str:
    """A download name such as 申请表-<企业名>-<措施标题>.pdf, safe on every file system."""
    name = request.enterprise_name or "未命名企业"
    if request.kind == "application":
        return _safe_filename("申请表", name, catalog().measures[request.measure_id or ""].title)
    return _safe_filename("政策匹配报告", name, f"{request.today:%Y%m%d}")


def render_request(request: PdfRequest, *, short_code: str | None = None, timeout: float | None = None) -> RenderedPdf:
    """Render a prepared request in a worker process (PdfError on timeout or failure)."""
    code = _check_code(short_code) if short_code else short_code_for(request.input_hash)
    html = build_html(request, code)
    input_hash = request.input_hash
    job = RenderJob(html, template_base_url(request.kind), bytes.fromhex(input_hash[:32]))
    output = get_pool().render(job, timeout=timeout)
    if output.refused:
        log.warning("PDF %s: refused to fetch %s", code, ", ".join(output.refused))
    return RenderedPdf(data=output.data, sha256=hashlib.sha256(output.data).hexdigest(), short_code=code,
                       input_hash=input_hash, filename=filename_for(request), kind=request.kind,
                       measure_id=request.measure_id, pages=output.pages, requested=output.requested,
                       refused=output.refused)


def render_application(profile: Mapping[str, Any], measure_id: str, today: dt.date, *, short_code: str | None = None,
                       base_url: str = DEFAULT_BASE_URL, contacts: Mapping[str, Mapping[str, str]] | None = None,
                       timeout: float | None = None) -> RenderedPdf:
    """Pre-filled application form for one measure (KeyError/PdfError for unknown or internal measures)."""
    request = application_request(profile, measure_id, today, contacts=contacts, base_url=base_url)
    return render_request(request, short_code=short_code, timeout=timeout)


def render_report(profile: Mapping[str, Any], today: dt.date, *, contacts: Contacts | None = None,
                  short_code: str | None = None, base_url: str = DEFAULT_BASE_URL,
                  timeout: float | None = None) -> RenderedPdf:
    """Match report: every eligible, near-miss and needs-info measure with reasons, amounts and contacts."""
    request = report_request(profile, today, contacts=contacts, base_url=base_url)
    return render_request(request, short_code=short_code, timeout=timeout)
