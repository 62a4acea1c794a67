"""Browsing and searching the policy library (the catalog is in memory; only version history is queried)."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import lru_cache

from markupsafe import Markup, escape
from sqlmodel import Session, col, select

from portal.models import MeasureVersion
from portal.policy.catalog import catalog
from portal.policy.records import Measure
from portal.policy.sources import SourceText, load_source, squash
from portal.policy.wording import mark as _l  # Chinese labels, translated where shown
from portal.profile.fields import FIELDS_BY_NAME, Option

LOCATION_FILTERS = {
    "zhonghan_zone": _l("中韩示范区"),
    "changchun_new_area": _l("长春新区"),
    "corridor": _l("长辽梅通白延走廊"),
    "province": _l("全省"),
}

# The library's audience filter. "enterprise" is the default of the HTML library and of the home
# page's count; an empty value (the JSON API's default) applies no audience filter at all.
DEFAULT_AUDIENCE = "enterprise"
AUDIENCE_FILTERS = {
    "enterprise": _l("面向企业（默认）"),
    "government_internal": _l("政府内部工作"),
    "all": _l("全部"),
}


@dataclass(frozen=True)
class LibraryFilter:
    document: str = ""
    sector: str = ""
    benefit: str = ""
    unit: str = ""
    location: str = ""
    audience: str = ""
    q: str = ""

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> LibraryFilter:
        """The filter a query string asks for, each value trimmed and cut to 100 characters."""
        return cls(**{f.name: (args.get(f.name) or "").strip()[:100] for f in fields(cls)})

    def active_count(self) -> int:
        """How many filters of the collapsible panel differ from the default (the search box is not one)."""
        chosen = [self.document, self.sector, self.benefit, self.unit, self.location]
        return sum(1 for v in chosen if v) + (self.audience not in ("", DEFAULT_AUDIENCE))


def measure_locations(m: Measure) -> set[str]:
    """Where a measure applies, from its location conditions (no location condition: province-wide)."""
    codes: set[str] = set()
    pending = list(m.conditions)
    while pending:  # location conditions may sit at any depth of either/all combinations
        cond = pending.pop()
        pending.extend(cond.children)
        if cond.fact == "location":
            codes.update(cond.values)
    out = set()
    if not codes:
        out.add("province")
    elif codes <= {"zhonghan_zone"}:
        out.add("zhonghan_zone")
    elif codes <= {"changchun_new_area"}:
        out.add("changchun_new_area")
    elif "corridor_other" in codes and "jilin_other" not in codes:
        out.add("corridor")
    else:
        out.add("province")
    if m.document.id == "d000":
        out.add("zhonghan_zone")
    if m.document.id == "d002":
        out.add("changchun_new_area")
    return out


def _search_blob(m: Measure) -> str:
    # The unofficial ko/en title and summary too, so a Korean or English word finds a translated measure.
    return squash(" ".join([m.title, m.text, m.eligibility, m.document.title, m.part,
                            " ".join(m.lead_units), " ".join(m.cooperating_units),
                            " ".join(text for _, _, text in m.tr)])).lower()


def search(f: LibraryFilter) -> list[Measure]:
    cat = catalog()
    terms = [squash(t).lower() for t in f.q.split() if t.strip()]
    out = []
    for m in cat.measures.values():
        if f.document and m.document.id != f.document:
            continue
        if f.sector and f.sector not in m.sectors and "all" not in m.sectors:
            continue
        if f.benefit and f.benefit not in m.benefit_kinds:
            continue
        if not _audience_matches(m, f.audience):
            continue
        if f.unit:
            unit = cat.units.get(f.unit)
            names = {unit.name, *unit.aliases} if unit else {f.unit}
            if not names & set(m.lead_units + m.cooperating_units):
                continue
        if f.location and f.location not in measure_locations(m):
            continue
        if terms:
            blob = _search_blob(m)
            if not all(t in blob for t in terms):
                continue
        out.append(m)
    return out


def _audience_matches(m: Measure, audience: str) -> bool:
    if audience in ("", "all"):
        return True
    if audience == DEFAULT_AUDIENCE:
        # The catalog's own notion, so new enterprise-facing audiences are included automatically.
        return m.is_enterprise_facing
    return m.audience == audience


def default_results() -> list[Measure]:
    """What the library lists with no filter chosen: the enterprise-facing measures."""
    return search(LibraryFilter(audience=DEFAULT_AUDIENCE))


def default_count() -> int:
    """The number the home page quotes; it is the library's default count by construction."""
    return len(default_results())


def sector_options(lang: str = "zh") -> list[tuple[str, str]]:
    """(code, label) of the sectors, in the questionnaire's wording of `lang` (Korean falls back to English)."""
    def word(o: Option) -> str:
        return {"ko": o.ko or o.en, "en": o.en}.get(lang, "") or o.zh
    return [(o.code, word(o)) for o in FIELDS_BY_NAME["sectors"].options]


def validity(m: Measure, today: dt.date) -> tuple[str, int | None]:
    """('open' | 'ending' | 'expired' | 'unstated', days left)."""
    end = m.effective_valid_until
    if end is None:
        return "unstated", None
    days = (end - today).days
    if days < 0:
        return "expired", days
    return ("ending" if days <= 90 else "open"), days


def version_history(session: Session, measure_id: str) -> list[MeasureVersion]:
    """The versions `portal rematch` recorded for a measure, newest first."""
    query = select(MeasureVersion).where(MeasureVersion.measure_id == measure_id)
    return list(session.exec(query.order_by(col(MeasureVersion.version).desc())))


# --- snippets -------------------------------------------------------------------------------

SNIPPET_BEFORE = 20  # characters of context before the first hit
SNIPPET_AFTER = 60  # characters from the first hit on
PLAIN_SNIPPET = 60  # characters of the eligibility text when there is no query
_NON_SPACE = re.compile(r"[^\s\u3000\xa0]")  # the complement of what squash() removes


def _squashed_with_positions(text: str) -> tuple[str, list[int]]:
    """squash(text) plus, for every kept character, its index in `text` (to map hits back)."""
    positions = [mt.start() for mt in _NON_SPACE.finditer(text)]
    return "".join(text[i] for i in positions), positions


def _hits(text: str, terms: list[str]) -> list[tuple[int, int]]:
    """Spans of `text` matching any (squashed, lower-case) term, white space inside a hit allowed."""
    squashed, positions = _squashed_with_positions(text)
    folded = squashed.lower()
    if len(folded) != len(squashed):  # a rare case-fold that changes length: match case-sensitively
        folded = squashed
    spans = []
    for term in terms:
        start = folded.find(term)
        while start != -1:
            spans.append((positions[start], positions[start + len(term) - 1] + 1))
            start = folded.find(term, start + len(term))
    return sorted(spans)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rstrip() + "…"


def snippet(m: Measure, q: str = "") -> Markup:
    """One line for a result card: the clause around the first hit with hits in <mark>, else the eligibility.

    Every piece of source text is escaped before it is wrapped in <mark>, so the result is safe markup.
    """
    terms = [t for t in (squash(t).lower() for t in q.split()) if t]
    for text in (m.text, m.eligibility, m.title) if terms else ():
        spans = _hits(text, terms)
        if not spans:
            continue
        first = spans[0][0]
        start, end = max(0, first - SNIPPET_BEFORE), min(len(text), first + SNIPPET_AFTER)
        out = [Markup("…")] if start else []
        cursor = start
        for a, b in spans:
            if a < cursor or a >= end:
                continue  # overlaps an earlier hit, or lies outside the window
            end = max(end, b)  # never cut a highlighted hit in two
            out += [escape(text[cursor:a]), Markup("<mark>"), escape(text[a:b]), Markup("</mark>")]
            cursor = b
        out.append(escape(text[cursor:end]))
        if end < len(text):
            out.append(Markup("…"))
        return Markup("").join(out)
    return escape(_shorten(m.eligibility, PLAIN_SNIPPET))


# --- the full text of a document, with clause anchors ---------------------------------------

_CLAUSE_START = re.compile(r"^(?:[（(][一二三四五六七八九十]+[）)]|[一二三四五六七八九十]+、|\d{1,2}[.．])")
_ENDS_PARAGRAPH = tuple("。！？；：）)」』”")
_LONGEST_HEADING = 60  # display width; a longer line that stops mid-sentence was broken by a page break
_WRAP_SLACK = 8  # a hard-wrapped line this close to the full width continues on the next line


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _wrap_width(lines: list[str]) -> int | None:
    """The column the text was hard-wrapped at, if it was: most lines share one width (000 does)."""
    widths = Counter(_width(t) for t in lines if t)
    if not widths:
        return None
    width, count = widths.most_common(1)[0]
    return width if count >= 5 and count * 4 >= sum(widths.values()) else None


def _continues(line: str, wrap: int | None) -> bool:
    """Whether the paragraph goes on after this (stripped) line, blank lines notwithstanding."""
    if line.endswith(("，", "、")):
        return True
    if re.search(r"日印发$", line):  # the imprint line that closes an official document's cover
        return False
    if wrap:
        return _width(line) >= wrap - _WRAP_SLACK
    return not line.endswith(_ENDS_PARAGRAPH) and _width(line) > _LONGEST_HEADING


@dataclass(frozen=True)
class SourceParagraph:
    text: str
    heading: bool = False  # a printed section heading such as 一、… or （一）… without a full stop
    anchor: str = ""  # id of a section heading (clauses carry theirs on the block)


@dataclass(frozen=True)
class SourceBlock:
    """Consecutive paragraphs: one clause (`measure` set, anchored by its id) or text between clauses."""

    paragraphs: tuple[SourceParagraph, ...]
    measure: Measure | None = None


@dataclass(frozen=True)
class SourceView:
    source: SourceText
    blocks: tuple[SourceBlock, ...]
    placed: frozenset[str]  # ids of the measures found in the text (all, when the data check passes)


def _join(buf: str, line: str) -> str:
    # Chinese lines join without a space; a space only keeps two Latin words or numbers apart.
    if buf and buf[-1].isascii() and buf[-1].isalnum() and line[0].isascii() and line[0].isalnum():
        return f"{buf} {line}"
    return buf + line


def _paragraph(text: str, doc_id: str, counter: list[int], in_clause: bool) -> SourceParagraph:
    heading = not in_clause and len(text) <= 40 and "。" not in text and bool(_CLAUSE_START.match(text))
    if not heading:
        return SourceParagraph(text)
    counter[0] += 1
    return SourceParagraph(text, heading=True, anchor=f"{doc_id}-part-{counter[0]}")


def build_source_view(source: SourceText, measures: list[Measure]) -> SourceView:
    """Split the official text into readable paragraphs and mark where each measure's clause starts.

    Measure texts are verbatim excerpts but the seed wraps lines anywhere, so each measure is
    located on the white-space-free text and its start and end are mapped back to the original.
    """
    body = source.body
    squashed, positions = _squashed_with_positions(body)
    starts: dict[int, Measure] = {}
    ends: set[int] = set()
    cursor = 0
    for m in measures:  # printed order: look after the previous clause first
        needle = squash(m.text)
        at = squashed.find(needle, cursor)
        if at == -1:
            at = squashed.find(needle)
        if at == -1 or not needle:
            continue
        starts[positions[at]] = m
        ends.add(positions[at + len(needle) - 1] + 1)
        cursor = at + len(needle)
    cuts = sorted(set(starts) | ends)

    blocks: list[SourceBlock] = []
    paragraphs: list[SourceParagraph] = []
    current: Measure | None = None
    buf, last_line, counter = "", "", [0]

    def flush_paragraph() -> None:
        nonlocal buf
        if buf:
            paragraphs.append(_paragraph(buf, source.document_id, counter, current is not None))
        buf = ""

    def flush_block() -> None:
        nonlocal paragraphs
        flush_paragraph()
        if paragraphs:
            blocks.append(SourceBlock(tuple(paragraphs), current))
        paragraphs = []

    wrap = _wrap_width([line.strip() for line in body.splitlines()])
    offset = 0
    for raw_line in body.splitlines(keepends=True):
        line_start, offset = offset, offset + len(raw_line)
        pieces = [c for c in cuts if line_start < c < offset]
        bounds = [line_start, *pieces, offset]
        for a, b in zip(bounds, bounds[1:], strict=False):
            if a in starts:
                flush_block()
                current = starts[a]
            text = body[a:b].strip()
            if text:
                if buf and (_CLAUSE_START.match(text) or not _continues(last_line, wrap)):
                    flush_paragraph()
                buf, last_line = _join(buf, text), text
            if b in ends and current is not None:
                flush_block()
                current = None
    flush_block()
    return SourceView(source=source, blocks=tuple(blocks), placed=frozenset(m.id for m in starts.values()))


@lru_cache(maxsize=16)
def source_view(document_id: str) -> SourceView | None:
    """The bundled full text of a document, paragraphed and anchored (None if the file is missing)."""
    cat = catalog()
    try:
        source = load_source(cat.documents[document_id])
    except FileNotFoundError:
        return None
    return build_source_view(source, cat.measures_of(document_id))


def clause_label(m: Measure) -> str:
    """The clause as 第X条 for link texts: （三） -> 第三条, 七、 -> 第七条, 12. -> 第12条."""
    return f"第{m.clause.strip('（）()、.． ')}条"
