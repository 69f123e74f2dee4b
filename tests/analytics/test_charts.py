"""Charts: one theme, Chinese or English labels, and rendering with no network access."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

import altair as alt
import numpy as np
import pandas as pd
import pytest

import crmlib
from crmlib.analytics import charts
from crmlib.demo import generate
from crmlib.workspace import Workspace

EXTERNAL_SCRIPT = re.compile(r"<script[^>]+src\s*=\s*[\"']?(https?:)?//", re.IGNORECASE)
MARKS = re.compile(r'class="mark-(rect|arc|line|symbol|text)')


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    url = f"sqlite:///{tmp_path_factory.mktemp('charts') / 'crm.db'}"
    ws = crmlib.open(url, user="admin", lang="zh")
    generate(ws.engine, customers=150, seed=7, start=date(2024, 1, 1))
    yield ws
    ws.close()


def _kpi_frames() -> dict[str, pd.DataFrame]:
    return {
        "groups": pd.DataFrame({"region": ["华东", "华南", None], "value": [0.5, 0.25, 0.1]}),
        "trend": pd.DataFrame({"month": ["2024-01", "2024-02", "2024-03"], "value": [3, 5, 4]}),
        "cohorts": pd.DataFrame(
            {
                "cohort": ["2024-01"] * 3 + ["2024-02"] * 2,
                "months_since": [0, 1, 2, 0, 1],
                "customers": [10] * 5,
                "active": [10, 5, 3, 8, 4],
                "share": [1, 0.5, 0.3, 1, 0.5],
            }
        ),
        "rfm": pd.DataFrame(
            {
                "segment": ["champions", "loyal", "no_purchase"],
                "label": ["重要价值客户", "忠诚客户", "未购买"],
                "customers": [5, 7, 3],
                "share": [1 / 3, 7 / 15, 0.2],
            }
        ),
        "churn": pd.DataFrame(
            {"risk": np.linspace(0, 1, 50), "band": ["高"] * 10 + ["中"] * 15 + ["低"] * 25}
        ),
    }


def _every_chart(ws: Workspace, lang: str) -> dict[str, charts.Chart]:
    profile = ws.profile(period="2024")
    funnel = ws.funnel(basis="deals", period="2024")
    kpi = _kpi_frames()
    return {
        **charts.profile_charts(profile, lang),
        **charts.funnel_charts(funnel, lang),
        "kpi_groups": charts.kpi_by_group(kpi["groups"], "赢单率", "share", lang),
        "kpi_trend": charts.kpi_trend(kpi["trend"], "新增客户数", "count", lang),
        "cohorts": charts.cohort_heatmap(kpi["cohorts"], lang),
        "rfm": charts.rfm_segments(kpi["rfm"], lang),
        "churn": charts.churn_distribution(kpi["churn"], lang=lang),
    }


def _html(chart: charts.Chart) -> str:
    """What a notebook shows for ``chart`` (its renderer's text/html output)."""
    output = chart._repr_mimebundle_()
    bundle = output[0] if isinstance(output, tuple) else output
    assert bundle is not None
    html: str = bundle["text/html"]
    return html


def test_every_figure_has_a_chart_in_the_theme(demo: Workspace) -> None:
    built = _every_chart(demo, "zh")
    assert alt.theme.active == charts.THEME
    for name, chart in built.items():
        spec = charts.spec_of(chart)
        assert "Noto Sans CJK SC" in spec["config"]["font"], name
        assert spec["config"]["range"]["category"][0] == charts.PALETTE[0], name


def test_the_html_carries_its_own_javascript(demo: Workspace) -> None:
    chart = charts.funnel(demo.funnel(basis="deals").steps, "zh")
    page = charts.to_html(chart)
    assert not EXTERNAL_SCRIPT.search(page)
    assert charts.javascript_bundle()[:2000] in page or "vegaEmbed" in page
    assert "window.vegaEmbed" in page and "赢单" in page
    # the notebook renderer is enabled on import and emits the same offline HTML
    assert alt.renderers.active == charts.RENDERER
    html = _html(chart)
    assert not EXTERNAL_SCRIPT.search(html)
    assert charts.javascript_bundle() in html and "赢单" in html


def test_the_renderer_can_send_the_libraries_once() -> None:
    chart = charts.kpi_trend(_kpi_frames()["trend"], "新增客户数", lang="zh")
    try:
        charts.use_offline_renderer(embed="once")
        html = [_html(chart), _html(chart)]
        assert charts.javascript_bundle() in html[0]
        assert charts.javascript_bundle() not in html[1] and "vegaEmbed" in html[1]
    finally:
        charts.use_offline_renderer()
    with pytest.raises(ValueError, match="embed"):
        charts.use_offline_renderer(embed="sometimes")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("zh", ["客户区域分布", "销售漏斗", "意向客户"]),
        ("en", ["Customers by region", "Sales funnel"]),
    ],
)
def test_static_images_draw_marks_and_labels(demo: Workspace, lang: str, words: list[str]) -> None:
    built = _every_chart(demo, lang)
    svgs = {name: charts.to_svg(chart) for name, chart in built.items()}
    for name, svg in svgs.items():
        assert svg.startswith("<svg") and MARKS.search(svg), name
    text = "".join(svgs.values())
    for word in words:
        assert word in text
    assert charts.to_png(built["funnel"]).startswith(b"\x89PNG")
    assert charts.to_pdf(built["regions"]).startswith(b"%PDF")


def test_builders_refuse_frames_they_cannot_draw() -> None:
    with pytest.raises(ValueError, match="group column"):
        charts.kpi_by_group(pd.DataFrame({"value": [1.0]}))
    with pytest.raises(ValueError, match="risk score"):
        charts.churn_distribution(pd.DataFrame({"customer": ["C1"]}))
