"""`portal bench …`: the figures the issues ask for, measured on this machine.

Speed is measured here and reported in issue notes, never asserted in tests.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import click
from sqlalchemy import text

from portal.policy.catalog import catalog
from portal.policy.matching import match_profile
from portal.profile.fields import FIELDS

BENCH_DAY = dt.date(2026, 6, 1)


def random_profile(rng: random.Random) -> dict[str, Any]:
    """A plausible profile: each question answered with probability 0.8, from its own options."""
    profile: dict[str, Any] = {}
    for f in FIELDS:
        if rng.random() > 0.8:
            continue
        if f.kind == "choice":
            profile[f.name] = rng.choice(f.option_codes())
        elif f.kind == "multi":
            profile[f.name] = rng.sample(f.option_codes(), k=rng.randint(0, min(3, len(f.options))))
        elif f.kind == "bool":
            profile[f.name] = rng.random() < 0.5
        elif f.kind == "number":
            profile[f.name] = float(rng.choice([0, 50, 500, 5000, 20000, 150000, 600000]))
        elif f.name == "enterprise_name":
            profile[f.name] = f"基准测试企业{rng.randint(1, 10**6)}"
    return profile


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
                eligible += sum(r.status == "eligible" for r in match_profile(json.loads(raw), BENCH_DAY, cat))
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
