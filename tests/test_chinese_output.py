"""What a Chinese user reads: every table the ``crm`` command prints, run on a small demo
database, holds no stored code (of an enumeration, a role or a team) and no English word; in
English, no Chinese label. The reports are read the same way in
tests/reporting/test_report_notebooks.py, on the outputs of the scheduled batch.

Words are runs of two or more ASCII letters not joined to digits (a customer code such as
C20240501001 or a period such as 2024-Q1 is not a word). What may still read in ASCII
(tests/chinese_text.py):

- ``ACRONYMS``: established acronyms Chinese users read as they are (SLA, CSAT, NPS, ROI,
  KPI, RFM, AUC of the churn model, GB of the national standard GB/T 4754);
- words people typed into the demo's records (product names such as "ERP 管理软件", segment
  rules such as ``grade == 'A'``): the test reads them from the database, and checks that
  none of them is a stored code;
- in ``crm users list`` only, the first column: the login names people type to sign in.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import click
import pytest
from click.testing import CliRunner

import crmlib
from crmlib import admin
from crmlib.cli import main
from crmlib.display import all_codes
from crmlib.i18n import MESSAGES
from crmlib.reference.enums import ENUMS, SHOWN_ONLY
from crmlib.reference.regions import REGIONS
from crmlib.settings import DEFAULTS
from crmlib.workspace import Workspace
from tests.chinese_text import problems, typed_values, typed_words

#: Commands that print no table: they change data, write files or serve pages.
NOT_TABLES = {
    "init",
    "demo",
    "status",
    "users add",
    "users deactivate",
    "users passwd",
    "users role",
    "template",
    "export",
    "import",
    "dedupe merge",
    "dedupe unmerge",
    "backup verify",
    "restore",
    "refresh",
    "notebooks serve",
    "report run",
    "report due",
    "dashboards",
    "leads add",
    "leads status",
    "leads convert",
    "campaigns add",
    "campaigns members",
    "campaigns respond",
    "tasks add",
    "tasks set",
    "tasks done",
    "comment add",
    "segments define",
    "segments tag",
    "tickets open",
    "tickets take",
    "tickets start",
    "tickets respond",
    "tickets comment",
    "tickets transfer",
    "tickets resolve",
    "tickets close",
    "tickets reopen",
    "kb add",
    "kb link",
    "feedback nps",
    "lab",
    "settings set",
    "settings reset",
    "customers grade",
    "customers status",
    "customers clear",
    "fields add",
    "fields retire",
}
#: Commands that show, beside Chinese names and rules, the setting keys and the JSON values
#: people type back into ``crm settings set``: keys count as typed, values and the
#: `quoted` entries of a rule are left out of the check.
SETTINGS_COMMANDS = {"settings list", "settings get"}
TYPED_JSON = re.compile(r'`[^`]*`|[{\["].*$|\b(?:null|true|false)\b', re.M)


def leaves(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[str]:
    """Every command of the ``crm`` tree, as it is typed ("tickets list")."""
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from leaves(command, (*path, name))
        else:
            yield " ".join((*path, name))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    url = f"sqlite:///{tmp_path_factory.mktemp('chinese') / 'crm.db'}"
    ws = crmlib.open(url, user="admin", lang="zh")
    admin.build_demo(ws.engine, customers=300, seed=11, fresh=True)
    ws.segments.define("高价值", "grade == 'A'")
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def picks(demo: Workspace) -> dict[str, Any]:
    """Records the commands are run on: a customer with tickets, a rep, a ticket."""
    tickets = demo.tickets.frame()
    code = str(tickets["customer_code"].iloc[0])
    users = demo.users.frame()
    rep = str(users[users["role"] == "sales"]["username"].iloc[0])
    ticket = int(tickets["id"].iloc[0])
    demo.tasks.add("回访客户", assignee=rep, priority="high")
    demo.comments.add("customer", code, "请跟进发票问题")
    demo.customers.update(code, grade="A")
    return {"code": code, "rep": rep, "ticket": ticket}


def commands(picks: dict[str, Any]) -> dict[str, tuple[str, list[str]]]:
    """Each command that prints a table: who runs it and with which arguments."""
    code, rep, ticket = picks["code"], picks["rep"], str(picks["ticket"])
    by_admin = {
        "users list": [],
        "leads list": [],
        "leads assign": ["--dry-run"],
        "campaigns list": [],
        "campaigns roi": [],
        "forecast": [],
        "stale": [],
        "tasks list": ["--all"],
        "comment list": ["customer", code],
        "segments list": [],
        "segments members": ["高价值"],
        "segments track": [],
        "segments history": ["高价值"],
        "tickets list": [],
        "tickets at-risk": [],
        "tickets breached": [],
        "tickets show": [ticket],
        "kb search": ["退货"],
        "kb usage": [],
        "dedupe scan": [],
        "dedupe merges": [],
        "dq report": [],
        "audit": [code],
        "report history": [],
        "kpi": [],
        "profile": [],
        "funnel": [],
        "churn train": [],
        "churn score": [],
        "churn explain": [code],
        "settings list": [],
        "settings get": ["sla_policy"],
        "fields list": ["--retired"],
    }
    shown = {name: ("admin", args) for name, args in by_admin.items()}
    shown["reminders"] = (rep, [])
    return shown


#: More runs of commands with options that change what they print.
VARIANTS = [
    ["kpi", "win_rate", "--by", "team"],
    ["kpi", "revenue", "--by", "owner"],
    ["kpi", "revenue", "--by", "region"],
    ["forecast", "--by", "owner"],
    ["forecast", "--by", "team"],
]


@pytest.fixture(scope="module")
def typed(demo: Workspace) -> set[str]:
    """ASCII words of what people typed."""
    return typed_words(demo)


def run(url: str, user: str, args: list[str], lang: str = "zh") -> str:
    result = CliRunner().invoke(
        main, ["--url", url, "--user", user, "--lang", lang, *args], catch_exceptions=False
    )
    assert result.exit_code == 0, f"{args}: {result.output}"
    return result.output  # with stderr: progress bars are read too


def test_every_command_is_run_or_prints_no_table(picks: dict[str, Any]) -> None:
    tables = set(commands(picks))
    assert set(leaves(main)) == tables | NOT_TABLES, "a new command: add it to one of them"
    assert not tables & NOT_TABLES


def test_typed_words_are_not_codes(typed: set[str]) -> None:
    """Otherwise the allowance for typed words would hide codes."""
    assert not typed & all_codes()


def test_cli_tables_read_as_chinese(
    demo: Workspace, picks: dict[str, Any], typed: set[str]
) -> None:
    url = str(demo.engine.url)
    found: list[str] = []
    runs = [(user, [*name.split(), *args]) for name, (user, args) in commands(picks).items()]
    for user, args in [*runs, *[("admin", v) for v in VARIANTS]]:
        output = run(url, user, args)
        if args[:2] == ["users", "list"]:  # the first column is the login people type
            output = "\n".join(line.split(maxsplit=1)[-1] for line in output.splitlines())
        if " ".join(args[:2]) in SETTINGS_COMMANDS:
            output = TYPED_JSON.sub(" ", output)
            allowed = typed | set(DEFAULTS)
        else:
            allowed = typed
        found += problems(output, allowed, " ".join(args))
    assert not found, "\n".join(found)


def test_tables_label_codes_users_and_numbers(demo: Workspace, picks: dict[str, Any]) -> None:
    url = str(demo.engine.url)
    users = run(url, "admin", ["users", "list"])
    assert "系统管理员" in users and "华东团队" in users and "销售" in users
    assert "NaN" not in users and "True" not in users and " 是" in users
    roi = run(url, "admin", ["campaigns", "roi"])
    assert re.search(r"\d{1,3}(,\d{3})+\.\d\d", roi), roi  # money: separators, two decimals
    assert re.search(r"-?\d+\.\d%", roi), roi  # ROI as a percentage
    assert not re.search(r"\d\.\d{4,}", roi), roi  # no long decimals
    ticket = run(url, "admin", ["tickets", "show", str(picks["ticket"])])
    display = dict(
        zip(demo.users.frame()["username"], demo.users.frame()["display_name"], strict=True)
    )
    assignee = demo.tickets.get(picks["ticket"])["assignee"]
    if assignee:
        assert display[assignee] in ticket
    team = run(url, "admin", ["kpi", "win_rate", "--by", "team"])
    assert "华东团队" in team and "east" not in team


def test_cli_tables_in_english_have_no_chinese_labels(
    demo: Workspace, picks: dict[str, Any]
) -> None:
    """The labels and headers are English; typed names (company names) stay as typed."""
    url = str(demo.engine.url)
    chinese = {c.zh for e in (*ENUMS.values(), *SHOWN_ONLY) for c in e} | set(REGIONS)
    chinese |= {texts["zh"] for key, texts in MESSAGES.items() if key.startswith("ui_column:")}
    chinese -= {word for value in typed_values(demo) for word in value.split()}  # typed so
    found = []
    for name, (user, args) in commands(picks).items():
        output = run(url, user, [*name.split(), *args], lang="en")
        words = {w for line in output.splitlines() for w in line.split()}
        found += [f"{name}: {w!r}" for w in sorted(words & chinese)]
    assert not found, "\n".join(found)
