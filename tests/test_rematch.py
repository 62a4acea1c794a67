"""`portal rematch`: measure versions, per-enterprise changes and notices after a knowledge-base change."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlmodel import Session, col, select

from portal.extensions import db
from portal.models import Enterprise, MatchChange, MatchState, MeasureVersion, Notification, RematchRun, Submission
from portal.policy.catalog import DATA_DIR, catalog, load_catalog
from portal.policy.records import Catalog
from portal.services import rematch as rematch_module
from portal.services.rematch import RematchReport, describe_changes, run_rematch
from portal.services.snapshots import measure_snapshot
from tests.factories import Browser, make_user

TODAY = dt.date(2026, 6, 1)
MEASURE = "d002-06"  # 医疗器械与制药设备研发产业化: its one condition is 位于长春新区
TITLE = "医疗器械与制药设备研发产业化"
NEW_AREA = {"location": "changchun_new_area", "sectors": ["ivd"]}  # eligible for d002-06 today
CHANGCHUN = {"location": "changchun_other", "sectors": ["ivd"]}  # not eligible today
ELSEWHERE = {"location": "jilin_other", "sectors": ["ivd"]}  # eligible neither before nor after the edit


@pytest.fixture()
def edited_catalog(tmp_path: Path) -> Catalog:
    """A copy of the knowledge base where d002-06 is for firms elsewhere in 长春市 instead of 长春新区."""
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    path = data / "measures" / "d002.yaml"
    text = path.read_text(encoding="utf-8")
    block = text[text.index("- id: d002-06"):text.index("- id: d002-07")]
    edited = block.replace("is_in: [changchun_new_area]\n      label: 位于长春新区",
                           "is_in: [changchun_other]\n      label: 位于长春市（长春新区以外）")
    assert edited != block
    path.write_text(text.replace(block, edited), encoding="utf-8")
    return load_catalog(data)


def firm(app: Flask, profile: dict[str, Any]) -> dict[str, Any]:
    user = make_user(app, "enterprise")
    set_profile(app, user["enterprise_id"], profile)
    return user


def set_profile(app: Flask, enterprise_id: int, profile: dict[str, Any], *, answered: bool = False) -> None:
    """Store a profile; `answered` bumps the revision as when the firm itself changes an answer."""
    with app.app_context(), db.standalone() as session:
        enterprise = session.get(Enterprise, enterprise_id)
        assert enterprise is not None
        enterprise.profile_json = json.dumps(profile, ensure_ascii=False)
        enterprise.answers_revision += int(answered)
        session.add(enterprise)
        session.commit()


def run(app: Flask, cat: Catalog | None = None, **kw: Any) -> RematchReport:
    with app.app_context(), db.standalone() as session:
        return run_rematch(session, TODAY, cat=cat or catalog(), batch=2, **kw)  # small batches: several commits


def notices(app: Flask, user_id: int) -> list[Notification]:
    with app.app_context(), db.standalone() as session:
        return list(session.exec(select(Notification).where(Notification.user_id == user_id)
                                 .order_by(col(Notification.id))))


def rows(app: Flask, model: Any) -> list[Any]:
    with app.app_context(), db.standalone() as session:
        return list(session.exec(select(model)))


def changes(app: Flask) -> set[tuple[int, str, str, str]]:
    return {(c.enterprise_id, c.measure_id, c.from_status, c.to_status) for c in rows(app, MatchChange)}


def eligible_ids(app: Flask, enterprise_id: int) -> list[str]:
    with app.app_context(), db.standalone() as session:
        state = session.get(MatchState, enterprise_id)
        assert state is not None
        return json.loads(state.eligible_json)


def test_rematch_after_a_data_change_notifies_exactly_the_affected_enterprises(app: Flask,
                                                                               edited_catalog: Catalog) -> None:
    gains, loses, neither = firm(app, CHANGCHUN), firm(app, NEW_AREA), firm(app, ELSEWHERE)
    everyone = (gains, loses, neither)

    baseline = run(app)
    assert baseline.run.profiles == 3 and baseline.baselines == 3 and baseline.run.changes == 0
    assert baseline.run.measures_changed == ""  # the first run records the baseline, it reports no change
    assert all(notices(app, u["id"]) == [] for u in everyone) and changes(app) == set()
    assert MEASURE in eligible_ids(app, loses["enterprise_id"])
    assert MEASURE not in eligible_ids(app, gains["enterprise_id"])
    versions = rows(app, MeasureVersion)
    assert len(versions) == len(catalog().measures) and {v.summary for v in versions} == {"首次记录"}

    same = run(app)  # nothing changed: nothing to record, nobody to tell
    assert same.versions == [] and same.run.changes == 0 and same.enterprises_changed == 0

    edited = run(app, edited_catalog)
    assert edited.run.measures_changed == MEASURE and edited.run.profiles == 3
    [version] = edited.versions
    assert (version.measure_id, version.version, version.summary) == (MEASURE, 2, "条件")
    assert changes(app) == {(gains["enterprise_id"], MEASURE, "", "eligible"),
                            (loses["enterprise_id"], MEASURE, "eligible", "not_eligible")}
    assert edited.run.changes == 2 and edited.enterprises_changed == 2 and edited.notified_users == 2
    [gained] = notices(app, gains["id"])
    assert f"新符合条件：“{TITLE}”" in gained.message and "不再符合" not in gained.message
    assert gained.link == "/results"
    [lost] = notices(app, loses["id"])
    assert f"不再符合条件：“{TITLE}”（暂不符合）" in lost.message and "新符合" not in lost.message
    assert notices(app, neither["id"]) == []
    assert MEASURE in eligible_ids(app, gains["enterprise_id"])

    again = run(app, edited_catalog)  # the new baseline holds: a second run tells nobody again
    assert again.run.changes == 0 and len(notices(app, gains["id"])) == 1
    assert [r.measures_changed for r in sorted(rows(app, RematchRun), key=lambda r: r.id)] == ["", "", MEASURE, ""]


def test_a_firms_own_new_answers_are_absorbed_silently(app: Flask) -> None:
    moved = firm(app, NEW_AREA)
    run(app)
    set_profile(app, moved["enterprise_id"], CHANGCHUN, answered=True)
    report = run(app)
    assert report.run.changes == 0 and notices(app, moved["id"]) == []
    assert MEASURE not in eligible_ids(app, moved["enterprise_id"])  # the baseline follows the answers


def test_a_removed_measure_is_a_version_and_a_change(app: Flask) -> None:
    holder, other = firm(app, NEW_AREA), firm(app, ELSEWHERE)
    run(app)
    full = catalog()
    without = Catalog(documents=full.documents, units=full.units,
                      measures={k: m for k, m in full.measures.items() if k != MEASURE})
    report = run(app, without)
    [version] = report.versions
    assert (version.measure_id, version.version, version.removed, version.summary) == (MEASURE, 2, True, "已移出知识库")
    assert changes(app) == {(holder["enterprise_id"], MEASURE, "eligible", "removed")}
    [note] = notices(app, holder["id"])
    assert f"“{TITLE}”（已移出政策库）" in note.message
    assert notices(app, other["id"]) == []
    restored = run(app)
    assert [(v.version, v.summary) for v in restored.versions] == [(3, "重新列入知识库")]
    assert len(notices(app, holder["id"])) == 2  # told it is back


def test_dry_run_records_and_notifies_nothing(app: Flask, edited_catalog: Catalog) -> None:
    gains = firm(app, CHANGCHUN)
    run(app)
    with app.app_context(), Session(db.engine) as session:  # reads only, as the command's dry run does
        report = run_rematch(session, TODAY, cat=edited_catalog, dry_run=True)
    assert report.run.changes == 1 and report.enterprises_changed == 1 and report.run.measures_changed == MEASURE
    assert changes(app) == set() and notices(app, gains["id"]) == [] and len(rows(app, RematchRun)) == 1
    assert MEASURE not in eligible_ids(app, gains["enterprise_id"])
    assert max(v.version for v in rows(app, MeasureVersion)) == 1


def test_rematch_command(app: Flask, edited_catalog: Catalog, monkeypatch: pytest.MonkeyPatch) -> None:
    gains = firm(app, CHANGCHUN)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["rematch"])
    assert first.exit_code == 0, first.output
    assert "1 profiles re-matched" in first.output and "1 new baseline(s)" in first.output
    monkeypatch.setattr(rematch_module, "catalog", lambda: edited_catalog)
    dry = runner.invoke(args=["rematch", "--dry-run"])
    assert dry.exit_code == 0 and "dry run" in dry.output and "1 change(s)" in dry.output
    assert notices(app, gains["id"]) == []
    real = runner.invoke(args=["rematch"])
    assert real.exit_code == 0 and f"measures changed: {MEASURE}" in real.output and "1 user(s) notified" in real.output
    assert len(notices(app, gains["id"])) == 1


def test_describe_changes_names_the_parts() -> None:
    m = catalog().measures["d002-04"]
    old = json.loads(json.dumps(measure_snapshot(m)))
    new = json.loads(json.dumps(old))
    new["city_share"] = []  # 002-04 prints a share of the city-level support, no fixed amount
    new["text"] = old["text"] + "。"
    assert describe_changes(old, new) == "条款原文、金额"
    later = json.loads(json.dumps(old))
    later["valid_until"] = "2027-12-31"
    later["document"]["valid_until"] = "2027-12-31"
    assert describe_changes(old, later) == "有效期"
    later["document"]["number"] = "另一文号"
    assert describe_changes(old, later) == "有效期、所属文件"


def test_library_shows_the_version_history(app: Flask, client: Any, edited_catalog: Catalog) -> None:
    page = client.get(f"/measures/{MEASURE}").get_data(as_text=True)
    assert "版本记录" in page and "尚未登记版本记录" in page
    run(app)
    run(app, edited_catalog)
    page = client.get(f"/measures/{MEASURE}").get_data(as_text=True)
    history = page[page.index("版本记录"):]
    assert re.search(r"版本 2 · \d{4}年\d{1,2}月\d{1,2}日记录 · 条件", history)
    assert "版本 1" in history and "首次记录" in history and "尚未登记" not in history
    assert history.index("版本 2") < history.index("版本 1")  # newest first
    other = client.get("/measures/d002-07").get_data(as_text=True)
    assert "版本 1" in other and "版本 2" not in other


def _usage_row(page: str, measure_id: str) -> list[str]:
    row = next(r for r in re.findall(r"<tr>(.*?)</tr>", page, re.S) if f">{measure_id}</span>" in r)
    return re.findall(r"<td>([^<]*)</td>", row)


def test_admin_sees_which_measures_drive_applications_and_which_never_match(app: Flask) -> None:
    holder = firm(app, NEW_AREA)
    firm(app, ELSEWHERE)
    with app.app_context(), db.standalone() as session:
        session.add(Submission(enterprise_id=holder["enterprise_id"], measure_id=MEASURE, measure_fingerprint="x",
                               measure_snapshot_json="{}", answers_json="{}", routed_unit_id="u", status="approved",
                               idempotency_key="k" * 16, created_by=holder["id"]))
        session.commit()
    admin = Browser(app.test_client())
    admin.login(make_user(app, "admin")["email"])
    assert "/admin/measures" in admin.get("/admin/").get_data(as_text=True)
    before = admin.get("/admin/measures").get_data(as_text=True)
    assert "尚未运行重新匹配" in before
    assert _usage_row(before, MEASURE) == ["1", "1", "—"]
    run(app)
    page = admin.get("/admin/measures").get_data(as_text=True)
    assert _usage_row(page, MEASURE) == ["1", "1", "1"]  # one application, approved; one firm eligible
    assert _usage_row(page, "d002-07") == ["0", "0", "0"]
    never = page[page.index("从未匹配的措施"):page.index("按措施统计")]
    assert "d002-07" in never and MEASURE not in never
    assert re.search(r"<tbody>\s*<tr><td><a href=\"/measures/d002-06\"", page)  # most applications first


def test_a_second_run_at_the_same_time_is_refused(app: Flask, tmp_path: Path) -> None:
    """Two runs would notify the same firms twice: the second one stops before matching anything."""
    from portal.services.rematch import AlreadyRunning, single_run

    with app.app_context(), db.standalone() as first, db.standalone() as second:
        with single_run(first, tmp_path), pytest.raises(AlreadyRunning), single_run(second, tmp_path):
            pass
        with single_run(second, tmp_path):  # free again once the first run ended
            pass


def test_a_measure_reaching_its_end_date_is_recorded_but_not_announced_again(app: Flask) -> None:
    """d002 ends 2026-12-31: the validity reminders told the firm; the re-match on 1 January stays quiet."""
    loses = firm(app, NEW_AREA)
    with app.app_context(), db.standalone() as session:
        run_rematch(session, dt.date(2026, 12, 31), batch=2)
        report = run_rematch(session, dt.date(2027, 1, 1), batch=2)
    assert (loses["enterprise_id"], MEASURE, "eligible", "expired") in changes(app)
    assert report.enterprises_changed == 0 and report.notified_users == 0
    assert notices(app, loses["id"]) == []
