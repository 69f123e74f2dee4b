"""The entry-form check: which existing customers the one being entered may already be.

Duplicates must be caught across owners (a rep re-entering another rep's customer is the
usual case), so the lookup ignores the user's scope; but of a match outside it the user
learns only that it exists, its score and the reasons (no code, name, owner, phone, e-mail
or address), as the refusal of an exact duplicate (:mod:`crmlib.domain.customers.duplicates`)
says. Every lookup uses an index
(contacts' phone and e-mail, customers' external id and name), so a check takes
milliseconds on a million customers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, select

from ...access import mask_email, mask_phone
from ...context import Context
from ...rules import date_value, email, phone, province
from ...rules.fields import clean_text
from ...rules.matching import NameParts, city_key, widths
from ...store.models import Contact, Customer
from .profiles import Columns, Profiles, build, contact_query, customer_query, read
from .scoring import describe, score_first

#: Matches scored below this are not worth a warning.
CHECK_SCORE = 50
#: Most rows one indexed lookup may bring back.
LOOKUP_LIMIT = 200
#: Characters of the name core a narrow name lookup uses (the broad one uses two).
NARROW = 4
#: Separators people type between a place and the name (folded away when matching).
_SEPARATORS = ("", " ", "\u3000")
_CANDIDATE = -1  # the id the candidate takes among the profiles


@dataclass(frozen=True)
class Match:
    """An existing customer the candidate may duplicate.

    ``visible`` says whether it is within the user's scope; outside it, only the score and
    the reasons are filled in (``code`` and ``name`` are empty). ``phone`` and ``email``
    are masked for roles without PII permission.
    """

    code: str
    name: str
    owner: str | None
    score: int
    reasons: tuple[str, ...]
    visible: bool
    kind: str | None = None
    city: str | None = None
    address: str | None = None
    phone: str | None = None
    email: str | None = None


def _valid(rule: Any, value: Any) -> Any:
    """A value as its rule cleans it, or None if it breaks the rule: the check warns about
    duplicates, the entry form's validation reports the broken rule."""
    try:
        return rule(value)
    except ValueError:
        return None


def _candidate(values: Mapping[str, Any]) -> tuple[Columns, Columns]:
    """The candidate as one profile row (customer columns, contact columns)."""
    found = _valid(province, values.get("province"))
    birthday = _valid(date_value, values.get("birthday"))
    customer = {
        "id": _CANDIDATE,
        "code": clean_text(values.get("code")) or "",
        "external_id": clean_text(values.get("external_id")),
        "kind": clean_text(values.get("kind")) or "company",
        "name": clean_text(values.get("name")),
        "owner": None,
        "city": clean_text(values.get("city")),
        "province": found.name if found else None,
        "postcode": clean_text(values.get("postcode")),
        "address": clean_text(values.get("address")),
        "birthday": birthday,
    }
    contact = {
        "customer_id": _CANDIDATE,
        "phone": _valid(phone, values.get("phone")) or clean_text(values.get("phone")),
        "email": _valid(email, values.get("email")) or clean_text(values.get("email")),
        "is_primary": True,
    }
    return (
        {key: np.array([value], dtype=object) for key, value in customer.items()},
        {key: np.array([value], dtype=object) for key, value in contact.items()},
    )


def _name_probes(parts: NameParts, city: str, province_name: str | None) -> list[str]:
    """Prefixes a stored spelling of the name may start with: the core's first characters,
    alone or after the place the name or the candidate's city and province give, with or
    without a space, as typed or upper-cased (stored names keep their case), each in the
    widths stored names may be written in (:func:`~crmlib.rules.matching.widths`)."""
    places = {form for place in (parts.prefix, city) if place for form in (place, f"{place}市")}
    if province_name:
        places |= {province_name, city_key(province_name)}
    probes: set[str] = set()
    for size in (2, NARROW):
        head = parts.core[:size]
        if not head:
            continue
        cased = {head, head.upper(), head.title()}
        for text in {form for case in cased for form in widths(case)}:
            probes |= {f"{place}{sep}{text}" for place in places for sep in _SEPARATORS}
            probes.add(text)
    return sorted(probes)


def _ids(conn: Connection, stmt: Any) -> set[int]:
    return set(conn.execute(stmt.limit(LOOKUP_LIMIT)).scalars())


def _lookup(conn: Connection, profile: Profiles, province_name: str | None) -> set[int]:
    """Ids of customers sharing an exact key with the candidate, or a name prefix."""
    columns = profile.columns
    found: set[int] = set()
    phone_e164 = columns["phone"][0] and f"+{columns['phone'][0]}"
    if phone_e164:
        found |= _ids(conn, select(Contact.customer_id).where(Contact.phone == phone_e164))
    if columns["email"][0]:
        found |= _ids(conn, select(Contact.customer_id).where(Contact.email == columns["email"][0]))
    if columns["external_key"][0]:
        found |= _ids(
            conn, select(Customer.id).where(Customer.external_id == columns["external_key"][0])
        )
    parts = NameParts(*(columns[field][0] for field in NameParts._fields))
    for probe in _name_probes(parts, columns["city_key"][0], province_name):
        upper = probe[:-1] + chr(ord(probe[-1]) + 1)
        found |= _ids(
            conn,
            select(Customer.id).where(Customer.name >= probe, Customer.name < upper),
        )
    return found


def check_duplicates(
    ctx: Context, candidate: Mapping[str, Any], *, limit: int = 5, min_score: float = CHECK_SCORE
) -> list[Match]:
    """Existing customers that the ``candidate`` (an entry form's values: name, kind, phone,
    email, city, province, address, postcode, birthday, external_id; ``code`` to leave out
    the customer being edited) may duplicate, best first, at most ``limit``."""
    customer, contact = _candidate(candidate)
    alone = build(customer, contact)
    with ctx.reading() as conn:
        ids = _lookup(conn, alone, customer["province"][0])
        if not ids:
            return []
        found = read(conn, customer_query(Customer.id.in_(ids)))
        links = read(conn, contact_query(Customer.id.in_(ids)))
        keep = found["code"] != customer["code"][0]
        everyone = build(
            {key: np.concatenate([customer[key], found[key][keep]]) for key in customer},
            {key: np.concatenate([contact[key], links[key]]) for key in contact},
        )
        scored = score_first(everyone)
        order = [
            k for k in np.argsort(-scored.score, kind="stable") if scored.score[k] >= min_score
        ]
        top = order[:limit]
        rows = [k + 1 for k in top]
        visible = set(
            conn.execute(
                select(Customer.id).where(
                    Customer.id.in_([int(everyone.columns["id"][r]) for r in rows]),
                    ctx.scope.customer_filter(),
                )
            ).scalars()
        )
    return [
        _match(
            ctx,
            everyone.columns,
            row,
            int(scored.score[k]),
            scored.reasons(k),
            visible,
            _primary(links, everyone.columns["id"][row]),
        )
        for k, row in zip(top, rows, strict=True)
    ]


def _primary(links: Columns, customer_id: int) -> tuple[str | None, str | None]:
    """The phone and e-mail of a customer's primary contact, as stored."""
    for owner, phone_value, email_value, is_primary in zip(
        links["customer_id"], links["phone"], links["email"], links["is_primary"], strict=True
    ):
        if owner == customer_id and is_primary:
            return phone_value, email_value
    return None, None


def _match(
    ctx: Context,
    columns: Columns,
    row: int,
    score: int,
    reasons: list[tuple[str, int | None]],
    visible: set[int],
    primary: tuple[str | None, str | None],
) -> Match:
    def value(column: str) -> Any:
        found = columns[column][row]
        return found if found not in ("", None) else None

    texts = tuple(describe([reason], ctx.lang) for reason in reasons)
    if int(columns["id"][row]) not in visible:
        return Match(code="", name="", owner=None, score=score, reasons=texts, visible=False)
    common = {"code": value("code"), "name": value("name"), "owner": value("owner")}
    pii = ctx.actor.role.see_pii
    phone_value, email_value = primary
    return Match(
        **common,
        score=score,
        reasons=texts,
        visible=True,
        kind=value("kind"),
        city=value("city"),
        address=value("address"),
        phone=phone_value if pii else mask_phone(phone_value),
        email=email_value if pii else mask_email(email_value),
    )
