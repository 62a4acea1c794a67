"""Readable application references: ZH-2026-000123 = the receiving unit's code, the year (Beijing time) and a
number counted per unit and year.

A reference is reserved in its own short transaction before the application PDF is rendered, so the PDF
can print it and no render ever runs under a database lock. An application that then fails (rare: the
checks that can refuse run before the reservation) leaves a gap in the numbers, as paper registers do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlmodel import Session

from portal.clock import local_date
from portal.db import dialect_insert
from portal.models import ReferenceCounter
from portal.policy.catalog import catalog

UNKNOWN_UNIT_CODE = "XX"  # a unit that has left the knowledge base since


def unit_code(unit_id: str) -> str:
    unit = catalog().units.get(unit_id)
    return unit.ref if unit is not None and unit.ref else UNKNOWN_UNIT_CODE


def format_reference(code: str, year: int, number: int) -> str:
    return f"{code}-{year}-{number:06d}"


def year_of(at: dt.datetime) -> int:
    return local_date(at).year


def next_reference(session: Session, unit_id: str, at: dt.datetime) -> str:
    """Take the next number for the unit and year; the row stays locked until the caller commits."""
    code, year = unit_code(unit_id), year_of(at)
    table = ReferenceCounter.__table__  # type: ignore[attr-defined]
    statement = (dialect_insert(session)(table).values(unit_code=code, year=year, last_number=1)
                 .on_conflict_do_update(index_elements=["unit_code", "year"],
                                        set_={"last_number": table.c.last_number + 1})
                 .returning(table.c.last_number))
    number = int(session.execute(statement).scalar_one())
    return format_reference(code, year, number)


def reserve(write_session: Callable[[], AbstractContextManager[Session]], unit_id: str, at: dt.datetime) -> str:
    """A reference taken and committed in its own transaction (see the module docstring)."""
    with write_session() as writer:
        reference = next_reference(writer, unit_id, at)
        writer.commit()
    return reference
