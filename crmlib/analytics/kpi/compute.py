"""Computing KPIs: checks the request, runs each KPI's query and shapes the answer."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
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
#: Bytes of a SQLite database file the catalogue's connections read through a memory map
#: (SQLite caps it at its compile-time limit, 2 GiB in common builds): the KPIs read pages
#: at random through indexes, and mapped, each read is a memory access instead of a system
#: call and a copy. Only these connections: a mapped page a process touched counts in its
#: resident memory, which would blur what an import, say, really holds.
SQLITE_MMAP_BYTES = 2**31
#: Started first, the longest first (as timed at a million customers), so that the
#: connections finish together rather than one waiting on a long query started last.
LONGEST = (
    "completeness",
    "active_customers",  # the pass over the orders the stock KPIs share
    "stage_days",
    "first_response_hours",  # the pass over the tickets the service times share
    "lead_conversion",
    "repurchase_rate",
    "win_rate",
    "sales_cycle_days",
    "pipeline_value",  # the pass over the open deals the forecast shares
)
#: KPIs reading a pass that a KPI of LONGEST runs: started last, they find it done.
SHARING = (
    "retention_12m",
    "churn_rate",
    "clv",
    "weighted_forecast",
    "sla_compliance",
    "resolution_hours",
)
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

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        """A reading connection; on SQLite, one that reads the file through a memory map."""
        with self._ctx.reading() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
            yield conn

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
            with self._reading() as conn:
                return _shaped(kpi, FUNCTIONS[kpi_id](query, conn))

    def kpis(self, ids: Sequence[str] | None = None, **filters: Any) -> pd.DataFrame:
        """The whole catalogue, or the KPIs ``ids`` (a dashboard's headline): one row per
        KPI (``stage_days`` one per stage) with id, family, name (in the workspace
        language), stage, value, unit, formula and the date the period applies to. KPIs
        asked for together share their passes over the data, unlike separate calls."""
        with speaking(self._ctx.lang):
            wanted = [_kpi(kpi_id).id for kpi_id in ids] if ids is not None else list(CATALOGUE)
            query = Query(self._ctx, filters_of(filters))
            # Narrowed, the customers counted are worked out once per connection, not per KPI.
            query = Query(self._ctx, query.filters, materialised=query.narrowed)
            order = [*LONGEST, *(k for k in CATALOGUE if k not in LONGEST + SHARING), *SHARING]
            pending = deque(k for k in order if k in wanted)
            results: dict[str, pd.DataFrame] = {}

            def work() -> None:
                """Take the next KPI until none is left, all on one connection."""
                with self._reading() as conn, query.counting(conn):
                    while True:
                        try:
                            kpi_id = pending.popleft()
                        except IndexError:
                            return
                        results[kpi_id] = _shaped(CATALOGUE[kpi_id], FUNCTIONS[kpi_id](query, conn))

            if isinstance(self._ctx.engine.pool, SingletonThreadPool | StaticPool):
                work()
            else:
                with ThreadPoolExecutor(WORKERS) as pool:
                    for done in [pool.submit(work) for _ in range(WORKERS)]:
                        done.result()
        lang = self._ctx.lang
        rows = []
        for kpi_id in wanted:
            kpi, frame = CATALOGUE[kpi_id], results[kpi_id]
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
