"""JSON Schema of the enterprise profile, generated from the field vocabulary."""

from __future__ import annotations

from typing import Any

from portal.profile.fields import FIELDS, STEPS
from portal.profile.validate import DATES_FIELD, MAX_NUMBER


def profile_json_schema() -> dict[str, Any]:
    props: dict[str, Any] = {}
    for f in FIELDS:
        prop: dict[str, Any] = {"title": f.zh, "x-title-en": f.en, "x-title-ko": f.ko, "x-step": f.step}
        if f.help_zh:
            prop["description"] = f.help_zh
        if f.kind == "text":
            prop.update(type="string", maxLength=f.max_length)
            if f.name == "credit_code":
                prop.update(pattern="^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$",
                            description="统一社会信用代码（GB 32100-2015，含校验位）")
        elif f.kind == "choice":
            prop.update(type="string", enum=f.option_codes(),
                        **{"x-enum-labels": {o.code: {"zh": o.zh, "en": o.en, "ko": o.ko} for o in f.options}})
        elif f.kind == "multi":
            prop.update(type="array", uniqueItems=True, items={"type": "string", "enum": f.option_codes()},
                        **{"x-enum-labels": {o.code: {"zh": o.zh, "en": o.en, "ko": o.ko} for o in f.options}})
        elif f.kind == "number":
            prop.update(type="number", minimum=0, maximum=MAX_NUMBER, **{"x-unit": f.unit_zh})
        else:
            prop.update(type="boolean")
        props[f.name] = prop
    props[DATES_FIELD] = {
        "title": "里程碑取得日期", "type": "object",
        "propertyNames": {"enum": next(f for f in FIELDS if f.name == "milestones").option_codes()},
        "additionalProperties": {"type": "string", "format": "date"},
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "/api/v1/profile-schema",
        "title": "企业画像（问卷回答）",
        "type": "object",
        "additionalProperties": False,
        "properties": props,
        "x-steps": [{"code": s.code, "zh": s.zh, "en": s.en, "ko": s.ko} for s in STEPS],
    }
