"""Churn risk: which buyers are likely to stop ordering, why, and the 高流失风险 tag.

The question: will a customer who has ordered before a day (the cutoff) order again in the
``horizon_days`` after it (setting ``churn``, default 180)? A customer with no order in
``(cutoff, cutoff + horizon]`` has *churned*. Only customers with an order on or before the
cutoff are asked about; the others have nothing to churn from.

Features (:mod:`.churn_features`, computed in SQL as of the cutoff): recency, frequency,
monetary value and average order value; orders and spend in the last 6 months and the 6
before and the spend trend; tenure; tickets and complaints in the last 12 months;
follow-ups in the last 12 months, days since the last one and their average spacing;
company or person.

The grade is in there through the spend of the last 12 months (spend_6m + spend_prev_6m
is what grades count); the grade stored on the customer is today's, so training on it would
let the future leak into the past.

Model: logistic regression on standardised features (counts, amounts and day counts
``log1p``-transformed first), which keeps every score explainable: the log-odds of a
customer is the intercept plus one contribution per feature, ``coefficient ×
standardised value``, so the *top factors* of a customer are the features with the largest
positive contributions, i.e. what raises this customer's risk above the average customer's.

Evaluation is a time-based holdout with ``D`` the as-of day and ``N`` the horizon: train
with features as of ``T1 = D − 2N`` and labels from ``(T1, T1 + N]``, test with features
as of ``T2 = D − N`` and labels from ``(T2, D]``; the AUC of the test is reported. The model
that scores is then fitted on the ``T2`` rows (the latest complete labels) and applied to
features as of ``D``. Training takes seconds, so every run trains afresh from the data and
nothing is stored but the scores: no model file to go stale or to trust when loading.

Scoring (:func:`score`) writes ``customers.churn_risk`` (rounded to 3 decimals) and
``churn_scored_at`` for the customers in scope, gives those at or above the threshold the
高流失风险 tag and takes it from those below it. Each changed risk and each added or removed
tag is one audit event (action ``churn``); a second run on the same data changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, cast

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Table, bindparam, case, delete, insert, select, update

from .. import clock
from ..audit import text_of
from ..context import Context, localised
from ..errors import FieldError, ValidationError
from ..i18n import t
from ..missing import is_missing
from ..settings import get_setting
from ..store.models import Customer, CustomerTag
from ..team_audit import write_events
from .churn_features import FEATURES, feature_label, features, matrix
from .filters import Filters

TAG = "高流失风险"
ACTION = "churn"
#: Top factors listed per customer.
TOP = 3
#: Risks are stored with this many decimals (finer changes are noise, not news).
DECIMALS = 3


@dataclass(frozen=True)
class ChurnModel:
    """A fitted churn model with its time-based holdout evaluation."""

    pipeline: Any  # sklearn Pipeline: StandardScaler → LogisticRegression
    as_of: date
    horizon_days: int
    train_cutoff: date  # T1
    test_cutoff: date  # T2: the scoring model is fitted on these rows
    auc: float | None  # None when the test rows hold one class only
    train_rows: int
    test_rows: int
    train_churn_rate: float
    test_churn_rate: float

    def coefficients(self, lang: str | None = None) -> pd.DataFrame:
        """The fitted coefficient of every (standardised) feature, strongest first:
        positive raises the risk."""
        coef = self.pipeline[-1].coef_[0]
        frame = pd.DataFrame(
            {
                "feature": list(FEATURES),
                "label": [feature_label(n, lang) for n in FEATURES],
                "coefficient": coef,
            }
        )
        return frame.reindex(frame["coefficient"].abs().sort_values(ascending=False).index)

    def risk(self, frame: pd.DataFrame) -> np.ndarray[Any, np.dtype[np.float64]]:
        return cast(
            np.ndarray[Any, np.dtype[np.float64]], self.pipeline.predict_proba(matrix(frame))[:, 1]
        )

    def contributions(self, frame: pd.DataFrame) -> np.ndarray[Any, np.dtype[np.float64]]:
        """Per row and feature: coefficient × standardised value (log-odds above average)."""
        scaler, model = self.pipeline[0], self.pipeline[-1]
        return cast(
            np.ndarray[Any, np.dtype[np.float64]],
            scaler.transform(matrix(frame)) * model.coef_[0],
        )


def _pipeline() -> Any:
    # scikit-learn loads in about a second, so only the commands that train pay for it.
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))


def _auc(labels: pd.Series, scores: np.ndarray[Any, np.dtype[np.float64]]) -> float | None:
    from sklearn.metrics import roc_auc_score

    if labels.nunique() < 2:
        return None
    return float(roc_auc_score(labels, scores))


def horizon_days(ctx: Context) -> int:
    with ctx.reading() as conn:
        return int(get_setting(conn, "churn")["horizon_days"])


def train(ctx: Context, **filters: Any) -> ChurnModel:
    """Evaluate on the time-based holdout and fit the scoring model (see the module doc)."""
    f = Filters.of(**filters)
    horizon = horizon_days(ctx)
    day = f.day
    test_cutoff = day - timedelta(days=horizon)
    train_cutoff = test_cutoff - timedelta(days=horizon)
    train_rows = ctx.frame(features(ctx, f, train_cutoff, horizon))
    test_rows = ctx.frame(features(ctx, f, test_cutoff, horizon))
    for rows in (train_rows, test_rows):
        if rows["churned"].nunique() < 2:
            counts = (
                f"{train_cutoff}: {train_rows['churned'].value_counts().to_dict()}, "
                f"{test_cutoff}: {test_rows['churned'].value_counts().to_dict()}"
            )
            message = t("churn:history", day=day, t1=train_cutoff, t2=test_cutoff, counts=counts)
            raise ValidationError(FieldError("as_of", day, "churn_history", message))
    evaluated = _pipeline().fit(matrix(train_rows), train_rows["churned"])
    auc = _auc(test_rows["churned"], evaluated.predict_proba(matrix(test_rows))[:, 1])
    scoring = _pipeline().fit(matrix(test_rows), test_rows["churned"])
    return ChurnModel(
        pipeline=scoring,
        as_of=day,
        horizon_days=horizon,
        train_cutoff=train_cutoff,
        test_cutoff=test_cutoff,
        auc=auc,
        train_rows=len(train_rows),
        test_rows=len(test_rows),
        train_churn_rate=float(train_rows["churned"].mean()),
        test_churn_rate=float(test_rows["churned"].mean()),
    )


def risks(ctx: Context, model: ChurnModel | None = None, **filters: Any) -> pd.DataFrame:
    """Risk and top factors of every customer in the filters who has ordered, as of the
    filters' day, highest risk first; nothing is written. Without ``model``, one is trained."""
    f = Filters.of(**filters)
    model = model or train(ctx, **filters)
    frame = ctx.frame(features(ctx, f, f.day))
    frame["risk"] = model.risk(frame) if len(frame) else np.empty(0)
    labels = np.array([feature_label(n, ctx.lang) for n in FEATURES], dtype=object)
    contributions = model.contributions(frame) if len(frame) else np.empty((0, len(FEATURES)))
    order = np.argsort(-contributions, axis=1, kind="stable")[:, :TOP]
    rows = np.arange(len(frame))
    for k in range(TOP):
        index = order[:, k]
        raises = contributions[rows, index] > 0
        frame[f"factor_{k + 1}"] = [
            label if up else None for label, up in zip(labels[index], raises, strict=True)
        ]
    columns = ["id", "code", "risk", *(f"factor_{k + 1}" for k in range(TOP)), *FEATURES]
    return frame[columns].sort_values(["risk", "code"], ascending=[False, True], ignore_index=True)


def explain(
    ctx: Context, code: str, model: ChurnModel | None = None, **filters: Any
) -> pd.DataFrame:
    """Every feature of one customer with its value and its contribution to the log-odds
    of churning (positive raises the risk), largest effect first."""
    f = Filters.of(**filters)
    model = model or train(ctx, **filters)
    frame = ctx.frame(features(ctx, f, f.day).where(Customer.code == code))
    if frame.empty:
        message = t("churn:not_scored", code=code, day=f.day)
        raise ValidationError(FieldError("code", code, "churn_scored", message))
    contribution = model.contributions(frame)[0]
    result = pd.DataFrame(
        {
            "feature": list(FEATURES),
            "label": [feature_label(n, ctx.lang) for n in FEATURES],
            "value": [frame.iloc[0][n] for n in FEATURES],
            "contribution": contribution,
        }
    )
    return result.reindex(
        result["contribution"].abs().sort_values(ascending=False).index
    ).reset_index(drop=True)


@dataclass(frozen=True)
class ScoreResult:
    """What one scoring run wrote."""

    model: ChurnModel
    threshold: float
    scored: int  # customers with a risk
    at_risk: int  # of them at or above the threshold
    changed: int  # stored risks that changed
    tagged: int  # customers newly tagged 高流失风险
    untagged: int  # customers whose tag was removed
    risks: pd.DataFrame


def score(
    ctx: Context,
    model: ChurnModel | None = None,
    *,
    threshold: float | None = None,
    **filters: Any,
) -> ScoreResult:
    """Store every in-scope customer's churn risk and set or clear the 高流失风险 tag (see
    the module doc); one transaction, safe to run twice."""
    ctx.scope.require(ctx.actor.role.edit_customers, "score churn risk")
    f = Filters.of(**filters)
    if threshold is None:
        with ctx.reading() as conn:
            threshold = float(get_setting(conn, "churn")["threshold"])
    if not 0 <= threshold <= 1:
        raise ValidationError(
            FieldError("threshold", threshold, "churn_threshold", t("churn:threshold"))
        )
    model = model or train(ctx, **filters)
    scored = risks(ctx, model, **filters)
    with ctx.session(action=ACTION) as session:
        conn = session.connection()
        current = _current(conn, ctx, f)
        target = current.merge(scored[["id", "risk"]], on="id", how="left")
        new = target["risk"].round(DECIMALS)
        old = target["churn_risk"]
        changed = ~((old == new) | (old.isna() & new.isna()))
        above = (new >= threshold).fillna(False).to_numpy(dtype=bool)
        had = target["tagged"].to_numpy(dtype=bool)
        _write(conn, ctx, target, new, changed.to_numpy(dtype=bool), above, had)
    return ScoreResult(
        model=model,
        threshold=threshold,
        scored=int(new.notna().sum()),
        at_risk=int(above.sum()),
        changed=int(changed.sum()),
        tagged=int((above & ~had).sum()),
        untagged=int((had & ~above).sum()),
        risks=scored,
    )


def _current(conn: Connection, ctx: Context, f: Filters) -> pd.DataFrame:
    """Every customer in the filters with its stored risk and whether it has the tag."""
    customers = cast(Table, Customer.__table__)
    tagged = select(CustomerTag.customer_id).where(CustomerTag.tag == TAG)
    stmt = (
        select(
            customers.c.id,
            customers.c.code,
            customers.c.churn_risk,
            case((customers.c.id.in_(tagged), True), else_=False).label("tagged"),
        )
        .where(customers.c.id.in_(f.customers(ctx)))
        .order_by(customers.c.id)
    )
    frame = pd.read_sql(stmt, conn)
    frame["churn_risk"] = pd.to_numeric(frame["churn_risk"]).astype(float)
    return frame


def _write(
    conn: Connection,
    ctx: Context,
    target: pd.DataFrame,
    new: pd.Series,
    changed: np.ndarray[Any, np.dtype[np.bool_]],
    above: np.ndarray[Any, np.dtype[np.bool_]],
    had: np.ndarray[Any, np.dtype[np.bool_]],
) -> None:
    """Risks and scoring times, tags added and removed, and one audit event per change."""
    customers = cast(Table, Customer.__table__)
    now = clock.now()
    ids = target["id"].to_numpy()
    values = [None if is_missing(v) else float(v) for v in new]
    rows = [
        {"customer": int(i), "risk": v, "at": None if v is None else now}
        for i, v, was in zip(ids, values, target["churn_risk"], strict=True)
        if v is not None or not is_missing(was)
    ]
    if rows:
        conn.execute(
            update(customers)
            .where(customers.c.id == bindparam("customer"))
            .values(churn_risk=bindparam("risk"), churn_scored_at=bindparam("at")),
            rows,
        )
    add, remove = ids[above & ~had], ids[had & ~above]
    if len(add):
        conn.execute(insert(CustomerTag), [{"customer_id": int(i), "tag": TAG} for i in add])
    if len(remove):
        conn.execute(
            delete(CustomerTag).where(
                CustomerTag.tag == TAG, CustomerTag.customer_id.in_([int(i) for i in remove])
            )
        )
    actor = ctx.actor.username
    codes = target["code"].to_numpy(dtype=object)
    before = target["churn_risk"].tolist()
    event = {"occurred_at": now, "actor": actor, "action": ACTION}
    events = [
        {
            **event,
            "entity": "customers",
            "entity_id": int(ids[k]),
            "ref": codes[k],
            "field": "churn_risk",
            "old_value": _text(before[k]),
            "new_value": _text(values[k]),
        }
        for k in np.flatnonzero(changed)
    ]
    events += [
        {
            **event,
            "entity": "customer_tags",
            "entity_id": int(ids[k]),
            "ref": codes[k],
            "field": "tag",
            "old_value": None if above[k] else TAG,
            "new_value": TAG if above[k] else None,
        }
        for k in np.flatnonzero(above != had)
    ]
    write_events(conn, events)


def _text(value: Any) -> str | None:
    return None if is_missing(value) else text_of(round(float(value), DECIMALS))


class Churn:
    """Churn risk as one user sees it: ``ws.churn.train()``, ``.risks()``, ``.explain(code)``
    and ``.score()``; every method takes the analytics filters (``as_of``, region, team,
    owner, segment; a period means its last day)."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    @localised
    def train(self, **filters: Any) -> ChurnModel:
        """Fit the model and report its holdout AUC; nothing is written."""
        return train(self._ctx, **filters)

    @localised
    def risks(self, model: ChurnModel | None = None, **filters: Any) -> pd.DataFrame:
        """Risk and top factors per customer, highest first; nothing is written."""
        return risks(self._ctx, model, **filters)

    @localised
    def explain(self, code: str, model: ChurnModel | None = None, **filters: Any) -> pd.DataFrame:
        """What drives one customer's risk, feature by feature."""
        return explain(self._ctx, code, model, **filters)

    @localised
    def score(
        self,
        model: ChurnModel | None = None,
        *,
        threshold: float | None = None,
        **filters: Any,
    ) -> ScoreResult:
        """Store the risks and set or clear the 高流失风险 tag (the nightly job)."""
        return score(self._ctx, model, threshold=threshold, **filters)
