"""PDF application forms and match reports (WeasyPrint in worker processes; see render.py).

Public API: render_application, render_report, RenderedPdf (portal.pdf.render), PdfError;
inputs are checked in portal.pdf.request, the template context is built in portal.pdf.context;
the issuing service with caching and verification rows is portal.services.pdfs.

Languages: a PdfRequest carries the reader's language (zh, ko, en). The match report is written in it;
the application form stays Chinese (it is filed with a Chinese authority) with glosses of its labels in it.
build_html renders under flask_babel.force_locale, so it works in the task-queue worker as in a request.
PDFs are tagged (PDF/UA-1: structure tree, /Lang, title).

Imports run one way: render -> context -> request; render -> worker (pool) -> engine (WeasyPrint,
only inside worker processes) -> fetcher -> jobs.
"""

from portal.pdf.errors import MeasureNotAvailable, PdfError
from portal.pdf.render import RenderedPdf, render_application, render_report
from portal.pdf.worker import get_pool, shutdown_pool

__all__ = ["MeasureNotAvailable", "PdfError", "RenderedPdf", "get_pool", "render_application", "render_report",
           "shutdown_pool"]
