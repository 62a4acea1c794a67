"""Load and validate the policy knowledge base (documents, measures, units) from YAML.

Errors name the file and line, so a data editor can fix them without reading Python.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from portal.policy.conditions import Condition, ConditionError, parse_condition
from portal.policy.records import (
    AMOUNT_UNITS,
    AUDIENCES,
    BENEFIT_KINDS,
    NO_MATERIALS_NOTE,
    SECTOR_CODES,
    Amount,
    Case,
    Catalog,
    CatalogError,
    CityShare,
    Document,
    Measure,
    Unit,
)
from portal.policy.sources import squash
from portal.policy.translations import LANGUAGES, TranslationError, Translations, missing
from portal.policy.translations import parse as parse_translations
from portal.profile.fields import FIELDS_BY_NAME, HEALTH_SECTORS
from portal.statuses import MatchStatus

DATA_DIR = Path(__file__).parent / "data"
Named = Mapping[str, Condition]  # the named conditions of conditions.yaml


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that remembers the line of every mapping (as key `__line__`)."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    mapping["__keylines__"] = {k.value: k.start_mark.line + 1 for k, _ in node.value if hasattr(k, "value")}
    return mapping


_META_KEYS = ("__line__", "__keylines__")  # added by the loader, not part of the schema


def _line_of(raw: dict[str, Any], key: str) -> int:
    """The line of `key` in its mapping, so errors point at the offending line itself."""
    return raw.get("__keylines__", {}).get(key, raw.get("__line__", 0))


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _load(path: Path) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path.name}: {exc}") from exc


_KNOWN_MEASURE_KEYS = {
    "id", "clause", "part", "title", "text", "audience", "benefit_kinds", "sectors", "responsibility_as_printed",
    "lead_units", "cooperating_units", "eligibility", "conditions", "amounts", "city_share", "service_points",
    "materials", "time_limit_days", "time_limit_months", "time_limit_note", "valid_until", "cases", "lead_by_sector",
    "ko", "en", "__line__", "__keylines__",
}
_REQUIRED_MEASURE_KEYS = {"id", "clause", "title", "text", "audience", "benefit_kinds", "responsibility_as_printed",
                          "lead_units", "cooperating_units", "eligibility"}


def _err(path: Path, line: int | str, message: str) -> CatalogError:
    return CatalogError(f"{path.name}:{line}: {message}")


def _parse_conditions(path: Path, line: int, raw: Any, what: str, named: Named) -> tuple[Condition, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _err(path, line, f"{what} must be a list")
    out = []
    for item in raw:
        try:
            out.append(parse_condition(_strip_lines(item), named))
        except ConditionError as exc:
            at = item.get("__line__", line) if isinstance(item, dict) else line
            raise _err(path, at, f"{what}: {exc}") from exc
    return tuple(out)


def _strip_lines(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _strip_lines(v) for k, v in obj.items() if k not in ("__line__", "__keylines__")}
    if isinstance(obj, list):
        return [_strip_lines(v) for v in obj]
    return obj


def _parse_amounts(path: Path, raw: Any, line: int, named: Named) -> tuple[Amount, ...]:
    out = []
    for a in raw or []:
        at = a.get("__line__", line)
        extra = set(a) - {"max_wan", "min_wan", "unit", "label", "rate_percent", "rate_base", "when", "count_fact",
                          *LANGUAGES, *_META_KEYS}
        if extra:
            raise _err(path, at, f"unknown amount field(s) {sorted(extra)}")
        if a.get("unit") not in AMOUNT_UNITS:
            raise _err(path, at, f"unknown amount unit {a.get('unit')!r}; use one of {', '.join(AMOUNT_UNITS)}")
        if not isinstance(a.get("max_wan"), int | float) or a["max_wan"] <= 0:
            raise _err(path, at, "amount needs a positive max_wan (万元)")
        count_fact = str(a.get("count_fact", ""))
        if count_fact and _field_kind(count_fact) != "number":
            raise _err(path, at, f"count_fact {count_fact!r} is not a number field")
        if count_fact and a["unit"] not in ("per_variety", "per_product", "per_project"):
            raise _err(path, at, "count_fact needs unit per_variety, per_product or per_project")
        out.append(Amount(max_wan=float(a["max_wan"]), unit=a["unit"], label=str(a.get("label", "")),
                          min_wan=float(a["min_wan"]) if a.get("min_wan") is not None else None,
                          rate_percent=a.get("rate_percent"), rate_base=str(a.get("rate_base", "")),
                          when=_parse_conditions(path, at, a.get("when"), "amount when", named), count_fact=count_fact,
                          tr=_translations(path, at, a, ("label", "rate_base"))))
    return tuple(out)


def _translations(path: Path, line: int, raw: dict[str, Any], fields: tuple[str, ...]) -> Translations:
    try:
        return parse_translations(_strip_lines(raw), fields)
    except TranslationError as exc:
        raise _err(path, line, str(exc)) from exc


def _parse_city_share(path: Path, raw: Any, line: int, named: Named) -> tuple[CityShare, ...]:
    out = []
    for s in raw or []:
        at = s.get("__line__", line)
        extra = set(s) - {"percent", "label", "unit", "when", "base_fact", *LANGUAGES, *_META_KEYS}
        if extra:
            raise _err(path, at, f"unknown city_share field(s) {sorted(extra)}")
        if not isinstance(s.get("percent"), int | float):
            raise _err(path, at, "city_share needs a numeric percent")
        if s.get("unit", "one_off") not in AMOUNT_UNITS:
            raise _err(path, at, f"unknown city_share unit {s.get('unit')!r}")
        base_fact = str(s.get("base_fact", ""))
        if base_fact and _field_kind(base_fact) != "number":
            raise _err(path, at, f"base_fact {base_fact!r} is not a number field")
        out.append(CityShare(percent=float(s["percent"]), label=str(s.get("label", "")), unit=s.get("unit", "one_off"),
                             when=_parse_conditions(path, at, s.get("when"), "city_share when", named),
                             base_fact=base_fact, tr=_translations(path, at, s, ("label",))))
    return tuple(out)


def _field_kind(name: str) -> str:
    f = FIELDS_BY_NAME.get(name)
    return f.kind if f else ""


def sector_condition(sectors: tuple[str, ...]) -> Condition:
    """The sector the clause names, as a condition: every measure checks it (all = any 医药健康 sector)."""
    if "all" in sectors or not sectors:
        return Condition("any_of", fact="sectors", values=HEALTH_SECTORS,
                         label="属于医药健康产业（药品、医疗器械、化妆品、保健食品、健康服务或药械流通）",
                         hint="文件所列措施均面向医药健康产业",
                         tr=(("ko", "label", "의약·건강 산업(의약품, 의료기기, 화장품, 건강기능식품, 건강 서비스, "
                                             "의약품·의료기기 유통)에 속함"),
                             ("ko", "hint", "문서의 모든 조치는 의약·건강 산업을 대상으로 합니다"),
                             ("en", "label", "In the pharmaceutical and health industry (medicines, medical devices, "
                                             "cosmetics, health foods, health services or distribution)"),
                             ("en", "hint", "Every measure in the documents is for the pharmaceutical and "
                                            "health industry")))
    # The questionnaire's own wording, without its bracketed examples: "生物药（疫苗…）" -> "生物药".
    options = [FIELDS_BY_NAME["sectors"].option(s) for s in sectors]
    names = "或".join(o.zh.split("（")[0] for o in options)
    ko = " 또는 ".join(o.ko or o.en for o in options)
    en = " or ".join(o.en.split(" (")[0] for o in options)
    return Condition("any_of", fact="sectors", values=tuple(sectors), label=f"所属行业为{names}",
                     tr=(("ko", "label", f"업종: {ko}"), ("en", "label", f"Sector: {en}")))


def _parse_lead_by_sector(path: Path, raw: dict[str, Any]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    mapping = raw.get("lead_by_sector")
    if not mapping:
        return ()
    at = _line_of(raw, "lead_by_sector")
    out = []
    for unit, codes in _strip_lines(mapping).items():
        if unit not in raw["lead_units"]:
            raise _err(path, at, f"lead_by_sector names {unit!r}, which is not in lead_units")
        bad = [c for c in codes or [] if c not in SECTOR_CODES or c == "all"]
        if bad or not codes:
            raise _err(path, at, f"lead_by_sector {unit!r} needs sector codes; unknown: {bad}")
        out.append((unit, tuple(codes)))
    return tuple(out)


def _time_limit_months(path: Path, raw: dict[str, Any], line: int) -> int | None:
    months = raw.get("time_limit_months")
    if months is None:
        return None
    if not isinstance(months, int) or months <= 0 or raw.get("time_limit_days") is not None:
        raise _err(path, line, "time_limit_months must be a positive whole number, and not beside time_limit_days")
    return months


def _as_date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def load_documents(data_dir: Path = DATA_DIR) -> dict[str, Document]:
    path = data_dir / "documents.yaml"
    docs = {}
    for d in _load(path):
        docs[d["id"]] = Document(
            id=d["id"], source_file=d["source_file"], title=d["title"], short_title=d["short_title"],
            issuer=d["issuer"], number=d.get("number"), issued_on=_as_date(d.get("issued_on")),
            valid_until=_as_date(d.get("valid_until")), goals_until_year=d.get("goals_until_year"),
            notes=d.get("notes") or "",
        )
    return docs


def load_units(data_dir: Path = DATA_DIR) -> dict[str, Unit]:
    path = data_dir / "units.yaml"
    units: dict[str, Unit] = {}
    for u in _load(path):
        extra = set(u) - {"id", "ref", "name", "kind", "full_name", "aliases", "parent", "parent_name", "note",
                          *_META_KEYS}
        if extra:
            raise _err(path, u["__line__"], f"unknown unit field(s) {sorted(extra)}")
        if u["id"] in units:
            raise _err(path, u["__line__"], f"duplicate unit id {u['id']}")
        if not re.fullmatch(r"[A-Z]{2,6}", str(u.get("ref", ""))):
            raise _err(path, u["__line__"], f"unit {u['id']} needs a ref of 2-6 capital letters")
        if any(other.ref == u["ref"] for other in units.values()):
            raise _err(path, u["__line__"], f"unit ref {u['ref']} is used twice")
        units[u["id"]] = Unit(id=u["id"], name=u["name"], kind=u["kind"], full_name=u.get("full_name", ""),
                              aliases=tuple(u.get("aliases", [])), parent=u.get("parent", ""),
                              parent_name=u.get("parent_name", ""), note=u.get("note", ""), ref=u["ref"])
    return units


def load_named_conditions(data_dir: Path = DATA_DIR) -> Named:
    """The conditions many clauses share (conditions.yaml), by name; a measure refers to one as `{use: name}`."""
    path = data_dir / "conditions.yaml"
    raw = _load(path)
    if not isinstance(raw, dict):
        raise _err(path, 1, "expected a mapping from names to conditions")
    named: dict[str, Condition] = {}
    for name, item in raw.items():
        if name in _META_KEYS:
            continue
        if not re.fullmatch(r"[a-z][a-z0-9_]*", str(name)):
            raise _err(path, _line_of(raw, name), f"name {name!r} must be lower case letters, digits and _")
        # A named condition may build on one named above it.
        (named[name],) = _parse_conditions(path, _line_of(raw, name), [item], f"named condition {name}", named)
    return named


def load_catalog(data_dir: Path = DATA_DIR) -> Catalog:
    documents = load_documents(data_dir)
    units = load_units(data_dir)
    named = load_named_conditions(data_dir)
    names = {n for u in units.values() for n in (u.name, u.full_name, *u.aliases) if n}
    measures: dict[str, Measure] = {}
    for path in sorted((data_dir / "measures").glob("*.yaml")):
        doc = documents.get(path.stem)
        if doc is None:
            raise _err(path, 1, f"no document {path.stem!r} in documents.yaml")
        raw_list = _load(path)
        if not isinstance(raw_list, list):
            raise _err(path, 1, "expected a list of measures")
        for raw in raw_list:
            line = raw.get("__line__", 0)
            unknown = set(raw) - _KNOWN_MEASURE_KEYS - {"__keylines__"}
            if unknown:
                raise _err(path, _line_of(raw, sorted(unknown)[0]), f"unknown field(s) {sorted(unknown)}")
            missing = _REQUIRED_MEASURE_KEYS - set(raw)
            if missing:
                raise _err(path, line, f"missing field(s) {sorted(missing)}")
            mid = raw["id"]
            if not str(mid).startswith(doc.id + "-"):
                raise _err(path, line, f"id {mid!r} must start with {doc.id}-")
            if mid in measures:
                raise _err(path, line, f"duplicate measure id {mid}")
            if raw["audience"] not in AUDIENCES:
                raise _err(path, _line_of(raw, "audience"),
                           f"unknown audience {raw['audience']!r}; use one of {', '.join(AUDIENCES)}")
            for kind in raw["benefit_kinds"] or []:
                if kind not in BENEFIT_KINDS:
                    raise _err(path, _line_of(raw, "benefit_kinds"),
                               f"unknown benefit kind {kind!r}; use one of {', '.join(BENEFIT_KINDS)}")
            for sector in raw.get("sectors") or []:
                if sector not in SECTOR_CODES:
                    raise _err(path, _line_of(raw, "sectors"), f"unknown sector {sector!r}")
            for key in ("lead_units", "cooperating_units"):
                for name in raw[key]:
                    if name not in names:
                        raise _err(path, _line_of(raw, key), f"unit {name!r} is not in units.yaml")
            for sp in raw.get("service_points") or []:
                if sp not in units or units[sp].kind != "service_point":
                    raise _err(path, _line_of(raw, "service_points"), f"unknown service point {sp!r}")
            if not str(raw["title"]).strip():
                raise _err(path, line, "title must not be empty")
            conditions = _parse_conditions(path, line, raw.get("conditions"), "conditions", named)
            if raw["audience"] != "government_internal" and not conditions:
                raise _err(path, line, "an enterprise-facing measure needs at least one condition")
            if raw["audience"] != "government_internal" and not any("sectors" in c.facts() for c in conditions):
                conditions = (sector_condition(tuple(raw.get("sectors") or ())), *conditions)
            if raw["audience"] == "enterprise_benefit" and not (raw.get("amounts") or raw.get("city_share")):
                raise _err(path, _line_of(raw, "audience"), "enterprise_benefit (资金、奖励) needs amounts or "
                           "city_share printed in the clause; a clause without money is a service")
            text_squashed = squash(str(raw["text"]))
            for item in raw.get("materials") or []:
                if squash(str(item)) not in text_squashed:
                    raise _err(path, _line_of(raw, "materials"), f"material {item!r} is not printed in the clause "
                               f"(list only what the clause prints; otherwise the portal says: {NO_MATERIALS_NOTE})")
            for sp in raw.get("service_points") or []:
                unit = units.get(sp)
                printed = [n for n in (unit.name, *unit.aliases) if n] if unit else []
                if unit and not any(squash(n) in text_squashed for n in printed):
                    raise _err(path, _line_of(raw, "service_points"),
                               f"service point {sp!r} is not named in the clause; attach it only where printed")
            cases = []
            for c in raw.get("cases") or []:
                if c.get("expect") not in MatchStatus.labels():
                    raise _err(path, c.get("__line__", line), f"case expect {c.get('expect')!r} is not a status")
                cases.append(Case(name=str(c.get("name", "")), profile=_strip_lines(c.get("profile") or {}),
                                  expect=c["expect"]))
            measures[mid] = Measure(
                id=mid, document=doc, clause=str(raw["clause"]), part=str(raw.get("part", "")),
                title=str(raw["title"]), text=str(raw["text"]), audience=raw["audience"],
                benefit_kinds=tuple(raw["benefit_kinds"] or ()), sectors=tuple(raw.get("sectors") or ()),
                responsibility_as_printed=str(raw["responsibility_as_printed"] or ""),
                lead_units=tuple(raw["lead_units"]), cooperating_units=tuple(raw["cooperating_units"]),
                eligibility=str(raw["eligibility"]), conditions=conditions,
                amounts=_parse_amounts(path, raw.get("amounts"), line, named),
                city_share=_parse_city_share(path, raw.get("city_share"), line, named),
                service_points=tuple(raw.get("service_points") or ()),
                materials=tuple(raw.get("materials") or ()),
                time_limit_days=raw.get("time_limit_days"), time_limit_note=str(raw.get("time_limit_note", "")),
                valid_until=_as_date(raw.get("valid_until")), cases=tuple(cases), line=line, file=path.name,
                lead_by_sector=_parse_lead_by_sector(path, raw), time_limit_months=_time_limit_months(path, raw, line),
                tr=_translations(path, line, raw, ("title", "summary", "time_limit_note")),
            )
    return Catalog(documents=documents, measures=measures, units=units)


def missing_translations(cat: Catalog) -> list[str]:
    """Every measure needs its unofficial ko/en title and summary, and every worded condition, amount and
    city share its ko/en wording: a Korean or English reader must never meet Chinese outside the clause."""
    problems = []
    for m in cat.measures.values():
        where = f"{m.file}:{m.line} {m.id}"
        gaps = missing(m.tr, {"title": m.title, "summary": m.summary, "time_limit_note": m.time_limit_note})
        problems += [f"{where}: no {g} (unofficial translation)" for g in gaps]
        conditions = [*m.conditions, *(c for a in m.amounts for c in a.when),
                      *(c for share in m.city_share for c in share.when)]
        for c in _all_conditions(conditions):
            gaps = missing(c.tr, {"label": c.label, "hint": c.hint})
            problems += [f"{where}: condition {c.label or c.hint!r} has no {g}" for g in gaps]
        for a in m.amounts:
            gaps = missing(a.tr, {"label": a.label, "rate_base": a.rate_base})
            problems += [f"{where}: amount {a.label!r} has no {g}" for g in gaps]
        for share in m.city_share:
            gaps = missing(share.tr, {"label": share.label})
            problems += [f"{where}: city share {share.label!r} has no {g}" for g in gaps]
    return problems


def _all_conditions(conditions: Iterable[Condition]) -> Iterator[Condition]:
    for c in conditions:
        yield c
        yield from _all_conditions(c.children)


@lru_cache(maxsize=1)
def catalog() -> Catalog:
    """The bundled catalog, loaded once per process."""
    return load_catalog()

