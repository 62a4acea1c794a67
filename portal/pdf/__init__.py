"""PDF application forms and match reports (WeasyPrint in worker processes; see render.py).

Public API: render_application, render_report, RenderedPdf, PdfError (portal.pdf.render);
the issuing service with caching and verification rows is portal.services.pdfs.
"""

from portal.pdf.errors import MeasureNotAvailable, PdfError
from portal.pdf.render import RenderedPdf, render_application, render_report
from portal.pdf.worker import get_pool, shutdown_pool

__all__ = ["MeasureNotAvailable", "PdfError", "RenderedPdf", "get_pool", "render_application", "render_report",
           "shutdown_pool"]
