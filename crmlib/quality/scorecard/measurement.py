"""Measuring the scorecard: the checks counted by the database in as few passes as they
allow, the passes side by side on their own connections, and the scores that follow.

Every check counts the records it applies to (``total``) and those that pass, over the
customers the user may see (merged-away customers are gone). A check scores
``passed / total``; a dimension scores the mean of its checks, and the overall score is the
mean of the dimensions, so a dimension with many checks does not outweigh one with few. A
check with nothing to check (``total`` 0) has no score and counts for nothing.

One aggregate runs over the customers for every check on their own columns, one grouped
pass over the contacts for every check on them, one over each other table. Only phone
numbers need Python, and only those the phone rule's SQL form cannot vouch for (it does
for the plain mainland mobiles); examples of failing customers are looked up for failing
checks alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

import pandas as pd
from sqlalchemy import ColumnElement, Connection, Engine, Select, and_, func, select
from sqlalchemy.pool import SingletonThreadPool, StaticPool

from ... import clock
from ...access import Scope
from ...context import Context
from ...i18n import current_lang
from ...rules import email, phone
from ...rules.columns import apply_rule
from ...rules.records import PRIMARY, filled
from ...store.models import Contact, Customer
from ...transfer.kinds import CUSTOMERS
from . import history
from .checks import (
    CONTACT_CHECKS,
    DEFAULT_STALE_DAYS,
    DEFAULT_TARGET,
    DIMENSIONS,
    ON_PRIMARY,
    UNIQUENESS,
    About,
    Check,
    child_checks,
    completeness,
    dimension_label,
    freshness,
    of_visible,
    one_primary,
    order_checks,
    validity,
    visible,
)

#: Failing customer codes shown per check.
EXAMPLES = 5
#: Passes run side by side on this many connections at most.
WORKERS = 4
#: The columns of :attr:`Scorecard.checks`, one row per check.
COLUMNS = (
    "dimension",
    "check",
    "label",
    "field",
    "required",
    "passed",
    "total",
    "score",
    "target",
    "meets_target",
    "examples",
)

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class _Count:
    """A check's numbers: ``total`` rows checked, ``failed`` of them, and the first failing
    customers' codes."""

    about: About
    total: int
    failed: int
    examples: list[str] = field(default_factory=list)
    #: Where failing rows are found, when examples are still to be looked up.
    source: tuple[_Table, Check] | None = None


@dataclass(frozen=True)
class _Table:
    """A table the checks run over: ``rows`` to count, ``codes`` naming each row's customer
    (for examples) and ``key``, the order rows were created in."""

    rows: Select[Any]
    codes: Select[Any]
    key: Any


def _customers(scope: Scope) -> _Table:
    return _Table(
        select(func.count()).select_from(Customer).where(visible(scope)),
        select(Customer.code).where(visible(scope)),
        Customer.id,
    )


def _children(model: Any, scope: Scope) -> _Table:
    return _Table(
        select(func.count()).select_from(model).where(of_visible(model, scope)),
        select(Customer.code)
        .select_from(model)
        .join(Customer, Customer.id == model.customer_id)
        .where(visible(scope)),
        model.id,
    )


def _count(conn: Connection, table: _Table, checks: Sequence[Check]) -> tuple[int, list[_Count]]:
    """The table's size and all the checks' counts in one pass; checks over the same rows
    (the same ``applies``) share one count."""
    totals: dict[int, ColumnElement[Any]] = {}
    for check in checks:
        totals.setdefault(id(check.applies), func.count().filter(check.applies))
    slot = {key: n for n, key in enumerate(totals, start=1)}
    failed = [func.count().filter(and_(c.applies, c.fails)) for c in checks]
    row = conn.execute(table.rows.add_columns(*totals.values(), *failed)).one()
    return row[0], [
        _Count(check.about, row[slot[id(check.applies)]], row[len(slot) + n], [], (table, check))
        for n, check in enumerate(checks, start=1)
    ]


def _count_alone(conn: Connection, table: _Table, check: Check) -> _Count:
    """A check that looks into other tables: with ``applies`` in WHERE the database can
    join those tables once instead of probing them row by row."""
    total, failed = conn.execute(
        table.rows.add_columns(func.count().filter(check.fails)).where(check.applies)
    ).one()
    return _Count(check.about, total, failed, [], (table, check))


def _examples(conn: Connection, table: _Table, check: Check) -> list[str]:
    """The first failing customers in creation order, each once however many rows fail."""
    stmt = table.codes.where(check.applies, check.fails).order_by(table.key).limit(EXAMPLES * 5)
    return list(dict.fromkeys(conn.execute(stmt).scalars()))[:EXAMPLES]


def _contact_summary(conn: Connection, scope: Scope) -> dict[str, int]:
    """From one grouped pass over the contacts: how many customers have contacts, exactly
    one primary contact, and each customers-file field on a primary contact; and how many
    phones (of all and of primary contacts) and e-mails there are."""
    per_customer = (
        select(
            func.count().filter(PRIMARY).label("primaries"),
            *(
                func.count().filter(PRIMARY, filled(column)).label(name)
                for name, column in ON_PRIMARY.items()
            ),
            func.count().filter(filled(Contact.phone)).label("phones"),
            func.count().filter(filled(Contact.email)).label("emails"),
        )
        .where(of_visible(Contact, scope))
        .group_by(Contact.customer_id)
        .subquery()
    )
    c = per_customer.c
    numbers = {
        "with_contacts": func.count(),
        "one_primary": func.count().filter(c.primaries == 1),
        **{name: func.count().filter(c[name] > 0) for name in ON_PRIMARY},
        "phones": func.sum(c.phones),
        "primary_phones": func.sum(c.phone),
        "emails": func.sum(c.emails),
    }
    row = conn.execute(select(*(n.label(key) for key, n in numbers.items()))).one()
    return {key: int(value or 0) for key, value in row._mapping.items()}


def _failing(conn: Connection, rows: list[tuple[int, int]]) -> tuple[int, list[str]]:
    """How many of the (contact id, customer id) rows fail, and the first failing customers
    (in the order their contacts were created) by code."""
    first = list(dict.fromkeys(customer for _, customer in sorted(rows)))[:EXAMPLES]
    codes = {
        customer_id: code
        for customer_id, code in conn.execute(
            select(Customer.id, Customer.code).where(Customer.id.in_(first))
        )
    }
    return len(rows), [codes[c] for c in first]


def _phone_failures(conn: Connection, scope: Scope) -> dict[str, tuple[int, list[str]]]:
    """Invalid phones of all contacts and of primary ones: a phone is valid when it is what
    the phone rule stores for it. Only the phones its SQL form cannot vouch for are
    fetched, and the rule's whole-column form judges each distinct one once."""
    doubtful = select(Contact.id, Contact.customer_id, PRIMARY, Contact.phone).where(
        of_visible(Contact, scope), filled(Contact.phone), ~phone.sql(Contact.phone)
    )
    rows = conn.execute(doubtful).all()
    distinct = list(dict.fromkeys(number for *_, number in rows))
    stored, _ = apply_rule(phone, pd.Series(distinct, dtype=object))
    valid = {value for value, kept in zip(distinct, stored, strict=True) if value == kept}
    failing: dict[str, list[tuple[int, int]]] = {"phone": [], "phone_primary": []}
    for contact_id, customer_id, is_primary, number in rows:
        if number not in valid:
            failing["phone"].append((contact_id, customer_id))
            if is_primary:
                failing["phone_primary"].append((contact_id, customer_id))
    return {key: _failing(conn, found) for key, found in failing.items()}


def _email_failures(conn: Connection, scope: Scope) -> dict[str, tuple[int, list[str]]]:
    """E-mails that are not what the e-mail rule stores (its SQL form decides them all)."""
    rows = conn.execute(
        select(Contact.id, Contact.customer_id).where(
            of_visible(Contact, scope), filled(Contact.email), ~email.sql(Contact.email)
        )
    )
    return {"email": _failing(conn, [(contact_id, customer) for contact_id, customer in rows])}


# -- duplicates --------------------------------------------------------------------------


def _visible_codes(conn: Connection, scope: Scope, codes: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(codes), 500):
        chunk = codes[start : start + 500]
        found.update(
            conn.execute(
                select(Customer.code).where(visible(scope), Customer.code.in_(chunk))
            ).scalars()
        )
    return found


def _duplicates(ctx: Context, pairs: pd.DataFrame | None) -> tuple[int, list[str]]:
    """Customers that are extra copies of another, and the first of them: every member of a
    duplicate cluster but its first (oldest code)."""
    from ..duplicates import clusters, scan  # fuzzy matching is heavy to import: only here

    if pairs is None:
        pairs = scan(ctx)
    codes = sorted(set(pairs["code_a"]) | set(pairs["code_b"]))
    with ctx.reading() as conn:
        visible = _visible_codes(conn, ctx.scope, codes)
    kept = pairs[pairs["code_a"].isin(visible) & pairs["code_b"].isin(visible)]
    members = clusters(kept)
    copies = members.loc[members["cluster"].duplicated(), "code"]
    return len(copies), list(copies[:EXAMPLES])


@dataclass
class Scorecard:
    """One measurement: ``checks`` (one row per check), ``dimensions`` (their means) and
    ``overall`` (the mean of the dimensions; NaN when there was nothing to measure)."""

    overall: float
    checks: pd.DataFrame
    dimensions: pd.DataFrame
    as_of: datetime
    target: float
    lang: str
    run_id: int | None = None

    def trend(self, ctx: Context) -> pd.DataFrame:
        """The runs kept so far over the same customers (see :func:`.history.trend`)."""
        return history.trend(ctx)


def scorecard(
    ctx: Context,
    *,
    as_of: datetime | None = None,
    stale_days: int = DEFAULT_STALE_DAYS,
    target: float = DEFAULT_TARGET,
    save: bool = True,
    duplicate_pairs: pd.DataFrame | None = None,
) -> Scorecard:
    """Measure the quality of the customers ``ctx`` may see; with ``save`` keep it in the trend.

    ``as_of`` (default now) dates freshness and future dates. ``duplicate_pairs`` (columns
    ``code_a``, ``code_b``) saves the duplicate scan when it has just been run.
    """
    moment = as_of or clock.now()
    lang = current_lang(ctx.lang)
    counts = _measure(ctx, moment, stale_days, duplicate_pairs)
    checks = _frame(counts, target, lang)
    dimensions = _dimensions(checks, target, lang)
    scored = dimensions["score"].dropna()
    overall = float(scored.mean()) if len(scored) else math.nan
    card = Scorecard(overall, checks, dimensions, moment, target, lang)
    if save and not math.isnan(card.overall):
        card.run_id = history.save(
            ctx,
            overall=overall,
            as_of=moment,
            target=target,
            stale_days=stale_days,
            dimensions=dimensions,
            checks=checks,
        )
    return card


class _InTurn(Executor):
    """Runs each piece of work at once, in the calling thread."""

    def submit(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> Future[R]:
        future: Future[R] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


def _executor(engine: Engine) -> Executor:
    """Threads, each reading on its own connection; but an in-memory SQLite database is one
    connection (or one per thread, each empty), so there the passes take turns."""
    if isinstance(engine.pool, SingletonThreadPool | StaticPool):
        return _InTurn()
    return ThreadPoolExecutor(WORKERS)


def _measure(
    ctx: Context, moment: datetime, stale_days: int, duplicate_pairs: pd.DataFrame | None
) -> list[_Count]:
    """Every check's counts. Each table is read in as few passes as its checks allow, and the
    passes run side by side, each on its own connection."""
    scope = ctx.scope
    customers = _customers(scope)
    own = [*completeness(), *validity(moment), freshness(moment, stale_days)]
    # Fields on the primary contact are counted in the contacts' pass; their SQL, which
    # looks a customer's contacts up one by one, only finds the examples.
    on_primary = [c for c in own if c.about.field in ON_PRIMARY]

    def reading(work: Callable[..., R], *args: Any) -> R:
        with ctx.reading() as conn:
            return work(conn, *args)

    with _executor(ctx.engine) as pool:
        own_counts = pool.submit(
            reading, _count, customers, [c for c in own if c not in on_primary]
        )
        summary = pool.submit(reading, _contact_summary, scope)
        phones = pool.submit(reading, _phone_failures, scope)
        emails = pool.submit(reading, _email_failures, scope)
        orders = [pool.submit(reading, _count_alone, customers, c) for c in order_checks()]
        children = [
            pool.submit(reading, _count, _children(model, scope), checks)
            for model, checks in child_checks()
        ]
        duplicates = pool.submit(_duplicates, ctx, duplicate_pairs)

        size, counts = own_counts.result()
        numbers = summary.result()
        counts += [
            _Count(c.about, size, size - numbers[str(c.about.field)], [], (customers, c))
            for c in on_primary
        ]
        one = one_primary()
        with_contacts = numbers["with_contacts"]
        counts.append(
            _Count(
                one.about,
                with_contacts,
                with_contacts - numbers["one_primary"],
                [],
                (customers, one),
            )
        )
        counts += [future.result() for future in orders]
        counts += [count for future in children for count in future.result()[1]]
        looked_up = [
            (count, pool.submit(reading, _examples, count.source[0], count.source[1]))
            for count in counts
            if count.failed and count.source is not None
        ]
        for count, examples in looked_up:
            count.examples = examples.result()
        failures = phones.result() | emails.result()
        for key, (about, total) in CONTACT_CHECKS.items():
            failed, first = failures[key]
            counts.append(_Count(about, numbers[total], failed, first))
        copies, first = duplicates.result()
        counts.append(_Count(UNIQUENESS, size, copies, first))
    return counts


def _frame(counts: list[_Count], target: float, lang: str) -> pd.DataFrame:
    """One row per check, by dimension; completeness follows the customers file's columns."""

    def position(count: _Count) -> tuple[int, int]:
        about = count.about
        column = CUSTOMERS.names.index(str(about.field)) if about.dimension == "completeness" else 0
        return DIMENSIONS.index(about.dimension), column

    rows = []
    for count in sorted(counts, key=position):
        about, passed = count.about, count.total - count.failed
        score = passed / count.total if count.total else math.nan
        rows.append(
            {
                "dimension": about.dimension,
                "check": about.id,
                "label": about.label(lang),
                "field": about.field,
                "required": about.required,
                "passed": passed,
                "total": count.total,
                "score": score,
                "target": target,
                "meets_target": None if math.isnan(score) else score >= target,
                "examples": count.examples,
            }
        )
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return frame.astype(
        {
            "passed": "Int64",
            "total": "Int64",
            "score": float,
            "target": float,
            "meets_target": "boolean",
        }
    )


def _dimensions(checks: pd.DataFrame, target: float, lang: str) -> pd.DataFrame:
    rows = []
    for dimension in DIMENSIONS:
        scores = checks.loc[checks["dimension"] == dimension, "score"].dropna()
        score = float(scores.mean()) if len(scores) else math.nan
        rows.append(
            {
                "dimension": dimension,
                "label": dimension_label(dimension, lang),
                "checks": len(scores),
                "score": score,
                "target": target,
                "meets_target": None if math.isnan(score) else score >= target,
            }
        )
    return pd.DataFrame(rows).astype({"meets_target": "boolean"})
