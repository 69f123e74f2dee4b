"""One test for "no value", whatever form it takes.

A value read from the database is None, but the same value in a pandas frame may be None,
NaN (pandas 3's ``str`` columns), pd.NA (nullable dtypes) or NaT (dates). Code that masks,
formats or compares values asks :func:`is_missing` instead of testing for one of them.
"""

from __future__ import annotations

from typing import Any, TypeVar

import pandas as pd
from pandas.api.types import is_scalar

T = TypeVar("T")


def is_missing(value: Any) -> bool:
    """Whether ``value`` is None, NaN, pd.NA or NaT. Lists, arrays and other containers are
    values, never missing (``pd.isna`` would answer element by element)."""
    return value is None or (is_scalar(value) and bool(pd.isna(value)))


def or_none(value: T) -> T | None:
    """``value``, or None when it is missing in any form (for records, JSON and cells)."""
    return None if is_missing(value) else value
