"""Every environment variable crmlib reads or sets, described once.

docs/reference/environment.md is generated from :data:`VARIABLES`, and a test checks that
every ``CRM_*`` name in the code is listed here, so a new variable cannot go undocumented.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Who sets a variable: the people who run the CRM, crmlib for the processes it starts
#: (kernels, Voila), or the project's own tests, benchmarks and CI.
AUDIENCES = {
    "user": ("用户设置", "Set by users"),
    "internal": ("crmlib 为其启动的进程设置", "Set by crmlib for the processes it starts"),
    "development": ("测试、基准与持续集成", "Tests, benchmarks and CI"),
}


@dataclass(frozen=True)
class Variable:
    """One environment variable: its default (None: unset) and what it changes."""

    name: str
    audience: str
    default: str | None
    en: str
    zh: str


VARIABLES: tuple[Variable, ...] = (
    Variable(
        "CRM_HOME",
        "user",
        "the clone crmlib runs from; for an installed package, the current folder",
        "The workspace folder, holding `data/`, `notebooks/`, `parameters/` and `reports/`. "
        "The default database is `<CRM_HOME>/data/crm.db`, an absolute path, so the `crm` "
        "command, servers and notebooks started from any folder open the same database.",
        "工作区目录，包含 `data/`、`notebooks/`、`parameters/` 和 `reports/`。默认数据库为 "
        "`<CRM_HOME>/data/crm.db`（绝对路径），因此从任何目录运行的 `crm` 命令、服务和笔记本都"
        "打开同一个数据库。",
    ),
    Variable(
        "CRM_DATABASE_URL",
        "user",
        "`sqlite:///<CRM_HOME>/data/crm.db`",
        "The database: `sqlite:///path` or `postgresql://user@host/db`. The `--url` option "
        "of `crm` overrides it.",
        "数据库地址：`sqlite:///路径` 或 `postgresql://用户@主机/库名`。"
        "`crm` 的 `--url` 选项优先。",
    ),
    Variable(
        "CRM_USER",
        "user",
        None,
        "Who acts: the username the CLI, notebooks and dashboards use when `--user` (or "
        "`user=`) is not given.",
        "操作用户：命令行、笔记本和看板在未给出 `--user`（或 `user=`）时使用的用户名。",
    ),
    Variable(
        "JUPYTERHUB_USER",
        "user",
        None,
        "Who acts when `CRM_USER` is unset: set by JupyterHub for each user's server.",
        "未设置 `CRM_USER` 时的操作用户：由 JupyterHub 为每个用户的服务器设置。",
    ),
    Variable(
        "CRM_LANG",
        "user",
        "`zh`",
        "The language of messages, tables, notebooks and reports: `zh` or `en`. The `--lang` "
        "option of `crm` overrides it.",
        "消息、表格、笔记本和报表的语言：`zh` 或 `en`。`crm` 的 `--lang` 选项优先。",
    ),
    Variable(
        "CRM_TIMEZONE",
        "user",
        "`Asia/Shanghai`",
        'The business time zone: timestamps are stored in it, and "today", customer codes and '
        "monthly reports follow its calendar.",
        "业务时区：时间按此时区存储，“今天”、客户编号和月报都按此时区的日历计算。",
    ),
    Variable(
        "CRM_IMPORT_DIR",
        "user",
        "`imports/` beside the SQLite file (`data/imports`)",
        "Where `crm import` writes rejected rows and import summaries.",
        "`crm import` 写入被拒行和导入摘要的目录。",
    ),
    Variable(
        "CRM_IMPORT_ENGINE",
        "user",
        "`pipelined`",
        "The import engine when none is named: `pipelined` (a second thread checks the next "
        "chunk while one is written) or `serial` (one thread); the notebook and `crm import` "
        "alike.",
        "未指定导入引擎时使用的引擎：`pipelined`（写入一块数据的同时由另一线程检查下一块）"
        "或 `serial`（单线程）；笔记本与 `crm import` 相同。",
    ),
    Variable(
        "CRM_BACKUP_DIR",
        "user",
        "`backups/` beside the SQLite file (`data/backups`)",
        "Where `crm backup` writes backups and `crm restore` looks for them.",
        "`crm backup` 写入备份、`crm restore` 查找备份的目录。",
    ),
    Variable(
        "CRM_REPORTS",
        "user",
        "`reports`",
        "The folder `crm report run` and `crm report due` write report outputs into.",
        "`crm report run` 和 `crm report due` 输出报表的目录。",
    ),
    Variable(
        "CRM_NOTEBOOKS",
        "user",
        "`notebooks/reports`",
        "The folder the report runner takes the report notebooks from.",
        "报表运行器读取报表笔记本的目录。",
    ),
    Variable(
        "CRM_CHROMIUM",
        "user",
        "`/usr/bin/chromium`",
        "The Chromium binary that prints PDF reports.",
        "生成 PDF 报表所用的 Chromium 程序。",
    ),
    Variable(
        "CRM_REPORT_OUTPUT",
        "internal",
        None,
        "Set by the report runner for a report's kernel: the folder the run writes its tables "
        "and summary to. Unset, a dashboard shows its filter widgets instead.",
        "报表运行器为报表内核设置：本次运行写入表格和摘要的目录。未设置时看板显示筛选控件。",
    ),
    Variable(
        "CRM_REPORT_NOTES",
        "internal",
        None,
        "Set by the report runner: warnings shown under a report's title (a JSON list).",
        "报表运行器设置：显示在报表标题下的提示（JSON 列表）。",
    ),
    Variable(
        "CRM_VEGA_BUNDLE",
        "internal",
        None,
        "Set by the processes that start kernels (report runner, Voila launcher): a file with "
        "the chart libraries already built, so each kernel need not build them again.",
        "由启动内核的进程（报表运行器、Voila 启动器）设置：已构建好的图表库文件，"
        "内核无需重复构建。",
    ),
    Variable(
        "CRM_PAGE_CHART_LIBRARIES",
        "internal",
        None,
        "Set by the Voila launcher: the page loads the chart libraries itself, so the "
        "dashboard's kernel does not send them.",
        "由 Voila 启动器设置：页面自行加载图表库，看板内核不再发送。",
    ),
    Variable(
        "CRM_TEST_PG_URL",
        "development",
        None,
        "The tests use this already running PostgreSQL server instead of starting their own.",
        "测试使用这个已在运行的 PostgreSQL 服务器，而不自行启动。",
    ),
    Variable(
        "CRM_SCREENSHOT_DIR",
        "development",
        "the test's own folder",
        "Where the browser tests save the notebook screenshots (`make screenshots` sets `docs`).",
        "浏览器测试保存笔记本截图的目录（`make screenshots` 设为 `docs`）。",
    ),
    Variable(
        "CRM_DOCS_DEMO_START",
        "development",
        "24 months before the current month",
        "tests/test_docs_examples.py: the first day (`YYYY-MM-DD`) of the demo the docs "
        "examples run against, to check they hold for a demo built in another month.",
        "tests/test_docs_examples.py：文档示例所用演示数据的起始日（`YYYY-MM-DD`），"
        "用来检查示例在其他月份构建的演示数据上同样成立。",
    ),
    Variable(
        "CRM_BENCH_TIMEOUT_MS",
        "development",
        "`180000`",
        "The dashboards benchmark's time limit per page, in milliseconds.",
        "看板基准测试每个页面的时限（毫秒）。",
    ),
    Variable(
        "CRM_CI_TIMEOUT",
        "development",
        "`28m`",
        "`.ci/run`: the time limit of the CI run (a `timeout` duration), so a hung test fails "
        "the run.",
        "`.ci/run`：持续集成运行的时限（`timeout` 的时长格式），测试卡住时运行会失败。",
    ),
)

BY_NAME: dict[str, Variable] = {v.name: v for v in VARIABLES}
