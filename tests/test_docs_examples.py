"""Every shell and Python example of README.md, README.zh-CN.md and docs/ runs against the
demo, and shows what it really prints (the rules are in tests/docs_examples.py).

One test per page: the page runs in a sandbox holding a fresh copy of the demo workspace
(``data/crm.db`` built once per session as ``make demo`` builds it, the repository's
``notebooks/`` and ``parameters/``), with the virtualenv's ``crm`` on PATH, ``CRM_HOME``
the sandbox and ``CRM_DATABASE_URL`` unset, so the default database is the sandbox's.
``CRM_DOCS_DEMO_START=YYYY-MM-DD`` builds that demo from another first day, as a demo built
in another month would be: the examples must hold for it too. The examples' relative periods
(``previous_quarter``, ``上季度``) resolve against today, so the start must keep the previous
quarter inside the demo's 24 months: no earlier than 21 months before that quarter begins
(the default demo ends with the last month, later starts end in months still to come).
The tests below the page test check the runner itself on small pages of their own.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from crmlib.admin import demo_start
from crmlib.analytics.filters import parse_period
from crmlib.clock import add_months, today
from crmlib.demo.timeline import SPAN_MONTHS
from crmlib.environment import VARIABLES
from tests.docs_examples import (
    ROOT,
    SKIPPED,
    Outcome,
    Page,
    blocks,
    iter_runnable,
    output_matches,
    pages,
    python_executable_dir,
    skip_reason,
)

DEMO_CUSTOMERS = 5000
#: Set to a day (YYYY-MM-DD) to run the examples against a demo starting then.
DEMO_START = "CRM_DOCS_DEMO_START"
#: Fewest runnable blocks a front door has: the set-up, the example, the tour.
FRONT_DOOR_BLOCKS = 3


def crm_script() -> Path:
    script = python_executable_dir() / "crm"
    assert script.is_file(), f"no crm in {script.parent}: install crmlib (make venv)"
    return script


@pytest.fixture(scope="session")
def demo_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo as ``make demo`` builds it (``crm demo --fresh --customers 5000`` on the
    workspace's default database), built once per run and shared by the xdist workers."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the run's folder, above each worker's own
    home = shared / "docs-demo"
    with (shared / "docs-demo.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the first worker builds, the others wait for it
        if not (home / "data" / "crm.db").is_file():
            build_demo(home)
    return home


def demo_arguments() -> list[str]:
    """``crm demo``'s arguments: as ``make demo`` runs it, or starting on the day
    ``CRM_DOCS_DEMO_START`` names, to check the examples hold for a demo built in another
    month (other customer codes, record numbers and periods holding data)."""
    arguments = ["demo", "--fresh", "--customers", str(DEMO_CUSTOMERS)]
    start = os.environ.get(DEMO_START, "").strip()
    if start:
        try:
            first = date.fromisoformat(start)
        except ValueError:
            pytest.fail(f"{DEMO_START}={start!r} is not a day (YYYY-MM-DD)", pytrace=False)
        earliest = earliest_demo_start()
        if first < earliest:
            pytest.fail(
                f"{DEMO_START}={start}: that demo ends before the previous quarter the examples "
                f"show; start on {earliest} or later",
                pytrace=False,
            )
        arguments += ["--start", start]
    return arguments


def earliest_demo_start() -> date:
    """The first start whose 24 months still hold today's previous quarter."""
    quarter_start, _ = parse_period("previous_quarter")
    return add_months(quarter_start, 3 - SPAN_MONTHS)


def build_demo(home: Path) -> None:
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRM_", "JUPYTERHUB_"))}
    env["CRM_HOME"] = str(home)
    done = subprocess.run(
        [crm_script(), *demo_arguments()],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (home / "data" / "crm.db").is_file(), f"crm demo wrote no {home}/data/crm.db"


def make_sandbox(folder: Path, demo: Path | None) -> Path:
    """A workspace folder: a copy of the demo database (when given), the repository's
    notebooks and parameter files, and ``.venv`` pointing at this virtualenv."""
    (folder / "data").mkdir(parents=True)
    (folder / "reports").mkdir()
    if demo is not None:
        shutil.copy2(demo / "data" / "crm.db", folder / "data" / "crm.db")
    for name in ("notebooks", "parameters"):
        shutil.copytree(ROOT / name, folder / name)
    (folder / ".venv").symlink_to(python_executable_dir().parent)
    return folder


def enter(sandbox: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``sandbox`` the workspace of everything the page runs: this process and bash."""
    for variable in VARIABLES:
        if variable.audience != "development":
            monkeypatch.delenv(variable.name, raising=False)
    monkeypatch.setenv("CRM_HOME", str(sandbox))
    monkeypatch.setenv("PATH", f"{python_executable_dir()}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.chdir(sandbox)


def run_page(path: Path, sandbox: Path, monkeypatch: pytest.MonkeyPatch) -> Outcome:
    enter(sandbox, monkeypatch)
    return Page(path, sandbox).run()


def report(outcome: Outcome) -> str:
    return f"{len(outcome.failures)} failing example(s):\n\n" + "\n\n".join(
        map(str, outcome.failures)
    )


@pytest.mark.slow
@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_page_examples_run(
    page: Path, demo_workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = make_sandbox(tmp_path / "workspace", demo_workspace)
    outcome = run_page(page, sandbox, monkeypatch)
    if outcome.failures:
        pytest.fail(report(outcome), pytrace=False)


def test_the_front_doors_and_guides_have_examples() -> None:
    found = {p.relative_to(ROOT).as_posix(): len(list(iter_runnable(p))) for p in pages()}
    for door in ("README.md", "README.zh-CN.md"):
        assert found.get(door, 0) >= FRONT_DOOR_BLOCKS, (door, found.get(door))
    guides = {name: n for name, n in found.items() if "/guides/" in name}
    assert guides, "no docs/guides/*.md pages"
    assert all(guides.values()), f"guides without a runnable example: {guides}"


def test_the_earliest_demo_start_keeps_the_previous_quarter() -> None:
    """The default demo (24 months up to the last one) holds the previous quarter; a start
    one month before the earliest would end before the quarter does."""
    earliest = earliest_demo_start()
    quarter_start, quarter_end = parse_period("previous_quarter")
    assert add_months(earliest, SPAN_MONTHS) == quarter_end
    assert earliest <= demo_start(today()) <= quarter_start


def test_every_skipped_command_names_a_test_that_exists() -> None:
    for command, covered_by in SKIPPED.items():
        named = [w for w in covered_by.replace("(", " ").split() if w.startswith("tests/")]
        for path in named:
            assert (ROOT / path).is_file(), f"{command!r} is said to be covered by {path}"


# -- the runner itself ----------------------------------------------------------------


@pytest.fixture
def empty_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    sandbox = make_sandbox(tmp_path / "workspace", None)
    enter(sandbox, monkeypatch)
    return sandbox


def page(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "page.md"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_failing_bash_line_is_reported_with_its_line(empty_sandbox: Path, tmp_path: Path) -> None:
    text = (
        "# Page\n\n```bash\n# a comment\necho one \\\n  two\nfalse\nexit 3  # fails\n```\n\n"
        "```text\nfalse\n```\n"
    )
    outcome = Page(page(tmp_path, text), empty_sandbox).run()
    assert [(f.line, f.example) for f in outcome.failures] == [(7, "false")]
    assert "exited 1" in outcome.failures[0].reason
    assert outcome.ran == 3


def test_a_command_marked_fails_that_succeeds_is_reported(
    empty_sandbox: Path, tmp_path: Path
) -> None:
    outcome = Page(page(tmp_path, "```bash\ntrue  # fails\n```\n"), empty_sandbox).run()
    assert [f.line for f in outcome.failures] == [2]
    assert "marked `# fails`" in outcome.failures[0].reason


def test_a_wrong_console_output_is_reported_with_both_outputs(
    empty_sandbox: Path, tmp_path: Path
) -> None:
    text = (
        "```console\n$ echo hello     world\nhello world\n$ echo 42\n41\n"
        "$ printf 'a\\nb\\nc\\n'\na\n...\nc\n```\n"
    )
    outcome = Page(page(tmp_path, text), empty_sandbox).run()
    assert [(f.line, f.example) for f in outcome.failures] == [(4, "echo 42")]
    reason = outcome.failures[0].reason
    assert "| 41" in reason and "| 42" in reason, reason


def test_a_failing_pycon_example_is_reported(empty_sandbox: Path, tmp_path: Path) -> None:
    text = (
        "```python\ntotal = 40\n```\n\ntext\n\n```pycon\n>>> total + 2\n42\n"
        ">>> total + 1\n42\n>>> more = total\n```\n\n```pycon\n>>> more\n40\n"
        ">>> int('x')\nTraceback (most recent call last):\n...\n"
        "ValueError: invalid literal for int() with base 10: ...\n```\n"
    )
    outcome = Page(page(tmp_path, text), empty_sandbox).run()
    assert [(f.line, f.example) for f in outcome.failures] == [(10, "total + 1")]
    assert "Expected:" in outcome.failures[0].reason and "41" in outcome.failures[0].reason


def test_a_python_error_names_the_page_line(empty_sandbox: Path, tmp_path: Path) -> None:
    text = "```python\nx = 1\nprint(x)\ny = x / 0\nz = 2\n```\n"
    outcome = Page(page(tmp_path, text), empty_sandbox).run()
    assert [(f.line, f.example) for f in outcome.failures] == [(4, "y = x / 0")]
    assert "ZeroDivisionError" in outcome.failures[0].reason


def test_exported_variables_reach_later_commands_and_python(
    empty_sandbox: Path, tmp_path: Path
) -> None:
    text = (
        "```bash\nexport CRM_USER=sun.li\n```\n\n```console\n$ echo $CRM_USER in $PWD\n"
        f"sun.li in {empty_sandbox}\n$ GREETING=hi bash -c 'echo $GREETING $CRM_USER'\n"
        "hi sun.li\n$ echo ${GREETING:-unset}\nunset\n```\n\n```pycon\n>>> import os\n"
        ">>> os.environ['CRM_USER'], os.getcwd() == os.environ['CRM_HOME']\n('sun.li', True)\n```\n"
    )
    outcome = Page(page(tmp_path, text), empty_sandbox).run()
    assert outcome.failures == []
    assert "CRM_USER" not in os.environ, "a page's exports end with the page"


def test_a_variable_set_from_a_command_reaches_later_lines(
    empty_sandbox: Path, tmp_path: Path
) -> None:
    text = (
        "```bash\nLEAD=$(echo '线索 #6351（新线索）' | grep -o '#[0-9]*' | tr -d '#')\n"
        "test $LEAD = 6351\nEMPTY=$(true)\n```\n\n```pycon\n>>> import os\n"
        ">>> os.environ['LEAD']\n'6351'\n```\n"
    )
    outcome = Page(page(tmp_path, text), empty_sandbox).run()
    assert [(f.line, "set EMPTY to ''" in f.reason) for f in outcome.failures] == [(4, True)]
    assert "LEAD" not in os.environ, "a page's variables end with the page"


def test_here_documents_and_misnamed_languages(empty_sandbox: Path, tmp_path: Path) -> None:
    text = (
        "```bash\ncat > list.csv <<'EOF'\nname\n王磊\nEOF\ngrep -q 王磊 list.csv\n```\n\n"
        "```sh\nfalse\n```\n"
    )
    outcome = Page(page(tmp_path, text), empty_sandbox).run()
    assert (empty_sandbox / "list.csv").read_text(encoding="utf-8") == "name\n王磊\n"
    assert [(f.line, "write ```bash```" in f.reason) for f in outcome.failures] == [(10, True)]


def test_crm_runs_the_same_in_this_process_and_in_bash(empty_sandbox: Path, tmp_path: Path) -> None:
    """Plain ``crm`` lines run in-process; the output is what the installed script prints."""
    script = subprocess.run(
        ["crm", "--lang", "en", "tickets", "--help"], capture_output=True, text=True, check=True
    ).stdout
    shown = "\n".join(["```console", "$ crm --lang en tickets --help", script, "```", ""])
    broken = "```console\n$ crm --lang en tickets --help\nUsage: crm tickets [OPTIONS]\n```\n"
    assert Page(page(tmp_path, shown), empty_sandbox).run().failures == []
    failures = Page(page(tmp_path, broken), empty_sandbox).run().failures
    assert [f.line for f in failures] == [2]


def test_skipped_commands_are_the_listed_ones() -> None:
    assert skip_reason("make demo") == SKIPPED["make demo"]
    assert skip_reason("crm --user sun.li notebooks serve --port 8866") is not None
    assert skip_reason(".venv/bin/crm --user=admin dashboards") is not None
    assert skip_reason("sudo apt-get install chromium") is not None
    assert skip_reason("python3 -m pip install -e .") is not None
    assert skip_reason("crm --user sun.li notebooks") is None
    assert skip_reason("crm --user admin status") is None
    assert skip_reason("make docsx") is None


def test_output_matching() -> None:
    assert output_matches("a   b\n...\nz", "a b\nc\nd\nz  \n")
    assert output_matches("客户 ... 个", "客户 5,000 个")
    assert not output_matches("客户 5,000 个", "客户 4,999 个")
    assert not output_matches("a", "a b")


def test_blocks_keep_page_lines_and_list_indentation() -> None:
    text = "intro\n\n1. step\n\n   ```bash\n   crm status\n   ```\n\n````text\n```bash\n````\n"
    assert [(b.lang, b.line, b.text) for b in blocks(text)] == [
        ("bash", 6, "crm status"),
        ("text", 10, "```bash"),
    ]
