"""Roles without PII access read masked phones and e-mails, also where they are missing.

pandas reads a missing value as NaN (``str`` columns), None (object columns) or pd.NA
(nullable dtypes); masking must leave each of them missing and mask the rest.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import crmlib
from crmlib.access import mask_email, mask_frame, mask_phone
from crmlib.missing import is_missing, or_none
from crmlib.workspace import Workspace
from tests.factories import company

MASKED_ROLES = ("analyst", "finance", "marketing")
PHONE, PHONE_MASKED = "13812345678", "138****5678"
EMAIL, EMAIL_MASKED = "zhang.wei@xingchen.cn", "z***@xingchen.cn"


@dataclass
class Book:
    """A rep's customers, contacts and leads with and without phones and e-mails, and a
    workspace for each role that sees them masked."""

    url: str
    rep: Workspace
    readers: dict[str, Workspace]
    #: the company customer whose contacts are the test's contacts
    code: str
    #: name of the record -> (phone given, e-mail given)
    given: dict[str, tuple[str | None, str | None]]

    def close(self) -> None:
        for ws in (self.rep, *self.readers.values()):
            ws.close()


@pytest.fixture(scope="module")
def book(module_db_url: str) -> Iterator[Book]:
    admin = crmlib.open(module_db_url, user="admin", lang="en")
    admin.users.add("zhang", role="sales", team="east")
    for role in MASKED_ROLES:
        admin.users.add(f"{role}1", role=role)
    admin.close()
    rep = crmlib.open(module_db_url, user="zhang", lang="en")
    given: dict[str, tuple[str | None, str | None]] = {
        "both": (PHONE, EMAIL),
        "phone only": (PHONE, None),
        "email only": (None, EMAIL),
        "neither": (None, None),
    }
    code = rep.customers.add(**company(name="company")).code
    for name, (phone, email) in given.items():
        # a person needs only a name and one way to reach or identify them
        rep.customers.add(
            name=name,
            kind="person",
            source="website",
            phone=phone,
            email=email,
            external_id=f"ERP-{name}",
            allow_duplicate=True,  # persons sharing a phone or e-mail, on purpose
        )
    for name, (phone, email) in given.items():
        rep.contacts.add(code, name=name, phone=phone, email=email)
        rep.leads.add(name=name, source="website", phone=phone, email=email)
    readers = {
        role: crmlib.open(module_db_url, user=f"{role}1", lang="en") for role in MASKED_ROLES
    }
    built = Book(module_db_url, rep, readers, code, given)
    yield built
    built.close()


def _expected(value: str | None, masked: str) -> str | None:
    return None if value is None else masked


def _check(frame: pd.DataFrame, given: dict[str, tuple[str | None, str | None]]) -> None:
    rows = frame[frame["name"].isin(list(given))].set_index("name")
    for name, (phone, email) in given.items():
        got_phone, got_email = rows.at[name, "phone"], rows.at[name, "email"]
        assert or_none(got_phone) == _expected(phone, PHONE_MASKED), (name, got_phone)
        assert or_none(got_email) == _expected(email, EMAIL_MASKED), (name, got_email)
        # missing stays missing: NaN, None or pd.NA, never a string such as "nan"
        assert is_missing(got_phone) == (phone is None), (name, got_phone)
        assert is_missing(got_email) == (email is None), (name, got_email)


@pytest.mark.parametrize("role", MASKED_ROLES)
def test_customers_frame_masks_and_keeps_missing(book: Book, role: str) -> None:
    _check(book.readers[role].customers.frame(), book.given)


@pytest.mark.parametrize("role", MASKED_ROLES)
def test_contacts_frame_masks_and_keeps_missing(book: Book, role: str) -> None:
    _check(book.readers[role].contacts.frame(customer_code=book.code), book.given)


@pytest.mark.parametrize("role", MASKED_ROLES)
def test_leads_frame_masks_and_keeps_missing(book: Book, role: str) -> None:
    _check(book.readers[role].leads.frame(), book.given)


def test_rep_sees_the_values_unmasked(book: Book) -> None:
    rows = book.rep.customers.frame().set_index("name")
    assert rows.at["both", "phone"] == f"+86{PHONE}"
    assert rows.at["both", "email"] == EMAIL
    assert is_missing(rows.at["phone only", "email"])


def test_masked_records_and_export_keep_missing_empty(book: Book, tmp_path: Path) -> None:
    analyst = book.readers["analyst"]
    by_name = {c.name: c for c in map(analyst.customers.get, analyst.customers.frame()["code"])}
    assert (by_name["both"].phone, by_name["both"].email) == (PHONE_MASKED, EMAIL_MASKED)
    assert (by_name["phone only"].phone, by_name["phone only"].email) == (PHONE_MASKED, None)
    path = analyst.export(
        "customers", tmp_path / "customers.csv", columns=["name", "phone", "email"]
    ).path
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = {row[0]: row[1:] for row in list(csv.reader(f))[1:]}
    assert rows["both"] == [PHONE_MASKED, EMAIL_MASKED]
    assert rows["email only"] == ["", EMAIL_MASKED]
    assert rows["neither"] == ["", ""]


@pytest.mark.parametrize("missing", [None, np.nan, pd.NA, float("nan")], ids=repr)
def test_masks_take_every_kind_of_missing(missing: Any) -> None:
    assert mask_phone(missing) is None
    assert mask_email(missing) is None


@pytest.mark.parametrize(
    ("dtype", "marker"),
    [(object, np.nan), ("str", np.nan), ("string", pd.NA)],
    ids=["object", "str", "string"],
)
def test_mask_frame_leaves_missing_values_missing(dtype: object, marker: object) -> None:
    frame = pd.DataFrame(
        {
            "phone": pd.Series([PHONE, None], dtype=dtype),
            "email": pd.Series([None, EMAIL], dtype=dtype),
        }
    )
    masked = mask_frame(frame)
    assert masked["phone"].iloc[0] == PHONE_MASKED
    assert masked["email"].iloc[1] == EMAIL_MASKED
    # the column's own marker: NaN in a str column, pd.NA in a nullable string column
    assert type(masked["phone"].iloc[1]) is type(marker)
    assert masked["email"].isna().tolist() == [True, False]


def test_is_missing() -> None:
    for value in (None, np.nan, pd.NA, pd.NaT, np.datetime64("NaT"), np.float64("nan")):
        assert is_missing(value), value
    for value in ("", "nan", 0, 0.0, False, [], [np.nan], np.array([np.nan]), (None,)):
        assert not is_missing(value), value
