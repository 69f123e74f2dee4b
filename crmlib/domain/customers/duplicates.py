"""Exact duplicates: a new customer that is plainly one already on file is refused on every
path that creates customers (the API, the entry form, a lead conversion, the importer).

Exact means the same folded name (:func:`crmlib.rules.matching.fold`: full-width and case
folded, no spaces or punctuation) and the same phone for companies, and the same phone or
the same e-mail for persons, compared with every contact of the stored customer. Nearer
likenesses are warnings of the entry form and pairs of the duplicate scan
(:mod:`crmlib.quality.duplicates`), never refusals.

The lookup ignores the user's scope, since a rep re-entering another rep's customer is the
usual case; what the refusal tells is scoped: a customer the user may see is named by code
and name, one outside their scope only as "exists" (whom to ask, nothing of the customer).
An import matches a row without a key to the customer these keys name when the user may
edit it (:func:`customers_by_key`), so only other new rows meet the refusal.
A caller that means it may allow a duplicate (``allow_duplicate=True``,
``crm import --allow-duplicates``); each customer so created gets an audit event naming
the customer it duplicates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from ...access import UNSCOPED
from ...errors import FieldError
from ...i18n import t
from ...rules.matching import email_key, fold
from ...store.models import Contact, Customer

#: The audit action of a duplicate created on purpose.
ALLOWED = "duplicate"
#: How many phones or e-mails one IN (...) lookup carries.
LOOKUP_BATCH = 900


@dataclass(frozen=True)
class Candidate:
    """The identifying values of a customer about to be created, as its rules clean them."""

    kind: str | None
    name: str | None
    phone: str | None
    email: str | None

    def match_keys(self) -> list[tuple[str, str]]:
        """(what, key) pairs that make another customer an exact duplicate of this one."""
        if self.kind == "person":
            found = [("phone", f"p:{self.phone}")] if self.phone else []
            mail = email_key(self.email)
            return found + ([("email", f"e:{mail}")] if mail else [])
        key = company_key(self.name, self.phone)
        return [("name_phone", key)] if key else []


def company_key(name: str | None, phone: str | None) -> str | None:
    """A company's duplicate key: its folded name and its phone (None without either)."""
    folded = fold(name)
    return f"n:{folded}|{phone}" if folded and phone else None


def first_keys(
    kinds: list[str | None],
    names: list[str | None],
    phones: list[str | None],
    emails: list[str | None],
) -> list[str | None]:
    """The first of each candidate's :meth:`Candidate.match_keys`, for many rows at once
    (an import's in-file check): a company's name and phone, a person's phone, else
    e-mail."""

    def person_key(phone: str | None, email: str | None) -> str | None:
        mail = email_key(email)
        return f"p:{phone}" if phone else (f"e:{mail}" if mail else None)

    return [
        person_key(phone, email) if kind == "person" else company_key(name, phone)
        for kind, name, phone, email in zip(kinds, names, phones, emails, strict=True)
    ]


@dataclass(frozen=True)
class Twin:
    """A stored customer that a candidate exactly duplicates, and by what."""

    customer_id: int
    code: str
    name: str
    owner_id: int | None
    what: str  # name_phone, phone or email

    def problem(self, visible: bool, candidate: Candidate) -> FieldError:
        """The refusal of ``candidate``, naming its field and value, and the customer only
        to a user who may see it."""
        field = "email" if self.what == "email" else "phone"
        value = candidate.email if field == "email" else candidate.phone
        if visible:
            message = t(f"duplicate:{self.what}", code=self.code, name=self.name)
        else:
            message = t(f"duplicate:{self.what}_hidden")
        return FieldError(field, value, "duplicate", message)


def find_twins(conn: Connection, candidates: Mapping[Any, Candidate]) -> dict[Any, Twin]:
    """For each candidate (by any key) that exactly duplicates a stored customer, that
    customer (the lowest code when several do), whatever the user's scope."""
    stored = customers_by_key(
        conn, {key for candidate in candidates.values() for _, key in candidate.match_keys()}
    )
    twins: dict[Any, Twin] = {}
    for ref, candidate in candidates.items():
        hits = [stored[key][0] for _, key in candidate.match_keys() if key in stored]
        if hits:
            twins[ref] = min(hits, key=lambda twin: twin.code)
    return twins


def customers_by_key(conn: Connection, keys: Iterable[str]) -> dict[str, list[Twin]]:
    """The stored customers that have each of ``keys`` (:meth:`Candidate.match_keys`),
    lowest code first, whatever the user's scope: the duplicate check takes the first, an
    import matching a file's rows to records takes them in turn. Looks up contacts by their
    indexed phone and e-mail; merged customers do not count."""
    wanted = set(keys)
    if not wanted:
        return {}
    phones = sorted({k.split("|", 1)[-1].removeprefix("p:") for k in wanted if k[0] in "np"})
    emails = sorted({k[2:] for k in wanted if k[0] == "e"})
    stored: dict[str, dict[int, Twin]] = {}
    for column, values in ((Contact.phone, phones), (Contact.email, emails)):
        for start in range(0, len(values), LOOKUP_BATCH):
            batch = values[start : start + LOOKUP_BATCH]
            rows = conn.execute(
                select(
                    Customer.id,
                    Customer.code,
                    Customer.name,
                    Customer.kind,
                    Customer.owner_id,
                    Contact.phone,
                    Contact.email,
                )
                .join(Contact, Contact.customer_id == Customer.id)
                .where(column.in_(batch), Customer.merged_into_id.is_(None))
                .execution_options(**{UNSCOPED: True})
            )
            for row in rows:
                found = Candidate(row.kind, row.name, row.phone, row.email)
                for what, key in found.match_keys():
                    if key in wanted:
                        twin = Twin(row.id, row.code, row.name, row.owner_id, what)
                        stored.setdefault(key, {}).setdefault(row.id, twin)
    return {
        key: sorted(twins.values(), key=lambda twin: twin.code) for key, twins in stored.items()
    }


def first_twins(candidates: Iterable[tuple[Any, Candidate]]) -> dict[Any, tuple[Any, str]]:
    """Among candidates created together, each one an earlier one exactly duplicates:
    ref → (the earlier ref, by what)."""
    seen: dict[str, Any] = {}
    earlier: dict[Any, tuple[Any, str]] = {}
    for ref, candidate in candidates:
        keys = candidate.match_keys()
        hit = next(((seen[key], what) for what, key in keys if key in seen), None)
        if hit is not None:
            earlier[ref] = hit
        for _, key in keys:
            seen.setdefault(key, ref)
    return earlier
