"""The statuses the portal stores and shows, each with its Chinese label.

String enums: a member equals the string stored in the database (`SubmissionStatus.RETURNED == "returned"`),
so columns, JSON and templates keep plain strings. Imports nothing from the portal, so models, services
and policy can all use it.

Labels: `member.zh` is always the Chinese (for what is stored, exported as data or printed on a PDF);
`member.text`, `label(value)` and `labels()` translate at call time into the language of the current
request (Chinese outside a request, or inside `flask_babel.force_locale`).
"""

from __future__ import annotations

from enum import StrEnum

from flask_babel import gettext


def _l(text: str) -> str:
    """Marks a label for the message catalog (`portal i18n update` extracts `_l(...)`); returns it unchanged."""
    return text


class LabelledStatus(StrEnum):
    """A StrEnum whose members are declared as (stored value, Chinese label)."""

    zh: str

    def __new__(cls, value: str, zh: str) -> LabelledStatus:
        member = str.__new__(cls, value)
        member._value_ = value
        member.zh = zh
        return member

    @property
    def text(self) -> str:
        """The label in the current interface language (the Chinese in the Chinese interface)."""
        return gettext(self.zh)

    @classmethod
    def label(cls, value: str) -> str:
        """The label of a stored value in the current language; the value itself where it is not one of ours."""
        try:
            return cls(value).text
        except ValueError:
            return value

    @classmethod
    def zh_label(cls, value: str) -> str:
        """The Chinese label of a stored value, whatever the interface language (for stored text and PDFs)."""
        try:
            return cls(value).zh
        except ValueError:
            return value

    @classmethod
    def labels(cls) -> dict[str, str]:
        """{value: label in the current language} in declaration order, for templates and choices."""
        return {member.value: member.text for member in cls}


class MatchStatus(LabelledStatus):
    """How a measure matches a profile (see portal.policy.matching), from most to least certain."""

    ELIGIBLE = "eligible", _l("符合条件")
    NEEDS_INFO = "needs_info", _l("还需补充信息")
    NEAR_MISS = "near_miss", _l("只差一项")
    NOT_ELIGIBLE = "not_eligible", _l("暂不符合")
    EXPIRED = "expired", _l("已过有效期")


class SubmissionStatus(LabelledStatus):
    """Where an application stands in its review."""

    SUBMITTED = "submitted", _l("已提交")
    IN_REVIEW = "in_review", _l("审核中")
    RETURNED = "returned", _l("退回补充材料")
    RESUBMITTED = "resubmitted", _l("已重新提交")
    APPROVED = "approved", _l("已通过")
    REJECTED = "rejected", _l("未通过")
    FORWARDED = "forwarded", _l("已转交其他单位")


class PdfJobState(LabelledStatus):
    """Where a PDF rendered by the task queue stands (portal.services.pdf_jobs)."""

    QUEUED = "queued", _l("排队中")
    RUNNING = "running", _l("正在生成")
    DONE = "done", _l("已完成")
    FAILED = "failed", _l("生成失败")


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

    ENTERPRISE = "enterprise", _l("企业可见")
    INTERNAL = "internal", _l("仅内部可见")
