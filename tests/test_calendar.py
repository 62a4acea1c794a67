"""Validity reminders: 30 and 7 days before a measure ends, to enterprises eligible for it, once each."""

from __future__ import annotations

import datetime as dt
import json
import threading
from typing import Any

import pytest
from flask import Flask
from sqlmodel import col, select

from portal.extensions import db
from portal.models import Enterprise, Notification, User, ValidityReminder
from portal.policy.catalog import catalog
from portal.policy.records import Catalog
from portal.services import calendar, notifications
from portal.services.calendar import ReminderSummary, lead_due, send_validity_reminders
from tests.factories import make_user

END = dt.date(2026, 12, 31)  # document 002 (documents.yaml: valid_until)
MEASURE = "d002-06"  # 医疗器械与制药设备研发产业化: for firms in 长春新区 of the named sectors
IN_NEW_AREA = {"location": "changchun_new_area", "sectors": ["ivd"]}  # eligible (the measure's own test case)
ELSEWHERE = {"location": "changchun_other", "sectors": ["medical_device"]}  # not eligible (ditto)


def day(days_before_end: int) -> dt.date:
    return END - dt.timedelta(days=days_before_end)


def one_measure() -> Catalog:
    """The bundled catalog with only the one measure, so counts are exact."""
    cat = catalog()
    return Catalog(documents=cat.documents, measures={MEASURE: cat.measures[MEASURE]}, units=cat.units)


def set_profile(app: Flask, enterprise_id: int, profile: dict[str, Any]) -> None:
    with app.app_context(), db.standalone() as session:
        enterprise = session.get(Enterprise, enterprise_id)
        assert enterprise is not None
        enterprise.profile_json = json.dumps(profile, ensure_ascii=False)
        session.add(enterprise)
        session.commit()


def firm(app: Flask, profile: dict[str, Any]) -> dict[str, Any]:
    user = make_user(app, "enterprise")
    set_profile(app, user["enterprise_id"], profile)
    return user


def send(app: Flask, today: dt.date, cat: Catalog | None = None) -> ReminderSummary:
    with app.app_context(), db.standalone() as session:
        return send_validity_reminders(session, today, cat=cat or one_measure())


def notices(app: Flask, user_id: int) -> list[Notification]:
    with app.app_context(), db.standalone() as session:
        query = select(Notification).where(Notification.user_id == user_id).order_by(col(Notification.id))
        return list(session.exec(query))


def reminders(app: Flask) -> list[tuple[int, str, dt.date, int]]:
    with app.app_context(), db.standalone() as session:
        rows = session.exec(select(ValidityReminder).order_by(col(ValidityReminder.id)))
        return [(r.enterprise_id, r.measure_id, r.valid_until, r.days_before) for r in rows]


@pytest.mark.parametrize(("days_left", "lead"), [(31, None), (30, 30), (8, 30), (7, 7), (1, 7), (0, 7), (-1, None)])
def test_lead_time_due(days_left: int, lead: int | None) -> None:
    assert lead_due(days_left) == lead


def test_reminder_schedule_with_a_fixed_date(app: Flask) -> None:
    eligible, other = firm(app, IN_NEW_AREA), firm(app, ELSEWHERE)

    first = send(app, day(31))
    assert first.measures == [] and first.sent == {30: 0, 7: 0}
    assert notices(app, eligible["id"]) == []

    at_30 = send(app, day(30))
    assert at_30.measures == [MEASURE] and at_30.sent == {30: 1, 7: 0} and at_30.notified_users == 1
    [note] = notices(app, eligible["id"])
    assert "医疗器械与制药设备研发产业化" in note.message and "2026年12月31日" in note.message
    assert "还剩 30 天" in note.message and catalog().measures[MEASURE].citation in note.message
    assert note.link == f"/measures/{MEASURE}"

    again = send(app, day(30))  # a second run the same day
    assert again.sent == {30: 0, 7: 0} and again.already_sent == 1
    at_29 = send(app, day(29))
    assert at_29.sent == {30: 0, 7: 0} and at_29.already_sent == 1
    assert len(notices(app, eligible["id"])) == 1

    at_7 = send(app, day(7))
    assert at_7.sent == {30: 0, 7: 1}
    assert "还剩 7 天" in notices(app, eligible["id"])[-1].message
    last_day = send(app, day(0))
    assert last_day.sent == {30: 0, 7: 0} and last_day.already_sent == 1
    after_end = send(app, day(-1))
    assert after_end.measures == []

    assert len(notices(app, eligible["id"])) == 2
    assert notices(app, other["id"]) == []  # not eligible: never reminded
    eid = eligible["enterprise_id"]
    assert reminders(app) == [(eid, MEASURE, END, 30), (eid, MEASURE, END, 7)]


def test_a_job_that_missed_the_30_day_window_sends_only_the_7_day_reminder(app: Flask) -> None:
    eligible = firm(app, IN_NEW_AREA)
    summary = send(app, day(5))
    assert summary.sent == {30: 0, 7: 1}
    [note] = notices(app, eligible["id"])
    assert "还剩 5 天" in note.message
    assert reminders(app) == [(eligible["enterprise_id"], MEASURE, END, 7)]
    assert "今天是最后一天" in calendar.reminder_text(catalog().measures[MEASURE], 0)


def test_every_eligible_measure_of_the_real_catalog_is_reminded(app: Flask) -> None:
    eligible, other = firm(app, IN_NEW_AREA), firm(app, ELSEWHERE)
    with app.app_context(), db.standalone() as session:
        summary = send_validity_reminders(session, day(30))
    assert {m.id for m in catalog().measures_of("d002") if not m.is_information} == set(summary.measures)
    sent = {measure for _, measure, _, _ in reminders(app)}
    assert MEASURE in sent and all(m.startswith("d002-") for m in sent)
    assert len(notices(app, eligible["id"])) == len(sent) == summary.sent[30]
    assert notices(app, other["id"]) == []


def test_email_queued_once_and_sent_after_commit(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[tuple[str, str, str]] = []

    class FakeSMTP:
        def __init__(self, host: str, port: int, timeout: float) -> None:
            pass

        def __enter__(self) -> FakeSMTP:
            return self

        def __exit__(self, *exc: Any) -> None:
            pass

        def send_message(self, msg: Any) -> None:
            sent.append((msg["To"], msg["Subject"], msg.get_content()))

    monkeypatch.setattr(notifications.smtplib, "SMTP", FakeSMTP)
    app.config.update(SMTP_HOST="smtp.example.invalid", PUBLIC_BASE_URL="https://portal.example.cn")
    eligible = firm(app, IN_NEW_AREA)
    firm(app, ELSEWHERE)
    send(app, day(30))
    assert len(sent) == 1
    to, subject, body = sent[0]
    assert to == eligible["email"] and "政策到期提醒" in subject
    assert f"https://portal.example.cn/measures/{MEASURE}" in body
    send(app, day(30))
    send(app, day(20))
    assert len(sent) == 1


def test_a_reminder_recorded_by_a_concurrent_run_is_not_sent_again(app: Flask, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The unique key decides: a run that did not see the other run's row still sends nothing twice."""
    eligible = firm(app, IN_NEW_AREA)
    send(app, day(30))
    monkeypatch.setattr(calendar, "_recorded", lambda session, ids: set())  # as if the row were not committed yet
    summary = send(app, day(30))
    assert summary.sent == {30: 0, 7: 0} and summary.already_sent == 1
    assert len(notices(app, eligible["id"])) == 1


def test_two_runs_at_once_send_each_reminder_once(app: Flask) -> None:
    eligible = firm(app, IN_NEW_AREA)
    barrier = threading.Barrier(2)
    results: list[Any] = []

    def run() -> None:
        with app.app_context(), db.standalone() as session:
            barrier.wait()
            try:
                results.append(send_validity_reminders(session, day(30), cat=one_measure()))
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(isinstance(r, ReminderSummary) for r in results), results
    assert sorted(r.sent[30] for r in results) == [0, 1]
    assert len(notices(app, eligible["id"])) == 1


def set_active(app: Flask, user_id: int, active: bool) -> None:
    with app.app_context(), db.standalone() as session:
        user = session.get(User, user_id)
        assert user is not None
        user.is_active = active
        session.add(user)
        session.commit()


def test_a_firm_without_active_staff_is_reminded_once_someone_is_back(app: Flask) -> None:
    eligible = firm(app, IN_NEW_AREA)
    set_active(app, eligible["id"], False)
    assert send(app, day(30)).enterprises == 0
    assert reminders(app) == []  # nobody was told, so nothing is marked as sent
    set_active(app, eligible["id"], True)
    assert send(app, day(25)).sent == {30: 1, 7: 0}
    assert len(notices(app, eligible["id"])) == 1


def test_reminders_send_command(app: Flask) -> None:
    firm(app, IN_NEW_AREA)
    app.config["PORTAL_TODAY"] = day(30).isoformat()
    result = app.test_cli_runner().invoke(args=["reminders", "send"])
    assert result.exit_code == 0, result.output
    assert "30-day" in result.output and "2026-12-01" in result.output
    assert (MEASURE, 30) in {(m, lead) for _, m, _, lead in reminders(app)}
    app.config["PORTAL_TODAY"] = "2026-06-01"
    quiet = app.test_cli_runner().invoke(args=["reminders", "send"])
    assert quiet.exit_code == 0 and "nothing to send" in quiet.output
