"""Several web and worker processes of the portal on this machine, for `portal bench storm` and the
several-hosts test: each process is what one host would run (gunicorn, `portal worker`), sharing one
database and one queue exactly as separate hosts would.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

PASSWORD = "bench-password-1"  # noqa: S105 - throwaway accounts in a throwaway database
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    """Running processes and how to reach them."""

    env: dict[str, str]
    urls: list[str] = field(default_factory=list)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)
    access_logs: list[Path] = field(default_factory=list)  # one per web process, when asked for

    def log_text(self) -> str:
        return "\n".join(f"== {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in self.logs if p.exists())


def _portal(*args: str) -> list[str]:
    return [sys.executable, "-c", "from portal.cli import main; main()", *args]


def portal_env(instance: Path, database_url: str, redis_url: str = "", **extra: str) -> dict[str, str]:
    """The environment every process of one deployment shares (as the hosts' configuration would)."""
    env = {**os.environ, "PORTAL_INSTANCE": str(instance), "PORTAL_ENV": "development",
           "SECRET_KEY": "bench-" + "s" * 58, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "TASKS_DB": str(instance / "tasks.db"), "PDF_CACHE_DIR": str(instance / "pdf"),
           "UPLOAD_DIR": str(instance / "uploads"), "PORTAL_TODAY": "2026-06-01",
           "LOGIN_RATE_LIMIT": "100000 per minute", "LOGIN_CLIENT_RATE_LIMIT": "100000 per minute",
           # one address for every host, as production requires: it is printed on (and part of) each PDF
           "PUBLIC_BASE_URL": "https://portal.example.cn",
           "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # throwaway accounts: sign-ins are set-up, not measured
           **extra}
    env.pop("TASKS_IMMEDIATE", None)
    return env


def prepare(env: dict[str, str], enterprises: int, answers: dict[str, Any] | None = None) -> list[str]:
    """Migrate the database and register `enterprises` verified enterprise accounts; returns their e-mails."""
    subprocess.run(_portal("db", "upgrade"), env=env, check=True, capture_output=True)
    script = ("import json, sys\nfrom portal import create_app\nfrom portal.extensions import db\n"
              "from portal.services import accounts, answers\n"
              "n, password, given = int(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])\n"
              "app = create_app()\nwith app.app_context(), db.standalone() as s:\n"
              "    for i in range(n):\n"
              "        u = accounts.register_enterprise(s, f'压测企业{i}', '员工', f'load{i}@bench.invalid', password,"
              " verified=True)\n"
              "        for name, value in {**given, 'enterprise_name': f'压测企业{i}'}.items():\n"
              "            answers.save_answer(s, u.enterprise_id, u.id, name, value, None)\n")
    subprocess.run([sys.executable, "-c", script, str(enterprises), PASSWORD, json.dumps(answers or {})],
                   env=env, check=True, capture_output=True)
    return [f"load{i}@bench.invalid" for i in range(enterprises)]


def _wait_up(url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up in {seconds:g} s")


@contextmanager
def cluster(env: dict[str, str], *, webs: int = 1, web_workers: int = 2, threads: int = 4, workers: int = 1,
            renderers: int = 1, logs: Path | None = None, access_format: str = "") -> Iterator[Cluster]:
    """Start `webs` gunicorn servers and `workers` queue workers; stop them all on exit (workers gracefully).

    With `access_format`, each web process writes gunicorn's access log in that format (see access_logs).
    """
    logs = logs or Path(env["PORTAL_INSTANCE"])
    logs.mkdir(parents=True, exist_ok=True)
    running = Cluster(env)
    bindir = Path(sys.executable).parent
    try:
        for i in range(webs):
            port = free_port()
            log = logs / f"web{i}.log"
            running.logs.append(log)
            access: list[str] = []
            if access_format:
                running.access_logs.append(logs / f"web{i}-access.log")
                access = ["--access-logfile", str(running.access_logs[-1]), "--access-logformat", access_format]
            running.processes.append(subprocess.Popen(
                [str(bindir / "gunicorn"), "--workers", str(web_workers), "--threads", str(threads),
                 "--bind", f"127.0.0.1:{port}", *access, "portal:create_app()"],
                env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT))
            running.urls.append(f"http://127.0.0.1:{port}")
        for i in range(workers):
            log = logs / f"worker{i}.log"
            running.logs.append(log)
            running.processes.append(subprocess.Popen(_portal("worker", "--renderers", str(renderers)), env=env,
                                                      stdout=log.open("wb"), stderr=subprocess.STDOUT))
        for url, process in zip(running.urls, running.processes, strict=False):
            _wait_up(url, process)
        yield running
    finally:
        for process in running.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)  # gunicorn: quick shutdown; worker: finish jobs in hand
        for process in running.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def sign_in(base_url: str, email: str, timeout: float = 30) -> httpx.Client:
    """An HTTP client signed in as `email`, with the CSRF token for htmx-style posts in its headers."""
    # gunicorn closes a connection idle for 2 s (--keep-alive): let go of it sooner, as browsers do,
    # so a request never goes out on a connection the server is closing at that moment.
    client = httpx.Client(base_url=base_url, timeout=timeout, follow_redirects=False,
                          limits=httpx.Limits(keepalive_expiry=1.0))
    token = _CSRF.search(client.get("/login").text)
    assert token, "no CSRF token on the sign-in page"
    response = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token.group(1)})
    if response.status_code != 302:
        raise RuntimeError(f"sign-in of {email} failed with {response.status_code}")
    page = client.get("/app")
    token = _CSRF.search(page.text)
    assert token, "no CSRF token after sign-in"
    client.headers["X-CSRFToken"] = token.group(1)
    return client


def fetch_pdf(client: httpx.Client, path: str, *, poll: float = 1.0, timeout: float = 300) -> tuple[bytes, str]:
    """Download a PDF as a reader would: follow the job page (polled like htmx does) until the file is ready.

    Returns (bytes, verification code). A 429 is waited out as its Retry-After says.
    """
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(path)
        if response.status_code == 429:
            time.sleep(float(response.headers.get("Retry-After", "5")))
        elif response.status_code == 200:
            return response.content, response.headers["X-Verification-Code"]
        elif response.status_code == 303:
            path = response.headers["Location"]
            if "/app/documents/" in path and not path.endswith("/file"):
                job_page = path
                while True:
                    state = re.search(r'data-state="(\w+)"',
                                      client.get(job_page, headers={"HX-Request": "true"}).text)
                    if state and state.group(1) == "done":
                        path = job_page + "/file"
                        break
                    if state and state.group(1) == "failed":
                        raise RuntimeError(f"{job_page}: the render failed")
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"{job_page} not done in {timeout:g} s")
                    time.sleep(poll)
        else:
            raise RuntimeError(f"GET {path}: {response.status_code}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} not delivered in {timeout:g} s")
