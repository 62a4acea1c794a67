"""SQLModel tables. Policy measures themselves are data files (portal/policy/data), not rows."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from portal.statuses import Visibility


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


ROLES = ("enterprise", "reviewer", "admin")


class Enterprise(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    # Bumped on every answer change so other devices can ask "anything new since N?".
    answers_revision: int = Field(default=0)
    # Denormalised snapshot of all answers (kept in the same transaction as Answer rows) so
    # matching and bulk re-matching read one row per enterprise.
    profile_json: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    created_at: dt.datetime = Field(default_factory=utcnow)


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    name: str = Field(max_length=100)
    password_hash: str = Field(max_length=255)
    role: str = Field(max_length=20, index=True)
    enterprise_id: int | None = Field(default=None, foreign_key="enterprise.id", index=True)
    service_unit_id: str | None = Field(default=None, max_length=64, index=True)
    is_active: bool = Field(default=True)
    created_at: dt.datetime = Field(default_factory=utcnow)
    # Set when the user opened the link mailed to this address; enterprise staff may submit only then.
    email_verified_at: dt.datetime | None = None
    # Interface language chosen by the user (zh, ko, en; portal/i18n.py); "" follows the browser.
    language: str = Field(default="", max_length=8)

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        # "<id>:<device secret>" once signed in on a device (services/accounts.py); a bare id loads no one.
        return getattr(self, "_device_login", None) or str(self.id)


class Invitation(SQLModel, table=True):
    """An invitation link: a colleague to an enterprise, or (from an administrator) a reviewer for a unit."""

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int | None = Field(default=None, foreign_key="enterprise.id", index=True)
    role: str = Field(default="enterprise", max_length=20)
    service_unit_id: str | None = Field(default=None, max_length=64)
    email: str = Field(max_length=254)
    token_hash: str = Field(max_length=64, unique=True)
    invited_by: int = Field(foreign_key="user.id")
    created_at: dt.datetime = Field(default_factory=utcnow)
    accepted_at: dt.datetime | None = None


class Answer(SQLModel, table=True):
    """One questionnaire answer; versioned per field so devices merge without losing edits."""

    __table_args__ = (UniqueConstraint("enterprise_id", "field", name="uq_answer_field"),)
    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    field: str = Field(max_length=64)
    value_json: str = Field(sa_column=Column(Text, nullable=False))
    version: int = Field(default=1)
    revision: int = Field(default=0, index=True)  # enterprise.answers_revision when last written
    updated_by: int | None = Field(default=None, foreign_key="user.id")
    updated_at: dt.datetime = Field(default_factory=utcnow)


class AnswerHistory(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    field: str = Field(max_length=64)
    value_json: str = Field(sa_column=Column(Text, nullable=False))
    version: int
    changed_by: int | None = Field(default=None, foreign_key="user.id")
    changed_at: dt.datetime = Field(default_factory=utcnow)


class UnitContact(SQLModel, table=True):
    """Contact details of a unit named by the documents; entered by administrators."""

    unit_id: str = Field(primary_key=True, max_length=64)
    address: str = Field(default="", max_length=300)
    phone: str = Field(default="", max_length=50)
    hours: str = Field(default="", max_length=200)
    email: str = Field(default="", max_length=254)
    web: str = Field(default="", max_length=300)
    updated_by: int | None = Field(default=None, foreign_key="user.id")
    updated_at: dt.datetime = Field(default_factory=utcnow)


class AuditLog(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(default_factory=utcnow, index=True)
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    action: str = Field(max_length=64, index=True)
    object_type: str = Field(max_length=32)
    object_id: str = Field(max_length=64)
    before_json: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    after_json: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class IssuedDocument(SQLModel, table=True):
    """A generated PDF, verifiable by its short code and SHA-256."""

    id: int | None = Field(default=None, primary_key=True)
    short_code: str = Field(max_length=16, unique=True, index=True)
    kind: str = Field(max_length=16)  # application | report
    enterprise_id: int | None = Field(default=None, foreign_key="enterprise.id", index=True)
    enterprise_name: str = Field(max_length=200)
    measure_id: str | None = Field(default=None, max_length=32)
    input_hash: str = Field(max_length=64, index=True)
    sha256: str = Field(default="", max_length=64)
    path: str = Field(default="", max_length=500)
    issued_at: dt.datetime = Field(default_factory=utcnow)


class PdfJob(SQLModel, table=True):
    """A PDF rendered off the request by the task queue: queued, running, then done or failed.

    `inflight_key` is set while the job is queued or running and cleared when it ends: the unique
    constraint lets two web hosts asking for the same document at once share one render.
    """

    id: int | None = Field(default=None, primary_key=True)
    token: str = Field(max_length=32, unique=True, index=True)  # the job's address in URLs, not guessable
    enterprise_id: int | None = Field(default=None, foreign_key="enterprise.id", index=True)
    kind: str = Field(max_length=16)  # application | report
    measure_id: str | None = Field(default=None, max_length=32)
    short_code: str = Field(max_length=16)  # chosen when queued, so a retry prints the same code
    request_json: str = Field(sa_column=Column(Text, nullable=False))  # the checked inputs (PdfRequest)
    state: str = Field(default="queued", max_length=16, index=True)
    inflight_key: str | None = Field(default=None, max_length=120, unique=True)
    document_id: int | None = Field(default=None, foreign_key="issueddocument.id")
    error: str = Field(default="", max_length=500)
    attempts: int = Field(default=0)
    created_at: dt.datetime = Field(default_factory=utcnow)
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None


class Submission(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("enterprise_id", "idempotency_key", name="uq_submission_idem"),)
    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    measure_id: str = Field(max_length=32, index=True)
    measure_fingerprint: str = Field(max_length=64)
    measure_snapshot_json: str = Field(sa_column=Column(Text, nullable=False))
    answers_json: str = Field(sa_column=Column(Text, nullable=False))
    routed_unit_id: str = Field(max_length=64, index=True)
    status: str = Field(max_length=24, index=True)
    document_id: int | None = Field(default=None, foreign_key="issueddocument.id")
    idempotency_key: str = Field(max_length=64)
    created_by: int = Field(foreign_key="user.id")
    created_at: dt.datetime = Field(default_factory=utcnow, index=True)
    updated_at: dt.datetime = Field(default_factory=utcnow)
    # Bumped on every status change: the ETag an API client sends back in If-Match.
    version: int = Field(default=1)
    # Set when a reviewer confirms "材料齐全": the clause's handling clock (e.g. 000（三）) runs from it.
    materials_complete_at: dt.datetime | None = None
    # Readable reference such as ZH-2026-000123 (unit code, year, number per unit and year).
    reference: str | None = Field(default=None, max_length=24, unique=True, index=True)
    # The portal's own judgement when the application was (re)submitted: status, conditions, amounts.
    judgement_json: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    decided_at: dt.datetime | None = None  # approved or rejected


class SubmissionEvent(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", index=True)
    at: dt.datetime = Field(default_factory=utcnow)
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    from_status: str = Field(default="", max_length=24)
    to_status: str = Field(max_length=24)
    comment: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    visibility: str = Field(default=Visibility.ENTERPRISE, max_length=16)
    # What a resubmission replaced (answers, judgement, document), so the reviewer sees what changed.
    data_json: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class ReferenceCounter(SQLModel, table=True):
    """The last reference number a unit issued in a year (ZH-2026-000123 → unit_code ZH, 2026, 123)."""

    unit_code: str = Field(primary_key=True, max_length=8)
    year: int = Field(primary_key=True)
    last_number: int = Field(default=0)


class Attachment(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", index=True)
    original_name: str = Field(max_length=255)
    stored_name: str = Field(max_length=80, unique=True)
    content_type: str = Field(max_length=64)
    size: int
    sha256: str = Field(max_length=64)
    uploaded_by: int = Field(foreign_key="user.id")
    uploaded_at: dt.datetime = Field(default_factory=utcnow)


class Notification(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    message: str = Field(max_length=500)
    link: str = Field(default="", max_length=300)
    created_at: dt.datetime = Field(default_factory=utcnow)
    read_at: dt.datetime | None = None


class Change(SQLModel, table=True):
    """One entry of the change feed: an entity's state after a commit, or its tombstone.

    `id` is the feed cursor. Rows are appended in the transaction that made the change (see
    services/changes.py), in commit order, so a reader that has seen N never misses a later row < N.
    No foreign keys: a tombstone outlives what it reports deleted.
    """

    __table_args__ = (Index("ix_change_entity_key", "entity", "entity_key"),)
    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(default_factory=utcnow, index=True)
    entity: str = Field(max_length=24)  # answer | submission | event | attachment | notification
    entity_key: str = Field(max_length=80)
    op: str = Field(max_length=8)  # upsert | delete
    # Who may read it: both (the enterprise and its unit), enterprise, unit, or user (user_id only).
    audience: str = Field(max_length=12)
    enterprise_id: int | None = Field(default=None, index=True)
    unit_id: str | None = Field(default=None, max_length=64, index=True)
    user_id: int | None = Field(default=None, index=True)
    payload_json: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))


class FeedState(SQLModel, table=True):
    """Small named counters of the feed, e.g. `pruned_through`: cursors at or below it may have lost rows."""

    name: str = Field(primary_key=True, max_length=32)
    value: int = Field(default=0)


class DeviceToken(SQLModel, table=True):
    """A personal API token (desktop client, scripts); only its SHA-256 is stored."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    name: str = Field(max_length=60)
    token_hash: str = Field(max_length=64, unique=True)
    scope: str = Field(max_length=8)  # read | write
    created_at: dt.datetime = Field(default_factory=utcnow)
    last_used_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None


class IdempotencyRecord(SQLModel, table=True):
    """The stored response of an API write, replayed when the same Idempotency-Key comes again."""

    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_user_key"),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    key: str = Field(max_length=64)
    request_hash: str = Field(max_length=64)
    status_code: int
    response_json: str = Field(sa_column=Column(Text, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow, index=True)


class HandoffCode(SQLModel, table=True):
    """A short code that moves a signed-in session to another browser (phone ⇄ desktop), once, within minutes."""

    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(max_length=64, unique=True)
    # approve: a browser shows the code and a signed-in device approves it;
    # share: a signed-in device shows the code and another browser types it.
    kind: str = Field(max_length=8)
    browser_hash: str = Field(max_length=64)  # the initiating browser (a random value kept in its session)
    user_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: dt.datetime = Field(default_factory=utcnow)
    expires_at: dt.datetime
    approved_at: dt.datetime | None = None
    consumed_at: dt.datetime | None = None


class UserSession(SQLModel, table=True):
    """One signed-in device: the browser session and its remember-me cookie both name it, so ending it
    (sign out, password change, disabling, "sign out everywhere", the account page) ends both."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    secret_hash: str = Field(max_length=64, unique=True)
    created_at: dt.datetime = Field(default_factory=utcnow)
    last_seen_at: dt.datetime = Field(default_factory=utcnow)
    user_agent: str = Field(default="", max_length=200)
    ip: str = Field(default="", max_length=64)
    ended_at: dt.datetime | None = None
    ended_reason: str = Field(default="", max_length=32)


class MeasureVersion(SQLModel, table=True):
    """One version of a measure as the knowledge base stated it: recorded by `portal rematch`."""

    __table_args__ = (UniqueConstraint("measure_id", "version", name="uq_measure_version"),)
    id: int | None = Field(default=None, primary_key=True)
    measure_id: str = Field(max_length=32, index=True)
    version: int
    fingerprint: str = Field(max_length=64)
    snapshot_json: str = Field(sa_column=Column(Text, nullable=False))
    summary: str = Field(default="", max_length=300)  # what changed, e.g. "条款原文、金额"; "已移出知识库"
    removed: bool = Field(default=False)
    recorded_at: dt.datetime = Field(default_factory=utcnow)


class MatchState(SQLModel, table=True):
    """The measures an enterprise was last found eligible for: the baseline `portal rematch` compares with.

    One row per enterprise (a row per enterprise and measure would be ~10 million rows at 100,000 firms).
    """

    enterprise_id: int = Field(primary_key=True, foreign_key="enterprise.id")
    eligible_json: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))  # sorted ids
    answers_revision: int = Field(default=0)  # Enterprise.answers_revision the baseline was computed from
    catalog_fingerprint: str = Field(default="", max_length=64)
    updated_at: dt.datetime = Field(default_factory=utcnow)


class RematchRun(SQLModel, table=True):
    """One `portal rematch`: what it compared and how many enterprises' results moved."""

    id: int | None = Field(default=None, primary_key=True)
    started_at: dt.datetime = Field(default_factory=utcnow)
    finished_at: dt.datetime | None = None
    profiles: int = Field(default=0)
    changes: int = Field(default=0)
    measures_changed: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class MatchChange(SQLModel, table=True):
    """A measure whose status for an enterprise changed in a re-match (e.g. needs_info → eligible)."""

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="rematchrun.id", index=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    measure_id: str = Field(max_length=32)
    from_status: str = Field(default="", max_length=16)
    to_status: str = Field(max_length=16)
    at: dt.datetime = Field(default_factory=utcnow)


class ValidityReminder(SQLModel, table=True):
    """A reminder that a measure an enterprise is eligible for ends soon; sent once per lead time."""

    __table_args__ = (UniqueConstraint("enterprise_id", "measure_id", "valid_until", "days_before",
                                       name="uq_validity_reminder"),)
    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    measure_id: str = Field(max_length=32)
    valid_until: dt.date
    days_before: int
    sent_at: dt.datetime = Field(default_factory=utcnow)
