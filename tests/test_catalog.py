"""The knowledge base: every clause present, quoted verbatim, amounts as stated, schema enforced."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from portal.policy.catalog import DATA_DIR, catalog, load_catalog
from portal.policy.records import CatalogError
from portal.policy.sources import SOURCES_DIR, check_verbatim, load_source, squash

EXPECTED_COUNTS = {"d000": 6, "d001": 25, "d002": 14, "d003": 29, "d004": 28}


def test_every_clause_of_every_document_is_a_measure() -> None:
    cat = catalog()
    assert {d: len(cat.measures_of(d)) for d in cat.documents} == EXPECTED_COUNTS
    numbered_003 = [m for m in cat.measures_of("d003") if not m.id.startswith("d003-s")]
    assert len(numbered_003) == 25
    assert [m.clause for m in numbered_003] == [f"{n}." for n in range(1, 26)]


def test_every_measure_text_is_verbatim_in_its_source() -> None:
    assert check_verbatim(catalog()) == []


def test_verbatim_check_catches_an_edited_text(tmp_path: Path) -> None:
    cat = catalog()
    m = cat.measures["d003-12"]
    forged = m.text.replace("200万元", "300万元")
    assert forged != m.text
    from dataclasses import replace

    tampered = replace(cat, measures={**cat.measures, m.id: replace(m, text=forged)})
    problems = check_verbatim(tampered)
    assert len(problems) == 1 and "d003-12" in problems[0]


def _copy_sources(tmp_path: Path) -> Path:
    target = tmp_path / "sources"
    shutil.copytree(SOURCES_DIR, target)
    return target


def test_sources_ship_inside_the_package() -> None:
    import portal

    assert SOURCES_DIR.resolve().is_relative_to(Path(portal.__file__).resolve().parent)
    assert sorted(p.name for p in SOURCES_DIR.glob("*.txt")) == [f"{d}.txt" for d in EXPECTED_COUNTS]
    assert all(d.source_file == f"{d.id}.txt" for d in catalog().documents.values())


def test_verbatim_check_fails_when_a_source_is_missing(tmp_path: Path) -> None:
    sources = _copy_sources(tmp_path)
    assert check_verbatim(catalog(), sources) == []
    (sources / "d003.txt").unlink()
    problems = check_verbatim(catalog(), sources)
    assert len(problems) == 1 and problems[0].startswith("d003: source text ") and "d003.txt is missing" in problems[0]
    assert check_verbatim(catalog(), tmp_path / "nowhere")  # an empty checkout fails, it does not pass


def test_verbatim_check_reads_the_header_and_fails_on_a_mismatch(tmp_path: Path) -> None:
    sources = _copy_sources(tmp_path)
    path = sources / "d004.txt"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("文号：吉政办发〔2021〕44号", "文号：吉政办发〔2021〕45号", 1), encoding="utf-8")
    problems = check_verbatim(catalog(), sources)
    assert len(problems) == 1 and "d004: header 文号" in problems[0] and "44号" in problems[0]
    (sources / "d001.txt").write_text("没有表头的文本\n", encoding="utf-8")
    assert any(p.startswith("d001:") and "---" in p for p in check_verbatim(catalog(), sources))


def test_source_headers_and_official_texts_are_as_imported() -> None:
    readme = (SOURCES_DIR / "README.md").read_text(encoding="utf-8")
    expected = dict(re.findall(r"^\| (d\d{3})\.txt \| \S+ \| ([0-9a-f]{64}) \|$", readme, flags=re.MULTILINE))
    assert set(expected) == set(EXPECTED_COUNTS)
    for doc in catalog().documents.values():
        source = load_source(doc)
        assert source.header == {"标题": doc.title, "文号": doc.number or "文件未载明", "发文单位": doc.issuer,
                                 "日期": source.header["日期"]}
        assert hashlib.sha256(source.body.encode("utf-8")).hexdigest() == expected[doc.id], doc.id
    assert load_source(catalog().documents["d003"]).header["日期"] == "2021年12月15日"
    assert load_source(catalog().documents["d001"]).header["日期"] == "文件未载明"


def test_measures_check_command_fails_on_a_missing_source(app, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from portal.policy import sources as sources_module

    sources = _copy_sources(tmp_path)
    (sources / "d000.txt").unlink()
    original = sources_module.check_verbatim
    monkeypatch.setattr(sources_module, "check_verbatim", lambda cat: original(cat, sources))
    result = CliRunner().invoke(app.cli, ["measures", "check"])
    assert result.exit_code == 1 and "d000: source text" in result.output


def test_government_internal_clauses_are_kept_but_not_matched() -> None:
    cat = catalog()
    internal = [m for m in cat.measures.values() if m.audience == "government_internal"]
    assert internal, "documents contain internal clauses; they must be classified, not dropped"
    assert not set(internal) & set(cat.enterprise_measures())


# Document 003 (二)–(四): the stated maximum amounts, in 万元, by task.
AMOUNTS_003 = {
    "d003-01": [(200, "per_product")],
    "d003-02": [(200, "per_product")],
    "d003-04": [(100, "one_off")],
    "d003-05": [(200, "per_project")],
    "d003-06": [(500, "per_variety")],
    "d003-07": [(300, "per_variety")],
    "d003-08": [(100, "per_project")],
    "d003-09": [(100, "per_product"), (100, "per_project")],
    "d003-10": [(80, "one_off"), (50, "one_off")],
    "d003-11": [(50, "one_off")],
    "d003-12": [(200, "one_off")],
    "d003-13": [(100, "per_product"), (80, "per_variety")],
    "d003-14": [(100, "per_project")],
    "d003-16": [(100, "per_project")],
    "d003-18": [(100, "per_project")],
    "d003-23": [(100, "one_off")],
}


@pytest.mark.parametrize(("measure_id", "expected"), sorted(AMOUNTS_003.items()))
def test_document_003_stated_maximum_amounts(measure_id: str, expected: list[tuple[int, str]]) -> None:
    m = catalog().measures[measure_id]
    assert [(a.max_wan, a.unit) for a in m.amounts] == expected
    for a in m.amounts:
        assert f"{a.max_wan:g}万元" in m.text  # the figure is printed in the clause itself


def test_document_003_task_12_graded_reward_and_task_18_rate() -> None:
    cat = catalog()
    (graded,) = cat.measures["d003-12"].amounts
    assert (graded.min_wan, graded.max_wan) == (50, 200)
    (rate,) = cat.measures["d003-18"].amounts
    assert rate.rate_percent == 20 and rate.max_wan == 100


def test_only_tasks_with_stated_amounts_carry_amounts() -> None:
    with_amounts = {m.id for m in catalog().measures_of("d003") if m.amounts}
    assert with_amounts == set(AMOUNTS_003)


def test_document_002_percentages_of_the_city_amount() -> None:
    cat = catalog()
    shares = {m.id: [(s.percent, s.unit) for s in m.city_share] for m in cat.measures_of("d002") if m.city_share}
    # 四 is "分级分类" (its 50% for 直接引进 states no frequency); 五 "按年度"; 七 per product; 十一 states none.
    assert shares == {"d002-04": [(5, "graded"), (50, "unspecified")], "d002-05": [(5, "annual")],
                      "d002-07": [(5, "per_product")], "d002-11": [(5, "unspecified")]}
    # Each share is computed from the city amount the firm was granted for that matter.
    assert all(s.base_fact.startswith("city_support_") for m in cat.measures_of("d002") for s in m.city_share)
    assert all(p[0] == 5 for mid, ps in shares.items() if mid != "d002-04" for p in ps)
    for mid, ps in shares.items():
        text = cat.measures[mid].text
        assert all(f"{p:g}%" in text for p, _ in ps), mid
    assert cat.documents["d002"].valid_until.isoformat() == "2026-12-31"


def _copy_data(tmp_path: Path) -> Path:
    import shutil

    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


def test_wrong_field_name_is_an_error_naming_file_and_line(tmp_path: Path) -> None:
    data = _copy_data(tmp_path)
    path = data / "measures" / "d000.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    idx = next(i for i, line in enumerate(lines) if line.startswith("  title:"))
    lines[idx] = lines[idx].replace("title:", "titel:")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(CatalogError) as exc:
        load_catalog(data)
    assert f"d000.yaml:{idx + 1}:" in str(exc.value) and "titel" in str(exc.value)


def test_unknown_unit_is_an_error_naming_file_and_line(tmp_path: Path) -> None:
    data = _copy_data(tmp_path)
    path = data / "measures" / "d001.yaml"
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    idx = next(i for i, line in enumerate(lines) if line.strip().startswith("lead_units:") and "[" in line
               and line.strip() != "lead_units: []")
    lines[idx] = "  lead_units: [不存在的单位]"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(CatalogError) as exc:
        load_catalog(data)
    assert f"d001.yaml:{idx + 1}:" in str(exc.value) and "不存在的单位" in str(exc.value)


def test_measures_check_command_reports_counts(app) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(app.cli, ["measures", "check"])
    assert result.exit_code == 0, result.output
    assert "102 measures ok" in result.output and "d004=28" in result.output


def _edit_measure(data: Path, file: str, measure_id: str, old: str, new: str) -> None:
    """Replace text inside one measure record of a copied data folder."""
    path = data / "measures" / file
    text = path.read_text(encoding="utf-8")
    start = text.index(f"- id: {measure_id}\n")
    end = text.find("\n- id: ", start + 1)
    end = len(text) if end < 0 else end
    record = text[start:end]
    assert old in record, (measure_id, old)
    path.write_text(text[:start] + record.replace(old, new, 1) + text[end:], encoding="utf-8")


@pytest.mark.parametrize(("file", "measure_id", "old", "new", "message"), [
    # A clause without money is a service, not 资金、奖励.
    ("d002.yaml", "d002-01", "audience: enterprise_service", "audience: enterprise_benefit", "needs amounts"),
    # No clause prints application materials: a list must quote the clause.
    ("d000.yaml", "d000-03", "  service_points: []", "  service_points: []\n  materials: [营业执照复印件]",
     "not printed in the clause"),
    # A service point only where the clause prints its name.
    ("d000.yaml", "d000-03", "  service_points: []", "  service_points: [sp-zhonghan-station]",
     "not named in the clause"),
])
def test_rules_the_audit_asked_for_are_enforced_on_load(tmp_path: Path, file: str, measure_id: str, old: str,
                                                        new: str, message: str) -> None:
    data = _copy_data(tmp_path)
    _edit_measure(data, file, measure_id, old, new)
    with pytest.raises(CatalogError) as exc:
        load_catalog(data)
    assert file in str(exc.value) and message in str(exc.value)


def test_every_split_lead_is_routed_by_sector() -> None:
    """"分别牵头/分别负责": a firm goes to the unit for its own sector, never just the first one listed."""
    from portal.services.routing import routing_options

    cat = catalog()
    split = [m for m in cat.enterprise_measures() if len(m.lead_units) > 1
             and any(squash(w) in squash(m.responsibility_as_printed) for w in ("分别牵头", "分别负责"))]
    assert len(split) >= 8, "document 001 splits its leads in many clauses"
    for m in split:
        for sector in ("chemical_drug", "medical_device", "cosmetics", "distribution"):
            offered = [u.name for u in routing_options(m, [sector]) if u.kind != "service_point"]
            chosen = m.lead_units_for([sector])
            assert offered and set(offered) == {cat.unit_by_name(n).name for n in chosen}, (m.id, sector)
    first = cat.measures["d001-01"]
    assert first.lead_units_for(["cosmetics"]) == ("化妆品处",)


def test_every_measure_checks_a_sector() -> None:
    for m in catalog().enterprise_measures():
        assert any("sectors" in c.facts() for c in m.conditions), m.id


def test_no_composed_unit_names_and_distinct_station_names() -> None:
    cat = catalog()
    branches = cat.unit_by_name("各检查分局")
    changchun = cat.unit_by_name("长春检查分局")
    assert branches is not None and changchun is not None and branches.id != changchun.id
    assert cat.unit_by_name("医疗器械创新吉林服务站").id != cat.unit_by_name("医疗器械创新服务站工作组").id
    for unit in cat.units.values():
        if unit.kind == "service_point":  # printed names only, e.g. not "省药监局…网办专区（中韩示范区）"
            printed = any(squash(unit.name) in squash(m.text) for m in cat.measures.values()) or \
                any(squash(unit.name) in squash(d.notes) for d in cat.documents.values())
            assert printed, unit.name


def test_named_condition_is_written_once_and_expanded_where_used() -> None:
    cat = catalog()
    in_jilin = [c for m in cat.measures.values() for c in m.conditions if c.label == "企业位于吉林省内"]
    assert len(in_jilin) > 30
    jilin = ("zhonghan_zone", "changchun_new_area", "changchun_other", "corridor_other", "jilin_other")
    assert {(c.kind, c.fact, c.values) for c in in_jilin} == {("is_in", "location", jilin)}
    # A hint written beside `use` is kept; the named condition's own label stays.
    first = cat.measures["d003-01"].conditions
    assert any(c.label == "企业位于吉林省内" and c.hint.startswith("本文件为吉林省省级政策") for c in first)


def test_unknown_named_condition_is_an_error_naming_file_and_line(tmp_path: Path) -> None:
    data = _copy_data(tmp_path)
    path = data / "measures" / "d001.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    idx = next(i for i, line in enumerate(lines) if line.strip() == "- {use: in_jilin}")
    lines[idx] = lines[idx].replace("in_jilin", "in_jilim")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(CatalogError) as exc:
        load_catalog(data)
    assert f"d001.yaml:{idx + 1}:" in str(exc.value)
    assert "unknown named condition 'in_jilim'" in str(exc.value) and "in_jilin" in str(exc.value)


def test_a_named_condition_is_checked_like_any_other(tmp_path: Path) -> None:
    data = _copy_data(tmp_path)
    path = data / "conditions.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("jilin_other]", "jilin_elsewhere]"), encoding="utf-8")
    lines = path.read_text(encoding="utf-8").splitlines()
    with pytest.raises(CatalogError) as exc:
        load_catalog(data)
    line = next(i for i, s in enumerate(lines) if s.startswith("  fact: location")) + 1
    assert f"conditions.yaml:{line}:" in str(exc.value) and "jilin_elsewhere" in str(exc.value)
