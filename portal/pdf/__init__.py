"""PDF application forms and match reports (WeasyPrint in worker processes; see render.py).

Public API: render_application, render_report, RenderedPdf (portal.pdf.render), PdfError;
inputs are checked in portal.pdf.request, the template context is built in portal.pdf.context;
the issuing service with caching and verification rows is portal.services.pdfs.

Imports run one way: render -> context -> request; render -> worker (pool) -> engine (WeasyPrint,
only inside worker processes) -> fetcher -> jobs.
"""

from portal.pdf.errors import MeasureNotAvailable, PdfError
from portal.pdf.render import RenderedPdf, render_application, render_report
from portal.pdf.worker import get_pool, shutdown_pool

__all__ = ["MeasureNotAvailable", "PdfError", "RenderedPdf", "get_pool", "render_application", "render_report",
           "shutdown_pool"]
