"""The message catalogue: every text in both languages, one meaning per key."""

from __future__ import annotations

import string

import pytest

import crmlib.cli  # noqa: F401  (imports every module, so every table is registered)
from crmlib.i18n import MESSAGES, register, speaking, t


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_every_message_exists_in_both_languages_with_the_same_blanks(key: str) -> None:
    texts = MESSAGES[key]
    assert set(texts) == {"en", "zh"}
    assert all(texts.values())
    assert _fields(texts["en"]) == _fields(texts["zh"])


def test_a_key_cannot_be_given_a_second_meaning() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register({"required": {"en": "something else", "zh": "别的"}})
    register({"required": MESSAGES["required"]})  # the same texts again are fine


def test_the_language_follows_the_caller() -> None:
    assert t("required", "en") == "is required"
    with speaking("zh"):
        assert t("required") == "为必填项"
    assert t("template:required", "en") == "Required"
