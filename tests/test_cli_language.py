"""The ``crm`` command speaks the language chosen with ``--lang`` (or ``CRM_LANG``)."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import crmlib.cli
from crmlib.cli import main
from crmlib.i18n import MESSAGES, current_lang, t
from crmlib.store import head_revision
from crmlib.store.engine import make_engine
from tests.factories import Team, company

CLI_SOURCES = sorted(Path(crmlib.cli.__file__).parent.glob("*.py"))
LANGS = ("en", "zh")
ADDED = {"en": "added qian (sales, team east)", "zh": "已添加用户 qian（sales，团队 east）"}


def _run(url: str, lang: str, *args: str, user: str | None = "admin") -> Result:
    """``crm --lang LANG …`` with the other language in ``CRM_LANG``: the option must win."""
    other = "zh" if lang == "en" else "en"
    command = ["--url", url, "--lang", lang, *(["--user", user] if user else []), *args]
    return CliRunner(env={"CRM_LANG": other}).invoke(main, command)


@pytest.mark.parametrize("lang", LANGS)
def test_init_and_status_speak_the_chosen_language(
    db_url: str, lang: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CRM_LANG", raising=False)
    where = make_engine(db_url).url.render_as_string(hide_password=True)
    made = _run(db_url, lang, "init", user=None)
    assert made.exit_code == 0, made.output
    assert made.stdout.splitlines() == [
        t("core_cli:schema_created", lang, where=where, revision=head_revision()),
        t("core_cli:admin_created", lang, name="admin"),
    ]
    again = _run(db_url, lang, "init", user=None)
    assert again.stdout.splitlines() == [
        t("core_cli:schema_current", lang, where=where, revision=head_revision())
    ]
    shown = _run(db_url, lang, "status", user=None)
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[1] == t("core_cli:status_schema", lang, revision=head_revision())
    assert lines[3] == t("core_cli:status_no_backup", lang)
    assert lines[3] == {"en": "backup    never", "zh": "最近备份  从未备份"}[lang]
    assert current_lang() == "zh"  # the language was set for the command only


@pytest.mark.parametrize("lang", LANGS)
def test_workspace_commands_and_errors_speak_the_chosen_language(team: Team, lang: str) -> None:
    added = _run(team.url, lang, "users", "add", "qian", "--role", "sales", "--team", "east")
    assert added.exit_code == 0, added.output
    line = t("core_cli:user_added_to_team", lang, name="qian", role="sales", team="east")
    assert added.stdout == line + "\n"
    assert line == ADDED[lang]  # literal, so a missing translation fails

    code = team.zhang.customers.add(**company()).code
    saved = _run(team.url, lang, "segments", "define", "大客户", 'grade == "A"')
    assert saved.stdout == t("segments_cli:saved", lang, name="大客户", size=0) + "\n"
    nps = _run(team.url, lang, "feedback", "nps", code, "9", user="sun")
    assert nps.stdout == t("service_cli:nps_recorded", lang, score=9, code=code) + "\n"

    missing = _run(team.url, lang, "audit", "C19990101001")
    assert missing.exit_code == 1
    assert missing.stderr.startswith(t("cli:error", lang, message=""))
    assert missing.stderr.startswith({"en": "error: ", "zh": "错误："}[lang])
    both = _run(team.url, lang, "campaigns", "members", "展会", code, "--segment", "大客户")
    assert both.exit_code == 2 and t("leads_cli:codes_or_segment", lang) in both.stderr


def _calls(tree: ast.AST, name: str) -> list[ast.Call]:
    """Every call of the function ``name`` in ``tree``."""
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name
    ]


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_cli_message_exists_in_both_languages_with_the_same_blanks() -> None:
    namespaces: set[str] = set()
    used: set[str] = set()
    for source in CLI_SOURCES:
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for call in _calls(tree, "register"):
            namespace = next(k.value for k in call.keywords if k.arg == "namespace")
            assert isinstance(namespace, ast.Constant), source.name
            namespaces.add(namespace.value)
        keys = (call.args[0] for call in _calls(tree, "t"))
        used |= {key.value for key in keys if isinstance(key, ast.Constant)}
    assert {"cli", "core_cli", "leads_cli", "service_cli", "segments_cli"} <= namespaces
    assert used - set(MESSAGES) == set()  # every key the commands print is registered
    for key in [key for key in MESSAGES if key.partition(":")[0] in namespaces]:
        texts = MESSAGES[key]
        assert set(texts) == {"en", "zh"} and all(texts.values()), key
        assert _fields(texts["en"]) == _fields(texts["zh"]), key
