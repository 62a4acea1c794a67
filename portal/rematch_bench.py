"""`portal bench rematch`: the real `portal rematch` on N stored profiles in a temporary SQLite database.

Three runs, as in production: the first (baselines only), one after a simulated knowledge-base edit
(one clause loses a condition, so many firms become eligible and are notified), and an unchanged
daily run. Each enterprise has one staff account, so notices are written as they would be.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from portal.bench_profiles import BENCH_DAY, random_profile
from portal.policy.catalog import catalog
from portal.policy.records import Catalog

EDITED = "d002-06"  # 医疗器械与制药设备研发产业化: dropping its location condition opens it to the whole province
INSERT_CHUNK = 5000


def edited_catalog(cat: Catalog) -> tuple[Catalog, str]:
    """The catalog with one measure's last condition dropped (EDITED, else the first that has two)."""
    m = cat.measures.get(EDITED)
    if m is None or len(m.conditions) < 2:
        m = next(x for x in cat.enterprise_measures() if len(x.conditions) >= 2 and not x.is_information)
    changed = dataclasses.replace(m, conditions=m.conditions[:-1])
    return Catalog(documents=cat.documents, measures={**cat.measures, m.id: changed}, units=cat.units), m.id


def _chunks(count: int) -> Iterator[range]:
    """Row numbers in insert-sized slices."""
    for start in range(0, count, INSERT_CHUNK):
        yield range(start, min(count, start + INSERT_CHUNK))


def _fill(session: Any, count: int, seed: int) -> float:
    """Insert `count` enterprises with random profiles, one staff account each; returns seconds."""
    from portal.models import Enterprise, User, utcnow

    rng = random.Random(seed)
    started, now = time.perf_counter(), utcnow()
    for chunk in _chunks(count):
        session.execute(insert(Enterprise.__table__), [
            {"id": i + 1, "name": f"基准测试企业{i + 1}", "answers_revision": 1, "created_at": now,
             "profile_json": json.dumps(random_profile(rng), ensure_ascii=False, sort_keys=True)} for i in chunk])
        # Staff without a usable password: this database is thrown away after the run.
        session.execute(insert(User.__table__), [
            {"email": f"staff{i + 1}@bench.invalid", "name": "员工", "password_hash": "!", "role": "enterprise",
             "enterprise_id": i + 1, "is_active": True, "created_at": now} for i in chunk])
        session.commit()
    return time.perf_counter() - started


def run_rematch_bench(count: int, batch: int, seed: int = 13) -> dict[str, Any]:
    """Seconds and profiles/s of three `rematch` runs over `count` stored profiles, and the admin tally."""
    from portal import create_app, migrate
    from portal.extensions import db
    from portal.services.rematch import measure_usage, run_rematch

    mail_log = logging.getLogger("portal.services.notifications")
    level = mail_log.level
    out: dict[str, Any] = {"count": count, "batch": batch, "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'rematch.db'}"
        migrate.upgrade(url, "head")
        app = create_app({"DATABASE_URL": url, "SMTP_HOST": "", "UPLOAD_DIR": Path(tmp) / "uploads",
                          "PDF_CACHE_DIR": Path(tmp) / "pdf"})
        mail_log.setLevel(logging.WARNING)  # no SMTP here: each e-mail would be logged in full
        try:
            with app.app_context(), db.standalone() as session:
                out["fill_seconds"] = _fill(session, count, seed)
                cat = catalog()
                changed, out["edited"] = edited_catalog(cat)
                for label, run_cat in (("baseline (first run)", cat), (f"after editing {out['edited']}", changed),
                                       ("unchanged (daily)", changed)):
                    report = run_rematch(session, BENCH_DAY, cat=run_cat, batch=batch)
                    out["runs"].append({"label": label, "profiles": report.run.profiles, "seconds": report.seconds,
                                        "per_second": report.per_second, "changes": report.run.changes,
                                        "enterprises": report.enterprises_changed, "notified": report.notified_users,
                                        "baselines": report.baselines})
                started = time.perf_counter()
                usage = measure_usage(session, changed)
                out["usage_seconds"] = time.perf_counter() - started
                out["never_matched"] = len(usage.never_matched)
        finally:
            mail_log.setLevel(level)
            db_engine = app.extensions.get("portal_db_engine")
            if db_engine is not None:
                db_engine.dispose()
    return out


def format_rematch_bench(r: dict[str, Any]) -> list[str]:
    """The figures as printed by `portal bench rematch`."""
    lines = [f"{r['count']:,} enterprises with random profiles and one staff account each inserted in "
             f"{r['fill_seconds']:.1f} s (temporary SQLite, real schema); batches of {r['batch']}"]
    for run in r["runs"]:
        lines.append(f"{run['label']}: {run['profiles']:,} profiles in {run['seconds']:.1f} s = "
                     f"{run['per_second']:,.0f} profiles/s; {run['baselines']:,} baselines, {run['changes']:,} "
                     f"changes at {run['enterprises']:,} enterprises, {run['notified']:,} users notified")
    lines.append(f"admin tally (/admin/measures) over {r['count']:,} match states: {r['usage_seconds']:.2f} s; "
                 f"{r['never_matched']} enterprise-facing measures never matched")
    return lines
