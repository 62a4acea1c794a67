"""The enterprise profile vocabulary: every question the portal can ask.

This module is the single source of truth for field names, types, option codes and their
labels. Measure conditions (portal/policy/data) may only name fields and option codes defined
here; `portal measures check` enforces that. The questionnaire derives which questions to ask
from the conditions that reference them, so the order here is only the order of presentation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

FieldKind = Literal["text", "choice", "multi", "number", "bool"]


Gate = tuple[tuple[str, tuple[str, ...]], ...]


# The interface languages other than Chinese, and how a number's unit reads in them.
UNITS: dict[str, dict[str, str]] = {"万元": {"en": "10,000 yuan", "ko": "만 위안"}, "个": {"en": "", "ko": "개"}}


def _in(lang: str, zh: str, en: str, ko: str) -> str:
    """The wording in `lang` (Korean falls back to English, both to the Chinese)."""
    if lang == "ko":
        return ko or en or zh
    if lang == "en":
        return en or zh
    return zh


@dataclass(frozen=True)
class Option:
    code: str
    zh: str
    en: str
    ko: str = ""
    ask_if: Gate = ()  # offered only when another answer makes it possible (see gate_open)

    def label(self, lang: str) -> str:
        """The option's wording in the interface language (zh, ko or en)."""
        return _in(lang, self.zh, self.en, self.ko)


@dataclass(frozen=True)
class Field:
    name: str
    kind: FieldKind
    step: str
    zh: str
    en: str
    ko: str = ""
    help_zh: str = ""
    help_en: str = ""
    help_ko: str = ""
    options: tuple[Option, ...] = ()
    unit_zh: str = ""  # for numbers, e.g. 万元
    required: bool = False  # identity fields that every application form needs
    max_length: int = 200
    # Only relevant when another answer makes it meaningful: (field, option codes).
    # Used for identity-style questions that no condition references directly.
    ask_if: Gate = ()
    # Codes whose answer is stored with a date (milestones).
    dated: bool = False
    # An identity fact (where the firm is, what it is): the firm cannot change it by acting, so a
    # measure that fails on it is simply not for this firm — never a "near miss".
    fixed: bool = False
    # A detail of a measure the firm otherwise qualifies for (how much city support, is there a loan):
    # asked only once every other condition of that measure holds, so most firms never see it.
    detail: bool = False

    def option(self, code: str) -> Option | None:
        return next((o for o in self.options if o.code == code), None)

    def label(self, lang: str) -> str:
        """The question in the interface language (zh, ko or en)."""
        return _in(lang, self.zh, self.en, self.ko)

    def help(self, lang: str) -> str:
        """The hint under the question in the interface language; empty when it has none."""
        return _in(lang, self.help_zh, self.help_en, self.help_ko) if self.help_zh else ""

    def unit(self, lang: str) -> str:
        """A number's unit in the interface language (万元, 만 위안, 10,000 yuan); empty when it has none."""
        if lang == "zh" or not self.unit_zh:
            return self.unit_zh
        return UNITS.get(self.unit_zh, {}).get(lang, self.unit_zh)

    def option_codes(self) -> list[str]:
        return [o.code for o in self.options]


@dataclass(frozen=True)
class Step:
    code: str
    zh: str
    en: str
    ko: str = ""
    fields: tuple[str, ...] = ()  # its questions' names, in presentation order

    def label(self, lang: str) -> str:
        """The step's name in the interface language (zh, ko or en)."""
        return _in(lang, self.zh, self.en, self.ko)


def _o(code: str, zh: str, en: str, ko: str = "", ask_if: Gate = ()) -> Option:
    return Option(code, zh, en, ko, ask_if)


def gate_open(gate: Gate, profile: dict[str, Any] | Mapping[str, Any]) -> bool:
    """Open when any (field, codes) pair matches, or while a gating field is still unanswered."""
    if not gate:
        return True
    undecided = False
    for fact, codes in gate:
        value = profile.get(fact)
        if value is None:
            undecided = True
        elif (isinstance(value, list) and set(value) & set(codes)) or value in codes:
            return True
    return undecided


# A cosmetics importer is never asked about devices, and vice versa. Gated on the sector alone (device and
# cosmetics roles are offered only with their sector), so which steps exist is settled by the sector step.
DEVICE_GATE: Gate = (("sectors", ("medical_device", "ivd")),)
COSMETICS_GATE: Gate = (("sectors", ("cosmetics",)),)
# Roles are offered by sector, so a cosmetics firm does not read through drug and device roles.
DRUG_GATE: Gate = (("sectors", ("biologic", "cell_gene", "chemical_drug", "api", "tcm", "tcm_materials")),)
MANUFACTURING_GATE: Gate = (("sectors", ("biologic", "cell_gene", "chemical_drug", "api", "tcm", "tcm_materials",
                                         "medical_device", "ivd", "cosmetics")),)
DEVICE_SECTOR_GATE: Gate = (("sectors", ("medical_device", "ivd")),)
COSMETICS_SECTOR_GATE: Gate = (("sectors", ("cosmetics",)),)
DISTRIBUTION_GATE: Gate = (("sectors", ("distribution",)),)
HEALTH_SERVICE_GATE: Gate = (("sectors", ("health_services",)),)
CLASS2_GATE: Gate = (("device_classes", ("class2",)),)
CLASS3_GATE: Gate = (("device_classes", ("class3",)),)


OTHER_SECTOR = "other"

LOCATIONS = (
    _o("zhonghan_zone", "中韩(长春)国际合作示范区", "China-Korea (Changchun) International Cooperation Demonstration Zone", "중한(창춘)국제협력시범구"),
    _o("changchun_new_area", "长春新区", "Changchun New Area", "창춘신구"),
    _o("changchun_other", "长春市其他地区", "Elsewhere in Changchun", "창춘시 기타 지역"),
    _o("corridor_other", "辽源、梅河口、通化、白山、延边（走廊节点）", "Liaoyuan, Meihekou, Tonghua, Baishan or Yanbian (corridor)", "랴오위안·메이허커우·퉁화·바이산·옌볜(회랑 거점)"),
    _o("jilin_other", "吉林省其他地区", "Elsewhere in Jilin", "지린성 기타 지역"),
    _o("outside_jilin", "吉林省外（计划来吉）", "Outside Jilin (planning to come)", "지린성 외(지린 진출 계획)"),
)

FIELDS: tuple[Field, ...] = (
    # --- identity: needed on every application form, never by a condition
    Field("enterprise_name", "text", "identity", "企业名称", "Company name", "기업명", required=True),
    Field("credit_code", "text", "identity", "统一社会信用代码", "Unified social credit code", "통일사회신용코드",
          help_zh="18 位，见营业执照",
          help_en='18 characters, as on the business licence',
          help_ko='18자리, 사업자등록증(영업집조) 참조', required=True, max_length=18),
    Field("address", "text", "identity", "注册地址", "Registered address", "등록 주소", required=True),
    Field("legal_representative", "text", "identity", "法定代表人", "Legal representative", "법정대표인", required=True, max_length=50),
    Field("contact_person", "text", "identity", "联系人", "Contact person", "담당자", required=True, max_length=50),
    Field("contact_phone", "text", "identity", "联系电话", "Contact phone", "연락처", required=True, max_length=20),
    # --- location and ownership
    Field("location", "choice", "location", "企业所在地", "Location", "소재지", options=LOCATIONS, fixed=True),
    Field("ownership", "choice", "location", "企业性质", "Ownership", "기업 성격", fixed=True, options=(
        _o("domestic", "内资企业", "Domestic", "내자 기업"),
        _o("korean_invested", "韩资企业", "Korean-invested", "한국 투자 기업"),
        _o("foreign_invested", "其他外商投资企业", "Other foreign-invested", "기타 외국인 투자 기업"),
    )),
    # --- sectors and roles
    Field("sectors", "multi", "business", "所属行业（可多选）", "Sectors (choose all that apply)", "업종(복수 선택)", fixed=True, options=(
        _o("biologic", "生物药（疫苗、基因工程药物、抗体、血液制品等）", "Biologics (vaccines, recombinant, antibodies, blood products)", "바이오의약품(백신·유전자재조합·항체·혈액제제 등)"),
        _o("cell_gene", "细胞治疗与基因治疗药物", "Cell and gene therapy", "세포·유전자 치료제"),
        _o("chemical_drug", "化学药（制剂）", "Chemical drugs (formulations)", "화학의약품"),
        _o("api", "原料药及中间体", "APIs and intermediates", "원료의약품 및 중간체"),
        _o("tcm", "中药（中成药、配方颗粒、经典名方）", "Traditional Chinese medicine", "중약(중성약·배합과립·고전 명방)"),
        _o("tcm_materials", "中药材与中药饮片", "TCM materials and decoction pieces", "중약재·음편"),
        _o("medical_device", "医疗器械", "Medical devices", "의료기기"),
        _o("ivd", "体外诊断试剂", "In-vitro diagnostics", "체외진단시약"),
        _o("pharma_equipment", "制药设备与检测仪器", "Pharmaceutical equipment and test instruments", "제약 설비 및 검사 기기"),
        _o("cosmetics", "化妆品及绿色日化品", "Cosmetics and green daily chemicals", "화장품"),
        _o("health_food", "保健食品、特医食品、药食同源产品", "Health foods, FSMP, food-medicine products", "건강기능식품·특수의료용도식품·약식동원 제품"),
        _o("health_services", "医疗与健康服务", "Medical and health services", "의료·건강 서비스"),
        _o("distribution", "药品、医疗器械流通", "Drug and device distribution", "의약품·의료기기 유통"),
        _o(OTHER_SECTOR, "以上都不是（其他行业，如普通食品、化工）", "None of these (other industries)", "해당 없음(기타 업종)"),
    )),
    Field("roles", "multi", "roles", "企业在产业中的角色（可多选）", "Roles (choose all that apply)", "역할(복수 선택)", fixed=True, options=(
        _o("mah", "药品上市许可持有人（MAH）", "Marketing authorisation holder (MAH)", "의약품 시판허가 보유자(MAH)", ask_if=DRUG_GATE),
        _o("drug_manufacturer", "药品生产企业", "Drug manufacturer", "의약품 제조업체", ask_if=DRUG_GATE),
        _o("device_registrant", "医疗器械注册人", "Medical device registrant", "의료기기 등록인", ask_if=DEVICE_SECTOR_GATE),
        _o("device_manufacturer", "医疗器械生产企业", "Medical device manufacturer", "의료기기 제조업체", ask_if=DEVICE_SECTOR_GATE),
        _o("contract_manufacturer", "受托生产企业", "Contract manufacturer", "수탁 제조업체", ask_if=MANUFACTURING_GATE),
        _o("cosmetics_manufacturer", "化妆品生产企业", "Cosmetics manufacturer", "화장품 제조업체", ask_if=COSMETICS_SECTOR_GATE),
        _o("cosmetics_filer", "化妆品注册人、备案人", "Cosmetics registrant or filer", "화장품 등록·신고인", ask_if=COSMETICS_SECTOR_GATE),
        _o("domestic_responsible_person", "进口化妆品境内责任人", "Domestic responsible person for imported cosmetics", "수입 화장품 국내 책임자",
           ask_if=(("sectors", ("cosmetics",)),)),
        _o("distributor", "药品、医疗器械经营企业", "Distributor", "유통업체", ask_if=DISTRIBUTION_GATE),
        _o("medical_institution", "医疗机构", "Medical institution", "의료기관", ask_if=HEALTH_SERVICE_GATE),
        _o("research_institution", "药物研发机构、科研院所", "Drug research institution", "연구기관"),
        _o("cro", "合同研发机构（CRO）", "Contract research organisation (CRO)", "CRO"),
        _o("cmo", "合同外包生产机构（CMO）", "Contract manufacturing organisation (CMO)", "CMO", ask_if=DRUG_GATE),
        _o("cdmo", "合同定制研发生产机构（CDMO）", "CDMO", "CDMO", ask_if=DRUG_GATE),
        _o("platform_operator", "公共服务平台运营方", "Public service platform operator", "공공 서비스 플랫폼 운영자"),
    )),
    Field("good_credit", "bool", "roles", "企业是否诚信守法（无严重违法失信记录）", "Is your firm law-abiding with a clean credit record?", "성실·준법 기업입니까(중대 위법·신용불량 기록 없음)?", fixed=True),
    # --- medical devices
    Field("device_classes", "multi", "devices", "医疗器械管理类别（可多选）", "Device classes", "의료기기 등급", ask_if=DEVICE_GATE, fixed=True, options=(
        _o("class1", "第一类", "Class I", "1등급"),
        _o("class2", "第二类", "Class II", "2등급"),
        _o("class3", "第三类", "Class III", "3등급"),
    )),
    # The review procedure belongs to a product of a given class, not to the firm: a class III product in
    # priority review and class II products in standard review must not read as "class II in priority".
    Field("device_procedures", "multi", "devices", "各类别产品拟申请或已进入的注册审批程序（可多选）", "Registration procedure, by product class", "등급별 등록 심사 절차", ask_if=DEVICE_GATE, options=(
        _o("class2_innovative", "第二类产品：创新产品注册审批程序", "Class II: innovative product procedure", "2등급: 혁신 제품 절차", ask_if=CLASS2_GATE),
        _o("class2_priority", "第二类产品：优先审批程序", "Class II: priority review", "2등급: 우선 심사", ask_if=CLASS2_GATE),
        _o("class2_emergency", "第二类产品：应急审批程序", "Class II: emergency procedure", "2등급: 긴급 심사", ask_if=CLASS2_GATE),
        _o("class2_standard", "第二类产品：常规程序", "Class II: standard procedure", "2등급: 일반 절차", ask_if=CLASS2_GATE),
        _o("class3_innovative", "第三类产品：创新医疗器械特别审查程序", "Class III: innovative device procedure", "3등급: 혁신 의료기기 절차", ask_if=CLASS3_GATE),
        _o("class3_priority", "第三类产品：优先审批程序", "Class III: priority review", "3등급: 우선 심사", ask_if=CLASS3_GATE),
        _o("class3_standard", "第三类产品：常规程序", "Class III: standard procedure", "3등급: 일반 절차", ask_if=CLASS3_GATE),
    )),
    Field("device_types", "multi", "devices", "产品类型（可多选）", "Device types", "제품 유형", ask_if=DEVICE_GATE, options=(
        _o("active", "有源医疗器械", "Active devices", "능동형 의료기기"),
        _o("ivd_reagent", "体外诊断试剂", "IVD reagents", "체외진단시약"),
        _o("materials", "医用材料、植（介）入器械", "Medical materials and implants", "의료용 재료"),
        _o("smart", "智慧医疗、数字化诊疗产品", "Smart and digital medical products", "스마트 의료 제품"),
        _o("other", "其他", "Other", "기타"),
    )),
    # --- cosmetics
    Field("cosmetics_activities", "multi", "cosmetics", "化妆品业务（可多选）", "Cosmetics activities", "화장품 사업", ask_if=COSMETICS_GATE, options=(
        _o("import_ordinary", "进口普通化妆品", "Importing ordinary cosmetics", "일반 화장품 수입"),
        _o("domestic_production", "境内生产化妆品", "Producing cosmetics in China", "국내 생산"),
        _o("new_raw_material", "化妆品新原料（含特色植物资源）研发", "New cosmetic raw materials R&D", "신원료 연구개발"),
    )),
    # --- milestones (each may carry the date it was reached)
    Field("milestones", "multi", "milestones", "已取得的注册与研发进展（可多选，并填写日期）", "Milestones reached (with dates)", "달성한 성과(날짜 포함)", dated=True, options=(
        _o("clinical_trial_approval", "新取得药物/器械临床试验许可", "New clinical trial approval", "임상시험 승인"),
        _o("registration_accepted", "新取得注册申请受理书", "Registration application accepted", "등록 신청 접수증"),
        _o("new_drug_certificate", "新获得新药证书（生产批件）且在吉林省转化生产", "New drug certificate, produced in Jilin", "신약 증서 취득 및 지린성 생산"),
        _o("innovative_drug_progress", "创新药、改良型新药或突破性治疗药物研发取得阶段性进展", "Innovative/improved/breakthrough drug reached a stage", "혁신신약 단계적 성과"),
        _o("class3_first_registration", "有产品首次取得第三类医疗器械注册证（新获证产品）", "A product newly obtained its first Class III registration", "3등급 의료기기 제품 최초 등록"),
        _o("national_innovative_device", "产品获批国家创新医疗器械", "National innovative device approval", "국가 혁신 의료기기 승인"),
        _o("device_in_production", "取得医疗器械注册证的产品已转化生产", "Registered device in production", "등록 의료기기 생산 전환"),
        _o("device_invention_patent", "注册产品具有发明专利", "Registered device holds an invention patent", "발명 특허 보유"),
        _o("pharmacopoeia_drafter", "作为牵头起草企业使中药材首次进入《中国药典》", "Lead drafter of a TCM material first in the Pharmacopoeia", "약전 최초 등재 주도"),
        _o("generic_consistency", "完成化学仿制药一致性评价研究", "Completed generic consistency evaluation", "제네릭 동등성 평가 완료"),
        _o("high_tech_first", "首次被认定为国家高新技术企业", "First recognised as national high-tech enterprise", "국가 하이테크 기업 최초 인정"),
        _o("main_board_listing", "在主板新上市", "Newly listed on a main board", "메인보드 신규 상장"),
    )),
    Field("introduced_innovative_drug", "bool", "milestones", "是否直接引进已取得阶段性成果的创新药、改良型新药或突破性治疗药物",
          "Have you directly introduced an innovative drug that already reached a stage?", "단계적 성과를 거둔 혁신신약을 직접 도입했습니까?"),
    Field("has_self_developed_drug", "bool", "milestones", "是否持有自主研发的药品", "Do you hold self-developed drugs?", "자체 개발 의약품을 보유합니까?"),
    Field("innovative_drug_rnd", "bool", "milestones", "是否在研新结构、新靶点、新机制的创新药物", "Are you developing first-in-class drugs (new structure, target or mechanism)?", "신구조·신표적·신기전 혁신신약을 개발 중입니까?"),
    # --- projects (first on the figures page: they decide which figures are asked)
    Field("projects", "multi", "figures", "正在实施的研发与产业化项目（可多选）", "R&D and industrialisation projects", "연구개발·산업화 프로젝트", options=(
        _o("tcm_industrialisation", "中成药、中药配方颗粒研发和产业化项目", "TCM patent medicine or granule project", "중성약·배합과립 프로젝트"),
        _o("biologic_industrialisation", "生物制品研发及产业化项目", "Biologic product project", "바이오의약품 프로젝트"),
        _o("cosmetics_industrialisation", "以取得生产许可为目标、功能成分明确的化妆品研发与产业化项目", "Cosmetics project aiming at a production licence", "화장품 프로젝트"),
        _o("device_industrialisation", "医疗器械、制药设备及药品检测仪器研发及产业化项目", "Device, equipment or instrument project", "의료기기·설비 프로젝트"),
        _o("tech_upgrade_after_attraction", "省外招商引资或兼并重组后在我省实施的技术提升改造、产品优化升级项目", "Upgrade project after investment attraction or merger", "투자 유치 후 기술 개선 프로젝트"),
        _o("major_project", "投资3000万元以上的医药健康重大产业化项目", "A major industrialisation project (investment of 30 million yuan or more)", "3천만 위안 이상 대형 산업화 프로젝트"),
        _o("public_platform", "为吉林省医药健康产业提供服务的公共平台", "Public service platform for Jilin's industry", "지린성 의약·건강 산업 공공 서비스 플랫폼"),
        _o("service_platform_new_area", "在长春新区建设药物筛选、合成、报批、第三方检测、中试、MAH综合服务等专业技术服务平台", "Technical service platform in Changchun New Area", "창춘신구 기술 서비스 플랫폼"),
        _o("gcp_glp_platform", "运营GCP、GLP等公共服务平台（药物临床试验、非临床安全性评价）", "Operating a GCP or GLP public service platform", "GCP·GLP 공공 서비스 플랫폼 운영"),
    )),
    Field("project_investment_wan", "number", "figures", "重大产业化项目总投资", "Total investment of the major project", "주요 프로젝트 총투자", unit_zh="万元", detail=True),
    Field("project_has_fixed_asset_loan", "bool", "figures", "该项目是否有固定资产贷款且能在规定时间内投产", "Does the project have fixed-asset loans and start production on schedule?", "고정자산 대출이 있고 기한 내 가동됩니까?", detail=True),
    Field("new_equipment_investment_wan", "number", "figures", "技术改造项目新购科研仪器设备实际投资额", "Investment in newly bought research equipment", "신규 연구장비 투자액", unit_zh="万元", detail=True),
    Field("biologic_varieties", "number", "figures", "正在实施研发及产业化项目的生物制品品种数", "Number of biologic varieties in R&D or industrialisation", "연구개발·산업화 중인 바이오의약품 품목 수", unit_zh="个",
          help_zh="文件按“每个品种”给予支持，填写品种数以计算上限",
          help_en='The document gives support "per variety": enter the number of varieties to work out the maximum.',
          help_ko="문건은 '품목별'로 지원합니다. 지원 한도를 계산하도록 품목 수를 입력하십시오.", detail=True),
    Field("consistency_varieties", "number", "figures", "完成一致性评价研究的化学仿制药品种数", "Number of generic varieties that completed consistency evaluation", "동등성 평가를 완료한 제네릭 품목 수", unit_zh="个",
          help_zh="文件按“每个品种”给予奖励，填写品种数以计算上限",
          help_en='The document gives a reward "per variety": enter the number of varieties to work out the maximum.',
          help_ko="문건은 '품목별'로 장려금을 지급합니다. 지원 한도를 계산하도록 품목 수를 입력하십시오.", detail=True),
    # --- figures
    Field("annual_revenue_wan", "number", "figures", "上一年度营业收入", "Last year's revenue", "전년도 매출", unit_zh="万元"),
    Field("previous_peak_revenue_wan", "number", "figures", "此前各年度最高营业收入", "Highest revenue of earlier years", "이전 연도 최고 매출", unit_zh="万元",
          help_zh="用于判断是否“首次突破”某一规模",
          help_en='Used to tell whether you passed a revenue level "for the first time".',
          help_ko="특정 규모를 '처음 돌파'했는지 판단하는 데 사용합니다."),
    Field("online_sales_wan", "number", "figures", "上一年度线上销售收入（网络平台销售、网上支付结算）", "Last year's online sales", "전년도 온라인 매출", unit_zh="万元"),
    Field("previous_peak_online_sales_wan", "number", "figures", "此前各年度最高线上销售收入", "Highest online sales of earlier years", "이전 최고 온라인 매출", unit_zh="万元"),
    Field("revived_variety_sales_wan", "number", "figures", "盘活的省内闲置品种在我省生产上市后的年销售收入", "Annual sales of a revived idle variety", "재가동 품목 연매출", unit_zh="万元"),
    Field("secondary_dev_sales_increase_wan", "number", "figures", "大品种二次开发后较上一年度新增销售收入", "Sales increase after secondary development", "2차 개발 후 매출 증가", unit_zh="万元"),
    # Document 002 pays a share of the city-level support ("按照市级政策支持额度的5%"): no city support, no reward.
    Field("city_support_drug_wan", "number", "figures", "创新药研发进展（或引进）已获得的市级政策支持额度", "City-level support granted for the drug's progress", "신약 진전에 대한 시급 지원액", unit_zh="万元", detail=True,
          help_zh="长春新区按市级支持额度的5%（直接引进的按50%）配套；尚未获得市级支持请填0",
          help_en='Changchun New Area adds 5% of the city-level support (50% for a directly introduced drug). Enter 0 if you have no city-level support yet.',
          help_ko='창춘신구는 시급 지원액의 5%(직접 도입한 경우 50%)를 추가 지원합니다. 아직 시급 지원을 받지 않았으면 0을 입력하십시오.'),
    Field("city_support_device_wan", "number", "figures", "第三类医疗器械首证产品已获得的市级政策支持额度", "City-level support granted for the Class III product", "3등급 제품에 대한 시급 지원액", unit_zh="万元", detail=True,
          help_zh="长春新区按市级支持额度的5%配套；尚未获得市级支持请填0",
          help_en='Changchun New Area adds 5% of the city-level support. Enter 0 if you have no city-level support yet.',
          help_ko='창춘신구는 시급 지원액의 5%를 추가 지원합니다. 아직 시급 지원을 받지 않았으면 0을 입력하십시오.'),
    Field("city_support_platform_wan", "number", "figures", "专业技术服务平台已获得的市级政策支持额度", "City-level support granted for the service platform", "서비스 플랫폼에 대한 시급 지원액", unit_zh="万元", detail=True,
          help_zh="长春新区按市级支持额度的5%配套；尚未获得市级支持请填0",
          help_en='Changchun New Area adds 5% of the city-level support. Enter 0 if you have no city-level support yet.',
          help_ko='창춘신구는 시급 지원액의 5%를 추가 지원합니다. 아직 시급 지원을 받지 않았으면 0을 입력하십시오.'),
    # --- plans
    Field("plans", "multi", "plans", "今后的计划（可多选）", "Plans", "향후 계획", options=(
        _o("fda_edqm_drug", "自主研发药品申请美国FDA或欧盟EDQM注册并生产", "FDA/EDQM registration for self-developed drugs", "FDA/EDQM 의약품 등록"),
        _o("fda_ce_device", "自主研发第二、三类医疗器械申请美国FDA注册或欧洲CE认证并生产", "FDA/CE for self-developed devices", "FDA/CE 의료기기 인증"),
        _o("overseas_expansion", "拓展境外市场、国际商务拓展（BD）、对外授权或境外合资", "Overseas markets, BD, out-licensing or joint ventures", "해외 시장 진출"),
        _o("site_change", "仅变更药品生产地址（工艺、设备不变）的场地变更", "Change of manufacturing site only", "제조 장소 변경"),
        _o("port_import_changchun", "经长春药品进口口岸（长春空港口岸）进口药品或科研、临床研究、生产相关用品", "Import via the Changchun drug import port (airport)", "창춘 의약품 수입 항구 이용"),
        _o("port_import_hunchun", "经珲春中药材口岸进口中药材", "Import TCM materials via the Hunchun port", "훈춘 중약재 항구 이용"),
        _o("cross_province_commissioning", "跨省委托生产或多点委托生产", "Cross-province or multi-site contract manufacturing", "성간 위탁 생산"),
        _o("commission_in_new_area", "作为药品上市许可持有人，委托长春新区内药品企业生产", "As MAH, commission a drug maker in Changchun New Area", "MAH로서 창춘신구 기업에 위탁 생산"),
        _o("multi_warehouse", "跨区域多仓、异地设库经营", "Multi-region warehousing", "다지역 창고 운영"),
        _o("merger_or_transfer", "通过合资合作、兼并重组承接产业转移或科技成果转化项目", "Take on transferred projects through JV or merger", "합작·인수합병"),
        _o("glp_study", "在吉林省药物安全评价中心（GLP）开展非临床研究", "Non-clinical studies at Jilin GLP centre", "GLP 비임상 연구"),
        _o("registration_application", "拟申报或正在申报药品、医疗器械、化妆品注册（备案）", "Applying (or about to apply) for drug, device or cosmetics registration", "의약품·의료기기·화장품 등록(신고) 신청 예정 또는 진행 중"),
        _o("innovative_drug_development", "开展或拟开展创新药物研发", "Developing (or about to develop) an innovative drug", "혁신신약 연구개발 수행(예정)"),
        _o("hospital_preparation_rnd", "开展医疗机构制剂（院内制剂）研究或向中药新药转化", "Hospital preparation research", "원내 제제 연구"),
        _o("classical_formula_rnd", "开展古代经典名方研究", "Classical formula research", "고대 경전 명방 연구"),
        _o("new_production_line", "新建生产线或新办药品生产企业，需要生产许可与GMP检查", "New production line needing licence and GMP inspection", "신규 생산라인"),
        _o("settle_in_zhonghan", "到中韩示范区落地、入园", "Settle in the China-Korea demonstration zone", "중한 시범구 입주"),
        _o("settle_in_new_area", "到长春新区落地", "Settle in Changchun New Area", "창춘신구 입주"),
        _o("settle_in_jilin", "到吉林省（示范区、新区以外）设立企业或落地项目", "Set up elsewhere in Jilin", "지린성 기타 지역 설립"),
    )),
    Field("is_leading_enterprise", "bool", "plans", "是否为行业龙头企业", "Are you a leading company in your field?", "업계 선도 기업입니까?",
          help_zh="按所在地主管部门的认定或行业公认地位作答",
          help_en="Answer by the local authority's recognition or your generally recognised standing in the industry.",
          help_ko='소재지 주관 부서의 인정 또는 업계에서 공인된 지위에 따라 답하십시오.', detail=True),
    Field("korean_park", "bool", "plans", "是否已入驻中韩示范区“韩国医美产业”区中园", "Are you in the zone's Korean medical-beauty park?", "'한국 의료미용 산업' 단지에 입주했습니까?",
          ask_if=(("location", ("zhonghan_zone",)),)),
    Field("settled_in_new_area", "bool", "plans", "委托生产相关的产值、销售、税收是否结算在长春新区", "Are output, sales and taxes of the commissioned production settled in Changchun New Area?", "위탁 생산의 생산액·매출·세금이 창춘신구에서 결산됩니까?", detail=True),
    Field("city_support_commission_wan", "number", "plans", "委托生产事项已获得的市级政策支持额度（上一年度）", "City-level support granted for contract manufacturing (last year)", "위탁 생산에 대한 시급 지원액", unit_zh="万元", detail=True,
          help_zh="长春新区按市级支持额度的5%按年度配套；尚未获得市级支持请填0",
          help_en='Changchun New Area adds 5% of the city-level support each year. Enter 0 if you have no city-level support yet.',
          help_ko='창춘신구는 시급 지원액의 5%를 연도별로 추가 지원합니다. 아직 시급 지원을 받지 않았으면 0을 입력하십시오.'),
)

FIELDS_BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}


def _step(code: str, zh: str, en: str, ko: str) -> Step:
    """A step of the questionnaire with its questions, in the order FIELDS presents them."""
    return Step(code, zh, en, ko, fields=tuple(f.name for f in FIELDS if f.step == code))


STEPS: tuple[Step, ...] = (
    _step("identity", "企业基本信息", "Company details", "기업 기본 정보"),
    _step("location", "所在地与性质", "Location and ownership", "소재지 및 기업 성격"),
    _step("business", "所属行业", "Sectors", "업종"),
    _step("roles", "企业角色", "Roles", "역할"),
    _step("devices", "医疗器械", "Medical devices", "의료기기"),
    _step("cosmetics", "化妆品", "Cosmetics", "화장품"),
    _step("milestones", "产品与注册进展", "Products and registrations", "제품 및 등록 진행"),
    _step("figures", "经营数据与项目", "Business figures and projects", "경영 데이터 및 프로젝트"),
    _step("plans", "发展计划", "Plans", "발전 계획"),
)

GATED_FIELDS: tuple[Field, ...] = tuple(f for f in FIELDS if f.ask_if)


def apply_gates(profile: Mapping[str, Any]) -> Mapping[str, Any]:
    """Answer "none" for questions the gates say do not apply (never asked, so not unknown)."""
    closed = [f for f in GATED_FIELDS if f.name not in profile and not gate_open(f.ask_if, profile)]
    if not closed:
        return profile
    filled = dict(profile)
    for f in closed:
        filled[f.name] = NOT_APPLICABLE[f.kind]
    return filled


# What a question that does not apply counts as: "none", never "unknown".
NOT_APPLICABLE: dict[str, Any] = {"multi": [], "bool": False, "number": 0.0, "choice": "-", "text": "-"}
HEALTH_SECTORS: tuple[str, ...] = tuple(c for c in FIELDS_BY_NAME["sectors"].option_codes() if c != OTHER_SECTOR)

IDENTITY_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.step == "identity")


def step_of(field_name: str) -> Step:
    code = FIELDS_BY_NAME[field_name].step
    return next(s for s in STEPS if s.code == code)
