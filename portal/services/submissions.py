"""Submissions of applications and their review workflow."""

from __future__ import annotations

from sqlmodel import Session, col, select

from portal.models import Submission

STATUS_ZH = {
    "submitted": "已提交",
    "in_review": "审核中",
    "returned": "退回补充材料",
    "resubmitted": "已重新提交",
    "approved": "已通过",
    "rejected": "未通过",
    "forwarded": "已转交其他单位",
}


def for_enterprise(session: Session, enterprise_id: int) -> list[Submission]:
    query = select(Submission).where(Submission.enterprise_id == enterprise_id)
    return list(session.exec(query.order_by(col(Submission.id).desc())))


def for_unit(session: Session, unit_id: str) -> list[Submission]:
    query = select(Submission).where(Submission.routed_unit_id == unit_id)
    return list(session.exec(query.order_by(col(Submission.id).desc())))
