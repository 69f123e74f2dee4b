"""Computing KPIs: checks the request, runs each KPI's query and shapes the answer."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pandas as pd
from sqlalchemy import Connection
from sqlalchemy.pool import SingletonThreadPool, StaticPool

from ...domain.context import Context
from ...errors import FieldError, ValidationError
from ...i18n import register, speaking, t
from ..filters import Filters
from . import clv, customers, data, sales, service, value
from .catalogue import CATALOGUE, Kpi
from .query import Query

register(
    {
        "unknown": {
            "zh": "不是已定义的指标（可用：{known}）",
            "en": "is not a KPI (known: {known})",
        },
        "by": {
            "zh": "指标 {kpi} 不能按此分组（可用：{allowed}）",
            "en": "KPI {kpi} cannot be grouped by this (allowed: {allowed})",
        },
        "filter": {
            "zh": "不是筛选条件（可用：{known}）",
            "en": "is not a filter (known: {known})",
        },
        "clv_data": {
            "zh": "有复购的客户太少，无法拟合 CLV 模型",
            "en": "too few customers with repeat purchases to fit a CLV model",
        },
    },
    namespace="kpi",
)

#: The keyword filters every KPI takes (see :class:`~crmlib.analytics.filters.Filters`).
FILTERS = ("period", "period_start", "period_end", "region", "team", "owner", "segment", "as_of")
#: KPI id -> the function computing it from a query and a connection.
FUNCTIONS: dict[str, Callable[[Query, Connection], pd.DataFrame]] = {
    "new_customers": customers.new_customers,
    "active_customers": customers.active_customers,
    "retention_12m": customers.retention_12m,
    "churn_rate": customers.churn_rate,
    "repurchase_rate": value.repurchase_rate,
    "aov": value.aov,
    "revenue": value.revenue,
    "clv": customers.clv,
    "cac": value.cac,
    "lead_conversion": sales.lead_conversion,
    "win_rate": sales.win_rate,
    "sales_cycle_days": sales.sales_cycle_days,
    "pipeline_value": sales.pipeline_value,
    "weighted_forecast": sales.weighted_forecast,
    "stage_days": sales.stage_days,
    "first_response_hours": service.first_response_hours,
    "sla_compliance": service.sla_compliance,
    "resolution_hours": service.resolution_hours,
    "csat": service.csat,
    "nps": service.nps,
    "completeness": data.completeness,
}
#: Connections used side by side for the whole catalogue.
WORKERS = 2
COLUMNS = ("id", "family", "name", "stage", "value", "unit", "formula", "period")


def filters_of(given: dict[str, Any]) -> Filters:
    """:class:`Filters` from keyword arguments; an unknown keyword is a clear error."""
    for key in given:
        if key not in FILTERS:
            known = ", ".join(FILTERS)
            raise ValidationError(
                FieldError(key, given[key], "kpi_filter", t("kpi:filter", known=known))
            )
    return Filters.of(**given)


def _kpi(kpi_id: str) -> Kpi:
    try:
        return CATALOGUE[kpi_id]
    except KeyError:
        known = ", ".join(CATALOGUE)
        raise ValidationError(
            FieldError("id", kpi_id, "kpi", t("kpi:unknown", known=known))
        ) from None


def _shaped(kpi: Kpi, frame: pd.DataFrame) -> pd.DataFrame:
    """Counts as whole numbers, everything else as floats (NaN when undefined)."""
    values = pd.to_numeric(frame["value"], errors="coerce").astype(float)
    if kpi.unit == "count":
        frame["value"] = values.fillna(0).astype("int64")
    else:
        frame["value"] = values
    return frame.reset_index(drop=True)


class Kpis:
    """The KPI catalogue for one workspace's user."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def kpi(self, kpi_id: str, by: str | None = None, **filters: Any) -> pd.DataFrame:
        """One KPI: a ``value`` column, one row, or one row per group of ``by``
        (``stage_days``: one row per stage)."""
        with speaking(self._ctx.lang):
            kpi = _kpi(kpi_id)
            if by is not None and by not in kpi.by:
                allowed = ", ".join(kpi.by) or "-"
                raise ValidationError(
                    FieldError("by", by, "kpi_by", t("kpi:by", kpi=kpi_id, allowed=allowed))
                )
            query = Query(self._ctx, filters_of(filters), by)
            with self._ctx.reading() as conn:
                return _shaped(kpi, FUNCTIONS[kpi_id](query, conn))

    def kpis(self, **filters: Any) -> pd.DataFrame:
        """The whole catalogue: one row per KPI (``stage_days`` one per stage) with id,
        family, name (in the workspace language), stage, value, unit, formula and the date
        the period applies to."""
        with speaking(self._ctx.lang):
            query = Query(self._ctx, filters_of(filters))
            # The stock KPIs share one pass over the orders: started first, the first of them
            # runs it while the others wait for its result.
            order = sorted(CATALOGUE, key=lambda k: FUNCTIONS[k].__module__ != customers.__name__)

            def compute(kpi_id: str) -> pd.DataFrame:
                with self._ctx.reading() as conn:
                    return _shaped(CATALOGUE[kpi_id], FUNCTIONS[kpi_id](query, conn))

            if isinstance(self._ctx.engine.pool, SingletonThreadPool | StaticPool):
                computed = [compute(kpi_id) for kpi_id in order]
            else:
                with ThreadPoolExecutor(WORKERS) as pool:
                    computed = list(pool.map(compute, order))
            results = dict(zip(order, computed, strict=True))
        lang = self._ctx.lang
        rows = []
        for kpi_id, kpi in CATALOGUE.items():
            frame = results[kpi_id]
            for record in frame.to_dict("records"):
                rows.append(
                    {
                        "id": kpi_id,
                        "family": kpi.family,
                        "name": kpi.name(lang),
                        "stage": record.get("stage"),
                        "value": float(record["value"]),
                        "unit": kpi.unit,
                        "formula": kpi.formula(lang),
                        "period": kpi.period(lang),
                    }
                )
        return pd.DataFrame(rows, columns=list(COLUMNS))

    def cohort_retention(self, **filters: Any) -> pd.DataFrame:
        """Monthly cohorts by first order: cohort, months_since, customers (cohort size),
        active (ordered in that month) and share. The period selects cohorts."""
        with speaking(self._ctx.lang):
            query = Query(self._ctx, filters_of(filters))
            with self._ctx.reading() as conn:
                return customers.cohort_retention(query, conn)

    def clv_forecast(self, months: int = 12, **filters: Any) -> pd.DataFrame:
        """Predicted spend per customer in the next ``months`` months (BG/NBD with
        Gamma-Gamma, see :mod:`crmlib.analytics.kpi.clv`); the fit is in ``attrs["model"]``."""
        with speaking(self._ctx.lang):
            query = Query(self._ctx, filters_of(filters))
            with self._ctx.reading() as conn:
                try:
                    return clv.forecast(query, conn, months)
                except ValueError:
                    raise ValidationError(
                        FieldError("customers", None, "clv_data", t("kpi:clv_data"))
                    ) from None
