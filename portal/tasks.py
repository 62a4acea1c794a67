"""The task queue: PDF renders and e-mail run in `portal worker` processes, off the web request.

Huey, because it is small, well kept and has the two engines this portal needs behind one API: a SQLite
file beside the database on one host (the embedded default, nothing to install) and Redis when
REDIS_URL is set (several web and worker hosts share one queue). With TASKS_IMMEDIATE (the test
configuration) a task runs inline the moment it is queued.

The tasks are declared beside what they do (portal.services.pdf_jobs, portal.services.notifications) with
their retries and time limits; this module holds the queue, the shared limits and the consumer. Whoever
runs the consumer imports those services first, so the consumer knows their tasks (portal/commands.py).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask, has_app_context
from huey import Huey
from huey.storage import PriorityRedisStorage, SqliteStorage

log = logging.getLogger(__name__)

# Time limits are enforced where the work is, not by Huey (its thread workers cannot stop a task): a render
# is killed after PORTAL_PDF_TIMEOUT seconds by the renderer pool (portal/pdf/worker.py), an SMTP exchange
# times out after 10 s (notifications.deliver).
#: A queued PDF nobody has started within this time is dropped: its reader gave up long ago.
PDF_EXPIRES_S = 600
#: A job still queued or running after this long is taken as lost (a worker host died under it).
PDF_STALE_S = 900
#: A failed SMTP send is tried again after 1, 2, 4, 8, 16 minutes before it is given up (and logged).
MAIL_RETRIES = 5
MAIL_RETRY_DELAY_S = 60
#: Who is waiting decides the order: an applicant submitting, then downloads, then e-mail.
PRIORITY_SUBMISSION, PRIORITY_DOWNLOAD, PRIORITY_MAIL = 30, 20, 10

# Immediate (in memory) until configure() names the real storage: importing this module creates no file.
huey = Huey("portal", storage_class=SqliteStorage, immediate=True, results=False)
_app: Flask | None = None


def configure(app: Flask) -> None:
    """Point the queue at the app's storage: TASKS_IMMEDIATE, else Redis (REDIS_URL), else the TASKS_DB file."""
    global _app
    _app = app
    redis_url = app.config.get("REDIS_URL", "")
    if redis_url:
        huey.storage_class, huey.storage_kwargs = PriorityRedisStorage, {"url": redis_url}
    else:
        path = Path(app.config["TASKS_DB"])
        path.parent.mkdir(parents=True, exist_ok=True)
        huey.storage_class, huey.storage_kwargs = SqliteStorage, {"filename": str(path)}
    huey.immediate = bool(app.config.get("TASKS_IMMEDIATE"))
    huey.storage = huey.create_storage()  # memory when immediate, else the storage named above


@contextmanager
def app_context() -> Iterator[None]:
    """Tasks run inside the app: the request's when run inline, else the worker's own."""
    if has_app_context():
        yield
        return
    if _app is None:
        raise RuntimeError("portal.tasks.configure(app) was not called in this process")
    with _app.app_context():
        yield


def default_renderers() -> int:
    """Renderers per worker host: half the cores, at least one, so the web keeps a core on small hosts."""
    return max(1, (os.cpu_count() or 2) // 2)


def run_worker(app: Flask, renderers: int, *, nice: int = 10) -> None:
    """Run the consumer: `renderers` PDF processes (and one more thread for e-mail) at lower CPU priority."""
    if app.config.get("TASKS_IMMEDIATE"):
        raise RuntimeError("TASKS_IMMEDIATE is set: tasks run inline, there is nothing for a worker to do")
    configure(app)
    if nice:
        os.nice(nice)  # the renderers inherit it: requests on the same host go first
    os.environ["PORTAL_PDF_WORKERS"] = str(renderers)
    from portal.pdf import get_pool

    with app.app_context():
        get_pool().warm_up()  # the first job after start is as fast as the rest
    consumer = huey.create_consumer(workers=renderers + 1, worker_type="thread", initial_delay=0.05,
                                    backoff=1.5, max_delay=0.5, check_worker_health=True, periodic=False)
    log.info("portal worker: %d renderer(s), queue %s", renderers, type(huey.storage).__name__)
    consumer.run()


__all__ = ["app_context", "configure", "default_renderers", "huey", "run_worker"]
