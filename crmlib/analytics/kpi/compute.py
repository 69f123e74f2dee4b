"""Computing KPIs: checks the request, runs each KPI's query and shapes the answer."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pandas as pd
from sqlalchemy import Connection
from sqlalchemy.pool import SingletonThreadPool, StaticPool

from ...context import Context
from ...errors import FieldError, ValidationError
from ...i18n import speaking, t
from ..filters import Filters
from . import clv, customers
from .catalogue import CATALOGUE, Kpi, schedule
from .query import Query

#: The keyword filters every KPI takes (see :class:`~crmlib.analytics.filters.Filters`).
FILTERS = ("period", "period_start", "period_end", "region", "team", "owner", "segment", "as_of")
#: Connections used side by side for the whole catalogue.
WORKERS = 2
#: Bytes of a SQLite database file the catalogue's connections read through a memory map
#: (SQLite caps it at its compile-time limit, 2 GiB in common builds): the KPIs read pages
#: at random through indexes, and mapped, each read is a memory access instead of a system
#: call and a copy. Only these connections: a mapped page a process touched counts in its
#: resident memory, which would blur what an import, say, really holds.
SQLITE_MMAP_BYTES = 2**31
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
            kpi = CATALOGUE.get(kpi_id)
            if by is not None and by not in kpi.by:
                allowed = ", ".join(kpi.by) or "-"
                raise ValidationError(
                    FieldError("by", by, "kpi_by", t("kpi:by", kpi=kpi_id, allowed=allowed))
                )
            query = Query(self._ctx, filters_of(filters), by)
            with self._reading() as conn:
                return _shaped(kpi, kpi.compute(query, conn))

    def kpis(self, ids: Sequence[str] | None = None, **filters: Any) -> pd.DataFrame:
        """The whole catalogue, or the KPIs ``ids`` (a dashboard's headline): one row per
        KPI (``stage_days`` one per stage) with id, family, name (in the workspace
        language), stage, value, unit, formula and the date the period applies to. KPIs
        asked for together share their passes over the data, unlike separate calls."""
        with speaking(self._ctx.lang):
            wanted = [CATALOGUE.get(k).id for k in ids] if ids is not None else list(CATALOGUE)
            query = Query(self._ctx, filters_of(filters))
            # Narrowed, the customers counted are worked out once per connection, not per KPI.
            query = Query(self._ctx, query.filters, materialised=query.narrowed)
            pending = deque(schedule(wanted))
            results: dict[str, pd.DataFrame] = {}

            def work() -> None:
                """Take the next KPI until none is left, all on one connection."""
                with self._reading() as conn, query.counting(conn):
                    while True:
                        try:
                            kpi_id = pending.popleft()
                        except IndexError:
                            return
                        kpi = CATALOGUE.get(kpi_id)
                        results[kpi_id] = _shaped(kpi, kpi.compute(query, conn))

            if isinstance(self._ctx.engine.pool, SingletonThreadPool | StaticPool):
                work()
            else:
                with ThreadPoolExecutor(WORKERS) as pool:
                    for done in [pool.submit(work) for _ in range(WORKERS)]:
                        done.result()
        lang = self._ctx.lang
        rows = []
        for kpi_id in wanted:
            kpi, frame = CATALOGUE.get(kpi_id), results[kpi_id]
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
