"""The customer profile against an independent pandas computation, and its scoping."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

import crmlib
from crmlib import clock
from crmlib.errors import ValidationError
from tests.factories import SMALL_DEMO, Team, company
from tests.templates import Templates

GROUP = {"grade": "grade", "industry": "industry_section", "size": "size", "region": "region"}


def _raw(engine: Engine) -> dict[str, pd.DataFrame]:
    with engine.connect() as conn:
        tables = {
            n: pd.read_sql(f"SELECT * FROM {n}", conn)
            for n in ("customers", "orders", "interactions")
        }
    tables["customers"]["created_at"] = pd.to_datetime(tables["customers"]["created_at"])
    tables["orders"]["ordered_at"] = pd.to_datetime(tables["orders"]["ordered_at"])
    tables["orders"]["amount"] = tables["orders"]["amount"].astype(float)
    tables["interactions"]["occurred_at"] = pd.to_datetime(tables["interactions"]["occurred_at"])
    return tables


def _counts(frame: pd.DataFrame, keys: list[str]) -> dict[tuple[object, ...], int]:
    grouped = frame.groupby(keys, dropna=False).size()
    return {
        tuple(None if pd.isna(v) else v for v in (k if isinstance(k, tuple) else (k,))): int(n)
        for k, n in grouped.items()
    }


def _as_dict(frame: pd.DataFrame, keys: list[str], value: str) -> dict[tuple[object, ...], float]:
    return {
        tuple(None if pd.isna(v) else v for v in row[:-1]): row[-1]
        for row in frame[[*keys, value]].itertuples(index=False)
    }


def check_profile(
    ws: crmlib.Workspace, start: date, end: date, region: str | None, by: str
) -> None:
    """``ws.profile`` equals the same figures computed in pandas from the raw tables."""
    raw = _raw(ws.engine)
    got = ws.profile(by=by, period_start=start, period_end=end - timedelta(days=1), region=region)
    c = raw["customers"]
    c = c[c.merged_into_id.isna() & (c.created_at < pd.Timestamp(end))]
    if region:
        c = c[c.region == region]
    ids = set(c["id"])
    total = len(c)
    assert total > 0

    assert _as_dict(got.regions, ["region"], "customers") == _counts(c, ["region"])
    assert _as_dict(got.provinces, ["region", "province"], "customers") == _counts(
        c, ["region", "province"]
    )
    assert got.regions["share"].sum() == pytest.approx(1.0)
    per_section = c.dropna(subset=["industry_section"]).groupby("industry_section").size()
    top = per_section.reset_index(name="n").sort_values(
        ["n", "industry_section"], ascending=[False, True]
    )
    assert list(got.industries["industry"]) == list(top["industry_section"].head(5))
    assert list(got.industries["customers"]) == list(top["n"].head(5))
    assert list(got.industries["share"]) == pytest.approx(list(top["n"].head(5) / total))
    companies = c[c.kind == "company"]
    assert _as_dict(got.sizes, ["size"], "customers") == _counts(companies, ["size"])

    lo, hi = pd.Timestamp(start), pd.Timestamp(end)
    o = raw["orders"]
    o = o[o.customer_id.isin(ids) & (o.ordered_at >= lo) & (o.ordered_at < hi)]
    per_customer = o.groupby("customer_id").size()
    value = got.value.iloc[0]
    assert value["orders"] == len(o) and value["buyers"] == o.customer_id.nunique()
    assert value["revenue"] == pytest.approx(o.amount.sum())
    assert value["aov"] == pytest.approx(o.amount.sum() / len(o))
    assert value["repeat_buyers"] == (per_customer >= 2).sum()
    assert value["repurchase_rate"] == pytest.approx((per_customer >= 2).mean())

    bought = o.merge(c[["id", GROUP[by]]], left_on="customer_id", right_on="id")
    amounts = bought.groupby([GROUP[by], "category"], dropna=False)["amount"].sum()
    shares = amounts / amounts.groupby(level=0, dropna=False).transform("sum")
    rows = shares.rename("share").reset_index()
    want = {(None if pd.isna(g) else g, k): v for g, k, v in rows.itertuples(index=False)}
    have = _as_dict(got.preferences, ["group", "category"], "share")
    assert have.keys() == want.keys()
    assert [have[k] for k in want] == pytest.approx(list(want.values()))

    i = raw["interactions"]
    period = i[i.customer_id.isin(ids) & (i.occurred_at >= lo) & (i.occurred_at < hi)]
    engagement = got.engagement.iloc[0]
    assert engagement["customers"] == total
    assert engagement["follow_ups"] == len(period)
    assert engagement["contacted"] == period.customer_id.nunique()
    assert engagement["avg_follow_ups"] == pytest.approx(len(period) / total)
    assert pd.Timestamp(engagement["last_interaction"]) == period.occurred_at.max()
    assert _as_dict(got.channels, ["channel"], "follow_ups") == _counts(period, ["channel"])

    day = min(end - timedelta(days=1), clock.today())
    before = i[i.customer_id.isin(ids) & (i.occurred_at < pd.Timestamp(day + timedelta(days=1)))]
    last = before.groupby("customer_id")["occurred_at"].max()
    days = (pd.Timestamp(day) - last.dt.normalize()).dt.days.reindex(list(ids))
    buckets = pd.cut(days, [-1, 30, 90, 180, 365, np.inf], labels=False)
    expected = [int((buckets == b).sum()) for b in range(5)] + [int(days.isna().sum())]
    assert list(got.recency["customers"]) == expected


@pytest.mark.parametrize(
    ("start", "end", "region", "by"),
    [
        (date(2024, 1, 1), date(2025, 1, 1), None, "grade"),
        (date(2025, 4, 1), date(2025, 10, 1), "华东", "industry"),
    ],
)
def test_the_profile_matches_pandas_on_demo_data(
    db_url: str, templates: Templates, start: date, end: date, region: str | None, by: str
) -> None:
    templates.fill(db_url, SMALL_DEMO)
    ws = crmlib.open(db_url, user="admin", lang="en")
    check_profile(ws, start, end, region, by)
    ws.close()


def test_each_user_sees_the_profile_of_their_own_customers(team: Team) -> None:
    east = team.zhang.customers.add(**company(province="上海", size="small")).code
    team.zhang.customers.add(**company(province="广东", industry="C34", size="large"))
    west = team.zhao.customers.add(**company(province="四川", size="small")).code
    team.zhang.orders.add(east, ordered_at="2024-03-01", amount="1000", category="软件")
    team.zhang.orders.add(east, ordered_at="2024-03-05", amount="3000", category="服务")
    team.zhao.orders.add(west, ordered_at="2024-03-02", amount="500", category="软件")
    team.zhang.interactions.add(
        east,
        channel="wechat",
        summary="回访",
        customer_need="续约",
        next_step="报价",
        occurred_at=datetime(2024, 3, 3, 10),
    )

    # open-ended, so the customers entered today count along with their back-dated orders
    mine = team.zhang.profile(period_start="2024-01-01")
    assert team.zhang.profile(period="2024-Q1").regions.empty  # they did not exist yet
    assert dict(zip(mine.regions["region"], mine.regions["customers"], strict=True)) == {
        "华东": 1,
        "华南": 1,
    }
    assert mine.value.iloc[0][["orders", "buyers", "repeat_buyers"]].tolist() == [2, 1, 1]
    assert mine.value.iloc[0]["aov"] == pytest.approx(2000.0)
    assert mine.engagement.iloc[0][["customers", "follow_ups", "contacted"]].tolist() == [2, 1, 1]
    assert mine.channels["channel"].tolist() == ["wechat"]
    assert set(mine.preferences["category"]) == {"软件", "服务"}
    everyone = team.ana.profile(period_start="2024-01-01")
    assert everyone.value.iloc[0]["orders"] == 3 and everyone.regions["customers"].sum() == 3
    assert team.ana.profile(period_start="2024-01-01", owner="zhao").value.iloc[0]["revenue"] == 500
    assert team.li.profile().value.iloc[0]["orders"] == 0
    assert team.li.profile().regions.empty


def test_bad_profile_arguments_name_the_field(team: Team) -> None:
    with pytest.raises(ValidationError) as caught:
        team.ana.profile(by="colour")
    assert [(e.field, e.rule) for e in caught.value.errors] == [("by", "profile_group")]
    with pytest.raises(ValidationError, match="region"):
        team.ana.profile(region="火星")


def test_crm_profile_prints_every_table(team: Team) -> None:
    from click.testing import CliRunner

    from crmlib.cli import main

    code = team.zhang.customers.add(**company(province="上海", size="small")).code
    team.zhang.orders.add(code, ordered_at="2024-03-01", amount="1000", category="软件")
    base = ["--url", team.url, "--lang", "zh", "--user", "zhang", "profile"]
    shown = CliRunner().invoke(main, [*base, "--start", "2024-01-01", "--by", "size"])
    assert shown.exit_code == 0, shown.output
    for heading in (
        "客户区域分布",
        "前五大行业",
        "企业规模分布",
        "跟进渠道偏好",
        "各企业规模的产品偏好",
    ):
        assert heading in shown.output
    assert "华东" in shown.output and "软件" in shown.output
    refused = CliRunner().invoke(main, [*base, "--region", "火星"])
    assert refused.exit_code == 1 and "region" in refused.output
