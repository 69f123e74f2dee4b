"""What a Chinese user reads: every table the ``crm`` command prints and every report
(its HTML page and its workbook), run on a small demo database, holds no stored code
(of an enumeration, a role or a team) and no English word; in English, no Chinese label.

Words are runs of two or more ASCII letters not joined to digits (a customer code such as
C20240501001 or a period such as 2024-Q1 is not a word). What may still read in ASCII:

- ``ACRONYMS``: established acronyms Chinese users read as they are (SLA, CSAT, NPS, ROI,
  KPI, RFM, AUC of the churn model, GB of the national standard GB/T 4754);
- words people typed into the demo's records (product names such as "ERP 管理软件", segment
  rules such as ``grade == 'A'``): the test reads them from the database, and checks that
  none of them is a stored code;
- in ``crm users list`` only, the first column: the login names people type to sign in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import nbformat
import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import select

import crmlib
from crmlib import admin
from crmlib.cli import main
from crmlib.display import COLUMN_ENUMS, USER_COLUMNS, all_codes
from crmlib.i18n import MESSAGES
from crmlib.reference.enums import ENUMS, SHOWN_ONLY
from crmlib.reference.regions import REGIONS
from crmlib.reporting import REPORTS, RunResult
from crmlib.settings import DEFAULTS
from crmlib.store.models import Base
from crmlib.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks" / "reports"
ACRONYMS = frozenset({"SLA", "CSAT", "NPS", "ROI", "KPI", "RFM", "AUC", "GB"})
WORD = re.compile(r"(?<![A-Za-z0-9_@.])[A-Za-z][A-Za-z_]*[A-Za-z](?![A-Za-z0-9_@])")
CJK = re.compile(r"[\u3400-\u9fff]")
#: Tables whose free text people typed (names, subjects, notes) may hold ASCII words.
TYPED = (
    "customers",
    "contacts",
    "leads",
    "opportunities",
    "interactions",
    "orders",
    "tickets",
    "ticket_events",
    "kb_articles",
    "campaigns",
    "tasks",
    "comments",
    "users",
    "segments",
)
#: Commands that print no table: they change data, write files or serve pages.
NOT_TABLES = {
    "init",
    "demo",
    "status",
    "users add",
    "users deactivate",
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


def typed_values(demo: Workspace) -> Iterator[str]:
    """The texts people typed into the demo's records (not its codes, logins or teams)."""
    coded = {
        *COLUMN_ENUMS,
        *USER_COLUMNS,
        "username",
        "email",
        "website",
        "tags",
        "industry",
        "industry_section",
        "industry_division",
        "province",
        "region",
    }
    with demo.engine.connect() as conn:
        for name in TYPED:
            table = Base.metadata.tables[name]
            columns = [
                c for c in table.columns if c.name not in coded and c.type.python_type is str
            ]
            for row in conn.execute(select(*columns)):
                yield from (str(value) for value in row if value)


@pytest.fixture(scope="module")
def typed(demo: Workspace) -> set[str]:
    """ASCII words of what people typed."""
    return {word for value in typed_values(demo) for word in WORD.findall(value)}


def problems(text: str, typed: set[str], where: str) -> list[str]:
    """Stored codes and English words in ``text``."""
    found = []
    codes = all_codes()
    for word in WORD.findall(text):
        if word in codes:
            found.append(f"{where}: code {word!r}")
        elif word not in ACRONYMS and word not in typed:
            found.append(f"{where}: English {word!r}")
    return found


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


# -- reports -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reports(demo: Workspace, tmp_path_factory: pytest.TempPathFactory) -> dict[str, RunResult]:
    output = tmp_path_factory.mktemp("chinese_reports")
    with demo.reports.runner(notebooks=NOTEBOOKS, output=output) as runner:
        return {
            name: runner.run(name, {"period": "this_year", "lang": "zh"}, formats=("html", "xlsx"))
            for name in REPORTS
        }


def _strings(spec: Any) -> Iterator[str]:
    """The texts a chart draws: titles, and the string values of its data."""
    if isinstance(spec, dict):
        for key, value in spec.items():
            if key in (
                "$schema",
                "config",
                "field",
                "type",
                "mark",
                "sort",
                "format",
                "scheme",
                "name",
                "test",
                "as",
                "calculate",
                "filter",
                "aggregate",
                "stack",
                "orient",
                "align",
                "baseline",
                "fontWeight",
                "signal",
                "expr",
                "datum",
                "condition",
                "value",
                "bin",
                "timeUnit",
            ):
                continue
            if key in ("title", "text") and isinstance(value, str):
                yield value
            elif key in ("datasets", "data", "values"):
                yield from _data_strings(value)
            else:
                yield from _strings(value)
    elif isinstance(spec, list):
        for item in spec:
            yield from _strings(item)


def _data_strings(data: Any) -> Iterator[str]:
    if isinstance(data, dict):
        for value in data.values():
            yield from _data_strings(value)
    elif isinstance(data, list):
        for row in data:
            if isinstance(row, dict):
                yield from (v for v in row.values() if isinstance(v, str))


def page_text(notebook: Path) -> str:
    """What a report's page shows: its HTML outputs without scripts and tags, and the
    texts of its charts."""
    node = nbformat.read(notebook, as_version=4)
    parts = []
    for cell in node.cells:
        for output in cell.get("outputs", []):
            markup = output.get("data", {}).get("text/html", "")
            markup = "".join(markup) if isinstance(markup, list) else markup
            start = markup.find('{"$schema"')
            if start >= 0:
                spec, _ = json.JSONDecoder().raw_decode(markup.replace("<\\/", "</"), start)
                parts += list(_strings(spec))
            visible = re.sub(r"<(script|style)\b.*?</\1>", " ", markup, flags=re.S)
            parts.append(re.sub(r"<[^>]+>", " ", visible))
    return "\n".join(parts)


@pytest.mark.slow
def test_reports_read_as_chinese(reports: dict[str, RunResult], typed: set[str]) -> None:
    found: list[str] = []
    for name, result in reports.items():
        assert result.ok, f"{name}: {result.error}"
        found += problems(page_text(Path(result.outputs["notebook"])), typed, f"{name} page")
        book = openpyxl.load_workbook(result.outputs["xlsx"])
        for sheet in book.worksheets:
            found += problems(sheet.title, typed, f"{name} sheet name")
            for row in sheet.iter_rows(values_only=True):
                text = " ".join(v for v in row if isinstance(v, str))
                found += problems(text, typed, f"{name} sheet {sheet.title}")
    assert not found, "\n".join(found)


@pytest.mark.slow
def test_workbooks_keep_numbers_with_number_formats(reports: dict[str, RunResult]) -> None:
    book = openpyxl.load_workbook(reports["kpi_dashboard"].outputs["xlsx"])
    revenue = book["月度销售额"]
    assert [c.value for c in revenue[1]] == ["月份", "销售额"]
    amounts = [row[1] for row in revenue.iter_rows(min_row=2)]
    assert amounts and all(isinstance(c.value, int | float) for c in amounts)
    assert {c.number_format for c in amounts} == {"#,##0.00"}
    teams = book["各团队赢单率"]
    assert {row[1].number_format for row in teams.iter_rows(min_row=2)} == {"0.0%"}
    assert "华东团队" in {row[0].value for row in teams.iter_rows(min_row=2)}
    frame = pd.read_excel(
        reports["customer_profile"].outputs["xlsx"], sheet_name="区域分布", engine="openpyxl"
    )
    assert list(frame.columns) == ["区域", "客户数", "占比"]
