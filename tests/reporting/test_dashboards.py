"""The dashboards live: Voila (as ``crm dashboards`` starts it) serves every report
notebook to headless Chromium driven by Playwright, with every request to a host other
than localhost blocked. Charts must render, the headline numbers must equal ``ws.kpis``
for the same parameters, URL parameters must override the parameters cell, and the filter
widgets must redraw the page in place. Screenshots go to ``docs/`` for the README."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

import pytest
from playwright import sync_api as playwright_api

import crmlib
from crmlib import admin
from crmlib.analytics import charts
from crmlib.reporting import REPORTS, voila
from crmlib.reporting import parameters as params
from crmlib.reporting.exporting import CHROMIUM_ARGS
from crmlib.serving import Guard, guard
from crmlib.workspace import Workspace
from tests.servers import REBINDING, check_guard, free_port, running

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks" / "reports"
DOCS = ROOT / "docs"
CHROMIUM = "/usr/bin/chromium"
LOCAL = {"127.0.0.1", "localhost"}
PAGE_TIMEOUT_MS = 120_000
CHART_MARKS = "[id^=crm-chart-] svg [class*=mark-], [id^=crm-chart-] canvas"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    url = f"sqlite:///{tmp_path_factory.mktemp('dashboards') / 'crm.db'}"
    ws = crmlib.open(url, user="admin", lang="zh")
    admin.build_demo(ws.engine, customers=300, seed=5, fresh=True)
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def guarded() -> Iterator[Guard]:
    with guard() as made:
        yield made


@pytest.fixture(scope="module")
def server(
    demo: Workspace, guarded: Guard, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """One Voila for the module, started the way ``crm dashboards`` starts it."""
    runtime = voila.write_template(tmp_path_factory.mktemp("voila"))
    port = free_port()
    url = demo.engine.url.render_as_string(hide_password=False)
    with running(
        voila.command(NOTEBOOKS, guarded, port=port),
        port=port,
        env=guarded.environment(voila.environment(runtime, url, "admin")),
        cwd=ROOT,
        log=runtime / "voila.log",
        token=guarded.token,
    ):
        yield f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, REBINDING])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, guarded: Guard) -> Iterator[tuple[Any, list[str]]]:
    """A page that may only talk to localhost; the list collects what it tried elsewhere.
    Every request carries the server's token (tests/test_server_guard.py opens the server
    as a person does, with ``?token=`` once)."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 900},
        locale="zh-CN",
        extra_http_headers={"Authorization": f"token {guarded.token}"},
    )
    elsewhere: list[str] = []

    def local_only(route: Any) -> None:
        host = urlparse(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host in LOCAL:
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    context.route("**/*", local_only)
    opened = context.new_page()
    yield opened, elsewhere
    context.close()


def _headline(page: Any) -> dict[str, float]:
    cards = page.eval_on_selector_all(
        "[data-kpi]", "els => els.map(e => [e.dataset.kpi, e.dataset.value])"
    )
    return {kpi: float(value) for kpi, value in cards}


def _same(shown: dict[str, float], expected: dict[str, float]) -> None:
    assert shown.keys() == expected.keys()
    for kpi, value in expected.items():
        if math.isnan(value):
            assert math.isnan(shown[kpi]), kpi
        else:
            assert shown[kpi] == pytest.approx(value, rel=1e-12), kpi


def _expected(ws: Workspace, name: str, **filters: Any) -> dict[str, float]:
    kpis = ws.kpis(**filters)
    values = kpis[kpis["stage"].isna()].set_index("id")["value"]
    return {kpi: float(values[kpi]) for kpi in REPORTS[name].headline}


def _open(page: Any, url: str) -> None:
    """Open a dashboard. Voila 0.5 now and then hands a page a preheated kernel that never
    runs it (seen about once in a few hundred page loads); a user reloads, and so does this,
    once: a dashboard that fails twice fails the test."""
    for attempt in (1, 2):
        page.goto(url, wait_until="commit", timeout=PAGE_TIMEOUT_MS)
        try:
            page.wait_for_selector("[data-kpi]", timeout=PAGE_TIMEOUT_MS // 2)
            break
        except playwright_api.Error:
            if attempt == 2:
                raise
    page.wait_for_selector(CHART_MARKS, timeout=PAGE_TIMEOUT_MS)


def _charts_drawn(page: Any) -> list[int]:
    """Marks drawn in each chart of the page."""
    counted: list[int] = page.eval_on_selector_all(
        "[id^=crm-chart-]",
        "els => els.map(e => e.querySelectorAll('svg [class*=mark-] > *, canvas').length)",
    )
    return counted


def test_landing_page_links_every_dashboard(server: str, page: tuple[Any, list[str]]) -> None:
    opened, elsewhere = page
    opened.goto(f"{server}?region={quote('华东')}", wait_until="load")
    links = opened.eval_on_selector_all(
        "a.crm-dashboard", "els => els.map(e => [e.dataset.report, e.getAttribute('href')])"
    )
    assert [name for name, _ in links] == list(REPORTS)
    assert all(href.endswith(f"{name}.ipynb?region=%E5%8D%8E%E4%B8%9C") for name, href in links)
    DOCS.mkdir(exist_ok=True)
    opened.screenshot(path=str(DOCS / "dashboards-landing.png"))
    assert elsewhere == []


@pytest.mark.parametrize("name", list(REPORTS))
def test_dashboard_renders_its_charts_and_the_kpis(
    name: str, server: str, demo: Workspace, page: tuple[Any, list[str]]
) -> None:
    opened, elsewhere = page
    period = params.resolve_period("previous_quarter")
    assert period
    _open(opened, f"{server}voila/render/{name}.ipynb?period={period}&region={quote('华东')}")
    title = opened.inner_text("h1.crm-title")
    assert "华东区域" in title and REPORTS[name].title_name("zh") in title  # the URL beat the cell
    expected_charts = demo.reports.build(name, period=period, region="华东").charts
    opened.wait_for_function(
        f"document.querySelectorAll('[id^=crm-chart-] svg').length >= {len(expected_charts)}",
        timeout=PAGE_TIMEOUT_MS,
    )
    drawn = _charts_drawn(opened)
    assert len(drawn) == len(expected_charts) and all(drawn), drawn
    _same(_headline(opened), _expected(demo, name, period=period, region="华东"))
    content = opened.content()
    assert "dashboards.show(" not in content  # sources stripped
    opened.screenshot(path=str(DOCS / f"dashboard-{name}.png"))
    assert elsewhere == []


def test_filter_widgets_redraw_in_place(
    server: str, demo: Workspace, page: tuple[Any, list[str]]
) -> None:
    opened, elsewhere = page
    period = params.resolve_period("previous_quarter")
    url = f"{server}voila/render/kpi_dashboard.ipynb?period={period}"
    _open(opened, url)
    _same(_headline(opened), _expected(demo, "kpi_dashboard", period=period))
    opened.evaluate("window.__samePage = true")
    opened.locator("select").nth(1).select_option(value="华南")  # the region filter
    opened.wait_for_function(
        "(document.querySelector('h1.crm-title') || {innerText: ''}).innerText.includes('华南')",
        timeout=PAGE_TIMEOUT_MS,
    )
    opened.wait_for_selector(CHART_MARKS, timeout=PAGE_TIMEOUT_MS)
    assert opened.evaluate("window.__samePage") is True and opened.url == url
    _same(_headline(opened), _expected(demo, "kpi_dashboard", period=period, region="华南"))
    assert all(_charts_drawn(opened))
    assert elsewhere == []


def test_the_page_loads_the_chart_libraries_as_a_static_file(
    server: str, page: tuple[Any, list[str]]
) -> None:
    """The kernel sends no chart libraries: the page loads them from Voila (cacheable)."""
    opened, elsewhere = page
    loaded: list[int] = []
    bundle = f"{server}voila/templates/{voila.TEMPLATE}/static/{voila.BUNDLE}"
    opened.on("response", lambda r: loaded.append(r.status) if r.url == bundle else None)
    period = params.resolve_period("previous_quarter")
    _open(opened, f"{server}voila/render/kpi_dashboard.ipynb?period={period}")
    assert loaded == [200]
    assert charts.GLOBALS not in opened.content()  # not inline in the page
    assert elsewhere == []


def test_a_wrong_url_parameter_says_why_without_a_traceback(
    server: str, page: tuple[Any, list[str]]
) -> None:
    opened, _ = page
    opened.goto(
        f"{server}voila/render/sales_funnel.ipynb?region={quote('火星')}",
        wait_until="commit",
        timeout=PAGE_TIMEOUT_MS,
    )
    opened.wait_for_selector(".crm-error", timeout=PAGE_TIMEOUT_MS)
    message = opened.inner_text(".crm-error")
    assert "region" in message and "火星" in message
    assert "Traceback" not in opened.content()


def test_the_dashboards_are_the_users_alone(browser: Any, server: str, guarded: Guard) -> None:
    """No token, another host name (DNS rebinding) or another site's websocket: refused;
    with the token the dashboard works, and closing it shuts its kernel down."""
    path = "/voila/render/kpi_dashboard.ipynb"
    check_guard(browser, server.rstrip("/"), guarded.token, path, "[data-kpi]")


def test_the_landing_page_passes_the_filters_on_but_not_the_token(
    browser: Any, server: str, guarded: Guard
) -> None:
    context = browser.new_context()
    try:
        opened = context.new_page()
        opened.goto(f"{server}?token={guarded.token}&region={quote('华东')}", wait_until="load")
        links = opened.eval_on_selector_all(
            "a.crm-dashboard", "els => els.map(e => e.getAttribute('href'))"
        )
        assert len(links) == len(REPORTS)
        assert all(href.endswith(".ipynb?region=%E5%8D%8E%E4%B8%9C") for href in links), links
    finally:
        context.close()


def test_voila_listens_on_localhost_only(server: str) -> None:
    """The listening socket of the port is bound to 127.0.0.1 (Linux: /proc/net/tcp)."""
    port = f"{urlparse(server).port:04X}"
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, local_port = local.partition(":")
            if local_port == port and state == "0A":  # LISTEN
                listening.append(address)
    assert listening == ["0100007F"]  # 127.0.0.1, and nothing on IPv6
