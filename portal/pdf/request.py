"""What a PDF depends on: the inputs, checked and normalised into a PdfRequest, and the codes derived from them.

A PdfRequest holds only JSON-shaped data, so its `input_hash` identifies the document: identical
inputs give the same verification code and (portal.pdf.render) byte-identical PDFs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from portal.formatting import CONTACT_LABELS
from portal.i18n import LANGUAGES
from portal.pdf.errors import MeasureNotAvailable, PdfError
from portal.policy.catalog import catalog
from portal.policy.matching import match_profile
from portal.policy.records import Catalog, Measure, Unit
from portal.profile.fields import FIELDS_BY_NAME
from portal.statuses import MatchStatus

DEFAULT_BASE_URL = "http://127.0.0.1:5000"
#: Part of the input hash: bump when templates change what a PDF says, so old codes stay truthful.
FORMAT_VERSION = "1"
_REFERENCE_RE = re.compile(r"[A-Z]{2,6}-[0-9]{4}-[0-9]{6}")
#: Bounds on what a profile may contain before we even start (validated profiles are far smaller).
MAX_INPUT_BYTES = 64 * 1024
MAX_TEXT_CHARS = 2000
MAX_ITEMS = 200
#: The match statuses a report lists, in the order it lists them.
REPORT_STATUSES = (MatchStatus.ELIGIBLE, MatchStatus.NEAR_MISS, MatchStatus.NEEDS_INFO)
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CODE_RE = re.compile(r"^[0-9A-Z]{4,16}$")
_BASE_URL_RE = re.compile(r"^https?://[^\s\"'<>\\]{1,200}$")
_UNSAFE_FILENAME = re.compile(r"[\\/:*?\"<>|\x00-\x1f\x7f]+")

Contacts = Mapping[str, Mapping[str, str]]


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
    #: The reader's language (zh, ko, en): the report is written in it; the application form stays Chinese and
    #: glosses its labels in it. Rendered under flask_babel.force_locale(lang) (portal.pdf.render).
    lang: str = "zh"

    @property
    def input_hash(self) -> str:
        """SHA-256 of the canonical JSON of all inputs (and the template format version)."""
        inputs = {"format": FORMAT_VERSION, "kind": self.kind, "measure_id": self.measure_id, "profile": self.profile,
                  "today": self.today.isoformat(), "contacts": self.contacts, "base_url": self.base_url}
        if self.reference:  # only then, so the hashes (and codes) of plain downloads stay as they were
            inputs["reference"] = self.reference
        if self.lang != "zh":  # likewise: Chinese documents keep their codes; other languages are other documents
            inputs["lang"] = self.lang
        return hashlib.sha256(_canonical(inputs).encode()).hexdigest()

    @property
    def enterprise_name(self) -> str:
        """The enterprise name as entered, or "" when missing."""
        name = self.profile.get("enterprise_name")
        return name.strip() if isinstance(name, str) and name.strip() else ""

    def to_json(self) -> str:
        """The request as JSON, for a render in another process or on another host (see from_json).

        Keys keep their order (not sorted as in the hash): the order of contact fields is what a PDF prints.
        """
        return json.dumps({"kind": self.kind, "measure_id": self.measure_id, "profile": self.profile,
                           "today": self.today.isoformat(), "contacts": self.contacts, "base_url": self.base_url,
                           "reference": self.reference, "lang": self.lang}, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> PdfRequest:
        """A request stored by to_json; its input_hash is the one it had when stored."""
        data = json.loads(text)
        return cls(data["kind"], data["measure_id"], data["profile"], dt.date.fromisoformat(data["today"]),
                   data["contacts"], data["base_url"], data.get("reference", ""), check_lang(data.get("lang", "zh")))


def _canonical(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def _check_value(value: Any, where: str, depth: int = 0) -> None:
    """Reject inputs no questionnaire produces: huge texts, long lists, deep nesting, NaN."""
    if depth > 4:
        raise PdfError(_("填报内容“%(where)s”层级过深，无法生成 PDF。", where=where))
    if isinstance(value, str):
        if len(value) > MAX_TEXT_CHARS:
            raise PdfError(_("填报内容“%(where)s”过长（超过 %(n)s 字），无法生成 PDF。", where=where, n=MAX_TEXT_CHARS))
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise PdfError(_("填报内容“%(where)s”不是有效数字。", where=where))
    elif isinstance(value, Mapping | list | tuple):
        if len(value) > MAX_ITEMS:
            raise PdfError(_("填报内容“%(where)s”条目过多，无法生成 PDF。", where=where))
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
        raise PdfError(_("企业填报信息格式不正确，无法生成 PDF。"))
    for key, value in profile.items():
        field_ = FIELDS_BY_NAME.get(str(key))
        _check_value(value, field_.zh if field_ else str(key)[:40])
        if field_ is not None and value is not None and not _KIND_CHECKS[field_.kind](value):
            # Matching may never read this answer, so a wrong type must be refused here, not by chance.
            raise PdfError(_("企业填报信息格式不正确（某些回答的类型不符），请在门户中重新保存问卷后再生成。"))
    try:
        text = _canonical(dict(profile))
    except (TypeError, ValueError) as exc:  # e.g. keys of mixed types
        raise PdfError(_("企业填报信息格式不正确，无法生成 PDF。")) from exc
    if len(text.encode()) > MAX_INPUT_BYTES:
        raise PdfError(_("填报内容过长（超过 %(n)s KB），无法生成 PDF。", n=MAX_INPUT_BYTES // 1024))
    return json.loads(text)  # a detached, JSON-shaped copy: later edits by the caller cannot leak in


@contextmanager
def readable_profile_errors() -> Iterator[None]:
    """Answers of the wrong type (text where a number belongs…) make matching fail: say so plainly."""
    try:
        yield
    except (TypeError, ValueError, AttributeError) as exc:
        raise PdfError(_("企业填报信息格式不正确（某些回答的类型不符），请在门户中重新保存问卷后再生成。")) from exc


def check_lang(lang: str | None) -> str:
    """One of the interface languages (zh, ko, en); anything else renders in Chinese."""
    return lang if lang in LANGUAGES else "zh"


def _check_base_url(base_url: str) -> str:
    if not isinstance(base_url, str) or not _BASE_URL_RE.match(base_url):
        raise PdfError(_("核验网址配置不正确（PUBLIC_BASE_URL 应以 http:// 或 https:// 开头）。"))
    return base_url.rstrip("/")


def resolve_unit(cat: Catalog, key: str) -> Unit | None:
    """A unit named in a clause, by id or by printed name (None: the documents name no such unit)."""
    return cat.units.get(key) or cat.unit_by_name(key)


def _normalise_contacts(contacts: Contacts | None, units: Iterable[Unit]) -> dict[str, dict[str, str]]:
    """Contacts of the given units only, keyed by unit id (callers may key by id or printed name)."""
    if not contacts:
        return {}
    if not isinstance(contacts, Mapping):
        raise PdfError(_("联系方式格式不正确。"))
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
    units = [resolve_unit(cat, n) for n in (*measure.lead_units, *measure.cooperating_units, *measure.service_points)]
    return [u for u in units if u is not None]


def _application_measure(measure_id: str) -> Measure:
    measure = catalog().measures.get(measure_id) if isinstance(measure_id, str) else None
    if measure is None:
        raise MeasureNotAvailable(_("未知的措施编号：%(id)s", id=str(measure_id)[:40]))
    if not measure.is_enterprise_facing:
        raise MeasureNotAvailable(_("措施 %(id)s（%(title)s）属于政府内部工作，不接受企业申请。", id=measure.id,
                                    title=measure.title))
    return measure


def application_request(profile: Mapping[str, Any], measure_id: str, today: dt.date, *,
                        contacts: Contacts | None = None,
                        base_url: str = DEFAULT_BASE_URL, reference: str = "", lang: str = "zh") -> PdfRequest:
    """Validate and normalise the inputs of an application form (raises PdfError / MeasureNotAvailable)."""
    measure = _application_measure(measure_id)
    if reference and not _REFERENCE_RE.fullmatch(reference):
        raise PdfError(_("受理编号格式不正确。"))
    return PdfRequest("application", measure.id, _normalise_profile(profile), today,
                      _normalise_contacts(contacts, _measure_units(catalog(), measure)), _check_base_url(base_url),
                      reference, check_lang(lang))


def report_request(profile: Mapping[str, Any], today: dt.date, *,
                   contacts: Contacts | None = None,
                   base_url: str = DEFAULT_BASE_URL, lang: str = "zh") -> PdfRequest:
    """Validate and normalise the inputs of a match report."""
    clean = _normalise_profile(profile)
    cat = catalog()
    with readable_profile_errors():
        shown = [r for r in match_profile(clean, today, cat) if r.status in REPORT_STATUSES]
    units = [u for r in shown for u in _measure_units(cat, r.measure)]
    return PdfRequest("report", None, clean, today, _normalise_contacts(contacts, units), _check_base_url(base_url),
                      lang=check_lang(lang))


def short_code_for(input_hash: str, salt: str = "") -> str:
    """10-character Crockford base32 verification code derived from the input hash."""
    digest = hashlib.sha256((input_hash + salt).encode()).hexdigest() if salt else input_hash
    number = int(digest, 16) >> (256 - 50)
    return "".join(_CROCKFORD[(number >> shift) & 31] for shift in range(45, -1, -5))


def check_code(code: str) -> str:
    """A caller-chosen verification code, refused unless 4–16 capital letters or digits."""
    if not isinstance(code, str) or not _CODE_RE.match(code):
        raise PdfError(_("核验码格式不正确（应为 4–16 位大写字母或数字）。"))
    return code


#: The first word of a download name, per kind and language (the application form is Chinese in every language).
_FILENAME_KIND = {("application", "zh"): "申请表", ("application", "ko"): "申请表", ("application", "en"): "申请表",
                  ("report", "zh"): "政策匹配报告", ("report", "ko"): "정책 매칭 보고서",
                  ("report", "en"): "Policy match report"}


def filename_for(request: PdfRequest) -> str:
    """A download name such as 申请表-<企业名>-<措施标题>.pdf, safe on every file system."""
    name = request.enterprise_name or "未命名企业"
    kind = _FILENAME_KIND.get((request.kind, request.lang), _FILENAME_KIND[(request.kind, "zh")])
    if request.kind == "application":
        return _safe_filename(kind, name, catalog().measures[request.measure_id or ""].title)
    return _safe_filename(kind, name, f"{request.today:%Y%m%d}")


def ascii_filename_for(request: PdfRequest) -> str:
    """The plain-ASCII download name for clients that cannot read filename*: application-d001-03-2026-12-06.pdf."""
    day = request.today.isoformat()
    if request.kind == "application":
        measure = re.sub(r"[^A-Za-z0-9-]+", "-", request.measure_id or "").strip("-")
        stem = "-".join(p for p in ("application", measure, day) if p)
    else:
        stem = f"report-{day}"
    return f"{stem}-{request.lang}.pdf" if request.lang != "zh" else f"{stem}.pdf"


def _safe_filename(*parts: str) -> str:
    cleaned = [" ".join(_UNSAFE_FILENAME.sub(" ", p).split()).strip(" .") for p in parts]
    stem = "-".join(p for p in cleaned if p)[:150] or "文件"
    return f"{stem}.pdf"

