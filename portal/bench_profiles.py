"""Random but plausible enterprise profiles for the benchmarks (never shown to users as data)."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

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
