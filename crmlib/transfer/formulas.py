"""Text cells kept from being run as spreadsheet formulas when a CSV file is opened.

Excel and WPS read a CSV cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or
carriage return before one) as a formula, so a customer named ``=HYPERLINK(…)`` or
``+cmd|' /C calc'!A0`` would run in the spreadsheet of whoever opens an export. Every CSV
crmlib writes goes through :func:`neutralise`, which puts a single quote in front of such
a cell (OWASP's rule); the importer takes it off again with :func:`restore`, so a file
exported and imported again gives back exactly what is stored.

The quote is also put in front of a value that already starts with quotes followed by
one of those characters (``'=x`` is written ``''=x``), so that taking one quote off is
never ambiguous: a name typed as ``'abc`` is written and read back as it is. A text that
is a plain number (``-5``, ``+8613812345678``) is left alone: a spreadsheet reads it as
the number it is, and nothing runs.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any

import pandas as pd

#: What makes a spreadsheet read a cell as a formula (OWASP's list), after any quotes.
_NEUTRALISED = re.compile(r"'*[=+\-@\t\r]")
#: A value :func:`neutralise` wrote: a quote it added, then what made it add one.
_RESTORED = re.compile(r"'+[=+\-@\t\r]")
#: Text a spreadsheet reads as a number, with nothing to run.
_NUMBER = re.compile(r"[+-]?[0-9][0-9.,]*")


def neutralise(value: Any) -> Any:
    """``value`` as a CSV cell that no spreadsheet runs; anything but text as it is."""
    if isinstance(value, str) and _NEUTRALISED.match(value) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def restore(value: str) -> str:
    """The text :func:`neutralise` was given for ``value``, a cell read from a CSV file."""
    return value[1:] if _RESTORED.match(value) else value


def restore_column(cells: pd.Series) -> pd.Series:
    """:func:`restore` on a column of a CSV file read as text; unchanged (the same object)
    when no cell starts with a quote, as in almost every file. Each cell's first character
    is taken by numpy (a C loop): pandas' ``str.startswith`` calls Python once per cell."""
    quoted = cells.to_numpy().astype("U1") == "'"
    if not quoted.any():
        return cells
    restored = cells.copy()
    restored[quoted] = [restore(cell) for cell in cells[quoted].tolist()]
    return restored


def restore_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """:func:`restore_column` on every column of a chunk of a CSV file."""
    for position in range(frame.shape[1]):
        column = frame.iloc[:, position]
        restored = restore_column(column)
        if restored is not column:
            frame.iloc[:, position] = restored
    return frame


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with its text cells neutralised, for ``DataFrame.to_csv``."""
    safe = frame.copy()
    for name in safe.columns:
        column = safe[name]
        if column.dtype == object or isinstance(column.dtype, pd.StringDtype):
            safe[name] = column.map(neutralise, na_action="ignore")
    return safe


class SafeWriter:
    """A ``csv.writer`` whose text cells go through :func:`neutralise`."""

    def __init__(self, handle: Any) -> None:
        self._writer = csv.writer(handle)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([neutralise(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)
