"""`--xlsx`: the mirror as a spreadsheet, one sheet per table, with real date cells and real numbers."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter

from portal.sync.mirror import SCHEMA, Mirror

SHEETS = ("answers", "submissions", "events", "attachments", "notifications", "results", "outbox", "sync_state")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
DATE_FORMAT = "yyyy-mm-dd"
MAX_CELL = 32767  # Excel's limit for one cell's text


def _local_naive(value: dt.datetime) -> dt.datetime:
    """Excel has no time zones: show the moment in this computer's local time."""
    return value.astimezone().replace(tzinfo=None) if value.tzinfo is not None else value


def cell_value(column: str, value: Any) -> tuple[Any, str | None]:
    """The value to write and its number format (None: the default)."""
    if not isinstance(value, str):
        return value, None
    if ISO_DATETIME.match(value):
        try:
            return _local_naive(dt.datetime.fromisoformat(value)), DATETIME_FORMAT
        except ValueError:
            pass
    if ISO_DATE.match(value):
        try:
            return dt.date.fromisoformat(value), DATE_FORMAT
        except ValueError:
            pass
    if column == "value":
        # Answers are JSON: a number answer should be a number cell, a text answer plain text.
        try:
            decoded = json.loads(value)
        except ValueError:
            decoded = value
        if isinstance(decoded, bool):
            return ("是" if decoded else "否"), None
        if isinstance(decoded, int | float | str):
            return cell_value("", decoded) if isinstance(decoded, str) else (decoded, None)
    return ILLEGAL_CHARACTERS_RE.sub("", value)[:MAX_CELL], None


def write_xlsx(mirror: Mirror, path: Path | str) -> dict[str, int]:
    """Write the workbook; returns rows per sheet."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    counts: dict[str, int] = {}
    for table in SHEETS:
        sheet = workbook.create_sheet(table)
        columns = list(mirror.db[table].columns_dict) if table in mirror.db.table_names() else list(SCHEMA[table][0])
        sheet.append(columns)
        widths = [len(c) + 2 for c in columns]
        count = 0
        for count, row in enumerate(mirror.db[table].rows, start=1):  # noqa: B007 - count is read after the loop
            for index, column in enumerate(columns, start=1):
                value, number_format = cell_value(column, row.get(column))
                cell = sheet.cell(row=count + 1, column=index, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"  # a comment starting with "=" is text, never a formula
                if number_format:
                    cell.number_format = number_format
                    widths[index - 1] = max(widths[index - 1], 20)
                elif isinstance(value, str):
                    widths[index - 1] = min(max(widths[index - 1], len(value) + 2), 60)
        for index, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = width
        sheet.freeze_panes = "A2"
        counts[table] = count
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(target)
    return counts
