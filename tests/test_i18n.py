"""The message catalogue: every text in every language, one meaning per key, kept in the
catalogue files and nowhere else."""

from __future__ import annotations

import ast
import json
import re
import string
import subprocess
import sys
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest

import crmlib.cli  # imports every module, so every error class is defined
from crmlib.errors import ConfigError, CRMError
from crmlib.i18n import LANGUAGES, LOCALE, MESSAGES, catalogue, current_lang, speaking, t

PACKAGE = Path(crmlib.__file__).parent
SOURCES = sorted(PACKAGE.rglob("*.py"))
FILES = {
    lang: json.loads((LOCALE / f"{lang}.json").read_text(encoding="utf-8")) for lang in LANGUAGES
}
KEYS = sorted(set().union(*FILES.values()))


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_there_is_one_catalogue_file_per_language() -> None:
    assert sorted(path.name for path in LOCALE.iterdir()) == sorted(
        f"{lang}.json" for lang in LANGUAGES
    )


@pytest.mark.parametrize("key", KEYS)
def test_every_message_exists_in_every_language_with_the_same_blanks(key: str) -> None:
    missing = [lang for lang in LANGUAGES if not FILES[lang].get(key)]
    assert missing == [], f"{key} has no text in {missing}"
    blanks = {lang: _fields(FILES[lang][key]) for lang in LANGUAGES}
    assert all(names == blanks[LANGUAGES[0]] for names in blanks.values()), blanks


def test_the_checks_catch_a_missing_text_and_a_changed_blank() -> None:
    assert _fields("客户 {code} 已于 {when:%Y-%m-%d} 合并") == {"code", "when"}
    assert _fields("customer {code} merged") != _fields("客户 {kode} 已合并")
    with pytest.raises(ValueError):
        _fields("an unclosed {blank")


def test_the_catalogue_files_are_sorted_so_moving_messages_in_is_repeatable() -> None:
    for lang, texts in FILES.items():
        written = (LOCALE / f"{lang}.json").read_text(encoding="utf-8")
        assert written == json.dumps(texts, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def _inline_catalogues(tree: ast.Module) -> list[int]:
    """Lines that import ``register`` from i18n or pass it a dictionary of messages."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("i18n"):
            found += [node.lineno for alias in node.names if alias.name == "register"]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "register"
            and node.args
            and isinstance(node.args[0], ast.Dict)
        ):
            found.append(node.lineno)
    return found


def test_no_module_keeps_messages_of_its_own() -> None:
    """Messages live in crmlib/locale/, never in tables written in code."""
    inline = [
        f"{source.relative_to(PACKAGE)}:{line}"
        for source in SOURCES
        for line in _inline_catalogues(ast.parse(source.read_text(encoding="utf-8")))
    ]
    assert inline == []


def test_the_scan_catches_a_table_written_in_code() -> None:
    written = (
        'from ..i18n import register, t\nregister(\n    {"a": {"zh": "甲", "en": "a"}}, "ns"\n)\n'
    )
    assert _inline_catalogues(ast.parse(written)) == [1, 2]


#: A name that holds one language of a text: ``zh=``, ``formula_en=``, a field ``title_zh``.
_PAIR_NAME = re.compile(r"^(?:zh|en)$|_(?:zh|en)$")
#: Where texts still come in pairs, and why: the official names of industries and provinces
#: are reference data, matched in either language when a file or a form gives them.
_PAIRS_ALLOWED = ("reference/industries.py", "reference/regions.py")


def _pairs(tree: ast.Module) -> list[str]:
    """Keyword arguments, parameters and annotated fields named after one language."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg:
            found.append((node.arg, node.value.lineno))
        elif isinstance(node, ast.arg):
            found.append((node.arg, node.lineno))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            found.append((node.target.id, node.lineno))
    return [f"{name}:{line}" for name, line in found if _PAIR_NAME.search(name)]


def test_no_text_is_written_as_a_pair_of_languages_in_code() -> None:
    """KPIs, reports, settings, checks and form fields take their words from the catalogue,
    so a translator edits only crmlib/locale/ and a new language needs no Python."""
    pairs = {
        f"{source.relative_to(PACKAGE)}": found
        for source in SOURCES
        if not source.relative_to(PACKAGE).as_posix().startswith(_PAIRS_ALLOWED)
        if (found := _pairs(ast.parse(source.read_text(encoding="utf-8"))))
    }
    assert pairs == {}


def test_the_scan_catches_a_pair_of_languages() -> None:
    written = (
        '@kpi("x", zh="新增", formula_en="Count")\n'
        "def f(name_zh: str, lang: str, en_dash: str) -> None: ...\n"
        "class Spec:\n    about_en: str\n    english: str\n"
    )
    found = _pairs(ast.parse(written))
    assert sorted(found) == ["about_en:4", "formula_en:1", "name_zh:2", "zh:1"]


def test_every_key_the_code_asks_for_is_in_the_catalogue() -> None:
    asked = {
        f"{source.relative_to(PACKAGE)}:{node.lineno}": node.args[0].value
        for source in SOURCES
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "t"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    }
    assert len(asked) > 300
    assert {where: key for where, key in asked.items() if key not in MESSAGES} == {}


@pytest.mark.slow
def test_every_message_is_there_before_the_module_showing_it_is_imported() -> None:
    code = (
        "import sys\n"
        "from crmlib.i18n import t\n"
        "assert 'crmlib.ui.texts' not in sys.modules and 'crmlib.cli' not in sys.modules\n"
        "print(t('ui:save', 'en'), t('cli:cancelled', 'zh'))\n"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert shown.stdout == "Save 已取消，未做任何更改\n"


@pytest.mark.slow
def test_a_catalogue_file_is_read_once_on_the_first_message_in_its_language() -> None:
    """Importing costs nothing: the command and the widgets read no catalogue until they
    show a message."""
    code = (
        "import sys\n"
        "opened = []\n"
        "sys.addaudithook(lambda event, args: event == 'open'"
        f" and str(args[0]).startswith({str(LOCALE)!r}) and opened.append(str(args[0])[-7:]))\n"
        "import crmlib.cli, crmlib.ui\n"
        "print(opened)\n"
        "from crmlib.i18n import t\n"
        "t('ui:save', 'zh'), t('cli:cancelled', 'zh'), t('ui:save', 'en'), t('ui:save', 'en')\n"
        "print(opened)\n"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert shown.stdout == "[]\n['zh.json', 'en.json']\n"


def test_an_installed_crmlib_carries_the_catalogue_files() -> None:
    project = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = project["tool"]["setuptools"]["package-data"]["crmlib"]
    for path in LOCALE.iterdir():
        name = path.relative_to(PACKAGE).as_posix()
        assert any(fnmatch(name, pattern) for pattern in patterns), name


def test_messages_are_seen_by_key_with_their_texts_by_language() -> None:
    assert MESSAGES["template:required"] == {"zh": "是否必填", "en": "Required"}
    assert "template:required" in MESSAGES and "template:no_such_text" not in MESSAGES
    assert len(MESSAGES) == len(KEYS) == len(catalogue("en"))


@pytest.mark.parametrize(
    ("asked", "spoken"),
    [("en", "en"), ("en_US.UTF-8", "en"), ("EN", "en"), ("zh_CN", "zh"), ("fr", "zh")],
)
def test_a_language_not_in_the_catalogue_is_spoken_as_chinese(asked: str, spoken: str) -> None:
    assert current_lang(asked) == spoken


def test_the_language_follows_the_caller() -> None:
    assert t("required", "en") == "is required"
    with speaking("zh"):
        assert t("required") == "为必填项"
    assert t("template:required", "en") == "Required"
    assert t("too_long", "zh", limit=20) == "超过 20 个字符"


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
    for source in SOURCES:
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
