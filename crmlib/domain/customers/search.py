"""Finding a customer file the way people remember it: part of a code, a name (even
misspelt), some digits of a phone, or a tag.

Each way is one indexed or LIKE query over the customers the user may see; names that
contain no part of the query exactly are scored with rapidfuzz among the customers that
share a two-character piece with it, so a typo in a company name still finds it (legal
forms such as 有限公司 are left out of that score, as the duplicate check does).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import pandas as pd
from rapidfuzz import fuzz
from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import aliased

from ...access import mask_frame
from ...context import Context
from ...rules.matching import company_name, search_forms
from ...store.like import contains, search_text, starts_with
from ...store.models import Contact, Customer, CustomerTag, User

COLUMNS = ["code", "name", "city", "owner", "phone", "match", "score"]
#: Fuzzy matches scoring below this are not shown.
FUZZY_SCORE = 70
#: Customers sharing a piece of the query that are scored at most.
FUZZY_POOL = 400
_DIGITS = re.compile(r"\D+")


def _fold(query: str) -> str:
    return unicodedata.normalize("NFKC", search_text(query)).strip()


def search_customers(ctx: Context, query: str, limit: int = 20) -> pd.DataFrame:
    """The visible customers matching ``query``, best first, at most ``limit``: columns
    code, name, city, owner, phone (masked for roles without PII), match (code, phone,
    tag, name or fuzzy) and score (0-100)."""
    text = _fold(query)
    if not text:
        return pd.DataFrame(columns=COLUMNS)
    folded = text.casefold()
    forms = search_forms(query)
    digits = _DIGITS.sub("", text)
    visible = (ctx.scope.customer_filter(), Customer.merged_into_id.is_(None))
    found: dict[int, tuple[str, float]] = {}

    def collect(how: str, score: float, stmt: Select[Any]) -> None:
        with ctx.reading() as conn:
            for (customer_id,) in conn.execute(stmt.where(*visible).limit(limit)):
                if customer_id not in found or found[customer_id][1] < score:
                    found[customer_id] = (how, score)

    collect("code", 100, select(Customer.id).where(starts_with(Customer.code, text.upper())))
    if len(digits) >= 4:
        collect(
            "phone",
            95,
            select(Customer.id)
            .join(Contact, Contact.customer_id == Customer.id)
            .where(contains(Contact.phone, digits)),
        )
    collect(
        "tag",
        90,
        select(Customer.id)
        .join(CustomerTag, CustomerTag.customer_id == Customer.id)
        .where(func.lower(CustomerTag.tag).in_(forms)),
    )
    name = func.lower(Customer.name)
    collect("name", 85, select(Customer.id).where(or_(*(contains(name, f) for f in forms))))
    if len(found) < limit and len(folded) >= 2:
        _fuzzy(ctx, folded, forms, visible, found)
    best = sorted(found.items(), key=lambda item: (-item[1][1], item[0]))[:limit]
    return _frame(ctx, best)


def _fuzzy(
    ctx: Context,
    folded: str,
    forms: list[str],
    visible: tuple[ColumnElement[bool], ...],
    found: dict[int, tuple[str, float]],
) -> None:
    """Customers sharing a two-character piece of any form of the search
    (:func:`~crmlib.rules.matching.search_forms`), scored on their folded names
    (:func:`~crmlib.rules.matching.company_name`)."""
    pieces = {form[i : i + 2] for form in forms for i in range(len(form) - 1)}
    name = func.lower(Customer.name)
    stmt = (
        select(Customer.id, Customer.name)
        .where(or_(*(contains(name, p) for p in pieces)), *visible)
        .limit(FUZZY_POOL)
    )
    wanted = company_name(folded).core or folded
    with ctx.reading() as conn:
        for customer_id, customer_name in conn.execute(stmt):
            score = fuzz.WRatio(wanted, company_name(customer_name).core)
            if score >= FUZZY_SCORE and customer_id not in found:
                found[customer_id] = ("fuzzy", round(score, 1))


def _frame(ctx: Context, best: list[tuple[int, tuple[str, float]]]) -> pd.DataFrame:
    if not best:
        return pd.DataFrame(columns=COLUMNS)
    owner = aliased(User)
    primary = aliased(Contact)
    ids = [customer_id for customer_id, _ in best]
    stmt = (
        select(
            Customer.id,
            Customer.code,
            Customer.name,
            Customer.city,
            owner.username.label("owner"),
            primary.phone,
        )
        .outerjoin(owner, owner.id == Customer.owner_id)
        .outerjoin(primary, (primary.customer_id == Customer.id) & primary.is_primary.is_(True))
        .where(Customer.id.in_(ids))
    )
    rows = ctx.frame(stmt).drop_duplicates("id").set_index("id")
    frame = rows.loc[[i for i in ids if i in rows.index]].reset_index(drop=True)
    ranking = dict(best)
    frame["match"] = [ranking[i][0] for i in ids if i in rows.index]
    frame["score"] = [ranking[i][1] for i in ids if i in rows.index]
    if not ctx.actor.role.see_pii:
        mask_frame(frame, ["phone"])
    return frame[COLUMNS]
