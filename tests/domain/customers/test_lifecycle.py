"""The nightly lifecycle refresh: grades, potential → active → lost, archive flags."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

import crmlib
from crmlib import clock
from crmlib.errors import AccessDenied
from crmlib.settings import set_setting
from crmlib.workspace import Workspace
from tests.commands import crm
from tests.factories import Team, company

TODAY = clock.today()


def customer(ws: Workspace, **overrides: object) -> str:
    return ws.customers.add(**company(**overrides)).code


def order(ws: Workspace, code: str, amount: int, on: date) -> None:
    ws.orders.add(code, ordered_at=on, amount=amount)


def test_grades_follow_trailing_twelve_month_spend(team: Team) -> None:
    ws = team.zhang
    big, mid, small, old = (customer(ws, grade="C") for _ in range(4))
    order(ws, big, 300_000, TODAY - timedelta(days=30))
    order(ws, big, 250_000, TODAY - timedelta(days=300))
    order(ws, mid, 120_000, TODAY)
    order(ws, small, 99_999, TODAY)
    order(ws, old, 900_000, clock.add_months(TODAY, -12) - timedelta(days=1))

    result = ws.refresh()

    grades = {code: ws.customers.get(code).grade for code in (big, mid, small, old)}
    assert grades == {big: "A", mid: "B", small: "C", old: "C"}
    assert result.counts["grade"] == 2  # big and mid; small and old stay C


def test_grade_thresholds_are_configurable(team: Team) -> None:
    code = customer(team.zhang)
    order(team.zhang, code, 60_000, TODAY)
    team.zhang.refresh()
    assert team.zhang.customers.get(code).grade == "C"
    with team.admin.ctx.session() as session:
        set_setting(session, "grade_thresholds", {"A": 50_000, "B": 10_000})
    team.zhang.refresh()
    assert team.zhang.customers.get(code).grade == "A"


def test_statuses_move_with_orders(team: Team) -> None:
    ws = team.zhang
    buyer, quiet = customer(ws), customer(ws)
    assert ws.customers.get(buyer).status == "potential"
    order(ws, buyer, 5_000, TODAY)

    first = ws.refresh()
    assert ws.customers.get(buyer).status == "active"
    assert ws.customers.get(quiet).status == "potential"
    assert first.counts["activated"] == 1

    # A year and a day later without another order, the buyer is lost ...
    later = TODAY + timedelta(days=366)
    lost = ws.refresh(as_of=later)
    assert ws.customers.get(buyer).status == "lost"
    assert lost.counts["lost"] == 1
    assert ws.customers.get(quiet).status == "potential"  # never bought: not "lost"

    # ... and won back by a new order.
    order(ws, buyer, 8_000, later)
    back = ws.refresh(as_of=later)
    assert ws.customers.get(buyer).status == "active"
    assert back.counts["reactivated"] == 1


def test_lost_after_days_is_configurable(team: Team) -> None:
    code = customer(team.zhang)
    order(team.zhang, code, 5_000, TODAY)
    with team.admin.ctx.session() as session:
        set_setting(session, "lifecycle", {"lost_after_days": 30, "archive_after_days": 730})
    team.zhang.refresh(as_of=TODAY + timedelta(days=30))
    assert team.zhang.customers.get(code).status == "active"
    team.zhang.refresh(as_of=TODAY + timedelta(days=31))
    assert team.zhang.customers.get(code).status == "lost"


def test_long_inactive_customers_are_flagged_and_activity_clears_the_flag(team: Team) -> None:
    ws = team.zhang
    code = customer(ws)
    ws.refresh(as_of=TODAY + timedelta(days=730))
    assert ws.customers.get(code).archive_flagged_at is None

    later = TODAY + timedelta(days=731)
    assert ws.refresh(as_of=later).counts["flagged"] == 1
    flagged = ws.customers.get(code)
    assert flagged.archive_flagged_at is not None
    assert flagged.status == "potential"  # flagged, not archived: a person decides

    ws.interactions.add(
        code,
        channel="phone",
        occurred_at=f"{later - timedelta(days=1)} 10:00",
        summary="回访，客户计划明年扩产",
        customer_need="扩产所需的自动化设备",
        next_step="下月发送方案",
    )
    assert ws.refresh(as_of=later).counts["unflagged"] == 1
    assert ws.customers.get(code).archive_flagged_at is None


def test_second_run_changes_nothing_and_every_change_is_audited(team: Team) -> None:
    ws = team.zhang
    code = customer(ws, grade="C")
    order(ws, code, 600_000, TODAY)

    first = ws.refresh()
    assert first.counts["grade"] == 1 and first.counts["activated"] == 1
    again = ws.refresh()
    assert again.changed == 0

    events = ws.history(code)
    refreshed = events[events["action"] == "refresh"]
    assert sorted(
        zip(refreshed["field"], refreshed["old_value"], refreshed["new_value"], strict=True)
    ) == [
        ("grade", "C", "A"),
        ("status", "potential", "active"),
    ]
    assert set(refreshed["actor"]) == {"zhang"}


def test_dry_run_reports_without_saving(team: Team) -> None:
    code = customer(team.zhang)
    order(team.zhang, code, 5_000, TODAY)
    preview = team.zhang.refresh(dry_run=True)
    assert preview.counts["activated"] == 1
    assert set(preview.changes["code"]) == {code}
    assert team.zhang.customers.get(code).status == "potential"
    assert team.zhang.refresh().counts["activated"] == 1


def test_refresh_stays_in_scope_and_needs_edit_rights(team: Team) -> None:
    mine, theirs = customer(team.zhang), customer(team.zhao)
    for ws, code in ((team.zhang, mine), (team.zhao, theirs)):
        order(ws, code, 5_000, TODAY)
    assert team.zhang.refresh().counts["activated"] == 1
    assert team.zhao.customers.get(theirs).status == "potential"
    with pytest.raises(AccessDenied, match="refresh customers"):
        team.ana.refresh()


def test_archived_customers_are_left_alone(team: Team) -> None:
    code = customer(team.zhang)
    order(team.zhang, code, 600_000, TODAY)
    team.zhang.customers.archive(code)
    assert team.zhang.refresh().changed == 0
    assert team.zhang.customers.get(code).status == "archived"


def test_crm_refresh_command_reports_and_is_safe_to_repeat(db_url: str) -> None:
    with crmlib.open(db_url, user="admin") as ws:
        code = ws.customers.add(**company()).code
        ws.orders.add(code, ordered_at=TODAY, amount=600_000)
    preview = crm("refresh", "--dry-run", url=db_url)
    assert preview.returncode == 0, preview.stderr
    assert "1 customers checked, 2 changes (dry run, nothing saved)" in preview.stdout
    assert "potential → active: 1" in preview.stdout
    first = crm("refresh", url=db_url)
    assert "grades changed: 1" in first.stdout and "(dry run" not in first.stdout
    again = crm("refresh", url=db_url)
    assert "0 changes" in again.stdout
    refused = crm("refresh", "--as-of", "2024-13-01", url=db_url)
    assert refused.returncode == 2 and "2024-13-01" in refused.stderr


def test_the_demo_ends_with_a_lifecycle_refresh(sqlite_url: str) -> None:
    from crmlib.admin import build_demo
    from crmlib.demo import period
    from crmlib.store import make_engine

    start = date(2024, 1, 1)
    engine = make_engine(sqlite_url)
    build_demo(engine, customers=300, seed=7, fresh=True, start=start)
    engine.dispose()
    with crmlib.open(sqlite_url, user="admin") as ws:
        assert ws.refresh(as_of=period(start)[1]).changed == 0
        lost = ws.customers.frame(status="lost")
        events = pd.concat([ws.history(code) for code in lost["code"]])
    moved = events[(events["action"] == "refresh") & (events["field"] == "status")]
    assert set(zip(moved["old_value"], moved["new_value"], strict=True)) == {("active", "lost")}
