"""The one lookup every registry shares: a wrong name is a clear error in both languages."""

from __future__ import annotations

import pytest

from crmlib.errors import ValidationError
from crmlib.i18n import speaking
from crmlib.registry import Registry


def fruit_registry() -> Registry[int]:
    fruits: Registry[int] = Registry("kind")
    fruits.add("apple", 1)
    fruits.add("pear", 2)
    return fruits


def test_entries_keep_their_order_and_are_found_by_name() -> None:
    fruits = fruit_registry()
    assert fruits.names() == ["apple", "pear"] and list(fruits) == ["apple", "pear"]
    assert fruits["pear"] == 2 and "apple" in fruits and "plum" not in fruits
    assert len(fruits) == 2


@pytest.mark.parametrize(
    ("lang", "message"),
    [
        ("en", "there is no file kind called 'plum'; known: apple, pear"),
        ("zh", "没有名为“plum”的文件类型；可用：apple, pear"),
    ],
)
def test_an_unknown_name_names_the_field_the_value_and_the_known_names(
    lang: str, message: str
) -> None:
    with speaking(lang), pytest.raises(ValidationError) as raised:
        fruit_registry().get("plum")
    (error,) = raised.value.errors
    assert (error.field, error.value, error.message) == ("kind", "plum", message)


def test_a_name_is_registered_once() -> None:
    fruits = fruit_registry()
    with pytest.raises(ValueError, match="file kind 'apple' is already registered"):
        fruits.add("apple", 3)
    assert fruits["apple"] == 1
