"""Merging one customer file into another, with everything under it, and undoing that.

A merge runs in one audited transaction (action "merge"): the survivor takes the other's
contacts, deals, follow-ups, orders, tickets, feedback, campaign memberships, leads and
tags; fields the user picks (``choices``) and fields the survivor lacks come from the
other, and so do the values of custom fields the survivor has none of (each audited as a
change of the survivor); the other is archived and points at the survivor. Before any of
that, the exact prior state of both customer rows, their tags, the ids of every row that
moves and the custom values taken are written to the ``merges`` row, which is what makes
:func:`unmerge` exact.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, and_, exists, func, inspect, or_, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.attributes import flag_modified

from ... import clock
from ...access import UNSCOPED, customer_out_of_scope
from ...audit import record
from ...context import Context
from ...domain.customers.custom_fields import FieldDef, definitions, stored_values, write_values
from ...errors import Conflict, FieldError, NotFound, ValidationError
from ...i18n import t
from ...store.models import (
    Base,
    CampaignMember,
    Contact,
    Customer,
    CustomerTag,
    Feedback,
    Interaction,
    Lead,
    Merge,
    Opportunity,
    Order,
    Ticket,
)
from .profiles import load
from .scoring import score_first

#: Fields a merge may take from the other customer, by the name ``choices`` uses; fields
#: that belong together (a province and its region) move together.
MERGE_FIELDS: dict[str, tuple[str, ...]] = {
    "name": ("name",),
    "kind": ("kind",),
    "external_id": ("external_id",),
    "industry": ("industry_section", "industry_division"),
    "size": ("size",),
    "province": ("province", "region"),
    "city": ("city",),
    "postcode": ("postcode",),
    "address": ("address",),
    "grade": ("grade",),
    "status": ("status",),
    "source": ("source",),
    "owner": ("owner_id",),
    "birthday": ("birthday",),
    "consent": ("consent_purpose", "consent_at"),
}
#: Phone, e-mail, contact name and title live on the primary contact: choosing the other's
#: for any of them makes the other's primary contact the survivor's.
CONTACT_CHOICE = "contact"
ALIASES = {
    "industry_section": "industry",
    "industry_division": "industry",
    "region": "province",
    "owner_id": "owner",
    "consent_purpose": "consent",
    "consent_at": "consent",
    "phone": CONTACT_CHOICE,
    "email": CONTACT_CHOICE,
    "title": CONTACT_CHOICE,
}
SIDES = ("survivor", "other")
#: Every table whose rows hang off a customer by customer_id (tags are handled apart,
#: because a tag both customers carry must not be there twice).
CHILDREN: tuple[type[Any], ...] = (
    Contact,
    Opportunity,
    Interaction,
    Order,
    Ticket,
    Feedback,
    CampaignMember,
    Lead,
)
#: Columns of a moved row that the merge changes besides customer_id, restored by unmerge.
RESTORED = ("is_primary", "updated_at")
_CHUNK = 500  # ids per IN list when rows are moved back


def _encode(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _decode(model: type[Base], key: str, value: Any) -> Any:
    if value is None:
        return None
    kind = model.__table__.columns[key].type.python_type
    if kind is datetime:
        return datetime.fromisoformat(value)
    if kind is date:
        return date.fromisoformat(value)
    if kind is Decimal:
        return Decimal(value)
    return value


def _columns(obj: Base) -> dict[str, Any]:
    """Every column of a row, JSON-ready."""
    return {attr.key: _encode(getattr(obj, attr.key)) for attr in inspect(obj).mapper.column_attrs}


def _restore(obj: Base, values: Mapping[str, Any]) -> None:
    """Set ``obj``'s columns to ``values`` exactly, its update time included (flagged, so
    that the column's on-update default does not replace it)."""
    model = type(obj)
    for key, value in values.items():
        if key != "id":
            setattr(obj, key, _decode(model, key, value))
    if "updated_at" in values:
        flag_modified(obj, "updated_at")


def _choices(choices: Mapping[str, str]) -> dict[str, str]:
    """Choices by field group; every unknown field or side is reported at once."""
    picked: dict[str, str] = {}
    errors: list[FieldError] = []
    for field, side in choices.items():
        group = ALIASES.get(field, field)
        if (group not in MERGE_FIELDS and group != CONTACT_CHOICE) or side not in SIDES:
            errors.append(FieldError(field, side, "merge_choice", t("merge_choice")))
        else:
            picked[group] = side
    if errors:
        raise ValidationError(errors)
    return picked


def _load(ctx: Context, session: Session, where: ColumnElement[bool], label: str) -> Customer:
    """A customer within the actor's scope, locked for the transaction."""
    found = session.execute(select(Customer).where(where).with_for_update()).scalar_one_or_none()
    if found is not None:
        return found
    hidden = session.execute(
        select(func.count())
        .select_from(Customer)
        .where(where)
        .execution_options(**{UNSCOPED: True})
    ).scalar_one()
    if hidden:
        raise customer_out_of_scope(ctx.actor, label)
    raise NotFound(t("access:customer_not_found", code=label))


def _rows(session: Session, model: type[Any], customer_id: int) -> list[Any]:
    """Every row of ``model`` under the customer. The customer is in the actor's scope, so
    all of its records move with it, including leads another rep owns."""
    stmt = select(model).where(model.customer_id == customer_id).order_by(model.id)
    return list(session.execute(stmt.execution_options(**{UNSCOPED: True})).scalars())


def _moved(row: Any) -> dict[str, Any]:
    kept = {key: _encode(getattr(row, key)) for key in RESTORED if hasattr(row, key)}
    return {"id": row.id, **kept}


def _pair_reasons(session: Session, survivor: Customer, other: Customer) -> dict[str, Any]:
    """Why the two are one customer (score and reason codes), for the merges row."""
    profiles = load(session.connection(), Customer.id.in_([survivor.id, other.id]))
    if len(profiles) < 2:
        return {"score": None, "reasons": []}
    scored = score_first(profiles)
    return {"score": int(scored.score[0]), "reasons": [list(r) for r in scored.reasons(0)]}


def merge(
    ctx: Context,
    survivor_code: str,
    other_code: str,
    *,
    choices: Mapping[str, str] | None = None,
) -> int:
    """Merge customer ``other_code`` into ``survivor_code``; returns the merge id.

    ``choices`` maps fields (name, industry, province, city, address, owner, phone …) to
    "survivor" or "other"; fields not chosen keep the survivor's value unless it is empty.
    Needs edit rights on both customers (:class:`AccessDenied`); a customer merged already
    cannot take part (:class:`Conflict`). All of it is one transaction.
    """
    ctx.scope.require(ctx.actor.role.edit_customers, "merge customers")
    picked = _choices(choices or {})
    if survivor_code == other_code:
        raise ValidationError(
            FieldError("other_code", other_code, "same_customer", t("same_customer"))
        )
    with ctx.session(action="merge") as session:
        survivor = _load(ctx, session, Customer.code == survivor_code, survivor_code)
        other = _load(ctx, session, Customer.code == other_code, other_code)
        for customer in (survivor, other):
            if customer.merged_into_id is not None:
                raise Conflict(t("merge:merged_already", code=customer.code))
        reasons = _pair_reasons(session, survivor, other)
        children = {model: _rows(session, model, other.id) for model in CHILDREN}
        own_contacts = _rows(session, Contact, survivor.id)
        own_tags = _rows(session, CustomerTag, survivor.id)
        their_tags = _rows(session, CustomerTag, other.id)
        snapshot = {
            "survivor": _columns(survivor),
            "other": _columns(other),
            "tags": {
                "survivor": [[tag.id, tag.tag] for tag in own_tags],
                "other": [[tag.id, tag.tag] for tag in their_tags],
            },
            "moved": {
                model.__tablename__: [_moved(row) for row in rows]
                for model, rows in children.items()
            },
            "survivor_contacts": [_moved(row) for row in own_contacts],
        }

        _take_fields(session, survivor, other, picked)
        fields = definitions(session, "customers", retired=True)
        snapshot["custom"] = _take_custom(ctx, session, fields, survivor, other)
        _move_contacts(survivor, own_contacts, children[Contact], picked.get(CONTACT_CHOICE))
        for model in CHILDREN:
            if model is not Contact:
                for row in children[model]:
                    row.customer_id = survivor.id
        carried = {tag.tag for tag in own_tags}
        for tag in their_tags:
            if tag.tag in carried:
                session.delete(tag)
            else:
                tag.customer_id = survivor.id
        other.merged_into_id = survivor.id
        other.status = "archived"
        row = Merge(
            survivor_id=survivor.id,
            merged_id=other.id,
            snapshot=json.dumps(snapshot, ensure_ascii=False),
            reasons=json.dumps(reasons, ensure_ascii=False),
            actor=ctx.actor.username,
        )
        session.add(row)
        session.flush()
        _log(session, ctx, row.id, survivor, other, "merge")
        return row.id


def _take_fields(
    session: Session, survivor: Customer, other: Customer, picked: Mapping[str, str]
) -> None:
    """Copy the chosen fields, and those the survivor lacks, from the other customer."""
    for group, fields in MERGE_FIELDS.items():
        choice = picked.get(group)
        empty = all(getattr(survivor, f) in (None, "") for f in fields)
        offered = any(getattr(other, f) not in (None, "") for f in fields)
        if choice != "other" and not (choice is None and empty and offered):
            continue
        values = {f: getattr(other, f) for f in fields}
        if group == "external_id":  # unique: the other lets go of it first
            other.external_id = None
            session.flush()
        for field, value in values.items():
            setattr(survivor, field, value)
    moments = [m for m in (survivor.last_contact_at, other.last_contact_at) if m is not None]
    if moments:
        survivor.last_contact_at = max(moments)


def _take_custom(
    ctx: Context, session: Session, fields: list[FieldDef], survivor: Customer, other: Customer
) -> list[str]:
    """Give the survivor the other's custom values where it has none (audited under the
    survivor, action merge); the keys taken, which :func:`unmerge` clears again."""
    values = stored_values(session, fields, [survivor.id, other.id])
    own, theirs = values.get(survivor.id, {}), values.get(other.id, {})
    taken = {key: value for key, value in theirs.items() if key not in own}
    if taken:
        write_values(
            session,
            fields,
            {survivor.id: taken},
            refs={survivor.id: survivor.code},
            actor=ctx.actor.username,
            action="merge",
        )
    return sorted(taken)


def _move_contacts(
    survivor: Customer, own: list[Contact], theirs: list[Contact], choice: str | None
) -> None:
    """Move the other's contacts over. One primary contact stays: the survivor's, or the
    other's when chosen or when the survivor has none."""
    has_primary = any(contact.is_primary for contact in own)
    for contact in theirs:
        contact.customer_id = survivor.id
        if contact.is_primary and has_primary and choice != "other":
            contact.is_primary = False
    if choice == "other" and any(contact.is_primary for contact in theirs):
        for contact in own:
            contact.is_primary = False


def _log(
    session: Session, ctx: Context, merge_id: int, survivor: Customer, other: Customer, action: str
) -> None:
    """One line in each customer's history naming the other (the field changes are logged
    by the session)."""
    for customer, field, value in (
        (survivor, "absorbed", other.code),
        (other, "merged_into", survivor.code),
    ):
        record(
            session,
            actor=ctx.actor.username,
            action=action,
            entity="merges",
            entity_id=merge_id,
            ref=customer.code,
            field=field,
            new_value=value,
        )


def unmerge(ctx: Context, merge_id: int) -> None:
    """Undo merge ``merge_id``: both customers get their exact prior fields and tags back,
    and every row that moved goes back to the other customer (rows added to the survivor
    since stay). Refused (:class:`Conflict`) for a merge undone already, or while a later
    merge of either customer is in force (undo that one first)."""
    ctx.scope.require(ctx.actor.role.edit_customers, "unmerge customers")
    with ctx.session(action="unmerge") as session:
        row = session.execute(
            select(Merge).where(Merge.id == merge_id).with_for_update()
        ).scalar_one_or_none()
        if row is None:
            raise NotFound(t("merge:no_merge", id=merge_id))
        if row.unmerged_at is not None:
            raise Conflict(t("merge:undone_already", id=merge_id, when=row.unmerged_at))
        later = (
            session.execute(
                select(Merge.id)
                .where(_later_in_force(Merge, merge_id, (row.survivor_id, row.merged_id)))
                .order_by(Merge.id.desc())
            )
            .scalars()
            .first()
        )
        if later is not None:
            raise Conflict(t("merge:later_merge", later=later, id=merge_id))
        snapshot = json.loads(row.snapshot)
        survivor = _load(ctx, session, Customer.id == row.survivor_id, f"#{row.survivor_id}")
        other = _load(ctx, session, Customer.id == row.merged_id, f"#{row.merged_id}")
        if survivor.external_id != snapshot["survivor"]["external_id"]:
            survivor.external_id = None  # unique: free it for the other first
            session.flush()
        _restore(survivor, snapshot["survivor"])
        _restore(other, snapshot["other"])
        if snapshot.get("custom"):  # the keys taken (a merge from before custom fields: none)
            write_values(
                session,
                definitions(session, "customers", retired=True),
                {survivor.id: dict.fromkeys(snapshot["custom"])},
                refs={survivor.id: survivor.code},
                actor=ctx.actor.username,
                action="unmerge",
            )
        for model in CHILDREN:
            _move_back(session, model, snapshot["moved"][model.__tablename__], survivor, other)
        for entry in snapshot["survivor_contacts"]:
            contact = session.get(Contact, entry["id"])
            changed = contact is not None and contact.is_primary != entry["is_primary"]
            if contact is not None and changed and contact.customer_id == survivor.id:
                _restore(contact, {key: entry[key] for key in RESTORED})
        for tag_id, tag in snapshot["tags"]["other"]:
            found = session.get(CustomerTag, tag_id)
            if found is None:
                session.add(CustomerTag(id=tag_id, customer_id=other.id, tag=tag))
            elif found.customer_id == survivor.id:
                found.customer_id = other.id
        row.unmerged_at = clock.now()
        session.flush()
        _log(session, ctx, row.id, survivor, other, "unmerge")


def merge_history(ctx: Context, *, limit: int = 200) -> pd.DataFrame:
    """The latest merges of customers the user can see, newest first, with the number that
    :func:`unmerge` takes and whether it can be undone now (not undone yet, and no later
    merge of either customer in force)."""
    survivor, merged, later = aliased(Customer), aliased(Customer), aliased(Merge)
    blocked = exists().where(_later_in_force(later, Merge.id, (Merge.survivor_id, Merge.merged_id)))
    query = (
        select(
            Merge.id.label("merge_id"),
            Merge.merged_at,
            Merge.actor,
            survivor.code.label("survivor_code"),
            survivor.name.label("survivor_name"),
            merged.code.label("merged_code"),
            merged.name.label("merged_name"),
            Merge.reasons,
            Merge.unmerged_at,
            and_(Merge.unmerged_at.is_(None), ~blocked).label("undoable"),
        )
        .join(survivor, survivor.id == Merge.survivor_id)
        .join(merged, merged.id == Merge.merged_id)
        .where(Merge.survivor_id.in_(ctx.scope.customer_ids()))
        .order_by(Merge.id.desc())
        .limit(limit)
    )
    frame = ctx.frame(query)
    frame["score"] = [
        json.loads(reasons).get("score") if reasons else None for reasons in frame.pop("reasons")
    ]
    frame["undoable"] = frame["undoable"].astype(bool)
    return frame


def _later_in_force(
    later: Any, merge_id: Any, customer_ids: tuple[Any, Any]
) -> ColumnElement[bool]:
    """Merges after ``merge_id``, still in force, of either customer: while there is one,
    ``merge_id`` cannot be undone exactly (undo the later one first)."""
    return and_(
        later.id > merge_id,
        later.unmerged_at.is_(None),
        or_(later.survivor_id.in_(customer_ids), later.merged_id.in_(customer_ids)),
    )


def _move_back(
    session: Session,
    model: type[Any],
    moved: list[dict[str, Any]],
    survivor: Customer,
    other: Customer,
) -> None:
    """Give ``other`` back the rows listed in ``moved`` that are still on the survivor,
    with their restored columns."""
    by_id = {entry["id"]: entry for entry in moved}
    ids = list(by_id)
    for start in range(0, len(ids), _CHUNK):
        rows = session.execute(
            select(model)
            .where(model.id.in_(ids[start : start + _CHUNK]), model.customer_id == survivor.id)
            .execution_options(**{UNSCOPED: True})
        ).scalars()
        for found in rows:
            entry = by_id[found.id]
            found.customer_id = other.id
            _restore(found, {key: entry[key] for key in RESTORED if key in entry})
