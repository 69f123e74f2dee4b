"""RFM scores and segments, checked against an independent pandas computation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import insert, select

import crmlib
from crmlib.analytics.rfm import SEGMENT_NAMES
from crmlib.store.models import Customer, Order
from crmlib.workspace import Workspace
from tests.factories import SMALL_DEMO, Team, company
from tests.templates import Templates

DAY = date(2025, 12, 31)


@pytest.fixture
def demo(db_url: str, templates: Templates) -> Iterator[Workspace]:
    templates.fill(db_url, SMALL_DEMO)
    ws = crmlib.open(db_url, user="admin", lang="en")
    yield ws
    ws.close()


def tables(ws: Workspace) -> dict[str, pd.DataFrame]:
    with ws.engine.connect() as conn:
        return {
            name: pd.read_sql(f"SELECT * FROM {name}", conn)
            for name in ("orders", "customers", "users")
        }


def segment_of(r: pd.Series, f: pd.Series, m: pd.Series) -> np.ndarray:
    """The documented (R, F, M) → segment grid, written out again for the check."""
    conditions = [
        (r >= 4) & (f >= 4) & (m >= 4),
        (r >= 3) & (f >= 4),
        (r <= 2) & (f >= 4) & (m >= 4),
        (r <= 2) & (f >= 3),
        (r >= 4) & (f == 1),
        (r >= 4) & (f <= 3),
        (r == 3) & (f <= 3),
        (r == 2) & (f <= 2),
    ]
    names = [
        "champions",
        "loyal",
        "cannot_lose",
        "at_risk",
        "new",
        "potential_loyalists",
        "need_attention",
        "hibernating",
    ]
    return np.select(conditions, names, default="lost")


def reference(
    ws: Workspace,
    day: date,
    *,
    owner: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> tuple[pd.DataFrame, int]:
    """RFM per customer in pandas from the raw tables, and the number of customers in scope."""
    raw = tables(ws)
    customers = raw["customers"][raw["customers"]["merged_into_id"].isna()]
    if owner is not None:
        owner_id = raw["users"].set_index("username").loc[owner, "id"]
        customers = customers[customers["owner_id"] == owner_id]
    orders = raw["orders"].copy()
    orders["day"] = pd.to_datetime(orders["ordered_at"]).dt.date
    orders["amount"] = orders["amount"].astype(float)
    keep = (orders["day"] <= day) & orders["customer_id"].isin(customers["id"])
    if start is not None:
        keep &= orders["day"] >= start
    if end is not None:
        keep &= orders["day"] < end
    g = (
        orders[keep]
        .groupby("customer_id")
        .agg(frequency=("id", "size"), monetary=("amount", "sum"), last_order=("day", "max"))
    )
    g["monetary"] = g["monetary"].round(2)
    g["recency_days"] = [(day - d).days for d in g["last_order"]]
    n = len(g)

    def score(values: pd.Series) -> pd.Series:
        return 1 + (5 * (values.rank(method="min").astype(int) - 1)) // n

    g["r"] = score(-g["recency_days"])
    g["f"] = score(g["frequency"])
    g["m"] = score(g["monetary"])
    g["segment"] = segment_of(g["r"], g["f"], g["m"])
    g = g.join(customers.set_index("id")["code"]).sort_values("code").reset_index(drop=True)
    return g, len(customers)


def check(frame: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(frame["code"]) == list(expected["code"])
    for column in ("recency_days", "frequency", "r", "f", "m", "segment"):
        assert list(frame[column]) == list(expected[column]), column
    assert np.allclose(frame["monetary"], expected["monetary"])
    assert list(frame["last_order"]) == list(expected["last_order"])


def test_rfm_matches_pandas(demo: Workspace) -> None:
    frame = demo.segments.rfm(as_of=DAY)
    expected, _ = reference(demo, DAY)
    assert len(frame) > 100
    check(frame, expected)
    assert (
        frame["rfm"] == frame["r"].astype(str) + frame["f"].astype(str) + frame["m"].astype(str)
    ).all()
    assert set(frame["segment"]) <= set(SEGMENT_NAMES)
    assert frame.loc[frame["segment"] == "champions", "label"].eq("Champions").all()


def test_a_period_limits_the_orders_counted(demo: Workspace) -> None:
    frame = demo.segments.rfm(period="2025-H1")
    expected, _ = reference(demo, date(2025, 6, 30), start=date(2025, 1, 1), end=date(2025, 7, 1))
    check(frame, expected)


def test_summary_matches_pandas(demo: Workspace) -> None:
    summary = demo.segments.rfm_summary(as_of=DAY)
    expected, in_scope = reference(demo, DAY)
    assert list(summary["segment"]) == [*SEGMENT_NAMES, "no_purchase"]
    counts = expected["segment"].value_counts().reindex(list(SEGMENT_NAMES), fill_value=0)
    assert list(summary["customers"][:-1]) == list(counts)
    assert summary["customers"].iloc[-1] == in_scope - len(expected)
    assert summary["customers"].sum() == in_scope
    assert np.allclose(summary["share"], summary["customers"] / in_scope)
    means = expected.groupby("segment")[["recency_days", "frequency", "monetary"]].mean()
    got = summary.set_index("segment").loc[means.index]
    for column in ("recency_days", "frequency", "monetary"):
        assert np.allclose(got[column], means[column]), column
    assert summary.iloc[-1]["label"] == "No purchase"


def test_a_reps_rfm_ranks_only_their_customers(demo: Workspace) -> None:
    users = tables(demo)["users"]
    rep = str(users[users["role"] == "sales"].sort_values("id")["username"].iloc[0])
    with crmlib.open(demo.engine.url.render_as_string(hide_password=False), user=rep) as ws:
        frame = ws.segments.rfm(as_of=DAY)
        summary = ws.segments.rfm_summary(as_of=DAY)
    expected, in_scope = reference(demo, DAY, owner=rep)
    assert 0 < len(frame) < len(demo.segments.rfm(as_of=DAY))
    assert set(frame["owner"]) == {rep}
    check(frame, expected)
    assert summary["customers"].sum() == in_scope


def test_ties_share_the_lowest_score(team: Team) -> None:
    """Ten buyers with 1,1,1,1,1,1,2,2,3,4 orders: RANK() gives 1, 7, 9 and 10, so the
    one-order customers score F 1, two orders 1 + 5·6 // 10 = 4, three and four orders 5."""
    counts = [1, 1, 1, 1, 1, 1, 2, 2, 3, 4]
    codes = [team.zhang.customers.add(**company(name=f"客户{i}")).code for i in range(10)]
    with team.admin.engine.begin() as conn:
        ids = {code: i for code, i in conn.execute(select(Customer.code, Customer.id))}
        conn.execute(
            insert(Order),
            [
                {
                    "customer_id": ids[code],
                    "ordered_at": date(2025, 3, 1 + k),
                    "amount": 1000,
                    "created_at": datetime(2025, 3, 1),
                }
                for code, n in zip(codes, counts, strict=True)
                for k in range(n)
            ],
        )
    frame = team.zhang.segments.rfm(as_of=DAY).set_index("code").loc[codes]
    assert list(frame["f"]) == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
    # All spent 1000 per order: M follows F; the last orders fall on 1 to 4 March.
    assert list(frame["m"]) == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
    assert list(frame["r"]) == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
    assert list(frame["segment"][-2:]) == ["champions", "champions"]
    assert list(frame["segment"][:6]) == ["lost"] * 6
    # A rep sees only their own customers; another rep sees none of these.
    assert team.li.segments.rfm(as_of=DAY).empty
    assert team.li.segments.rfm_summary(as_of=DAY)["customers"].sum() == 0


def test_filters_are_checked(demo: Workspace) -> None:
    with pytest.raises(crmlib.ValidationError, match="region"):
        demo.segments.rfm(region="火星")
    east = demo.segments.rfm(as_of=DAY, region="华东")
    assert 0 < len(east) < len(demo.segments.rfm(as_of=DAY))
