"""JSON API v1: measures, units, profile schema and stateless matching."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, abort, jsonify, request

from portal.extensions import db
from portal.policy.catalog import Measure, catalog
from portal.policy.matching import match_profile, summarize, total_max_cash
from portal.profile.schema import profile_json_schema
from portal.profile.validate import validate_profile
from portal.services import library, units
from portal.templating import today
from portal.views.access import access

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def measure_json(m: Measure, day: dt.date) -> dict[str, Any]:
    state, days = library.validity(m, day)
    return {
        **m.record(),
        "amounts": [{"max_wan": a.max_wan, "min_wan": a.min_wan, "unit": a.unit, "label": a.label,
                     "rate_percent": a.rate_percent, "rate_base": a.rate_base} for a in m.amounts],
        "city_share": [{"percent": s.percent, "unit": s.unit, "label": s.label} for s in m.city_share],
        "conditions": [c.describe() for c in m.conditions],
        "validity": state,
        "days_left": days,
    }


@bp.get("/measures")
@access("public")
def measures():
    """All measures, filterable by document, sector, benefit, unit, location, audience and q."""
    f = library.LibraryFilter(**{k: (request.args.get(k) or "").strip()[:100] for k in
                                 ("document", "sector", "benefit", "unit", "location", "audience", "q")})
    day = today()
    return jsonify([measure_json(m, day) for m in library.search(f)])


@bp.get("/measures/<measure_id>")
@access("public")
def measure(measure_id: str):
    """One measure."""
    m = catalog().measures.get(measure_id)
    if m is None:
        abort(404)
    return jsonify(measure_json(m, today()))


@bp.get("/units")
@access("public")
def unit_list():
    """Units named by the documents, with administrator-entered contacts (empty if none)."""
    out = []
    for view in units.all_unit_views(db.session):
        u, c = view.unit, view.contact
        out.append({"id": u.id, "name": u.name, "display_name": u.display_name, "kind": u.kind,
                    "aliases": list(u.aliases), "note": u.note,
                    "contact": {f: getattr(c, f) for f in units.CONTACT_FIELDS} if c else None})
    return jsonify(out)


@bp.get("/profile-schema")
@access("public")
def profile_schema():
    """JSON Schema of the enterprise profile."""
    return jsonify(profile_json_schema())


@bp.post("/match")
@access("public")
def match_api():
    """Match a profile (JSON) against every enterprise-facing measure; 422 lists each problem."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return jsonify({"error": "请求体应为 JSON 对象", "problems": [{"field": "", "message": "无法解析 JSON"}]}), 422
    raw_profile = body.get("profile", body if "profile" not in body else None)
    day = today()
    if body.get("date"):
        try:
            day = dt.date.fromisoformat(str(body["date"]))
        except ValueError:
            return jsonify({"error": "date 应为 YYYY-MM-DD", "problems": [{"field": "date",
                                                                          "message": "日期格式无效"}]}), 422
    if isinstance(raw_profile, dict):
        raw_profile = {k: v for k, v in raw_profile.items() if k != "date"}
    profile, problems = validate_profile(raw_profile, day)
    if problems:
        return jsonify({"error": "profile 未通过校验", "problems": problems}), 422
    results = match_profile(profile, day)
    summary = summarize(results)
    return jsonify({"date": day.isoformat(), "total_max_cash_wan": total_max_cash(results),
                    "summary": {"eligible_by_kind": summary.by_kind, "cash_wan": summary.cash_wan,
                                "ranges": summary.ranges, "city_share_computed_wan": summary.city_computed_wan,
                                "city_share_pending": summary.city_pending, "near_miss": summary.near_miss,
                                "needs_info": summary.needs_info},
                    "results": [r.as_dict() for r in results]})
