"""Past one machine: two web processes and two workers share one database and a Redis queue, as separate hosts
would. Both web processes are asked for the same PDFs at the same moment; every PDF is rendered exactly once
and both get the same file. PostgreSQL in that pass of `make test` (the several-hosts setup); in the SQLite
pass the four processes share one SQLite file, as they would on one host. Redis at 127.0.0.1:6379."""

from __future__ import annotations

import os
import threading
from collections import Counter
from pathlib import Path

import pytest
import redis
from sqlmodel import Session, select

from portal.bench_cluster import cluster, fetch_pdf, portal_env, prepare, sign_in
from portal.db import make_engine
from portal.models import IssuedDocument, PdfJob
from tests.factories import ZONE_DEVICE_MAKER, empty_database

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
DOCUMENTS = ("/results/report.pdf", "/results/d003-09/application.pdf")


@pytest.fixture()
def queue() -> str:
    try:
        redis.Redis.from_url(REDIS_URL).flushdb()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {REDIS_URL} is needed for the several-hosts test: {exc}")
    yield REDIS_URL
    redis.Redis.from_url(REDIS_URL).flushdb()


def test_two_web_hosts_and_two_workers_render_every_pdf_exactly_once(tmp_path: Path, queue: str) -> None:
    with empty_database(tmp_path, prefix="hosts") as database_url:
        env = portal_env(tmp_path / "instance", database_url, queue)
        emails = prepare(env, 4, ZONE_DEVICE_MAKER)
        with cluster(env, webs=2, web_workers=1, threads=4, workers=2, renderers=1) as running:
            clients = [[sign_in(url, email) for url in running.urls] for email in emails]
            got: dict[tuple[int, str, int], tuple[bytes, str]] = {}
            errors: list[BaseException] = []
            start = threading.Barrier(len(emails) * len(DOCUMENTS) * 2)

            def ask(e: int, path: str, host: int) -> None:
                try:
                    start.wait(timeout=30)  # every web host asked for every document at the same moment
                    got[e, path, host] = fetch_pdf(clients[e][host], path, poll=0.2, timeout=120)
                except BaseException as exc:  # reported below with the servers' logs
                    errors.append(exc)

            threads = [threading.Thread(target=ask, args=(e, path, host))
                       for e in range(len(emails)) for path in DOCUMENTS for host in (0, 1)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(180)
            for pair in clients:
                for client in pair:
                    client.close()
            assert not errors, f"{errors!r}\n{running.log_text()}"
            logs = {p.name: p.read_text(errors="replace") for p in running.logs}
        engine = make_engine(database_url)
        with Session(engine) as session:
            jobs = session.exec(select(PdfJob)).all()
            documents = session.exec(select(IssuedDocument)).all()
        engine.dispose()

    # Both hosts got the same file for each document; each document is a different file.
    for e in range(len(emails)):
        for path in DOCUMENTS:
            assert got[e, path, 0] == got[e, path, 1]
    assert len({code for _, code in got.values()}) == len(emails) * len(DOCUMENTS)
    # Exactly once: one job and one rendered document per document asked for, each job run once.
    assert len(jobs) == len(documents) == len(emails) * len(DOCUMENTS)
    assert Counter((j.state, j.attempts, j.inflight_key) for j in jobs) == {("done", 1, None): len(jobs)}
    assert sorted(j.document_id for j in jobs) == sorted(d.id for d in documents)
    # The renders went through the Redis queue to the workers, one execution per job, none on a web host.
    executed = {name: log.count("Executing portal.services.pdf_jobs.render_pdf") for name, log in logs.items()}
    assert sum(n for name, n in executed.items() if name.startswith("worker")) == len(jobs), executed
    assert all(n == 0 for name, n in executed.items() if name.startswith("web")), executed
