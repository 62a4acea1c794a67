"""Demo accounts and a demo enterprise for `make run` (never in production).

Everything created here is labelled 演示 so nobody mistakes it for real data. Unit contacts
are deliberately left empty: the documents give none, and inventing them would mislead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from sqlmodel import select

from portal.extensions import db
from portal.models import User
from portal.services import accounts
from portal.services import answers as answer_service

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - published in README for local demos only
DEMO_REVIEWERS = (
    ("reviewer.zhonghan@demo.invalid", "演示审核员（中韩示范区服务站）", "sp-zhonghan-station"),
    ("reviewer.approval@demo.invalid", "演示审核员（省药监局行政审批办）", "jlmpa-admin-approval"),
)
DEMO_ENTERPRISE = "演示企业·长春示范医疗器械有限公司（演示数据）"
# A demo profile: a Class III device maker in the 中韩示范区 (answers only, no contact phone).
DEMO_ANSWERS = {
    "enterprise_name": DEMO_ENTERPRISE,
    "location": "zhonghan_zone",
    "ownership": "korean_invested",
    "sectors": ["medical_device"],
    "roles": ["device_registrant", "device_manufacturer"],
    "device_classes": ["class3"],
}


def seed_demo() -> Iterator[str]:
    """Create the demo admin, reviewers and enterprise once; running again changes nothing."""
    if os.environ.get("PORTAL_ENV") == "production":
        raise RuntimeError("refusing to create demo accounts in production")
    with db.standalone() as session:
        def exists(email: str) -> bool:
            return session.exec(select(User).where(User.email == email)).first() is not None

        if not exists("admin@demo.invalid"):
            accounts.create_user(session, email="admin@demo.invalid", name="演示管理员", password=DEMO_PASSWORD,
                                 role="admin")
            yield "created admin@demo.invalid"
        for email, name, unit in DEMO_REVIEWERS:
            if not exists(email):
                accounts.create_user(session, email=email, name=name, password=DEMO_PASSWORD, role="reviewer",
                                     service_unit_id=unit)
                yield f"created {email} ({unit})"
        if not exists("staff@demo.invalid"):
            user = accounts.register_enterprise(session, DEMO_ENTERPRISE, "演示企业员工", "staff@demo.invalid",
                                                DEMO_PASSWORD, verified=True)  # .invalid receives no mail
            assert user.enterprise_id is not None
            for name, value in DEMO_ANSWERS.items():
                answer_service.save_answer(session, user.enterprise_id, user.id, name, value, None)
            yield "created staff@demo.invalid (demo enterprise)"
        yield f"demo accounts ready; password for all: {DEMO_PASSWORD}"
