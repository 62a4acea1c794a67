"""Sentences about the policy data in the reader's language: zh (the source), ko or en.

Matching, conditions and amounts build their sentences with `_("…", lang, name=value)`: the Chinese
message id is the zh text (so a caller that gives no language, such as the JSON API, gets exactly the
Chinese it always got, with or without a request), and the ko/en catalogs hold the other two.
`_` is one of the extraction keywords (portal/i18n.py), so these frames land in the catalogs.

Label dictionaries (records.AUDIENCES …) stay plain Chinese strings, marked with `mark` for
extraction; `label(text, lang)` translates such a value where it is shown.
"""

from __future__ import annotations

from typing import Any

LANGS = ("zh", "ko", "en")

# Joining a list of items; the items are whole phrases, never parts of one word.
_OR = {"zh": "或", "ko": " 또는 ", "en": " or "}
_AND = {"zh": "和", "ko": " 및 ", "en": " and "}
_BOTH = {"zh": "且", "ko": ", 그리고 ", "en": ", and "}
_LIST = {"zh": "；", "ko": "; ", "en": "; "}
_ENUM = {"zh": "、", "ko": ", ", "en": ", "}


def norm(lang: str | None) -> str:
    return lang if lang in LANGS else "zh"


def _(msgid: str, lang: str = "zh", **values: Any) -> str:
    """`msgid` (Chinese, newstyle %(name)s placeholders) in `lang`, formatted with `values`."""
    if norm(lang) == "zh":
        return msgid % values if values else msgid
    from flask_babel import force_locale, get_locale, gettext

    current = get_locale()
    if current is not None and str(current) == lang:
        return gettext(msgid, **values)
    with force_locale(lang):
        return gettext(msgid, **values)


def label(text: str, lang: str = "zh") -> str:
    """A Chinese label (a value of one of the marked dictionaries) in `lang`."""
    return _(text, lang) if text else text


def mark(text: str) -> str:
    """Marks a Chinese label for extraction (it stays Chinese here; `label` translates it when shown)."""
    return text


def join_or(items: list[str], lang: str) -> str:
    return _OR[norm(lang)].join(items)


def join_and(items: list[str], lang: str) -> str:
    return _AND[norm(lang)].join(items)


def join_both(items: list[str], lang: str) -> str:
    return _BOTH[norm(lang)].join(items)


def join_list(items: list[str], lang: str) -> str:
    return _LIST[norm(lang)].join(items)


def join_enum(items: list[str], lang: str) -> str:
    return _ENUM[norm(lang)].join(items)
