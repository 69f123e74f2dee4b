"""Churn risk: features against pandas, a planted signal, scores, tags, audit and scope."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, insert, select

import crmlib
from crmlib import clock
from crmlib.analytics.churn import TAG
from crmlib.analytics.churn_features import FEATURES, feature_label, features
from crmlib.analytics.filters import Filters
from crmlib.cli import main
from crmlib.store.models import AuditEvent, Customer, CustomerTag, Order, Ticket, User
from crmlib.workspace import Workspace
from tests.factories import SMALL_DEMO, Team, company
from tests.templates import Templates

DAY = date(2025, 12, 31)  # as of: horizon 180 → T2 = 2025-07-04, T1 = 2025-01-05
T2 = DAY - timedelta(days=180)
T1 = T2 - timedelta(days=180)
GROUPS = ("happy", "early", "late")  # early complain before T1 and leave; late before T2
PER_GROUP = 30


def monthly(until: date) -> list[date]:
    """The 15th of every month from January 2024 up to ``until``."""
    days = [date(2024 + m // 12, m % 12 + 1, 15) for m in range(24)]
    return [d for d in days if d <= until]


def plant(engine: Engine) -> dict[str, list[int]]:
    """90 company customers of zhang and li who order monthly; the "early" third complain a
    month before T1 and stop ordering at T1, the "late" third the same around T2. Nothing
    but the complaints tells churners from the others at T1. Returns ids per group."""
    with engine.begin() as conn:
        owners = {name: i for name, i in conn.execute(select(User.username, User.id))}
        groups: dict[str, list[int]] = {g: [] for g in GROUPS}
        for i in range(PER_GROUP * len(GROUPS)):
            group = GROUPS[i % len(GROUPS)]
            customer = conn.execute(
                insert(Customer)
                .values(
                    code=f"C20231201{i:03d}",
                    name=f"客户{i}",
                    kind="company",
                    status="active",
                    owner_id=owners["zhang" if i % 2 == 0 else "li"],
                    created_at=datetime(2023, 12, 1),
                    updated_at=datetime(2023, 12, 1),
                )
                .returning(Customer.id)
            ).scalar_one()
            groups[group].append(customer)
            stop = {"happy": DAY, "early": T1, "late": T2}[group]
            conn.execute(
                insert(Order),
                [
                    {
                        "customer_id": customer,
                        "ordered_at": d,
                        "amount": 1000 + 10 * i,
                        "created_at": datetime(2024, 1, 1),
                    }
                    for d in monthly(stop)
                ],
            )
            if group != "happy":
                for back in (30, 60):
                    at = datetime.combine(stop - timedelta(days=back), datetime.min.time())
                    conn.execute(
                        insert(Ticket).values(
                            customer_id=customer,
                            type="complaint",
                            priority="high",
                            status="closed",
                            subject="投诉",
                            opened_at=at,
                            created_at=at,
                            updated_at=at,
                        )
                    )
    return groups


@pytest.fixture
def planted(team: Team) -> tuple[Team, dict[str, list[int]]]:
    return team, plant(team.admin.engine)


def stored(ws: Workspace) -> pd.DataFrame:
    with ws.engine.connect() as conn:
        customers = pd.read_sql(
            "SELECT id, code, owner_id, churn_risk, churn_scored_at FROM customers", conn
        )
        tags = pd.read_sql(select(CustomerTag.customer_id).where(CustomerTag.tag == TAG), conn)
    customers["tagged"] = customers["id"].isin(tags["customer_id"])
    return customers.set_index("id").sort_index()


def churn_events(ws: Workspace) -> pd.DataFrame:
    with ws.engine.connect() as conn:
        return pd.read_sql(select(AuditEvent).where(AuditEvent.action == "churn"), conn)


def test_a_planted_signal_gives_a_clear_auc(planted: tuple[Team, dict[str, list[int]]]) -> None:
    team, _ = planted
    model = team.admin.churn.train(as_of=DAY)
    assert (model.train_cutoff, model.test_cutoff, model.horizon_days) == (T1, T2, 180)
    assert model.train_rows == model.test_rows == 90
    assert model.train_churn_rate == pytest.approx(1 / 3)
    assert model.test_churn_rate == pytest.approx(2 / 3)
    assert model.auc is not None and model.auc > 0.9
    weights = model.coefficients("en").set_index("feature")["coefficient"]
    assert weights["complaints_12m"] > 0


def test_scores_tags_and_audit(planted: tuple[Team, dict[str, list[int]]]) -> None:
    team, groups = planted
    buyerless = team.admin.customers.add(**company(name="没有订单公司")).code
    result = team.admin.churn.score(as_of=DAY)
    after = stored(team.admin)
    happy, late = groups["happy"], groups["late"]
    assert result.scored == 90 and after["churn_risk"].notna().sum() == 90
    assert after.loc[after["code"] == buyerless, "churn_risk"].isna().all()
    assert (after.loc[happy, "churn_risk"] < 0.3).all()
    assert (after.loc[late, "churn_risk"] >= 0.7).all()
    tagged = after["churn_risk"] >= 0.7
    assert (after["tagged"] == tagged).all() and result.at_risk == tagged.sum()
    assert result.tagged == tagged.sum() and result.untagged == 0
    assert after.loc[after["churn_risk"].notna(), "churn_scored_at"].notna().all()
    events = churn_events(team.admin)
    risk_events = events[events["field"] == "churn_risk"]
    assert len(risk_events) == result.changed == 90
    assert set(risk_events["entity_id"]) == set(after.index[after["churn_risk"].notna()])
    tag_events = events[events["entity"] == "customer_tags"]
    assert sorted(tag_events["entity_id"]) == sorted(after.index[tagged])
    assert set(tag_events["new_value"]) == {TAG}

    again = team.admin.churn.score(as_of=DAY)  # same data, same model: nothing changes
    assert (again.changed, again.tagged, again.untagged) == (0, 0, 0)
    assert len(churn_events(team.admin)) == len(events)
    assert stored(team.admin)["tagged"].equals(after["tagged"])

    strict = team.admin.churn.score(as_of=DAY, threshold=1.0)
    final = stored(team.admin)
    assert (final["tagged"] == (final["churn_risk"] >= 1.0)).all()
    assert strict.untagged == int((tagged & (after["churn_risk"] < 1.0)).sum()) > 0
    removed = churn_events(team.admin).iloc[len(events) :]
    assert len(removed) == strict.untagged
    assert set(removed["old_value"]) == {TAG} and removed["new_value"].isna().all()
    history = team.admin.history(str(final.loc[late[0], "code"]))
    assert "churn_risk" in set(history["field"])


def test_explanations_name_real_features(planted: tuple[Team, dict[str, list[int]]]) -> None:
    team, groups = planted
    model = team.admin.churn.train(as_of=DAY)
    frame = team.admin.churn.risks(model, as_of=DAY)
    labels = {feature_label(name, "en") for name in FEATURES}
    factors = frame[["factor_1", "factor_2", "factor_3"]]
    assert set(factors.stack().dropna()) <= labels
    late = frame[frame["id"].isin(groups["late"])]
    assert (
        late[["factor_1", "factor_2", "factor_3"]]
        .eq("complaints in the last 12 months")
        .any(axis=1)
        .all()
    )
    assert frame["risk"].is_monotonic_decreasing
    code = str(late["code"].iloc[0])
    explained = team.admin.churn.explain(code, model, as_of=DAY)
    assert set(explained["feature"]) == set(FEATURES)
    # The contributions are an exact decomposition of the log-odds.
    intercept = model.pipeline[-1].intercept_[0]
    risk = float(late["risk"].iloc[0])
    assert intercept + explained["contribution"].sum() == pytest.approx(np.log(risk / (1 - risk)))
    with pytest.raises(crmlib.ValidationError, match="churn_scored"):
        team.admin.churn.explain("C19990101001", model, as_of=DAY)


def test_scoring_stays_in_scope(planted: tuple[Team, dict[str, list[int]]]) -> None:
    team, _ = planted
    result = team.zhang.churn.score(as_of=DAY)
    after = stored(team.admin)
    zhang = after["owner_id"] == team.zhang.user.id
    assert result.scored == int(zhang.sum()) == 45
    assert after.loc[zhang, "churn_risk"].notna().all()
    assert after.loc[~zhang, "churn_risk"].isna().all()
    assert not after.loc[~zhang, "tagged"].any()
    with pytest.raises(crmlib.AccessDenied):
        team.ana.churn.score(as_of=DAY)
    assert len(team.ana.churn.risks(as_of=DAY)) == 90
    assert len(team.admin.churn.risks(as_of=DAY, owner="li")) == 45


def test_too_little_history_and_bad_thresholds(team: Team) -> None:
    with pytest.raises(crmlib.ValidationError, match="churn_history"):
        team.admin.churn.train(as_of=DAY)
    plant(team.admin.engine)
    with pytest.raises(crmlib.ValidationError, match="churn_threshold"):
        team.admin.churn.score(as_of=DAY, threshold=1.5)
    assert stored(team.admin)["churn_risk"].isna().all()


@pytest.fixture
def demo(db_url: str, templates: Templates) -> Any:
    templates.fill(db_url, SMALL_DEMO)
    ws = crmlib.open(db_url, user="admin", lang="en")
    yield ws
    ws.close()


def reference_features(ws: Workspace, cutoff: date, horizon: int) -> pd.DataFrame:
    """Some of the features and the label in pandas, from the raw tables."""
    with ws.engine.connect() as conn:
        raw = {
            name: pd.read_sql(f"SELECT * FROM {name}", conn)
            for name in ("orders", "tickets", "interactions", "customers")
        }
    orders, customers = raw["orders"], raw["customers"].set_index("id")
    orders["day"] = pd.to_datetime(orders["ordered_at"]).dt.date
    orders["amount"] = orders["amount"].astype(float)
    before = orders[orders["day"] <= cutoff]
    half = clock.add_months(cutoff, -6)
    year = clock.add_months(cutoff, -12)
    g = before.groupby("customer_id").agg(
        frequency=("id", "size"), monetary=("amount", "sum"), last=("day", "max")
    )
    g["recency_days"] = [(cutoff - d).days for d in g["last"]]
    g["orders_6m"] = before[before["day"] > half].groupby("customer_id").size()
    prev = before[(before["day"] > year) & (before["day"] <= half)]
    g["spend_prev_6m"] = prev.groupby("customer_id")["amount"].sum()
    end = pd.Timestamp(cutoff + timedelta(days=1))
    since = pd.Timestamp(year + timedelta(days=1))
    tickets = raw["tickets"]
    opened = pd.to_datetime(tickets["opened_at"])
    window = tickets[(opened >= since) & (opened < end)]
    g["tickets_12m"] = window.groupby("customer_id").size()
    g["complaints_12m"] = window[window["type"] == "complaint"].groupby("customer_id").size()
    touches = raw["interactions"]
    at = pd.to_datetime(touches["occurred_at"])
    g["follow_ups_12m"] = touches[(at >= since) & (at < end)].groupby("customer_id").size()
    last_touch = touches[at < end].assign(at=at).groupby("customer_id")["at"].max()
    touch = last_touch.reindex(g.index).fillna(
        pd.to_datetime(customers["created_at"]).reindex(g.index)
    )
    g["days_since_contact"] = (pd.Timestamp(cutoff) - touch.dt.normalize()).dt.days
    later = orders[(orders["day"] > cutoff) & (orders["day"] <= cutoff + timedelta(days=horizon))]
    g["churned"] = (~g.index.isin(later["customer_id"])).astype(int)
    return g.fillna(0).sort_index()


def test_features_match_pandas(demo: Workspace) -> None:
    cutoff = date(2025, 6, 30)
    frame = demo.ctx.frame(features(demo.ctx, Filters(), cutoff, 180)).set_index("id")
    expected = reference_features(demo, cutoff, 180)
    assert list(frame.index) == list(expected.index) and len(frame) > 50
    for column in (
        "recency_days",
        "frequency",
        "orders_6m",
        "tickets_12m",
        "complaints_12m",
        "follow_ups_12m",
        "days_since_contact",
        "churned",
    ):
        assert list(frame[column].astype(int)) == list(expected[column].astype(int)), column
    for column in ("monetary", "spend_prev_6m"):
        assert np.allclose(frame[column].astype(float), expected[column]), column


def test_demo_data_trains_and_scores(demo: Workspace) -> None:
    result = demo.churn.score(as_of=DAY)
    # 300 demo customers leave a few dozen buyers to learn from: the AUC is computed, but
    # its size is the planted-signal test's business (README: 5,000 customers).
    assert result.model.auc is not None and 0 < result.model.auc < 1
    with demo.engine.connect() as conn:
        orders = pd.read_sql("SELECT customer_id, ordered_at FROM orders", conn)
    buyers = orders[pd.to_datetime(orders["ordered_at"]).dt.date <= DAY]["customer_id"].nunique()
    assert result.scored == buyers == stored(demo)["churn_risk"].notna().sum()


def test_crm_churn_commands(planted: tuple[Team, dict[str, list[int]]]) -> None:
    team, _ = planted
    base = ["--url", team.url, "--user", "admin", "--lang", "en", "churn"]
    trained = CliRunner().invoke(main, [*base, "train", "--as-of", "2025-12-31"])
    assert trained.exit_code == 0, trained.output
    assert "AUC 1.000" in trained.output and "complaints in the last 12 months" in trained.output
    scored = CliRunner().invoke(main, [*base, "score", "--as-of", "2025-12-31"])
    assert scored.exit_code == 0, scored.output
    assert "90 customers scored" in scored.output
    assert stored(team.admin)["churn_risk"].notna().sum() == 90
    refused = CliRunner().invoke(main, [*base, "train"])  # today: the planted data is too old
    assert refused.exit_code == 1 and refused.output.startswith("error:")
