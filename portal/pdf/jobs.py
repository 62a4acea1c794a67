"""Plain data passed between the web process and the PDF workers (no WeasyPrint import here)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: Every file a PDF may load lives here; the fetcher serves nothing else.
TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "pdf_templates"


@dataclass(frozen=True)
class RenderJob:
    html: str
    base_url: str  # file: URL of the template folder, so relative links resolve under pdf_templates/
    identifier: bytes | None = None  # PDF /ID; fixed so identical inputs give identical bytes


@dataclass(frozen=True)
class RenderOutput:
    data: bytes
    pages: int
    requested: tuple[str, ...]  # every URL WeasyPrint asked the fetcher for
    refused: tuple[str, ...]  # the ones it was denied
