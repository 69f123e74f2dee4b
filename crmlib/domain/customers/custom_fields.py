"""Custom fields: fields an administrator adds to customers, leads, deals (opportunities)
and tickets, so that what a company records beyond the built-in fields (an industry
detail, a contract date, a credit line) has a place in the entry form, frames, files,
segment rules and the history.

A field has a key (``industry_detail``: the column of frames and the name rules use), a
name in Chinese and in English (the headers of exports and imports), a type (text,
number, money, date, choice with its choices) whose rule checks every value, and may be
retired (its values are kept, it leaves forms and files). Defining and retiring are for
roles that manage settings (administrators), and the audit log records both.

Values live one row per record and field in ``custom_values``, as text and, for numbers
and money, as a number too (see :class:`crmlib.store.models.CustomValue`). Every change of
a value is audited as field ``custom:<key>`` of its record (entity: the kind), filed under
its customer's code as the record's other changes are, so :func:`crmlib.history.history`
shows it with the field's name in the reader's language. Every kind goes through the same
functions: :func:`check_values` and :func:`write_values` for the API and imports,
:func:`stored_values` and :func:`add_columns` for reading.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, cast

import pandas as pd
from sqlalchemy import Connection, Table, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from ... import clock
from ...context import Context, localised
from ...errors import FieldError, ValidationError
from ...i18n import LANGUAGES, t
from ...missing import is_missing
from ...registry import Registry
from ...rules import FieldRule, Rule, RuleViolation, amount, date_value, text
from ...rules.base import rule_kind
from ...rules.fields import clean_text, trimmed_text
from ...store.models import (
    Base,
    Contact,
    Customer,
    CustomField,
    CustomValue,
    Lead,
    Opportunity,
    Ticket,
)
from ...team_audit import write_events

#: The table of the records of each kind that takes custom fields.
RECORDS: dict[str, type[Base]] = {
    "customers": Customer,
    "leads": Lead,
    "opportunities": Opportunity,
    "tickets": Ticket,
}
#: The kinds of record that take custom fields.
KINDS = tuple(RECORDS)
#: What a key looks like: the column name of frames and the field name of segment rules.
KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
#: The prefix of a custom field's key in the audit log (``custom:industry_detail``).
AUDIT_PREFIX = "custom:"
#: A number with thousands separators: 1,200 or -1,200,000.25 (not 1,2,3).
GROUPED = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")
#: How many ids one IN (...) lookup carries.
LOOKUP_BATCH = 900
#: Longest text value, name and choice.
MAX_TEXT = 500
MAX_NAME = 100
MAX_CHOICES = 100
#: Largest number a number field holds (what ``Numeric(24, 6)`` stores).
MAX_NUMBER = Decimal(10) ** 18
#: Names a kind's custom field may not take: the columns of the kind's frames and files.
_SHARED = frozenset({"industry", "owner", "team", "custom", "customer_code", "campaign"})
RESERVED = {
    "customers": frozenset(Customer.__table__.c.keys())
    | frozenset(Contact.__table__.c.keys())
    | {"contact", "tags", "tag"}
    | _SHARED,
    "leads": frozenset(Lead.__table__.c.keys()) | _SHARED,
    "opportunities": frozenset(Opportunity.__table__.c.keys())
    | {"customer_external_id", "customer_name"}
    | _SHARED,
    "tickets": frozenset(Ticket.__table__.c.keys())
    | {"customer_external_id", "customer_name", "assignee", "reopens", "sla_state"}
    | _SHARED,
}


def _number(value: Any) -> Decimal | None:
    """A number (negative allowed) with at most six decimals: 12, -3.5, 1,200.25."""
    if is_missing(value) or value == "":
        return None
    if isinstance(value, bool):
        raise RuleViolation("custom_number", t("custom:bad_number"))
    cleaned = clean_text(value) or ""
    if "," in cleaned:  # thousands separators only between groups of three digits
        if not GROUPED.fullmatch(cleaned):
            raise RuleViolation("custom_number", t("custom:bad_number"))
        cleaned = cleaned.replace(",", "")
    try:
        number = Decimal(cleaned) if not isinstance(value, float) else Decimal(repr(value))
    except InvalidOperation:
        raise RuleViolation("custom_number", t("custom:bad_number")) from None
    if not number.is_finite() or abs(number) >= MAX_NUMBER:
        raise RuleViolation("custom_number", t("custom:bad_number"))
    exponent = number.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -6:
        raise RuleViolation("custom_number", t("custom:bad_number"))
    return number


def _choice(value: Any, *, choices: tuple[str, ...]) -> str | None:
    """One of the field's choices, as the administrator wrote it; read width- and
    case-blind."""
    wanted = clean_text(value)
    if wanted is None:
        return None
    for choice in choices:
        if (clean_text(choice) or "").casefold() == wanted.casefold():
            return choice
    raise RuleViolation("custom_choice", t("custom:bad_choice", choices=", ".join(choices)))


NUMBER = rule_kind("custom_number", _number)
NUMBER.plain = number = FieldRule(NUMBER)
CHOICE = rule_kind("custom_choice", _choice)


@dataclass(frozen=True)
class Type:
    """A type of custom field: whether it is stored as a number too, and its rule."""

    name: str
    numeric: bool

    def rule(self, choices: tuple[str, ...]) -> Rule:
        if self.name == "choice":
            return FieldRule(CHOICE, choices=choices)
        return {
            "text": text(MAX_TEXT),
            "number": number,
            "money": amount,
            "date": date_value,
        }[self.name]


TYPES: Registry[Type] = Registry("type")
for _type in (
    Type("text", False),
    Type("number", True),
    Type("money", True),
    Type("date", False),
    Type("choice", False),
):
    TYPES.add(_type.name, _type)


@dataclass(frozen=True)
class FieldDef:
    """One custom field as defined."""

    id: int
    kind: str
    key: str
    #: The field's name in each language (``{"zh": "行业细分", "en": "Industry detail"}``).
    names: Mapping[str, str]
    type: str
    choices: tuple[str, ...] = ()
    active: bool = True

    def label(self, lang: str) -> str:
        """The field's name in ``lang`` (English for ``en``, else Chinese)."""
        return self.names["en" if lang == "en" else "zh"]

    @property
    def rule(self) -> Rule:
        return TYPES.get(self.type).rule(self.choices)

    def aliases(self) -> tuple[str, ...]:
        """What people may call the field: its key and its names."""
        return (self.key, *self.names.values())

    def check(self, value: Any) -> Any:
        """The value to store for ``value`` (None to clear), or :class:`RuleViolation`."""
        return self.rule(None if is_missing(value) else value)

    def stored(self, value: Any) -> dict[str, Any]:
        """The columns of ``custom_values`` that hold a clean value."""
        return {
            "text_value": self.text(value),
            "number_value": value if TYPES.get(self.type).numeric else None,
        }

    def text(self, value: Any) -> str | None:
        """A clean value as text: plain decimals, ISO days, text as typed."""
        if value is None:
            return None
        if isinstance(value, Decimal) and self.type == "money":
            return f"{value:.2f}"
        if isinstance(value, Decimal):
            return format(value.normalize(), "f") if value else "0"
        if isinstance(value, date):
            return value.isoformat()
        return str(value)

    def read(self, text_value: str | None) -> Any:
        """A stored value as Python: Decimal for numbers and money, date for dates."""
        if text_value is None:
            return None
        if self.type in ("number", "money"):
            return Decimal(text_value)
        if self.type == "date":
            return date.fromisoformat(text_value)
        return text_value


def _definition(row: Any) -> FieldDef:
    return FieldDef(
        id=row.id,
        kind=row.kind,
        key=row.key,
        names=json.loads(row.names),
        type=row.type,
        choices=tuple(json.loads(row.choices)) if row.choices else (),
        active=bool(row.active),
    )


def definitions(conn: Connection | Session, kind: str, *, retired: bool = False) -> list[FieldDef]:
    """The custom fields of ``kind`` in the order they were defined (``retired``: those
    retired too)."""
    table = cast(Table, CustomField.__table__)
    stmt = select(table).where(table.c.kind == kind).order_by(table.c.id)
    if not retired:
        stmt = stmt.where(table.c.active.is_(True))
    return [_definition(row) for row in conn.execute(stmt)]


def labels(conn: Connection | Session, lang: str) -> dict[tuple[str, str], str]:
    """Every custom field's name in ``lang``, retired ones too, by (kind, audit field):
    what the history shows for ``custom:<key>``."""
    table = cast(Table, CustomField.__table__)
    return {
        (row.kind, f"{AUDIT_PREFIX}{row.key}"): json.loads(row.names)[
            "en" if lang == "en" else "zh"
        ]
        for row in conn.execute(select(table.c.kind, table.c.key, table.c.names))
    }


def _kind_label(kind: str) -> str:
    """What people call a kind of record, in the current language."""
    return t(f"file_kind:{kind}") if kind in KINDS else kind


def _find(fields: Sequence[FieldDef], name: str) -> FieldDef | None:
    wanted = (clean_text(name) or "").casefold()
    for field in fields:
        if wanted in {(clean_text(n) or "").casefold() for n in field.aliases()}:
            return field
    return None


def check_values(
    fields: Sequence[FieldDef], given: Mapping[str, Any], kind: str
) -> tuple[dict[str, Any], list[FieldError]]:
    """Values by key or name, checked by their fields' types: clean values by key, and
    every problem (an unknown field names the fields that exist)."""
    clean: dict[str, Any] = {}
    errors: list[FieldError] = []
    for name, value in given.items():
        field = _find(fields, name)
        if field is None:
            known = ", ".join(f"{f.key} ({' / '.join(f.names.values())})" for f in fields) or "-"
            errors.append(
                FieldError(
                    name,
                    value,
                    "unknown_field",
                    t("custom:unknown", kind=_kind_label(kind), known=known),
                )
            )
            continue
        try:
            clean[field.key] = field.check(value)
        except RuleViolation as violation:
            errors.append(FieldError(field.key, value, violation.rule, violation.message))
    return clean, errors


def stored_values(
    conn: Connection | Session, fields: Sequence[FieldDef], record_ids: Iterable[int]
) -> dict[int, dict[str, Any]]:
    """The values of ``fields`` of each record, by record id and key (records without any
    are left out)."""
    by_id = {f.id: f for f in fields}
    ids = sorted(set(record_ids))
    found: dict[int, dict[str, Any]] = {}
    if not by_id or not ids:
        return found
    table = cast(Table, CustomValue.__table__)
    for start in range(0, len(ids), LOOKUP_BATCH):
        rows = conn.execute(
            select(table.c.record_id, table.c.field_id, table.c.text_value).where(
                table.c.field_id.in_(list(by_id)),
                table.c.record_id.in_(ids[start : start + LOOKUP_BATCH]),
            )
        )
        for row in rows:
            field = by_id[row.field_id]
            found.setdefault(row.record_id, {})[field.key] = field.read(row.text_value)
    return found


def write_values(
    conn: Connection | Session,
    fields: Sequence[FieldDef],
    values: Mapping[int, Mapping[str, Any]],
    *,
    refs: Mapping[int, str | None],
    actor: str,
    action: str,
    entity: str = "customers",
    batch_id: int | None = None,
    skip_empty: bool = False,
) -> set[int]:
    """Store clean values by record id and key (None clears a value, or changes nothing
    when ``skip_empty``, as a blank import cell), each change audited under the record's
    ref (``refs``) as field ``custom:<key>``; the ids of the records that changed. A few
    statements whatever the number of records, so an import pays little per row."""
    by_key = {f.key: f for f in fields}
    by_id = {f.id: f for f in fields}
    table = cast(Table, CustomValue.__table__)
    ids = sorted(values)
    current: dict[tuple[int, str], Any] = {}
    for start in range(0, len(ids), LOOKUP_BATCH):
        rows = conn.execute(
            select(table.c.id, table.c.record_id, table.c.field_id, table.c.text_value).where(
                table.c.field_id.in_(list(by_id)),
                table.c.record_id.in_(ids[start : start + LOOKUP_BATCH]),
            )
        )
        for row in rows:
            current[(row.record_id, by_id[row.field_id].key)] = row
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    deletes: list[int] = []
    events: list[dict[str, Any]] = []
    when = clock.now()
    for record_id in ids:
        for key, value in values[record_id].items():
            field, stored = by_key[key], current.get((record_id, key))
            old = stored.text_value if stored is not None else None
            if (value is None and skip_empty) or old == field.text(value):
                continue
            if stored is None:  # a value for a field the record had none of
                inserts.append(
                    {"field_id": field.id, "record_id": record_id, **field.stored(value)}
                )
            elif value is None:
                deletes.append(stored.id)
            else:
                updates.append({"_id": stored.id, **field.stored(value)})
            events.append(
                {
                    "occurred_at": when,
                    "actor": actor,
                    "action": action,
                    "entity": entity,
                    "entity_id": record_id,
                    "ref": refs.get(record_id),
                    "field": f"{AUDIT_PREFIX}{key}",
                    "old_value": old,
                    "new_value": field.text(value),
                    "batch_id": batch_id,
                }
            )
    if inserts:
        conn.execute(insert(table), inserts)
    if updates:
        conn.execute(
            update(table)
            .where(table.c.id == bindparam("_id"))
            .values(text_value=bindparam("text_value"), number_value=bindparam("number_value")),
            updates,
        )
    for start in range(0, len(deletes), LOOKUP_BATCH):
        conn.execute(delete(table).where(table.c.id.in_(deletes[start : start + LOOKUP_BATCH])))
    write_events(conn, events)
    return {event["entity_id"] for event in events}


def refs(conn: Connection | Session, kind: str, record_ids: Iterable[int]) -> dict[int, str | None]:
    """The code each record's changes are filed under: a customer's own, else its
    customer's (a lead without a customer: None), as the audit log files its other
    changes."""
    model = cast(Table, RECORDS[kind].__table__)
    ids = sorted(set(record_ids))
    found: dict[int, str | None] = dict.fromkeys(ids)
    customers = cast(Table, Customer.__table__)
    for start in range(0, len(ids), LOOKUP_BATCH):
        batch = ids[start : start + LOOKUP_BATCH]
        if kind == "customers":
            stmt = select(customers.c.id, customers.c.code).where(customers.c.id.in_(batch))
        else:
            stmt = (
                select(model.c.id, customers.c.code)
                .join(customers, customers.c.id == model.c.customer_id)
                .where(model.c.id.in_(batch))
            )
        found.update((row.id, row.code) for row in conn.execute(stmt))
    return found


def entered(conn: Connection | Session, kind: str, given: Mapping[str, Any] | None) -> Entered:
    """The values ``given`` to the API's ``custom=`` of a record of ``kind``, checked by
    their fields' types (their errors go out with the record's others)."""
    fields = definitions(conn, kind)
    clean, errors = check_values(fields, given or {}, kind)
    return Entered(kind, fields, clean, errors)


@dataclass(frozen=True)
class Entered:
    """Custom values entered through the API, checked, waiting for their record."""

    kind: str
    fields: list[FieldDef]
    clean: dict[str, Any]
    errors: list[FieldError]

    def save(self, session: Session, record_id: int, *, actor: str, action: str = "update") -> None:
        """Store the values of record ``record_id`` (flushed), each change in its history."""
        if self.clean:
            write_values(
                session,
                self.fields,
                {record_id: self.clean},
                refs=refs(session, self.kind, [record_id]),
                actor=actor,
                action=action,
                entity=self.kind,
            )


def values_of(conn: Connection | Session, kind: str, record_id: int) -> dict[str, Any]:
    """The active custom fields' values of one record, by key (what ``get`` shows)."""
    return stored_values(conn, definitions(conn, kind), [record_id]).get(record_id, {})


def forget_record(session: Session, kind: str, record_id: int) -> None:
    """Remove the values of a deleted record (ids may be handed out again)."""
    ids = select(CustomField.id).where(CustomField.kind == kind)
    table = cast(Table, CustomValue.__table__)
    session.execute(delete(table).where(table.c.record_id == record_id, table.c.field_id.in_(ids)))


def add_columns(
    conn: Connection | Session, df: pd.DataFrame, kind: str, ids: Sequence[int]
) -> pd.DataFrame:
    """``df`` (one row per record, in the order of ``ids``) with a column per active custom
    field of ``kind``, named by its key; a missing value is None."""
    fields = definitions(conn, kind)
    values = stored_values(conn, fields, ids)
    for field in fields:
        df[field.key] = pd.Series(
            [values.get(i, {}).get(field.key) for i in ids], index=df.index, dtype=object
        )
    return df


class CustomFields:
    """``ws.custom_fields``: define, list and retire the custom fields of a kind."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    @localised
    def define(
        self,
        kind: str,
        key: str,
        *,
        names: Mapping[str, str],
        type: str,
        choices: Sequence[str] | None = None,
    ) -> FieldDef:
        """Add a custom field to ``kind`` (administrators: the ``manage_settings``
        permission); audited. Keys, and names within a kind, are unique."""
        self._require(t("custom:action_define", kind=_kind_label(kind), field=key))
        errors = _problems(kind, key, names, type, choices)
        if errors:
            raise ValidationError(errors)
        listed = tuple(trimmed_text(c) or "" for c in choices or ())
        with self._ctx.session() as session:
            taken = definitions(session, kind, retired=True)
            clashes = [
                FieldError(arg, given, "unique", t("custom:taken", name=given, field=other.key))
                for arg, given in (("key", key), *(("names", n) for n in names.values()))
                for other in taken
                if (clean_text(given) or "").casefold()
                in {(clean_text(n) or "").casefold() for n in other.aliases()}
            ]
            if clashes:
                raise ValidationError(clashes)
            row = CustomField(
                kind=kind,
                key=key,
                names=json.dumps(
                    {lang: trimmed_text(names[lang]) for lang in LANGUAGES}, ensure_ascii=False
                ),
                type=type,
                choices=json.dumps(listed, ensure_ascii=False) if type == "choice" else None,
                active=True,
                created_by=self._ctx.actor.username,
            )
            session.add(row)
            session.flush()
            return _definition(row)

    @localised
    def retire(self, kind: str, key: str) -> FieldDef:
        """Take a field out of forms, frames and files; its values are kept (audited)."""
        self._require(t("custom:action_retire", kind=_kind_label(kind), field=key))
        with self._ctx.session() as session:
            row = session.execute(
                select(CustomField).where(CustomField.kind == kind, CustomField.key == key)
            ).scalar_one_or_none()
            if row is None or not row.active:
                known = ", ".join(f.key for f in definitions(session, kind)) or "-"
                raise ValidationError(
                    FieldError(
                        "key",
                        key,
                        "unknown_field",
                        t("custom:unknown", kind=_kind_label(kind), known=known),
                    )
                )
            row.active = False
            session.flush()
            return _definition(row)

    @localised
    def fields(self, kind: str = "customers") -> list[FieldDef]:
        """The active custom fields of ``kind``, as the forms and files use them."""
        self._kind(kind)
        with self._ctx.reading() as conn:
            return definitions(conn, kind)

    @localised
    def frame(self, kind: str | None = None, *, retired: bool = False) -> pd.DataFrame:
        """The custom fields (of ``kind``, else of every kind) as a table: key, names, type
        (in the reader's language), choices, whether active."""
        rows = []
        with self._ctx.reading() as conn:
            for name in [self._kind(kind)] if kind else list(KINDS):
                rows += definitions(conn, name, retired=retired)
        return pd.DataFrame(
            {
                "kind": [f.kind for f in rows],
                "key": [f.key for f in rows],
                "name_zh": [f.names["zh"] for f in rows],
                "name_en": [f.names["en"] for f in rows],
                "type": [f.type for f in rows],
                "type_label": [t(f"custom_type:{f.type}") for f in rows],
                "choices": [" / ".join(f.choices) for f in rows],
                "active": [f.active for f in rows],
            }
        )

    def list(self, kind: str | None = None, *, retired: bool = False) -> pd.DataFrame:
        """Same as :meth:`frame`."""
        return self.frame(kind, retired=retired)

    def _require(self, action: str) -> None:
        self._ctx.scope.require(self._ctx.actor.role.manage_settings, action)

    @staticmethod
    def _kind(kind: str) -> str:
        if kind not in KINDS:
            raise ValidationError(
                FieldError(
                    "kind", kind, "custom_kind", t("custom:bad_kind", kinds=", ".join(KINDS))
                )
            )
        return kind


def _problems(
    kind: str,
    key: str,
    names: Mapping[str, str],
    type: str,
    choices: Sequence[str] | None,
) -> list[FieldError]:
    """Everything wrong with a definition, at once."""
    errors: list[FieldError] = []
    try:
        CustomFields._kind(kind)
    except ValidationError as error:
        errors += error.errors
    if not KEY.match(key or "") or key in RESERVED.get(kind, frozenset()):
        errors.append(FieldError("key", key, "custom_key", t("custom:bad_key")))
    for lang in LANGUAGES:
        name = names.get(lang)
        cleaned = trimmed_text(name)
        if not cleaned or len(cleaned) > MAX_NAME:
            errors.append(
                FieldError(
                    f"names.{lang}", name, "custom_name", t("custom:bad_name", limit=MAX_NAME)
                )
            )
    try:
        TYPES.get(type)
    except ValidationError as error:
        errors += error.errors
    listed = [trimmed_text(c) for c in choices or ()]
    if type == "choice" and (
        not listed
        or None in listed
        or len(set(listed)) != len(listed)
        or len(listed) > MAX_CHOICES
        or any(len(c or "") > MAX_NAME for c in listed)
    ):
        errors.append(FieldError("choices", choices, "custom_choices", t("custom:bad_choices")))
    if type != "choice" and listed:
        errors.append(FieldError("choices", choices, "custom_choices", t("custom:no_choices")))
    return errors
