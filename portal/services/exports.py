"""Export of the (filtered) review queue: one table, written as CSV (text) or XLSX (real dates and numbers)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from portal.clock import BEIJING
from portal.formatting import answer_text
from portal.models import User
from portal.profile.fields import FIELDS_BY_NAME, Field
from portal.services.review_queue import QueueRow
from portal.services.routing import unit_name

#: (heading, column width in Excel); headings in the reviewer's language (Chinese for a Chinese reviewer)
COLUMNS = ((_l("受理编号"), 18), (_l("企业名称"), 30), (_l("统一社会信用代码"), 22), (_l("联系人"), 12),
           (_l("联系人邮箱"), 26), (_l("措施编号"), 10), (_l("措施"), 30), (_l("状态"), 14), (_l("受理单位"), 30),
           (_l("所在地"), 20), (_l("行业"), 30), (_l("提交时间（北京时间）"), 18), (_l("材料齐全时间（北京时间）"), 18),
           (_l("办结时间（北京时间）"), 18), (_l("已等待天数"), 10), (_l("办理天数"), 10), (_l("办理时限"), 40),
           (_l("时限提示"), 10), (_l("最近意见"), 50))
DATE_FORMAT = "yyyy-mm-dd hh:mm"
#: Cells starting with these are formulas to Excel; user input (enterprise names) must stay text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Table:
    headings: tuple[str, ...]
    widths: tuple[int, ...]
    rows: list[list[Any]]  # str, int, float, None, or a Beijing-time naive datetime


def _local(value: dt.datetime | None) -> dt.datetime | None:
    """Beijing wall-clock time without a zone: what Excel shows and what a reviewer reads."""
    return value.astimezone(BEIJING).replace(tzinfo=None) if value else None


def _choice_text(value: Any, field: Field, lang: str) -> str:
    """A choice answer (one code or a list) in the reader's language: the Chinese wording as on the
    application in Chinese, the options' ko/en wording otherwise (unknown codes as given)."""
    if lang == "zh":
        return answer_text(value, field)
    codes = value if isinstance(value, list) else [value]
    labels = []
    for code in codes:
        option = field.option(str(code))
        labels.append((getattr(option, lang, "") or option.zh) if option is not None else str(code))
    return "; ".join(labels)


def queue_table(queue_rows: list[QueueRow], contacts: dict[int, User], last_comments: dict[int, str],
                titles: dict[str, str] | None = None) -> Table:
    """The queue rows with the columns a unit files: contact, decision date, handling days, last comment.

    Headings and statuses come in the current language; `titles` ({measure id: title}) replaces the
    frozen Chinese title where given (a Korean or English reviewer's export).
    """
    titles = titles or {}
    lang = str(get_locale() or "zh")
    rows = []
    for r in queue_rows:
        s, a = r.submission, r.answers
        contact = contacts.get(s.id or 0)
        rows.append([
            r.reference, r.enterprise, a.get("credit_code", ""), contact.name if contact else "",
            contact.email if contact else "", s.measure_id, titles.get(s.measure_id, r.title), r.status_zh,
            unit_name(s.routed_unit_id),
            _choice_text(a["location"], FIELDS_BY_NAME["location"], lang) if a.get("location") else "",
            _choice_text(a["sectors"], FIELDS_BY_NAME["sectors"], lang) if a.get("sectors") else "",
            _local(s.created_at), _local(s.materials_complete_at), _local(s.decided_at), r.age_days,
            r.handling_days, r.limit.describe() if r.limit else "", r.limit.flag if r.limit else "",
            last_comments.get(s.id or 0, ""),
        ])
    return Table(tuple(str(h) for h, _ in COLUMNS), tuple(w for _, w in COLUMNS), rows)


def _csv_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def to_csv(table: Table) -> bytes:
    """UTF-8 with a byte order mark, which is what makes Excel read Chinese CSV correctly."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(table.headings)
    for row in table.rows:
        writer.writerow([_csv_value(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(table: Table, title: str = "审核队列") -> bytes:
    """Dates as Excel dates, counts as numbers, text as text (never a formula)."""
    wb = Workbook()
    ws = wb.active
    ws.title = title[:31]
    ws.append(list(table.headings))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r, row in enumerate(table.rows, start=2):
        for c, value in enumerate(row, start=1):
            cell = ws.cell(row=r, column=c, value=value)
            if isinstance(value, dt.datetime):
                cell.number_format = DATE_FORMAT
            elif isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # openpyxl would otherwise store it as a formula
    for i, width in enumerate(table.widths):
        ws.column_dimensions[get_column_letter(i + 1)].width = width
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
