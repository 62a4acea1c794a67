"""Live updates read the change feed: questionnaire sync, results / check-answers banners, notifications badge."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from portal.extensions import db
from portal.models import FeedState
from portal.services import changes
from tests.factories import Browser, enterprise, make_user, reviewer, submission_id, submit

pytestmark = pytest.mark.usefixtures("fake_pdf")  # WeasyPrint is not under test here


def second_device(app: Flask, user: dict[str, Any]) -> Browser:
    device = Browser(app.test_client())
    device.login(user["email"])
    device.get("/app")
    return device


def attr(html: str, pattern: str) -> str:
    match = re.search(pattern, html)
    assert match, f"{pattern!r} not found"
    return match.group(1).replace("&amp;", "&")


def sync_url(html: str) -> str:
    """What the questionnaire page's poll asks, with the questions and versions it would include."""
    url = attr(html, r'id="sync" hx-get="([^"]+)"')
    shown = re.findall(r'name="shown" value="([^"]+)"', html)
    versions = re.findall(r'name="(v__[^"]+)" value="(\d+)"', html)
    return url + "".join(f"&shown={n}" for n in shown) + "".join(f"&{k}={v}" for k, v in versions)


def updates_url(html: str) -> str:
    return attr(html, r'hx-get="(/app/updates\?[^"]+)"')


def badge_url(html: str) -> str:
    return attr(html, r'hx-get="(/notifications/badge\?[^"]+)"')


# -- questionnaire ----------------------------------------------------------------------------
def test_answer_saved_on_one_device_reaches_the_others_questionnaire(logged_in: Browser, app: Flask,
                                                                      enterprise_user: dict) -> None:
    desktop = second_device(app, enterprise_user)
    page = desktop.get("/q/location").get_data(as_text=True)
    poll = sync_url(page)
    assert "since=" in poll and "step=location" in poll
    assert desktop.get(poll).status_code == 204  # nothing changed yet
    assert logged_in.post("/q/answer/location", {"location": "zhonghan_zone", "v__location": "0"}).status_code == 200
    resp = desktop.get(poll)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and resp.vary.find("HX-Request") >= 0
    assert 'id="q-location"' in html and 'hx-swap-oob="true"' in html
    assert 'value="zhonghan_zone" checked' in html and 'name="v__location" value="1"' in html
    # The swapped poll carries the new cursor: asked again, nothing more.
    assert desktop.get(sync_url(html) + "&shown=location&v__location=1").status_code == 204


def test_a_cursor_older_than_the_retention_reloads_the_page(logged_in: Browser, app: Flask) -> None:
    with app.app_context():
        db.session.add(FeedState(name=changes.PRUNED_THROUGH, value=50))
        db.session.commit()
    resp = logged_in.get("/q/sync?since=3")
    assert resp.status_code == 204 and resp.headers.get("HX-Refresh") == "true"


# -- results and check-answers ----------------------------------------------------------------
def test_results_show_a_banner_after_another_devices_change(logged_in: Browser, app: Flask,
                                                            enterprise_user: dict) -> None:
    page = logged_in.get("/results").get_data(as_text=True)
    assert 'role="status"' in page
    poll = updates_url(page)
    assert "entity=answer" in poll and "page=results" in poll
    quiet = logged_in.get(poll)
    assert quiet.status_code == 204 and "HX-Request" in quiet.headers.get("Vary", "")
    second_device(app, enterprise_user).post("/q/answer/location", {"location": "zhonghan_zone"})
    resp = logged_in.get(poll)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "已在其他设备更新" in html and "HX-Request" in resp.headers.get("Vary", "")
    assert '<a href="/results">刷新结果</a>' in html  # a plain link: reloads the page
    # The reloaded page starts from the new cursor: no banner until the next change.
    assert logged_in.get(updates_url(logged_in.get("/results").get_data(as_text=True))).status_code == 204
    # The tab "全部" keeps its filter on refresh.
    everything = logged_in.get("/results?show=all").get_data(as_text=True)
    second_device(app, enterprise_user).post("/q/answer/ownership", {"ownership": "domestic"})
    assert 'href="/results?show=all"' in logged_in.get(updates_url(everything)).get_data(as_text=True)


def test_check_answers_page_shows_the_banner_too(logged_in: Browser, app: Flask, enterprise_user: dict) -> None:
    page = logged_in.get("/q/review").get_data(as_text=True)
    poll = updates_url(page)
    assert "page=review" in poll and logged_in.get(poll).status_code == 204
    second_device(app, enterprise_user).post("/q/answer/location", {"location": "zhonghan_zone"})
    html = logged_in.get(poll).get_data(as_text=True)
    assert "已在其他设备更新" in html and '<a href="/q/review">刷新</a>' in html


def test_updates_refuses_what_it_does_not_serve(logged_in: Browser) -> None:
    assert logged_in.get("/app/updates").status_code == 400
    assert logged_in.get("/app/updates?since=0&entity=notification").status_code == 400
    assert logged_in.get("/app/updates?since=0&page=elsewhere").status_code == 400


# -- notifications badge ----------------------------------------------------------------------
def test_notification_badge_updates_after_a_reviewer_action(app: Flask) -> None:
    _, rev = reviewer(app)
    _, ent = enterprise(app)
    sid = submission_id(submit(ent))
    assert "1 条未读" in ent.get("/app").get_data(as_text=True)  # the receipt
    ent.post("/notifications/read", {"id": "all"})
    page = ent.get("/app").get_data(as_text=True)
    assert 'class="badge"' not in page
    poll = badge_url(page)
    quiet = ent.get(poll)
    assert quiet.status_code == 204 and "HX-Request" in quiet.headers.get("Vary", "")
    assert rev.get(f"/review/{sid}").status_code == 200  # opening it starts the review: 审核中
    resp = ent.get(poll, headers={"HX-Request": "true"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'id="notes-link"' in html and "1 条未读" in html
    assert "<html" not in html  # the link alone, swapped in place
    assert ent.get(badge_url(html)).status_code == 204  # moved on to the new cursor
    # Reading them (on another device) clears the badge on this one too.
    ent.post("/notifications/read", {"id": "all"})
    cleared = ent.get(badge_url(html)).get_data(as_text=True)
    assert 'id="notes-link"' in cleared and 'class="badge"' not in cleared


def test_badge_needs_a_cursor(logged_in: Browser) -> None:
    assert logged_in.get("/notifications/badge").status_code == 400
    assert logged_in.get("/notifications/badge?since=x").status_code == 400


# -- isolation --------------------------------------------------------------------------------
def test_another_enterprise_never_sees_these_changes(logged_in: Browser, app: Flask, enterprise_user: dict) -> None:
    other_user = make_user(app, "enterprise", enterprise="另一家企业")
    other = second_device(app, other_user)
    step = other.get("/q/location").get_data(as_text=True)
    results = other.get("/results").get_data(as_text=True)
    nav = other.get("/app").get_data(as_text=True)
    logged_in.post("/q/answer/location", {"location": "zhonghan_zone"})
    logged_in.post("/q/answer/ownership", {"ownership": "domestic"})
    assert other.get(sync_url(step)).status_code == 204
    assert other.get(updates_url(results)).status_code == 204
    assert other.get(badge_url(nav)).status_code == 204
    # Even asked from the very beginning of the feed, nothing of the first enterprise comes back.
    assert other.get("/q/sync?since=0&step=location").status_code == 204
    assert other.get("/app/updates?since=0&entity=answer&page=results").status_code == 204
    assert other.get("/notifications/badge?since=0").status_code == 204
