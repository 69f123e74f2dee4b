"""Run the examples of a documentation page, by the rules the pages are written to:

- ```bash``` blocks: every command line runs in the page's sandbox (``\\`` continues a line,
  ``#`` lines are comments, here-documents are kept with their command) and must exit 0,
  or fail when the line ends with ``# fails``. ``export NAME=value`` and
  ``NAME=$(command)`` set ``NAME`` for the rest of the page, as in a terminal (so a later
  line can use the number a command printed).
- ```console``` blocks: ``$ command`` lines followed by the output they print; the output is
  compared with ``...`` matching anything and runs of whitespace equal.
- ```python``` blocks run in order in one namespace per page; ```pycon``` blocks are doctests
  in that namespace (ELLIPSIS, NORMALIZE_WHITESPACE).

Plain ``crm …`` lines run in this process through click's test runner (the same command
objects the ``crm`` script calls, without paying the interpreter start-up for each line);
anything with shell syntax (pipes, redirections, variables, globs) runs in ``bash``. Both
see the same environment and folder. A page's failures are collected, not stopped at, so
one run lists every broken example with its page and line.

The demo covers the 24 months before the one it is built in, so its record numbers,
customer codes and the periods holding data change every month: a runnable block names no
literal period or day (it says ``previous_quarter``/``上季度`` or computes the day), no
customer code and no record number (it takes them from a query). :func:`month_bound` finds
what breaks that rule.
"""

from __future__ import annotations

import doctest
import functools
import io
import os
import re
import shlex
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

ROOT = Path(__file__).resolve().parent.parent
#: Languages whose blocks run; others (text, yaml, ini, toml, …) are shown only.
RUN = ("bash", "console", "python", "pycon")
#: Languages that look runnable but would be silently skipped: a page must say bash/python.
MISNAMED = {
    "sh": "bash",
    "shell": "bash",
    "zsh": "bash",
    "shell-session": "console",
    "sh-session": "console",
    "py": "python",
    "python3": "python",
    "ipython": "pycon",
}
_LAB = "tests/test_setup_fresh.py (test_crm_lab_opens_the_workspace_as_the_user_behind_a_token)"
#: Commands that cannot run in a test, and where what they do is tested instead.
SKIPPED: dict[str, str] = {
    "make demo": "the docs examples' demo is built the same way (crm demo --fresh "
    "--customers 5000); tests/test_setup_fresh.py runs the scheduled reports without Chromium",
    "make test": "it is the test suite (.ci/run)",
    "make test-fast": "it is part of the test suite (the marks listed in pyproject.toml)",
    "make venv": ".ci/run installs from requirements.lock on a fresh machine",
    "make lock": "tests/test_environment.py checks the dependency files agree",
    "make lab": _LAB,
    "make screenshots": "tests/ui/test_voila.py (test_a_screenshot_of_each_notebook)",
    "make docs": "tests/test_docs.py (test_reference_pages_are_current)",
    "crm notebooks serve": "tests/ui/test_voila.py",
    "crm dashboards": "tests/reporting/test_dashboards.py",
    "crm lab": _LAB,
    "pip": ".ci/run installs from requirements.lock on a fresh machine",
    "apt-get": ".ci/run installs the system packages",
    "git clone": ".ci/run runs in a fresh clone",
    "cd": "every example already runs in the workspace folder",
}
TIMEOUT = 300
_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
_FAILS = re.compile(r"\s+#\s*fails\s*$")
_HEREDOC = re.compile(r"<<-?\s*(['\"]?)(?P<word>\w+)\1")
_ASSIGNMENT = re.compile(r"[A-Za-z_]\w*=.*", re.DOTALL)
_SHELL_SYNTAX = re.compile(r"[|&;<>()$`*?~{}\[\]]")
#: ``NAME=$(command)``: a variable set from what a command prints.
_CAPTURE = re.compile(r"(?:export\s+)?(?P<name>[A-Za-z_]\w*)=\$\(")
_YEAR = r"(?:19|20)\d\d"
_RECORD = "a record number: take the id from the record an example made or a query found"
#: What holds only for a demo built in some months, and what to write instead.
_MONTH_BOUND = (
    (
        re.compile(rf"(?<![\w.-]){_YEAR}-(?:[QqHh][1-4]|\d{{1,2}}(?:-\d{{1,2}})?)(?!\d)"),
        "a literal period or day: write a relative period (previous_quarter, 上季度 …) "
        "or compute the day (date.today() + timedelta(…), $(date -d … +%F))",
    ),
    (
        re.compile(
            rf"(?:--period|--start|--end|--as-of|\bperiod|\bas_of|\bperiod_start|\bperiod_end)"
            rf"(?:\s*=\s*|\s+)[\"']?{_YEAR}(?![\w-])"
        ),
        "a literal year as the period: write previous_year, this_year (去年, 今年)",
    ),
    (
        re.compile(rf"\b(?:date|datetime)\(\s*{_YEAR}\b"),
        "a literal day: compute it from date.today()",
    ),
    (
        re.compile(rf"{_YEAR}\s*年\s*(?:[QqHh上下第]|\d{{1,2}}\s*月)"),
        "a literal period in Chinese: write 上季度, 去年 … or show it as ...",
    ),
    (
        re.compile(r"(?<![\w])C\d{8,}(?!\d)"),
        "a customer code: take one from a query (ws.customers.frame().code.iloc[0])",
    ),
    (
        re.compile(
            r"(?<![\w&#])#\d+\b|\b(?:opportunity|ticket|lead|task):\d+\b|\b\w+_id\s*=\s*\d+\b"
        ),
        _RECORD,
    ),
)


@dataclass(frozen=True)
class Block:
    """One fenced code block: its language, the page line of its first line, its text."""

    lang: str
    line: int
    text: str


@dataclass(frozen=True)
class Command:
    """One shell command of a block, with the output a console block shows for it."""

    line: int
    text: str
    fails: bool = False
    expected: str | None = None


@dataclass(frozen=True)
class Failure:
    page: str
    line: int
    example: str
    reason: str

    def __str__(self) -> str:
        example = self.example.strip()
        shown = example if "\n" not in example else "\n    " + example.replace("\n", "\n    ")
        return f"{self.page}:{self.line}: {shown}\n  {self.reason.rstrip()}"


@dataclass
class Outcome:
    """What running a page did: its failures, and what ran and what was skipped."""

    failures: list[Failure] = field(default_factory=list)
    ran: int = 0
    skipped: list[str] = field(default_factory=list)
    #: (seconds, "page:line") of every example run, to find the slow ones.
    durations: list[tuple[float, str]] = field(default_factory=list)


def pages(root: Path = ROOT) -> list[Path]:
    """The pages whose examples run: the two front doors and docs/ but its generated
    reference."""
    found = [root / "README.md", root / "README.zh-CN.md"]
    found += sorted(p for p in (root / "docs").rglob("*.md") if "reference" not in p.parts[-2:])
    return [p for p in found if p.is_file()]


def blocks(text: str) -> list[Block]:
    """The fenced code blocks of a Markdown page, indentation of list items removed."""
    found: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        lang = (opening["info"].split() or [""])[0].lower()
        body: list[str] = []
        i += 1
        first = i + 1  # the page line (1-based) of the block's first line
        while i < len(lines):
            closing = _FENCE.match(lines[i])
            if (
                closing
                and closing["fence"][0] == fence[0]
                and len(closing["fence"]) >= len(fence)
                and not closing["info"].strip()
            ):
                break
            body.append(lines[i][indent:] if lines[i][:indent].strip() == "" else lines[i])
            i += 1
        found.append(Block(lang, first, "\n".join(body)))
        i += 1
    return found


def bash_commands(block: Block) -> list[Command]:
    """The commands of a bash block: comments and blank lines dropped, ``\\`` lines joined,
    a here-document kept with the line that starts it."""
    commands: list[Command] = []
    lines = block.text.splitlines()
    i = 0
    while i < len(lines):
        start, text = block.line + i, lines[i]
        i += 1
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        while text.endswith("\\") and i < len(lines):
            text = text[:-1] + " " + lines[i].strip()
            i += 1
        heredoc = _HEREDOC.search(text)
        if heredoc:
            while i < len(lines):
                text += "\n" + lines[i]
                i += 1
                if lines[i - 1].strip() == heredoc["word"]:
                    break
        commands.append(_command(start, text))
    return commands


def console_commands(block: Block) -> list[Command]:
    """The ``$ `` commands of a console block, each with the output shown under it."""
    commands: list[Command] = []
    lines = block.text.splitlines()
    i = 0
    while i < len(lines):
        if not lines[i].startswith("$ "):
            i += 1  # text before the first prompt is not output of anything
            continue
        start, text = block.line + i, lines[i][2:]
        i += 1
        while text.endswith("\\") and i < len(lines):
            text = text[:-1] + " " + lines[i].removeprefix("> ").strip()
            i += 1
        output: list[str] = []
        while i < len(lines) and not lines[i].startswith("$ "):
            output.append(lines[i])
            i += 1
        command = _command(start, text)
        commands.append(
            Command(command.line, command.text, command.fails, "\n".join(output).strip())
        )
    return commands


def _command(line: int, text: str) -> Command:
    first, _, rest = text.partition("\n")
    fails = bool(_FAILS.search(first))
    first = _FAILS.sub("", first) if fails else first
    return Command(line, first.strip() + ("\n" + rest if rest else ""), fails)


def output_matches(expected: str, actual: str) -> bool:
    """Whether ``actual`` is what ``expected`` shows: ``...`` matches anything (also
    nothing, also several lines) and every run of whitespace matches any other."""
    parts = [re.escape(" ".join(part.split())) for part in expected.split("...")]
    pattern = ".*?".join(part.replace(r"\ ", r"\s+") for part in parts)
    return re.fullmatch(pattern, " ".join(actual.split()), re.DOTALL) is not None


def skip_reason(text: str) -> str | None:
    """Why the command ``text`` is not run (what covers it instead), or None to run it."""
    try:
        words = shlex.split(text.partition("\n")[0], comments=True)
    except ValueError:
        return None
    if words[:1] == ["sudo"]:
        words = words[1:]
    if not words:
        return None
    program = Path(words[0]).name
    if program in ("python", "python3") and words[1:3] == ["-m", "pip"]:
        program, words = "pip", words[2:]
    if program in ("pip", "pip3"):
        return SKIPPED["pip"]
    if program == "crm":
        path = " ".join(["crm", *crm_command(words[1:])])
        return next((why for name, why in SKIPPED.items() if _starts(path, name)), None)
    plain = " ".join([program, *words[1:]])
    return next(
        (
            why
            for name, why in SKIPPED.items()
            if not name.startswith("crm ") and _starts(plain, name)
        ),
        None,
    )


def _starts(text: str, prefix: str) -> bool:
    return text == prefix or text.startswith(prefix + " ")


def crm_command(args: list[str]) -> list[str]:
    """The command words of ``crm`` arguments: global options and their values left out."""
    i = 0
    while i < len(args) and args[i].startswith("-"):
        option = args[i].split("=", 1)[0]
        i += 2 if option in global_options() and "=" not in args[i] else 1
    return [a for a in args[i:] if not a.startswith("-")][:2]


@functools.cache
def global_options() -> frozenset[str]:
    """The ``crm`` options that come before the command and take a value (``--user``)."""
    from crmlib.cli import main

    return frozenset(
        name
        for param in main.params
        if isinstance(param, click.Option) and not param.is_flag
        for name in param.opts
    )


class Page:
    """Runs one page's examples in ``sandbox`` (the current folder while it runs).

    The caller sets up the environment (``os.environ`` and the current folder) before
    :meth:`run`; ``export NAME=value`` lines change ``os.environ`` for the rest of the page.
    """

    def __init__(self, path: Path, sandbox: Path, root: Path = ROOT) -> None:
        self.path = path
        self.name = str(path.relative_to(root)) if path.is_relative_to(root) else path.name
        self.sandbox = sandbox
        self.namespace: dict[str, Any] = {"__name__": "__main__"}
        self.outcome = Outcome()

    def blocks(self) -> list[Block]:
        return blocks(self.path.read_text(encoding="utf-8"))

    def run(self) -> Outcome:
        """Run every example; the environment the page changed is restored afterwards."""
        saved = dict(os.environ)
        try:
            self._run()
        finally:
            os.environ.clear()
            os.environ.update(saved)
        return self.outcome

    def _run(self) -> None:
        for block in self.blocks():
            if block.lang in MISNAMED:
                self._fail(
                    block.line,
                    block.text,
                    f"```{block.lang}``` blocks are not run: write ```{MISNAMED[block.lang]}```",
                )
            elif block.lang in ("bash", "console"):
                parse = bash_commands if block.lang == "bash" else console_commands
                for command in parse(block):
                    self._timed(command.line, self._shell, command)
            elif block.lang == "python":
                self._timed(block.line, self._python, block)
            elif block.lang == "pycon":
                self._timed(block.line, self._pycon, block)

    def _timed(self, line: int, run: Callable[[Any], None], example: Any) -> None:
        started = time.perf_counter()
        run(example)
        self.outcome.durations.append((time.perf_counter() - started, f"{self.name}:{line}"))

    def _fail(self, line: int, example: str, reason: str) -> None:
        self.outcome.failures.append(Failure(self.name, line, example, reason))

    # -- shell ----------------------------------------------------------------------
    def _shell(self, command: Command) -> None:
        why = skip_reason(command.text)
        if why is not None:
            self.outcome.skipped.append(f"{self.name}:{command.line}: {command.text} ({why})")
            return
        self.outcome.ran += 1
        captured = _CAPTURE.match(command.text)
        if captured:
            self._capture(command, captured["name"])
            return
        assignments = _assignments(command.text)
        if assignments:
            os.environ.update(assignments)
            return
        code, output = self._execute(command.text)
        if command.fails and code == 0:
            reason = _with_output("exited 0 but is marked `# fails`", output)
            self._fail(command.line, command.text, reason)
            return
        if command.expected is not None and not output_matches(command.expected, output):
            shown = _indent("expected", command.expected) + "\n" + _indent("got", output)
            self._fail(command.line, command.text, "printed something else than shown.\n" + shown)
            return
        if code != 0 and not command.fails and not (command.expected and output.strip()):
            reason = _with_output(f"exited {code} (mark it `# fails` if it should)", output)
            self._fail(command.line, command.text, reason)

    def _capture(self, command: Command, name: str) -> None:
        """Run ``NAME=$(command)`` in bash and keep what ``NAME`` holds for later lines."""
        script = f'{command.text}\nprintf %s "${{{name}}}"'
        code, value = self._execute(script)
        if code != 0 or not value.strip():
            reason = _with_output(f"exited {code} and set {name} to {value!r}", value)
            self._fail(command.line, command.text, reason)
            return
        os.environ[name] = value.strip()

    def _execute(self, text: str) -> tuple[int, str]:
        """Exit status and terminal output (stdout and stderr as they interleave)."""
        words = _plain_crm(text)
        if words is not None:
            return _in_process(words)
        try:
            done = subprocess.run(
                ["bash", "-c", text],
                cwd=self.sandbox,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                timeout=TIMEOUT,
                env=dict(os.environ),
                text=True,
            )
        except subprocess.TimeoutExpired as exc:
            output = exc.output if isinstance(exc.output, str) else ""
            return 124, f"{output}\n(stopped after {TIMEOUT} s)"
        return done.returncode, done.stdout

    # -- python ---------------------------------------------------------------------
    def _python(self, block: Block) -> None:
        self.outcome.ran += 1
        captured = io.StringIO()
        try:
            code = compile("\n" * (block.line - 1) + block.text, self.name, "exec")
            with redirect_stdout(captured), redirect_stderr(captured):
                exec(code, self.namespace)
        except (Exception, SystemExit) as exc:
            line = _page_line(exc, self.name) or block.line
            source = self.path.read_text(encoding="utf-8").splitlines()[line - 1]
            error = "".join(traceback.format_exception_only(exc)).strip().splitlines()[-1]
            if isinstance(exc, SyntaxError) and ">>> " in block.text:
                error += " (a block with >>> prompts is ```pycon```)"
            self._fail(line, source, _with_output(f"raised {error}", captured.getvalue()))

    def _pycon(self, block: Block) -> None:
        self.outcome.ran += 1
        test = doctest.DocTestParser().get_doctest(
            block.text, self.namespace, self.name, self.name, block.line - 1
        )
        test.globs = self.namespace  # DocTest copies its globals: share the page's instead
        report = io.StringIO()
        runner = doctest.DocTestRunner(
            optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
        )
        runner.run(test, out=report.write, clear_globs=False)
        for chunk in report.getvalue().split("*" * 70):
            found = re.search(r'File "[^"]*", line (\d+), in .*\n(?:Failed example:\n)?', chunk)
            if found:
                example = chunk[found.end() :].split("\n", 1)
                self._fail(
                    int(found[1]), example[0].strip(), example[1] if len(example) > 1 else ""
                )


def _assignments(text: str) -> dict[str, str] | None:
    """The variables a line like ``export CRM_USER=sun.li`` sets (for the rest of the page),
    or None when the line is a command (``CRM_LANG=en crm status`` is one)."""
    try:
        words = shlex.split(text, comments=True) if "\n" not in text else []
    except ValueError:
        return None
    words = words[1:] if words[:1] == ["export"] else words
    if not words or not all(_ASSIGNMENT.fullmatch(word) for word in words):
        return None
    return {name: os.path.expandvars(value) for name, value in (w.split("=", 1) for w in words)}


def _plain_crm(text: str) -> list[str] | None:
    """The arguments of a ``crm …`` line with no shell syntax, else None."""
    if "\n" in text or _SHELL_SYNTAX.search(text.replace("'", "").replace('"', "")):
        return None
    try:
        words = shlex.split(text, comments=True)
    except ValueError:
        return None
    return words[1:] if words and words[0] == "crm" else None


def _in_process(args: list[str]) -> tuple[int, str]:
    from click.testing import CliRunner

    from crmlib.cli import main

    result = CliRunner().invoke(main, args, prog_name="crm", catch_exceptions=True)
    output = result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        output += "".join(traceback.format_exception(result.exception))
    return result.exit_code, output


def _page_line(exc: BaseException, page: str) -> int | None:
    """The page line of the innermost frame that ran the page's code."""
    if isinstance(exc, SyntaxError) and exc.filename == page:
        return exc.lineno
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == page]
    return lines[-1] if lines and lines[-1] is not None else None


def _indent(title: str, text: str) -> str:
    body = "\n".join("    | " + line for line in (text.rstrip() or "(nothing)").splitlines())
    return f"  {title}:\n{body}"


def _with_output(reason: str, output: str) -> str:
    return reason if not output.strip() else reason + "\n" + _indent("output", output[-3000:])


def month_bound(block: Block) -> Iterator[tuple[int, str, str]]:
    """(page line, line, why) of each line of ``block`` that holds only for a demo built in
    some months: a literal period or day, a customer code, a record number."""
    for offset, line in enumerate(block.text.splitlines()):
        for pattern, why in _MONTH_BOUND:
            if pattern.search(line):
                yield block.line + offset, line.strip(), why
        if _numbered_crm_argument(line):
            yield block.line + offset, line.strip(), _RECORD


def _numbered_crm_argument(line: str) -> bool:
    """Whether a ``crm`` line gives a record number as an argument (``leads status 6351``):
    a bare integer that is not the value of an option."""
    try:
        words = shlex.split(line.removeprefix("$ "), comments=True)
    except ValueError:
        return False
    if "crm" not in (Path(w).name for w in words[:1]):
        return False
    return any(
        w.isdigit() and not words[i - 1].startswith("-") for i, w in enumerate(words) if i > 0
    )


def iter_runnable(path: Path) -> Iterator[Block]:
    """The blocks of ``path`` the runner executes."""
    yield from (b for b in blocks(path.read_text(encoding="utf-8")) if b.lang in RUN)


def python_executable_dir() -> Path:
    """The folder of this interpreter's scripts: the virtualenv's ``crm`` lives there."""
    return Path(sys.executable).parent
