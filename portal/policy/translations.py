"""Unofficial Korean and English wording kept beside the official Chinese in the policy data.

A measure, condition, amount or city share may carry `ko:` and `en:` mappings in its YAML entry, e.g.

    - id: d001-01
      title: 深化审评审批制度改革
      ko: {title: 심사·승인 제도 개혁 심화, summary: ...}
      en: {title: Deepening review and approval reform, summary: ...}

The Chinese stays the text of record (the documents are Chinese); these are glosses for Korean-invested
firms and English readers, always shown labelled as unofficial translations beside a link to the clause.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

LANGUAGES = ("ko", "en")

# (language, field, text): hashable, so conditions stay usable as set members and cache keys.
Translations = tuple[tuple[str, str, str], ...]


class TranslationError(ValueError):
    """A `ko:` or `en:` block is malformed (message names the problem)."""


def parse(raw: Mapping[str, Any], fields: Iterable[str]) -> Translations:
    """Read the `ko:`/`en:` blocks of one record; only `fields` may be translated."""
    allowed = set(fields)
    out: list[tuple[str, str, str]] = []
    for lang in LANGUAGES:
        block = raw.get(lang)
        if block is None:
            continue
        if not isinstance(block, Mapping):
            raise TranslationError(f"{lang}: must be a mapping of {', '.join(sorted(allowed))}")
        block = {k: v for k, v in block.items() if not str(k).startswith("__")}
        extra = set(block) - allowed
        if extra:
            raise TranslationError(f"{lang}: unknown field(s) {sorted(extra)}; translatable: {sorted(allowed)}")
        for key, text in block.items():
            if not isinstance(text, str) or not text.strip():
                raise TranslationError(f"{lang}.{key} must be non-empty text")
            out.append((lang, str(key), " ".join(text.split())))
    return tuple(out)


def pick(translations: Translations, lang: str, field: str) -> str:
    """The `lang` wording of `field`, or "" when there is none (callers then show the Chinese)."""
    for language, name, text in translations:
        if language == lang and name == field:
            return text
    return ""


def missing(translations: Translations, chinese: Mapping[str, str]) -> list[str]:
    """`lang.field` entries a record lacks: every non-empty Chinese field needs both languages."""
    have = {(lang, name) for lang, name, _ in translations}
    return [f"{lang}.{name}" for name, text in chinese.items() if text
            for lang in LANGUAGES if (lang, name) not in have]
