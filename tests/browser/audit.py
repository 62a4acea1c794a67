"""Checks every browser test applies to the pages it visits: axe-core (WCAG 2.2 AA) and, on Korean and
English pages, no Chinese outside elements marked lang="zh-Hans".

axe-core is vendored (tests/browser/vendor, from the npm registry) and injected through Playwright's
evaluate, which the page's Content-Security-Policy does not govern: nothing is fetched at run time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from babel.support import Translations
from playwright.sync_api import Browser as PwBrowser
from playwright.sync_api import BrowserContext, Error, Page

from portal.i18n import TRANSLATIONS

AXE_VERSION = "4.14.1"
AXE_SOURCE = (Path(__file__).parent / "vendor" / f"axe-{AXE_VERSION}.min.js").read_text(encoding="utf-8")
# WCAG 2.0, 2.1 and 2.2, levels A and AA (axe's tags; 2.2 adds e.g. target-size at AA).
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

_RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' :: ' + (n.failureSummary || '').slice(0, 160))}));
}"""

# Han ideographs and CJK/full-width punctuation. Hangul is not in these ranges.
_CHINESE_OUTSIDE_ZH = r"""() => {
  const han = /[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]/;
  const inChinese = el => { const owner = el && el.closest('[lang]');
                            return !!owner && owner.getAttribute('lang').toLowerCase().startsWith('zh'); };
  const found = [];
  // A title cannot mark a language inside it: its own part (before " · ") must be in the page's language;
  // what follows names a context (a unit, a document), which may be a Chinese proper name.
  const own = document.title.split(' · ')[0];
  if (han.test(own) && !inChinese(document.querySelector('title'))) found.push('<title> ' + document.title);
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, el = node.parentElement;
    if (!el || el.closest('script, style, template') || !han.test(node.nodeValue)) continue;
    if (!inChinese(el)) found.push(node.nodeValue.trim().slice(0, 80));
  }
  for (const el of document.querySelectorAll('[aria-label], [title], [placeholder], [alt], input[value]')) {
    for (const name of ['aria-label', 'title', 'placeholder', 'alt', 'value']) {
      if (name === 'value' && !['submit', 'button', 'reset'].includes(el.type)) continue;
      const value = el.getAttribute(name);
      if (value && han.test(value) && !inChinese(el)) found.push(`[${name}] ${value.slice(0, 80)}`);
    }
  }
  const meta = document.querySelector('meta[name=description]');
  if (meta && han.test(meta.content)) found.push('meta description ' + meta.content.slice(0, 80));
  return found;
}"""


def catalog_text(lang: str) -> Callable[[str], str]:
    """The interface's wording of a Chinese message in `lang`, from the compiled catalogs (zh: itself)."""
    if lang == "zh":
        return lambda message: message
    translations = Translations.load(str(TRANSLATIONS), [lang])
    return translations.gettext


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.2 A/AA violations on the page as it is now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SOURCE)
    return page.evaluate(_RUN_AXE, WCAG_AA)


def chinese_outside_policy_text(page: Page) -> list[str]:
    """Chinese text on the page that no lang="zh-Hans" element (policy text, proper names) claims."""
    return page.evaluate(_CHINESE_OUTSIDE_ZH)


def describe(violations: list[dict[str, Any]]) -> str:
    return "\n".join(f"  {v['id']} ({v['impact']}): {v['help']}\n" + "\n".join(f"      {n}" for n in v["nodes"])
                     for v in violations)


# Addresses that answer with a file rather than a page: nothing for axe to read.
_NOT_PAGES = ("/file", ".pdf", "/download", "/export", "/logout", "/sw.js", "/favicon.ico", "/static/")


@dataclass
class PageAudit:
    """The pages one browser context visited, audited with axe when the context closes."""

    context: BrowserContext
    viewport: dict[str, int] | None
    urls: list[str] = field(default_factory=list)
    done: bool = False

    def visited(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or any(marker in parts.path for marker in _NOT_PAGES):
            return
        if url not in self.urls:
            self.urls.append(url)

    def run(self) -> list[str]:
        """Open each visited address again in this context (same user, same viewport) and run axe there.

        Every GET page of the portal is safe to load twice, so this sees each page a test passed
        through, including pages reached by clicks, redirects and htmx history pushes.
        """
        if self.done:
            return []
        self.done = True
        found: list[str] = []
        try:
            page = self.context.new_page()
        except Error:
            return found  # the context is already gone (closed by the browser)
        try:
            for url in self.urls:
                try:
                    response = page.goto(url, wait_until="load")
                except Error:
                    continue  # offline on purpose, or the live server has stopped: nothing to load
                if response is None or "html" not in (response.headers.get("content-type") or ""):
                    continue
                violations = axe_violations(page)
                if violations:
                    size = f"{self.viewport['width']}×{self.viewport['height']}" if self.viewport else "default"
                    found.append(f"{url} at {size}:\n{describe(violations)}")
        finally:
            page.close()
        return found


class AuditedBrowser:
    """Chromium whose every context records the pages it visits and audits them with axe when it closes.

    Violations collect in `violations`; the autouse fixture in tests/browser/conftest.py fails the test
    that produced them.
    """

    def __init__(self, browser: PwBrowser) -> None:
        self._browser = browser
        self.audits: list[PageAudit] = []
        self.violations: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._browser, name)

    def new_context(self, **kw: Any) -> BrowserContext:
        context = self._browser.new_context(**kw)
        audit = PageAudit(context, kw.get("viewport"))
        if kw.get("java_script_enabled") is False:
            audit.done = True  # axe is a script: such pages are audited where the same test runs with JavaScript
        self.audits.append(audit)

        def watch(page: Page) -> None:
            page.on("framenavigated", lambda frame: audit.visited(frame.url) if frame == page.main_frame else None)

        context.on("page", watch)
        close = context.close

        def audited_close(*args: Any, **kwargs: Any) -> None:
            if not audit.done:
                self.violations += audit.run()
            close(*args, **kwargs)

        context.close = audited_close  # type: ignore[method-assign]
        return context

    def new_page(self, **kw: Any) -> Page:
        return self.new_context(**kw).new_page()

    def audit_open_contexts(self) -> None:
        for audit in self.audits:
            if not audit.done:
                self.violations += audit.run()
        self.audits = [a for a in self.audits if not a.done]
