"""Enterprise staff: questionnaire, matching results, PDFs and submissions."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, g, make_response, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from portal.clock import today
from portal.extensions import db
from portal.policy.catalog import catalog
from portal.policy.flow import APPLICATION_STEP, application_fields, relevance, steps_for
from portal.policy.matching import by_lead_unit, grouped, match_profile, summarize
from portal.profile.fields import FIELDS_BY_NAME, OTHER_SECTOR, STEPS, Field, step_of
from portal.profile.validate import DATES_FIELD, AnswerError
from portal.services import answers as answer_service
from portal.services import changes, units
from portal.services import submissions as submission_service
from portal.statuses import MatchStatus, SubmissionStatus
from portal.templating import render
from portal.views.access import access, same_site_path
from portal.views.params import since_or_400, whole_number

bp = Blueprint("enterprise", __name__)

def _enterprise_id() -> int:
    return int(current_user.enterprise_id)


def raw_from_form(form: MultiDict[str, str], f: Field) -> tuple[bool, Any]:
    """(was the question part of the form?, raw value) — checkbox groups post nothing when empty."""
    if f.kind == "multi":
        if f"{f.name}__present" not in form:
            return False, None
        return True, form.getlist(f.name)
    if f.name not in form:
        return False, None
    return True, form.get(f.name)


def dates_from_form(form: MultiDict[str, str]) -> tuple[bool, dict[str, str] | None]:
    if "milestones__present" not in form:
        return False, None
    codes = FIELDS_BY_NAME["milestones"].option_codes()
    return True, {c: form.get(f"date__{c}", "") for c in codes if form.get(f"date__{c}")}


def milestones_with_dates(ticked: list[str], dates: dict[str, str] | None) -> list[str]:
    """A date typed beside a milestone means it was reached: tick it rather than drop the date."""
    codes = FIELDS_BY_NAME["milestones"].option_codes()
    return [c for c in codes if c in ticked or (dates and c in dates)]


def _base_version(form: MultiDict[str, str], name: str) -> int | None:
    return whole_number(form.get(f"v__{name}", ""))


def _context(errors: dict[str, str] | None = None, conflicts: dict[str, Any] | None = None) -> dict[str, Any]:
    eid = _enterprise_id()
    profile = answer_service.profile_of(db.session, eid)
    asked = relevance(profile, today())  # once per request: steps and offered options both read it
    return {"profile": profile, "versions": answer_service.versions_of(db.session, eid),
            "steps": steps_for(profile, today(), asked), "fields": FIELDS_BY_NAME, "errors": errors or {},
            "conflicts": conflicts or {}, "dates_field": DATES_FIELD,
            "offers": asked.offers, "not_covered": _not_covered(profile)}


def _not_covered(profile: dict[str, Any]) -> bool:
    """Only "other" industries chosen: the five documents concern the 医药健康 industry alone."""
    return profile.get("sectors") == [OTHER_SECTOR]


def _application_step() -> tuple[Any, list[str]]:
    return next(s for s in STEPS if s.code == APPLICATION_STEP), application_fields()


def _step_questions(profile: dict[str, Any], code: str) -> list[str] | None:
    """The questions one step asks for this profile (None for the form details or a step not shown)."""
    if code == APPLICATION_STEP:
        return None
    return next((names for s, names in steps_for(profile, today()) if s.code == code), None)


@bp.get("/app")
@access("enterprise")
def dashboard():
    """Enterprise home: questionnaire progress, best matches, submissions."""
    eid = _enterprise_id()
    profile = answer_service.profile_of(db.session, eid)
    results = match_profile(profile, today())
    steps = steps_for(profile, today())
    asked = [name for _s, names in steps for name in names]
    return render("enterprise/dashboard.html", profile=profile, groups=grouped(results),
                  summary=summarize(results), asked=len(asked), answered=sum(n in profile for n in asked),
                  submissions=submission_service.for_enterprise(db.session, eid), cat=catalog(),
                  status_labels=SubmissionStatus.labels())


@bp.get("/q")
@access("enterprise")
def questionnaire():
    """Start or resume the questionnaire: the first step with an unanswered question, shown here directly
    (a full page, no redirect: its form posts to the step's own URL). All answered: the review."""
    ctx = _context()
    if ctx["not_covered"]:
        return redirect(url_for("enterprise.results"))
    for index, (current, names) in enumerate(ctx["steps"]):
        if any(n not in ctx["profile"] for n in names):
            url = url_for("enterprise.step", code=current.code)
            # The page is that step's: portal.js puts its URL in the address bar (history.replaceState), so a
            # reload or a bookmark returns to it; Content-Location says the same to any other client.
            response = _show_step(current.code, index, current, names, ctx, canonical=url)
            response.headers["Content-Location"] = url
            return response
    return redirect(url_for("enterprise.review"))


def _step_or_404(code: str, steps: list) -> tuple[int, Any, list[str]]:  # type: ignore[type-arg]
    if code == APPLICATION_STEP:
        step, names = _application_step()
        return len(steps), step, names
    for i, (step, names) in enumerate(steps):
        if step.code == code:
            return i, step, names
    if any(s.code == code for s in STEPS):
        return -1, next(s for s in STEPS if s.code == code), []
    abort(404)


def _after(code: str, steps: list, direction: str) -> str:  # type: ignore[type-arg]
    """Where "back" or "next" leads from a step: skipping steps whose questions all fell away."""
    if code == APPLICATION_STEP:
        return same_site_path(request.form.get("next_url"), url_for("enterprise.results"))
    order = [s.code for s in STEPS]
    here = order.index(code)
    with_questions = [s.code for s, names in steps if names]
    if direction == "back":
        earlier = [c for c in with_questions if order.index(c) < here]
        return url_for("enterprise.step", code=earlier[-1]) if earlier else url_for("enterprise.dashboard")
    later = [c for c in with_questions if order.index(c) > here]
    # The last step leads straight to the results; "查看全部回答" stays one tap away on every step.
    return url_for("enterprise.step", code=later[0]) if later else url_for("enterprise.results")


def _go_to(url: str):  # type: ignore[no-untyped-def]
    """Redirect; a script's step submit (X-Requested-With: fetch) gets 204 + X-Location instead.

    The script follows it itself, so a flash set for the next page is not used up by the fetch.
    """
    if request.headers.get("X-Requested-With") == "fetch":
        response = current_app.response_class(status=204)
        response.headers["X-Location"] = url
        return response
    return redirect(url)


@bp.route("/q/<code>", methods=["GET", "POST"])
@access("enterprise")
def step(code: str):
    """One questionnaire step; POST saves every answer of the step, then moves on."""
    errors: dict[str, str] = {}
    conflicts: dict[str, Any] = {}
    if request.method == "POST":
        ctx = _context()
        index, _step, names = _step_or_404(code, ctx["steps"])
        values, bases = {}, {}
        for name in names:
            present, raw = raw_from_form(request.form, FIELDS_BY_NAME[name])
            if present:
                values[name], bases[name] = raw, _base_version(request.form, name)
        if "milestones" in names:
            present, raw_dates = dates_from_form(request.form)
            if present:
                values[DATES_FIELD], bases[DATES_FIELD] = raw_dates, _base_version(request.form, DATES_FIELD)
                if "milestones" in values:
                    values["milestones"] = milestones_with_dates(values["milestones"] or [], raw_dates)
        results, errors = answer_service.save_many(db.session, _enterprise_id(), current_user.id, values, bases,
                                                   today())
        conflicts = {r.field: r for r in results if r.conflict}
        if not errors and not conflicts:
            ctx = _context()  # answers may have changed which questions remain
            going_on = request.form.get("go", "next") != "back"
            if ctx["not_covered"] and going_on:
                return _go_to(url_for("enterprise.results"))
            now = next((n for s, n in ctx["steps"] if s.code == code), [])
            added = [n for n in now if n not in names and n not in ctx["profile"]]
            if going_on and added:
                # Without JavaScript the page could not show them as the answers came in: show them now.
                flash(ngettext("根据您刚才的回答，本页新增了 %(num)s 个问题，请补充后继续。",
                               "根据您刚才的回答，本页新增了 %(num)s 个问题，请补充后继续。", len(added)))
                return _go_to(url_for("enterprise.step", code=code) + f"#q-{added[0]}")
            return _go_to(_after(code, ctx["steps"], request.form.get("go", "next")))
    ctx = _context(errors, conflicts)
    index, current_step, names = _step_or_404(code, ctx["steps"])
    if index < 0:
        flash(_("根据您之前的回答，这一步无需填写。"))
        return redirect(url_for("enterprise.questionnaire"))
    if not names and request.method == "GET":
        # Every question of this step fell away with the answers given: go on without a blank page.
        return redirect(_after(code, ctx["steps"], request.args.get("go", "next")))
    if request.method == "POST":
        # Keep what the user typed beside the error; nothing invalid was stored.
        ctx["typed"] = request.form
    return _show_step(code, index, current_step, names, ctx)


def _show_step(code: str, index: int, current_step: Any, names: list[str], ctx: dict[str, Any],  # type: ignore[no-untyped-def]
               canonical: str | None = None):
    """The step page (or its htmx block): at /q/<code>, and at /q for the step to resume at."""
    codes = [s.code for s, _names in ctx["steps"]]
    # Where the step's buttons lead, for a phone that moves on offline (the pages come from its cache).
    ahead = same_site_path(request.args.get("next"), url_for("enterprise.results")) \
        if code == APPLICATION_STEP else _after(code, ctx["steps"], "next")
    return render("enterprise/step.html", block="step", step=current_step, names=names, index=index,
                  total=len(codes), prev_code=codes[index - 1] if 0 < index <= len(codes) else None,
                  application=code == APPLICATION_STEP, next_url=request.args.get("next", ""),
                  ahead=ahead, behind=None if code == APPLICATION_STEP else _after(code, ctx["steps"], "back"),
                  canonical=canonical, status=422 if ctx["errors"] or ctx["conflicts"] else 200, **ctx)


@bp.post("/q/answer/<name>")
@access("enterprise")
def autosave(name: str):
    """Autosave one answer as it is given (htmx); returns the question with its new version."""
    if name not in FIELDS_BY_NAME:
        abort(404)
    f = FIELDS_BY_NAME[name]
    present, raw = raw_from_form(request.form, f)
    errors: dict[str, str] = {}
    conflicts: dict[str, Any] = {}
    code = step_of(name).code
    before = _step_questions(answer_service.profile_of(db.session, _enterprise_id()), code)
    if name == "milestones" and present:
        raw = milestones_with_dates(raw or [], dates_from_form(request.form)[1])
    if present:
        try:
            result = answer_service.save_answer(db.session, _enterprise_id(), current_user.id, name, raw,
                                                _base_version(request.form, name), today())
            if result.conflict:
                conflicts[name] = result
        except AnswerError as exc:
            errors[name] = str(exc)
    if name == "milestones":
        present_dates, raw_dates = dates_from_form(request.form)
        if present_dates:
            try:
                answer_service.save_answer(db.session, _enterprise_id(), current_user.id, DATES_FIELD, raw_dates,
                                           None, today())
            except AnswerError as exc:
                errors[name] = str(exc)
    ctx = _context(errors, conflicts)
    if errors or conflicts:
        ctx["typed"] = request.form
    response = render("enterprise/_question.html", name=name, saved=not errors and not conflicts,
                      status=422 if errors else (409 if conflicts else 200), **ctx)
    after = next((names for s, names in ctx["steps"] if s.code == code), None)
    if before is not None and after is not None and after != before:
        # This answer changed which questions the step asks: the page reloads the step's questions.
        response.headers["HX-Trigger"] = "step-changed"
    return response


@bp.get("/q/sync")
@access("enterprise")
def sync():
    """Answers changed on another device after feed cursor `since` (htmx polling), as out-of-band swaps."""
    since = since_or_400()
    try:
        page = changes.read(db.session, changes.viewer_of(current_user), since, changes.MAX_LIMIT, ("answer",))
    except changes.CursorExpired:
        return _no_content(refresh=True)  # a page open for months: reloading it is simpler than catching up
    if not page.changes:
        return _no_content()
    ctx = _context()  # read after the feed: at least as new as every change listed
    shown = set(request.args.getlist("shown"))
    fields = dict.fromkeys(str(c["data"].get("field", "")) for c in page.changes)
    # The page sends the version it holds of each question; an answer this page saved itself
    # already carries that version, so echoing it back would only disturb the user.
    names = [n for n in fields if n in FIELDS_BY_NAME and (not shown or n in shown)
             and request.args.get(f"v__{n}") != str(ctx["versions"].get(n, 0))]
    current = next((s for s in STEPS if s.code == request.args.get("step")), None)
    response = render("enterprise/_sync.html", changed=names, answers_cursor=page.next_cursor, step=current, **ctx)
    asked = _step_questions(ctx["profile"], current.code) if current and shown else None
    if asked is not None and set(asked) != shown:
        # Another device's answer changed which questions this step asks: the page reloads them.
        response.headers["HX-Trigger"] = "step-changed"
    return response


@bp.get("/q/review")
@access("enterprise")
def review():
    """Check your answers, with a change link per answer."""
    return render("enterprise/review.html", **_context())


@bp.get("/results")
@access("enterprise")
def results():
    """Matched measures with reasons, maximum support, validity and whom to contact."""
    profile = answer_service.profile_of(db.session, _enterprise_id())
    matched = match_profile(profile, today())
    groups = grouped(matched)
    applications = [r for r in groups[MatchStatus.ELIGIBLE] if not r.measure.is_information]
    # Information (首违不罚、无事不扰…) is shown with the condition it states, never asked about.
    information = [r for r in matched
                   if r.measure.is_information and r.status in (MatchStatus.ELIGIBLE, MatchStatus.NEEDS_INFO)]
    for status in (MatchStatus.ELIGIBLE, MatchStatus.NEAR_MISS, MatchStatus.NEEDS_INFO):
        groups[status] = [r for r in groups[status] if not r.measure.is_information]
    unit_names = {n for r in matched if r.status in (MatchStatus.ELIGIBLE, MatchStatus.NEAR_MISS)
                  for n in (*r.lead_units, *r.measure.service_points)}
    contacts = units.views_by_key(db.session, unit_names)
    missing_identity = [n for n in application_fields() if n not in profile and FIELDS_BY_NAME[n].required]
    return render("enterprise/results.html", block="results", groups=groups, summary=summarize(matched),
                  by_unit=by_lead_unit(applications), information=information, profile=profile,
                  contacts=contacts, cat=catalog(), not_covered=_not_covered(profile),
                  missing_identity=missing_identity, show=request.args.get("show", ""))


# -- live updates from the change feed (questionnaire sync, results and check-answers banners) ----------
LIVE_PAGES = ("enterprise.questionnaire", "enterprise.step", "enterprise.review", "enterprise.results")
REFRESHABLE = {"results": "enterprise.results", "review": "enterprise.review"}
UPDATE_ENTITIES = ("answer",)


def _no_content(refresh: bool = False):  # type: ignore[no-untyped-def]
    response = make_response("", 204)
    response.vary.add("HX-Request")
    if refresh:
        response.headers["HX-Refresh"] = "true"
    return response


@bp.before_request
def _answers_cursor_first() -> None:
    """Pages that follow the feed read its cursor before any answer: a change in between is sent again, not lost."""
    if request.endpoint in LIVE_PAGES and current_user.is_authenticated and current_user.role == "enterprise":
        g.answers_cursor = changes.head(db.session)


@bp.context_processor
def _feed_cursor() -> dict[str, Any]:
    return {"answers_cursor": g.get("answers_cursor", 0)}


@bp.get("/app/updates")
@access("enterprise")
def updates():
    """Whether answers changed elsewhere since the page's cursor (htmx poll): 204, or a banner to refresh."""
    since, entity = whole_number(request.args.get("since")), request.args.get("entity", "answer")
    page = request.args.get("page", "results")
    if since is None or entity not in UPDATE_ENTITIES or page not in REFRESHABLE:
        abort(400)
    try:
        changed = bool(changes.read(db.session, changes.viewer_of(current_user), since, 1, (entity,)).changes)
    except changes.CursorExpired:
        changed = True  # rows it would need are gone: something may have changed
    if not changed:
        return _no_content()
    show = "all" if page == "results" and request.args.get("show") == "all" else None
    return render("enterprise/_updated_elsewhere.html", page=page,
                  refresh_url=url_for(REFRESHABLE[page], show=show))
