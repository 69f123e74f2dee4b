"""Customers as matching sees them: one row of folded keys per customer, built from one
query on customers and one on contacts (plain rows into numpy, no ORM objects).

Columns are numpy object arrays of strings, "" where a value is unknown, rather than a
DataFrame: a scan folds a million customers, and per-element pandas access and string-dtype
conversions would double its time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, Connection, select
from sqlalchemy.orm import aliased

from ...rules.matching import (
    NameParts,
    address_key,
    city_key,
    company_name,
    email_key,
    fold,
    mail_domain,
    person_name,
    phone_key,
    province_key,
    street_key,
)
from ...store.models import Contact, Customer, User

Columns = dict[str, np.ndarray]


@dataclass(frozen=True)
class Profiles:
    """Customers (``columns``, one array per field, positional rows) and every phone and
    e-mail of their contacts (``phones``/``emails``: row numbers and keys)."""

    columns: Columns
    phones: tuple[np.ndarray, np.ndarray]
    emails: tuple[np.ndarray, np.ndarray]

    def __len__(self) -> int:
        return len(self.columns["id"])


def customer_query(*criteria: ColumnElement[bool]) -> Any:
    owner = aliased(User)
    return (
        select(
            Customer.id,
            Customer.code,
            Customer.external_id,
            Customer.kind,
            Customer.name,
            owner.username.label("owner"),
            Customer.city,
            Customer.province,
            Customer.postcode,
            Customer.address,
            Customer.birthday,
        )
        .outerjoin(owner, owner.id == Customer.owner_id)
        .where(Customer.merged_into_id.is_(None), *criteria)
        .order_by(Customer.id)
    )


def contact_query(*criteria: ColumnElement[bool]) -> Any:
    customers = select(Customer.id).where(Customer.merged_into_id.is_(None), *criteria)
    return (
        select(Contact.customer_id, Contact.phone, Contact.email, Contact.is_primary)
        .where(Contact.customer_id.in_(customers))
        .order_by(Contact.id)
    )


def read(conn: Connection, stmt: Any) -> Columns:
    """One query's result as column arrays."""
    result = conn.execute(stmt)
    names = list(result.keys())
    rows = result.fetchall()
    if not rows:
        return {name: np.empty(0, dtype=object) for name in names}
    return {
        name: np.array(values, dtype=object)
        for name, values in zip(names, zip(*rows, strict=True), strict=True)
    }


def load(conn: Connection, *criteria: ColumnElement[bool]) -> Profiles:
    """Profiles of the unmerged customers that meet ``criteria`` (a scope, a list of ids)."""
    return build(read(conn, customer_query(*criteria)), read(conn, contact_query(*criteria)))


def _mapped(values: np.ndarray, key: Callable[[Any], str]) -> np.ndarray:
    """``key`` applied once per distinct value (cities and provinces repeat a lot)."""
    known: dict[Any, str] = {}
    return np.array(
        [known[v] if v in known else known.setdefault(v, key(v)) for v in values.tolist()],
        dtype=object,
    )


def _strings(values: list[str]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def build(customers: Mapping[str, np.ndarray], contacts: Mapping[str, np.ndarray]) -> Profiles:
    """Fold every matching field of ``customers`` (as :func:`customer_query` selects them,
    ordered by id) and ``contacts`` (:func:`contact_query`)."""
    columns: Columns = dict(customers)
    cities = _mapped(columns["city"], city_key)
    columns["city_key"] = cities
    columns["province_key"] = _mapped(columns["province"], province_key)
    names = [
        person_name(name) if kind == "person" else company_name(name, city)
        for name, kind, city in zip(
            columns["name"].tolist(), columns["kind"].tolist(), cities.tolist(), strict=True
        )
    ]
    table = np.empty((len(names), len(NameParts._fields)), dtype=object)
    if names:
        table[:] = names
    for index, field in enumerate(NameParts._fields):
        columns[field] = table[:, index].copy()
    columns["address_key"] = _strings(
        [
            address_key(address, city)
            for address, city in zip(columns["address"].tolist(), cities.tolist(), strict=True)
        ]
    )
    columns["street_key"] = _strings([street_key(a) for a in columns["address_key"].tolist()])
    columns["postcode_key"] = _mapped(columns["postcode"], fold)
    columns["birthday_key"] = _mapped(
        columns["birthday"], lambda day: day.isoformat() if day else ""
    )
    columns["external_key"] = _mapped(columns["external_id"], lambda value: (value or "").strip())

    ids = columns["id"].astype(np.int64)
    owners = contacts["customer_id"].astype(np.int64)
    at = np.minimum(np.searchsorted(ids, owners), max(len(ids) - 1, 0))
    known = ids[at] == owners if len(ids) else np.zeros(len(owners), dtype=bool)
    rows = at[known]
    phones = _strings([phone_key(p) for p in contacts["phone"][known].tolist()])
    emails = _strings([email_key(e) for e in contacts["email"][known].tolist()])
    primary = np.array([bool(flag) for flag in contacts["is_primary"][known].tolist()], dtype=bool)
    columns["phone"] = _first_per_row(rows[primary], phones[primary], len(ids))
    columns["email"] = _first_per_row(rows[primary], emails[primary], len(ids))
    columns["domain"] = _mapped(columns["email"], mail_domain)
    return Profiles(columns, _distinct(rows, phones), _distinct(rows, emails))


def _first_per_row(rows: np.ndarray, keys: np.ndarray, size: int) -> np.ndarray:
    """The first key of each row (its primary contact's), "" for rows without one."""
    out = np.full(size, "", dtype=object)
    first = np.unique(rows, return_index=True)[1]
    out[rows[first]] = keys[first]
    return out


def _distinct(rows: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, key) links without empty keys and without repeats."""
    present = keys != ""
    rows, keys = rows[present], keys[present]
    seen = dict.fromkeys(zip(rows.tolist(), keys.tolist(), strict=True))
    if not seen:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=object)
    pair_rows, pair_keys = zip(*seen, strict=True)
    return np.array(pair_rows, dtype=np.int64), _strings(list(pair_keys))
