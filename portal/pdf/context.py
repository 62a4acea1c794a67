"""What a PDF says: the template context of an application form or a match report, built from a PdfRequest.

Rows are plain strings ready to print; amounts, dates and answers are written by portal.formatting,
so a PDF words them as the web pages do.

Language: build_html (portal.pdf.render) forces the locale. The match report is written in the reader's
language (zh, ko, en); the application form is built in Chinese (it is filed with a Chinese authority) and
its template adds glosses of the labels in the reader's language.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import flask_babel
import segno
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from jinja2 import pass_context
from markupsafe import Markup

from portal import formatting
from portal.formatting import answer_text, mark_chinese, number, percent, wan
from portal.i18n import HTML_LANG
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
#: The same texts in the language being rendered (the constants above are the Chinese of record).
_MISSING, _NO_CONTACT = _l("（未填写）"), _l("联系方式待管理员补充")
VERIFY_NOTE = _l(
    "扫描二维码或访问核验网址，可在门户核验页面查看本文件的生成时间、企业名称、所涉措施及 SHA-256 校验值。")
GROUP_TITLES = {MatchStatus.ELIGIBLE: _l("符合条件的措施"), MatchStatus.NEAR_MISS: _l("只差一项、可以争取的措施"),
                MatchStatus.NEEDS_INFO: _l("还需补充信息的措施")}
_CONTACT_LABELS = {"address": _l("地址"), "phone": _l("电话"), "hours": _l("办公时间"), "email": _l("电子邮箱"),
                   "web": _l("网址")}
_AMOUNT_UNITS = {"per_variety": _l("每个品种"), "per_project": _l("每个项目"), "per_product": _l("每个产品"),
                 "one_off": _l("一次性"), "annual": _l("每年度"), "per_enterprise": _l("每户企业"),
                 "graded": _l("分级分类"), "unspecified": _l("文件未写明发放方式")}
#: Units of number answers other than 万元 (which money() writes): a count needs no unit in English.
_FIELD_UNITS = {"ko": {"个": "개"}, "en": {"个": ""}}
_BENEFIT_KINDS = {"cash_reward": _l("资金奖励"), "matching_reward": _l("按市级支持额度配套奖励"),
                  "subsidy": _l("项目支持与补助"), "interest_subsidy": _l("贷款贴息"), "fast_track": _l("加快审评审批"),
                  "combined_inspection": _l("合并现场检查"), "consultation": _l("前置咨询与技术指导"),
                  "platform_service": _l("平台与公共服务"), "regulatory_relief": _l("监管便利与减负"),
                  "coordination": _l("协调对接服务"), "policy_support": _l("政策支持（未列金额）")}


# -- language ----------------------------------------------------------------------------------
def current_lang() -> str:
    """zh, ko or en: the language being rendered (forced by portal.pdf.render.build_html)."""
    locale = flask_babel.get_locale()
    return locale.language if locale is not None and locale.language in HTML_LANG else "zh"


def money(value: float | None) -> str:
    """An amount given in 万元, as the reader's language writes it: 500 万元, 500만 위안, CNY 5,000,000."""
    return formatting.money(value, current_lang())


def money_range(low: float, high: float) -> str:
    """50—200 万元, 50—200만 위안, CNY 500,000–2,000,000."""
    lang = current_lang()
    if lang == "en":
        return f"{formatting.money(low, lang)}–{formatting.money(high, lang).removeprefix('CNY ')}"
    return f"{wan(low)}—{formatting.money(high, lang)}"


def local_date(value: dt.date | None) -> str:
    """2026年6月1日, 2026년 6월 1일, June 1, 2026."""
    return formatting.local_date(value, current_lang())


def list_sep() -> str:
    """Between the items of a list written inline: 、 in Chinese, a comma elsewhere."""
    return "、" if current_lang() == "zh" else ", "


def clause_sep() -> str:
    """Between clauses of a line: ； in Chinese, a semicolon and space elsewhere."""
    return "；" if current_lang() == "zh" else "; "


def zh_runs(text: Any) -> Markup:
    """Escaped text whose Chinese runs carry lang="zh-Hans" when the document is in Korean or English.

    Policy wording the catalogs cannot translate (citations, unit names, option labels, what the enterprise
    typed) stays Chinese inside a Korean or English report: marked, it gets Chinese glyphs and is read as
    Chinese by assistive technology.
    """
    return mark_chinese(text, current_lang())


@pass_context
def gloss(ctx: Any, text: Any, translate: bool = True) -> Markup:
    """Under a Chinese label of the application form, that label in the reader's language ("" for Chinese).

    `text` is a message id (`gloss(_('政策依据'))`: the form renders in Chinese, so `_` returns the id and
    the call marks it for the catalogs); `translate=False` prints `text` as given (already translated).
    """
    lang = ctx.get("gloss_lang", "zh")
    if lang == "zh" or not text:
        return Markup("")
    if translate:
        with flask_babel.force_locale(lang):
            text = _(str(text))
    return Markup('<span class="gloss" lang="%s">%s</span>') % (HTML_LANG[lang], text)


def term(text: str) -> Markup:
    """A short term kept on one line (white-space: nowrap), e.g. a status word inside a sentence."""
    return Markup('<span class="term">%s</span>') % text


def field_label(field_: Field) -> str:
    """A question's label in the language being rendered (the profile fields carry their ko/en wording)."""
    lang = current_lang()
    if lang == "ko":
        return field_.ko or field_.en or field_.zh
    if lang == "en":
        return field_.en or field_.zh
    return field_.zh


def field_gloss(field_: Field, lang: str) -> str:
    """The Korean or English label shown under a Chinese one on the application form ("" in Chinese)."""
    if lang == "ko":
        return field_.ko or field_.en
    return field_.en if lang == "en" else ""


# -- display rows ----------------------------------------------------------------------------
def display_answer(field_: Field, value: Any, profile: Mapping[str, Any]) -> str:
    """An answer as the questionnaire showed it, with the dates of dated options beside them.

    In Chinese exactly as the web pages write it (portal.formatting); in Korean or English with the
    options' own ko/en wording, yes/no and amounts in that language.
    """
    dates = profile.get(DATES_FIELD) if field_.dated else None
    lang = current_lang()
    if lang == "zh":
        return answer_text(value, field_, dates)
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, list):
        return clause_sep().join(_option_text(field_, code, dates, lang) for code in value) or _("（都不是）")
    if field_.kind in ("choice", "multi") and isinstance(value, str):
        return _option_text(field_, value, dates, lang)
    if isinstance(value, int | float):
        if field_.unit_zh == "万元":
            return money(value)
        unit = _FIELD_UNITS[lang].get(field_.unit_zh, field_.unit_zh)
        return f"{number(value)} {unit}".strip()
    return str(value)


def _option_text(field_: Field, code: Any, dates: Any, lang: str) -> str:
    option = field_.option(code) if isinstance(code, str) else None
    label = str(code) if option is None else (option.ko or option.en or option.zh) if lang == "ko" else \
        (option.en or option.zh)
    if isinstance(dates, Mapping) and isinstance(code, str) and dates.get(code):
        label += f" ({dates[code]})"
    return label


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
        entries.append(UnitEntry(unit.display_name, tuple(_("%(label)s：%(value)s", label=str(_CONTACT_LABELS[k]),
                                                            value=v) for k, v in contact.items())))
    return entries


@dataclass(frozen=True)
class SupportRow:
    label: str
    cap: str  # "不超过 100 万元（每个产品）" or "按市级支持金额的 5%" (in the language being rendered)
    basis: str  # how the amount is computed, when the clause says
    applicable: bool
    city_share: bool = False


def _applies(conditions: Iterable[Any], profile: Mapping[str, Any]) -> bool:
    return all(c.evaluate(profile) is not False for c in conditions)


def support_rows(measure: Measure, profile: Mapping[str, Any]) -> list[SupportRow]:
    """The support a clause states, each bounded by its maximum and unit."""
    lang = current_lang()
    rows = []
    for a in measure.amounts:
        basis = []
        if a.rate_percent:
            base = a.local("rate_base", lang) if a.rate_base else _("实际发生额")
            basis.append(_("按%(base)s的 %(rate)s 计算", base=base, rate=percent(a.rate_percent)))
        count = profile.get(a.count_fact) if a.count_fact else None
        if isinstance(count, int | float) and count >= 1:
            basis.append(ngettext("%(num)s 个 × 每个不超过 %(each)s = 不超过 %(total)s",
                                  "%(num)s 个 × 每个不超过 %(each)s = 不超过 %(total)s", int(count),
                                  each=money(a.max_wan), total=money(a.max_wan * int(count))))
        unit = str(_AMOUNT_UNITS.get(a.unit, a.unit_zh))
        cap = _("%(amount)s（%(unit)s）", amount=money_range(a.min_wan, a.max_wan), unit=unit) if a.min_wan else \
            _("不超过 %(amount)s（%(unit)s）", amount=money(a.max_wan), unit=unit)
        label = a.local("label", lang) if a.label else _("资金支持")
        rows.append(SupportRow(label, cap, ("，" if lang == "zh" else ", ").join(basis), _applies(a.when, profile)))
    for s in measure.city_share:
        unit = str(_AMOUNT_UNITS[s.unit]) if s.unit in AMOUNT_UNITS else ""
        cap = (_("按市级支持金额的 %(rate)s（%(unit)s）", rate=percent(s.percent), unit=unit) if unit
               else _("按市级支持金额的 %(rate)s", rate=percent(s.percent)))
        city = profile.get(s.base_fact) if s.base_fact else None
        basis = (_("市级支持 %(city)s × %(rate)s = %(amount)s", city=money(float(city)), rate=percent(s.percent),
                   amount=money(float(city) * s.percent / 100))
                 if isinstance(city, int | float) else _("按市级政策支持额度计算"))
        label = s.local("label", lang) if s.label else _("配套奖励")
        rows.append(SupportRow(label, cap, basis, _applies(s.when, profile), True))
    return rows


def validity_text(measure: Measure, today: dt.date) -> str:
    """When the measure ends, or that the documents give no end date."""
    end = measure.effective_valid_until
    if end is None:
        return _("文件未规定有效期")
    days = (end - today).days
    if days < 0:
        return _("已于%(date)s到期", date=local_date(end))
    return ngettext("有效期至%(date)s（剩余 %(num)s 天）", "有效期至%(date)s（剩余 %(num)s 天）", days,
                    date=local_date(end))


def _benefit_kinds(measure: Measure) -> str:
    return list_sep().join(str(_BENEFIT_KINDS[k]) if k in BENEFIT_KINDS else k for k in measure.benefit_kinds)


def _no_amount_note(measure: Measure) -> str:
    """Kinds of support of a measure without a stated amount, saying so once."""
    kinds = _benefit_kinds(measure)
    if not kinds:
        return _("%(kinds)s（文件未列明支持金额）", kinds=_("政策支持"))
    # Only 政策支持（未列金额） says it already.
    return kinds if "policy_support" in measure.benefit_kinds else _("%(kinds)s（文件未列明支持金额）", kinds=kinds)


def _qr_data_uri(url: str) -> str:
    # SVG keeps the code sharp at any zoom and costs a few hundred bytes; a data: URI is not a fetch.
    return segno.make(url, error="m").svg_data_uri(scale=1, border=0, dark="#000", light=None)


@dataclass(frozen=True)
class Row:
    """A label and an answer; `gloss` is the label in the reader's language under a Chinese one ("" if none)."""

    label: str
    value: str
    gloss: str = ""
    missing: bool = False


def _row(field_: Field, value: Any, profile: Mapping[str, Any], gloss_lang: str) -> Row:
    text = display_answer(field_, value, profile)
    return Row(field_label(field_), text or str(_MISSING), field_gloss(field_, gloss_lang), not text)


def _enterprise_rows(profile: Mapping[str, Any], gloss_lang: str = "zh") -> list[Row]:
    rows = [_row(FIELDS_BY_NAME[n], profile.get(n), profile, gloss_lang) for n in IDENTITY_FIELDS]
    for name in ("location", "ownership"):
        if profile.get(name):
            rows.append(_row(FIELDS_BY_NAME[name], profile[name], profile, gloss_lang))
    return rows


def _answers_for(measure: Measure, profile: Mapping[str, Any], gloss_lang: str = "zh") -> list[Row]:
    """The questionnaire answers this measure's conditions read, in questionnaire order."""
    facts = measure.facts()
    return [_row(f, profile.get(f.name), profile, gloss_lang) for f in FIELDS if f.name in facts]


def _verification(request: PdfRequest, code: str) -> dict[str, str]:
    url = f"{request.base_url}/verify/{code}"
    return {"code": code, "url": url, "qr": _qr_data_uri(url), "note": str(VERIFY_NOTE)}


def _meta(request: PdfRequest, title: str) -> dict[str, str]:
    # Fixed to the judging date (Beijing time) so identical inputs give identical bytes.
    stamp = f"{request.today.isoformat()}T00:00:00+08:00"
    return {"title": title, "created": stamp, "modified": stamp}


# -- contexts --------------------------------------------------------------------------------
def _language(request: PdfRequest) -> dict[str, Any]:
    """What templates need to know about the reader's language."""
    lang = "zh" if request.kind == "application" else request.lang  # the language the document is written in
    return {"lang": lang, "html_lang": HTML_LANG[lang], "gloss_lang": request.lang if lang == "zh" else "zh",
            "missing": str(_MISSING), "no_contact": str(_NO_CONTACT)}


def application_context(request: PdfRequest, code: str) -> dict[str, Any]:
    """Everything application/application.html prints for one measure (built in Chinese: see the module doc)."""
    cat, profile = catalog(), request.profile
    measure = cat.measures[request.measure_id or ""]
    result = evaluate(measure, profile, request.today)
    rows = support_rows(measure, profile)
    service_request = not measure.has_cash
    name = request.enterprise_name
    kind_title = "政策服务申请书" if service_request else "政策兑现申请表"
    return {
        **_language(request),
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
        "answers": _answers_for(measure, profile, request.lang),
        "enterprise_name": name or MISSING,
        "enterprise_rows": _enterprise_rows(profile, request.lang),
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
            steps.append(ngettext("对照申报材料清单准备材料（共 %(num)s 项，以责任单位要求为准）。",
                                  "对照申报材料清单准备材料（共 %(num)s 项，以责任单位要求为准）。", len(m.materials)))
        steps.append(_("在门户生成本措施的申请表（措施编号 %(id)s），由法定代表人签字、企业盖章后向责任单位提交。",
                       id=m.id))
    elif r.status == MatchStatus.NEAR_MISS:
        # The reason already names the missing condition and its hint.
        steps.append(_("条件具备后在门户更新回答，平台将重新判断。"))
    else:
        # The questions not yet answered, ordered by their Chinese labels (as the web page lists them).
        unanswered = {n for c in r.unknown for n in c.condition.facts() if profile.get(n) in (None, "")}
        fields = sorted((FIELDS_BY_NAME[n] for n in unanswered if n in FIELDS_BY_NAME), key=lambda f: f.zh)
        questions = list(dict.fromkeys(field_label(f) for f in fields)) or [c.text for c in r.unknown]
        steps.append(_("在门户补充回答：%(questions)s。", questions=clause_sep().join(questions)))
    if r.days_left is not None and 0 <= r.days_left <= 90:
        steps.append(ngettext("注意：距政策有效期截止仅剩 %(num)s 天。", "注意：距政策有效期截止仅剩 %(num)s 天。",
                              r.days_left))
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
        sections.append({"status": status, "title": str(GROUP_TITLES[status]), "items": items})
    kind_title = _("政策匹配报告")
    return {
        **_language(request),
        "status_labels": MatchStatus.labels(),
        "kind": "report",
        "kind_title": kind_title,
        "meta": _meta(request, f"{kind_title}-{name or _('企业')}-{request.today:%Y%m%d}"),
        "enterprise_name": name or str(_MISSING),
        "enterprise_rows": _enterprise_rows(profile),
        "sections": sections,
        "counts": {s: len(groups[s]) for s in groups},
        "shown": sum(len(groups[s]) for s in REPORT_STATUSES),
        "total_max_cash": total_max_cash(results),
        "today": request.today,
        "verify": _verification(request, code),
    }
