"""What every KPI query shares: the customers it may count, the group keys of ``by=`` and
the as-of moments."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar

import pandas as pd
from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Integer,
    MetaData,
    Select,
    Table,
    select,
    true,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.visitors import ExternallyTraversible, replacement_traverse

from ... import clock
from ...context import Context
from ...store.models import Customer, User
from ..days import month_of
from ..filters import Filters

T = TypeVar("T")

#: The customers one catalogue request counts, worked out once per connection by
#: :meth:`Query.counting`: a temporary table is private to its connection, and created
#: inside the connection's transaction it goes with the rollback that ends the request.
COUNTED = Table(
    "crm_kpi_counted",
    MetaData(),
    Column("id", Integer, primary_key=True, autoincrement=False),
    prefixes=["TEMPORARY"],
)


class unindexed(FunctionElement[Any]):
    """``column`` itself, written ``+column`` on SQLite: the unary plus keeps SQLite's
    planner from reading the table through that column's index. Without statistics it
    prefers an equality or a one-sided range (a stage most deals are in, "created before
    the day") to a narrow test, and then looks up most rows one by one."""

    inherit_cache = True

    def __init__(self, column: Any) -> None:
        super().__init__(column)
        self.type = column.type


@compiles(unindexed)
def _plain(element: unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(unindexed, "sqlite")
def _unary_plus(element: unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return "+" + compiler.process(element.clauses, **kw)


def row_by_row(condition: ColumnElement[bool], column: Any) -> ColumnElement[bool]:
    """``condition`` with every use of ``column`` (a mapped attribute) :class:`unindexed`:
    tested on the rows another index finds rather than read through its own index."""
    target = column.property.columns[0]
    plain = unindexed(column)

    def swap(element: ExternallyTraversible, **_kw: Any) -> ExternallyTraversible | None:
        same = getattr(element, "table", None) is target.table
        return plain if same and getattr(element, "key", None) == target.key else None

    return replacement_traverse(condition, {}, swap)


@dataclass(frozen=True)
class Query:
    """One KPI request: who asks (``ctx``), which data (``filters``) and the grouping."""

    ctx: Context
    filters: Filters
    by: str | None = None
    #: Whether the customers counted are read from :data:`COUNTED`, which every connection
    #: the query runs on must have filled (:meth:`counting`).
    materialised: bool = False
    _memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    _locks: dict[str, threading.Lock] = field(default_factory=dict, compare=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    def once(self, key: str, compute: Callable[[], T]) -> T:
        """``compute()`` the first time ``key`` is asked for, its result after: KPIs that
        share a pass over a table (computed side by side) run it once. Each key has its own
        lock, so different passes run side by side."""
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._memo:
                self._memo[key] = compute()
            result: T = self._memo[key]
            return result

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
        """The ids of the customers counted."""
        if self.materialised:
            return select(COUNTED.c.id)
        return self.filters.customers(self.ctx)

    @contextmanager
    def counting(self, conn: Connection) -> Iterator[None]:
        """With :attr:`materialised`, the customers counted worked out once for all the
        KPIs run on ``conn`` inside the block: re-running the scope's subquery costs each
        KPI a pass over the owner index (half a million look-ups for a large team at a
        million customers). The block ends ``conn``'s transaction, so the connection goes
        back to the pool without the table or anything else of this request."""
        if not self.materialised:
            yield
            return
        try:
            COUNTED.create(conn)
            # In key order, the rows append to the table's b-tree (a third faster on SQLite).
            counted = self.filters.customers(self.ctx).order_by(Customer.id)
            conn.execute(COUNTED.insert().from_select(["id"], counted))
            # The planner's row count: PostgreSQL's autovacuum never analyses a temporary
            # table, and without it the planner guesses its size.
            conn.exec_driver_sql(f"ANALYZE {COUNTED.name}")
            yield
        finally:
            # The rollback drops the table (DDL is transactional on both databases); the
            # DROP is for a SQLite connection that created it outside a transaction.
            conn.rollback()
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {COUNTED.name}")
            conn.commit()

    def counted(self) -> ColumnElement[bool]:
        """Rows of ``customers`` that are counted."""
        if self.narrowed:
            return Customer.id.in_(self.customers())
        return Customer.merged_into_id.is_(None)

    @staticmethod
    def rows(conn: Connection, stmt: Select[*tuple[Any, ...]]) -> pd.DataFrame:
        """The result of ``stmt``, a column per selected column (also when empty)."""
        return pd.DataFrame(
            conn.execute(stmt).mappings().all(), columns=list(stmt.selected_columns.keys())
        )

    def frame(self, conn: Connection, stmt: Select[*tuple[Any, ...]]) -> pd.DataFrame:
        """The result of ``stmt`` with the group key (if any) first and ``value`` last."""
        frame = self.rows(conn, stmt)
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
