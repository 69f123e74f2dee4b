"""Duplicate customers: caught on entry, found in bulk, merged with history, unmerged.

``Duplicates(ctx)`` is what a workspace exposes as ``ws.duplicates``::

    ws.duplicates.check({"name": "上海星辰科技有限公司", "phone": "13812345678"})  # [Match]
    pairs = ws.duplicates.scan()              # DataFrame: code_a, code_b, score, reasons …
    ws.duplicates.clusters(pairs)             # DataFrame: code, cluster, size
    merge_id = ws.duplicates.merge("C20240501001", "C20240612007", choices={"phone": "other"})
    ws.duplicates.merges()                    # DataFrame: merge_id, codes, undoable …
    ws.duplicates.unmerge(merge_id)

How names, addresses and phones are folded for matching is in :mod:`crmlib.rules.matching`,
which pairs are compared in :mod:`.blocking`, how a pair is scored in :mod:`.scoring`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from ...context import Context, localised
from .check import CHECK_SCORE, Match, check_duplicates
from .merging import merge, merge_history, unmerge
from .scan import MIN_SCORE, clusters, scan

__all__ = [
    "Duplicates",
    "Match",
    "check_duplicates",
    "clusters",
    "merge",
    "merge_history",
    "scan",
    "unmerge",
]


class Duplicates:
    """Duplicate detection and merging for one workspace (scoped and audited by its context)."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    @localised
    def check(
        self, candidate: Mapping[str, Any], *, limit: int = 5, min_score: float = CHECK_SCORE
    ) -> list[Match]:
        """Existing customers the one being entered may duplicate (see :func:`check_duplicates`)."""
        return check_duplicates(self._ctx, candidate, limit=limit, min_score=min_score)

    @localised
    def scan(self, *, min_score: float = MIN_SCORE, progress: bool = False) -> pd.DataFrame:
        """Likely duplicate pairs among the user's customers (see :func:`scan`)."""
        return scan(self._ctx, min_score=min_score, progress=progress)

    def clusters(self, pairs: pd.DataFrame) -> pd.DataFrame:
        """The customers of ``pairs`` grouped into one cluster per real customer."""
        return clusters(pairs)

    def with_clusters(self, pairs: pd.DataFrame) -> pd.DataFrame:
        """``pairs`` with the cluster (and its size) each pair belongs to, for review files."""
        grouped = clusters(pairs).rename(columns={"code": "code_a"})
        return pairs.merge(grouped, on="code_a", how="left")

    @localised
    def merge(
        self, survivor_code: str, other_code: str, *, choices: Mapping[str, str] | None = None
    ) -> int:
        """Merge ``other_code`` into ``survivor_code``; returns the merge id (see :func:`merge`)."""
        return merge(self._ctx, survivor_code, other_code, choices=choices)

    def merges(self, *, limit: int = 200) -> pd.DataFrame:
        """Past merges, newest first, with the number to undo each (see :func:`merge_history`)."""
        return merge_history(self._ctx, limit=limit)

    @localised
    def unmerge(self, merge_id: int) -> None:
        """Undo a merge exactly (see :func:`unmerge`)."""
        unmerge(self._ctx, merge_id)
