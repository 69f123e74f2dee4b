"""The data-quality scorecard: how complete, valid, unique, fresh and consistent the
customer base is, measured against the handbook's target and kept as a trend.

Every check counts the records it applies to (``total``) and those that pass, over the
customers the user may see (merged-away customers are gone). A check scores
``passed / total``; a dimension scores the mean of its checks, and the overall score is the
mean of the dimensions, so a dimension with many checks does not outweigh one with few. A
check with nothing to check (``total`` 0) has no score and counts for nothing.

The counting is done by the database, in as few passes as the checks allow: one aggregate
over the customers for every check on their own columns, one grouped pass over the contacts
for every check on them, one over each other table. The passes run side by side. Only
phone numbers need Python (``phonenumbers``), and only those that are not plainly valid
Chinese mobiles; examples of failing customers are looked up for failing checks alone.
"""

from __future__ import annotations

import functools
import json
import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, NamedTuple, ParamSpec, TypeVar

import pandas as pd
import phonenumbers
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    and_,
    func,
    insert,
    or_,
    select,
    true,
)
from sqlalchemy.pool import SingletonThreadPool, StaticPool

from .. import clock
from ..access import Scope
from ..domain.context import Context
from ..i18n import current_lang
from ..missing import is_missing, or_none
from ..reference.enums import CUSTOMER_KIND, CUSTOMER_STATUS, GRADE, SIZE, SOURCE, Enumeration
from ..reference.industries import DIVISIONS, SECTIONS
from ..reference.regions import PROVINCES
from ..rules.fields import EMAIL
from ..store.engine import WRITE_INTENT
from ..store.models import (
    Contact,
    Customer,
    ImportBatch,
    ImportWarning,
    Opportunity,
    Order,
    QualityRun,
    Ticket,
)
from .kinds import CUSTOMERS

DIMENSIONS = ("completeness", "validity", "uniqueness", "freshness", "consistency")
#: The handbook's target: 95 % of the records pass each check.
DEFAULT_TARGET = 0.95
#: A customer not contacted for this many days is stale.
DEFAULT_STALE_DAYS = 90
#: Failing customer codes shown per check.
EXAMPLES = 5
#: Passes run side by side on this many connections at most.
WORKERS = 4
#: Dates before this are typing errors, not history.
EARLIEST_DATE = date(1900, 1, 1)
#: Customers-file columns not measured for completeness: codes are always set, only
#: records from other systems carry an external ID, and tags are optional labels.
NOT_MEASURED = frozenset({"code", "external_id", "tags"})

DIMENSION_LABELS = {
    "completeness": ("完整性", "Completeness"),
    "validity": ("有效性", "Validity"),
    "uniqueness": ("唯一性", "Uniqueness"),
    "freshness": ("时效性", "Freshness"),
    "consistency": ("一致性", "Consistency"),
}
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
TREND_COLUMNS = ("run_id", "run_at", "actor", "overall", *DIMENSIONS)
HEADERS = {
    "dimension": ("维度", "Dimension"),
    "check": ("检查项", "Check"),
    "label": ("说明", "Description"),
    "field": ("字段", "Field"),
    "required": ("必填", "Required"),
    "passed": ("通过", "Passed"),
    "total": ("总数", "Total"),
    "score": ("得分", "Score"),
    "target": ("目标", "Target"),
    "meets_target": ("达标", "Meets target"),
    "examples": ("问题客户示例", "Failing customers (examples)"),
    "checks": ("检查项数", "Checks"),
    "overall": ("总分", "Overall"),
    "run_id": ("编号", "Run"),
    "run_at": ("时间", "Run at"),
    "actor": ("用户", "User"),
    "code": ("客户编号", "Customer code"),
}
SHEETS = {
    "summary": ("汇总", "Summary"),
    "checks": ("检查项", "Checks"),
    "trend": ("趋势", "Trend"),
    "examples": ("问题示例", "Examples"),
}
TEXT = {
    "title": ("数据质量评分卡", "Data-quality scorecard"),
    "as_of": ("截至", "as of"),
    "target": ("目标", "target"),
    "overall": ("总分", "Overall"),
    "info": ("仅供参考", "for information"),
    "no_data": ("无数据", "no data"),
}


P = ParamSpec("P")
R = TypeVar("R")


def _say(pair: tuple[str, str], lang: str) -> str:
    return pair[0] if lang == "zh" else pair[1]


@dataclass(frozen=True)
class _About:
    """What a check measures, and its name in both languages."""

    id: str
    dimension: str
    zh: str
    en: str
    field: str | None = None
    required: bool = False


@dataclass(frozen=True, eq=False)
class _Check:
    """A check in SQL: ``fails`` is tested on the rows ``applies`` to.

    Both must be true or false, never NULL, on every row they are tested on.
    """

    about: _About
    applies: ColumnElement[bool]
    fails: ColumnElement[bool]


@dataclass
class _Count:
    """A check's numbers: ``total`` rows checked, ``failed`` of them, and the first failing
    customers' codes."""

    about: _About
    total: int
    failed: int | None  # None: counted for information, not scored
    examples: list[str] = field(default_factory=list)
    #: Where failing rows are found, when examples are still to be looked up.
    source: tuple[_Table, _Check] | None = None


# -- the checks as SQL ------------------------------------------------------------------


def _blank(column: Any) -> ColumnElement[bool]:
    """NULL or empty. Values that came through the rules are trimmed and never empty, so
    whitespace is not looked for: trimming every value would cost more than all else."""
    if column.type.python_type is str:
        return or_(column.is_(None), column == "")
    return column.is_(None)


def _filled(column: Any) -> ColumnElement[bool]:
    return and_(column.is_not(None), column != "")


def _visible(scope: Scope) -> ColumnElement[bool]:
    """The customers the user may see; merged-away customers are gone."""
    return and_(scope.customer_filter(), Customer.merged_into_id.is_(None))


def _of_visible(model: Any, scope: Scope) -> ColumnElement[bool]:
    """Rows of a child table under visible customers. When everyone's customers are
    visible, so is every row: merging moves all of a customer's rows to the survivor."""
    if scope.owner_ids() is None:
        return true()
    return model.customer_id.in_(select(Customer.id).where(_visible(scope)))


def _has(model: Any, *criteria: ColumnElement[bool]) -> ColumnElement[bool]:
    """The customer has a row in ``model`` matching ``criteria``."""
    return select(model.id).where(model.customer_id == Customer.id, *criteria).exists()


PRIMARY = Contact.is_primary.is_(True)
#: Customers-file fields kept on the customer's primary contact.
ON_PRIMARY = {
    "contact": Contact.name,
    "title": Contact.title,
    "phone": Contact.phone,
    "email": Contact.email,
}


def _completeness() -> list[_Check]:
    """Every customers-file column that is stored, on the customers it applies to."""
    everyone: ColumnElement[bool] = true()
    companies = Customer.kind == "company"
    persons = Customer.kind == "person"
    stored: dict[str, tuple[ColumnElement[bool], ColumnElement[bool]]] = {
        "name": (everyone, _blank(Customer.name)),
        "kind": (everyone, _blank(Customer.kind)),
        "industry": (companies, _blank(Customer.industry_section)),
        "size": (companies, _blank(Customer.size)),
        "province": (everyone, _blank(Customer.province)),
        "city": (everyone, _blank(Customer.city)),
        "postcode": (everyone, _blank(Customer.postcode)),
        "address": (everyone, _blank(Customer.address)),
        "grade": (everyone, _blank(Customer.grade)),
        "status": (everyone, _blank(Customer.status)),
        "source": (everyone, _blank(Customer.source)),
        "owner": (everyone, _blank(Customer.owner_id)),
        **{
            name: (everyone, ~_has(Contact, PRIMARY, _filled(column)))
            for name, column in ON_PRIMARY.items()
        },
        "birthday": (persons, _blank(Customer.birthday)),
        "consent_purpose": (persons, _blank(Customer.consent_purpose)),
        "consent_at": (persons, _blank(Customer.consent_at)),
    }
    whom = {id(companies): ("企业", "companies"), id(persons): ("个人", "persons")}
    checks = []
    for column in CUSTOMERS.columns:
        if column.name in NOT_MEASURED:
            continue
        applies, fails = stored[column.name]
        required = column.name in CUSTOMERS.required
        zh_whom, en_whom = whom.get(id(applies), ("", ""))
        zh_notes = "，".join(n for n in (zh_whom, "必填" if required else "") if n)
        en_notes = ", ".join(n for n in (en_whom, "required" if required else "") if n)
        about = _About(
            f"completeness.{column.name}",
            "completeness",
            f"{column.zh}已填写" + (f"（{zh_notes}）" if zh_notes else ""),
            f"{column.en} filled in" + (f" ({en_notes})" if en_notes else ""),
            column.name,
            required,
        )
        checks.append(_Check(about, applies, fails))
    return checks


class CompletenessCheck(NamedTuple):
    """One completeness check over ``customers``. ``on_primary`` is the contact column for
    the fields kept on the primary contact (``fails`` then tests it with a subquery per
    customer; a caller counting many customers can join the contacts once instead)."""

    field: str
    applies: ColumnElement[bool]
    fails: ColumnElement[bool]
    on_primary: Any = None


def completeness_checks() -> list[CompletenessCheck]:
    """The completeness checks: one rule for this scorecard and the ``completeness`` KPI
    (:mod:`crmlib.analytics.kpi.data`)."""
    return [
        CompletenessCheck(
            str(c.about.field), c.applies, c.fails, ON_PRIMARY.get(str(c.about.field))
        )
        for c in _completeness()
    ]


def _validity(as_of: datetime) -> list[_Check]:
    def enum(name: str, column: Any, enumeration: Enumeration) -> _Check:
        header = CUSTOMERS.column(name)
        about = _About(
            f"validity.{name}",
            "validity",
            f"{header.zh}为可选值之一",
            f"{header.en} is one of its codes",
            name,
        )
        # A few comparisons cost SQLite less than a lookup in an IN list.
        return _Check(about, _filled(column), and_(*(column != code for code in enumeration.codes)))

    def moment(name: str, column: Any, earliest: date, latest: date) -> _Check:
        header = CUSTOMERS.column(name)
        about = _About(
            f"validity.{name}",
            "validity",
            f"{header.zh}在 1900 年以后且不晚于当日",
            f"{header.en} from 1900 on and not in the future",
            name,
        )
        return _Check(about, column.is_not(None), or_(column < earliest, column > latest))

    section = func.coalesce(Customer.industry_section, "")
    division = Customer.industry_division
    divisions = sorted(d.section + d.code for d in DIVISIONS.values())
    place = func.coalesce(Customer.province, "") + "|" + func.coalesce(Customer.region, "")
    industry = _About(
        "validity.industry",
        "validity",
        "行业为 GB/T 4754-2017 的门类或大类",
        "Industry is a GB/T 4754-2017 section or division",
        "industry",
    )
    province = _About(
        "validity.province",
        "validity",
        "省份为中国的省级行政区",
        "Province is a province of China",
        "province",
    )
    region = _About(
        "validity.region", "validity", "大区与省份相符", "Region matches the province", "region"
    )
    return [
        enum("kind", Customer.kind, CUSTOMER_KIND),
        enum("size", Customer.size, SIZE),
        enum("grade", Customer.grade, GRADE),
        enum("status", Customer.status, CUSTOMER_STATUS),
        enum("source", Customer.source, SOURCE),
        moment("birthday", Customer.birthday, EARLIEST_DATE, as_of.date()),
        moment("consent_at", Customer.consent_at, datetime.combine(EARLIEST_DATE, time()), as_of),
        _Check(
            industry,
            or_(Customer.industry_section.is_not(None), division.is_not(None)),
            or_(
                section.not_in(sorted(SECTIONS)),
                and_(division.is_not(None), (section + division).not_in(divisions)),
            ),
        ),
        _Check(
            province,
            Customer.province.is_not(None),
            Customer.province.not_in([p.name for p in PROVINCES]),
        ),
        _Check(
            region,
            or_(Customer.province.is_not(None), Customer.region.is_not(None)),
            place.not_in(sorted(f"{p.name}|{p.region}" for p in PROVINCES)),
        ),
    ]


def _freshness(as_of: datetime, stale_days: int) -> _Check:
    about = _About(
        "freshness.last_contact",
        "freshness",
        f"近 {stale_days} 天内联系过（不含已归档）",
        f"Contacted in the last {stale_days} days (archived excepted)",
        "last_contact_at",
    )
    cutoff = as_of - timedelta(days=stale_days)
    return _Check(
        about,
        or_(Customer.status.is_(None), Customer.status != "archived"),
        or_(Customer.last_contact_at.is_(None), Customer.last_contact_at < cutoff),
    )


def _order_checks() -> list[_Check]:
    # "Has won" as IN: the won customers are few, and a database starts from them.
    won = Customer.id.in_(select(Opportunity.customer_id).where(Opportunity.stage == "won"))
    no_orders = ~_has(Order)
    return [
        _Check(
            _About(
                "consistency.won_has_orders",
                "consistency",
                "有赢单的客户有订单",
                "Customers with a won deal have orders",
            ),
            won,
            no_orders,
        ),
        _Check(
            _About(
                "consistency.active_has_orders",
                "consistency",
                "活跃客户有订单",
                "Active customers have orders",
                "status",
            ),
            Customer.status == "active",
            no_orders,
        ),
    ]


def _one_primary() -> _Check:
    primaries = (
        select(func.count()).where(Contact.customer_id == Customer.id, PRIMARY).scalar_subquery()
    )
    about = _About(
        "consistency.one_primary_contact",
        "consistency",
        "有联系人的客户恰有一位主联系人",
        "Customers with contacts have exactly one primary contact",
    )
    return _Check(about, _has(Contact), primaries != 1)


def _child_checks() -> list[tuple[Any, list[_Check]]]:
    return [
        (
            Opportunity,
            [
                _Check(
                    _About(
                        "consistency.deal_closed_at",
                        "consistency",
                        "赢单/输单的商机有关闭时间",
                        "Won and lost deals have a close time",
                        "closed_at",
                    ),
                    Opportunity.stage.in_(("won", "lost")),
                    Opportunity.closed_at.is_(None),
                ),
                _Check(
                    _About(
                        "consistency.loss_reason",
                        "consistency",
                        "输单的商机有输单原因",
                        "Lost deals have a loss reason",
                        "loss_reason",
                    ),
                    Opportunity.stage == "lost",
                    _blank(Opportunity.loss_reason),
                ),
            ],
        ),
        (
            Ticket,
            [
                _Check(
                    _About(
                        "consistency.ticket_resolution",
                        "consistency",
                        "已关闭的工单有解决方案",
                        "Closed tickets have a resolution",
                        "resolution",
                    ),
                    Ticket.status == "closed",
                    _blank(Ticket.resolution),
                ),
                _Check(
                    _About(
                        "consistency.ticket_resolved_at",
                        "consistency",
                        "已解决/已关闭的工单有解决时间",
                        "Resolved and closed tickets have a resolution time",
                        "resolved_at",
                    ),
                    Ticket.status.in_(("resolved", "closed")),
                    Ticket.resolved_at.is_(None),
                ),
            ],
        ),
    ]


# -- counting ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Table:
    """A table the checks run over: ``rows`` to count, ``codes`` naming each row's customer
    (for examples) and ``key``, the order rows were created in."""

    rows: Select[Any]
    codes: Select[Any]
    key: Any


def _customers(scope: Scope) -> _Table:
    return _Table(
        select(func.count()).select_from(Customer).where(_visible(scope)),
        select(Customer.code).where(_visible(scope)),
        Customer.id,
    )


def _children(model: Any, scope: Scope) -> _Table:
    return _Table(
        select(func.count()).select_from(model).where(_of_visible(model, scope)),
        select(Customer.code)
        .select_from(model)
        .join(Customer, Customer.id == model.customer_id)
        .where(_visible(scope)),
        model.id,
    )


def _count(conn: Connection, table: _Table, checks: Sequence[_Check]) -> tuple[int, list[_Count]]:
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


def _count_alone(conn: Connection, table: _Table, check: _Check) -> _Count:
    """A check that looks into other tables: with ``applies`` in WHERE the database can
    join those tables once instead of probing them row by row."""
    total, failed = conn.execute(
        table.rows.add_columns(func.count().filter(check.fails)).where(check.applies)
    ).one()
    return _Count(check.about, total, failed, [], (table, check))


def _examples(conn: Connection, table: _Table, check: _Check) -> list[str]:
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
                func.count().filter(PRIMARY, _filled(column)).label(name)
                for name, column in ON_PRIMARY.items()
            ),
            func.count().filter(_filled(Contact.phone)).label("phones"),
            func.count().filter(_filled(Contact.email)).label("emails"),
        )
        .where(_of_visible(Contact, scope))
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


# -- phones and e-mails -----------------------------------------------------------------

_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
#: The e-mail rule's pattern ending in \Z, the very end of the text in Python and PostgreSQL
#: alike (a $ also lets Python accept a trailing newline).
EMAIL_PATTERN = EMAIL.pattern.removesuffix("$") + r"\Z"


def valid_phone(value: str) -> bool:
    """In E.164 and a number ``phonenumbers`` calls valid: what the phone rule stores."""
    if not _E164.fullmatch(value):
        return False
    if _landline().fullmatch(value):
        return True
    try:
        return bool(phonenumbers.is_valid_number(phonenumbers.parse(value, None)))
    except phonenumbers.NumberParseException:
        return False


@functools.cache
def _landline() -> re.Pattern[str]:
    """China's fixed-line numbers as ``phonenumbers`` matches them (its metadata's general
    and fixed-line patterns and lengths): they are many, and it is slow."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region("CN")
    assert meta is not None and meta.general_desc is not None and meta.fixed_line is not None
    general, fixed = meta.general_desc, meta.fixed_line
    lengths = "|".join(
        f"[0-9]{{{n}}}" for n in sorted(set(general.possible_length) & set(fixed.possible_length))
    )
    pattern = (
        rf"\+86(?=(?:{lengths})$)(?=(?:{general.national_number_pattern})$)"
        rf"(?:{fixed.national_number_pattern})"
    )
    return re.compile(pattern.replace(r"\d", "[0-9]"))


@functools.cache
def mobile_heads() -> tuple[str, ...]:
    """The three-digit prefixes (139…) under which every eleven-digit number is a valid
    mobile; prefixes valid only in part (1740x) are left to ``phonenumbers``."""
    fills = ("00000000", "99999999", "27182818", "31415926", "50505050")
    return tuple(
        head
        for head in map(str, range(100, 200))
        if all(valid_phone(f"+86{head}{fill}") for fill in fills)
    )


def _plain_mobile(phone: Any) -> ColumnElement[bool]:
    """+86, a valid mobile prefix and eight more digits: settled in SQL, without Python.
    The cheap tests come first; stripping trailing digits must leave only the "+"."""
    return and_(
        func.length(phone) == 14,
        func.substr(phone, 1, 6).in_([f"+86{head}" for head in mobile_heads()]),
        func.rtrim(phone, "0123456789") == "+",
    )


#: The contact checks, each with the contact-summary number it is a share of.
_CONTACT_CHECKS = {
    "phone_primary": (
        _About(
            "validity.phone_primary",
            "validity",
            "主联系人电话有效（E.164）",
            "Primary contacts' phones are valid (E.164)",
            "phone",
        ),
        "primary_phones",
    ),
    "phone": (
        _About(
            "validity.phone",
            "validity",
            "所有联系人电话有效（E.164）",
            "All contacts' phones are valid (E.164)",
            "phone",
        ),
        "phones",
    ),
    "email": (
        _About(
            "validity.email",
            "validity",
            "联系人邮箱格式有效",
            "Contacts' e-mails are well formed",
            "email",
        ),
        "emails",
    ),
}


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
    """Invalid phones of all contacts and of primary ones. Only the phones that are not
    plain mobiles are fetched, and judged in Python, each distinct value once."""
    doubtful = select(Contact.id, Contact.customer_id, PRIMARY, Contact.phone).where(
        _of_visible(Contact, scope), _filled(Contact.phone), ~_plain_mobile(Contact.phone)
    )
    failing: dict[str, list[tuple[int, int]]] = {"phone": [], "phone_primary": []}
    verdicts: dict[str, bool] = {}
    for contact_id, customer_id, is_primary, phone in conn.execute(doubtful):
        assert phone is not None  # only filled phones are fetched
        valid = verdicts.get(phone)
        if valid is None:
            valid = verdicts[phone] = valid_phone(phone)
        if not valid:
            failing["phone"].append((contact_id, customer_id))
            if is_primary:
                failing["phone_primary"].append((contact_id, customer_id))
    return {key: _failing(conn, rows) for key, rows in failing.items()}


def _email_failures(conn: Connection, scope: Scope) -> dict[str, tuple[int, list[str]]]:
    """E-mails the e-mail rule's pattern does not match."""
    rows = conn.execute(
        select(Contact.id, Contact.customer_id).where(
            _of_visible(Contact, scope),
            _filled(Contact.email),
            ~Contact.email.regexp_match(EMAIL_PATTERN),
        )
    )
    return {"email": _failing(conn, [(contact_id, customer) for contact_id, customer in rows])}


# -- import warnings and duplicates -----------------------------------------------------


def _import_warnings(conn: Connection, scope: Scope) -> _Count:
    """Values imports left out as invalid: shown for information, they have no total."""
    rows = select(ImportWarning.ref).join(ImportBatch, ImportBatch.id == ImportWarning.batch_id)
    if scope.owner_ids() is not None:
        rows = rows.where(
            or_(
                ImportWarning.ref.in_(select(Customer.code).where(_visible(scope))),
                ImportBatch.actor == scope.actor.username,
            )
        )
    total = conn.execute(rows.with_only_columns(func.count())).scalar_one()
    refs = conn.execute(
        rows.where(ImportWarning.ref.is_not(None)).order_by(ImportWarning.id).limit(EXAMPLES * 5)
    ).scalars()
    examples = [str(ref) for ref in dict.fromkeys(refs)][:EXAMPLES]
    about = _About(
        "validity.import_warnings",
        "validity",
        "导入时因无效而未写入的值（条）",
        "Invalid values left out by imports (count)",
    )
    return _Count(about, int(total), None, examples)


def _visible_codes(conn: Connection, scope: Scope, codes: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(codes), 500):
        chunk = codes[start : start + 500]
        found.update(
            conn.execute(
                select(Customer.code).where(_visible(scope), Customer.code.in_(chunk))
            ).scalars()
        )
    return found


def _duplicates(ctx: Context, pairs: pd.DataFrame | None) -> tuple[int, list[str]]:
    """Customers that are extra copies of another, and the first of them: every member of a
    duplicate cluster but its first (oldest code)."""
    from .duplicates import clusters, scan  # fuzzy matching is heavy to import: only here

    if pairs is None:
        pairs = scan(ctx)
    codes = sorted(set(pairs["code_a"]) | set(pairs["code_b"]))
    with ctx.reading() as conn:
        visible = _visible_codes(conn, ctx.scope, codes)
    kept = pairs[pairs["code_a"].isin(visible) & pairs["code_b"].isin(visible)]
    members = clusters(kept)
    copies = members.loc[members["cluster"].duplicated(), "code"]
    return len(copies), list(copies[:EXAMPLES])


_UNIQUENESS = _About(
    "uniqueness.duplicates",
    "uniqueness",
    "不是其他客户的重复档案",
    "Not a duplicate of another customer",
)


# -- the scorecard ----------------------------------------------------------------------


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
        """The runs kept so far over the same customers (see :func:`trend`)."""
        return trend(ctx)


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
        card.run_id = _save(ctx, card, stale_days)
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
    own = [*_completeness(), *_validity(moment), _freshness(moment, stale_days)]
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
        orders = [pool.submit(reading, _count_alone, customers, c) for c in _order_checks()]
        children = [
            pool.submit(reading, _count, _children(model, scope), checks)
            for model, checks in _child_checks()
        ]
        warnings = pool.submit(reading, _import_warnings, scope)
        duplicates = pool.submit(_duplicates, ctx, duplicate_pairs)

        size, counts = own_counts.result()
        numbers = summary.result()
        counts += [
            _Count(c.about, size, size - numbers[str(c.about.field)], [], (customers, c))
            for c in on_primary
        ]
        one = _one_primary()
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
        for key, (about, total) in _CONTACT_CHECKS.items():
            failed, first = failures[key]
            counts.append(_Count(about, numbers[total], failed, first))
        counts.append(warnings.result())
        copies, first = duplicates.result()
        counts.append(_Count(_UNIQUENESS, size, copies, first))
    return counts


def _frame(counts: list[_Count], target: float, lang: str) -> pd.DataFrame:
    """One row per check, by dimension; completeness follows the customers file's columns."""

    def position(count: _Count) -> tuple[int, int]:
        about = count.about
        column = CUSTOMERS.names.index(str(about.field)) if about.dimension == "completeness" else 0
        return DIMENSIONS.index(about.dimension), column

    rows = []
    for count in sorted(counts, key=position):
        about, scored = count.about, count.failed is not None
        passed = None if count.failed is None else count.total - count.failed
        score = passed / count.total if passed is not None and count.total else math.nan
        rows.append(
            {
                "dimension": about.dimension,
                "check": about.id,
                "label": _say((about.zh, about.en), lang),
                "field": about.field,
                "required": about.required,
                "passed": passed,
                "total": count.total,
                "score": score,
                "target": target if scored else math.nan,
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
                "label": _say(DIMENSION_LABELS[dimension], lang),
                "checks": len(scores),
                "score": score,
                "target": target,
                "meets_target": None if math.isnan(score) else score >= target,
            }
        )
    return pd.DataFrame(rows).astype({"meets_target": "boolean"})


def _scope_key(scope: Scope) -> str:
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


def _save(ctx: Context, card: Scorecard, stale_days: int) -> int:
    scores = {
        "scope": _scope_key(ctx.scope),
        "as_of": card.as_of.isoformat(sep=" "),
        "target": card.target,
        "stale_days": stale_days,
        "dimensions": {
            row["dimension"]: _number(row["score"]) for row in card.dimensions.to_dict("records")
        },
        "checks": {
            row["check"]: {
                "dimension": row["dimension"],
                "passed": _number(row["passed"]),
                "total": int(row["total"]),
                "score": _number(row["score"]),
            }
            for row in card.checks.to_dict("records")
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
                        overall=card.overall,
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
    mine = _scope_key(ctx.scope)
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


# -- output -----------------------------------------------------------------------------


def _headers(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    names = {**HEADERS, **{d: DIMENSION_LABELS[d] for d in DIMENSIONS}}
    return frame.rename(columns={c: _say(names[c], lang) for c in frame.columns if c in names})


def write_xlsx(card: Scorecard, path: str | Path, *, trend: pd.DataFrame | None = None) -> Path:
    """The scorecard as a workbook for people: summary, every check, the trend and the
    failing customers, headed in the scorecard's language, scores as percentages."""
    lang = card.lang
    dimension_names = {d: _say(DIMENSION_LABELS[d], lang) for d in DIMENSIONS}
    summary = card.dimensions.drop(columns="dimension").rename(columns={"label": "dimension"})
    meets = None if math.isnan(card.overall) else card.overall >= card.target
    overall = {
        "dimension": _say(TEXT["overall"], lang),
        "score": card.overall,
        "target": card.target,
        "meets_target": meets,
    }
    summary = pd.concat([summary, pd.DataFrame([overall])], ignore_index=True)
    checks = card.checks.assign(
        dimension=card.checks["dimension"].map(dimension_names),
        examples=card.checks["examples"].map(", ".join),
    )
    examples = card.checks[["dimension", "label", "examples"]].explode("examples").dropna()
    examples = examples.rename(columns={"examples": "code"}).assign(
        dimension=lambda f: f["dimension"].map(dimension_names)
    )
    history = trend if trend is not None else pd.DataFrame(columns=list(TREND_COLUMNS))
    sheets = {"summary": summary, "checks": checks, "trend": history, "examples": examples}
    path = Path(path)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for key, frame in sheets.items():
            name = _say(SHEETS[key], lang)
            _headers(frame, lang).to_excel(writer, sheet_name=name, index=False)
            _format(writer.sheets[name], list(frame.columns))
    return path


def _format(sheet: Any, columns: list[str]) -> None:
    """Percentages for scores, a frozen header, and columns wide enough to read."""
    percent = {"score", "target", "overall", *DIMENSIONS}
    for n, column in enumerate(columns, start=1):
        cells = next(sheet.iter_cols(min_col=n, max_col=n))
        if column in percent:
            for cell in cells[1:]:
                cell.number_format = "0.0%"
        widest = max((_width(str(c.value)) for c in cells if c.value is not None), default=8)
        sheet.column_dimensions[cells[0].column_letter].width = min(max(widest + 2, 8), 60)
    sheet.freeze_panes = "A2"


def _width(text: str) -> int:
    """Columns a text takes in a terminal or a sheet: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(width - _width(text), 0)


def _percent(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.1%}"


def format_text(card: Scorecard) -> str:
    """The scorecard for a terminal (``crm dq report``): one line per check with its score,
    passed/total and ✓ or ✗ against the target, grouped by dimension."""
    lang = card.lang
    width = max(_width(label) for label in card.checks["label"]) + 2
    lines = [
        f"{_say(TEXT['title'], lang)}  {_say(TEXT['as_of'], lang)} {card.as_of:%Y-%m-%d %H:%M}"
        f"  {_say(TEXT['target'], lang)} {card.target:.0%}",
        f"{_say(TEXT['overall'], lang)} {_percent(card.overall)}",
    ]
    for dimension in card.dimensions.to_dict("records"):
        score = dimension["score"]
        mark = "" if math.isnan(score) else _mark(score, card.target)
        lines += ["", f"{dimension['label']} {_percent(score)} {mark}".rstrip()]
        for check in card.checks[card.checks["dimension"] == dimension["dimension"]].to_dict(
            "records"
        ):
            passed, total = check["passed"], check["total"]
            if is_missing(passed):
                numbers, mark = f"{total:,}", f"({_say(TEXT['info'], lang)})"
            elif total == 0:
                numbers, mark = "0/0", f"({_say(TEXT['no_data'], lang)})"
            else:
                numbers, mark = f"{passed:,}/{total:,}", _mark(check["score"], card.target)
            label = _pad(check["label"], width)
            lines.append(f"  {label}{_percent(check['score']):>7}  {numbers:>17}  {mark}")
    return "\n".join(lines)


def _mark(score: float, target: float) -> str:
    return "✓" if score >= target else "✗"
