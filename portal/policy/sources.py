"""The official source texts bundled with the package, and the check that every measure quotes them verbatim."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from portal.policy.records import Catalog, CatalogError, Document

SOURCES_DIR = Path(__file__).parent / "sources"  # the official texts ship with the package


def squash(text: str) -> str:
    """Text with every kind of white space removed (the seeds wrap lines anywhere)."""
    return re.sub(r"[\s\u3000\xa0]+", "", text)


NOT_STATED = "文件未载明"  # what a source header says for a field the document does not print
_SOURCE_HEADER_KEYS = ("标题", "文号", "发文单位", "日期")


@dataclass(frozen=True)
class SourceText:
    """A bundled source document: the header block above `---` and the official text below it."""

    document_id: str
    path: Path
    header: dict[str, str]
    body: str


def load_source(document: Document, sources_dir: Path = SOURCES_DIR) -> SourceText:
    """The bundled text of `document` (FileNotFoundError if missing, CatalogError if malformed)."""
    path = sources_dir / document.source_file
    head, sep, body = path.read_text(encoding="utf-8").partition("\n---\n")
    if not sep:
        raise CatalogError(f"{path.name}: no line '---' between the header and the official text")
    header = {}
    for line in head.splitlines():
        key, colon, value = line.partition("：")
        if not colon or key.strip() not in _SOURCE_HEADER_KEYS:
            raise CatalogError(f"{path.name}: header line {line!r} is not one of {'、'.join(_SOURCE_HEADER_KEYS)}")
        header[key.strip()] = value.strip()
    return SourceText(document_id=document.id, path=path, header=header, body=body)


def _expected_header(d: Document) -> dict[str, str]:
    date = f"{d.issued_on.year}年{d.issued_on.month}月{d.issued_on.day}日" if d.issued_on else NOT_STATED
    return {"标题": d.title, "文号": d.number or NOT_STATED, "发文单位": d.issuer, "日期": date}


def check_verbatim(cat: Catalog, sources_dir: Path = SOURCES_DIR) -> list[str]:
    """Problems with the bundled sources: missing or mislabelled files, and measure texts not found verbatim."""
    problems = []
    sources: dict[str, str] = {}
    root = Path(__file__).resolve().parents[2]
    for d in cat.documents.values():
        path = (sources_dir / d.source_file).resolve()
        shown = path.relative_to(root) if path.is_relative_to(root) else path
        if d.source_file != f"{d.id}.txt":
            problems.append(f"{d.id}: source_file must be {d.id}.txt (the sources are named by document id)")
        # A missing source is an error, not a skip: otherwise a broken checkout passes silently.
        if not path.is_file():
            problems.append(f"{d.id}: source text {shown} is missing")
            continue
        try:
            src = load_source(d, sources_dir)
        except CatalogError as exc:
            problems.append(f"{d.id}: {exc}")
            continue
        for key, expected in _expected_header(d).items():
            if src.header.get(key) != expected:
                problems.append(f"{d.id}: header {key} of {shown} is {src.header.get(key)!r}, "
                                f"documents.yaml says {expected!r}")
        sources[d.id] = squash(src.body)
    for m in cat.measures.values():
        src = sources.get(m.document.id)
        if src is not None and squash(m.text) not in src:
            problems.append(f"{m.file}:{m.line}: text of {m.id} is not verbatim in {m.document.source_file}")
    return problems
