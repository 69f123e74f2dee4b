"""Predictive customer lifetime value: BG/NBD for how often a customer will buy and
Gamma-Gamma for how much, both fitted by maximum likelihood (Fader, Hardie & Lee 2005).

Each customer's history is summarised in the database (purchase days, first and last
purchase day, spend); only the model fit and the prediction run in Python. Time is counted
in weeks; a purchase is a day with orders (several orders on one day are one purchase), so
``frequency`` is the number of repeat purchase days. ``monetary`` is the mean spend per
purchase day, the first included, so Gamma-Gamma is fitted to and predicts from all
``frequency + 1`` purchase days (the textbook uses repeat purchases only; counting the
first lets a one-time buyer's spend inform their forecast). The forecast is undiscounted:
expected purchases in the horizon × expected spend per purchase.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Float, cast, func, select

from ...store.models import Customer, Order
from ..days import days_between
from .query import Query

WEEK_DAYS = 7.0


@dataclass(frozen=True)
class ClvModel:
    """Fitted parameters: BG/NBD ``r, alpha, a, b`` and Gamma-Gamma ``p, q, gamma``."""

    r: float
    alpha: float
    a: float
    b: float
    p: float
    q: float
    gamma: float


def histories(q: Query, conn: Connection) -> pd.DataFrame:
    """One row per customer with orders up to the as-of day: code, frequency (repeat
    purchase days), recency and age (weeks from the first purchase to the last and to the
    as-of day) and monetary (mean spend per purchase day)."""
    days = (
        select(
            Order.customer_id, Order.ordered_at, func.sum(cast(Order.amount, Float)).label("spend")
        )
        .where(Order.ordered_at <= q.day, q.of_customers(Order.customer_id))
        .group_by(Order.customer_id, Order.ordered_at)
        .subquery("purchase_days")
    )
    first, last = func.min(days.c.ordered_at), func.max(days.c.ordered_at)
    stmt = (
        select(
            Customer.code,
            (func.count() - 1).label("frequency"),
            (days_between(last, first) / WEEK_DAYS).label("recency"),
            (days_between(q.day, first) / WEEK_DAYS).label("age"),
            (func.sum(days.c.spend) / func.count()).label("monetary"),
        )
        .join_from(days, Customer, Customer.id == days.c.customer_id)
        .where(q.counted())
        .group_by(Customer.code)
        .order_by(Customer.code)
    )
    frame = pd.DataFrame(
        conn.execute(stmt).all(), columns=["code", "frequency", "recency", "age", "monetary"]
    )
    return frame.astype({"frequency": int, "recency": float, "age": float, "monetary": float})


def _bgnbd_loglik(
    params: np.ndarray, x: np.ndarray, tx: np.ndarray, big_t: np.ndarray, weight: np.ndarray
) -> float:
    from scipy.special import betaln, gammaln  # scipy loads on first fit, not with crmlib

    r, alpha, a, b = np.exp(params)
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    head += betaln(a, b + x) - betaln(a, b)
    stay = -(r + x) * np.log(alpha + big_t)
    repeat = x > 0
    drop = np.full_like(stay, -np.inf)
    drop[repeat] = (
        np.log(a) - np.log(b + x[repeat] - 1) - (r + x[repeat]) * np.log(alpha + tx[repeat])
    )
    return -float(np.sum(weight * (head + np.logaddexp(stay, drop))))


def _gamma_gamma_loglik(params: np.ndarray, n: np.ndarray, m: np.ndarray) -> float:
    from scipy.special import gammaln

    p, q, gamma = np.exp(params)
    pn = p * n
    ll = (
        gammaln(pn + q)
        - gammaln(pn)
        - gammaln(q)
        + q * np.log(gamma)
        + (pn - 1) * np.log(m)
        + pn * np.log(n)
        - (pn + q) * np.log(gamma + n * m)
    )
    return -float(np.sum(ll))


#: Log-parameters stay in a range where the likelihoods are finite.
_BOUNDS = (-12.0, 12.0)


def fit(history: pd.DataFrame) -> ClvModel:
    """Maximum-likelihood fit of both models to :func:`histories`. BG/NBD is fitted on the
    distinct (frequency, recency, age) rows, weighted by how many customers share them."""
    from scipy.optimize import minimize

    same = history.groupby(["frequency", "recency", "age"]).size().reset_index(name="weight")
    x = same["frequency"].to_numpy(float)
    args = (
        x,
        same["recency"].to_numpy(float),
        np.maximum(same["age"].to_numpy(float), 1e-6),
        same["weight"].to_numpy(float),
    )
    bg = minimize(_bgnbd_loglik, np.zeros(4), args=args, method="L-BFGS-B", bounds=[_BOUNDS] * 4)
    spenders = history[history["monetary"] > 0]
    n = spenders["frequency"].to_numpy(float) + 1
    gg = minimize(
        _gamma_gamma_loglik,
        np.zeros(3),
        args=(n, spenders["monetary"].to_numpy(float)),
        method="L-BFGS-B",
        bounds=[_BOUNDS] * 3,
    )
    return ClvModel(*(float(v) for v in np.exp(bg.x)), *(float(v) for v in np.exp(gg.x)))


def expected_purchases(model: ClvModel, history: pd.DataFrame, weeks: float) -> np.ndarray:
    """BG/NBD: expected purchases of each customer in the next ``weeks`` weeks."""
    from scipy.special import hyp2f1

    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    x = history["frequency"].to_numpy(float)
    tx = history["recency"].to_numpy(float)
    big_t = history["age"].to_numpy(float)
    z = weeks / (alpha + big_t + weeks)
    top = (
        (a + b + x - 1)
        / (a - 1)
        * (
            1
            - ((alpha + big_t) / (alpha + big_t + weeks)) ** (r + x)
            * hyp2f1(r + x, b + x, a + b + x - 1, z)
        )
    )
    alive = 1 + (x > 0) * a / (b + np.maximum(x, 1) - 1) * ((alpha + big_t) / (alpha + tx)) ** (
        r + x
    )
    return np.asarray(top / alive)


def expected_spend(model: ClvModel, history: pd.DataFrame) -> np.ndarray:
    """Gamma-Gamma: expected spend per purchase given the ``n`` purchase days seen and their
    mean spend (a customer's own mean, shrunk towards the population's)."""
    n = history["frequency"].to_numpy(float) + 1
    m = history["monetary"].to_numpy(float)
    return np.asarray(model.p * (model.gamma + n * m) / (model.p * n + model.q - 1))


def forecast(q: Query, conn: Connection, months: int = 12) -> pd.DataFrame:
    """Per customer: the history, expected purchases and spend per purchase, and ``clv``, the
    expected spend in the next ``months`` months. ``frame.attrs["model"]`` holds the fit."""
    history = histories(q, conn)
    if len(history) < 10 or (history["frequency"] > 0).sum() < 3:
        raise ValueError("too few customers with repeat purchases to fit a CLV model")
    model = fit(history)
    weeks = months * 365.25 / 12 / WEEK_DAYS
    purchases = expected_purchases(model, history, weeks)
    spend = expected_spend(model, history)
    frame = history.assign(
        expected_purchases=purchases, expected_spend=spend, clv=purchases * spend
    )
    frame.attrs["model"] = model
    return frame
