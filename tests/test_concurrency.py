"""Writes from several processes (as from gunicorn workers) never lose an update."""

from __future__ import annotations

import json
import multiprocessing as mp

from flask import Flask

from portal.extensions import db
from portal.models import Enterprise

FIELDS = [("location", "zhonghan_zone"), ("ownership", "domestic"), ("sectors", ["medical_device"]),
          ("roles", ["mah"]), ("annual_revenue_wan", "1200"), ("is_leading_enterprise", "yes"),
          ("plans", ["fda_ce_device"]), ("address", "长春市某路1号")]


def _worker(database_url: str, enterprise_id: int, user_id: int, name: str, value: object) -> None:
    from portal import create_app
    from portal.services.answers import save_answer
    from tests.factories import settings_for_tests

    app = create_app(settings_for_tests(DATABASE_URL=database_url))
    with app.app_context(), db.standalone() as session:
        for _ in range(5):  # repeat: same value again must be a no-op, not a new version
            save_answer(session, enterprise_id, user_id, name, value, None)


def test_parallel_processes_saving_different_fields_all_land(app: Flask, database_url: str,
                                                             enterprise_user: dict) -> None:
    from portal.profile.fields import FIELDS_BY_NAME

    fields = [(n, v) for n, v in FIELDS if n in FIELDS_BY_NAME]
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(database_url, enterprise_user["enterprise_id"], enterprise_user["id"],
                                               name, value)) for name, value in fields]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    with app.app_context():
        ent = db.session.get(Enterprise, enterprise_user["enterprise_id"])
        profile = json.loads(ent.profile_json)
    assert {n for n, _ in fields} <= set(profile)  # every process's answer is in the snapshot
    assert ent.answers_revision == len(fields)  # one revision per real change, none lost or doubled
