"""What makes a live dashboard fast: the chart libraries built once per process and served
to the page as a static file, and a page whose figures are computed in the background,
piece by piece, while its headline computes only its own KPIs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ipywidgets
import pytest

import crmlib
from crmlib import admin
from crmlib.analytics import charts
from crmlib.reporting import REPORTS, dashboards, voila
from crmlib.reporting import parameters as params
from crmlib.workspace import Workspace

#: A demo, report runs and new processes.
pytestmark = pytest.mark.slow

READ_BUNDLE = "from crmlib.analytics import charts; print(charts.javascript_bundle()[:60])"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    url = f"sqlite:///{tmp_path_factory.mktemp('speed') / 'crm.db'}"
    ws = crmlib.open(url, user="admin", lang="zh")
    admin.build_demo(ws.engine, customers=300, seed=5, fresh=True)
    yield ws
    ws.close()


def _bundle_in_a_new_process(env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", READ_BUNDLE],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout.strip()


def test_a_process_reads_the_bundle_its_parent_built(tmp_path: Path) -> None:
    built = charts.bundle_file()
    assert built.read_text(encoding="utf-8") == charts.javascript_bundle()
    assert "window.vegaEmbed" in charts.javascript_bundle()
    marked = tmp_path / "bundle.js"
    marked.write_text("/* built by the parent */ window.vegaEmbed = 1;", encoding="utf-8")
    env = {**os.environ, charts.BUNDLE_ENV: str(marked)}
    assert _bundle_in_a_new_process(env).startswith("/* built by the parent */")
    # a file that is gone is no error: the process builds the libraries itself
    env[charts.BUNDLE_ENV] = str(tmp_path / "missing.js")
    assert _bundle_in_a_new_process(env) == charts.javascript_bundle()[:60].strip()


def test_the_launcher_serves_the_libraries_as_a_static_file(tmp_path: Path) -> None:
    runtime = voila.write_template(tmp_path)
    folder = runtime / "voila" / "templates" / voila.TEMPLATE
    static = folder / "static" / voila.BUNDLE
    assert static.read_text(encoding="utf-8") == charts.javascript_bundle()
    page = (folder / "index.html.j2").read_text(encoding="utf-8")
    assert f"voila/templates/{voila.TEMPLATE}/static/{voila.BUNDLE}" in page
    env = voila.environment(runtime, "sqlite:///x.db", "wang")
    assert env[charts.BUNDLE_ENV] == str(static) and env[voila.PAGE_LIBRARIES_ENV]
    static.unlink()  # a template without the file: kernels send the libraries themselves
    bare = voila.environment(runtime)
    assert voila.PAGE_LIBRARIES_ENV not in bare and charts.BUNDLE_ENV not in bare


def _live(ws: Workspace, name: str) -> dashboards._LivePage:
    return dashboards._LivePage(ws, name, ipywidgets.HTML(), ipywidgets.Output())


def _finish(page: dashboards._LivePage) -> None:
    for worker in page.workers:
        worker.join(timeout=120)
        assert not worker.is_alive()


def _cards(markup: str) -> dict[str, float]:
    return {k: float(v) for k, v in re.findall(r'data-kpi="(\w+)" data-value="([^"]+)"', markup)}


@pytest.mark.parametrize("name", list(REPORTS))
def test_a_live_page_shows_the_same_figures_as_the_report(demo: Workspace, name: str) -> None:
    period = params.resolve_period("previous_quarter")
    page = _live(demo, name)
    page.redraw({"period": period, "region": "华东", "lang": "zh"})
    _finish(page)
    report = demo.reports.build(name, period=period, region="华东")
    assert _cards(page.header.value) == pytest.approx(
        {h.id: h.value for h in report.headline}, nan_ok=True, rel=1e-12
    )
    assert "华东区域" in page.header.value and report.title in page.header.value
    outputs = page.charts_area.outputs
    drawn = [o["data"]["text/html"] for o in outputs if "crm-chart-" in o["data"]["text/html"]]
    assert len(drawn) == len(report.charts)
    assert all("window.vegaEmbed(el" in html and "vegaEmbed = " not in html for html in drawn)
    notes = [o for o in outputs if "crm-note" in o["data"]["text/html"]]
    assert len(notes) == len(report.notes)


def test_an_older_filter_choice_never_overwrites_a_newer_one(demo: Workspace) -> None:
    period = params.resolve_period("previous_quarter")
    page = _live(demo, "kpi_dashboard")
    page.redraw({"period": period, "region": "华东", "lang": "zh"})
    first = page.workers
    page.redraw({"period": period, "region": "华南", "lang": "zh"})
    for worker in first:
        worker.join(timeout=120)
    _finish(page)
    assert "华南区域" in page.header.value and "华东区域" not in page.header.value
    expected = demo.reports.build("kpi_dashboard", period=period, region="华南").headline
    assert _cards(page.header.value) == pytest.approx(
        {h.id: h.value for h in expected}, nan_ok=True, rel=1e-12
    )


def test_a_live_page_says_what_went_wrong(demo: Workspace, monkeypatch: Any) -> None:
    page = _live(demo, "sales_funnel")
    page.redraw({"region": "火星", "lang": "zh"})
    assert page.workers == [] and "crm-error" in page.header.value
    assert "火星" in page.header.value and page.charts_area.outputs == ()

    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(demo, "kpi", broken)  # the charts
    monkeypatch.setattr(demo, "kpis", broken)  # the headline
    page = _live(demo, "kpi_dashboard")
    page.redraw({"lang": "en"})
    _finish(page)
    assert "crm-error" in page.header.value and "went away" in page.header.value
    assert "went away" in page.charts_area.outputs[-1]["data"]["text/html"]


def test_a_batch_measures_data_quality_once(
    demo: Workspace, tmp_path: Path, monkeypatch: Any
) -> None:
    from crmlib.reporting import runner as runner_module

    measured: list[float] = []
    real = runner_module.scorecard

    def counted(*args: Any, **kwargs: Any) -> Any:
        card = real(*args, **kwargs)
        measured.append(card.overall)
        return card

    monkeypatch.setattr(runner_module, "scorecard", counted)
    runner = demo.reports.runner(output=tmp_path)
    gate = {"threshold": 1.0, "action": "skip"}  # below a perfect score: skipped at once
    runs = [runner.run(name, quality_gate=gate) for name in ("kpi_dashboard", "segments")]
    assert [r.status for r in runs] == ["skipped", "skipped"] and len(measured) == 1
    assert all(f"{measured[0]:.0%}" in (r.error or "") for r in runs)
    monkeypatch.setattr(runner_module, "SCORE_MAX_AGE_S", -1)  # too old: measured again
    assert runner.run("kpi_dashboard", quality_gate=gate).status == "skipped"
    assert len(measured) == 2
