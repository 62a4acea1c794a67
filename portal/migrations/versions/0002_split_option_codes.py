"""Answers given with option codes that were split (issue 10): map them, or drop the ambiguous ones.

- device_procedures: the procedure now belongs to a product class (class2_innovative…). An old code
  maps when the firm has exactly one of class II / class III; with both it is ambiguous.
- plans: settle_in_zone ("中韩示范区或长春新区") and port_import ("长春空港、珲春等口岸") named two places
  at once; hospital_preparation_rnd also covered 古代经典名方. These cannot be mapped without asking.

Nothing is lost: the old value is kept in answerhistory, and the answer's version and the
enterprise's revision move on, so other devices pick up the change and the firm is asked again.

The 网办专区 was two composed unit ids (…-zhonghan, …-corridor); it is one printed unit now
(sp-online-zone). Contacts, reviewers and applications follow it.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

OLD_PROCEDURES = {"innovative", "priority", "emergency", "standard"}
CLASS3_PROCEDURES = {"innovative", "priority", "standard"}  # class III has no 应急审批 option
AMBIGUOUS_PLANS = {"settle_in_zone", "port_import", "hospital_preparation_rnd"}


def _procedures(value: list[str], classes: list[str]) -> list[str]:
    product_classes = [c for c in ("class2", "class3") if c in classes]
    out = []
    for code in value:
        if code not in OLD_PROCEDURES:
            out.append(code)
        elif product_classes == ["class2"]:
            out.append(f"class2_{code}")
        elif product_classes == ["class3"] and code in CLASS3_PROCEDURES:
            out.append(f"class3_{code}")
    return out


def _mapped(field: str, value: Any, profile: dict[str, Any]) -> Any:
    if not isinstance(value, list):
        return value
    if field == "device_procedures":
        return _procedures(value, profile.get("device_classes") or [])
    if field == "plans":
        return [code for code in value if code not in AMBIGUOUS_PLANS]
    return value


MERGED_UNITS = {"sp-online-zone-zhonghan": "sp-online-zone", "sp-online-zone-corridor": "sp-online-zone"}


def _merge_units(conn: sa.engine.Connection) -> None:
    for old, new in MERGED_UNITS.items():
        taken = conn.execute(sa.text("SELECT 1 FROM unitcontact WHERE unit_id = :n"), {"n": new}).first()
        if taken:  # the first contact entered stays; a second one for the same printed unit is dropped
            conn.execute(sa.text("DELETE FROM unitcontact WHERE unit_id = :o"), {"o": old})
        else:
            conn.execute(sa.text("UPDATE unitcontact SET unit_id = :n WHERE unit_id = :o"), {"n": new, "o": old})
        conn.execute(sa.text('UPDATE "user" SET service_unit_id = :n WHERE service_unit_id = :o'), {"n": new, "o": old})
        conn.execute(sa.text("UPDATE submission SET routed_unit_id = :n WHERE routed_unit_id = :o"),
                     {"n": new, "o": old})


def upgrade() -> None:
    conn = op.get_bind()
    _merge_units(conn)
    now = dt.datetime.now(dt.UTC)
    enterprises = conn.execute(sa.text("SELECT id, profile_json, answers_revision FROM enterprise")).fetchall()
    for ent_id, profile_json, ent_revision in enterprises:
        profile = json.loads(profile_json or "{}")
        changed = {f: v2 for f in ("device_procedures", "plans") if f in profile
                   and (v2 := _mapped(f, profile[f], profile)) != profile[f]}
        if not changed:
            continue
        new_revision = (ent_revision or 0) + 1
        for field, value in changed.items():
            row = conn.execute(sa.text("SELECT id, value_json, version FROM answer "
                                       "WHERE enterprise_id = :e AND field = :f"), {"e": ent_id, "f": field}).first()
            if row is not None:
                conn.execute(sa.text("INSERT INTO answerhistory (enterprise_id, field, value_json, version, "
                                     "changed_by, changed_at) VALUES (:e, :f, :v, :n, NULL, :t)"),
                             {"e": ent_id, "f": field, "v": row.value_json, "n": row.version, "t": now})
                conn.execute(sa.text("UPDATE answer SET value_json = :v, version = :n, revision = :r, "
                                     "updated_at = :t WHERE id = :id"),
                             {"v": json.dumps(value, ensure_ascii=False), "n": row.version + 1, "r": new_revision,
                              "t": now, "id": row.id})
            profile[field] = value
        conn.execute(sa.text("UPDATE enterprise SET profile_json = :p, answers_revision = :r WHERE id = :id"),
                     {"p": json.dumps(profile, ensure_ascii=False), "r": new_revision, "id": ent_id})


def downgrade() -> None:
    """The old codes are kept in answerhistory; nothing is rewritten back."""
