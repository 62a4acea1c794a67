"""The WeasyPrint side: turn rendered HTML into PDF bytes. Runs inside the worker processes.

Importing this module imports WeasyPrint (slow, large); the web process only imports it
through the worker pool's forkserver, never directly.
"""

from __future__ import annotations

import contextlib
import logging
import os
import resource
import signal
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from weasyprint import CSS, HTML
from weasyprint.html import element_has_link_type, parse_url
from weasyprint.text.fonts import FontConfiguration

from portal.config import quiet_library_loggers
from portal.pdf.fetcher import BundledOnlyFetcher
from portal.pdf.fonts import compact_cid_fonts
from portal.pdf.jobs import TEMPLATES_DIR, RenderJob, RenderOutput

log = logging.getLogger(__name__)
#: write_pdf options of every portal PDF.
PDF_OPTIONS: dict[str, Any] = {"pdf_variant": "pdf/ua-1"}


class SharedStyles:
    """One font configuration and the bundled style sheets parsed once, reused by every render of a process.

    A fresh FontConfiguration per render loads every font again into a new Pango font map, and each
    <link> parses its style sheet again. A document whose only style sheets are plain <link>s to
    bundled files gets the parsed ones instead (their URLs are still listed as requested); any other
    document renders exactly as WeasyPrint renders it alone.
    """

    def __init__(self, root: Path = TEMPLATES_DIR) -> None:
        self.font_config = FontConfiguration()
        self.sheets: dict[str, CSS] = {}
        fetcher = BundledOnlyFetcher(root)
        for path in sorted(root.rglob("*.css")):
            url = path.as_uri()
            counters: dict[str, Any] = {}
            profiles: dict[str, Any] = {}
            try:
                sheet = CSS(url=url, url_fetcher=fetcher, font_config=self.font_config, counter_style=counters,
                            color_profiles=profiles)
            except Exception:
                # e.g. refused by the fetcher: documents linking it take WeasyPrint's usual path.
                log.warning("bundled style sheet %s not parsed ahead", url, exc_info=True)
                continue
            # Such rules would stay in the sheet instead of reaching the document: render those the usual way.
            if not (counters or profiles or sheet.layers):
                self.sheets[url] = sheet

    def take_linked(self, html: HTML, fetcher: BundledOnlyFetcher) -> list[CSS] | None:
        """Detach the document's bundled <link>s and return their parsed sheets; None leaves it untouched.

        Sheets passed to render() count as user style sheets, not author ones. With no other author
        style (no <style>, no other sheet; templates use no style attributes) the cascade is the same.
        """
        found: list[tuple[Any, Any, str]] = []
        for parent in html.etree_element.iter():
            for element in parent:
                tag = element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""
                if tag == "style":
                    return None
                if tag != "link" or not element_has_link_type(element, "stylesheet"):
                    continue
                url = parse_url(element.get("href"), html.base_url)
                if (url not in self.sheets or element_has_link_type(element, "alternate") or element.get("media")
                        or element.get("type", "text/css") != "text/css"):
                    return None
                found.append((parent, element, url))
        if not found:
            return None
        for parent, element, _ in found:
            _remove_keeping_tail(parent, element)
        # The wrapper tree caches children lists on first use: build it afresh from the edited tree.
        html.wrapper_element = type(html.wrapper_element).from_html_root(html.etree_element, content_language=None)
        for _, _, url in found:
            fetcher.record(url)
        return [self.sheets[url] for _, _, url in found]


def _remove_keeping_tail(parent: Any, element: Any) -> None:
    """Remove `element` from `parent`; the text after it stays where it was."""
    if element.tail:
        index = list(parent).index(element)
        if index:
            previous = parent[index - 1]
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)


#: Set in worker processes (worker_main); None elsewhere, where each render starts from scratch.
_shared: SharedStyles | None = None


def render_html(job: RenderJob) -> RenderOutput:
    """Render one HTML document to PDF with the bundled-only fetcher and compact fonts."""
    fetcher = BundledOnlyFetcher()
    html = HTML(string=job.html, base_url=job.base_url, url_fetcher=fetcher)
    font_config, sheets = None, None
    if _shared is not None:
        font_config, sheets = _shared.font_config, _shared.take_linked(html, fetcher)
    document = html.render(font_config=font_config, stylesheets=sheets)
    # PDF/UA-1: a tagged PDF (structure tree, /MarkInfo, /Lang from <html lang>, the title shown as the window
    # title), so screen readers follow headings, lists and tables in reading order.
    data = document.write_pdf(finisher=compact_cid_fonts, pdf_identifier=job.identifier, optimize_images=True,
                              **PDF_OPTIONS)
    return RenderOutput(data, len(document.pages), tuple(fetcher.requested), tuple(fetcher.refused))


_WARM_UP = f"""<html lang="zh-CN"><head><link rel="stylesheet" href="{TEMPLATES_DIR.as_uri()}/common/base.css">
</head><body><h1>预热</h1><p>吉林省 한국어 <b>粗体</b> <span class="label">标签</span> 123</p></body></html>"""


def warm_up() -> None:
    """Load WeasyPrint, fontconfig and the CJK fonts once, so the first real render is fast."""
    render_html(RenderJob(_WARM_UP, TEMPLATES_DIR.as_uri() + "/common/"))


def limit_memory(megabytes: int) -> None:
    """Cap this process's address space, so a hostile document fails instead of exhausting the host."""
    if megabytes <= 0:
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = megabytes * 1024 * 1024
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def worker_main(conn: Connection, memory_mb: int) -> None:
    """Worker loop: receive RenderJob, answer ("ok", RenderOutput) or ("error", message); None stops."""
    # Ctrl-C reaches the whole process group; the parent decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    quiet_library_loggers()  # the parent reports refusals and failures; progress lines would flood its output
    # Fonts first, then the cap. Fontconfig rewrites the cache of a font folder it cannot read: capped, it
    # could read nothing and would record "no fonts" for every process on the host (seen: all PDFs lost their
    # CJK fonts until `fc-cache -f`). A failed warm-up only costs speed; real renders report their own errors.
    global _shared
    with contextlib.suppress(Exception):
        _shared = SharedStyles()  # before warm-up, so warm-up loads the fonts into the font map renders share
    with contextlib.suppress(Exception):
        warm_up()
    limit_memory(memory_mb)
    conn.send(("ready", os.getpid()))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            output = render_html(job)
        except MemoryError:
            # The heap may be in a bad state after hitting the limit: report, then exit to be replaced.
            conn.send(("error", "内存超出限制"))
            return
        except Exception as exc:
            conn.send(("error", f"{type(exc).__name__}: {exc}"[:500]))
        else:
            conn.send(("ok", output))
