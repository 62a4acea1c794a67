"""PDF rendering benchmark: the portal pipeline beside a bare WeasyPrint render of the same HTML.

Targets (measured, not asserted): a typical two-page application form renders in ≤ 0.3 s
(median) and weighs ≤ 150 KB; a match report with about 15 entries renders in ≤ 1 s. Bare
renders run in this process with WeasyPrint's defaults, interleaved round by round with the
portal renders, so a busy machine slows both alike and the ratio stays meaningful.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Callable
from typing import Any

from portal.config import quiet_library_loggers
from portal.pdf.render import build_html, render_request, template_base_url
from portal.pdf.request import REPORT_STATUSES, application_request, report_request
from portal.pdf.worker import get_pool
from portal.policy.matching import grouped, match_profile

BENCH_DAY = dt.date(2026, 6, 1)
APPLICATION_TARGET_S = 0.3
APPLICATION_TARGET_BYTES = 150 * 1024
REPORT_TARGET_S = 1.0

#: A medical-device maker applying for 《医药强省建设实施意见》 clause 9 (two pages).
APPLICATION_PROFILE: dict[str, Any] = {
    "enterprise_name": "长春长生医疗器械有限公司", "credit_code": "91220101MA0Y3B8X1J",
    "address": "吉林省长春市高新区硅谷大街 1234 号", "legal_representative": "王建国", "contact_person": "李敏",
    "contact_phone": "0431-85551234", "location": "changchun_new_area", "ownership": "domestic",
    "sectors": ["medical_device", "ivd"], "roles": ["device_registrant", "device_manufacturer"],
    "device_classes": ["class2", "class3"], "milestones": ["class3_first_registration", "device_in_production"],
    "milestone_dates": {"class3_first_registration": "2025-09-01", "device_in_production": "2025-12-01"},
    "projects": ["device_industrialisation"],
}
APPLICATION_MEASURE = "d003-09"

#: A Korean-invested red-ginseng health-food maker with a wellness service in the Sino-Korean zone, revenue
#: not yet given: 16 report entries (7 eligible, 8 near misses, 1 needing information).
REPORT_PROFILE: dict[str, Any] = {
    "enterprise_name": "吉韩红参健康产业有限公司", "credit_code": "91220101MA0Y3B8X1J",
    "address": "吉林省长春市中韩（长春）国际合作示范区韩晟路 88 号",
    "legal_representative": "김민준", "contact_person": "朴智妍", "contact_phone": "13800001234",
    "location": "zhonghan_zone", "ownership": "korean_invested", "sectors": ["health_food", "health_services"],
    "roles": ["contract_manufacturer"], "good_credit": True, "is_leading_enterprise": False, "korean_park": True,
    "device_classes": [], "device_procedures": [], "device_types": [], "cosmetics_activities": [],
    "milestones": ["high_tech_first"], "introduced_innovative_drug": False, "has_self_developed_drug": False,
    "innovative_drug_rnd": False, "online_sales_wan": 1800, "previous_peak_online_sales_wan": 1500,
    "projects": ["major_project"], "project_investment_wan": 6000, "project_has_fixed_asset_loan": True,
    "new_equipment_investment_wan": 1200, "plans": ["new_production_line", "overseas_expansion", "multi_warehouse"],
}


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def _compare(request: Any, rounds: int) -> dict[str, Any]:
    from weasyprint import HTML  # only the bench process needs WeasyPrint itself

    html = build_html(request)
    base_url = template_base_url(request.kind)
    ours, bare = [], []
    pdf = bare_pdf = None
    for _ in range(rounds):
        seconds, pdf = _timed(lambda: render_request(request))
        ours.append(seconds)
        seconds, bare_pdf = _timed(lambda: HTML(string=html, base_url=base_url).write_pdf())
        bare.append(seconds)
    assert pdf is not None and bare_pdf is not None
    median, bare_median = statistics.median(ours), statistics.median(bare)
    return {
        "median_s": round(median, 3), "min_s": round(min(ours), 3), "max_s": round(max(ours), 3),
        "bytes": len(pdf.data), "pages": pdf.pages,
        "bare_median_s": round(bare_median, 3), "bare_bytes": len(bare_pdf),
        "ratio": round(median / bare_median, 2) if bare_median else None,
    }


def run_pdf_bench(rounds: int = 20) -> dict[str, Any]:
    """Render the typical application and a ~15-match report `rounds` times; medians, sizes, ratios."""
    rounds = max(1, rounds)
    quiet_library_loggers()  # the bare renders run in this process
    pool = get_pool()
    start_s, _ = _timed(pool.warm_up)  # worker start-up is a one-off, reported separately

    app_request = application_request(APPLICATION_PROFILE, APPLICATION_MEASURE, BENCH_DAY)
    render_request(app_request)  # first render per worker loads the page layout caches
    application = _compare(app_request, rounds)
    application.update(measure_id=APPLICATION_MEASURE, target_s=APPLICATION_TARGET_S,
                       target_bytes=APPLICATION_TARGET_BYTES)

    rep_request = report_request(REPORT_PROFILE, BENCH_DAY)
    groups = grouped(match_profile(rep_request.profile, BENCH_DAY))
    report = _compare(rep_request, max(3, rounds // 2))
    report.update(matches=sum(len(groups[s]) for s in REPORT_STATUSES),
                  target_s=REPORT_TARGET_S)
    return {"rounds": rounds, "workers": pool.size, "worker_start_s": round(start_s, 2),
            "application": application, "report": report}


def format_pdf_bench(result: dict[str, Any]) -> str:
    """Human-readable summary of run_pdf_bench()."""
    a, r = result["application"], result["report"]

    def verdict(ok: bool) -> str:
        return "ok" if ok else "over target"

    return "\n".join([
        f"PDF benchmark: {result['rounds']} rounds, {result['workers']} worker(s), "
        f"worker start-up {result['worker_start_s']:.2f} s",
        f"  application {a['measure_id']} ({a['pages']} pages): median {a['median_s']:.3f} s "
        f"(min {a['min_s']:.3f}, max {a['max_s']:.3f}) [{verdict(a['median_s'] <= a['target_s'])}, "
        f"target {a['target_s']} s]; {a['bytes'] / 1024:.0f} KB [{verdict(a['bytes'] <= a['target_bytes'])}, "
        f"target {a['target_bytes'] // 1024} KB]",
        f"    bare WeasyPrint, same HTML: median {a['bare_median_s']:.3f} s, {a['bare_bytes'] / 1024:.0f} KB; "
        f"ratio portal/bare {a['ratio']}",
        f"  report ({r['matches']} matches, {r['pages']} pages): median {r['median_s']:.3f} s "
        f"(min {r['min_s']:.3f}, max {r['max_s']:.3f}) [{verdict(r['median_s'] <= r['target_s'])}, "
        f"target {r['target_s']} s]; {r['bytes'] / 1024:.0f} KB",
        f"    bare WeasyPrint, same HTML: median {r['bare_median_s']:.3f} s, {r['bare_bytes'] / 1024:.0f} KB; "
        f"ratio portal/bare {r['ratio']}",
    ])
