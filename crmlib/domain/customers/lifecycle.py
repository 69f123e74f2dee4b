"""The nightly lifecycle refresh: grades, statuses and archive flags derived from orders and
follow-ups.

Each value is recomputed from the data as of one day, so a second run the same day finds
nothing to change, and a run that fails leaves the database as it was (one transaction).
The work is set-based: one query reads every customer in scope with its order figures,
pandas decides the new values, and only the customers whose values differ are written,
each change with its own audit event, so a million customers take seconds, not hours.

Rules (thresholds and day counts come from the ``grade_thresholds`` and ``lifecycle``
settings):

- grade: A when the trailing-12-month spend reaches the A threshold (500,000 CNY by
  default), B when it reaches the B threshold, else C;
- potential → active on the first order; lost → active when a lost customer orders again;
- active → lost after ``lost_after_days`` without an order;
- a customer with no order, no follow-up and no new record for ``archive_after_days`` is
  flagged for archiving (``archive_flagged_at``); activity clears the flag. Archiving itself
  stays a person's decision.

Archived and merged customers are left alone, and so is a grade or status a person set by
hand (``Customers.override``, ``crm customers grade``, the entry form, an import file: see
``customers.by_hand``) until it is cleared or its day has passed: the result counts what
the refresh would have changed there (``skipped``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, cast

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from ... import clock
from ...audit import text_of
from ...context import Context
from ...i18n import speaking
from ...missing import is_missing
from ...settings import get_setting
from ...store.models import Customer, Order
from ...team_audit import write_events

ACTION = "refresh"
#: The kinds of change a refresh makes, in the order the summary lists them.
CHANGES = ("grade", "activated", "reactivated", "lost", "flagged", "unflagged")
#: The fields a person may hold against the refresh (see ``Customers.override``).
HELD = ("grade", "status")


@dataclass
class RefreshResult:
    """What one refresh changed (or would change, on a dry run), per kind of change."""

    as_of: date
    customers: int
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHANGES, 0))
    changes: pd.DataFrame = field(default_factory=pd.DataFrame)
    dry_run: bool = False
    #: Per field, the customers whose value set by hand the refresh would have changed.
    skipped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(HELD, 0))

    @property
    def changed(self) -> int:
        return sum(self.counts.values())


def refresh(ctx: Context, *, as_of: date | None = None, dry_run: bool = False) -> RefreshResult:
    """Recompute grades, lifecycle statuses and archive flags of the customers in scope."""
    with speaking(ctx.lang):
        return _refresh(ctx, as_of or clock.today(), dry_run)


def _refresh(ctx: Context, day: date, dry_run: bool) -> RefreshResult:
    ctx.scope.require(ctx.actor.role.edit_customers, "refresh customers")
    with ctx.session(action=ACTION) as session:
        conn = session.connection()
        current = _read(conn, ctx, day)
        target = _decide(current, conn, day)
        all_changes = _differences(current, target)
        held = _held(current, all_changes, day)
        changes = all_changes[~held].reset_index(drop=True)
        if not dry_run:
            _write(conn, changes, ctx.actor.username)
        else:
            session.rollback()
    counts = dict.fromkeys(CHANGES, 0)
    for kind, n in changes["change"].value_counts().items():
        counts[str(kind)] = int(n)
    skipped = dict.fromkeys(HELD, 0)
    for name, n in all_changes.loc[held, "field"].value_counts().items():
        skipped[str(name)] = int(n)
    return RefreshResult(day, len(current), counts, changes, dry_run, skipped)


def _held(current: pd.DataFrame, changes: pd.DataFrame, day: date) -> pd.Series:
    """Which changes touch a value a person set by hand that still holds on ``day``."""
    held = pd.Series(False, index=changes.index)
    for name in HELD:
        until = pd.to_datetime(current[f"{name}_override_until"])
        holds = current[f"{name}_override_by"].notna() & (
            until.isna() | (until >= pd.Timestamp(day))
        )
        kept = set(current.loc[holds, "id"].tolist())
        held |= (changes["field"] == name) & changes["id"].isin(kept)
    return held


def _read(conn: Connection, ctx: Context, day: date) -> pd.DataFrame:
    """Every refreshable customer in scope with its spend, first and last order."""
    year_ago = clock.add_months(day, -12)
    orders = cast(Table, Order.__table__)
    figures = (
        select(
            orders.c.customer_id,
            func.sum(orders.c.amount).filter(orders.c.ordered_at >= year_ago).label("spend"),
            func.max(orders.c.ordered_at).label("last_order"),
        )
        .where(orders.c.ordered_at <= day)
        .group_by(orders.c.customer_id)
        .subquery()
    )
    customers = cast(Table, Customer.__table__)
    stmt = (
        select(
            customers.c.id,
            customers.c.code,
            customers.c.grade,
            customers.c.status,
            customers.c.archive_flagged_at,
            *(customers.c[f"{name}_override_{part}"] for name in HELD for part in ("by", "until")),
            customers.c.last_contact_at,
            customers.c.created_at,
            func.coalesce(figures.c.spend, 0).label("spend"),
            figures.c.last_order,
        )
        .outerjoin(figures, figures.c.customer_id == customers.c.id)
        .where(
            customers.c.status != "archived",
            customers.c.merged_into_id.is_(None),
            ctx.scope.customer_filter(),
        )
        .order_by(customers.c.id)
    )
    df = pd.read_sql(stmt, conn)
    df["spend"] = pd.to_numeric(df["spend"]).astype(float)
    for column in ("last_order", "last_contact_at", "created_at", "archive_flagged_at"):
        df[column] = pd.to_datetime(df[column])
    return df


def grades(spend: np.ndarray, thresholds: Mapping[str, Any]) -> np.ndarray:
    """The grade of each trailing-12-month ``spend`` under ``thresholds`` (the
    ``grade_thresholds`` setting)."""
    return np.select(
        [spend >= float(thresholds["A"]), spend >= float(thresholds["B"])], ["A", "B"], "C"
    )


def starting_values(conn: Connection | Session) -> dict[str, str]:
    """The grade and status the refresh gives a customer without orders: what a new
    customer has anyway, so a new customer given one of them needs nothing held."""
    grade = grades(np.zeros(1), get_setting(conn, "grade_thresholds"))[0]
    return {"grade": str(grade), "status": "potential"}


def _decide(current: pd.DataFrame, conn: Connection, day: date) -> pd.DataFrame:
    """The grade, status and archive flag each customer should have on ``day``."""
    thresholds = get_setting(conn, "grade_thresholds")
    rules = get_setting(conn, "lifecycle")
    moment = pd.Timestamp(day)
    grade = grades(current["spend"].to_numpy(), thresholds)
    last_order = current["last_order"]
    ordered = last_order.notna().to_numpy()
    lost_line = moment - timedelta(days=int(rules["lost_after_days"]))
    recent_order = (last_order >= lost_line).to_numpy()
    status = current["status"].to_numpy()
    new_status = np.select(
        [
            (status == "potential") & ordered,
            (status == "lost") & ordered & recent_order,
            (status == "active") & ordered & ~recent_order,
        ],
        ["active", "active", "lost"],
        status,
    )
    archive_line = moment - timedelta(days=int(rules["archive_after_days"]))
    latest = pd.concat([last_order, current["last_contact_at"], current["created_at"]], axis=1).max(
        axis=1
    )
    inactive = (latest.isna() | (latest < archive_line)).to_numpy()
    flagged = current["archive_flagged_at"].notna().to_numpy()
    return pd.DataFrame(
        {"grade": grade, "status": new_status, "inactive": inactive, "flagged": flagged},
        index=current.index,
    )


def _differences(current: pd.DataFrame, target: pd.DataFrame) -> pd.DataFrame:
    """One row per change: customer, kind of change, field, old and new value."""
    parts: list[pd.DataFrame] = []

    def add(mask: Any, change: str, field_name: str, old: Any, new: Any) -> None:
        rows = current.loc[mask, ["id", "code"]].copy()
        rows["change"] = change
        rows["field"] = field_name
        rows["old"] = np.asarray(old, dtype=object)[np.asarray(mask)]
        rows["new"] = np.asarray(new, dtype=object)[np.asarray(mask)]
        parts.append(rows)

    old_grade = current["grade"].to_numpy(dtype=object)
    add(old_grade != target["grade"].to_numpy(), "grade", "grade", old_grade, target["grade"])
    old_status, new_status = current["status"].to_numpy(), target["status"].to_numpy()
    moved = old_status != new_status
    for change, before, after in (
        ("activated", "potential", "active"),
        ("reactivated", "lost", "active"),
        ("lost", "active", "lost"),
    ):
        mask = moved & (old_status == before) & (new_status == after)
        add(mask, change, "status", old_status, new_status)
    n = len(current)
    now = clock.now()
    inactive, flagged = target["inactive"].to_numpy(), target["flagged"].to_numpy()
    flag_old = current["archive_flagged_at"].to_numpy(dtype=object)
    add(inactive & ~flagged, "flagged", "archive_flagged_at", [None] * n, [now] * n)
    add(~inactive & flagged, "unflagged", "archive_flagged_at", flag_old, [None] * n)
    if not parts:
        return pd.DataFrame(columns=["id", "code", "change", "field", "old", "new"])
    return pd.concat(parts, ignore_index=True)


def _write(conn: Connection, changes: pd.DataFrame, actor: str) -> None:
    """Apply the changes field by field, each with its audit event."""
    customers = cast(Table, Customer.__table__)
    now = clock.now()
    for field_name, rows in changes.groupby("field", sort=False):
        column = customers.c[str(field_name)]
        params = [
            {"customer": int(i), "value": _stored(v)}
            for i, v in zip(rows["id"], rows["new"], strict=True)
        ]
        conn.execute(
            update(customers)
            .where(customers.c.id == bindparam("customer"))
            .values({column.name: bindparam("value"), "updated_at": now}),
            params,
        )
    events = [
        {
            "occurred_at": now,
            "actor": actor,
            "action": ACTION,
            "entity": "customers",
            "entity_id": int(cast(int, row.id)),
            "ref": row.code,
            "field": row.field,
            "old_value": text_of(_stored(row.old)),
            "new_value": text_of(_stored(row.new)),
        }
        for row in changes.itertuples(index=False)
    ]
    write_events(conn, events)


def _stored(value: Any) -> Any:
    """A value as the database column takes it (pandas timestamps become datetimes)."""
    if is_missing(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value
