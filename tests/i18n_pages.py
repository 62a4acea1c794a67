"""Helpers for tests of the Korean and English pages: Chinese outside lang="zh-Hans" elements."""

from __future__ import annotations

import re
from html.parser import HTMLParser

CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff01-\uff5e]")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Stray(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, str | None, bool]] = []  # (tag, lang, skipped)
        self.found: list[str] = []

    def _lang(self) -> str | None:
        return next((lang for _, lang, _ in reversed(self.stack) if lang is not None), None)

    def _skipped(self) -> bool:
        return any(skip for _, _, skip in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID:
            return
        self.stack.append((tag, dict(attrs).get("lang"), tag in ("head", "script", "style")))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        if self._skipped() or not CJK.search(data):
            return
        if self._lang() != "zh-Hans":
            self.found.append(data.strip()[:80])


def stray_chinese(html: str) -> list[str]:
    """Text with Chinese characters that is not inside an element marked lang="zh-Hans" (head and scripts aside)."""
    parser = _Stray()
    parser.feed(html)
    return parser.found


def has_chinese(text: str) -> bool:
    return bool(CJK.search(text))
