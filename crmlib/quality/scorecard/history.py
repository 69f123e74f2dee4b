"""The scorecard's history: each saved measurement is a run, kept with its scores, and runs
over the same customers (the same scope) make the trend."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import insert, select

from ... import clock
from ...access import Scope
from ...context import Context
from ...missing import or_none
from ...store.engine import WRITE_INTENT
from ...store.models import QualityRun
from .checks import DIMENSIONS

TREND_COLUMNS = ("run_id", "run_at", "actor", "overall", *DIMENSIONS)


def scope_key(scope: Scope) -> str:
    """Which customers a run measured: runs over the same customers make one trend."""
    actor = scope.actor
    if actor.role.scope == "all":
        return "all"
    if actor.role.scope == "team" and actor.team is not None:
        return f"team:{actor.team}"
    return f"user:{actor.username}"


def _number(value: Any) -> Any:
    """JSON has no NaN: an unmeasured score is null."""
    return or_none(value)


def save(
    ctx: Context,
    *,
    overall: float,
    as_of: datetime,
    target: float,
    stale_days: int,
    dimensions: pd.DataFrame,
    checks: pd.DataFrame,
) -> int:
    """Keep one measurement (its dimensions' and checks' scores) as a run of the trend;
    its id."""
    scores = {
        "scope": scope_key(ctx.scope),
        "as_of": as_of.isoformat(sep=" "),
        "target": target,
        "stale_days": stale_days,
        "dimensions": {
            row["dimension"]: _number(row["score"]) for row in dimensions.to_dict("records")
        },
        "checks": {
            row["check"]: {
                "dimension": row["dimension"],
                "passed": _number(row["passed"]),
                "total": int(row["total"]),
                "score": _number(row["score"]),
            }
            for row in checks.to_dict("records")
        },
    }
    with ctx.engine.connect() as conn:
        conn = conn.execution_options(**{WRITE_INTENT: True})
        with conn.begin():
            return int(
                conn.execute(
                    insert(QualityRun)
                    .values(
                        run_at=clock.now(),
                        actor=ctx.actor.username,
                        overall=overall,
                        scores=json.dumps(scores, ensure_ascii=False),
                    )
                    .returning(QualityRun.id)
                ).scalar_one()
            )


def trend(ctx: Context) -> pd.DataFrame:
    """Past scorecards over the same customers as the user's (same scope), oldest first:
    run_id, run_at, actor, overall and one column per dimension."""
    stmt = select(
        QualityRun.id, QualityRun.run_at, QualityRun.actor, QualityRun.overall, QualityRun.scores
    ).order_by(QualityRun.run_at, QualityRun.id)
    mine = scope_key(ctx.scope)
    rows = []
    with ctx.reading() as conn:
        for run_id, run_at, actor, overall, text in conn.execute(stmt):
            scores = json.loads(text)
            if scores.get("scope") != mine:
                continue
            dimensions = scores.get("dimensions", {})
            rows.append(
                {
                    "run_id": run_id,
                    "run_at": run_at,
                    "actor": actor,
                    "overall": overall,
                    **{d: dimensions.get(d) for d in DIMENSIONS},
                }
            )
    return pd.DataFrame(rows, columns=list(TREND_COLUMNS)).astype({d: float for d in DIMENSIONS})
