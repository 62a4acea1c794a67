"""SQLModel tables. Policy measures themselves are data files (portal/policy/data), not rows."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


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

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)


class Invitation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
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
    materials_complete_at: dt.datetime | None = None


class SubmissionEvent(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", index=True)
    at: dt.datetime = Field(default_factory=utcnow)
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    from_status: str = Field(default="", max_length=24)
    to_status: str = Field(max_length=24)
    comment: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    visibility: str = Field(default="enterprise", max_length=16)  # enterprise | internal


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
