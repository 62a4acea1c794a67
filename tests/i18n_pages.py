"""Helpers for tests of the Korean and English pages: Chinese outside lang="zh-Hans" elements.

The same rule as the browser check (tests/browser/audit.py), on HTML from the test client.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

#: Han ideographs and CJK / full-width punctuation (Hangul is not in these ranges).
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
SPOKEN = ("aria-label", "title", "placeholder", "alt")  # attributes a screen reader reads out


class _Stray(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []  # (tag, inside an element marked Chinese or not read)
        self.found: list[str] = []

    def _exempt(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        lang = values.get("lang")
        exempt = (lang.lower().startswith("zh") if lang is not None else self._exempt()) or \
            tag in ("head", "script", "style")
        if not exempt:
            self.found += [f"{tag}[{name}]={values[name]}" for name in SPOKEN if CJK.search(values.get(name) or "")]
        if tag not in VOID:
            self.stack.append((tag, exempt))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        if CJK.search(data) and not self._exempt():
            self.found.append(data.strip()[:80])


def stray_chinese(html: str) -> list[str]:
    """Chinese in text, or in labels a screen reader speaks, that no lang="zh-Hans" element encloses
    (head, scripts and styles aside)."""
    parser = _Stray()
    parser.feed(html)
    return parser.found


def has_chinese(text: str) -> bool:
    return bool(CJK.search(text))
