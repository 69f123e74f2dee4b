"""The data-quality scorecard: how complete, valid, unique, fresh and consistent the
customer base is, measured against the handbook's target and kept as a trend.

:mod:`.checks` says what is checked, as SQL over the rows each check applies to, with
the field rules deciding validity; :mod:`.measurement` counts the checks and scores
them; :mod:`.history` keeps the runs and gives the trend. The workbook and the text for
people are in :mod:`crmlib.reporting.scorecard`.
"""

from .checks import DEFAULT_STALE_DAYS, DEFAULT_TARGET, DIMENSIONS, dimension_label
from .history import TREND_COLUMNS, trend
from .measurement import COLUMNS, Scorecard, scorecard

__all__ = [
    "COLUMNS",
    "DEFAULT_STALE_DAYS",
    "DEFAULT_TARGET",
    "DIMENSIONS",
    "TREND_COLUMNS",
    "Scorecard",
    "dimension_label",
    "scorecard",
    "trend",
]
