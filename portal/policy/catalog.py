"""Load and validate the policy knowledge base (documents, measures, units) from YAML.

Errors name the file and line, so a data editor can fix them without reading Python.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import yaml

from portal.policy.conditions import Condition, ConditionError, parse_condition
from portal.profile.fields import FIELDS_BY_NAME, HEALTH_SECTORS

DATA_DIR = Path(__file__).parent / "data"
SOURCES_DIR = Path(__file__).parent / "sources"  # the official texts ship with the package

AUDIENCES = {
    "enterprise_benefit": "企业扶持（资金、奖励）",
    "enterprise_service": "面向企业的服务",
    "enterprise_relief": "监管便利与减负",
    "enterprise_info": "政策信息（无需申请）",
    "government_internal": "政府内部工作",
}
# How the results headline counts what a firm gets (issue: 资金 / 审评审批加速 / 服务 / 信息).
MEASURE_KINDS = {"cash": "资金", "fast_track": "审评审批加速", "service": "服务", "info": "政策信息"}
FAST_TRACK_KINDS = {"fast_track", "combined_inspection"}
BENEFIT_KINDS = {
    "cash_reward": "资金奖励",
    "matching_reward": "按市级支持额度配套奖励",
    "subsidy": "项目支持与补助",
    "interest_subsidy": "贷款贴息",
    "fast_track": "加快审评审批",
    "combined_inspection": "合并现场检查",
    "consultation": "前置咨询与技术指导",
    "platform_service": "平台与公共服务",
    "regulatory_relief": "监管便利与减负",
    "coordination": "协调对接服务",
    "policy_support": "政策支持（未列金额）",
}
AMOUNT_UNITS = {
    "per_variety": "每个品种",
    "per_project": "每个项目",
    "per_product": "每个产品",
    "one_off": "一次性",
    "annual": "每年度",
    "per_enterprise": "每户企业",
    "graded": "分级分类",
    "unspecified": "文件未写明发放方式",
}
NO_MATERIALS_NOTE = "文件未列明申报材料，请向责任单位确认。"
SECTOR_CODES = {
    "biologic", "cell_gene", "chemical_drug", "api", "tcm", "tcm_materials", "medical_device", "ivd",
    "pharma_equipment", "cosmetics", "health_food", "health_services", "distribution", "all",
}


class CatalogError(ValueError):
    """The policy data is invalid; the message names file and line."""


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


@dataclass(frozen=True)
class Document:
    id: str
    source_file: str
    title: str
    short_title: str
    issuer: str
    number: str | None
    issued_on: dt.date | None
    valid_until: dt.date | None
    goals_until_year: int | None
    notes: str


@dataclass(frozen=True)
class Amount:
    max_wan: float
    unit: str
    label: str = ""
    min_wan: float | None = None
    rate_percent: float | None = None
    rate_base: str = ""
    when: tuple[Condition, ...] = ()
    count_fact: str = ""  # per variety/product: the number field giving how many qualify

    @property
    def unit_zh(self) -> str:
        return AMOUNT_UNITS[self.unit]


@dataclass(frozen=True)
class CityShare:
    """Document 002: a reward computed as a share of the city-level support amount."""

    percent: float
    label: str
    unit: str = "one_off"
    when: tuple[Condition, ...] = ()
    base_fact: str = ""  # the number field holding the city-level amount granted (万元)

    @property
    def unit_zh(self) -> str:
        return AMOUNT_UNITS[self.unit]


@dataclass(frozen=True)
class Case:
    name: str
    profile: dict[str, Any]
    expect: str


@dataclass(frozen=True)
class Unit:
    id: str
    name: str
    kind: str
    full_name: str = ""
    aliases: tuple[str, ...] = ()
    parent: str = ""
    parent_name: str = ""
    note: str = ""
    ref: str = ""  # the portal's short code in application references (ZH-2026-000123); not from the documents

    @property
    def display_name(self) -> str:
        """The name as printed; where a printed name is ambiguous, whose unit it is follows in brackets."""
        if self.parent_name:
            return f"{self.name}（{self.parent_name}）"
        return self.full_name or self.name


@dataclass(frozen=True)
class Measure:
    id: str
    document: Document
    clause: str
    part: str
    title: str
    text: str
    audience: str
    benefit_kinds: tuple[str, ...]
    sectors: tuple[str, ...]
    responsibility_as_printed: str
    lead_units: tuple[str, ...]
    cooperating_units: tuple[str, ...]
    eligibility: str
    conditions: tuple[Condition, ...]
    amounts: tuple[Amount, ...]
    city_share: tuple[CityShare, ...]
    service_points: tuple[str, ...]
    materials: tuple[str, ...]
    # A handling time stated by the clause, in calendar days or months (000（三）: "3个月内完成注册审批").
    # No clause of the five documents states working days (工作日), so no holiday calendar is kept.
    time_limit_days: int | None
    time_limit_note: str
    valid_until: dt.date | None
    cases: tuple[Case, ...] = field(default=(), compare=False)
    line: int = 0
    file: str = ""
    # "分别牵头/负责": which lead unit handles which sectors (unit name -> sector codes).
    lead_by_sector: tuple[tuple[str, tuple[str, ...]], ...] = ()
    time_limit_months: int | None = None

    @property
    def is_enterprise_facing(self) -> bool:
        return self.audience != "government_internal"

    @cached_property
    def named_sectors(self) -> frozenset[str]:
        """The sectors the clause names (empty when it concerns the whole industry)."""
        return frozenset(s for s in self.sectors if s != "all")

    @cached_property
    def place_specific(self) -> bool:
        """The clause is for firms in one place (e.g. the 示范区 or 长春新区), not the whole province."""
        return "location" in self.facts()

    @property
    def is_information(self) -> bool:
        """Information for every firm it concerns (e.g. 首违不罚): nothing to apply for."""
        return self.audience == "enterprise_info"

    @property
    def kind(self) -> str:
        """资金 / 审评审批加速 / 服务 / 信息: how the results headline counts this measure."""
        if self.is_information:
            return "info"
        if self.has_cash:
            return "cash"
        if FAST_TRACK_KINDS & set(self.benefit_kinds):
            return "fast_track"
        return "service"

    def lead_units_for(self, sectors: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
        """The lead unit(s) for a firm of these sectors where the clause splits the lead by sector."""
        if not self.lead_by_sector or not sectors:
            return self.lead_units
        chosen = tuple(unit for unit, codes in self.lead_by_sector if set(codes) & set(sectors))
        return chosen or self.lead_units

    @property
    def citation(self) -> str:
        number = f"（{self.document.number}）" if self.document.number else ""
        return f"《{self.document.title}》{number}第{self.clause.rstrip('、.')}条" if self.clause[0].isdigit() \
            else f"《{self.document.title}》{number}{self.clause}"

    @cached_property
    def effective_valid_until(self) -> dt.date | None:
        return self.valid_until or self.document.valid_until

    @property
    def max_cash_wan(self) -> float:
        return max((a.max_wan for a in self.amounts), default=0.0)

    @property
    def has_cash(self) -> bool:
        return bool(self.amounts or self.city_share)

    def record(self) -> dict[str, Any]:
        """What the clause says, as plain JSON (shared by the API and frozen submissions)."""
        doc, end = self.document, self.effective_valid_until
        return {
            "id": self.id,
            "document": {"id": doc.id, "title": doc.title, "issuer": doc.issuer, "number": doc.number,
                         "issued_on": doc.issued_on.isoformat() if doc.issued_on else None,
                         "valid_until": doc.valid_until.isoformat() if doc.valid_until else None},
            "citation": self.citation, "clause": self.clause, "part": self.part, "title": self.title,
            "text": self.text, "audience": self.audience, "benefit_kinds": list(self.benefit_kinds),
            "sectors": list(self.sectors), "responsibility_as_printed": self.responsibility_as_printed,
            "lead_units": list(self.lead_units), "cooperating_units": list(self.cooperating_units),
            "eligibility": self.eligibility, "service_points": list(self.service_points),
            "time_limit_days": self.time_limit_days, "time_limit_months": self.time_limit_months,
            "valid_until": end.isoformat() if end else None,
        }

    def facts(self) -> set[str]:
        return set().union(*(c.facts() for c in self.conditions)) if self.conditions else set()


@dataclass(frozen=True)
class Catalog:
    documents: dict[str, Document]
    measures: dict[str, Measure]
    units: dict[str, Unit]

    def unit_by_name(self, name: str) -> Unit | None:
        for unit in self.units.values():
            if name == unit.name or name in unit.aliases or name == unit.full_name:
                return unit
        return None

    def measures_of(self, document_id: str) -> list[Measure]:
        return [m for m in self.measures.values() if m.document.id == document_id]

    def enterprise_measures(self) -> tuple[Measure, ...]:
        """In id order (matching relies on it), worked out once: matching asks for it per profile."""
        return self._enterprise_measures

    @cached_property
    def _enterprise_measures(self) -> tuple[Measure, ...]:
        return tuple(sorted((m for m in self.measures.values() if m.is_enterprise_facing), key=lambda m: m.id))


_KNOWN_MEASURE_KEYS = {
    "id", "clause", "part", "title", "text", "audience", "benefit_kinds", "sectors", "responsibility_as_printed",
    "lead_units", "cooperating_units", "eligibility", "conditions", "amounts", "city_share", "service_points",
    "materials", "time_limit_days", "time_limit_months", "time_limit_note", "valid_until", "cases", "lead_by_sector",
    "__line__", "__keylines__",
}
_REQUIRED_MEASURE_KEYS = {"id", "clause", "title", "text", "audience", "benefit_kinds", "responsibility_as_printed",
                          "lead_units", "cooperating_units", "eligibility"}


def squash(text: str) -> str:
    """Text with every kind of white space removed (the seeds wrap lines anywhere)."""
    return re.sub(r"[\s\u3000\xa0]+", "", text)


def _err(path: Path, line: int | str, message: str) -> CatalogError:
    return CatalogError(f"{path.name}:{line}: {message}")


def _parse_conditions(path: Path, line: int, raw: Any, what: str) -> tuple[Condition, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _err(path, line, f"{what} must be a list")
    out = []
    for item in raw:
        try:
            out.append(parse_condition(_strip_lines(item)))
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


def _parse_amounts(path: Path, raw: Any, line: int) -> tuple[Amount, ...]:
    out = []
    for a in raw or []:
        at = a.get("__line__", line)
        extra = set(a) - {"max_wan", "min_wan", "unit", "label", "rate_percent", "rate_base", "when", "count_fact",
                          *_META_KEYS}
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
                          when=_parse_conditions(path, at, a.get("when"), "amount when"), count_fact=count_fact))
    return tuple(out)


def _parse_city_share(path: Path, raw: Any, line: int) -> tuple[CityShare, ...]:
    out = []
    for s in raw or []:
        at = s.get("__line__", line)
        extra = set(s) - {"percent", "label", "unit", "when", "base_fact", *_META_KEYS}
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
                             when=_parse_conditions(path, at, s.get("when"), "city_share when"),
                             base_fact=base_fact))
    return tuple(out)


def _field_kind(name: str) -> str:
    f = FIELDS_BY_NAME.get(name)
    return f.kind if f else ""


def sector_condition(sectors: tuple[str, ...]) -> Condition:
    """The sector the clause names, as a condition: every measure checks it (all = any 医药健康 sector)."""
    if "all" in sectors or not sectors:
        return Condition("any_of", fact="sectors", values=HEALTH_SECTORS,
                         label="属于医药健康产业（药品、医疗器械、化妆品、保健食品、健康服务或药械流通）",
                         hint="文件所列措施均面向医药健康产业")
    # The questionnaire's own wording, without its bracketed examples: "生物药（疫苗…）" -> "生物药".
    names = "或".join(FIELDS_BY_NAME["sectors"].option(s).zh.split("（")[0] for s in sectors)
    return Condition("any_of", fact="sectors", values=tuple(sectors), label=f"所属行业为{names}")


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


def load_catalog(data_dir: Path = DATA_DIR) -> Catalog:
    documents = load_documents(data_dir)
    units = load_units(data_dir)
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
            conditions = _parse_conditions(path, line, raw.get("conditions"), "conditions")
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
                if c.get("expect") not in ("eligible", "needs_info", "near_miss", "not_eligible", "expired"):
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
                amounts=_parse_amounts(path, raw.get("amounts"), line),
                city_share=_parse_city_share(path, raw.get("city_share"), line),
                service_points=tuple(raw.get("service_points") or ()),
                materials=tuple(raw.get("materials") or ()),
                time_limit_days=raw.get("time_limit_days"), time_limit_note=str(raw.get("time_limit_note", "")),
                valid_until=_as_date(raw.get("valid_until")), cases=tuple(cases), line=line, file=path.name,
                lead_by_sector=_parse_lead_by_sector(path, raw), time_limit_months=_time_limit_months(path, raw, line),
            )
    return Catalog(documents=documents, measures=measures, units=units)


@lru_cache(maxsize=1)
def catalog() -> Catalog:
    """The bundled catalog, loaded once per process."""
    return load_catalog()


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
