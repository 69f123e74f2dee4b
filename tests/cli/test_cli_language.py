"""The ``crm`` command speaks the language chosen with ``--lang`` (or ``CRM_LANG``)."""

from __future__ import annotations

import ast
import string
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import crmlib.cli
from crmlib import clock
from crmlib.cli import main
from crmlib.i18n import MESSAGES, current_lang, t
from crmlib.reference.enums import PRIORITY, ROLE, TEAM
from crmlib.store import head_revision
from crmlib.store.engine import make_engine
from tests.factories import Team, company

CLI_SOURCES = sorted(Path(crmlib.cli.__file__).parent.glob("*.py"))
LANGS = ("en", "zh")
ADDED = {"en": "added qian (Sales, East China team)", "zh": "已添加用户 qian（销售，华东团队）"}


def _run(url: str, lang: str, *args: str, user: str | None = "admin") -> Result:
    """``crm --lang LANG …`` with the other language in ``CRM_LANG``: the option must win."""
    other = "zh" if lang == "en" else "en"
    command = ["--url", url, "--lang", lang, *(["--user", user] if user else []), *args]
    return CliRunner(env={"CRM_LANG": other}).invoke(main, command)


@pytest.mark.parametrize("lang", LANGS)
def test_init_and_status_speak_the_chosen_language(
    empty_db_url: str, lang: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CRM_LANG", raising=False)
    where = make_engine(empty_db_url).url.render_as_string(hide_password=True)
    made = _run(empty_db_url, lang, "init", user=None)
    assert made.exit_code == 0, made.output
    assert made.stdout.splitlines() == [
        t("core_cli:schema_created", lang, where=where, revision=head_revision()),
        t("core_cli:admin_created", lang, name="admin"),
    ]
    again = _run(empty_db_url, lang, "init", user=None)
    assert again.stdout.splitlines() == [
        t("core_cli:schema_current", lang, where=where, revision=head_revision())
    ]
    shown = _run(empty_db_url, lang, "status", user=None)
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
    role, east = ROLE.label("sales", lang), TEAM.label("east", lang)
    line = t("core_cli:user_added_to_team", lang, name="qian", role=role, team=east)
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


def test_a_library_error_is_printed_in_the_chosen_language(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CRM_USER", raising=False)
    monkeypatch.delenv("JUPYTERHUB_USER", raising=False)
    assert _run(db_url, "zh", "init", user=None).exit_code == 0
    for lang, line in (
        ("zh", "错误：未指定用户：请传入 user=...，或设置 CRM_USER（命令行用 --user）"),
        ("en", "error: no user given: pass user=..., or set CRM_USER (--user on the command line)"),
    ):
        shown = _run(db_url, lang, "users", "list", user=None)
        assert shown.exit_code == 1
        assert shown.stderr == line + "\n"


@pytest.mark.parametrize("lang", LANGS)
def test_a_question_answered_no_says_nothing_changed(team: Team, lang: str) -> None:
    """``crm demo --fresh`` on a database with data asks first; no is no, in the language."""
    team.zhang.customers.add(**company())
    before = len(team.admin.customers.frame())
    other = "zh" if lang == "en" else "en"
    answered = CliRunner(env={"CRM_LANG": other}).invoke(
        main,
        [
            "--url",
            team.url,
            "--lang",
            lang,
            "--user",
            "admin",
            "demo",
            "--fresh",
            "--customers",
            "5",
        ],
        input="n\n",
    )
    assert answered.exit_code == 1
    assert answered.stderr == t("cli:cancelled", lang) + "\n"
    assert "Aborted" not in answered.output
    assert len(team.admin.customers.frame()) == before > 0


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
    used: set[str] = set()
    for source in CLI_SOURCES:
        tree = ast.parse(source.read_text(encoding="utf-8"))
        keys = (call.args[0] for call in _calls(tree, "t"))
        used |= {key.value for key in keys if isinstance(key, ast.Constant)}
    namespaces = {key.partition(":")[0] for key in used if ":" in key}
    assert {"cli", "core_cli", "leads_cli", "service_cli", "segments_cli"} <= namespaces
    assert used - set(MESSAGES) == set()  # every key the commands print is in the catalogue
    for key in [key for key in MESSAGES if key.partition(":")[0] in namespaces]:
        texts = MESSAGES[key]
        assert set(texts) == {"en", "zh"} and all(texts.values()), key
        assert _fields(texts["en"]) == _fields(texts["zh"]), key


# ---------------------------------------------------------------- table headers


def _tabled(team: Team) -> dict[str, str]:
    """A little of everything the table commands list; the codes the commands name."""
    zhang = team.zhang
    code = zhang.customers.add(**company()).code
    first = zhang.customers.add(**company(name="杭州星辰科技有限公司", phone="13812340001")).code
    second = zhang.customers.add(**company(name="杭州星辰科技股份有限公司", phone="13812340001"))
    zhang.customers.add(**company(name="成都蜀道贸易有限公司", phone="13812340002"))
    zhang.customers.add(**company(name="成都蜀道贸易股份有限公司", phone="13812340002"))
    team.admin.duplicates.merge(first, second.code)  # the other pair is left for the scan
    zhang.leads.add(name="王磊", source="website", company="苏州启航机械有限公司")
    team.admin.campaigns.add(
        name="展会",
        channel="exhibition",
        start_date="2024-05-01",
        end_date="2024-05-03",
        budget="100000",
    )
    zhang.opportunities.add(
        code,
        name="产线升级",
        stage="proposal",
        amount="100000",
        expected_close_date="2030-03-15",
        need_description="两条新产线",
        proposal_version="V1",
    )
    zhang.interactions.add(
        code,
        summary="电话沟通采购计划",
        channel="phone",
        customer_need="希望缩短交期",
        next_step="周五前发送报价",
        next_action_date=clock.today(),
    )
    zhang.tasks.add("准备报价方案", about=code)
    zhang.comments.add("customer", code, "报价请 @li 复核")
    now = clock.now()
    for hours in (20, 30):  # high priority: one at risk, one breached
        team.sun.tickets.open(
            code,
            type="after_sales",
            subject="设备故障报修",
            priority="high",
            opened_at=now - timedelta(hours=hours),
        )
    team.sun.tickets.take(1)  # an event for `tickets show`
    article = team.sun.kb.add(title="设备故障排查", body="先检查电源。", category="售后")
    team.sun.kb.link(1, int(article["id"]))  # type: ignore[call-overload]
    return {"code": code}


#: The commands that print tables, each as (user, arguments).
TABLE_COMMANDS: list[tuple[str, tuple[str, ...]]] = [
    ("admin", ("users", "list")),
    ("zhang", ("leads", "list")),
    ("admin", ("campaigns", "list")),
    ("admin", ("campaigns", "roi")),
    ("zhang", ("reminders",)),
    ("admin", ("forecast",)),
    ("admin", ("forecast", "--by", "owner")),
    ("admin", ("forecast", "--by", "team")),
    ("zhang", ("stale",)),
    ("zhang", ("tasks", "list")),
    ("zhang", ("comment", "list", "customer", "{code}")),
    ("sun", ("tickets", "list")),
    ("sun", ("tickets", "at-risk")),
    ("sun", ("tickets", "breached")),
    ("sun", ("tickets", "show", "1")),
    ("sun", ("kb", "search", "故障")),
    ("sun", ("kb", "usage")),
    ("admin", ("dedupe", "scan")),
    ("admin", ("dedupe", "merges")),
    ("admin", ("segments", "members", 'province == "上海"')),
    *[
        ("admin", ("kpi", "new_customers", "--by", by))
        for by in ("region", "province", "team", "owner", "month", "industry")
    ],
    ("admin", ("profile",)),
]

#: Headers a command prints, in order, in each language (literal: a missing label fails).
HEADERS: dict[tuple[str, ...], dict[str, list[str]]] = {
    ("forecast", "--by", "owner"): {
        "en": ["Owner", "Count", "Amount", "Weighted amount"],
        "zh": ["负责人", "数量", "金额", "加权金额"],
    },
    ("tasks", "list"): {
        "en": ["ID", "Title", "Assignee", "Created by", "Priority", "Status", "Due"],
        "zh": ["编号", "标题", "处理人", "创建人", "优先级", "状态", "到期日"],
    },
    ("tickets", "at-risk"): {
        "en": ["ID", "Customer code", "Type", "Priority", "Opened at", "SLA", "Next due"],
        "zh": ["编号", "客户编号", "类型", "优先级", "提交时间", "SLA 状态", "最近期限"],
    },
    ("dedupe", "merges"): {
        "en": ["Merge #", "Merged at", "By", "Survivor", "Merged away", "Score", "Can undo"],
        "zh": ["合并编号", "合并时间", "操作人", "保留客户", "被合并客户", "得分", "可撤销"],
    },
    ("dedupe", "scan"): {
        "en": ["Customer A", "Customer B", "Score", "Cluster", "Cluster size"],
        "zh": ["客户甲", "客户乙", "得分", "重复组", "组内客户数"],
    },
    ("kpi", "new_customers", "--by", "owner"): {"en": ["Owner", "Value"], "zh": ["负责人", "数值"]},
    ("profile",): {
        "en": ["Orders", "Revenue", "Buyers", "Average order value", "Repurchase rate"],
        "zh": ["订单数", "销售额", "下单客户数", "客单价", "复购率"],
    },
}


def _show(
    url: str, lang: str, user: str, args: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> Result:
    """Run a table command; ``stale`` 40 days on, when the new deal has gone quiet."""
    with monkeypatch.context() as later:
        if args[0] == "stale":
            moment = clock.now() + timedelta(days=40)
            later.setattr(clock, "now", lambda: moment)
        return _run(url, lang, *args, user=user)


def _header_line(output: str, first: str) -> str:
    """The line of ``output`` that starts with the header ``first``."""
    return next(line for line in output.splitlines() if line.strip().startswith(first))


@pytest.mark.parametrize("lang", LANGS)
def test_tables_print_their_headers_in_the_chosen_language(
    team: Team, lang: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tabled(team)
    for args, expected in HEADERS.items():
        user = next(u for u, a in TABLE_COMMANDS if a == args)
        shown = _show(team.url, lang, user, args, monkeypatch)
        assert shown.exit_code == 0, shown.output
        line = _header_line(shown.stdout, expected[lang][0])
        places = [line.find(header) for header in expected[lang]]
        assert -1 not in places and places == sorted(places), (args, line)
    tasks = _run(team.url, lang, "tasks", "list", user="zhang").stdout
    medium = PRIORITY.label("medium", lang)  # codes read as labels, typed text as typed
    assert f" {medium} " in tasks and "medium" not in tasks and "准备报价方案" in tasks
    assert "assignee" not in _header_line(tasks, HEADERS[("tasks", "list")][lang][0])

    pairs = tmp_path / "pairs.csv"  # files keep their identifiers, in any language
    assert _run(team.url, lang, "dedupe", "scan", "-o", str(pairs)).exit_code == 0
    header = pairs.read_text(encoding="utf-8-sig").splitlines()[0].split(",")
    assert header[:2] == ["code_a", "code_b"] and header[-2:] == ["cluster", "size"]


def test_every_printed_column_has_a_header_in_both_languages(
    team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    values = _tabled(team)
    consulted: dict[str, set[str]] = {}
    heading = crmlib.cli.base.column_heading

    def spy(name: str, lang: str) -> str:
        consulted.setdefault(name, set()).add(command)
        return heading(name, lang)

    monkeypatch.setattr(crmlib.cli.base, "column_heading", spy)
    for user, args in TABLE_COMMANDS:
        command = " ".join(args)
        shown = _show(team.url, "zh", user, tuple(a.format(**values) for a in args), monkeypatch)
        assert shown.exit_code == 0, (command, shown.output)
        assert any(command in used for used in consulted.values()), (command, shown.stdout)
    unlabelled = {
        name: sorted(used)
        for name, used in consulted.items()
        if not all(MESSAGES.get(f"ui_column:{name}", {}).get(lang) for lang in LANGS)
    }
    assert unlabelled == {}
    assert {"owner", "created_at", "next_due", "weighted", "merge_id", "aov"} <= set(consulted)


def test_tables_are_printed_through_the_translating_helper() -> None:
    """A table printed with ``to_string`` elsewhere would show the identifiers."""
    printed = {s.name for s in CLI_SOURCES if ".to_string(" in s.read_text(encoding="utf-8")}
    assert printed == {"base.py"}
