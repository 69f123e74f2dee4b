"""Charts of every analytics figure: Altair builders with one theme, rendered offline.

Builders take the DataFrames the analytics functions return (``ws.kpi``, ``ws.profile``,
``ws.funnel``, RFM, churn) and label axes and titles in Chinese or English (``lang``, by
default the caller's language, see :mod:`crmlib.i18n`).

Altair's default renderer loads Vega from a CDN, so on a closed network a notebook, Voila
dashboard or exported report shows nothing. Importing this module therefore enables the
``crm_offline`` renderer, which emits HTML with the Vega, Vega-Lite and vega-embed
JavaScript inlined (from vl-convert), and :func:`to_html` writes whole offline pages. Static
images (:func:`to_svg`, :func:`to_png`, :func:`to_pdf`) are drawn by vl-convert without a
browser. The theme names CJK fonts first; PNG and PDF output draw Chinese only where such
a font is installed (Debian: ``fonts-noto-cjk``).
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import altair as alt
import pandas as pd
import vl_convert

from ..i18n import current_lang
from .labels import group_label, label

THEME = "crm"
RENDERER = "crm_offline"
FONT = (
    '"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", '
    '"WenQuanYi Micro Hei", sans-serif'
)
PALETTE = (
    "#2f6db5",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#76b7b2",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)
WIDTH, HEIGHT = 520, 300
BINS = 10  # churn-risk bins of 10 points each

Chart = alt.Chart | alt.LayerChart | alt.ConcatChart | alt.HConcatChart | alt.VConcatChart


@alt.theme.register(THEME, enable=True)
def crm_theme() -> alt.theme.ThemeConfig:
    """One look for every chart: CJK-capable fonts, a calm palette, no view border."""
    text = {"labelFont": FONT, "titleFont": FONT, "labelFontSize": 12, "titleFontSize": 13}
    config: dict[str, Any] = {
        "font": FONT,
        "view": {"continuousWidth": WIDTH, "continuousHeight": HEIGHT, "stroke": None},
        "title": {"font": FONT, "fontSize": 16, "anchor": "start", "color": "#222"},
        "axis": {**text, "gridColor": "#e6e6e6", "domainColor": "#999"},
        "legend": {**text, "orient": "right"},
        "header": text,
        "range": {"category": list(PALETTE), "heatmap": {"scheme": "blues"}},
        "bar": {"color": PALETTE[0]},
        "line": {"color": PALETTE[0], "strokeWidth": 2},
        "point": {"color": PALETTE[0], "filled": True},
        "arc": {"stroke": "white"},
    }
    return cast(alt.theme.ThemeConfig, {"config": config})


# -- offline rendering ------------------------------------------------------------------


def _vl_version() -> str | None:
    """The Vega-Lite version of Altair's schema, as vl-convert names it (e.g. ``6.4``)."""
    wanted = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    return wanted if wanted in vl_convert.get_vegalite_versions() else None


#: The bundle's snippet: put the libraries where every output of the page finds them.
GLOBALS = "window.vegaEmbed = vegaEmbed; window.vega = vega; window.vegaLite = vegaLite;"
#: A file holding :func:`javascript_bundle` already built (by the process that started this
#: kernel: the report runner, the Voila launcher); read instead of building it again.
BUNDLE_ENV = "CRM_VEGA_BUNDLE"


@functools.cache
def javascript_bundle() -> str:
    """Vega, Vega-Lite and vega-embed in one script that sets ``window.vegaEmbed``.

    Building it takes vl-convert about two seconds of CPU, so a process that starts kernels
    builds it once (:func:`bundle_file`) and names the file in ``CRM_VEGA_BUNDLE``."""
    built = os.environ.get(BUNDLE_ENV)
    if built:
        try:
            return Path(built).read_text(encoding="utf-8")
        except OSError:
            pass  # gone or unreadable: build it here
    bundle: str = vl_convert.javascript_bundle(GLOBALS, _vl_version())
    return bundle


def write_javascript_bundle(target: Path) -> Path:
    """Write :func:`javascript_bundle` to ``target`` (whole or not at all)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = target.with_name(f".{target.name}.{os.getpid()}")
    scratch.write_text(javascript_bundle(), encoding="utf-8")
    scratch.replace(target)
    return target


@functools.cache
def bundle_file() -> Path:
    """:func:`javascript_bundle` in a file of this process, removed when it exits: what
    ``CRM_VEGA_BUNDLE`` names for the kernels it starts."""
    folder = Path(tempfile.mkdtemp(prefix="crm-vega-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return write_javascript_bundle(folder / "vega-bundle.js")


def spec_of(chart: Chart) -> dict[str, Any]:
    """The chart's Vega-Lite spec with the CRM theme applied."""
    with alt.theme.enable(THEME):
        spec: dict[str, Any] = chart.to_dict()
    return spec


def to_html(chart: Chart) -> str:
    """A whole HTML page showing the chart with no network access (scripts inlined)."""
    html: str = vl_convert.vegalite_to_html(spec_of(chart), vl_version=_vl_version(), bundle=True)
    return html


def to_svg(chart: Chart) -> str:
    svg: str = vl_convert.vegalite_to_svg(spec_of(chart), vl_version=_vl_version())
    return svg


def to_png(chart: Chart, scale: float = 2.0) -> bytes:
    png: bytes = vl_convert.vegalite_to_png(spec_of(chart), vl_version=_vl_version(), scale=scale)
    return png


def to_pdf(chart: Chart) -> bytes:
    pdf: bytes = vl_convert.vegalite_to_pdf(spec_of(chart), vl_version=_vl_version())
    return pdf


_bundle_sent = False
#: Draws a spec once vega-embed is on the page (it may come from an earlier output).
DRAW_SCRIPT = (
    "(function(){var spec=$SPEC;function draw(){var el=document.getElementById($ID);"
    "if(window.vegaEmbed&&el){window.vegaEmbed(el,spec,{renderer:'svg',actions:false})"
    ".catch(console.error);}else{setTimeout(draw,50);}}draw();})();"
)


def html_fragment(spec: dict[str, Any], *, bundle: bool = True) -> str:
    """A ``<div>`` and scripts that draw ``spec`` in a page: a notebook output cell.

    With ``bundle`` the output carries the libraries itself; without, it waits for an
    earlier output of the page to have loaded them.
    """
    element = f"crm-chart-{uuid.uuid4().hex}"
    data = json.dumps(spec, ensure_ascii=False).replace("</", "<\\/")
    libraries = f'<script type="text/javascript">{javascript_bundle()}</script>' if bundle else ""
    draw = DRAW_SCRIPT.replace("$ID", json.dumps(element)).replace("$SPEC", data)
    return f'<div id="{element}"></div>{libraries}<script type="text/javascript">{draw}</script>'


def _render(spec: dict[str, Any], **_metadata: Any) -> dict[str, str]:
    global _bundle_sent
    bundle = _embed != "once" or not _bundle_sent
    _bundle_sent = True
    return {"text/html": html_fragment(spec, bundle=bundle)}


_embed = "every"


def use_offline_renderer(embed: str = "every") -> None:
    """Show charts in JupyterLab, Voila and exported HTML without internet access.

    ``embed="every"`` (default) puts the libraries (about 0.9 MB) in each chart output,
    so any output stands alone; ``"once"`` only in the first chart of the kernel session,
    which keeps notebooks small but needs that first output to stay on the page.
    """
    global _embed, _bundle_sent
    if embed not in ("every", "once"):
        raise ValueError("embed must be 'every' or 'once'")
    _embed, _bundle_sent = embed, False
    alt.renderers.enable(RENDERER)


alt.renderers.register(RENDERER, _render)
use_offline_renderer()


# -- shared pieces ------------------------------------------------------------------------


def _lang(lang: str | None) -> str:
    return current_lang(lang)


def _count_axis(unit: str | None = None) -> dict[str, Any]:
    if unit == "share":
        return {"format": ".0%"}
    return {"format": ",.4~r"} if unit in ("CNY", None) else {}


def _bars(
    frame: pd.DataFrame,
    category: str,
    amount: str,
    *,
    title: str,
    x_title: str,
    y_title: str,
    lang: str,
    sort: Sequence[str] | str = "-x",
    unit: str | None = None,
) -> alt.Chart:
    """Horizontal bars of ``amount`` per ``category``, with tooltips."""
    tooltip = [
        alt.Tooltip(f"{category}:N", title=y_title),
        alt.Tooltip(f"{amount}:Q", title=x_title, format=_count_axis(unit).get("format", "")),
    ]
    if "share" in frame.columns and amount != "share":
        tooltip.append(alt.Tooltip("share:Q", title=label("share", lang), format=".1%"))
    return (
        alt.Chart(frame, title=title)
        .mark_bar()
        .encode(
            y=alt.Y(
                f"{category}:N",
                sort=list(sort) if not isinstance(sort, str) else sort,
                title=y_title,
            ),
            x=alt.X(f"{amount}:Q", title=x_title, axis=alt.Axis(**_count_axis(unit))),
            tooltip=tooltip,
        )
        .properties(width=WIDTH)
    )


def _donut(frame: pd.DataFrame, amount: str, *, title: str, legend: str, lang: str) -> alt.Chart:
    order = list(frame["label"])
    return (
        alt.Chart(frame, title=title)
        .mark_arc(innerRadius=60)
        .encode(
            theta=alt.Theta(f"{amount}:Q"),
            color=alt.Color("label:N", sort=order, title=legend),
            order=alt.Order(f"{amount}:Q", sort="descending"),
            tooltip=[
                alt.Tooltip("label:N", title=legend),
                alt.Tooltip(f"{amount}:Q"),
                alt.Tooltip("share:Q", title=label("share", lang), format=".1%"),
            ],
        )
        .properties(width=HEIGHT, height=HEIGHT)
    )


# -- profile ------------------------------------------------------------------------------


def regions(frame: pd.DataFrame, lang: str | None = None) -> alt.Chart:
    """Customers per sales region (``profile.regions``)."""
    lang = _lang(lang)
    return _bars(
        frame,
        "label",
        "customers",
        title=label("title_regions", lang),
        x_title=label("customers", lang),
        y_title=label("region", lang),
        lang=lang,
    )


def provinces(frame: pd.DataFrame, top: int = 10, lang: str | None = None) -> alt.Chart:
    """The ``top`` provinces by customers (``profile.provinces``)."""
    lang = _lang(lang)
    return _bars(
        frame.head(top),
        "label",
        "customers",
        title=label("title_provinces", lang, n=top),
        x_title=label("customers", lang),
        y_title=label("province", lang),
        lang=lang,
    )


def industries(frame: pd.DataFrame, lang: str | None = None) -> alt.Chart:
    """The top-5 industries (``profile.industries``)."""
    lang = _lang(lang)
    return _bars(
        frame,
        "label",
        "customers",
        title=label("title_industries", lang),
        x_title=label("customers", lang),
        y_title=label("industry", lang),
        lang=lang,
    )


def sizes(frame: pd.DataFrame, lang: str | None = None) -> alt.Chart:
    """Company customers per size (``profile.sizes``), as a donut."""
    lang = _lang(lang)
    return _donut(
        frame, "customers", title=label("title_sizes", lang), legend=label("size", lang), lang=lang
    )


def preferences(frame: pd.DataFrame, lang: str | None = None) -> alt.Chart:
    """Category shares of each customer group's amount (``profile.preferences``)."""
    lang = _lang(lang)
    group = label(str(frame.attrs.get("group_by", "group")), lang)
    frame = frame.assign(category=frame["category"].fillna(label("not_set", lang)))
    return (
        alt.Chart(frame, title=label("title_preferences", lang, group=group))
        .mark_bar()
        .encode(
            y=alt.Y("label:N", title=group),
            x=alt.X(
                "amount:Q",
                stack="normalize",
                title=label("share", lang),
                axis=alt.Axis(format=".0%"),
            ),
            color=alt.Color("category:N", title=label("category", lang)),
            tooltip=[
                alt.Tooltip("label:N", title=group),
                alt.Tooltip("category:N", title=label("category", lang)),
                alt.Tooltip("orders:Q", title=label("orders", lang)),
                alt.Tooltip("amount:Q", title=label("amount", lang), format=",.0f"),
                alt.Tooltip("share:Q", title=label("share", lang), format=".1%"),
            ],
        )
        .properties(width=WIDTH)
    )


def recency(frame: pd.DataFrame, lang: str | None = None) -> alt.Chart:
    """Customers by days since their last follow-up (``profile.recency``), in bucket order."""
    lang = _lang(lang)
    return _bars(
        frame,
        "label",
        "customers",
        title=label("title_recency", lang),
        x_title=label("customers", lang),
        y_title=label("last_contact", lang),
        lang=lang,
        sort=list(frame["label"]),
    )


def channels(frame: pd.DataFrame, lang: str | None = None) -> alt.Chart:
    """Follow-ups per channel (``profile.channels``), as a donut."""
    lang = _lang(lang)
    return _donut(
        frame,
        "follow_ups",
        title=label("title_channels", lang),
        legend=label("channel", lang),
        lang=lang,
    )


def profile_charts(profile: Any, lang: str | None = None) -> dict[str, alt.Chart]:
    """Every chart of a :class:`~crmlib.analytics.profile.Profile`, by table name."""
    return {
        "regions": regions(profile.regions, lang),
        "provinces": provinces(profile.provinces, lang=lang),
        "industries": industries(profile.industries, lang),
        "sizes": sizes(profile.sizes, lang),
        "preferences": preferences(profile.preferences, lang),
        "recency": recency(profile.recency, lang),
        "channels": channels(profile.channels, lang),
    }


# -- funnel -------------------------------------------------------------------------------


def funnel(steps: pd.DataFrame, lang: str | None = None) -> alt.LayerChart:
    """The funnel (``ws.funnel().steps``): centred bars as wide as each step's count,
    labelled with the count and the cumulative conversion."""
    lang = _lang(lang)
    order = list(steps["label"])
    base = alt.Chart(steps, title=label("title_funnel", lang)).transform_calculate(
        left="-datum.count / 2",
        right="datum.count / 2",
        text="datum.count + '  (' + format(datum.cumulative_conversion, '.0%') + ')'",
    )
    y = alt.Y("label:N", sort=order, title=None)
    bars = base.mark_bar().encode(
        y=y,
        x=alt.X("left:Q", axis=None),
        x2="right:Q",
        color=alt.Color("label:N", sort=order, legend=None),
        tooltip=[
            alt.Tooltip("label:N", title=label("step", lang)),
            alt.Tooltip("count:Q", title=label("count", lang)),
            alt.Tooltip("step_conversion:Q", title=label("step_conversion", lang), format=".1%"),
            alt.Tooltip(
                "cumulative_conversion:Q", title=label("cumulative_conversion", lang), format=".1%"
            ),
            alt.Tooltip("avg_days:Q", title=label("avg_days", lang), format=".1f"),
        ],
    )
    text = base.mark_text(fontWeight="bold", color="#222").encode(
        y=y, x=alt.datum(0), text="text:N"
    )
    return alt.LayerChart(layer=[bars, text], width=WIDTH, height=HEIGHT)


def stage_days(steps: pd.DataFrame, lang: str | None = None) -> alt.Chart:
    """Average days spent in each step (``ws.funnel().steps``)."""
    lang = _lang(lang)
    known = steps.dropna(subset=["avg_days"])
    return _bars(
        known,
        "label",
        "avg_days",
        title=label("title_stage_days", lang),
        x_title=label("avg_days", lang),
        y_title=label("step", lang),
        lang=lang,
        sort=list(known["label"]),
        unit="days",
    )


def loss_reasons(losses: pd.DataFrame, top: int = 12, lang: str | None = None) -> alt.Chart:
    """The most common loss reasons (``ws.funnel().losses``), coloured by step."""
    lang = _lang(lang)
    shown = losses.head(top)
    return (
        alt.Chart(shown, title=label("title_losses", lang))
        .mark_bar()
        .encode(
            y=alt.Y("reason:N", sort="-x", title=label("reason", lang)),
            x=alt.X("count:Q", title=label("lost", lang)),
            color=alt.Color("step_label:N", title=label("step", lang)),
            tooltip=[
                alt.Tooltip("reason:N", title=label("reason", lang)),
                alt.Tooltip("step_label:N", title=label("step", lang)),
                alt.Tooltip("count:Q", title=label("lost", lang)),
                alt.Tooltip("share:Q", title=label("share", lang), format=".1%"),
            ],
        )
        .properties(width=WIDTH)
    )


def funnel_charts(result: Any, lang: str | None = None) -> dict[str, alt.Chart | alt.LayerChart]:
    """Every chart of a :class:`~crmlib.analytics.funnel.Funnel`."""
    return {
        "funnel": funnel(result.steps, lang),
        "stage_days": stage_days(result.steps, lang),
        "losses": loss_reasons(result.losses, lang=lang),
    }


# -- KPIs ---------------------------------------------------------------------------------


def _key(frame: pd.DataFrame, skip: Sequence[str] = ()) -> str:
    keys = [c for c in frame.columns if c != "value" and c not in skip]
    if not keys:
        raise ValueError("the frame has no group column (use ws.kpi(..., by=...))")
    return keys[0]


def kpi_by_group(
    frame: pd.DataFrame, name: str = "", unit: str | None = None, lang: str | None = None
) -> alt.Chart:
    """A KPI grouped by region, team, owner… (``ws.kpi(id, by="region")``): one bar per
    group. ``name`` is the KPI's name, ``unit`` its unit (``share`` shows percentages)."""
    lang = _lang(lang)
    key = _key(frame)
    group = group_label(key, lang)
    frame = frame.assign(**{key: frame[key].fillna(label("not_set", lang))})
    return _bars(
        frame,
        key,
        "value",
        title=label("title_kpi_groups", lang, kpi=name, group=group),
        x_title=name or label("value", lang),
        y_title=group,
        lang=lang,
        unit=unit,
    )


def kpi_trend(
    frame: pd.DataFrame, name: str = "", unit: str | None = None, lang: str | None = None
) -> alt.Chart:
    """A KPI per month (``ws.kpi(id, by="month")``) as a line; a second group column, if
    any, draws one line per group."""
    lang = _lang(lang)
    others = [c for c in frame.columns if c not in ("month", "value")]
    encoding: dict[str, Any] = {
        "x": alt.X("month:O", title=label("period", lang)),
        "y": alt.Y(
            "value:Q", title=name or label("value", lang), axis=alt.Axis(**_count_axis(unit))
        ),
        "tooltip": [
            alt.Tooltip("month:O", title=label("period", lang)),
            alt.Tooltip(
                "value:Q",
                title=name or label("value", lang),
                format=_count_axis(unit).get("format", ""),
            ),
        ],
    }
    if others:
        encoding["color"] = alt.Color(f"{others[0]}:N", title=group_label(others[0], lang))
    return (
        alt.Chart(frame, title=label("title_kpi_trend", lang, kpi=name))
        .mark_line(point=True)
        .encode(**encoding)
        .properties(width=WIDTH)
    )


def cohort_heatmap(frame: pd.DataFrame, lang: str | None = None) -> alt.LayerChart:
    """Monthly cohort retention (``cohort``, ``months_since``, ``share``) as a heatmap with
    the percentage in each cell."""
    lang = _lang(lang)
    base = alt.Chart(frame, title=label("title_cohorts", lang)).encode(
        x=alt.X("months_since:O", title=label("months_since", lang)),
        y=alt.Y("cohort:O", title=label("cohort", lang)),
    )
    cells = base.mark_rect().encode(
        color=alt.Color(
            "share:Q",
            title=label("retention", lang),
            scale=alt.Scale(scheme="blues", domain=[0, 1]),
            legend=alt.Legend(format=".0%"),
        ),
        tooltip=[
            alt.Tooltip("cohort:O", title=label("cohort", lang)),
            alt.Tooltip("months_since:O", title=label("months_since", lang)),
            alt.Tooltip("share:Q", title=label("retention", lang), format=".1%"),
        ],
    )
    text = base.mark_text(fontSize=10).encode(
        text=alt.Text("share:Q", format=".0%"),
        color=alt.condition("datum.share > 0.5", alt.value("white"), alt.value("#222")),
    )
    return alt.LayerChart(layer=[cells, text], width=WIDTH)


# -- segments and churn -------------------------------------------------------------------


def rfm_segments(summary: pd.DataFrame, lang: str | None = None) -> alt.Chart:
    """Customers per RFM segment (the RFM summary: ``segment``, ``label``, ``customers``,
    ``share``), in the summary's order."""
    lang = _lang(lang)
    return _bars(
        summary,
        "label",
        "customers",
        title=label("title_rfm", lang),
        x_title=label("customers", lang),
        y_title=label("segment", lang),
        lang=lang,
        sort=list(summary["label"]),
    )


def churn_distribution(
    frame: pd.DataFrame, score: str | None = None, lang: str | None = None
) -> alt.Chart:
    """Customers by churn-risk score (a 0-1 column such as ``risk``) in ten bins, stacked
    by a ``band`` column when there is one. Binned here, so any number of customers fits."""
    lang = _lang(lang)
    column = score or next(
        (c for c in ("risk", "risk_score", "churn_risk", "score", "probability") if c in frame),
        None,
    )
    if column is None:
        raise ValueError("the frame has no risk score column; name it with score=...")
    band = next((c for c in ("band", "risk_band") if c in frame), None)
    bins = (frame[column].astype(float).clip(0, 1) * BINS).astype(int).clip(upper=BINS - 1)
    keys = [bins.rename("bin")] + ([frame[band].fillna("")] if band else [])
    counts = frame.groupby(keys).size().rename("customers").reset_index()
    counts["start"] = counts["bin"] / BINS
    counts["end"] = (counts["bin"] + 1) / BINS
    encoding: dict[str, Any] = {
        "x": alt.X(
            "start:Q",
            title=label("risk", lang),
            scale=alt.Scale(domain=[0, 1]),
            axis=alt.Axis(format=".0%"),
        ),
        "x2": "end:Q",
        "y": alt.Y("sum(customers):Q", title=label("customers", lang)),
        "tooltip": [
            alt.Tooltip("start:Q", title=label("risk", lang), format=".0%"),
            alt.Tooltip("sum(customers):Q", title=label("customers", lang)),
        ],
    }
    if band is not None:
        encoding["color"] = alt.Color(f"{band}:N", title=label("risk_band", lang))
    return (
        alt.Chart(counts, title=label("title_churn", lang))
        .mark_bar()
        .encode(**encoding)
        .properties(width=WIDTH)
    )
