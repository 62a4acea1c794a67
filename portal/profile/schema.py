"""JSON Schema of the enterprise profile, generated from the field vocabulary and the validator's constants.

One source for both: every constraint portal.profile.validate enforces on a JSON profile is stated here.
The one rule JSON Schema cannot express, the credit code's check character, is named by a custom
`format` ("x-credit-code", ignored by validators that do not know it) and described in words.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from portal import clock
from portal.profile.fields import FIELDS, FIELDS_BY_NAME, STEPS
from portal.profile.validate import (
    CREDIT_CODE_FORMAT,
    CREDIT_CODE_PATTERN,
    DATE_PATTERN,
    DATES_FIELD,
    EARLIEST_DATE,
    MAX_NUMBER,
    MIN_NUMBER,
    PHONE_PATTERN,
    TEXT_PATTERN,
)

# Descriptions of the two text formats, in the interface languages (the schema's own words stay Chinese).
CREDIT_CODE_TEXT = {
    "zh": "统一社会信用代码（GB 32100-2015）：18 位，前 8 位为数字，其余为数字或大写字母（不含 I、O、Z、S、V）；"
          "第 18 位是按 GB 32100-2015 第 5 章计算的校验码，校验码不符的代码会被拒绝（422）。",
    "en": "Unified social credit code (GB 32100-2015): 18 characters, 8 digits then digits or capital letters "
          "(not I, O, Z, S or V); the 18th is the check character of GB 32100-2015 chapter 5, and a code whose "
          "check character is wrong is refused (422).",
    "ko": "통일사회신용코드(GB 32100-2015): 18자리이며 앞 8자리는 숫자, 나머지는 숫자 또는 영문 대문자"
          "(I, O, Z, S, V 제외)입니다. 18번째 자리는 GB 32100-2015 제5장에 따른 검증 문자이며, "
          "검증 문자가 맞지 않는 코드는 거부됩니다(422).",
}
PHONE_TEXT = {
    "zh": "手机号或带区号的固定电话：可以 + 开头，数字之间可有空格或连字符，共 8–20 个字符。",
    "en": "A mobile number or a landline with its area code: may start with +, with spaces or hyphens between "
          "digits, 8–20 characters.",
    "ko": "휴대전화 번호 또는 지역번호를 포함한 유선전화 번호: +로 시작할 수 있고 숫자 사이에 공백이나 "
          "하이픈을 둘 수 있으며 8–20자입니다.",
}


def _described(text: dict[str, str]) -> dict[str, str]:
    return {"description": text["zh"], "x-description-en": text["en"], "x-description-ko": text["ko"]}


def _labels(options: Any) -> dict[str, Any]:
    return {"x-enum-labels": {o.code: {"zh": o.zh, "en": o.en, "ko": o.ko} for o in options}}


def profile_json_schema(today: dt.date | None = None) -> dict[str, Any]:
    """The profile as JSON Schema 2020-12; `today` bounds the milestone dates (the match date on /match)."""
    today = today or clock.today()
    props: dict[str, Any] = {}
    for f in FIELDS:
        prop: dict[str, Any] = {"title": f.zh, "x-title-en": f.en, "x-title-ko": f.ko, "x-step": f.step}
        if f.help_zh:
            prop.update({"description": f.help_zh, "x-description-en": f.help_en, "x-description-ko": f.help_ko})
        if f.kind == "text":
            prop.update(type="string", maxLength=f.max_length, pattern=TEXT_PATTERN)
            if f.name == "credit_code":
                prop.update(pattern=CREDIT_CODE_PATTERN, format=CREDIT_CODE_FORMAT, **_described(CREDIT_CODE_TEXT))
            elif f.name == "contact_phone":
                prop.update(pattern=PHONE_PATTERN, **_described(PHONE_TEXT))
        elif f.kind == "choice":
            prop.update(type="string", enum=f.option_codes(), **_labels(f.options))
        elif f.kind == "multi":
            prop.update(type="array", uniqueItems=True, items={"type": "string", "enum": f.option_codes()},
                        **_labels(f.options))
        elif f.kind == "number":
            prop.update(type="number", minimum=MIN_NUMBER, maximum=MAX_NUMBER,
                        **{"x-unit": f.unit_zh, "x-unit-en": f.unit("en"), "x-unit-ko": f.unit("ko")})
        else:
            prop.update(type="boolean")
        props[f.name] = prop
    props[DATES_FIELD] = {
        "title": "里程碑取得日期", "type": "object",
        "description": f"{{里程碑代码: 取得日期}}；日期为 YYYY-MM-DD，不早于 {EARLIEST_DATE.isoformat()}，"
                       "不晚于匹配日期（/api/v1/match 的 date，缺省为今天）。",
        "propertyNames": {"enum": FIELDS_BY_NAME["milestones"].option_codes()},
        "additionalProperties": {"type": "string", "format": "date", "pattern": DATE_PATTERN,
                                 "formatMinimum": EARLIEST_DATE.isoformat(), "formatMaximum": today.isoformat()},
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "/api/v1/profile-schema",
        "title": "企业画像（问卷回答）",
        "description": "不作答的问题省略即可：任何位置都不接受 null；数字与是/否须为 JSON 数值与布尔值。",
        "type": "object",
        "additionalProperties": False,
        "properties": props,
        "x-steps": [{"code": s.code, "zh": s.zh, "en": s.en, "ko": s.ko} for s in STEPS],
    }
