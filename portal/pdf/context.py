"""What a PDF says: the template context of an application form or a match report, built from a PdfRequest.

Rows are plain strings ready to print; amounts, dates and answers are written by portal.formatting,
so a PDF words them as the web pages do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import segno

from portal.formatting import CONTACT_LABELS, answer_text, percent, wan, zh_date
from portal.pdf.request import REPORT_STATUSES, PdfRequest, resolve_unit
from portal.policy.catalog import catalog
from portal.policy.matching import MatchResult, evaluate, grouped, match_profile, total_max_cash
from portal.policy.records import AMOUNT_UNITS, BENEFIT_KINDS, Catalog, Measure
from portal.profile.fields import FIELDS, FIELDS_BY_NAME, IDENTITY_FIELDS, Field
from portal.profile.validate import DATES_FIELD
from portal.statuses import MatchStatus

MISSING = "（未填写）"
NO_CONTACT = "联系方式待管理员补充"
MATERIALS_NOTE = "以下为条文列明的材料，具体以责任单位要求为准。"
VERIFY_NOTE = "扫描二维码或访问核验网址，可在门户核验页面查看本文件的生成时间、企业名称、所涉措施及 SHA-256 校验值。"
GROUP_TITLES = {MatchStatus.ELIGIBLE: "符合条件的措施", MatchStatus.NEAR_MISS: "只差一项、可以争取的措施",
                MatchStatus.NEEDS_INFO: "还需补充信息的措施"}


# -- display rows ----------------------------------------------------------------------------
def display_answer(field_: Field, value: Any, profile: Mapping[str, Any]) -> str:
    """An answer as the questionnaire showed it, with the dates of dated options beside them."""
    return answer_text(value, field_, profile.get(DATES_FIELD) if field_.dated else None)


@dataclass(frozen=True)
class UnitEntry:
    name: str
    contact_lines: tuple[str, ...]  # empty: the template prints NO_CONTACT


def _unit_entries(cat: Catalog, keys: Iterable[str], contacts: Mapping[str, Mapping[str, str]]) -> list[UnitEntry]:
    entries = []
    for key in keys:
        unit = resolve_unit(cat, key)
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
            basis.append(f"按{a.rate_base or '实际发生额'}的 {percent(a.rate_percent)} 计算")
        count = profile.get(a.count_fact) if a.count_fact else None
        if isinstance(count, int | float) and count >= 1:
            total = wan(a.max_wan * int(count))
            basis.append(f"{int(count)} 个 × 每个不超过 {wan(a.max_wan)} 万元 = 不超过 {total} 万元")
        cap = f"{wan(a.min_wan)}—{wan(a.max_wan)} 万元（{a.unit_zh}）" if a.min_wan else \
            f"不超过 {wan(a.max_wan)} 万元（{a.unit_zh}）"
        rows.append(SupportRow(a.label or "资金支持", cap, "，".join(basis), _applies(a.when, profile)))
    for s in measure.city_share:
        unit = AMOUNT_UNITS.get(s.unit, "")
        cap = f"按市级支持金额的 {percent(s.percent)}" + (f"（{unit}）" if unit else "")
        city = profile.get(s.base_fact) if s.base_fact else None
        basis = (f"市级支持 {wan(float(city))} 万元 × {percent(s.percent)} = {wan(float(city) * s.percent / 100)} 万元"
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
def application_context(request: PdfRequest, code: str) -> dict[str, Any]:
    """Everything application/application.html prints for one measure."""
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
        "addressee": "、".join(u.display_name for u in (resolve_unit(cat, n) for n in result.lead_units) if u),
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
    if r.status == MatchStatus.ELIGIBLE:
        if m.materials:
            steps.append(f"对照申报材料清单准备材料（共 {len(m.materials)} 项，以责任单位要求为准）。")
        steps.append(f"在门户生成本措施的申请表（措施编号 {m.id}），由法定代表人签字、企业盖章后向责任单位提交。")
    elif r.status == MatchStatus.NEAR_MISS:
        # The reason already names the missing condition and its hint.
        steps.append("条件具备后在门户更新回答，平台将重新判断。")
    else:
        questions = sorted({q for c in r.unknown for q in c.condition.missing_questions(profile)})
        steps.append("在门户补充回答：" + "；".join(questions or [c.text for c in r.unknown]) + "。")
    if r.days_left is not None and 0 <= r.days_left <= 90:
        steps.append(f"注意：距政策有效期截止仅剩 {r.days_left} 天。")
    return steps


def report_context(request: PdfRequest, code: str) -> dict[str, Any]:
    """Everything report/report.html prints: the eligible, near-miss and needs-info measures in groups."""
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
