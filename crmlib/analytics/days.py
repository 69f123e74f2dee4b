"""Date arithmetic in SQL, the same on SQLite and PostgreSQL.

SQLite stores dates and timestamps as text and computes with ``julianday``; PostgreSQL has
native types and intervals. Each expression here compiles to the right form for each, so
analytics code writes ``days_between(Ticket.first_response_at, Ticket.opened_at)`` once.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Date, Float, Integer, String, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class days_between(FunctionElement[float]):  # an SQL function, so named like one
    """``days_between(end, start)``: days, with fractions, from ``start`` to ``end``."""

    type = Float()
    name = "days_between"
    inherit_cache = True


@compiles(days_between, "sqlite")
def _days_sqlite(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    end, start = (compiler.process(c, **kw) for c in element.clauses)
    return f"(julianday({end}) - julianday({start}))"


@compiles(days_between, "postgresql")
def _days_pg(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    end, start = (compiler.process(c, **kw) for c in element.clauses)
    return (
        f"(EXTRACT(EPOCH FROM (CAST({end} AS TIMESTAMP) - CAST({start} AS TIMESTAMP))) / 86400.0)"
    )


class calendar_days(FunctionElement[int]):
    """``calendar_days(start, end)``: whole calendar days from ``start`` to ``end`` (the
    time of day is ignored), positive when ``end`` is later. Either may be a Python date."""

    type = Integer()
    inherit_cache = True
    name = "calendar_days"

    def __init__(self, start: Any, end: Any) -> None:
        super().__init__(_operand(start), _operand(end))


def _operand(value: Any) -> Any:
    return literal(value, Date) if isinstance(value, date) else value


@compiles(calendar_days)
def _calendar_generic(element: calendar_days, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"(CAST({end} AS DATE) - CAST({start} AS DATE))"


@compiles(calendar_days, "sqlite")
def _calendar_sqlite(element: calendar_days, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(julianday(date({end})) - julianday(date({start})) AS INTEGER)"


class month_of(FunctionElement[str]):
    """``YYYY-MM`` of a date or timestamp."""

    type = String()
    name = "month_of"
    inherit_cache = True


@compiles(month_of, "sqlite")
def _month_sqlite(element: month_of, compiler: SQLCompiler, **kw: Any) -> str:
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 7)"


@compiles(month_of, "postgresql")
def _month_pg(element: month_of, compiler: SQLCompiler, **kw: Any) -> str:
    return f"to_char({compiler.process(element.clauses, **kw)}, 'YYYY-MM')"
