"""Every report is one registration (``@report`` on its builder): each must be complete
(a notebook, titles in both languages, headline KPIs that exist, a population the runner
can count, a builder that draws), a name is registered once, and the reporting layer never
reaches up into the workspace that offers it."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import crmlib
from crmlib import admin
from crmlib.analytics.kpi import CATALOGUE
from crmlib.errors import ValidationError
from crmlib.i18n import MESSAGES
from crmlib.reporting import NOTEBOOKS, REPORTS, report
from crmlib.reporting.catalogue import Analytics, Pieces
from crmlib.reporting.population import population
from crmlib.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    url = f"sqlite:///{tmp_path_factory.mktemp('report_registry') / 'crm.db'}"
    opened = crmlib.open(url, user="admin", lang="zh")
    admin.build_demo(opened.engine, customers=150, seed=4, fresh=True)
    yield opened
    opened.close()


def _nothing(data: Analytics, filters: dict[str, object], lang: str) -> Pieces:
    raise AssertionError("a refused registration is never built")
    yield


@pytest.mark.parametrize("name", list(REPORTS))
def test_every_report_is_complete(ws: Workspace, name: str) -> None:
    spec = REPORTS[name]
    assert (ROOT / NOTEBOOKS / spec.notebook).is_file()
    assert CJK.search(spec.title_name("zh")) and CJK.search(spec.about("zh"))
    english = spec.title_name("en") + spec.about("en")
    assert spec.title_name("en") and spec.about("en") and not CJK.search(english)
    assert spec.headline and all(k in CATALOGUE for k in spec.headline)
    assert population(ws.ctx, spec.population, period="2025") >= 0


@pytest.mark.parametrize("name", list(REPORTS))
def test_every_builder_draws_its_report(ws: Workspace, name: str) -> None:
    spec = REPORTS[name]
    dashboard = ws.reports.build(name, period="2025", lang="zh")
    assert dashboard.report is spec and dashboard.charts and dashboard.tables
    assert [h.id for h in dashboard.headline] == list(spec.headline)
    assert ("kpis" in dashboard.tables) == spec.whole_catalogue


def test_the_catalogue_describes_exactly_the_registered_reports() -> None:
    """A report's title and description are catalogue keys named after it: none missing,
    none left behind by a report that was removed or renamed."""
    described = {key for key in MESSAGES if key.startswith("report:")}
    assert described == {f"report:{name}.{text}" for name in REPORTS for text in ("title", "about")}


def test_a_report_is_registered_once() -> None:
    before = REPORTS.items()
    with pytest.raises(ValueError, match="segments"):
        report(
            "segments",
            headline=("revenue",),
            population="customers",
        )(_nothing)
    assert REPORTS.items() == before


def test_a_report_with_an_unknown_headline_kpi_is_refused() -> None:
    with pytest.raises(ValidationError, match="profit"):
        report(
            "margins",
            headline=("revenue", "profit"),
            population="customers",
        )(_nothing)
    assert "margins" not in REPORTS


def test_an_unknown_report_is_named_with_the_known_ones(ws: Workspace) -> None:
    with pytest.raises(ValidationError) as caught:
        ws.reports.build("sales_dashboard")
    error = caught.value.errors[0]
    assert (error.field, error.value, error.rule) == ("report", "sales_dashboard", "known_report")
    assert "报表" in error.message and "kpi_dashboard" in error.message


def _imported(path: Path) -> set[str]:
    """Every module ``path`` imports, wherever the import stands (module level, a function,
    ``if TYPE_CHECKING``), as an absolute name."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parts = package.split(".")
            base = parts[: len(parts) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            if node.module:
                found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def test_reporting_never_imports_the_workspace() -> None:
    for path in sorted((ROOT / "crmlib" / "reporting").rglob("*.py")):
        imported = _imported(path)
        upward = {"crmlib", "crmlib.open", "crmlib.Workspace"} & imported
        upward |= {m for m in imported if m.startswith("crmlib.workspace")}
        assert not upward, path.name
