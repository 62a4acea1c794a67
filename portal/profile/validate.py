"""Server-side validation of profile answers (form values and JSON alike).

Two readings of the same rules. A form posts strings ("12.5", "yes", "" for no answer), so form values
are read leniently. JSON (`strict=True`, the API's profiles) must already have the type and shape that
`GET /api/v1/profile-schema` publishes: the schema is built from the constants below, so what the
schema accepts the validator accepts, and what it rejects the validator rejects.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _
from stdnum.cn import uscc
from stdnum.exceptions import ValidationError as StdnumError

from portal import clock
from portal.errors import UserError
from portal.profile.fields import FIELDS_BY_NAME, Field

# The patterns are written for both Python `re` and ECMA-262 (JSON Schema): ASCII classes, explicit spaces.
# GB 32100-2015: 8 digits (authority, type, region), 9 characters of the organisation code, a check character.
CREDIT_CODE_PATTERN = "^[0-9]{8}[0-9A-HJ-NPQRTUWXY]{10}$"
CREDIT_CODE_FORMAT = "x-credit-code"  # the check character cannot be written as a pattern; described instead
PHONE_PATTERN = r"^\+?[0-9][0-9\- ]{5,18}[0-9]$"
# Text answers end up on printed forms: no control characters (tab and line breaks are white space, folded).
TEXT_PATTERN = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F]*$"
DATE_PATTERN = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
PHONE_RE = re.compile(PHONE_PATTERN)
_TEXT_RE = re.compile("^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")
_DATE_RE = re.compile(DATE_PATTERN)
MIN_NUMBER = 0
MAX_NUMBER = 1e9  # 万元: far beyond any enterprise; guards against absurd input
EARLIEST_DATE = dt.date(1980, 1, 1)
DATES_FIELD = "milestone_dates"  # {milestone code: ISO date}, stored beside `milestones`
MAX_NAME_SHOWN = 64  # an unknown key is echoed back shortened, so an error never outgrows the request

# A form typed with a Chinese input method may send full-width digits; JSON numbers are numbers.
_FULL_WIDTH = str.maketrans("０１２３４５６７８９．－", "0123456789.-")
_NUMBER_TEXT = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]{1,4})?")
_MAX_NUMBER_TEXT = 40  # digits beyond this are no amount in 万元; refused before any conversion


class AnswerError(UserError):
    """A value that cannot be stored; the message is shown beside the field."""


def _lang() -> str:
    """The interface language of this request (zh outside one): messages name questions in it."""
    return str(get_locale() or "zh")


def _q(f: Field) -> str:
    """The question as a message names it, in the interface language."""
    return f.label(_lang())


def _too_large(f: Field) -> AnswerError:
    unit = f.unit(_lang())
    if unit:
        return AnswerError(_("%(label)s数值过大，请确认单位为%(unit)s。", label=_q(f), unit=unit))
    return AnswerError(_("%(label)s数值过大，请检查。", label=_q(f)))


def shown_name(name: str) -> str:
    return name if len(name) <= MAX_NAME_SHOWN else name[:MAX_NAME_SHOWN] + "…"


def clean_value(name: str, raw: Any, today: dt.date | None = None, *, strict: bool = False) -> Any:
    """Validate and normalise one answer. Returns None for "no answer" (clears it).

    strict: the value came as JSON and must match the published schema exactly (no null, no strings for
    numbers or yes/no, no duplicates); otherwise form strings are accepted and read.
    """
    if name == DATES_FIELD:
        if strict:
            _strict_dates(raw)
        return _clean_dates(raw, today or clock.today())
    f = FIELDS_BY_NAME.get(name)
    if f is None:
        raise AnswerError(_("未知的问题：%(name)s", name=shown_name(name)))
    if strict:
        _STRICT[f.kind](f, raw)
    return _CLEANERS[f.kind](f, raw)


# -- strict (JSON) shape checks: exactly what profile_json_schema() states ---------------------------------
def _no_null(f: Field, raw: Any) -> None:
    if raw is None:
        raise AnswerError(_("“%(label)s”不能为 null；不作答请省略该字段。", label=_q(f)))


def _strict_text(f: Field, raw: Any) -> None:
    _no_null(f, raw)
    if not isinstance(raw, str):
        raise AnswerError(_("%(label)s应为文字。", label=_q(f)))
    if len(raw) > f.max_length:
        raise AnswerError(_("%(label)s不能超过 %(max)s 个字符。", label=_q(f), max=f.max_length))
    if f.name == "credit_code" and not re.search(CREDIT_CODE_PATTERN, raw):
        raise AnswerError(
            _("统一社会信用代码应为 18 位：前 8 位数字，后 10 位为数字或大写字母（不含 I、O、Z、S、V）。"))
    if f.name == "contact_phone" and not PHONE_RE.search(raw):
        raise AnswerError(_("联系电话格式不正确：请填写手机号或带区号的固定电话。"))


def _strict_choice(f: Field, raw: Any) -> None:
    _no_null(f, raw)
    if not isinstance(raw, str) or raw not in f.option_codes():
        raise AnswerError(_("“%(label)s”的选项无效。", label=_q(f)))


def _strict_multi(f: Field, raw: Any) -> None:
    _no_null(f, raw)
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        raise AnswerError(_("“%(label)s”应为选项代码的列表。", label=_q(f)))
    if len(set(raw)) != len(raw):
        raise AnswerError(_("“%(label)s”包含重复的选项。", label=_q(f)))


def _strict_number(f: Field, raw: Any) -> None:
    _no_null(f, raw)
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise AnswerError(_("%(label)s应为数字（JSON 数值，单位：%(unit)s），不能是文字。", label=_q(f),
                            unit=f.unit_zh))


def _strict_bool(f: Field, raw: Any) -> None:
    _no_null(f, raw)
    if not isinstance(raw, bool):
        raise AnswerError(_("“%(label)s”应为 true 或 false。", label=_q(f)))


def _strict_dates(raw: Any) -> None:
    if raw is None:
        raise AnswerError(_("里程碑日期不能为 null；不作答请省略该字段。"))
    if not isinstance(raw, dict):
        raise AnswerError(_("里程碑日期应为对象 {里程碑代码: 日期}。"))
    if any(parse_date(v) is None for v in raw.values()):  # no null or "" either: omit the milestone instead
        raise AnswerError(_("日期格式应为 年-月-日，例如 2025-03-01。"))


_STRICT = {"text": _strict_text, "choice": _strict_choice, "multi": _strict_multi, "number": _strict_number,
           "bool": _strict_bool}


# -- reading and normalising (form and JSON) ---------------------------------------------------------------
def _text(f: Field, raw: Any) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise AnswerError(_("%(label)s应为文字。", label=_q(f)))
    if not _TEXT_RE.match(raw):
        raise AnswerError(_("%(label)s含有不可见的控制字符，请删除后重试。", label=_q(f)))
    value = " ".join(raw.split())
    if not value:
        return None
    if len(value) > f.max_length:
        raise AnswerError(_("%(label)s不能超过 %(max)s 个字符。", label=_q(f), max=f.max_length))
    if f.name == "credit_code":
        value = value.replace(" ", "").upper()
        try:
            value = uscc.validate(value)
        except StdnumError as exc:
            raise AnswerError(_("统一社会信用代码无效：应为 18 位，且校验位正确（请对照营业执照）。")) from exc
    if f.name == "contact_phone" and not PHONE_RE.search(value):
        raise AnswerError(_("联系电话格式不正确：请填写手机号或带区号的固定电话。"))
    return value


def _choice(f: Field, raw: Any) -> str | None:
    if raw in (None, ""):
        return None
    if not isinstance(raw, str) or raw not in f.option_codes():
        raise AnswerError(_("“%(label)s”的选项无效。", label=_q(f)))
    return raw


def _multi(f: Field, raw: Any) -> list[str] | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list | tuple):
        raise AnswerError(_("“%(label)s”应为选项列表。", label=_q(f)))
    codes = f.option_codes()
    if any(not isinstance(v, str) or v not in codes for v in raw):
        raise AnswerError(_("“%(label)s”包含无效选项。", label=_q(f)))
    return [c for c in codes if c in raw]  # canonical order, no duplicates


def _number(f: Field, raw: Any) -> float | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        raise AnswerError(_("%(label)s应为数字。", label=_q(f)))
    if isinstance(raw, str):
        # Decimals (with an exponent) only: float() would also read "1_000", "inf" and Arabic-Indic digits.
        text = raw.strip().translate(_FULL_WIDTH).replace(",", "").replace("，", "")
        if not _NUMBER_TEXT.fullmatch(text):
            unit = f.unit(_lang())
            raise AnswerError(_("%(label)s应为数字（单位：%(unit)s），例如 1250 或 1250.5。", label=_q(f), unit=unit)
                              if unit else _("%(label)s应为数字，例如 1250 或 1250.5。", label=_q(f)))
        if len(text) > _MAX_NUMBER_TEXT:
            raise _too_large(f)
        raw = float(text)
    if not isinstance(raw, int | float) or (isinstance(raw, float) and math.isnan(raw)):
        raise AnswerError(_("%(label)s应为数字。", label=_q(f)))
    # Compared before any conversion: a 400-digit JSON integer does not fit a float (OverflowError).
    if raw < MIN_NUMBER:
        raise AnswerError(_("%(label)s不能为负数。", label=_q(f)))
    if raw > MAX_NUMBER:
        raise _too_large(f)
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
    raise AnswerError(_("请就“%(label)s”选择“是”或“否”。", label=_q(f)))


def parse_date(value: Any) -> dt.date | None:
    """YYYY-MM-DD only: date.fromisoformat also reads "20200101" and week dates, which the schema does not."""
    if not isinstance(value, str) or not _DATE_RE.fullmatch(value):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _clean_dates(raw: Any, today: dt.date) -> dict[str, str] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise AnswerError(_("里程碑日期格式不正确。"))
    codes = FIELDS_BY_NAME["milestones"].option_codes()
    out = {}
    for code, value in raw.items():
        if code not in codes:
            raise AnswerError(_("里程碑日期对应的选项无效。"))
        if value in (None, ""):
            continue
        day = parse_date(value)
        if day is None:
            raise AnswerError(_("日期格式应为 年-月-日，例如 2025-03-01。"))
        if day > today:
            raise AnswerError(_("取得日期不能晚于今天。"))
        if day < EARLIEST_DATE:
            raise AnswerError(_("取得日期过早，请检查。"))
        out[code] = day.isoformat()
    return out or None


_CLEANERS = {"text": _text, "choice": _choice, "multi": _multi, "number": _number, "bool": _bool}


def validate_profile(data: Any, today: dt.date | None = None, *, strict: bool = True
                     ) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """Validate a whole profile (JSON: strict by default). Returns (clean profile, problems)."""
    if not isinstance(data, dict):
        return {}, [{"field": "", "message": _("profile 应为 JSON 对象。")}]
    clean: dict[str, Any] = {}
    problems = []
    for name, raw in data.items():
        if name not in FIELDS_BY_NAME and name != DATES_FIELD:
            shown = shown_name(name)
            problems.append({"field": shown, "message": _("未知字段：%(name)s", name=shown)})
            continue
        try:
            value = clean_value(name, raw, today, strict=strict)
        except AnswerError as exc:
            problems.append({"field": name, "message": str(exc)})
            continue
        if value is not None:
            clean[name] = value
    return clean, problems
