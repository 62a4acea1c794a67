"""WeasyPrint URL fetcher that serves only the bundled template files.

Everything a PDF may load (style sheets, images) lives under pdf_templates/. User text is
escaped before it reaches WeasyPrint, so a request for anything else is either a template bug
or an injection attempt; both are refused and recorded, never fetched.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from weasyprint.urls import URLFetcher, URLFetcherResponse

from portal.pdf.jobs import TEMPLATES_DIR

#: File types a template may reference; fonts come from fontconfig, never from files.
ALLOWED_SUFFIXES = frozenset({".css", ".svg", ".png", ".jpg", ".jpeg"})
#: data: URIs are produced by the renderer itself (QR code); this bounds a template mistake.
MAX_DATA_URI = 512 * 1024


class FetchRefused(ValueError):
    """A URL outside the bundled templates was requested."""


class BundledOnlyFetcher(URLFetcher):
    """Serve files under `root` (pdf_templates/) and data: URIs; refuse every other URL."""

    def __init__(self, root: Path = TEMPLATES_DIR) -> None:
        # No network protocols at all: even if `fetch` were bypassed, urllib could not open them.
        super().__init__(timeout=1, allowed_protocols=("file", "data"), allow_redirects=False)
        self.root = root.resolve()
        self.requested: list[str] = []
        self.refused: list[str] = []

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        """Return the bundled resource for `url`, or raise FetchRefused."""
        self.record(url)
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme == "data":
            if len(url) > MAX_DATA_URI:
                return self._refuse(url, "data: URI too large")
            return super().fetch(url, headers)
        if scheme == "file":
            path = self.bundled_path(url)
            if path is not None:
                content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": content_type})
        return self._refuse(url, "not a bundled template file")

    def record(self, url: str) -> None:
        """List `url` as requested (shortened: data: URIs can be long)."""
        self.requested.append(url[:80] + ("…" if len(url) > 80 else ""))

    def bundled_path(self, url: str) -> Path | None:
        """The file under the template root that a file: URL names, or None."""
        parts = urlsplit(url)
        if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost") or parts.query:
            return None
        path = Path(url2pathname(unquote(parts.path))).resolve()
        # resolve() follows symlinks, so a link inside pdf_templates cannot point outside it.
        if not path.is_relative_to(self.root) or path.suffix.lower() not in ALLOWED_SUFFIXES:
            return None
        return path if path.is_file() else None

    def _refuse(self, url: str, why: str) -> URLFetcherResponse:
        self.refused.append(url[:200])
        raise FetchRefused(f"refused {url[:200]!r}: {why}")
