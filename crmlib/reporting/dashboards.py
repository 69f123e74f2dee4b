"""Dashboards: each report notebook is one call, :func:`show`, so the notebooks stay thin
and the same report serves JupyterLab, Voila and scheduled papermill runs.

:func:`build` turns parameters into a :class:`Dashboard` (title, headline KPIs, charts and
the tables behind them) with crmlib's analytics only. :func:`show` then displays it:

- run by the report runner (``CRM_REPORT_OUTPUT`` names the run's folder): static output
  (title, headline, charts) and the tables written to a workbook in that folder;
- in Voila or JupyterLab: filter widgets above the headline and the charts; changing a
  filter rebuilds the dashboard and redraws it in place. In Voila the URL's query string
  (``?region=华东&period=previous_quarter``) overrides the notebook's ``parameters`` cell. The
  figures are computed in the background (:class:`_LivePage`), so Voila sends the page at
  once and each chart appears as soon as its query is done; the headline computes only
  its own KPIs, not the whole catalogue.
"""

from __future__ import annotations

import html
import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from ..analytics.filters import RELATIVE, resolve_period
from ..analytics.kpi import CATALOGUE
from ..analytics.kpi.text import format_value
from ..errors import CRMError
from ..i18n import speaking, t
from ..reference.enums import TEAM
from ..reference.regions import REGION_EN, REGIONS
from . import parameters as params
from .catalogue import REPORTS, Analytics, Piece, Report

#: Set by the report runner: the folder a batch run writes its tables to.
OUTPUT_ENV = "CRM_REPORT_OUTPUT"
TABLES_FILE = "tables.xlsx"
SUMMARY_FILE = "summary.json"
#: Set by the report runner: warnings to show under the title (JSON list).
NOTES_ENV = "CRM_REPORT_NOTES"
#: Filters offered as widgets, in order.
WIDGETS = ("period", "region", "team", "owner", "segment")

STYLE = """<style>
.crm-report{font-family:"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei",
"PingFang SC",sans-serif;color:#222}
.crm-report h1{font-size:24px;margin:8px 0 4px}
.crm-report .crm-meta{color:#666;font-size:12px;margin-bottom:10px}
.crm-headline{display:flex;flex-wrap:wrap;gap:10px;margin:6px 0 14px}
.crm-kpi{border:1px solid #dde3ea;border-radius:6px;padding:8px 14px;min-width:130px;
background:#f7f9fb}
.crm-kpi .crm-kpi-name{font-size:12px;color:#555}
.crm-kpi .crm-kpi-value{font-size:22px;font-weight:600;color:#2f6db5}
.crm-note{background:#fff4e5;border-left:4px solid #f28e2b;padding:6px 10px;margin:6px 0}
.crm-error{background:#fdecea;border-left:4px solid #e15759;padding:6px 10px}
</style>"""


@dataclass(frozen=True)
class Headline:
    """One headline number: a KPI of the catalogue for the dashboard's filters."""

    id: str
    name: str
    value: float
    unit: str

    def text(self, lang: str) -> str:
        value = format_value(self.value, self.unit)
        if value == "–" or self.unit in ("share", "count"):
            return value
        return f"{value} {t(f'kpi_text:{self.unit}', lang)}"


@dataclass
class Dashboard:
    """A report for one set of parameters, ready to display or export."""

    report: Report
    parameters: dict[str, Any]
    title: str
    lang: str
    headline: list[Headline]
    charts: dict[str, Any]
    tables: dict[str, pd.DataFrame]
    notes: list[str] = field(default_factory=list)
    as_of: str = ""
    user: str = ""

    def header_html(self) -> str:
        """Title, who/when line, notes and the headline KPI cards; every card carries its
        KPI id and exact value (``data-kpi``, ``data-value``) for tools that read pages."""
        cards = "".join(
            f'<div class="crm-kpi" data-kpi="{h.id}" data-value="{h.value!r}">'
            f'<div class="crm-kpi-name">{html.escape(h.name)}</div>'
            f'<div class="crm-kpi-value">{html.escape(h.text(self.lang))}</div></div>'
            for h in self.headline
        )
        notes = "".join(f'<div class="crm-note">{html.escape(n)}</div>' for n in self.notes)
        meta = t("dashboards:generated", self.lang, day=self.as_of, user=self.user)
        return (
            f'{STYLE}<div class="crm-report"><h1 class="crm-title">{html.escape(self.title)}'
            f'</h1><div class="crm-meta">{html.escape(meta)}</div>{notes}'
            f'<div class="crm-headline">{cards}</div></div>'
        )


# -- building -----------------------------------------------------------------------------


def _headline(kpis: pd.DataFrame, ids: tuple[str, ...]) -> list[Headline]:
    rows = kpis[kpis["stage"].isna()].set_index("id").to_dict("index")
    return [
        Headline(
            kpi_id,
            str(rows[kpi_id]["name"]),
            float(rows[kpi_id]["value"]),
            str(rows[kpi_id]["unit"]),
        )
        for kpi_id in ids
    ]


def headline(
    ws: Analytics, ids: tuple[str, ...], filters: dict[str, Any], lang: str
) -> list[Headline]:
    """The headline KPIs ``ids`` alone, computed together so they share their passes over
    the data: a live page shows only these, and the whole catalogue costs several times as
    much on a large database."""
    kpis = ws.kpis(ids, **filters)
    values = kpis[kpis["stage"].isna()].set_index("id")["value"]
    return [
        Headline(kpi.id, kpi.name(lang), float(values[kpi.id]), kpi.unit)
        for kpi in map(CATALOGUE.get, ids)
    ]


def build(ws: Analytics, name: str, **values: Any) -> Dashboard:
    """The dashboard ``name`` for the report parameters ``values`` (see
    :mod:`crmlib.reporting.parameters`), as ``ws``'s user sees the data."""
    spec = REPORTS.get(name)
    clean = params.normalise(values)
    lang = clean["lang"]
    filters = params.filters(clean)
    with speaking(lang):
        kpis = ws.kpis(**filters)
        whole = Piece(tables={"kpis": kpis} if spec.whole_catalogue else {})
        for piece in spec.parts(ws, filters, lang):
            whole.charts.update(piece.charts)
            whole.tables.update(piece.tables)
            whole.notes.extend(piece.notes)
        shown = _headline(kpis, spec.headline)
        return _dashboard(ws, spec, clean, shown, whole.charts, whole.tables, whole.notes)


def _dashboard(
    ws: Analytics,
    spec: Report,
    clean: dict[str, Any],
    shown_headline: list[Headline],
    shown: dict[str, Any],
    tables: dict[str, pd.DataFrame],
    notes: list[str],
) -> Dashboard:
    from ..analytics.filters import Filters

    lang = clean["lang"]
    return Dashboard(
        report=spec,
        parameters=clean,
        title=params.title(spec.title_name, clean, lang),
        lang=lang,
        headline=shown_headline,
        charts=shown,
        tables=tables,
        notes=notes,
        as_of=Filters.of(**params.filters(clean)).day.isoformat(),
        user=_display_name(ws),
    )


def _display_name(ws: Analytics) -> str:
    """Who sees the dashboard, by name (a login only when the name is unknown)."""
    try:
        users = ws.users.frame()
    except CRMError:
        return ws.user.username
    names = dict(zip(users["username"], users["display_name"], strict=True))
    return str(names.get(ws.user.username) or ws.user.username)


# -- showing ------------------------------------------------------------------------------


def in_voila() -> bool:
    """Whether this kernel serves a Voila page (a pre-heated one waits for its request)."""
    return (
        os.environ.get("VOILA_PREHEAT") == "True"
        or "VOILA_KERNEL_ID" in os.environ
        or (os.environ.get("SERVER_SOFTWARE", "").startswith("voila"))
    )


def url_parameters(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` overridden by the page URL's query string when Voila serves the notebook;
    a pre-heated kernel waits here until its page is requested."""
    if not in_voila():
        return dict(values)
    from voila.utils import get_query_string

    return params.from_query(get_query_string(), values)


class Opened(Analytics, Protocol):
    """The data of a workspace opened for a page, closed when the page is done with it."""

    def close(self) -> None: ...


class Opener(Protocol):
    """Opens the kernel's workspace (``crmlib.open``) in a language."""

    def __call__(self, *, lang: str | None = ...) -> Opened: ...


def show(name: str, open_workspace: Opener, **values: Any) -> None:
    """Display report ``name`` for the parameters ``values`` (a notebook's parameters cell)
    on the workspace ``open_workspace`` opens (the notebook passes ``crmlib.open``): static
    for a scheduled run, with filter widgets in Voila and JupyterLab."""
    from ..analytics import charts

    # A pre-heated kernel does this before its page is requested: the imports, and the
    # chart libraries unless the page loads them itself.
    if not page_has_libraries():
        charts.javascript_bundle()
    import ipywidgets  # noqa: F401

    values = url_parameters(values)
    output = os.environ.get(OUTPUT_ENV)
    if output:
        ws = open_workspace(lang=params.normalise(values)["lang"])
        try:
            _show_static(ws, name, values, Path(output))
        finally:
            ws.close()
        return
    try:
        lang = params.normalise(values)["lang"]
    except CRMError as exc:  # a wrong URL parameter: say which, without a traceback
        from IPython.display import HTML, display

        display(HTML(f'{STYLE}<div class="crm-error">{html.escape(str(exc))}</div>'))
        return
    # The widgets keep using the workspace for as long as the page lives.
    _show_live(open_workspace(lang=lang), name, values)


def page_has_libraries() -> bool:
    """Whether the page loads the chart libraries itself (``crm dashboards`` serves them
    as a static file of its Voila template)."""
    from .voila import PAGE_LIBRARIES_ENV

    return bool(os.environ.get(PAGE_LIBRARIES_ENV)) and in_voila()


def _display_charts(dashboard: Dashboard, *, bundled: bool = True) -> None:
    """Each chart as an output; ``bundled=False`` leaves out the chart libraries, which
    an earlier output of the page has loaded (:func:`_display_libraries`)."""
    from IPython.display import HTML, display

    from ..analytics import charts

    for chart in dashboard.charts.values():
        if bundled:
            display(chart)
        else:
            display(HTML(charts.html_fragment(charts.spec_of(chart), bundle=False)))


def _display_libraries() -> None:
    """Load the chart libraries into the page once, as an output of their own: sent
    through an Output widget (about 1 MB), they would stall the kernel's output capture."""
    from IPython.display import HTML, display

    from ..analytics import charts

    display(HTML(f'<script type="text/javascript">{charts.javascript_bundle()}</script>'))


def _show_static(ws: Analytics, name: str, values: dict[str, Any], folder: Path) -> Dashboard:
    from IPython.display import HTML, display

    from ..analytics import charts
    from .exporting import write_workbook

    charts.use_offline_renderer("once")  # one copy of the libraries in the page
    dashboard = build(ws, name, **values)
    dashboard.notes[:0] = json.loads(os.environ.get(NOTES_ENV) or "[]")
    display(HTML(dashboard.header_html()))
    _display_charts(dashboard)
    folder.mkdir(parents=True, exist_ok=True)
    write_workbook(dashboard.tables, folder / TABLES_FILE, dashboard.parameters)
    summary = {
        "title": dashboard.title,
        "headline": {h.id: h.value for h in dashboard.headline},
        "charts": list(dashboard.charts),
        "tables": {k: len(v) for k, v in dashboard.tables.items()},
    }
    (folder / SUMMARY_FILE).write_text(json.dumps(summary, ensure_ascii=False, default=str))
    return dashboard


def _choices(ws: Analytics, lang: str) -> dict[str, list[tuple[str, str]]]:
    """The options of each filter widget: (label, value); the first means "all"."""
    from datetime import date

    from .. import clock

    everything = [(t("dashboards:all", lang), "")]
    today = clock.today()
    periods = [resolve_period(p, today) or "" for p in RELATIVE]
    quarter_ends = [clock.add_months(date(today.year, today.month, 1), -3 * n) for n in range(8)]
    periods += [resolve_period("this_quarter", d) or "" for d in quarter_ends]
    periods += [str(today.year - n) for n in range(3)]
    period_options = [(params._period_text({"period": p}, lang), p) for p in dict.fromkeys(periods)]
    region_options = [(REGION_EN[r] if lang == "en" else r, r) for r in REGIONS]
    try:
        users = ws.users.frame(include_inactive=False)
        teams = sorted({str(x) for x in users["team"].dropna()})
        owners = list(zip(users["display_name"], users["username"], strict=True))
    except CRMError:
        teams, owners = [], []
    try:
        segments = list(ws.segments.list()["name"])
    except CRMError:
        segments = []
    return {
        "period": everything + period_options,
        "region": everything + region_options,
        "team": everything + [(TEAM.label(x, lang), x) for x in teams],
        "owner": everything + [(str(shown or user), user) for shown, user in owners],
        "segment": everything + [(x, x) for x in segments],
    }


def _html_output(markup: str) -> dict[str, Any]:
    return {"output_type": "display_data", "data": {"text/html": markup}, "metadata": {}}


class _LivePage:
    """The live page of one dashboard: filter changes redraw it in place.

    The figures are computed in the background, so the notebook's cell ends at once and
    Voila sends the page while the kernel computes: the browser loads Voila's scripts and
    the chart libraries meanwhile. The charts and the headline are computed side by side,
    each shown as soon as it is ready; the headline computes only its own KPIs. What an
    older filter choice computes is dropped when a newer one was made.
    """

    def __init__(self, ws: Analytics, name: str, header: Any, charts_area: Any) -> None:
        self.ws, self.name = ws, name
        self.header, self.charts_area = header, charts_area
        self._lock = threading.Lock()
        self._asked = 0
        self.workers: list[threading.Thread] = []

    def redraw(self, given: dict[str, Any]) -> None:
        with self._lock:
            self._asked += 1
            asked = self._asked
        spec = REPORTS.get(self.name)
        try:
            clean = params.normalise(given)
            lang = clean["lang"]
            filters = params.filters(clean)
        except CRMError as exc:
            self.header.value = f'{STYLE}<div class="crm-error">{html.escape(str(exc))}</div>'
            self.charts_area.outputs = ()
            return
        self.header.value = (
            f'{STYLE}<div class="crm-report crm-loading">{t("dashboards:loading", lang)}</div>'
        )
        self.workers = [
            threading.Thread(target=work, args=(asked, spec, clean, filters), daemon=True)
            for work in (self._draw_charts, self._draw_headline)
        ]
        for worker in self.workers:
            worker.start()

    def _latest(self, asked: int) -> bool:
        with self._lock:
            return asked == self._asked

    def _failed(self, exc: Exception) -> str:
        # A page must say that it failed rather than wait forever.
        reason = str(exc) if isinstance(exc, CRMError) else f"{type(exc).__name__}: {exc}"
        return f'{STYLE}<div class="crm-error">{html.escape(reason)}</div>'

    def _draw_charts(
        self, asked: int, spec: Report, clean: dict[str, Any], filters: dict[str, Any]
    ) -> None:
        from ..analytics import charts

        lang = clean["lang"]
        outputs: list[dict[str, Any]] = []
        try:
            with speaking(lang):
                for piece in spec.parts(self.ws, filters, lang):
                    outputs += [
                        _html_output(f'{STYLE}<div class="crm-note">{html.escape(n)}</div>')
                        for n in piece.notes
                    ] + [
                        _html_output(charts.html_fragment(charts.spec_of(c), bundle=False))
                        for c in piece.charts.values()
                    ]
                    if not self._latest(asked):
                        return
                    self.charts_area.outputs = tuple(outputs)
        except Exception as exc:
            if self._latest(asked):
                self.charts_area.outputs = (*outputs, _html_output(self._failed(exc)))

    def _draw_headline(
        self, asked: int, spec: Report, clean: dict[str, Any], filters: dict[str, Any]
    ) -> None:
        lang = clean["lang"]
        try:
            with speaking(lang):
                shown = headline(self.ws, spec.headline, filters, lang)
                page = _dashboard(self.ws, spec, clean, shown, {}, {}, []).header_html()
        except Exception as exc:
            page = self._failed(exc)
        if self._latest(asked):
            self.header.value = page


def _show_live(ws: Analytics, name: str, values: dict[str, Any]) -> _LivePage:
    import ipywidgets as widgets
    from IPython.display import display

    if not page_has_libraries():
        _display_libraries()
    clean = params.normalise(values)
    lang = clean["lang"]
    choices = _choices(ws, lang)
    controls: dict[str, Any] = {}
    for key in WIDGETS:
        options = choices[key]
        current = clean.get(key) or ""
        if current not in {value for _, value in options}:
            label = params._period_text(clean, lang) if key == "period" else str(current)
            options = [*options, (label, current)]
        controls[key] = widgets.Dropdown(
            options=options,
            value=current,
            description=t(f"dashboards:{key}", lang),
            layout=widgets.Layout(width="230px"),
            style={"description_width": "56px"},
        )
    page = _LivePage(ws, name, widgets.HTML(), widgets.Output())

    def redraw(*_: Any) -> None:
        given = {**clean, **{k: (w.value or None) for k, w in controls.items()}}
        if given.get("period"):
            given["start"] = given["end"] = None
        page.redraw(given)

    for control in controls.values():
        control.observe(redraw, names="value")
    display(
        widgets.VBox(
            [
                widgets.HBox(list(controls.values()), layout=widgets.Layout(flex_flow="row wrap")),
                page.header,
                page.charts_area,
            ]
        )
    )
    redraw()
    return page
