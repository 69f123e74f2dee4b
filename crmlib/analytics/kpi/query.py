"""What every KPI query shares: the customers it may count, the group keys of ``by=`` and
the as-of moments."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, Connection, Select, true
from sqlalchemy.orm import aliased

from ... import clock
from ...domain.context import Context
from ...store.models import Customer, User
from ..days import month_of
from ..filters import Filters


@dataclass(frozen=True)
class Query:
    """One KPI request: who asks (``ctx``), which data (``filters``) and the grouping."""

    ctx: Context
    filters: Filters
    by: str | None = None
    _memo: dict[str, pd.DataFrame] = field(default_factory=dict, compare=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    def once(self, key: str, compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        """``compute()`` the first time ``key`` is asked for, its result after: KPIs that
        share a pass over a table (computed side by side) run it once."""
        with self._lock:
            if key not in self._memo:
                self._memo[key] = compute()
            return self._memo[key]

    @property
    def day(self) -> date:
        """The as-of day."""
        return self.filters.day

    @property
    def day_end(self) -> datetime:
        """The first moment after the as-of day: timestamps before it are "by then"."""
        return datetime.combine(self.day + timedelta(days=1), time())

    @property
    def narrowed(self) -> bool:
        """Whether the customers counted are fewer than all unmerged ones. If not, child
        rows need no customer test: merging moves a customer's rows to the survivor."""
        f = self.filters
        return self.ctx.scope.owner_ids() is not None or any(
            v is not None for v in (f.region, f.team, f.owner, f.segment)
        )

    def customers(self) -> Select[*tuple[Any, ...]]:
        return self.filters.customers(self.ctx)

    def counted(self) -> ColumnElement[bool]:
        """Rows of ``customers`` that are counted."""
        if self.narrowed:
            return Customer.id.in_(self.customers())
        return Customer.merged_into_id.is_(None)

    def frame(self, conn: Connection, stmt: Select[*tuple[Any, ...]]) -> pd.DataFrame:
        """The result of ``stmt`` with the group key (if any) first and ``value`` last."""
        frame = pd.DataFrame(
            conn.execute(stmt).mappings().all(), columns=list(stmt.selected_columns.keys())
        )
        keys = [c for c in frame.columns if c != "value"]
        frame = frame[[*keys, "value"]]
        if keys:
            frame = frame.sort_values(keys, na_position="last", ignore_index=True)
        return frame

    def of_customers(self, customer_id: Any) -> ColumnElement[bool]:
        """Rows (of a child table) that belong to the customers counted."""
        return customer_id.in_(self.customers()) if self.narrowed else true()

    def grouped(
        self, stmt: Select[*tuple[Any, ...]], customer_id: Any, when: Any = None
    ) -> Select[*tuple[Any, ...]]:
        """``stmt`` (one aggregate column ``value``) grouped by ``self.by``: a customer
        attribute through ``customer_id``, or the month of ``when``."""
        if self.by is None:
            return stmt
        if self.by == "month":
            key: ColumnElement[Any] = month_of(when).label("month")
            return stmt.add_columns(key).group_by(key)
        if customer_id is not Customer.id:
            stmt = stmt.join(Customer, Customer.id == customer_id)
        if self.by in ("region", "province", "industry"):
            column = (
                Customer.industry_section if self.by == "industry" else getattr(Customer, self.by)
            )
            key = column.label(self.by)
        else:
            owner = aliased(User, name="owner_user")
            key = (owner.username if self.by == "owner" else owner.team).label(self.by)
            stmt = stmt.outerjoin(owner, owner.id == Customer.owner_id)
        return stmt.add_columns(key).group_by(key)


def months_back(day: date, months: int) -> date:
    """The first day of a window of ``months`` months ending on ``day`` (inclusive)."""
    return clock.add_months(day, -months) + timedelta(days=1)
