"""`portal bench …`: the figures the issues ask for, measured on this machine.

Speed is measured here and reported in issue notes, never asserted in tests.
"""

from __future__ import annotations

import json
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import click
from sqlalchemy import text

from portal.bench_profiles import BENCH_DAY, random_profile
from portal.policy.catalog import catalog
from portal.policy.matching import match_profile
from portal.statuses import MatchStatus


def bench_match(count: int, seed: int = 7) -> dict[str, float]:
    """Profiles per second for matching every enterprise-facing measure (one core)."""
    rng = random.Random(seed)
    profiles = [random_profile(rng) for _ in range(count)]
    cat = catalog()
    match_profile(profiles[0], BENCH_DAY, cat)  # warm caches
    start = time.perf_counter()
    for p in profiles:
        match_profile(p, BENCH_DAY, cat)
    elapsed = time.perf_counter() - start
    return {"profiles": count, "measures": len(cat.enterprise_measures()), "seconds": elapsed,
            "per_second": count / elapsed}


def bench_rematch(count: int, seed: int = 11) -> dict[str, float]:
    """Re-match `count` profiles stored as profile_json in a SQLite database, streamed in batches."""
    from portal.db import make_engine

    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE profiles (id INTEGER PRIMARY KEY, profile_json TEXT NOT NULL)"))
            rows = [{"p": json.dumps(random_profile(rng), ensure_ascii=False)} for _ in range(count)]
            conn.execute(text("INSERT INTO profiles (profile_json) VALUES (:p)"), rows)
        cat = catalog()
        start = time.perf_counter()
        eligible = 0
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=5000).execute(
                text("SELECT profile_json FROM profiles"))
            for (raw,) in result:
                results = match_profile(json.loads(raw), BENCH_DAY, cat)
                eligible += sum(r.status == MatchStatus.ELIGIBLE for r in results)
        elapsed = time.perf_counter() - start
        engine.dispose()
    return {"profiles": count, "seconds": elapsed, "per_second": count / elapsed, "eligible_results": eligible}


@click.group("bench")
def bench_group() -> None:
    """Benchmarks (report the figures; never used as tests)."""


@bench_group.command("match")
@click.option("--count", default=20000, show_default=True, help="Profiles matched in memory.")
@click.option("--stored", default=100000, show_default=True, help="Stored profiles re-matched from SQLite.")
def bench_match_command(count: int, stored: int) -> None:
    """Matching throughput: profiles per second and re-matching stored profiles."""
    mem = bench_match(count)
    click.echo(f"match: {mem['profiles']} profiles x {mem['measures']} measures in {mem['seconds']:.2f} s "
               f"= {mem['per_second']:,.0f} profiles/s (one core)")
    if stored:
        db_run = bench_rematch(stored)
        click.echo(f"re-match stored: {db_run['profiles']} profiles in {db_run['seconds']:.1f} s "
                   f"= {db_run['per_second']:,.0f} profiles/s ({db_run['eligible_results']} eligible results)")


@bench_group.command("rematch")
@click.option("--count", default=100000, show_default=True, help="Stored enterprise profiles.")
@click.option("--batch", default=2000, show_default=True, help="Profiles per commit.")
def bench_rematch_command(count: int, batch: int) -> None:
    """`portal rematch` itself on N stored profiles: first run, after a catalog edit, unchanged."""
    from portal.rematch_bench import format_rematch_bench, run_rematch_bench

    for line in format_rematch_bench(run_rematch_bench(count, batch)):
        click.echo(line)


@bench_group.command("pdf")
@click.option("--rounds", default=20, show_default=True)
def bench_pdf_command(rounds: int) -> None:
    """PDF render times and sizes beside a bare WeasyPrint render of the same text."""
    from portal.pdf.bench import format_pdf_bench, run_pdf_bench

    click.echo(format_pdf_bench(run_pdf_bench(rounds)))


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


__all__ = ["bench_group", "bench_match", "bench_rematch", "percentile", "statistics"]


# --- load: questionnaire round trips under concurrency, beside a bare Flask route ---------------

def bare_app():  # type: ignore[no-untyped-def]
    """A bare Flask app with one trivial route: the floor to compare the portal's timings with."""
    from flask import Flask

    app = Flask("bare")

    @app.get("/bare")
    def bare() -> str:
        return "ok"

    return app


LUA_TEMPLATE = """
local sessions = {%(sessions)s}
local counter = 0
local method, path, values = "%(method)s", "%(path)s", {"zhonghan_zone", "changchun_new_area"}
request = function()
  counter = counter + 1
  local s = sessions[(counter %% #sessions) + 1]
  local headers = {["Cookie"] = s[1], ["X-CSRFToken"] = s[2], ["HX-Request"] = "true",
                   ["Content-Type"] = "application/x-www-form-urlencoded"}
  local body = nil
  if method == "POST" then body = "location=" .. values[(counter %% 2) + 1] end
  return wrk.format(method, path, headers, body)
end
"""
ACCESS_FORMAT = '%(m)s %(U)s %(s)s %(M)s'  # method, path, status, request time in ms


def _login(base: str, email: str, password: str) -> tuple[str, str]:
    """Sign in over HTTP; returns (Cookie header, CSRF token) for wrk."""
    import http.cookiejar
    import re
    import urllib.parse
    import urllib.request

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/login").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    data = urllib.parse.urlencode({"email": email, "password": password, "csrf_token": token}).encode()
    page = opener.open(f"{base}/login", data=data).read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    return cookie, token


def _wait_up(url: str) -> None:
    import urllib.request

    for _ in range(200):
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - loopback benchmark target
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


def _server_times(log: Path, method: str, path: str) -> tuple[list[float], int]:
    times, errors = [], 0
    for line in log.read_text().splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0] == method and parts[1] == path:
            times.append(float(parts[3]))
            errors += not parts[2].startswith("2")
    return times, errors


def run_load(users: int = 50, seconds: int = 20, workers: int = 2, threads: int = 1) -> list[dict[str, Any]]:
    """Serve the portal (SQLite) and a bare app with gunicorn; drive both with wrk; read server times."""
    import os
    import shutil
    import subprocess
    import sys

    if shutil.which("wrk") is None:
        raise click.ClickException("wrk is not installed (Debian package wrk)")
    bindir = Path(sys.executable).parent
    out: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        env = {**os.environ, "PORTAL_INSTANCE": str(tmpdir), "PORTAL_ENV": "development",
               "LOGIN_RATE_LIMIT": "100000 per minute", "PORTAL_TODAY": "2026-06-01"}
        env.pop("DATABASE_URL", None)
        subprocess.run([str(bindir / "portal"), "db", "upgrade"], env=env, check=True, capture_output=True)
        password = "bench-password-1"  # noqa: S105 - throwaway accounts in a temporary database
        script = ("from portal import create_app\nfrom portal.extensions import db\n"
                  "from portal.services import accounts\n"
                  "app = create_app()\nwith app.app_context(), db.standalone() as s:\n"
                  f"    for i in range({users}):\n"
                  "        accounts.register_enterprise(s, f'压测企业{i}', '员工', f'load{i}@bench.invalid', "
                  f"'{password}')\n")
        subprocess.run([sys.executable, "-c", script], env=env, check=True, capture_output=True)
        servers = []
        targets = (("portal", "portal:create_app()", 5301), ("bare", "portal.bench:bare_app()", 5302))
        for name, target, port in targets:
            log = tmpdir / f"{name}.log"
            servers.append(subprocess.Popen(
                [str(bindir / "gunicorn"), "--workers", str(workers), "--threads", str(threads),
                 "--bind", f"127.0.0.1:{port}", "--access-logfile", str(log), "--access-logformat", ACCESS_FORMAT,
                 target],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        try:
            _wait_up("http://127.0.0.1:5301/healthz")
            _wait_up("http://127.0.0.1:5302/bare")
            sessions = [_login("http://127.0.0.1:5301", f"load{i}@bench.invalid", password) for i in range(users)]
            lua_sessions = ", ".join('{"%s", "%s"}' % s for s in sessions)  # noqa: UP031 - Lua table syntax
            cases = (("portal", 5301, "GET", "/q/location", "questionnaire step page (GET /q/location)"),
                     ("portal", 5301, "POST", "/q/answer/location", "answer autosave (POST /q/answer/location)"),
                     ("bare", 5302, "GET", "/bare", "bare Flask route (GET /bare)"))
            for name, port, method, path, label in cases:
                lua = tmpdir / f"{name}-{method}.lua"
                lua.write_text(LUA_TEMPLATE % {"sessions": lua_sessions, "method": method, "path": path})
                before = len((tmpdir / f"{name}.log").read_text().splitlines())
                wrk = subprocess.run(["wrk", "-t2", f"-c{users}", f"-d{seconds}s", "--latency", "-s", str(lua),
                                      f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True)
                time.sleep(0.5)  # let gunicorn flush its access log
                log_lines = (tmpdir / f"{name}.log").read_text().splitlines()[before:]
                part = tmpdir / "part.log"
                part.write_text("\n".join(log_lines))
                times, errors = _server_times(part, method, path)
                client_p95 = next((ln.split()[1] for ln in wrk.stdout.splitlines() if ln.strip().startswith("90%")),
                                  "?")
                rps = next((ln.split()[1] for ln in wrk.stdout.splitlines() if ln.startswith("Requests/sec")), "?")
                out.append({"label": label, "requests": len(times), "errors": errors, "rps": rps,
                            "server_p50_ms": percentile(times, 50) if times else float("nan"),
                            "server_p95_ms": percentile(times, 95) if times else float("nan"),
                            "server_p99_ms": percentile(times, 99) if times else float("nan"),
                            "client_p90": client_p95,
                            "wrk_errors": [ln.strip() for ln in wrk.stdout.splitlines()
                                           if "Non-2xx" in ln or "Socket errors" in ln]})
        finally:
            for proc in servers:
                proc.terminate()
                proc.wait(10)
    return out


@bench_group.command("load")
@click.option("--users", default=50, show_default=True, help="Concurrent connections, one signed-in user each.")
@click.option("--seconds", default=20, show_default=True)
@click.option("--workers", default=2, show_default=True, help="gunicorn workers (one per core).")
@click.option("--threads", default=1, show_default=True, help="threads per worker.")
def bench_load_command(users: int, seconds: int, workers: int, threads: int) -> None:
    """Questionnaire round trips under load (wrk, SQLite) beside a bare Flask route."""
    click.echo(f"gunicorn {workers} workers x {threads} threads, {users} connections, {seconds} s each, SQLite")
    for row in run_load(users, seconds, workers, threads):
        click.echo(f"{row['label']}: {row['requests']} requests, {row['rps']} req/s, non-2xx {row['errors']}"
                   f"{' ' + '; '.join(row['wrk_errors']) if row['wrk_errors'] else ''}; server time p50 "
                   f"{row['server_p50_ms']:.1f} ms, p95 {row['server_p95_ms']:.1f} ms, "
                   f"p99 {row['server_p99_ms']:.1f} ms; client p90 {row['client_p90']}")


@bench_group.command("page")
def bench_page_command() -> None:
    """Bytes transferred (gzip) for the first questionnaire page and everything it loads."""
    import gzip
    import re

    from portal import create_app, migrate
    from portal.extensions import db
    from portal.services import accounts

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'page.db'}"
        migrate.upgrade(url, "head")
        app = create_app({"DATABASE_URL": url})
        with app.app_context(), db.standalone() as session:
            accounts.register_enterprise(session, "页面重量测试企业", "员工", "page@bench.invalid", "bench-password-1")
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        client.post("/login", data={"email": "page@bench.invalid", "password": "bench-password-1",
                                    "csrf_token": token})
        first = client.get("/q/identity", headers={"Accept-Encoding": "gzip"})
        html = first.get_data()
        assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', gzip.decompress(html).decode())
        rows = [("/q/identity", len(html), first.headers.get("Content-Encoding"))]
        for asset in assets:
            resp = client.get(asset, headers={"Accept-Encoding": "gzip"})
            rows.append((asset, len(resp.data), resp.headers.get("Content-Encoding")))
    fonts = [u for u, _, _ in rows if re.search(r"\.(woff2?|ttf|otf)$", u)]
    for asset, size, encoding in rows:
        click.echo(f"{asset}: {size} bytes ({encoding or 'identity'})")
    click.echo(f"total transferred: {sum(r[1] for r in rows) / 1024:.1f} KB; web fonts: {len(fonts)}")


def run_sync(changes_count: int = 10000, workers: int = 2) -> dict[str, Any]:
    """Serve a temporary SQLite portal with gunicorn, write N answer changes, then time the feed and a pull."""
    import os
    import subprocess
    import sys

    import httpx

    from portal.sync import Mirror, SyncClient, pull

    bindir = Path(sys.executable).parent
    port = 5303
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        env = {**os.environ, "PORTAL_INSTANCE": str(tmpdir), "PORTAL_ENV": "development", "PORTAL_TODAY": "2026-06-01"}
        env.pop("DATABASE_URL", None)
        subprocess.run([str(bindir / "portal"), "db", "upgrade"], env=env, check=True, capture_output=True)
        script = ("import time\nfrom portal import create_app\nfrom portal.extensions import db\n"
                  "from portal.services import accounts, answers, tokens\n"
                  "app = create_app()\nwith app.app_context(), db.standalone() as s:\n"
                  "    u = accounts.register_enterprise(s, '同步压测企业', '员工', 'sync@bench.invalid', "
                  "'bench-password-1')\n"
                  "    _t, plain = tokens.issue(s, u, 'bench', 'read')\n"
                  "    started = time.perf_counter()\n"
                  f"    for i in range({changes_count}):\n"
                  "        answers.save_answer(s, u.enterprise_id, u.id, 'annual_revenue_wan', 1000 + i, None)\n"
                  "    print(plain, time.perf_counter() - started)\n")
        made = subprocess.run([sys.executable, "-c", script], env=env, check=True, capture_output=True, text=True)
        token, write_seconds = made.stdout.split()
        log = tmpdir / "sync.log"
        server = subprocess.Popen([str(bindir / "gunicorn"), "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
                                   "--access-logfile", str(log), "portal:create_app()"],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_up(f"{base}/healthz")
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as http:
                http.get("/api/v1/me").raise_for_status()
                started, since, served, pages = time.perf_counter(), 0, 0, 0
                while True:
                    page = http.get("/api/v1/changes", params={"since": since, "limit": 1000}).json()
                    served += len(page["changes"])
                    pages += 1
                    since = page["next_cursor"]
                    if not page["has_more"]:
                        break
                feed_seconds = time.perf_counter() - started
            with SyncClient(base, token) as client:
                result = pull(client, Mirror(tmpdir / "mirror.db"), limit=1000, files=False)
        finally:
            server.terminate()
            server.wait(10)
    return {"changes_written": changes_count, "write_seconds": float(write_seconds), "served": served,
            "pages": pages, "feed_seconds": feed_seconds, "pulled": result.changes, "pull_seconds": result.elapsed}


@bench_group.command("sync")
@click.option("--changes", "changes_count", default=10000, show_default=True, help="Answer changes written first.")
def bench_sync_command(changes_count: int) -> None:
    """Change feed served over HTTP (changes/s) and pulled into a desktop mirror (rows/s)."""
    r = run_sync(changes_count)
    click.echo(f"wrote {r['changes_written']} answer changes in {r['write_seconds']:.1f} s "
               f"({r['changes_written'] / r['write_seconds']:,.0f} saves/s, each with its feed row)")
    click.echo(f"feed served: {r['served']} changes in {r['pages']} pages, {r['feed_seconds']:.2f} s "
               f"= {r['served'] / r['feed_seconds']:,.0f} changes/s")
    click.echo(f"mirror pull: {r['pulled']} rows in {r['pull_seconds']:.2f} s "
               f"= {r['pulled'] / r['pull_seconds']:,.0f} rows/s (incl. commit of each batch with its cursor)")
