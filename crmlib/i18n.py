"""User-facing text in Chinese and English. Code asks for a message by key; the
language comes from the caller, else ``CRM_LANG``, else Chinese."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_language: ContextVar[str | None] = ContextVar("crm_language", default=None)

MESSAGES: dict[str, dict[str, str]] = {
    "required": {"en": "is required", "zh": "为必填项"},
    "required_any": {
        "en": "needs at least one of {fields}",
        "zh": "至少需要填写其中一项：{fields}",
    },
    "too_long": {"en": "is longer than {limit} characters", "zh": "超过 {limit} 个字符"},
    "phone_format": {
        "en": "is not a valid phone number (mobile, landline with area code, or +country)",
        "zh": "不是有效的电话号码（手机、带区号的座机或 +国家码）",
    },
    "email_format": {"en": "is not a valid e-mail address", "zh": "不是有效的电子邮箱"},
    "enum": {"en": "is not one of: {choices}", "zh": "不在可选值中：{choices}"},
    "province": {"en": "is not a province of China", "zh": "不是中国的省级行政区"},
    "industry": {
        "en": "is not a GB/T 4754-2017 section or division (code or name)",
        "zh": "不是 GB/T 4754-2017 行业门类或大类（代码或名称）",
    },
    "postcode": {"en": "is not a six-digit postcode", "zh": "不是六位邮政编码"},
    "date_format": {"en": "is not a date", "zh": "不是有效日期"},
    "amount": {"en": "is not a non-negative amount", "zh": "不是有效的非负金额"},
    "probability": {
        "en": "is not a probability from 0 to 1 (or 0% to 100%)",
        "zh": "不是 0 到 1（或 0% 到 100%）之间的概率",
    },
    "flag": {"en": "is not yes/no", "zh": "不是“是/否”"},
    "unknown_user": {"en": "is not an active user", "zh": "不是有效的用户"},
    "unique": {"en": "is already used by {other}", "zh": "已被 {other} 使用"},
    "unknown_field": {"en": "is not a field of {entity}", "zh": "不是{entity}的字段"},
}


def current_lang(lang: str | None = None) -> str:
    """The language to speak: the argument, the workspace's (see :func:`speaking`),
    ``CRM_LANG``, else Chinese."""
    chosen = lang or _language.get() or os.environ.get("CRM_LANG", "zh")
    return "en" if chosen.lower().startswith("en") else "zh"


@contextmanager
def speaking(lang: str) -> Iterator[None]:
    """Messages raised inside the block are in ``lang``."""
    token = _language.set(lang)
    try:
        yield
    finally:
        _language.reset(token)


def t(key: str, lang: str | None = None, **values: object) -> str:
    """The message ``key`` in ``lang``, with ``values`` filled in."""
    return MESSAGES[key][current_lang(lang)].format(**values)
