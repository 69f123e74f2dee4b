"""The first hour on a fresh machine: one workspace home whatever the current folder,
notebooks that never create a database, reports without Chromium, and the workspace in
JupyterLab (``crm lab``). Real processes, a real demo database, a real JupyterLab."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

import papermill
import pytest
import websocket
from sqlalchemy import create_engine, select

import crmlib
from crmlib import ui
from crmlib.config import database_url, home, notebooks_folder
from crmlib.errors import ConfigError
from crmlib.reporting import schedule as report_schedule
from crmlib.store.models import ReportRun
from tests.factories import demo_database, first_user
from tests.servers import free_port, running

#: Real crm processes, servers and kernels in fresh workspaces.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
NO_CHROMIUM = "/nonexistent/chromium"


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace home: the checkout's notebooks and parameters, and a small demo in
    ``data/crm.db``."""
    folder = tmp_path_factory.mktemp("home")
    shutil.copytree(ROOT / "notebooks", folder / "notebooks")
    shutil.copytree(ROOT / "parameters", folder / "parameters")
    (folder / "data").mkdir()
    demo_database(folder / "data" / "crm.db", customers=200, seed=5)
    return folder


@pytest.fixture(scope="module")
def rep(demo_home: Path) -> str:
    """A sales rep of the demo."""
    return first_user(f"sqlite:///{demo_home / 'data' / 'crm.db'}", "sales")


def crm_env(**values: str) -> dict[str, str]:
    """This environment without the developer's CRM_* settings, plus ``values``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env.update(values)
    return env


def crm(*args: str, env: Mapping[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crmlib", *args],
        capture_output=True,
        text=True,
        env=dict(env),
        cwd=cwd,
        timeout=600,
    )


# -- one workspace home --------------------------------------------------------------------


def test_the_checkout_is_the_home_from_any_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CRM_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    assert home() == ROOT
    assert notebooks_folder() == ROOT / "notebooks"
    assert database_url().database == str(ROOT / "data" / "crm.db")


def test_crm_home_names_another_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_HOME", str(tmp_path / "office"))
    monkeypatch.chdir(ROOT / "notebooks" / "entry")
    assert home() == tmp_path / "office"
    assert database_url().database == str(tmp_path / "office" / "data" / "crm.db")
    assert notebooks_folder() == tmp_path / "office" / "notebooks"


def test_a_relative_sqlite_path_is_made_absolute_where_it_was_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert database_url("sqlite:///x/crm.db").database == str(tmp_path / "x" / "crm.db")
    assert database_url("sqlite://").database is None  # in memory stays in memory


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("zh", ["处没有 CRM 数据库", "make demo", "crm init"]),
        ("en", ["there is no CRM database at", "make demo", "crm init"]),
    ],
)
def test_a_notebook_never_creates_a_database(
    lang: str, words: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "elsewhere" / "data" / "crm.db"
    with pytest.raises(ConfigError) as raised:
        ui.workspace(f"sqlite:///{missing}", user="admin", lang=lang)
    assert str(missing) in str(raised.value)
    assert all(word in str(raised.value) for word in words)
    # The default database of an empty workspace is not created either.
    monkeypatch.setenv("CRM_HOME", str(tmp_path / "empty"))
    with pytest.raises(ConfigError, match=re.escape(str(tmp_path / "empty" / "data"))):
        ui.workspace(user="admin", lang=lang)
    assert not (tmp_path / "elsewhere").exists() and not (tmp_path / "empty").exists()


def test_the_api_still_creates_a_new_database(tmp_path: Path) -> None:
    """``crmlib.open`` documents that a new database gets its schema (and first admin)."""
    url = f"sqlite:///{tmp_path / 'new.db'}"
    with crmlib.open(url, user="admin") as ws:
        assert ws.user.role.name == "admin"
    assert (tmp_path / "new.db").is_file()


@pytest.mark.notebooks
def test_a_kernel_started_in_a_notebook_folder_opens_the_home_database(
    demo_home: Path, rep: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kernel that starts in ``notebooks/entry/`` with no CRM_DATABASE_URL (JupyterLab,
    Voila) opens the workspace's database, not a new empty one beside the notebook."""
    monkeypatch.setenv("CRM_HOME", str(demo_home))
    monkeypatch.setenv("CRM_USER", rep)
    entry = tmp_path / "notebooks" / "entry"
    entry.mkdir(parents=True)
    papermill.execute_notebook(
        str(ROOT / "notebooks/entry/follow_ups.ipynb"),
        str(entry / "out.ipynb"),
        parameters={"lang": "en"},
        kernel_name="python3",
        cwd=str(entry),
        progress_bar=False,
        execution_timeout=300,
    )
    text = (entry / "out.ipynb").read_text(encoding="utf-8")
    assert f"Signed in as {rep} (Sales" in text
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["entry", "notebooks", "out.ipynb"]


# -- reports without Chromium --------------------------------------------------------------

SCHEDULE = """\
reports:
  funnel:
    report: sales_funnel
    cron: "0 7 * * 1"
    parameters: {parameters}/sales_funnel.yaml
  service:
    report: service_quality
    cron: "0 7 2 * *"
    parameters: {parameters}/service_quality.yaml
    formats: [html, pdf]
"""


def test_a_batch_without_chromium_makes_html_and_excel_and_says_so_once(
    demo_home: Path, tmp_path: Path
) -> None:
    schedule = tmp_path / "schedule.yaml"
    schedule.write_text(SCHEDULE.format(parameters=ROOT / "parameters"), encoding="utf-8")
    env = crm_env(CRM_HOME=str(demo_home), CRM_CHROMIUM=NO_CHROMIUM, CRM_LANG="en")
    done = crm(
        "--user",
        "admin",
        "report",
        "due",
        "-s",
        str(schedule),
        "--output",
        str(tmp_path / "out"),
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    line = next(s for s in done.stdout.splitlines() if s.startswith("PDF reports not made"))
    assert NO_CHROMIUM in line and "apt-get install chromium fonts-noto-cjk" in line
    assert "CRM_CHROMIUM" in line
    assert done.stdout.count("PDF reports not made") == 1  # once per batch
    assert done.stdout.count("PDF: not made") == 2
    assert "Sales funnel report: Done, with a note" in done.stdout
    made = sorted(p.suffix for p in (tmp_path / "out").rglob("*.*"))
    assert made == [".html", ".html", ".ipynb", ".ipynb", ".xlsx"]

    with crmlib.open(f"sqlite:///{demo_home / 'data' / 'crm.db'}", user="admin") as ws:
        history = ws.reports.history()
    assert sorted(history["report"]) == ["sales_funnel", "service_quality"]
    assert set(history["status"]) == {"warning"}
    assert set(history["error"]) == {line}
    assert all("pdf" not in json.loads(o) for o in history["outputs"])


def test_a_single_run_without_chromium_says_so_in_chinese(demo_home: Path, tmp_path: Path) -> None:
    env = crm_env(CRM_HOME=str(demo_home), CRM_CHROMIUM=NO_CHROMIUM)
    done = crm(
        "--user",
        "admin",
        "--lang",
        "zh",
        "report",
        "run",
        "sales_funnel",
        "--format",
        "html",
        "--format",
        "pdf",
        "--output",
        str(tmp_path),
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PDF 文件：未生成" in done.stdout
    # a Chinese user reads no code and no English word but the file paths and product names
    words = re.findall(r"[A-Za-z_]+", re.sub(r"/\S*", "", done.stdout))
    assert set(words) <= {
        "PDF",
        "HTML",
        "Excel",
        "Chromium",
        "Debian",
        "chromium",
        "apt",
        "get",
        "install",
        "fonts",
        "noto",
        "cjk",
        "CRM_CHROMIUM",
    }, words
    assert re.search(r"^#\d+ 销售漏斗分析报告：已完成（有提示）（\d+\.\d 秒）$", done.stdout, re.M)
    (line,) = [s for s in done.stdout.splitlines() if s.startswith("未生成 PDF 报表")]
    assert f"{NO_CHROMIUM} 处没有 Chromium" in line and "CRM_CHROMIUM" in line
    assert [p.suffix for p in tmp_path.rglob("*.html")] == [".html"]
    assert not list(tmp_path.rglob("*.pdf"))
    engine = create_engine(f"sqlite:///{demo_home / 'data' / 'crm.db'}")
    try:
        with engine.connect() as conn:
            last = conn.execute(select(ReportRun).order_by(ReportRun.id.desc())).first()
    finally:
        engine.dispose()
    assert last is not None and (last.status, last.error) == ("warning", line)


def test_the_schedule_is_the_workspace_schedule_from_any_folder(
    demo_home: Path, tmp_path: Path
) -> None:
    """cron starts ``crm report due`` in the user's home directory, not the workspace."""
    env = crm_env(CRM_HOME=str(demo_home), CRM_LANG="en")
    done = crm("--user", "admin", "report", "due", "--dry-run", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "kpi_monthly: KPI dashboard (0 7 1 * *)" in done.stdout.splitlines()


# -- crm lab -------------------------------------------------------------------------------


def _get(url: str, token: str | None = None) -> int:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"token {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return refused.code


def _kernel_says(base: str, token: str, code: str) -> str:
    """What ``code`` prints in a new kernel of the server."""
    request = urllib.request.Request(
        f"{base}/api/kernels",
        data=b"{}",
        method="POST",
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        kernel = json.loads(answer.read())["id"]
    channel = websocket.create_connection(
        f"{base.replace('http', 'ws', 1)}/api/kernels/{kernel}/channels",
        header=[f"Authorization: token {token}"],
        timeout=120,
    )
    try:
        msg_id = "crm-lab-check"
        header = {
            "msg_id": msg_id,
            "msg_type": "execute_request",
            "username": "test",
            "session": "crm-lab",
            "version": "5.3",
        }
        channel.send(
            json.dumps(
                {
                    "header": header,
                    "parent_header": {},
                    "metadata": {},
                    "channel": "shell",
                    "content": {
                        "code": code,
                        "silent": False,
                        "store_history": False,
                        "user_expressions": {},
                        "allow_stdin": False,
                    },
                }
            )
        )
        printed = []
        while True:
            message = json.loads(channel.recv())
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if message["msg_type"] == "stream":
                printed.append(message["content"]["text"])
            elif message["msg_type"] == "error":
                raise AssertionError(message["content"]["evalue"])
            elif message["content"].get("execution_state") == "idle":
                return "".join(printed)
    finally:
        channel.close()


def test_crm_lab_opens_the_workspace_as_the_user_behind_a_token(
    demo_home: Path, rep: str, tmp_path: Path
) -> None:
    port = free_port()
    config = tmp_path / "config"  # no user configuration: crm lab must start as it is
    config.mkdir()
    env = crm_env(
        CRM_HOME=str(demo_home),
        CRM_LANG="en",
        JUPYTER_CONFIG_DIR=str(config),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
    )
    log = tmp_path / "lab.log"
    command = [
        sys.executable,
        "-m",
        "crmlib",
        "--user",
        rep,
        "lab",
        "--port",
        str(port),
        "--no-browser",
    ]
    with running(command, port=port, env=env, cwd=tmp_path, log=log, timeout=120) as process:
        url = re.search(r"http://127\.0\.0\.1:\d+/lab\?token=(\S+)", log.read_text())
        assert url, log.read_text()
        token = url.group(1)
        base = f"http://127.0.0.1:{port}"
        assert _get(f"{base}/api/contents") == 403
        assert _get(f"{base}/api/contents", "wrong") == 403
        assert _get(f"{base}/api/contents", token) == 200
        assert _get(f"{base}/api/contents/data/crm.db?content=0", token) == 200  # the home
        seen = _kernel_says(
            base,
            token,
            "import os; print(os.environ['CRM_DATABASE_URL'], "
            "os.environ['CRM_USER'], os.getcwd(), sep='|')",
        )
        assert seen.strip().split("|") == [
            f"sqlite:///{demo_home / 'data' / 'crm.db'}",
            rep,
            str(demo_home),
        ]
        # The token is on no command line another user could read.
        started = _tree(process.pid)  # crm, JupyterLab and the kernel
        lines = [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in started]
        assert len(lines) >= 3 and not [c for c in lines if token.encode() in c]
    # Stopping crm lab (SIGTERM) stops JupyterLab and its kernels with it.
    assert [pid for pid in started if _alive(pid)] == []


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie waiting for its parent does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


# -- commands that create the database, and servers that never do ----------------------


def test_crm_init_creates_the_home_database_from_any_folder(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    env = crm_env(CRM_HOME=str(tmp_path / "office"), CRM_LANG="en")
    done = crm("init", env=env, cwd=tmp_path / "elsewhere")
    assert done.returncode == 0, done.stderr
    assert str(tmp_path / "office" / "data" / "crm.db") in done.stdout
    assert (tmp_path / "office" / "data" / "crm.db").is_file()
    assert list((tmp_path / "elsewhere").iterdir()) == []


@pytest.mark.parametrize("server", [["notebooks", "serve"], ["dashboards"], ["lab"]])
def test_a_server_without_a_database_says_how_to_make_one(
    server: list[str], tmp_path: Path
) -> None:
    env = crm_env(CRM_HOME=str(tmp_path / "office"), CRM_LANG="en")
    done = crm("--user", "admin", *server, env=env, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith("error: there is no CRM database at ")
    assert str(tmp_path / "office" / "data" / "crm.db") in done.stderr
    assert "make demo" in done.stderr and "crm init" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_every_scheduled_report_makes_html_and_excel() -> None:
    """What `make demo` leaves in reports/ on a machine with or without Chromium."""
    entries = report_schedule.load(ROOT / "parameters" / "schedule.yaml")
    assert len(entries) >= 6
    for entry in entries:
        assert {"html", "xlsx"} <= set(entry.formats), entry.name


def make_recipe(target: str) -> list[list[str]]:
    """The commands of a Makefile target, as words, ``$(BIN)/`` left out."""
    lines = (ROOT / "Makefile").read_text(encoding="utf-8").splitlines()
    start = lines.index(next(line for line in lines if line.startswith(f"{target}:")))
    recipe = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip().replace("$(BIN)/", "").split())
    return recipe


def test_make_demo_rebuilds_a_demo_without_asking_and_keeps_a_safety_backup(
    tmp_path: Path,
) -> None:
    """``make demo`` run again (no terminal to answer a question) rebuilds the demo, and
    what it replaced is in a backup."""
    (command, *_) = make_recipe("demo")
    assert command[0] == "crm"
    args = [w.replace("$(CUSTOMERS)", "20") for w in command[1:]]
    env = crm_env(CRM_HOME=str(tmp_path), CRM_USER="sun.li", CRM_LANG="en")
    (tmp_path / "data").mkdir()
    for run in ("first", "again"):
        done = subprocess.run(
            [sys.executable, "-m", "crmlib", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            timeout=600,
        )
        assert done.returncode == 0, f"{run}: {done.stdout}{done.stderr}"
    safety = re.search(r"saved in (/\S+\.db)", done.stdout)
    assert safety and Path(safety.group(1)).is_file(), done.stdout
