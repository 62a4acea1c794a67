"""Typical enterprises, written from the five policy texts, used to measure the questionnaire (issue 10 §3).

Each persona is a complete answer profile as that firm would give it (option codes of
portal/profile/fields.py, money in 万元). The portal asks only a part of it; the rest must not matter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Persona:
    key: str  # ASCII id for pytest
    name: str  # 中文名称
    profile: dict[str, Any] = field(default_factory=dict)
    expect_eligible: bool = True  # the food company is told early that nothing applies
    max_questions: int | None = None  # a persona-specific ceiling (the food company: 3)
    max_screens: int | None = None


PERSONAS: tuple[Persona, ...] = (
    # 000（一）（四）; 001（十七）: 韩资企业在示范区做进口普通化妆品的境内责任人，已入驻“韩国医美产业”区中园。
    Persona("cosmetics_importer", "韩资化妆品进口企业（中韩示范区）", {
        "location": "zhonghan_zone",
        "ownership": "korean_invested",
        "sectors": ["cosmetics"],
        "roles": ["domestic_responsible_person"],
        "is_leading_enterprise": False,
        "good_credit": True,
        "cosmetics_activities": ["import_ordinary"],
        "milestones": [],
        "annual_revenue_wan": 6800,
        "previous_peak_revenue_wan": 7200,
        "online_sales_wan": 2100,
        "previous_peak_online_sales_wan": 2500,
        "projects": [],
        "plans": ["overseas_expansion"],
        "korean_park": True,
    }),
    # 000（三）: 示范区内第二类医疗器械创新产品，纳入绿色审批通道；003 任务9: 医疗器械研发及产业化项目。
    Persona("device_zhonghan", "中韩示范区医疗器械生产企业（第二类创新产品）", {
        "location": "zhonghan_zone",
        "ownership": "domestic",
        "sectors": ["medical_device"],
        "roles": ["device_registrant", "device_manufacturer"],
        "is_leading_enterprise": False,
        "good_credit": True,
        "device_classes": ["class2"],
        "device_procedures": ["class2_innovative"],
        "device_types": ["active", "smart"],
        "milestones": ["registration_accepted", "high_tech_first"],
        "milestone_dates": {"registration_accepted": "2026-03-10", "high_tech_first": "2025-12-01"},
        "annual_revenue_wan": 12000,
        "previous_peak_revenue_wan": 10500,
        "projects": ["device_industrialisation"],
        "project_investment_wan": 4500,
        "project_has_fixed_asset_loan": True,
        "new_equipment_investment_wan": 600,
        "plans": ["fda_ce_device"],
        "korean_park": False,
    }),
    # 002 一、四、十三、十四; 003 任务6、12: 新区疫苗企业，持有人兼生产企业，生物制品项目，营收首次过10亿。
    Persona("vaccine_new_area", "长春新区疫苗企业（MAH＋生产）", {
        "location": "changchun_new_area",
        "ownership": "domestic",
        "sectors": ["biologic"],
        "roles": ["mah", "drug_manufacturer"],
        "is_leading_enterprise": True,
        "good_credit": True,
        "milestones": ["clinical_trial_approval", "innovative_drug_progress"],
        "milestone_dates": {"clinical_trial_approval": "2026-02-15", "innovative_drug_progress": "2026-04-20"},
        "introduced_innovative_drug": False,
        "has_self_developed_drug": True,
        "biologic_varieties": 3,
        "innovative_drug_rnd": True,
        "annual_revenue_wan": 150000,
        "previous_peak_revenue_wan": 92000,
        "city_support_drug_wan": 500,
        "projects": ["biologic_industrialisation"],
        "project_investment_wan": 60000,
        "project_has_fixed_asset_loan": True,
        "new_equipment_investment_wan": 3000,
        "plans": ["fda_edqm_drug", "overseas_expansion", "port_import_changchun"],
        "settled_in_new_area": False,
    }),
    # 003 任务7; 004（二十三）: 吉林市化学仿制药企业，2 个品种完成一致性评价。
    Persona("generic_outside_changchun", "长春以外的化学仿制药企业（吉林市）", {
        "location": "jilin_other",
        "ownership": "domestic",
        "sectors": ["chemical_drug"],
        "roles": ["mah", "drug_manufacturer"],
        "is_leading_enterprise": False,
        "good_credit": True,
        "milestones": ["generic_consistency"],
        "milestone_dates": {"generic_consistency": "2026-01-18"},
        "has_self_developed_drug": True,
        "consistency_varieties": 2,
        "innovative_drug_rnd": False,
        "annual_revenue_wan": 58000,
        "previous_peak_revenue_wan": 61000,
        "projects": [],
        "plans": ["cross_province_commissioning"],
    }),
    # 003 任务10; 001（十）: 药品医疗器械流通企业，年营业收入首次突破30亿元，拟跨区域多仓经营。
    Persona("distributor", "药品医疗器械流通企业（长春）", {
        "location": "changchun_other",
        "ownership": "domestic",
        "sectors": ["distribution"],
        "roles": ["distributor"],
        "is_leading_enterprise": True,
        "good_credit": True,
        "milestones": [],
        "annual_revenue_wan": 320000,
        "previous_peak_revenue_wan": 285000,
        "online_sales_wan": 6000,
        "previous_peak_online_sales_wan": 4800,
        "projects": [],
        "plans": ["multi_warehouse"],
    }),
    # 002 十一: 新区 CRO，建设专业技术服务平台并已获市级支持；001（九）: 在省 GLP 中心开展非临床研究。
    Persona("cro_new_area", "长春新区合同研发机构（CRO）", {
        "location": "changchun_new_area",
        "ownership": "domestic",
        "sectors": ["biologic", "chemical_drug"],
        "roles": ["cro"],
        "is_leading_enterprise": False,
        "good_credit": True,
        "milestones": ["high_tech_first"],
        "milestone_dates": {"high_tech_first": "2025-11-20"},
        "innovative_drug_rnd": False,
        "annual_revenue_wan": 9000,
        "previous_peak_revenue_wan": 7600,
        "city_support_platform_wan": 200,
        "projects": ["service_platform_new_area"],
        "project_investment_wan": 2500,
        "plans": ["glp_study"],
    }),
    # 003 任务5、13; 001（十三）: 通化中药企业，中成药项目，开展古代经典名方研究，大品种二次开发。
    Persona("tcm_tonghua", "通化中药企业（中成药、经典名方）", {
        "location": "corridor_other",
        "ownership": "domestic",
        "sectors": ["tcm", "tcm_materials"],
        "roles": ["mah", "drug_manufacturer"],
        "is_leading_enterprise": True,
        "good_credit": True,
        "milestones": ["registration_accepted"],
        "milestone_dates": {"registration_accepted": "2026-03-28"},
        "has_self_developed_drug": True,
        "innovative_drug_rnd": False,
        "annual_revenue_wan": 85000,
        "previous_peak_revenue_wan": 80000,
        "secondary_dev_sales_increase_wan": 6200,
        "revived_variety_sales_wan": 0,
        "projects": ["tcm_industrialisation"],
        "project_investment_wan": 8000,
        "project_has_fixed_asset_loan": True,
        "plans": ["port_import_hunchun", "classical_formula_rnd"],
    }),
    # 002 八、九; 000（六）: 长春新区医院，建设临床重点专科，开展院内制剂研究。
    Persona("hospital_new_area", "长春新区医疗机构（医院）", {
        "location": "changchun_new_area",
        "ownership": "domestic",
        "sectors": ["health_services"],
        "roles": ["medical_institution"],
        "is_leading_enterprise": False,
        "good_credit": True,
        "milestones": [],
        "projects": [],
        "plans": ["hospital_preparation_rnd"],
    }),
    # 五份文件都面向医药健康产业：普通食品企业应在选行业后立即得知不在覆盖范围内。
    Persona("food_company", "普通食品企业（长春）", {
        "location": "changchun_other",
        "ownership": "domestic",
        "sectors": ["other"],
        "good_credit": True,
        "annual_revenue_wan": 3000,
    }, expect_eligible=False, max_questions=3, max_screens=3),
)

PERSONAS_BY_KEY: dict[str, Persona] = {p.key: p for p in PERSONAS}
