"""How amounts, dates, answers and contacts are written wherever the portal shows them: pages, PDFs, exports.

One function each, so a web page and the PDF printed from it say the same thing the same way.
No Flask, no Jinja: templating registers these as filters, services and the PDF code call them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from babel.dates import format_date
from markupsafe import Markup, escape

from portal.policy.wording import _
from portal.policy.wording import mark as _l

if TYPE_CHECKING:
    from portal.profile.fields import Field

#: Printed before each contact line of a unit ("电话：0431-…"); Chinese, translated where a page shows them.
CONTACT_LABELS = {"address": _l("地址"), "phone": _l("电话"), "hours": _l("办公时间"), "email": _l("电子邮箱"),
                  "web": _l("网址")}
#: A multiple-choice answer with nothing ticked: answered, unlike a missing answer.
NONE_OF_THESE = "（都不是）"
#: Between the options of a multiple-choice answer; option labels themselves contain "、".
ANSWER_SEPARATOR = "；"


def wan(value: float | None) -> str:
    """万元 amounts with thousands separators and up to two decimals, trailing zeros dropped: 1,250.5."""
    if value is None:
        return ""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}".rstrip("0").rstrip(".")


def percent(value: float) -> str:
    """A rate as the documents print it: 5%, 2.5%."""
    return f"{wan(value)}%"


def number(value: float | int) -> str:
    """A number as entered, in full, with thousands separators and without a trailing .0: 1,234,567.891."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        value = int(value)
    return f"{value:,}"


def zh_date(value: dt.date | dt.datetime | None) -> str:
    """2026年6月1日."""
    return f"{value.year}年{value.month}月{value.day}日" if value else ""


def money(wan_amount: float | None, lang: str = "zh") -> str:
    """An amount in 万元 as the reader writes it: zh "500 万元", ko "500만 위안", en "CNY 5,000,000"."""
    if wan_amount is None:
        return ""
    if lang == "en":
        return "CNY " + wan(round(float(wan_amount) * 10000, 2))
    if lang == "ko":
        return f"{wan(wan_amount)}만 위안"
    return f"{wan(wan_amount)} 万元"


def local_date(value: dt.date | dt.datetime | None, lang: str = "zh") -> str:
    """A date as the reader writes it (CLDR's long form): zh 2026年6月1日, ko 2026년 6월 1일, en June 1, 2026."""
    if not value:
        return ""
    if lang in ("ko", "en"):
        return format_date(value, "long", locale=lang)
    return zh_date(value)


def answer_text(value: Any, field: Field, dates: Mapping[str, str] | None = None) -> str:
    """An answer in the words of its question (option labels, 是/否, number and unit); unknown codes as given.

    `dates` ({option code: ISO date}) adds the date beside each dated option, for a page that does not
    show the dates on their own.
    """
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return ANSWER_SEPARATOR.join(_option_label(field, code, dates) for code in value) or NONE_OF_THESE
    if field.kind in ("choice", "multi") and isinstance(value, str):
        return _option_label(field, value, dates)
    if isinstance(value, int | float):
        return f"{number(value)} {field.unit_zh}".strip()
    return str(value)


def _option_label(field: Field, code: Any, dates: Mapping[str, str] | None) -> str:
    option = field.option(code) if isinstance(code, str) else None
    label = option.zh if option else str(code)
    if isinstance(dates, Mapping) and isinstance(code, str) and dates.get(code):
        label += f"（{dates[code]}）"
    return label


# Chinese text: Han ideographs and CJK / full-width punctuation (Hangul lies elsewhere in Unicode). A run
# keeps the digits, spaces and ASCII punctuation between Chinese words ("2026年第5号") in one piece.
_CHINESE = "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff01-\uff60\uffe0-\uffe6"
_CHINESE_RUN = re.compile(f"[{_CHINESE}]+(?:[0-9 .,%()\\-]*[{_CHINESE}]+)*")
_HANGUL = re.compile("[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")


def has_chinese(text: object) -> bool:
    return bool(text) and _CHINESE_RUN.search(str(text)) is not None


def text_lang(text: object) -> str:
    """The `lang` of text a user typed (an enterprise name, an address): zh-Hans when it is written in Chinese
    characters (and no Hangul), else "" (inherit the page's). A Korean page marks Chinese names as such."""
    value = str(text or "")
    return "zh-Hans" if has_chinese(value) and not _HANGUL.search(value) else ""


def mark_chinese(text: Any, lang: str) -> Markup:
    """Escaped text with each run of Chinese in <span lang="zh-Hans"> when the page or document is in Korean or
    English (a citation, a unit name, a file name, a stored message): screen readers and fonts then treat it as
    Chinese. On a Chinese page the text is only escaped. Markup passed in is trusted as it is."""
    if isinstance(text, Markup):
        if lang == "zh" or not has_chinese(text):
            return text
        return Markup(_CHINESE_RUN.sub(lambda run: f'<span lang="zh-Hans">{run.group()}</span>', str(text)))  # noqa: S704 - already markup
    raw = "" if text is None else str(text)
    if lang == "zh" or not has_chinese(raw):
        return escape(raw)
    parts, at = [], 0
    for run in _CHINESE_RUN.finditer(raw):
        parts += [escape(raw[at:run.start()]), Markup('<span lang="zh-Hans">{}</span>').format(run.group())]
        at = run.end()
    return Markup("").join([*parts, escape(raw[at:])])


def answer_words(value: Any, f: Field, lang: str, dates: dict[str, str] | None = None) -> str:
    """An answer in the interface language: option labels, yes/no, number and unit (Chinese: formatting.answer_text)."""
    if lang == "zh":
        return answer_text(value, f, dates)
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return _("是", lang) if value else _("否", lang)

    def option(code: Any) -> str:
        o = f.option(code) if isinstance(code, str) else None
        word = o.label(lang) if o else str(code)
        return f"{word} ({dates[code]})" if dates and isinstance(code, str) and dates.get(code) else word

    if isinstance(value, list):
        return "; ".join(option(c) for c in value) or _("（都不是）", lang)
    if f.kind in ("choice", "multi") and isinstance(value, str):
        return option(value)
    if isinstance(value, int | float):
        if lang == "en" and f.unit_zh == "万元":
            return f"CNY {wan(value * 10000)}"
        return f"{number(value)}{f.unit(lang)}" if lang == "ko" else \
            f"{number(value)} {f.unit(lang)}".strip()
    return str(value)
