"""The message catalogue: every text in both languages, one meaning per key."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

import crmlib.cli  # imports every module, so every table is registered
from crmlib.errors import ConfigError, CRMError
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


def _error_names() -> set[str]:
    """CRMError and every subclass crmlib defines (FieldError carries a message too)."""
    found, todo = set(), [CRMError]
    while todo:
        cls = todo.pop()
        found.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return found | {"FieldError"}


def _is_literal_text(node: ast.expr) -> bool:
    """English typed into the code: a string, an f-string, or text glued to them with +."""
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.BinOp):
        return _is_literal_text(node.left) or _is_literal_text(node.right)
    return False


def _messages(call: ast.Call) -> list[ast.expr]:
    """The arguments of an error call that become its message."""
    if isinstance(call.func, ast.Name) and call.func.id == "FieldError":
        return call.args[3:] + [k.value for k in call.keywords if k.arg == "message"]
    return call.args + [k.value for k in call.keywords]


def test_errors_users_see_are_raised_with_catalogue_messages() -> None:
    """An error raised with literal text would show in English to a Chinese user."""
    names = _error_names()
    untranslated = []
    for source in sorted(Path(crmlib.__file__).parent.rglob("*.py")):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in names
                and any(_is_literal_text(arg) for arg in _messages(node))
            ):
                untranslated.append(f"{source.name}:{node.lineno}")
    assert untranslated == []


def test_the_scan_catches_literal_messages() -> None:
    found = [
        node
        for text in ('raise NotFound(f"{x} missing")', 'FieldError("a", 1, "r", "bad " + x)')
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    ]
    assert [any(_is_literal_text(a) for a in _messages(call)) for call in found] == [True, True]


def test_an_error_speaks_the_workspace_language(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRM_USER", raising=False)
    monkeypatch.delenv("JUPYTERHUB_USER", raising=False)
    with pytest.raises(ConfigError) as chinese:
        crmlib.open("sqlite://", lang="zh")
    assert str(chinese.value) == "未指定用户：请传入 user=...，或设置 CRM_USER（命令行用 --user）"
    with pytest.raises(ConfigError, match=r"^no user given: pass user=\.\.\."):
        crmlib.open("sqlite://", lang="en")
