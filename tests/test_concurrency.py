"""Writes from several processes (as from gunicorn workers) never lose an update."""

from __future__ import annotations

import importlib
import json
import multiprocessing as mp
import sys
from typing import Any

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


def _master(modules: list[str], database_url: str, enterprise_id: int, user_id: int,
            fields: list[tuple[str, object]], exit_codes: Any) -> None:
    """Like gunicorn's arbiter: import the app's modules once, fork one worker per field, report their exit codes."""
    for module in modules:
        importlib.import_module(module)
    fork = mp.get_context("fork")  # this process holds no app, thread or database connection: safe to fork
    procs = [fork.Process(target=_worker, args=(database_url, enterprise_id, user_id, name, value))
             for name, value in fields]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    exit_codes.put([p.exitcode for p in procs])


def test_parallel_processes_saving_different_fields_all_land(app: Flask, database_url: str,
                                                             enterprise_user: dict) -> None:
    from portal.profile.fields import FIELDS_BY_NAME

    fields = [(n, v) for n, v in FIELDS if n in FIELDS_BY_NAME]
    # One fresh (spawned) master that forks the workers, as gunicorn does: the workers are separate processes
    # with their own app and connections, without each paying for a new interpreter and the imports (seconds).
    spawn = mp.get_context("spawn")
    exit_codes = spawn.SimpleQueue()
    modules = ["tests.factories", *sorted(m for m in sys.modules if m.split(".")[0] == "portal")]
    master = spawn.Process(target=_master, args=(modules, database_url, enterprise_user["enterprise_id"],
                                                 enterprise_user["id"], fields, exit_codes))
    master.start()
    master.join(120)
    assert master.exitcode == 0
    assert exit_codes.get() == [0] * len(fields)  # every worker ran to the end
    with app.app_context():
        ent = db.session.get(Enterprise, enterprise_user["enterprise_id"])
        profile = json.loads(ent.profile_json)
    assert {n for n, _ in fields} <= set(profile)  # every process's answer is in the snapshot
    assert ent.answers_revision == len(fields)  # one revision per real change, none lost or doubled
