"""Server-side validation of profile answers (form values and JSON alike)."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from stdnum.cn import uscc
from stdnum.exceptions import ValidationError as StdnumError

from portal.profile.fields import FIELDS_BY_NAME, Field

PHONE_RE = re.compile(r"^\+?[0-9][0-9\-\s]{5,18}[0-9]$")
MAX_NUMBER = 1e9  # 万元: far beyond any enterprise; guards against absurd input
DATES_FIELD = "milestone_dates"  # {milestone code: ISO date}, stored beside `milestones`


class AnswerError(ValueError):
    """A value that cannot be stored; the message is shown beside the field."""


def clean_value(name: str, raw: Any, today: dt.date | None = None) -> Any:
    """Validate and normalise one answer. Returns None for "no answer" (clears it)."""
    if name == DATES_FIELD:
        return _clean_dates(raw, today or dt.date.today())
    f = FIELDS_BY_NAME.get(name)
    if f is None:
        raise AnswerError(f"未知的问题：{name}")
    return _CLEANERS[f.kind](f, raw)


def _text(f: Field, raw: Any) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise AnswerError(f"{f.zh}应为文字。")
    value = " ".join(raw.split())
    if not value:
        return None
    if len(value) > f.max_length:
        raise AnswerError(f"{f.zh}不能超过 {f.max_length} 个字符。")
    if f.name == "credit_code":
        value = value.replace(" ", "").upper()
        try:
            value = uscc.validate(value)
        except StdnumError as exc:
            raise AnswerError("统一社会信用代码无效：应为 18 位，且校验位正确（请对照营业执照）。") from exc
    if f.name == "contact_phone" and not PHONE_RE.match(value):
        raise AnswerError("联系电话格式不正确：请填写手机号或带区号的固定电话。")
    return value


def _choice(f: Field, raw: Any) -> str | None:
    if raw in (None, ""):
        return None
    if raw not in f.option_codes():
        raise AnswerError(f"“{f.zh}”的选项无效。")
    return str(raw)


def _multi(f: Field, raw: Any) -> list[str] | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list | tuple):
        raise AnswerError(f"“{f.zh}”应为选项列表。")
    codes = f.option_codes()
    bad = [v for v in raw if v not in codes]
    if bad:
        raise AnswerError(f"“{f.zh}”包含无效选项。")
    return [c for c in codes if c in raw]  # canonical order, no duplicates


def _number(f: Field, raw: Any) -> float | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        raise AnswerError(f"{f.zh}应为数字。")
    if isinstance(raw, str):
        text = raw.strip().replace(",", "").replace("，", "")
        try:
            raw = float(text)
        except ValueError as exc:
            raise AnswerError(f"{f.zh}应为数字（单位：{f.unit_zh}）。") from exc
    if not isinstance(raw, int | float) or math.isnan(raw) or math.isinf(raw):
        raise AnswerError(f"{f.zh}应为数字。")
    if raw < 0:
        raise AnswerError(f"{f.zh}不能为负数。")
    if raw > MAX_NUMBER:
        raise AnswerError(f"{f.zh}数值过大，请确认单位为{f.unit_zh}。")
    return float(raw)


def _bool(f: Field, raw: Any) -> bool | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, bool):
        return raw
    if raw in ("yes", "true", "1"):
        return True
    if raw in ("no", "false", "0"):
        return False
    raise AnswerError(f"请就“{f.zh}”选择“是”或“否”。")


def _clean_dates(raw: Any, today: dt.date) -> dict[str, str] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise AnswerError("里程碑日期格式不正确。")
    codes = FIELDS_BY_NAME["milestones"].option_codes()
    out = {}
    for code, value in raw.items():
        if code not in codes:
            raise AnswerError("里程碑日期对应的选项无效。")
        if value in (None, ""):
            continue
        try:
            day = dt.date.fromisoformat(str(value))
        except ValueError as exc:
            raise AnswerError("日期格式应为 年-月-日，例如 2025-03-01。") from exc
        if day > today:
            raise AnswerError("取得日期不能晚于今天。")
        if day.year < 1980:
            raise AnswerError("取得日期过早，请检查。")
        out[code] = day.isoformat()
    return out or None


_CLEANERS = {"text": _text, "choice": _choice, "multi": _multi, "number": _number, "bool": _bool}


def validate_profile(data: Any, today: dt.date | None = None) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """Validate a whole profile (JSON API). Returns (clean profile, problems)."""
    if not isinstance(data, dict):
        return {}, [{"field": "", "message": "profile 应为 JSON 对象。"}]
    clean: dict[str, Any] = {}
    problems = []
    for name, raw in data.items():
        if name not in FIELDS_BY_NAME and name != DATES_FIELD:
            problems.append({"field": name, "message": f"未知字段：{name}"})
            continue
        try:
            value = clean_value(name, raw, today)
        except AnswerError as exc:
            problems.append({"field": name, "message": str(exc)})
            continue
        if value is not None:
            clean[name] = value
    return clean, problems
