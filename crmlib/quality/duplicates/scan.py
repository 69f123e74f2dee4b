"""The bulk scan: every likely duplicate pair among the customers a user may see."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...context import Context
from ...i18n import t
from ...progress import ProgressBar
from .blocking import candidate_pairs
from .profiles import load
from .scoring import describe, score_pairs

#: Pairs scored at least this high are reported by default.
MIN_SCORE = 80
COLUMNS = (
    "code_a",
    "code_b",
    "score",
    "reasons",
    "name_a",
    "name_b",
    "external_id_a",
    "external_id_b",
    "kind_a",
    "kind_b",
    "city_a",
    "city_b",
    "owner_a",
    "owner_b",
)


def scan(ctx: Context, *, min_score: float = MIN_SCORE, progress: bool = False) -> pd.DataFrame:
    """Candidate duplicate pairs among the user's unmerged customers, best first.

    One row per pair (``code_a`` < ``code_b``) with its score (0-100) and reasons in the
    user's language. ``frame.attrs["blocking"]`` tells how many blocks, pairs and oversized
    blocks each blocking key produced (see :mod:`.blocking`).
    """
    steps = tuple(t(f"scan:{step}") for step in ("load", "block", "score", "report"))
    with ProgressBar(
        total=len(steps), desc=t("scan:desc"), unit=t("scan:unit"), disable=not progress
    ) as bar:
        bar.set_postfix_str(steps[0])
        with ctx.reading() as conn:
            profiles = load(conn, ctx.scope.customer_filter())
        bar.update()
        bar.set_postfix_str(steps[1])
        blocks = candidate_pairs(profiles)
        bar.update()
        bar.set_postfix_str(steps[2])
        scored = score_pairs(
            profiles.columns, blocks.a, blocks.b, blocks.shared_phone, blocks.shared_email
        )
        bar.update()
        bar.set_postfix_str(steps[3])
        keep = np.flatnonzero(scored.score >= min_score)
        columns = profiles.columns
        a, b = blocks.a[keep], blocks.b[keep]
        swap = columns["code"][a] > columns["code"][b]
        a, b = np.where(swap, b, a), np.where(swap, a, b)
        pairs = pd.DataFrame(
            {
                "code_a": columns["code"][a],
                "code_b": columns["code"][b],
                "score": scored.score[keep],
                "reasons": [describe(scored.reasons(int(k)), ctx.lang) for k in keep],
                **{
                    f"{column}_{side}": columns[column][rows]
                    for column in ("name", "external_id", "kind", "city", "owner")
                    for side, rows in (("a", a), ("b", b))
                },
            },
            columns=list(COLUMNS),
        )
        pairs = pairs.sort_values(["score", "code_a", "code_b"], ascending=[False, True, True])
        pairs = pairs.reset_index(drop=True)
        bar.update()
    pairs.attrs["blocking"] = blocks.stats
    return pairs


def clusters(pairs: pd.DataFrame) -> pd.DataFrame:
    """Group the codes of ``pairs`` into clusters of one customer each (union-find):
    columns code, cluster (numbered from 1 in order of each cluster's first code), size."""
    parent: dict[str, str] = {}

    def root(code: str) -> str:
        parent.setdefault(code, code)
        while parent[code] != code:
            parent[code] = parent[parent[code]]
            code = parent[code]
        return code

    for a, b in zip(pairs["code_a"], pairs["code_b"], strict=True):
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    codes = sorted(parent)
    roots = [root(code) for code in codes]
    numbers = {r: n for n, r in enumerate(dict.fromkeys(roots), start=1)}
    frame = pd.DataFrame({"code": codes, "cluster": [numbers[r] for r in roots]})
    frame["size"] = frame.groupby("cluster")["code"].transform("size")
    return frame.sort_values(["cluster", "code"], ignore_index=True)
