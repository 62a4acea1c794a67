"""Export of the (filtered) review queue as CSV and XLSX."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from portal.profile.fields import FIELDS_BY_NAME
from portal.services.submissions import QueueRow, unit_name
from portal.templating import answer

BEIJING = dt.timezone(dt.timedelta(hours=8), "CST")
COLUMNS = ("编号", "企业名称", "统一社会信用代码", "措施编号", "措施", "状态", "受理单位", "所在地", "行业",
           "提交时间（北京时间）", "材料齐全时间（北京时间）", "已等待天数", "办理时限")
#: Cells starting with these are formulas to Excel; user input (enterprise names) must stay text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _local(value: dt.datetime | None) -> str:
    return value.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") if value else ""


def rows_for(queue_rows: list[QueueRow]) -> list[list[Any]]:
    out = []
    for r in queue_rows:
        s, a = r.submission, r.answers
        out.append([
            s.id, r.enterprise, a.get("credit_code", ""), s.measure_id, r.title, r.status_zh,
            unit_name(s.routed_unit_id),
            answer(a["location"], FIELDS_BY_NAME["location"]) if a.get("location") else "",
            answer(a["sectors"], FIELDS_BY_NAME["sectors"]) if a.get("sectors") else "",
            _local(s.created_at), _local(s.materials_complete_at), r.age_days,
            r.limit.describe() if r.limit else "",
        ])
    return out


def _csv_safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def to_csv(queue_rows: list[QueueRow]) -> bytes:
    """UTF-8 with a byte order mark, which is what makes Excel read Chinese CSV correctly."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows_for(queue_rows):
        writer.writerow([_csv_safe(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(queue_rows: list[QueueRow], title: str = "审核队列") -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = title[:31]
    ws.append(list(COLUMNS))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r, row in enumerate(rows_for(queue_rows), start=2):
        for c, value in enumerate(row, start=1):
            cell = ws.cell(row=r, column=c, value=value)
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # openpyxl would otherwise store it as a formula
    widths = (8, 30, 22, 10, 30, 14, 30, 20, 30, 18, 18, 10, 36)
    for i, width in enumerate(widths):
        ws.column_dimensions[chr(ord("A") + i)].width = width
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
