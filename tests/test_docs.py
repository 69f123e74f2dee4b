"""The documentation covers what the code has: every ``crm`` command, KPI, setting and
environment variable, and the generated reference (docs/reference/) is current."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from crmlib import docgen
from crmlib.analytics.kpi import CATALOGUE
from crmlib.docgen.cli import Entry, command_paths, root, walk
from crmlib.environment import BY_NAME, VARIABLES
from crmlib.settings import DEFAULTS, DESCRIPTIONS
from tests.docs_examples import ROOT, blocks, global_options, iter_runnable, month_bound, pages

REFERENCE = ROOT / docgen.FOLDER
#: Where the code reads or sets environment variables: the package, its notebooks, and
#: the project's tests, benchmarks, Makefile and CI script.
CODE = (
    *sorted((ROOT / "crmlib").rglob("*.py")),
    *sorted((ROOT / "notebooks").rglob("*.ipynb")),
    *sorted((ROOT / "tests").rglob("*.py")),
    *sorted((ROOT / "benchmarks").rglob("*.py")),
    ROOT / "Makefile",
    ROOT / ".ci" / "run",
)
_VARIABLE = re.compile(r"\bCRM_[A-Z][A-Z0-9_]*[A-Z0-9]\b")
_CRM_LINE = re.compile(r"(?<![\w.-])crm((?:[ \t]+[^\s`|]+)+)")


def reference(name: str) -> str:
    return (REFERENCE / name).read_text(encoding="utf-8")


def test_reference_pages_are_current() -> None:
    stale = [str(p.relative_to(ROOT)) for p in docgen.stale(ROOT)]
    assert not stale, f"stale, not what the code says now: {', '.join(stale)}; run `make docs`"


def test_the_reference_is_deterministic() -> None:
    assert docgen.render() == docgen.render()


def test_rendering_leaves_the_commands_as_crm_runs_them() -> None:
    """Walking the commands must not change them (click keeps the help option it makes)."""
    docgen.render()
    shown = CliRunner().invoke(root(), ["tickets", "--help"], prog_name="crm").output
    assert "-h, --help" in shown


@pytest.mark.parametrize("path", command_paths())
def test_every_command_is_in_the_cli_reference(path: str) -> None:
    assert f"\n## {path}\n" in reference("cli.md")


@pytest.mark.parametrize("entry", list(walk()), ids=lambda e: e.path)
def test_every_command_has_a_help_text(entry: Entry) -> None:
    assert (entry.command.help or "").strip(), f"{entry.path} has no docstring"


@cache
def mentioned_commands() -> frozenset[str]:
    """``crm …`` commands the guides and topic pages show (docs/, not its reference)."""
    found: set[str] = set()
    for page in pages():
        if page.parent == ROOT:
            continue
        for match in _CRM_LINE.finditer(page.read_text(encoding="utf-8")):
            words = [w.strip(".,;:)'\"") for w in match[1].split()]
            found.update(_command_path(words))
    return frozenset(found)


def _command_path(words: list[str]) -> list[str]:
    """``crm x y`` for the command (and the group above it) that ``words`` names."""
    i = 0
    while i < len(words) and words[i].startswith("-"):
        i += 2 if words[i] in global_options() else 1
    command: click.Command = root()
    path, found = ["crm"], []
    for word in words[i:]:
        if not isinstance(command, click.Group) or word not in command.commands:
            break
        command = command.commands[word]
        path.append(word)
        found.append(" ".join(path))
    return found


@pytest.mark.parametrize("path", command_paths())
def test_every_command_is_shown_in_a_guide_or_topic_page(path: str) -> None:
    assert path in mentioned_commands(), (
        f"`{path}` appears in no page of docs/ (besides the generated reference): show it "
        "in the guide of the role that uses it or in its topic page"
    )


def test_the_mentions_are_read_as_commands() -> None:
    assert _command_path(["--user", "fan.ying", "tickets", "at-risk", "--json"]) == [
        "crm tickets",
        "crm tickets at-risk",
    ]
    assert _command_path(["--lang", "en", "status"]) == ["crm status"]
    assert _command_path(["is", "the", "command"]) == []


@pytest.mark.parametrize("kpi_id", list(CATALOGUE))
def test_every_kpi_is_documented(kpi_id: str) -> None:
    kpi = CATALOGUE[kpi_id]
    page = reference("kpis.md")
    assert f"\n### {kpi_id}: {kpi.name('zh')} / {kpi.name('en')}\n" in page
    assert kpi.formula("en") in page and kpi.formula("zh") in page


def test_every_setting_has_a_description() -> None:
    assert list(DESCRIPTIONS) == list(DEFAULTS), "describe each setting of DEFAULTS, in order"


@pytest.mark.parametrize("key", list(DEFAULTS))
def test_every_setting_is_documented(key: str) -> None:
    page = reference("settings.md")
    assert f"\n## {key}\n" in page and DESCRIPTIONS[key].description("en") in page


@cache
def variables_in_code() -> dict[str, list[str]]:
    """Every ``CRM_*`` name in the code, with the files that name it."""
    found: dict[str, list[str]] = {}
    for path in CODE:
        if not path.is_file() or path == ROOT / "crmlib" / "environment.py":
            continue
        for name in set(_VARIABLE.findall(path.read_text(encoding="utf-8"))):
            found.setdefault(name, []).append(str(path.relative_to(ROOT)))
    return found


def test_every_environment_variable_in_the_code_is_registered() -> None:
    unknown = {n: files for n, files in variables_in_code().items() if n not in BY_NAME}
    assert not unknown, f"add these to VARIABLES in crmlib/environment.py: {unknown}"


def test_crmlib_reads_many_variables() -> None:
    """The scan above finds what it should (a wrong pattern would find nothing)."""
    in_package = {n for n, files in variables_in_code().items() if "crmlib/config.py" in files}
    assert {"CRM_DATABASE_URL", "CRM_HOME"} <= in_package
    assert len(variables_in_code()) >= 15


@pytest.mark.parametrize("name", list(BY_NAME))
def test_every_registered_variable_is_used_and_documented(name: str) -> None:
    if name.startswith("CRM_"):
        assert name in variables_in_code(), f"{name} is registered but nothing reads it"
    assert f"| `{name}` |" in reference("environment.md")


def test_variables_are_registered_once() -> None:
    assert len(BY_NAME) == len(VARIABLES)
    assert all(v.audience in ("user", "internal", "development") for v in VARIABLES)


def test_the_docs_link_to_pages_that_exist() -> None:
    broken = []
    for page in [*pages(), *sorted(REFERENCE.glob("*.md"))]:
        for target in re.findall(r"\]\(([^)\s#]+)(?:#[^)]*)?\)", page.read_text("utf-8")):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)} → {target}")
    assert not broken, "links to missing files:\n" + "\n".join(broken)


def test_the_readme_is_a_front_door() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= 220, f"README.md has {lines} lines: move details to docs/"


def _paths(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for p in folder.glob("*.md"))


def test_the_reference_has_its_four_pages() -> None:
    assert _paths(REFERENCE) == [f"docs/reference/{name}" for name in sorted(docgen.PAGES)]


GUIDES = ("sales-rep", "service-agent", "data-steward", "analyst", "manager", "administrator")


def test_the_docs_have_their_layout() -> None:
    """The pages the examples runner must find (an empty list would pass vacuously)."""
    expected = ["README.md", "README.zh-CN.md", "docs/index.md", "docs/zh/index.md"]
    expected += [f"docs/guides/{g}.md" for g in GUIDES]
    expected += [f"docs/zh/guides/{g}.md" for g in GUIDES]
    found = {p.relative_to(ROOT).as_posix() for p in pages()}
    assert not [p for p in expected if p not in found], sorted(found)
    assert (ROOT / "docs" / "design.md").is_file() and (ROOT / "CHANGELOG.md").is_file()


def test_the_examples_hold_whatever_month_the_demo_is_built_in() -> None:
    """The demo covers the 24 months before the one it is built in: an example with a
    literal period, day, customer code or record number passes this month and fails later."""
    found = [
        f"{page.relative_to(ROOT)}:{line}: {text}\n  {why}"
        for page in pages()
        for block in iter_runnable(page)
        for line, text, why in month_bound(block)
    ]
    assert not found, "examples tied to the demo's month:\n" + "\n".join(found)


MONTH_BOUND_PAGE = """# A page

Prose may say 2025-Q4 and C20251103001.

```bash
crm --user sun.li kpi --period 2025-Q4
crm --user sun.li kpi --period previous_quarter
crm --user sun.li kpi --period 2025 --by month
crm --user liu.guohua funnel --start 2025-07-01 --end "$(date +%F)"
crm --user sun.li audit C20251103001
crm --user sun.li leads status 6351 contacted
crm --user sun.li leads status $LEAD contacted --reason 6351
```

```python
ws.kpi("revenue", period="2025")
ws.segments.rfm(as_of="2025-12-31T18:00")
ws.segments.rfm(as_of=date(2025, 12, 31), period="去年")
ws.tasks.add("x", about="opportunity:12")
ws.leads.add(name="王磊", campaign_id=3)
ws.tasks.add("x", due_date=date.today(), about=f"opportunity:{deal['id']}")
```

```pycon
>>> ws.kpi("revenue", by="month", period="上季度")["month"].tolist()
['2025-10', '2025-11', '2025-12']
>>> report.title
'2025年Q4销售漏斗分析报告'
>>> str(lead)
'线索 #6351（新线索）'
>>> report.title
'...年Q...销售漏斗分析报告'
```

```text
http://127.0.0.1:8866/voila/render/kpi_dashboard.ipynb?period=2025-Q4
```
"""


def test_month_bound_finds_literal_periods_days_codes_and_record_numbers() -> None:
    found = [
        (line, why.split(":")[0])
        for block in blocks(MONTH_BOUND_PAGE)
        if block.lang in ("bash", "python", "pycon")
        for line, _, why in month_bound(block)
    ]
    period, year = "a literal period or day", "a literal year as the period"
    assert found == [
        (6, period),
        (8, year),
        (9, period),
        (10, "a customer code"),
        (11, "a record number"),
        (16, year),
        (17, period),
        (18, "a literal day"),
        (19, "a record number"),
        (20, "a record number"),
        (26, period),
        (28, "a literal period in Chinese"),
        (30, "a record number"),
    ]
