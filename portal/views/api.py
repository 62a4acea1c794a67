"""JSON API v1: measures, units, profile schema, stateless matching, and the signed-in account's
change feed and writes (answers, reviewer actions) for other devices and the desktop client.

Signed in by cookie (the browser) or by a personal device token (`Authorization: Bearer`). Writes
take an `Idempotency-Key` and, on versioned objects, `If-Match: "<version>"`: a stale version is
412, a missing one 428, never a silent last-write-wins.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from typing import Any

from flask import Blueprint, Request, Response, abort, current_app, g, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from portal.clock import today
from portal.extensions import csrf, db
from portal.models import Attachment, Submission, User
from portal.policy.matching import match_profile, summarize, total_max_cash
from portal.policy.records import Measure
from portal.profile.fields import FIELDS_BY_NAME
from portal.profile.schema import profile_json_schema
from portal.profile.validate import AnswerError, parse_date, shown_name, validate_profile
from portal.services import answers as answer_service
from portal.services import attachments, changes, frozen_pdfs, idempotency, library, review_actions, tokens, units
from portal.services import submissions as submission_service
from portal.services.openapi import openapi_document
from portal.statuses import Visibility
from portal.views.access import access
from portal.views.params import measure_or_404, whole_number

bp = Blueprint("api", __name__, url_prefix="/api/v1")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
ETAG_RE = re.compile(r'^(?:W/)?"?([0-9]{1,9})"?$')
# A profile is a few kB; nothing the API takes is deeper than {"profile": {"milestone_dates": {...}}}.
MAX_JSON_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 32
MAX_PROBLEMS = 50  # an error lists this many problems and counts the rest: never larger than the request
ERROR_BUDGET = 4096  # bytes of problems a small request may still get back
_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def load_token_user(req: Request) -> User | None:
    """Flask-Login request loader: a Bearer device token signs in one /api/v1 request (no session)."""
    header = req.headers.get("Authorization", "")
    if not req.path.startswith(bp.url_prefix + "/") or not header.startswith("Bearer "):
        return None
    found = tokens.authenticate(db.session, header[len("Bearer "):].strip())
    if found is None:
        return None
    user, token = found
    g.api_token = token
    return user


@bp.before_request
def _writes_need_write_access() -> Response | None:
    """Cookie-signed writes need the CSRF token; token-signed writes need a read-write token."""
    if request.method in SAFE_METHODS or request.endpoint == "api.match_api":
        return None
    if current_user.is_authenticated and "api_token" in g:
        if g.api_token.scope != "write":
            return problem(_("此令牌为只读，不能修改数据；请在账户页创建读写令牌。"), 403)
        return None
    csrf.protect()
    return None


def problem(message: str, status: int, **extra: Any) -> Response:
    response = jsonify({"error": message, "status": status, **extra})
    response.status_code = status
    return response


def _if_match() -> int | None:
    """The version the client based its write on (If-Match: "3"); None when absent or unreadable."""
    raw = request.headers.get("If-Match", "").strip()
    found = ETAG_RE.match(raw)
    return int(found.group(1)) if found else None


class BadJSON(ValueError):
    """A request body the API will not read; `status` is 400 (malformed) or 413 (too large)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@bp.errorhandler(BadJSON)
def _bad_json(exc: BadJSON) -> Response:
    return problem(str(exc), exc.status)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):  # parsers disagree on which duplicate wins: refuse rather than guess
        raise BadJSON(_("JSON 对象中有重复的键。"))
    return out


def _no_constant(name: str) -> Any:
    raise BadJSON(_("JSON 不允许 %(name)s。", name=name))


def _depth(text: str) -> int:
    """Nesting depth, counted in one pass outside strings: json.loads would recurse (RecursionError) first."""
    depth = deepest = 0
    for token in _JSON_TOKENS.finditer(text):
        mark = token.group()
        if mark in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_JSON_DEPTH:
                return deepest
        elif mark in "]}":
            depth -= 1
    return deepest


def parse_json(data: bytes) -> Any:
    """Strict, bounded JSON: size and depth checked before parsing; no duplicate keys, NaN or lone surrogates."""
    if len(data) > MAX_JSON_BYTES:
        raise BadJSON(_("请求体超过 %(n)s KB。", n=MAX_JSON_BYTES // 1024), 413)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadJSON(_("请求体应为 UTF-8 编码的 JSON。")) from exc
    if _depth(text) > MAX_JSON_DEPTH:
        raise BadJSON(_("JSON 嵌套超过 %(n)s 层。", n=MAX_JSON_DEPTH))
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constant)
        json.dumps(value, ensure_ascii=False).encode("utf-8")  # a lone surrogate ("\\ud800") cannot be stored
    except BadJSON:
        raise
    except (ValueError, RecursionError) as exc:
        raise BadJSON(_("请求体不是有效的 JSON。")) from exc
    return value


def _request_json() -> Any:
    """The request body as JSON (parsed once per request); raises BadJSON."""
    if "api_json" not in g:
        g.api_json = parse_json(request.get_data(cache=True))
    return g.api_json


def _json_body() -> dict[str, Any] | None:
    body = _request_json()
    return body if isinstance(body, dict) else None


def problems_response(message: str, problems: list[dict[str, str]], status: int = 422) -> Response:
    """422 listing problems: at most MAX_PROBLEMS, and no more than fit in the request's own size
    (or ERROR_BUDGET for a small request), with the full count; 100,000 unknown keys once made 6.8 MB."""
    budget = max(request.content_length or 0, ERROR_BUDGET) - 200  # room for the error, counts and status
    shown: list[dict[str, str]] = []
    for item in problems[:MAX_PROBLEMS]:
        budget -= len(json.dumps(item)) + 1  # as jsonify writes it (ASCII-escaped)
        if budget < 0:
            break
        shown.append(item)
    extra: dict[str, Any] = {"problems": shown}
    if len(shown) < len(problems):
        extra.update(problem_count=len(problems), problems_truncated=True)
    return problem(message, status, **extra)


def _once(write: Any) -> Response:
    """Run a write under the request's Idempotency-Key and answer with its (possibly stored) response."""
    fingerprint = idempotency.request_hash(request.method, request.path,
                                           {"body": _request_json(), "if_match": _if_match()})
    try:
        outcome = idempotency.run_once(db.session, current_user.id, request.headers.get("Idempotency-Key"),
                                       fingerprint, write)
    except idempotency.KeyProblem as exc:
        return problem(str(exc), exc.status)
    response = jsonify(outcome.body)
    response.status_code = outcome.status
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    version = outcome.body.get("version") if isinstance(outcome.body, dict) else None
    if outcome.status == 200 and isinstance(version, int):
        response.set_etag(str(version))
    return response


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
    day = today()
    return jsonify([measure_json(m, day) for m in library.search(library.LibraryFilter.from_args(request.args))])


@bp.get("/measures/<measure_id>")
@access("public")
def measure(measure_id: str):
    """One measure."""
    return jsonify(measure_json(measure_or_404(measure_id), today()))


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
    return jsonify(profile_json_schema(today()))


@bp.get("/openapi.json")
@access("public")
def openapi():
    """OpenAPI 3.1 description of this API."""
    return jsonify(openapi_document(today()))


@bp.post("/match")
@access("public")
def match_api():
    """Match a profile (JSON) against every enterprise-facing measure; 422 lists each problem."""
    try:
        body = _request_json()
    except BadJSON as exc:
        # 422 as for any unreadable profile (the published contract of /match); 413 when too large to read
        status = 413 if exc.status == 413 else 422
        return problems_response(str(exc), [{"field": "", "message": _("无法解析 JSON")}], status)
    if not isinstance(body, dict):
        return problems_response(_("请求体应为 JSON 对象"),
                                 [{"field": "", "message": _("应为 %(shape)s", shape='{"profile": {...}}')}])
    # {"profile": {...}, "date": "YYYY-MM-DD"}; a bare profile (with an optional top-level date) still works.
    if "profile" in body:
        raw_profile = body["profile"]
        extra = [k for k in body if k not in ("profile", "date")]
        if extra:
            return problems_response(_("请求体只能包含 profile 和 date"), [
                {"field": shown_name(k), "message": _("未知字段：%(name)s", name=shown_name(k))} for k in extra])
    else:
        raw_profile = {k: v for k, v in body.items() if k != "date"}
    day = today()
    if "date" in body:
        asked = parse_date(body["date"])
        if asked is None:
            return problems_response(_("date 应为 YYYY-MM-DD"), [{"field": "date", "message": _("日期格式无效")}])
        day = asked
    profile, problems = validate_profile(raw_profile, day)
    if problems:
        return problems_response(_("profile 未通过校验"), problems)
    results = match_profile(profile, day)
    summary = summarize(results)
    return jsonify({"date": day.isoformat(), "total_max_cash_wan": total_max_cash(results),
                    "summary": {"eligible_by_kind": summary.by_kind, "cash_wan": summary.cash_wan,
                                "ranges": summary.ranges, "city_share_computed_wan": summary.city_computed_wan,
                                "city_share_pending": summary.city_pending, "near_miss": summary.near_miss,
                                "needs_info": summary.needs_info},
                    "results": [r.as_dict() for r in results]})


# -- the signed-in account: feed, writes, files ------------------------------------------------
@bp.get("/me")
@access("login")
def me():
    """Who this request is signed in as, and with what token scope."""
    token = g.get("api_token")
    return jsonify({"id": current_user.id, "email": current_user.email, "name": current_user.name,
                    "role": current_user.role, "enterprise_id": current_user.enterprise_id,
                    "unit_id": current_user.service_unit_id, "scope": token.scope if token else "session"})


@bp.get("/changes")
@access("login")
def change_feed():
    """Changes after `since` that this account may see: {changes, next_cursor, has_more}; 410 to resync."""
    since_raw, limit_raw = request.args.get("since", "0"), request.args.get("limit", str(changes.DEFAULT_LIMIT))
    since = whole_number(since_raw)
    if since is None:
        return problem(_("since 应为非负整数（上次返回的 next_cursor；首次同步为 0）。"), 400)
    limit = whole_number(limit_raw)
    if limit is None or not 1 <= limit <= changes.MAX_LIMIT:
        return problem(_("limit 应为 1–%(max)s 的整数。", max=changes.MAX_LIMIT), 400)
    wanted = tuple(e for e in request.args.get("entity", "").split(",") if e)
    unknown = [e for e in wanted if e not in changes.ENTITIES]
    if unknown:
        return problem(_("未知的 entity：%(names)s", names=", ".join(unknown)[:100]), 400)
    try:
        page = changes.read(db.session, changes.viewer_of(current_user), since, limit, wanted)
    except changes.CursorExpired:
        return problem(_("游标早于保留期（%(days)s 天），其间的删除记录已清理；请清空本地副本后从 since=0 重新同步。",
                         days=changes.RETENTION_DAYS), 410, resync_from=0)
    response = jsonify({"changes": page.changes, "next_cursor": page.next_cursor, "has_more": page.has_more})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.put("/answers/<name>")
@access("enterprise")
def put_answer(name: str):
    """Save one answer: body {"value": ...}, If-Match: "<version>" ("0" for a first answer)."""
    if name not in FIELDS_BY_NAME:
        return problem(_("未知的问题：%(name)s", name=name[:64]), 404)
    body = _json_body()
    if body is None or "value" not in body:
        return problem(_("请求体应为 JSON 对象 %(shape)s。", shape='{"value": ...}'), 422)
    base = _if_match()
    if base is None:
        return problem(_('需要请求头 If-Match: "<version>"（该回答当前的版本；从未回答过为 "0"）。'), 428)
    eid, uid = current_user.enterprise_id, current_user.id

    def write() -> tuple[dict[str, Any], int]:
        try:
            result = answer_service.save_answer(db.session, eid, uid, name, body["value"], base, today())
        except AnswerError as exc:
            return {"error": str(exc), "field": name, "status": 422}, 422
        if result.conflict:
            return {"error": _("该回答已在其他设备上修改，未保存本次修改。"), "status": 412, "field": name,
                    "current": {"value": result.theirs, "version": result.version}}, 412
        return {"field": name, "value": result.value, "version": result.version}, 200

    return _once(write)


def _submission_json(sub: Submission) -> dict[str, Any]:
    document = frozen_pdfs.frozen_document(db.session, sub)
    return changes.submission_payload(changes.columns_of(sub),
                                      {"short_code": document.short_code, "sha256": document.sha256}
                                      if document else None)


@bp.post("/submissions/<int:submission_id>/actions")
@access("reviewer")
def submission_action(submission_id: int):
    """A reviewer action (start_review, return, approve, reject, comment, forward) on a queued application."""
    sub = submission_service.get_for_unit(db.session, submission_id, current_user.service_unit_id)
    if sub is None:
        return problem(_("本单位没有这条申请。"), 404)
    body = _json_body()
    if body is None:
        shape = '{"action": ..., "comment": ..., "visibility": ...}'
        return problem(_("请求体应为 JSON 对象 %(shape)s。", shape=shape), 422)
    base = _if_match()
    if base is None:
        return problem(_('需要请求头 If-Match: "<version>"（同步时看到的申请版本）。'), 428)
    reviewer = current_user._get_current_object()

    def write() -> tuple[dict[str, Any], int]:
        fields = {k: body.get(k) for k in ("action", "comment", "visibility", "to_unit")}
        if any(v is not None and not isinstance(v, str) for v in fields.values()):
            return {"error": _("action、comment、visibility、to_unit 应为字符串。"), "status": 422}, 422
        try:
            done = review_actions.review(db.session, sub, reviewer, fields["action"] or "", fields["comment"],
                                             fields["visibility"] or Visibility.ENTERPRISE, fields["to_unit"],
                                             expected_version=base)
        except submission_service.SubmissionError as exc:
            out: dict[str, Any] = {"error": str(exc), "status": exc.status}
            if exc.status in (409, 412):  # someone acted first: say what they left, so the client can report it
                out["current"] = _submission_json(db.session.get(Submission, submission_id))
            return out, exc.status
        return _submission_json(done), 200

    return _once(write)


def _file(data: bytes, mimetype: str, name: str) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["X-Content-SHA256"] = hashlib.sha256(data).hexdigest()
    response.headers["Content-Disposition"] = attachments.content_disposition(name, name.encode("ascii", "replace")
                                                                              .decode().replace("?", "_"))
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _visible_submission(submission_id: int) -> Submission:
    user = current_user
    if user.role == "enterprise":
        sub = submission_service.get_for_enterprise(db.session, submission_id, user.enterprise_id)
    elif user.role == "reviewer":
        sub = submission_service.get_for_unit(db.session, submission_id, user.service_unit_id)
    else:
        sub = db.session.get(Submission, submission_id)
    if sub is None:
        abort(404)
    return sub


@bp.get("/submissions/<int:submission_id>/application.pdf")
@access("login")
def submission_pdf(submission_id: int):
    """The application PDF frozen at submission, with its SHA-256 in X-Content-SHA256."""
    frozen = frozen_pdfs.frozen_pdf(db.session, _visible_submission(submission_id))
    if frozen is None:
        abort(404)
    document, data = frozen
    return _file(data, "application/pdf", f"application-{submission_id}-{document.short_code}.pdf")


@bp.get("/attachments/<int:attachment_id>")
@access("login")
def attachment_file(attachment_id: int):
    """An attachment of an application this account may see, with its SHA-256 in X-Content-SHA256."""
    att = db.session.get(Attachment, attachment_id)
    if att is None:
        abort(404)
    sub = _visible_submission(att.submission_id)
    path = attachments.path_of(att, current_app.config["UPLOAD_DIR"]) if sub else None
    if path is None:
        abort(404)
    return _file(path.read_bytes(), att.content_type,
                 f"attachment-{att.id}{attachments.EXTENSION_OF.get(att.content_type, '')}")
