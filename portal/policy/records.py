"""The policy catalog's records: documents, measures, their amounts and the units that handle them.

The vocabularies below (audiences, benefit kinds, amount units, sectors) are what the YAML may use;
portal/policy/catalog.py loads and checks the data against them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from portal.policy.conditions import Condition
from portal.policy.translations import Translations, pick
from portal.policy.wording import mark as _l

# The label dictionaries hold plain Chinese (the PDFs and the API use them as they are); `_l` only marks
# them for the catalogs, and pages translate a value where they show it (portal.policy.wording.label).

AUDIENCES = {
    "enterprise_benefit": _l("企业扶持（资金、奖励）"),
    "enterprise_service": _l("面向企业的服务"),
    "enterprise_relief": _l("监管便利与减负"),
    "enterprise_info": _l("政策信息（无需申请）"),
    "government_internal": _l("政府内部工作"),
}
# How the results headline counts what a firm gets (issue: 资金 / 审评审批加速 / 服务 / 信息).
MEASURE_KINDS = {"cash": _l("资金"), "fast_track": _l("审评审批加速"), "service": _l("服务"), "info": _l("政策信息")}
FAST_TRACK_KINDS = {"fast_track", "combined_inspection"}
BENEFIT_KINDS = {
    "cash_reward": _l("资金奖励"),
    "matching_reward": _l("按市级支持额度配套奖励"),
    "subsidy": _l("项目支持与补助"),
    "interest_subsidy": _l("贷款贴息"),
    "fast_track": _l("加快审评审批"),
    "combined_inspection": _l("合并现场检查"),
    "consultation": _l("前置咨询与技术指导"),
    "platform_service": _l("平台与公共服务"),
    "regulatory_relief": _l("监管便利与减负"),
    "coordination": _l("协调对接服务"),
    "policy_support": _l("政策支持（未列金额）"),
}
AMOUNT_UNITS = {
    "per_variety": _l("每个品种"),
    "per_project": _l("每个项目"),
    "per_product": _l("每个产品"),
    "one_off": _l("一次性"),
    "annual": _l("每年度"),
    "per_enterprise": _l("每户企业"),
    "graded": _l("分级分类"),
    "unspecified": _l("文件未写明发放方式"),
}
NO_MATERIALS_NOTE = _l("文件未列明申报材料，请向责任单位确认。")
SECTOR_CODES = {
    "biologic", "cell_gene", "chemical_drug", "api", "tcm", "tcm_materials", "medical_device", "ivd",
    "pharma_equipment", "cosmetics", "health_food", "health_services", "distribution", "all",
}


class CatalogError(ValueError):
    """The policy data is invalid; the message names file and line."""


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
    tr: Translations = ()  # unofficial ko/en wording of label and rate_base

    def local(self, name: str, lang: str) -> str:
        return pick(self.tr, lang, name) or getattr(self, name)

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
    tr: Translations = ()  # unofficial ko/en wording of label

    def local(self, name: str, lang: str) -> str:
        return pick(self.tr, lang, name) or getattr(self, name)

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
    # Unofficial ko/en title, summary (and time-limit note): glosses, the Chinese clause stays the text of record.
    tr: Translations = field(default=(), compare=False)

    @property
    def summary(self) -> str:
        """The plain Chinese reading of the clause (the ko/en `summary` translates it, shortened)."""
        return self.eligibility

    def local(self, name: str, lang: str) -> str:
        """`title`, `summary` or `time_limit_note` in `lang` when translated, else the Chinese."""
        return pick(self.tr, lang, name) or getattr(self, name)

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

