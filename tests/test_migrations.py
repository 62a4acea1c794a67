"""Migrations go base -> head -> base -> head on the configured database (SQLite or PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import Connection, inspect, text

from portal import migrate
from portal.db import make_engine
from tests.factories import empty_database


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_base_head_base_head(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with empty_database(tmp_path, "m") as url:
        migrate.upgrade(url, "head")
        created = _tables(url)
        assert {"enterprise", "user", "answer", "submission", "auditlog", "issueddocument"} <= created
        migrate.downgrade(url, "base")
        assert _tables(url) == set()
        migrate.upgrade(url, "head")
        assert _tables(url) == created


def test_models_and_migrations_agree(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Autogenerate finds nothing to add: the migration files describe the models exactly."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    import portal.models  # noqa: F401

    with empty_database(tmp_path, "m") as url:
        migrate.upgrade(url, "head")
        engine = make_engine(url)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
        engine.dispose()
        assert diff == []


def test_split_option_codes_are_mapped_or_asked_again(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """0002: device procedures follow the single product class; ambiguous plans are dropped, kept in history."""
    import json


    old = {"device_classes": ["class2"], "device_procedures": ["innovative", "standard"],
           "plans": ["settle_in_zone", "glp_study"]}
    with empty_database(tmp_path, "m") as url:
        migrate.upgrade(url, "0001")
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO enterprise (id, name, answers_revision, profile_json, created_at) "
                              "VALUES (1, '迁移测试企业', 3, :p, CURRENT_TIMESTAMP)"),
                         {"p": json.dumps(old)})
            for i, (field, value) in enumerate(old.items(), start=1):
                conn.execute(text("INSERT INTO answer (id, enterprise_id, field, value_json, version, revision, "
                                  "updated_at) VALUES (:i, 1, :f, :v, 2, 3, CURRENT_TIMESTAMP)"),
                             {"i": i, "f": field, "v": json.dumps(value)})
            # The 网办专区 was two composed ids; contacts and reviewers follow the one printed unit.
            for unit, phone in (("sp-online-zone-zhonghan", "0431-1"), ("sp-online-zone-corridor", "0435-2")):
                conn.execute(text("INSERT INTO unitcontact (unit_id, address, phone, hours, email, web, updated_at) "
                                  "VALUES (:u, '', :p, '', '', '', CURRENT_TIMESTAMP)"), {"u": unit, "p": phone})
            conn.execute(text('INSERT INTO "user" (id, email, name, password_hash, role, service_unit_id, is_active, '
                              "created_at) VALUES (1, 'r@example.cn', '审核员', 'x', 'reviewer', "
                              "'sp-online-zone-corridor', :t, CURRENT_TIMESTAMP)"), {"t": True})
        migrate.upgrade(url, "head")
        with engine.connect() as conn:
            contacts = dict(conn.execute(text("SELECT unit_id, phone FROM unitcontact")).all())
            reviewer_unit = conn.execute(text('SELECT service_unit_id FROM "user"')).scalar_one()
            profile = json.loads(conn.execute(text("SELECT profile_json FROM enterprise")).scalar_one())
            answers = {f: (json.loads(v), n) for f, v, n in conn.execute(
                text("SELECT field, value_json, version FROM answer"))}
            history = {f: json.loads(v) for f, v in conn.execute(text("SELECT field, value_json FROM answerhistory"))}
            revision_now = conn.execute(text("SELECT answers_revision FROM enterprise")).scalar_one()
        engine.dispose()
    assert profile["device_procedures"] == ["class2_innovative", "class2_standard"]
    assert profile["plans"] == ["glp_study"]  # "中韩示范区或长春新区" named two places: asked again
    assert answers["plans"] == (["glp_study"], 3) and answers["device_classes"] == (["class2"], 2)
    assert history == {"device_procedures": ["innovative", "standard"], "plans": ["settle_in_zone", "glp_study"]}
    assert revision_now == 4  # other devices pick the change up
    assert contacts == {"sp-online-zone": "0431-1"} and reviewer_unit == "sp-online-zone"


def _enterprise_with_one_user(conn: Connection, answers_revision: int) -> None:
    """Enterprise 1 and its user 1, written as raw rows: the models may be ahead of the revision under test."""
    conn.execute(text("INSERT INTO enterprise (id, name, answers_revision, profile_json, created_at) "
                      "VALUES (1, '回填测试企业', :r, '{}', CURRENT_TIMESTAMP)"), {"r": answers_revision})
    conn.execute(text('INSERT INTO "user" (id, email, name, password_hash, role, enterprise_id, is_active, '
                      "created_at) VALUES (1, 'e@example.cn', '员工', 'x', 'enterprise', 1, :t, "
                      "CURRENT_TIMESTAMP)"), {"t": True})


def test_change_feed_starts_with_what_exists(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """0003: existing answers, applications, events and notifications are in the feed from cursor 0."""
    import json


    with empty_database(tmp_path, "f") as url:
        migrate.upgrade(url, "0002")
        engine = make_engine(url)
        with engine.begin() as conn:
            _enterprise_with_one_user(conn, answers_revision=2)
            for i, (field, value) in enumerate((("location", "zhonghan_zone"), ("employees", None)), start=1):
                conn.execute(text("INSERT INTO answer (id, enterprise_id, field, value_json, version, revision, "
                                  "updated_at) VALUES (:i, 1, :f, :v, 1, :i, CURRENT_TIMESTAMP)"),
                             {"i": i, "f": field, "v": json.dumps(value)})
            conn.execute(text("INSERT INTO submission (id, enterprise_id, measure_id, measure_fingerprint, "
                              "measure_snapshot_json, answers_json, routed_unit_id, status, idempotency_key, "
                              "created_by, created_at, updated_at) VALUES (1, 1, 'd000-03', 'f', :s, '{}', "
                              "'jlmpa-device-registration', 'submitted', 'k', 1, CURRENT_TIMESTAMP, "
                              "CURRENT_TIMESTAMP)"), {"s": json.dumps({"title": "创新医疗器械"})})
            conn.execute(text("INSERT INTO submissionevent (id, submission_id, at, actor_id, from_status, to_status, "
                              "comment, visibility) VALUES (1, 1, CURRENT_TIMESTAMP, 1, '', 'submitted', '提交', "
                              "'enterprise')"))
            conn.execute(text("INSERT INTO notification (id, user_id, message, link, created_at) "
                              "VALUES (1, 1, '申请已提交', '/app/submissions/1', CURRENT_TIMESTAMP)"))
        migrate.upgrade(url, "head")
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT entity, entity_key, audience, enterprise_id, unit_id, user_id, "
                                     "payload_json FROM change ORDER BY id")).all()
            version = conn.execute(text("SELECT version FROM submission")).scalar_one()
        engine.dispose()
    assert [(r[0], r[1], r[2]) for r in rows] == [("answer", "1:location", "enterprise"),
                                                  ("submission", "1", "both"), ("event", "1", "both"),
                                                  ("notification", "1", "user")]
    submission = json.loads(rows[1][6])
    assert submission["title"] == "创新医疗器械" and submission["version"] == 1 == version
    assert rows[1][4] == "jlmpa-device-registration" and rows[3][5] == 1
    assert json.loads(rows[0][6])["value"] == "zhonghan_zone"


def test_existing_applications_get_references_and_decision_dates(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """0005: references in order of submission per unit and year, the counter after them; decided_at from history."""
    from sqlmodel import Session

    from portal.services.references import next_reference

    with empty_database(tmp_path, "r") as url:
        migrate.upgrade(url, "0004")
        engine = make_engine(url)
        with engine.begin() as conn:
            _enterprise_with_one_user(conn, answers_revision=0)
            for sid, created, status, unit in ((1, "2026-03-05 02:00:00", "approved", "jlmpa-device-registration"),
                                               (2, "2026-03-01 02:00:00", "submitted", "jlmpa-device-registration"),
                                               (3, "2026-03-02 02:00:00", "submitted", "sp-zhonghan-station")):
                conn.execute(text("INSERT INTO submission (id, enterprise_id, measure_id, measure_fingerprint, "
                                  "measure_snapshot_json, answers_json, routed_unit_id, status, idempotency_key, "
                                  "created_by, created_at, updated_at, version) VALUES (:id, 1, 'd000-03', 'f', '{}', "
                                  "'{}', :unit, :status, :key, 1, :at, :at, 1)"),
                             {"id": sid, "unit": unit, "status": status, "key": f"k{sid}", "at": created})
            conn.execute(text("INSERT INTO submissionevent (id, submission_id, at, actor_id, from_status, to_status, "
                              "comment, visibility) VALUES (1, 1, '2026-03-20 02:00:00', 1, 'in_review', 'approved', "
                              "'', 'enterprise')"))
        migrate.upgrade(url, "head")
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, reference, decided_at, judgement_json FROM submission "
                                     "ORDER BY id")).all()
        assert [(r[0], r[1]) for r in rows] == [(1, "QXZC-2026-000002"), (2, "QXZC-2026-000001"),
                                                (3, "ZH-2026-000001")]
        assert rows[0][2] is not None and str(rows[0][2]).startswith("2026-03-20") and rows[1][2] is None
        assert rows[1][3] == "{}"
        with Session(engine) as session:
            import datetime as dt

            assert next_reference(session, "jlmpa-device-registration",
                                  dt.datetime(2026, 4, 1, tzinfo=dt.UTC)) == "QXZC-2026-000003"
        engine.dispose()
