"""Staff accounts: the admin page (invite a reviewer for a unit, disable, re-enable) and `portal users`."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from sqlmodel import select

from portal.extensions import db
from portal.models import AuditLog, User, UserSession
from portal.services import accounts
from portal.services.notifications import Mail
from tests.factories import PASSWORD, Browser, make_user

UNIT = "sp-zhonghan-station"


@pytest.fixture()
def mails(monkeypatch: pytest.MonkeyPatch) -> list[Mail]:
    sent: list[Mail] = []
    monkeypatch.setattr(accounts, "send_mail", sent.append)
    return sent


def signed_in(app: Flask, role: str, unit: str | None = None) -> tuple[dict[str, Any], Browser]:
    user = make_user(app, role, unit=unit)
    browser = Browser(app.test_client())
    browser.login(user["email"])
    browser.get("/")
    return user, browser


def audit_actions(app: Flask, object_id: Any | None = None) -> list[str]:
    with app.app_context():
        query = select(AuditLog).order_by(AuditLog.id)
        if object_id is not None:
            query = query.where(AuditLog.object_id == str(object_id))
        return [row.action for row in db.session.exec(query)]


def path_of(link: str) -> str:
    return "/" + link.split("/", 3)[3]


# -- the admin page -------------------------------------------------------------------------
def test_staff_page_lists_reviewers_and_admins_with_unit_and_status(app: Flask) -> None:
    admin, browser = signed_in(app, "admin")
    reviewer = make_user(app, "reviewer", unit=UNIT)
    enterprise = make_user(app, "enterprise")
    with app.app_context():
        user = db.session.get(User, reviewer["id"])
        user.is_active = False
        db.session.add(user)
        db.session.commit()
    page = browser.get("/admin/staff").get_data(as_text=True)
    assert reviewer["email"] in page and admin["email"] in page and enterprise["email"] not in page
    assert "中韩" in page and "已停用" in page and "重新启用" in page
    assert "/admin/staff" in browser.get("/admin/").get_data(as_text=True)


def test_admin_invites_a_reviewer_for_a_unit(app: Flask, mails: list[Mail]) -> None:
    admin, browser = signed_in(app, "admin")
    resp = browser.post("/admin/staff/invite", {"email": "New.Reviewer@example.com", "unit": UNIT})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "邀请已发送到 new.reviewer@example.com" in page
    link = page.split('class="copy" readonly value="', 1)[1].split('"', 1)[0]
    assert [m.to for m in mails] == ["new.reviewer@example.com"] and link in mails[0].body
    assert "new.reviewer@example.com" in browser.get("/admin/staff").get_data(as_text=True)  # pending
    invitee = Browser(app.test_client())
    form = invitee.get(path_of(link)).get_data(as_text=True)
    assert "审核员" in form and "中韩" in form
    joined = invitee.post(path_of(link), {"name": "新审核员", "password": PASSWORD, "password2": PASSWORD})
    assert joined.status_code == 302 and joined.headers["Location"].endswith("/review/")
    assert invitee.get("/review/").status_code == 200
    with app.app_context():
        user = db.session.exec(select(User).where(User.email == "new.reviewer@example.com")).one()
        assert (user.role, user.service_unit_id, user.enterprise_id) == ("reviewer", UNIT, None)
        assert user.email_verified_at is not None
        invite_row = db.session.exec(select(AuditLog).where(AuditLog.action == "account.invite_staff")).one()
        assert invite_row.actor_id == admin["id"]
    assert "account.accept_invite" in audit_actions(app)


def test_staff_invitation_needs_a_known_unit_and_a_new_address(app: Flask, mails: list[Mail]) -> None:
    _, browser = signed_in(app, "admin")
    existing = make_user(app, "enterprise")
    no_unit = browser.post("/admin/staff/invite", {"email": "r@example.com", "unit": ""})
    bad_unit = browser.post("/admin/staff/invite", {"email": "r@example.com", "unit": "no-such-unit"})
    taken = browser.post("/admin/staff/invite", {"email": existing["email"], "unit": UNIT})
    assert no_unit.status_code == bad_unit.status_code == taken.status_code == 422
    assert "有效的受理单位" in bad_unit.get_data(as_text=True) and "已有账号" in taken.get_data(as_text=True)
    assert mails == []


def test_disabling_ends_the_users_sessions_and_enabling_restores_sign_in(app: Flask) -> None:
    admin, browser = signed_in(app, "admin")
    reviewer, reviewer_browser = signed_in(app, "reviewer", unit=UNIT)
    assert reviewer_browser.get("/review/").status_code == 200
    resp = browser.post("/admin/staff/disable", {"user_id": reviewer["id"]})
    assert resp.status_code == 303
    assert "已停用" in browser.get("/admin/staff").get_data(as_text=True)
    # The reviewer's open browser is signed out at once, and cannot sign in again.
    assert "/login" in reviewer_browser.get("/review/").headers["Location"]
    again = Browser(app.test_client())
    again.get("/login")
    assert again.post("/login", {"email": reviewer["email"], "password": PASSWORD}).status_code == 401
    with app.app_context():
        rows = db.session.exec(select(UserSession).where(UserSession.user_id == reviewer["id"])).all()
        assert rows and all(row.ended_at is not None and row.ended_reason == "disabled" for row in rows)
        row = db.session.exec(select(AuditLog).where(AuditLog.action == "account.disable")).one()
        assert row.actor_id == admin["id"] and row.object_id == str(reviewer["id"])
    assert browser.post("/admin/staff/enable", {"user_id": reviewer["id"]}).status_code == 303
    again.login(reviewer["email"])
    assert "account.enable" in audit_actions(app, reviewer["id"])


def test_an_admin_cannot_disable_themselves(app: Flask) -> None:
    admin, browser = signed_in(app, "admin")
    page = browser.get("/admin/staff").get_data(as_text=True)
    assert f'name="user_id" value="{admin["id"]}"' not in page  # no button for oneself
    resp = browser.post("/admin/staff/disable", {"user_id": admin["id"]})
    assert resp.status_code == 400 and "不能停用自己的账号" in resp.get_data(as_text=True)
    assert browser.get("/admin/staff").status_code == 200
    assert "account.disable" not in audit_actions(app)


def test_staff_posts_need_csrf_and_an_admin(app: Flask) -> None:
    reviewer = make_user(app, "reviewer", unit=UNIT)
    _, admin_browser = signed_in(app, "admin")
    forged = admin_browser.client.post("/admin/staff/disable", data={"user_id": reviewer["id"]})
    assert forged.status_code == 400
    assert admin_browser.client.post("/admin/staff/invite", data={"email": "x@example.com", "unit": UNIT}
                                     ).status_code == 400
    _, other = signed_in(app, "reviewer", unit=UNIT)
    assert other.post("/admin/staff/disable", {"user_id": reviewer["id"]}).status_code == 403
    assert other.get("/admin/staff").status_code == 403
    assert admin_browser.post("/admin/staff/disable", {"user_id": "999999"}).status_code == 404
    assert admin_browser.post("/admin/staff/disable", {"user_id": "x" * 50}).status_code == 404
    with app.app_context():
        assert db.session.get(User, reviewer["id"]).is_active


# -- `portal users` -------------------------------------------------------------------------
def run(app: Flask, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]  # noqa: A002
    return app.test_cli_runner().invoke(args=["users", *args], input=input)


def test_cli_creates_a_reviewer_with_a_prompted_password(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTAL_ENV", "production")  # unlike `portal seed`, meant for production
    result = run(app, "create", "Rev@Example.com", "--name", "审核员甲", "--role", "reviewer", "--unit", UNIT,
                 input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output and "created rev@example.com" in result.output
    browser = Browser(app.test_client())
    browser.login("rev@example.com")
    assert browser.get("/review/").status_code == 200
    with app.app_context():
        row = db.session.exec(select(AuditLog).where(AuditLog.action == "account.create")).one()
        assert row.actor_id is None and UNIT in row.after_json


def test_cli_refuses_bad_input(app: Flask) -> None:
    existing = make_user(app, "admin")
    cases = [
        (["create", "a@example.com", "--name", "甲", "--role", "reviewer"], "有效的受理单位"),
        (["create", "a@example.com", "--name", "甲", "--role", "reviewer", "--unit", "nope"], "有效的受理单位"),
        (["create", "a@example.com", "--name", "甲", "--role", "admin", "--unit", UNIT], "只有审核员"),
        (["create", "a@example.com", "--name", "甲", "--role", "enterprise", "--enterprise-id", "999999"],
         "已有的企业"),
        (["create", existing["email"], "--name", "甲", "--role", "admin"], "already exists"),
        (["create", "not-an-email", "--name", "甲", "--role", "admin"], "有效的电子邮箱"),
        (["disable", "nobody@example.com"], "no account"),
    ]
    for args, message in cases:
        result = run(app, *args, input=f"{PASSWORD}\n{PASSWORD}\n")
        assert result.exit_code == 1 and message in result.output, (args, result.output)
    weak = run(app, "create", "b@example.com", "--name", "乙", "--role", "admin", input="short\nshort\n")
    assert weak.exit_code == 1 and "至少需要" in weak.output
    with app.app_context():
        assert len(db.session.exec(select(User)).all()) == 1


def test_cli_invite_prints_a_link_and_never_asks_for_a_password(app: Flask) -> None:
    make_user(app, "admin")
    result = run(app, "create", "inv@example.com", "--name", "乙", "--role", "reviewer", "--unit", UNIT, "--invite")
    assert result.exit_code == 0 and "Password" not in result.output
    link = re.search(r"https?://\S+/invite/\S+", result.output)
    assert link
    invitee = Browser(app.test_client())
    invitee.get(path_of(link.group(0)))
    joined = invitee.post(path_of(link.group(0)), {"name": "乙", "password": PASSWORD, "password2": PASSWORD})
    assert joined.status_code == 302
    with app.app_context():
        user = db.session.exec(select(User).where(User.email == "inv@example.com")).one()
        assert (user.role, user.service_unit_id) == ("reviewer", UNIT)


def test_cli_disable_enable_and_role_are_audited(app: Flask) -> None:
    user, browser = signed_in(app, "reviewer", unit=UNIT)
    email = user["email"]
    assert run(app, "disable", email).exit_code == 0
    assert "/login" in browser.get("/review/").headers["Location"]
    assert "already disabled" in run(app, "disable", email).output
    assert run(app, "enable", email).exit_code == 0
    browser.login(email)
    assert browser.get("/review/").status_code == 200
    missing_unit = run(app, "role", email, "reviewer")
    assert missing_unit.exit_code == 1 and "有效的受理单位" in missing_unit.output
    assert run(app, "role", email, "reviewer", "--unit", "jlmpa-legal").exit_code == 0
    promoted = run(app, "role", email, "admin")
    assert promoted.exit_code == 0, promoted.output
    assert "/login" in browser.get("/admin/").headers["Location"]  # a changed role signs the devices out
    browser.login(email)
    assert browser.get("/admin/").status_code == 200
    with app.app_context():
        row = db.session.get(User, user["id"])
        assert (row.role, row.service_unit_id) == ("admin", None)
    assert audit_actions(app, user["id"]).count("account.role") == 2
    assert {"account.disable", "account.enable"} <= set(audit_actions(app, user["id"]))


def test_cli_moves_an_account_to_an_existing_enterprise(app: Flask) -> None:
    staff = make_user(app, "enterprise")
    user = make_user(app, "admin")
    result = run(app, "role", user["email"], "enterprise", "--enterprise-id", str(staff["enterprise_id"]))
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.get(User, user["id"]).enterprise_id == staff["enterprise_id"]
