"""The report catalogue: each report registered once, with :func:`report` on the function
that builds its charts and tables, carrying its name, titles, headline KPIs and what "empty"
means, for the notebooks, the runner, the landing page and the ``crm report`` command.

A new report is one decorated builder here and its notebook in ``notebooks/reports/``.
The builders read the data through :class:`Analytics`, what a workspace offers, so the
reports need no workspace of their own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from ..access import Actor
from ..analytics.funnel import Funnel
from ..analytics.kpi import CATALOGUE
from ..analytics.profile import Profile
from ..errors import CRMError
from ..formatting import UNIT_KINDS
from ..i18n import t
from ..registry import Registry

#: Where the report notebooks live, relative to the project (``crm report`` and Voila).
NOTEBOOKS = Path("notebooks") / "reports"


class _Users(Protocol):
    def frame(self, *, include_inactive: bool = ...) -> pd.DataFrame: ...


class _Segments(Protocol):
    def list(self) -> pd.DataFrame: ...

    def rfm_summary(self, **filters: Any) -> pd.DataFrame: ...


class _Churn(Protocol):
    def risks(self, model: Any = ..., **filters: Any) -> pd.DataFrame: ...


class Analytics(Protocol):
    """What a report reads, as one user sees the data: a workspace offers all of it."""

    @property
    def user(self) -> Actor: ...

    @property
    def users(self) -> _Users: ...

    @property
    def segments(self) -> _Segments: ...

    @property
    def churn(self) -> _Churn: ...

    def kpi(self, kpi_id: str, by: str | None = ..., **filters: Any) -> pd.DataFrame: ...

    def kpis(self, ids: Sequence[str] | None = ..., **filters: Any) -> pd.DataFrame: ...

    def cohort_retention(self, **filters: Any) -> pd.DataFrame: ...

    def profile(self, by: str = ..., **filters: Any) -> Profile: ...

    def funnel(self, basis: str = ..., **filters: Any) -> Funnel: ...


@dataclass
class Piece:
    """Part of a report, computed in one go: charts, the tables behind them, notes. A live
    page shows each piece as soon as it is computed."""

    charts: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


Pieces = Iterator[Piece]
#: Builds a report's pieces from the data, the report's filters and the language.
Builder = Callable[[Analytics, dict[str, Any], str], Pieces]


@dataclass(frozen=True)
class Report:
    """One report notebook and the builder of its charts and tables. Its title and what it
    is about are in the message catalogue, as ``report:<name>.title`` and
    ``report:<name>.about``."""

    name: str
    headline: tuple[str, ...]  # KPI ids shown as the report's headline numbers
    population: str  # what "empty" means: no customers, leads or tickets in the filters
    parts: Builder
    #: Whether the report's workbook holds the whole KPI catalogue as well.
    whole_catalogue: bool = False

    def title_name(self, lang: str | None = None) -> str:
        return t(f"report:{self.name}.title", lang)

    def about(self, lang: str | None = None) -> str:
        return t(f"report:{self.name}.about", lang)

    @property
    def notebook(self) -> str:
        return f"{self.name}.ipynb"


#: Every report, in the order the landing page lists them (registration order).
REPORTS: Registry[Report] = Registry("report")


def report(
    name: str,
    *,
    headline: tuple[str, ...],
    population: str,
    whole_catalogue: bool = False,
) -> Callable[[Builder], Builder]:
    """Register the decorated builder as report ``name`` (see :class:`Report`; its texts go
    in the message catalogue); a headline
    KPI that does not exist, or a name registered before, is refused."""
    for kpi_id in headline:
        CATALOGUE.get(kpi_id)

    def register(parts: Builder) -> Builder:
        entry = Report(name, headline, population, parts, whole_catalogue)
        REPORTS.add(name, entry)
        return parts

    return register


# -- the reports --------------------------------------------------------------------------


def _kpi_table(
    data: Analytics, kpi_id: str, by: str, filters: dict[str, Any], lang: str
) -> pd.DataFrame:
    """``kpi(kpi_id, by=by)`` as people read it: teams, owners and regions by name, and
    the value's kind (money, share …) for the workbook's number format."""
    from ..display import readable

    try:
        users = data.users.frame()
        names = dict(zip(users["username"], users["display_name"], strict=True))
    except CRMError:
        names = {}
    frame = readable(data.kpi(kpi_id, by=by, **filters), lang, names=names)
    frame.attrs["kinds"] = {"value": UNIT_KINDS[CATALOGUE.get(kpi_id).unit]}
    return frame


def _named(frame: pd.DataFrame, kpi_id: str, lang: str) -> pd.DataFrame:
    """A KPI's table with its value column named after the KPI (销售额, not "value")."""
    name = CATALOGUE.get(kpi_id).name(lang)
    table = frame.rename(columns={"value": name})
    table.attrs["kinds"] = {name: frame.attrs["kinds"]["value"]}
    return table


@report(
    "kpi_dashboard",
    headline=(
        "new_customers",
        "active_customers",
        "revenue",
        "aov",
        "win_rate",
        "lead_conversion",
        "sla_compliance",
        "csat",
    ),
    population="customers",
    whole_catalogue=True,
)
def _kpi_parts(data: Analytics, filters: dict[str, Any], lang: str) -> Pieces:
    from ..analytics import charts

    name = {k: CATALOGUE.get(k).name(lang) for k in ("revenue", "new_customers", "win_rate")}
    revenue = _kpi_table(data, "revenue", "month", filters, lang)
    chart = charts.kpi_trend(revenue, name["revenue"], "CNY", lang)
    yield Piece({"revenue_trend": chart}, {"revenue_by_month": _named(revenue, "revenue", lang)})
    new = _kpi_table(data, "new_customers", "month", filters, lang)
    chart = charts.kpi_trend(new, name["new_customers"], "count", lang)
    yield Piece(
        {"new_customers_trend": chart},
        {"new_customers_by_month": _named(new, "new_customers", lang)},
    )
    by_region = _kpi_table(data, "revenue", "region", filters, lang)
    chart = charts.kpi_by_group(by_region, name["revenue"], "CNY", lang)
    yield Piece(
        {"revenue_by_region": chart}, {"revenue_by_region": _named(by_region, "revenue", lang)}
    )
    win_by_team = _kpi_table(data, "win_rate", "team", filters, lang)
    chart = charts.kpi_by_group(win_by_team, name["win_rate"], "share", lang)
    yield Piece(
        {"win_rate_by_team": chart}, {"win_rate_by_team": _named(win_by_team, "win_rate", lang)}
    )


@report(
    "customer_profile",
    headline=("new_customers", "active_customers", "aov", "repurchase_rate"),
    population="customers",
)
def _profile_parts(data: Analytics, filters: dict[str, Any], lang: str) -> Pieces:
    from ..analytics import charts

    profile = data.profile(**filters)
    yield Piece(charts.profile_charts(profile, lang), profile.tables())


@report(
    "sales_funnel",
    headline=(
        "lead_conversion",
        "win_rate",
        "sales_cycle_days",
        "pipeline_value",
        "weighted_forecast",
    ),
    population="leads",
)
def _funnel_parts(data: Analytics, filters: dict[str, Any], lang: str) -> Pieces:
    from ..analytics import charts

    funnel = data.funnel(**filters)
    yield Piece(charts.funnel_charts(funnel, lang), funnel.tables())
    win_by_owner = _kpi_table(data, "win_rate", "owner", filters, lang)
    win_rate = CATALOGUE.get("win_rate").name(lang)
    chart = charts.kpi_by_group(win_by_owner, win_rate, "share", lang)
    yield Piece(
        {"win_rate_by_owner": chart},
        {"win_rate_by_owner": _named(win_by_owner, "win_rate", lang)},
    )


@report(
    "segments",
    headline=("active_customers", "retention_12m", "churn_rate", "clv"),
    population="customers",
)
def _segment_parts(data: Analytics, filters: dict[str, Any], lang: str) -> Pieces:
    from ..analytics import charts

    summary = data.segments.rfm_summary(**filters)
    yield Piece({"rfm": charts.rfm_segments(summary, lang)}, {"rfm_summary": summary})
    cohorts = data.cohort_retention(**filters)
    yield Piece({"cohorts": charts.cohort_heatmap(cohorts, lang)}, {"cohort_retention": cohorts})
    try:
        risks = data.churn.risks(**filters)
    except CRMError as exc:  # too little history to fit the model: say so, draw the rest
        yield Piece(notes=[t("dashboards:churn_unavailable", lang, reason=str(exc))])
    else:
        chart = charts.churn_distribution(risks, lang=lang)
        table = pd.DataFrame(chart.data)
        table.attrs["kinds"] = {"bin": "id", "start": "share", "end": "share"}
        yield Piece({"churn": chart}, {"churn_risk": table})


@report(
    "service_quality",
    headline=("first_response_hours", "resolution_hours", "sla_compliance", "csat", "nps"),
    population="tickets",
)
def _service_parts(data: Analytics, filters: dict[str, Any], lang: str) -> Pieces:
    from ..analytics import charts

    shown = (
        ("sla_by_region", "sla_compliance", "region", charts.kpi_by_group, "share"),
        ("first_response_by_month", "first_response_hours", "month", charts.kpi_trend, "hours"),
        ("resolution_by_month", "resolution_hours", "month", charts.kpi_trend, "hours"),
        ("csat_by_team", "csat", "team", charts.kpi_by_group, "share"),
    )
    for key, kpi_id, by, draw, unit in shown:
        frame = _kpi_table(data, kpi_id, by, filters, lang)
        name = CATALOGUE.get(kpi_id).name(lang)
        yield Piece({key: draw(frame, name, unit, lang)}, {key: _named(frame, kpi_id, lang)})
