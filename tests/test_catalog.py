"""The knowledge base: every clause present, quoted verbatim, amounts as stated, schema enforced."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from portal.policy.catalog import DATA_DIR, CatalogError, catalog, check_verbatim, load_catalog

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
    assert shares["d002-04"] == [(5, "one_off"), (50, "one_off")]
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
