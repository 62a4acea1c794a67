"""`portal bench storm` and `portal bench soak`: PDFs under load, on the web and worker processes a host runs.

storm: `pdfs` PDF requests from `enterprises` enterprises at once (each followed to its file as a reader's
browser would, polling the progress page every second) while `users` people step through the questionnaire
(a step page, then an autosave, 0.5–1.5 s apart) and a monitor asks /healthz ten times a second.
soak: `users` people autosaving every 3–7 s for `seconds`, each downloading the match report about once every
three minutes (with the answers they just changed, so every report is a new render).

Latency is reported twice: as the server measured it (gunicorn's access log: what a load balancer and the
next request feel) and as the load generator saw it (its own threads share these two cores).
"""

from __future__ import annotations

import multiprocessing
import random
import statistics
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import httpx

from portal.bench_cluster import cluster, fetch_pdf, portal_env, prepare, sign_in

ACCESS_FORMAT = "%(m)s %(U)s %(s)s %(M)s"  # method, path, status, request time in ms
STEP_CODES = ("identity", "location", "business", "roles", "milestones", "figures", "plans")
LOCATIONS = ("zhonghan_zone", "changchun_new_area")
#: The answers every bench enterprise starts with: a device maker in the 中韩示范区 (many matches, long report).
ANSWERS: dict[str, Any] = {
    "location": "zhonghan_zone", "ownership": "korean_invested", "sectors": ["medical_device", "ivd"],
    "roles": ["device_registrant", "device_manufacturer"], "device_classes": ["class2", "class3"],
    "milestones": ["class3_first_registration"], "milestone_dates": {"class3_first_registration": "2025-09-01"},
    "credit_code": "91220101MA0Y3B8X1J", "address": "吉林省长春市", "legal_representative": "王建国",
    "contact_person": "李敏", "contact_phone": "0431-85551234",
}
APPLICATIONS = ("d003-09", "d000-01", "d000-02", "d000-03", "d000-05")


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


@dataclass
class Samples:
    """Client-side timings (seconds) and statuses, by kind of request."""

    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    failures: Counter[str] = field(default_factory=Counter)  # "kind: what went wrong"
    lock: threading.Lock = field(default_factory=threading.Lock)

    def timed(self, kind: str, call: Callable[[], httpx.Response]) -> httpx.Response | None:
        start = time.perf_counter()
        try:
            response = call()
        except httpx.HTTPError as exc:
            with self.lock:
                self.statuses[kind].append(0)
                self.failures[f"{kind}: {type(exc).__name__}"] += 1
            return None
        with self.lock:
            self.times[kind].append(time.perf_counter() - start)
            self.statuses[kind].append(response.status_code)
            if response.status_code >= 500:
                self.failures[f"{kind}: HTTP {response.status_code}"] += 1
        return response

    def errors(self, kind: str) -> int:
        return sum(1 for s in self.statuses[kind] if s == 0 or s >= 500)


def _server_times(logs: list[Path], since: dict[Path, int] | None = None) -> tuple[dict[str, list[float]], int]:
    """Request times (seconds) from gunicorn's access logs by kind of request, and how many answered 429."""
    out: dict[str, list[float]] = defaultdict(list)
    busy = 0
    for log in logs:
        lines = log.read_text(errors="replace").splitlines()[(since or {}).get(log, 0):]
        for line in lines:
            parts = line.split()
            if len(parts) != 4 or not parts[3].isdigit():
                continue
            method, path, status, seconds = parts[0], parts[1], parts[2], int(parts[3]) / 1000
            busy += status == "429"
            if path == "/healthz":
                out["healthz"].append(seconds)
            elif method == "GET" and path.startswith("/q/") and path.count("/") == 2:
                out["step"].append(seconds)
            elif method == "POST" and path.startswith("/q/answer/"):
                out["autosave"].append(seconds)
            elif path.startswith("/app/documents/") or path.endswith(".pdf"):
                out["pdf pages"].append(seconds)
            out["all"].append(seconds)
    return out, busy


def _line_counts(logs: list[Path]) -> dict[Path, int]:
    return {p: len(p.read_text(errors="replace").splitlines()) if p.exists() else 0 for p in logs}


def _monitor(base: str, samples: Samples, stop: threading.Event) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        while not stop.is_set():
            samples.timed("healthz", lambda: client.get("/healthz"))
            stop.wait(0.1)


def _stepper(client: httpx.Client, samples: Samples, stop: threading.Event, pause: tuple[float, float],
             seed: int, report_every: float = 0.0) -> None:
    """One person: a step page, an autosave, a pause; with report_every, the match report now and then."""
    rng = random.Random(seed)
    next_report = time.monotonic() + rng.uniform(0, report_every) if report_every else float("inf")
    stop.wait(rng.uniform(0, 2 * pause[1]))  # people arrive one by one, not all in the same millisecond
    i = 0
    while not stop.is_set():
        code = STEP_CODES[i % len(STEP_CODES)]
        samples.timed("step", lambda code=code: client.get(f"/q/{code}"))  # type: ignore[misc]
        if stop.wait(rng.uniform(*pause)):
            break
        samples.timed("autosave", lambda answer={"location": LOCATIONS[i % 2]}: client.post(  # type: ignore[misc]
            "/q/answer/location", data=answer, headers={"HX-Request": "true"}))
        i += 1
        if time.monotonic() >= next_report:
            start = time.perf_counter()
            try:
                fetch_pdf(client, "/results/report.pdf", poll=1.0, timeout=600)
            except Exception:  # noqa: BLE001 - counted as a failed download
                samples.statuses["report"].append(0)
            else:
                with samples.lock:
                    samples.times["report"].append(time.perf_counter() - start)
                    samples.statuses["report"].append(200)
            next_report = time.monotonic() + report_every
        stop.wait(rng.uniform(*pause))


def _deployment(tmp: Path, database_url: str, redis_url: str, logs: str = "") -> dict[str, str]:
    instance = Path(logs) if logs else tmp / "instance"
    return portal_env(instance, database_url or f"sqlite:///{instance / 'portal.db'}", redis_url)


def _setting(database_url: str, redis_url: str, webs: int, workers: int, renderers: int,
             threads: int) -> dict[str, Any]:
    return {"database": "PostgreSQL" if database_url else "SQLite", "queue": "Redis" if redis_url else "SQLite",
            "webs": webs, "workers": workers, "renderers": renderers, "threads": threads}


def _pdf_storm(urls: list[str], emails: list[str], per_enterprise: int, results: Any) -> None:
    """In a process of its own: every enterprise asks for its PDFs at the same moment, each followed to its file.

    Puts (seconds until each PDF arrived, failures, seconds until the last one) on `results`.
    """
    readers = [sign_in(urls[i % len(urls)], email) for i, email in enumerate(emails)]
    paths = ["/results/report.pdf", *(f"/results/{m}/application.pdf" for m in APPLICATIONS)]
    delivered: list[float] = []
    failures: list[str] = []
    go = threading.Barrier(len(readers) * per_enterprise + 1)
    began = 0.0

    def fetch(reader: httpx.Client, path: str) -> None:
        go.wait()
        try:
            fetch_pdf(reader, path, poll=1.0, timeout=600)
            delivered.append(time.perf_counter() - began)
        except Exception as exc:  # noqa: BLE001 - counted and reported
            failures.append(f"{path}: {exc}")

    fetchers = [threading.Thread(target=fetch, args=(reader, paths[k % len(paths)]))
                for reader in readers for k in range(per_enterprise)]
    for t in fetchers:
        t.start()
    began = time.perf_counter()
    go.wait()
    for t in fetchers:
        t.join()
    results.put((sorted(delivered), failures, time.perf_counter() - began))
    for reader in readers:
        reader.close()


def run_storm(*, users: int = 50, enterprises: int = 10, per_enterprise: int = 6, calm: float = 15.0,
              database_url: str = "", redis_url: str = "", webs: int = 1, workers: int = 1,
              renderers: int = 1, threads: int = 4, logs: str = "") -> dict[str, Any]:
    """The storm: latency while it lasts (and for `calm` seconds before, without PDFs), and the time until
    every PDF was delivered."""
    with tempfile.TemporaryDirectory() as tmp:
        env = _deployment(Path(tmp), database_url, redis_url, logs)
        emails = prepare(env, users + enterprises, ANSWERS)
        with cluster(env, webs=webs, threads=threads, workers=workers, renderers=renderers,
                     access_format=ACCESS_FORMAT) as running:
            urls = running.urls
            steppers = [sign_in(urls[i % len(urls)], emails[i]) for i in range(users)]
            samples, stop = Samples(), threading.Event()
            background = [threading.Thread(target=_monitor, args=(urls[0], samples, stop))]
            background += [threading.Thread(target=_stepper, args=(c, samples, stop, (0.5, 1.5), n))
                           for n, c in enumerate(steppers)]
            for t in background:
                t.start()
            time.sleep(5)  # the questionnaire traffic settles
            # The same traffic without PDFs first: what the storm adds is the difference.
            calm_since = _line_counts(running.access_logs)
            with samples.lock:
                samples.times.clear()
                samples.statuses.clear()
            time.sleep(calm)
            calm_server, _ = _server_times(running.access_logs, calm_since)
            with samples.lock:
                calm_samples = Samples(times=defaultdict(list, {k: list(v) for k, v in samples.times.items()}))
            since = _line_counts(running.access_logs)
            with samples.lock:  # figures of the storm only
                samples.times.clear()
                samples.statuses.clear()
            # The PDF readers are another process: their 60 threads waking at once must not stall the
            # steppers' measurements through this process's interpreter lock.
            results: multiprocessing.Queue[Any] = multiprocessing.get_context("fork").Queue()
            storm = multiprocessing.get_context("fork").Process(
                target=_pdf_storm, args=(urls, emails[users:], per_enterprise, results))
            storm.start()
            delivered, failures, storm_seconds = results.get(timeout=900)
            storm.join(30)
            stop.set()
            for t in background:
                t.join()
            for c in steppers:
                c.close()
            time.sleep(0.5)  # gunicorn flushes its access log
            server, busy = _server_times(running.access_logs, since)
    return {"seconds": storm_seconds, "delivered": delivered, "failures": failures,
            "requested": enterprises * per_enterprise, "rejected_429": busy, "samples": samples, "server": server,
            "calm": {"seconds": calm, "samples": calm_samples, "server": calm_server},
            "users": users, "enterprises": enterprises,
            **_setting(database_url, redis_url, webs, workers, renderers, threads)}


def run_soak(*, users: int = 200, seconds: int = 360, report_every: float = 180.0, database_url: str = "",
             redis_url: str = "", webs: int = 1, workers: int = 1, renderers: int = 1,
             threads: int = 4, logs: str = "") -> dict[str, Any]:
    """The soak: `users` autosaving every 3–7 s (a step page between), each downloading its report now and then."""
    with tempfile.TemporaryDirectory() as tmp:
        env = _deployment(Path(tmp), database_url, redis_url, logs)
        emails = prepare(env, users, ANSWERS)
        with cluster(env, webs=webs, threads=threads, workers=workers, renderers=renderers,
                     access_format=ACCESS_FORMAT) as running:
            urls = running.urls
            clients = [sign_in(urls[i % len(urls)], emails[i]) for i in range(users)]
            samples, stop = Samples(), threading.Event()
            since = _line_counts(running.access_logs)
            people = [threading.Thread(target=_monitor, args=(urls[0], samples, stop))]
            # A step page and an autosave per cycle, 1.5–3.5 s apart: one autosave every 3–7 s.
            people += [threading.Thread(target=_stepper, args=(c, samples, stop, (1.5, 3.5), n, report_every))
                       for n, c in enumerate(clients)]
            for t in people:
                t.start()
            stop.wait(seconds)
            stop.set()
            for t in people:
                t.join()
            for c in clients:
                c.close()
            time.sleep(0.5)
            server, busy = _server_times(running.access_logs, since)
    return {"seconds": seconds, "samples": samples, "server": server, "rejected_429": busy, "users": users,
            **_setting(database_url, redis_url, webs, workers, renderers, threads)}


def _line(label: str, values: list[float], *, unit: float = 1000, suffix: str = "ms") -> str:
    if not values:
        return f"  {label}: no requests"
    return (f"  {label}: {len(values)} requests, p50 {percentile(values, 50) * unit:.0f} {suffix}, "
            f"p95 {percentile(values, 95) * unit:.0f} {suffix}, p99 {percentile(values, 99) * unit:.0f} {suffix}, "
            f"max {max(values) * unit:.0f} {suffix}")


def format_figures(result: dict[str, Any]) -> str:
    samples: Samples = result["samples"]
    lines = [f"{result['database']} database, {result['queue']} queue; {result['webs']} web process(es) "
             f"(gunicorn 2 workers x {result['threads']} threads), {result['workers']} worker(s) x "
             f"{result['renderers']} renderer(s)"]
    if "delivered" in result:
        done = result["delivered"]
        lines.append(f"storm: {result['requested']} PDF requests from {result['enterprises']} enterprises while "
                     f"{result['users']} users step through the questionnaire")
        lines.append(f"  PDFs delivered: {len(done)}/{result['requested']}, all within {result['seconds']:.1f} s "
                     f"(median {statistics.median(done) if done else float('nan'):.1f} s); "
                     f"429 answers (limit per enterprise, retried): {result['rejected_429']}; "
                     f"failures: {len(result['failures'])} {'; '.join(result['failures'][:3])}")
    else:
        reports = samples.times.get("report", [])
        lines.append(f"soak: {result['users']} users for {result['seconds']} s, autosave every 3–7 s, a report "
                     f"per user about every 3 minutes")
        lines.append(_line("report downloads (client, request to file)", reports, unit=1, suffix="s")
                     .replace(" ms", " s"))
    lines += _latencies(result["server"], samples)
    if "calm" in result:
        lines.append(f"the same questionnaire traffic in the {result['calm']['seconds']:g} s before, without PDFs:")
        lines += _latencies(result["calm"]["server"], result["calm"]["samples"])
    return "\n".join(lines)


def _latencies(server: dict[str, list[float]], samples: Samples) -> list[str]:
    lines = ["server-side (gunicorn access log):"]
    lines += [_line(kind, server[kind]) for kind in ("step", "autosave", "healthz", "pdf pages", "all")
              if server.get(kind)]
    lines.append("client-side (load generator on the same cores):")
    lines += [_line(kind, samples.times.get(kind, [])) + f"; errors {samples.errors(kind)}"
              for kind in ("step", "autosave", "healthz")]
    if samples.failures:
        lines.append("  errors: " + ", ".join(f"{what} x{n}" for what, n in samples.failures.most_common()))
    return lines


@click.command("storm")
@click.option("--users", default=50, show_default=True, help="People stepping through the questionnaire.")
@click.option("--enterprises", default=10, show_default=True, help="Enterprises asking for PDFs at once.")
@click.option("--per-enterprise", default=6, show_default=True, help="PDF requests per enterprise (report + forms).")
@click.option("--calm", default=15.0, show_default=True, help="Seconds of the same traffic without PDFs, first.")
@click.option("--database-url", default="", help="PostgreSQL URL (default: a temporary SQLite file).")
@click.option("--redis-url", default="", help="Redis URL for the queue (default: a SQLite queue file).")
@click.option("--webs", default=1, show_default=True, help="Web processes (hosts), gunicorn 2 workers each.")
@click.option("--workers", default=1, show_default=True, help="Worker processes (hosts).")
@click.option("--renderers", default=1, show_default=True, help="PDF renderers per worker.")
@click.option("--threads", default=4, show_default=True, help="Threads per gunicorn worker.")
@click.option("--logs", default="", help="Keep the deployment (database, logs) in this new folder.")
def bench_storm_command(**options: Any) -> None:
    """PDFs requested all at once while the questionnaire is in use: latency and time to the last PDF."""
    click.echo(format_figures(run_storm(**options)))


@click.command("soak")
@click.option("--users", default=200, show_default=True)
@click.option("--seconds", default=360, show_default=True)
@click.option("--report-every", default=180.0, show_default=True, help="Seconds between one user's reports.")
@click.option("--database-url", default="", help="PostgreSQL URL (default: a temporary SQLite file).")
@click.option("--redis-url", default="", help="Redis URL for the queue (default: a SQLite queue file).")
@click.option("--webs", default=1, show_default=True)
@click.option("--workers", default=1, show_default=True)
@click.option("--renderers", default=1, show_default=True)
@click.option("--threads", default=4, show_default=True)
@click.option("--logs", default="", help="Keep the deployment (database, logs) in this new folder.")
def bench_soak_command(**options: Any) -> None:
    """Many people autosaving for minutes, each downloading the match report now and then."""
    click.echo(format_figures(run_soak(**options)))
