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

from weasyprint import HTML

from portal.pdf.fetcher import BundledOnlyFetcher
from portal.pdf.fonts import compact_cid_fonts
from portal.pdf.jobs import TEMPLATES_DIR, RenderJob, RenderOutput


def render_html(job: RenderJob) -> RenderOutput:
    """Render one HTML document to PDF with the bundled-only fetcher and compact fonts."""
    fetcher = BundledOnlyFetcher()
    document = HTML(string=job.html, base_url=job.base_url, url_fetcher=fetcher).render()
    data = document.write_pdf(finisher=compact_cid_fonts, pdf_identifier=job.identifier, optimize_images=True)
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
    logging.getLogger("weasyprint").setLevel(logging.ERROR)  # refusals are reported to the parent instead
    # Fonts first, then the cap. Fontconfig rewrites the cache of a font folder it cannot read: capped, it
    # could read nothing and would record "no fonts" for every process on the host (seen: all PDFs lost their
    # CJK fonts until `fc-cache -f`). A failed warm-up only costs speed; real renders report their own errors.
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
