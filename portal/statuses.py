"""The statuses the portal stores and shows, each with its Chinese label.

String enums: a member equals the string stored in the database (`SubmissionStatus.RETURNED == "returned"`),
so columns, JSON and templates keep plain strings. Imports nothing from the portal, so models, services
and policy can all use it.
"""

from __future__ import annotations

from enum import StrEnum


class LabelledStatus(StrEnum):
    """A StrEnum whose members are declared as (stored value, Chinese label)."""

    zh: str

    def __new__(cls, value: str, zh: str) -> LabelledStatus:
        member = str.__new__(cls, value)
        member._value_ = value
        member.zh = zh
        return member

    @classmethod
    def label(cls, value: str) -> str:
        """The Chinese label of a stored value; the value itself where it is not one of ours."""
        try:
            return cls(value).zh
        except ValueError:
            return value

    @classmethod
    def labels(cls) -> dict[str, str]:
        """{value: label} in declaration order, for templates and choices."""
        return {member.value: member.zh for member in cls}


class MatchStatus(LabelledStatus):
    """How a measure matches a profile (see portal.policy.matching), from most to least certain."""

    ELIGIBLE = "eligible", "符合条件"
    NEEDS_INFO = "needs_info", "还需补充信息"
    NEAR_MISS = "near_miss", "只差一项"
    NOT_ELIGIBLE = "not_eligible", "暂不符合"
    EXPIRED = "expired", "已过有效期"


class SubmissionStatus(LabelledStatus):
    """Where an application stands in its review."""

    SUBMITTED = "submitted", "已提交"
    IN_REVIEW = "in_review", "审核中"
    RETURNED = "returned", "退回补充材料"
    RESUBMITTED = "resubmitted", "已重新提交"
    APPROVED = "approved", "已通过"
    REJECTED = "rejected", "未通过"
    FORWARDED = "forwarded", "已转交其他单位"


class PdfJobState(LabelledStatus):
    """Where a PDF rendered by the task queue stands (portal.services.pdf_jobs)."""

    QUEUED = "queued", "排队中"
    RUNNING = "running", "正在生成"
    DONE = "done", "已完成"
    FAILED = "failed", "生成失败"


#: Queue order for "sort by status": what needs a reviewer first.
STATUS_ORDER = (SubmissionStatus.SUBMITTED, SubmissionStatus.RESUBMITTED, SubmissionStatus.FORWARDED,
                SubmissionStatus.IN_REVIEW, SubmissionStatus.RETURNED, SubmissionStatus.APPROVED,
                SubmissionStatus.REJECTED)
FINAL_STATUSES = frozenset({SubmissionStatus.APPROVED, SubmissionStatus.REJECTED})
#: The enterprise may add documents before review starts and while asked for more.
UPLOAD_STATUSES = frozenset({SubmissionStatus.SUBMITTED, SubmissionStatus.RETURNED})
#: Statuses nobody has opened yet: a reviewer opening the application starts its review.
UNOPENED = frozenset({SubmissionStatus.SUBMITTED, SubmissionStatus.RESUBMITTED, SubmissionStatus.FORWARDED})


class Visibility(LabelledStatus):
    """Who may read a comment on an application."""

    ENTERPRISE = "enterprise", "企业可见"
    INTERNAL = "internal", "仅内部可见"
