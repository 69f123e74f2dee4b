"""Demo data: a realistic Chinese B2B customer base with two years of history, fast.

:func:`generate` fills a database with staff, customers and everything around them
(contacts, leads, deals and their stages, follow-ups, orders, campaigns, tickets, feedback)
plus the data-quality noise that the quality features exist to find. The same
(customers, seed, start) always gives the same data: nothing depends on the clock.

Customers are made in chunks in creation order (see :mod:`.batches`); each chunk's rows
are generated column-wise with numpy and bulk-inserted (see :mod:`.writer`), so memory
stays bounded, and a large SQLite load shares the work with a helper process (see
:mod:`.helper`). The whole load is one transaction: it lands completely or not at all.
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from datetime import date, datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, exists, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .. import clock
from ..audit import record
from ..errors import Conflict
from ..i18n import t
from ..progress import ProgressBar
from ..settings import get_setting
from ..store.codes import CUSTOMER_PREFIX, assign_missing
from ..store.migrate import current_revision, upgrade
from ..store.models import Campaign, CodeSequence, Customer, Lead, Setting, User
from .batches import CHUNK_TABLES, ID_TABLES, Recipe, batches
from .customers import duplicate_pairs, plan_customers
from .helper import TABLES as HELPER_TABLES
from .helper import Helper, can_help
from .leads import assignment_policy
from .timeline import Timeline
from .vectors import Array, Rows
from .writer import Writer, bulk_connection, first_ids

ACTOR = "system"
#: Tables whose rows are written without codes and numbered after the load, in id order
#: within each day (:func:`crmlib.store.codes.assign_missing`).
RECORD_CODED = ("leads", "opportunities", "tickets")


def generate(
    engine: Engine,
    *,
    customers: int = 5000,
    seed: int = 42,
    start: date | None = None,
    progress: bool = False,
) -> dict[str, int]:
    """Fill the CRM at ``engine`` with ``customers`` customers and their history over the
    24 months from ``start`` (default 2024-01-01); returns the rows written per table.

    The database must have no customers, leads or campaigns yet (users may exist and are
    kept). A missing schema is created. Raises :class:`~crmlib.errors.Conflict` otherwise.
    """
    if customers < 1:
        raise ValueError("customers must be at least 1")
    if current_revision(engine) is None:
        upgrade(engine)
    with (
        bulk_connection(engine) as bulk,
        ProgressBar(
            total=customers, unit=" customers", desc="demo data", disable=not progress
        ) as bar,
        ExitStack() as stack,
    ):
        conn = bulk.connection
        _require_empty(conn)
        recipe = _recipe(conn, customers, seed, start)
        assistant = stack.enter_context(Helper(conn, recipe)) if can_help(conn, recipe) else None
        writer = Writer(conn, ("campaigns", "kb_articles", *CHUNK_TABLES))
        sequences: Rows = {}
        for batch in batches(recipe):
            for table, rows in batch.tables.items():
                if table == "code_sequences":
                    sequences = rows
                elif assistant is not None and table in HELPER_TABLES:
                    writer.count(table, rows)
                else:
                    writer.write(table, rows)
            bar.update(batch.customers)
        bar.set_postfix_str("indexing")
        writer.finish()
        if assistant is not None:
            bar.set_postfix_str("merging")
            assistant.merge(bulk, writer.counts)
        _advance_codes(conn, sequences)
        for table in RECORD_CODED:
            assign_missing(conn, table)
        days = conn.execute(select(func.count()).select_from(CodeSequence)).scalar_one()
        counts = {**writer.counts, "code_sequences": days}
        _route_leads(conn)
        record(
            conn,
            actor=ACTOR,
            action="demo",
            entity="database",
            new_value=json.dumps(counts, sort_keys=True),
        )
    return counts


def injected_duplicates(
    customers: int = 5000, seed: int = 42, start: date | None = None
) -> list[tuple[str, str]]:
    """The (original code, duplicate code) pairs ``generate`` injects for these arguments.

    Recomputed from the arguments alone, so tests and benchmarks of duplicate detection can
    score themselves without the truth being stored where the detection could see it. The
    codes are those of a database that had no customer codes on the demo's days before.
    """
    timeline = Timeline.of(start)
    return duplicate_pairs(plan_customers(customers, seed, timeline), timeline)


def _require_empty(conn: Connection) -> None:
    for model in (Customer, Lead, Campaign):
        if conn.execute(select(exists().select_from(model))).scalar():
            raise Conflict(t("demo:not_empty", table=model.__tablename__))


def _recipe(conn: Connection, customers: int, seed: int, start: date | None) -> Recipe:
    """Everything the data depends on, from the arguments and the database's state."""
    with Session(bind=conn) as session:
        thresholds = get_setting(session, "grade_thresholds")
        probability = get_setting(session, "stage_probability")
    return Recipe(
        customers=customers,
        seed=seed,
        start=start,
        first_ids=first_ids(conn, ID_TABLES),
        taken=frozenset(conn.execute(select(User.username)).scalars()),
        issued=_issued_codes(conn, Timeline.of(start)),
        thresholds=thresholds,
        probability=probability,
    )


def _issued_codes(conn: Connection, timeline: Timeline) -> Array:
    """Per day of the span: the customer-code numbers already issued (code_sequences)."""
    issued = np.zeros(timeline.days, dtype=np.int64)
    for key, last in conn.execute(select(CodeSequence.prefix, CodeSequence.last_value)):
        day = _day_of_key(key)
        if day is not None and timeline.start <= day < timeline.end:
            issued[(day - timeline.start).days] = last
    return issued


def _day_of_key(key: str) -> date | None:
    digits = key.removeprefix(CUSTOMER_PREFIX)
    if key == digits or len(digits) != 8 or not digits.isdigit():
        return None
    try:
        return datetime.strptime(digits, "%Y%m%d").date()
    except ValueError:
        return None


def _route_leads(conn: Connection) -> None:
    """Store lead-assignment rules for the demo's teams (unless some are set already), so
    ``crm leads assign`` hands out the demo's unassigned leads."""
    if conn.execute(select(Setting.key).where(Setting.key == "lead_assignment")).first():
        return
    reps = dict(
        conn.execute(
            select(User.team, func.count()).where(User.role == "sales").group_by(User.team)
        ).all()
    )
    conn.execute(
        insert(Setting).values(
            key="lead_assignment",
            value=json.dumps(assignment_policy(reps), ensure_ascii=False),
            updated_at=clock.now(),
        )
    )


def _advance_codes(conn: Connection, sequences: Rows) -> None:
    """Set the sequence of each day with demo customers to the last number used, so that
    customers added later that day get the next one."""
    values: list[dict[str, Any]] = [
        {"prefix": prefix, "last_value": int(last)}
        for prefix, last in zip(
            sequences["prefix"].tolist(), sequences["last_value"].tolist(), strict=True
        )
    ]
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(CodeSequence)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[CodeSequence.prefix], set_={"last_value": stmt.excluded.last_value}
        ),
        values,
    )
