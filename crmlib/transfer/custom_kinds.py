"""A kind of file with its custom fields: the columns and export expressions an import and
an export of the kind add for its active custom fields (see :mod:`.custom`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial

from sqlalchemy import Connection, select

from ..access import Scope
from ..domain.customers.custom_fields import RECORDS, FieldDef, definitions
from ..registry import Registry
from ..store.models import CustomValue
from .catalogue import Kind
from .custom import PREFIX, custom_columns
from .sources import Source


def _source(
    base: Callable[[Scope], Source], kind: str, fields: list[FieldDef], scope: Scope
) -> Source:
    expressions, stmt = base(scope)
    record = RECORDS[kind].__table__.c.id
    for field in fields:
        expressions[f"{PREFIX}{field.key}"] = (
            select(CustomValue.text_value)
            .where(CustomValue.field_id == field.id, CustomValue.record_id == record)
            .scalar_subquery()
        )
    return expressions, stmt


def extended(conn: Connection, entry: Kind) -> Kind:
    """``entry`` with a column and an export expression per active custom field of its
    kind; a kind without custom fields as it is."""
    if entry.name not in RECORDS:
        return entry
    return with_fields(entry, definitions(conn, entry.name))


def with_fields(entry: Kind, fields: Sequence[FieldDef]) -> Kind:
    """``entry`` with a column and an export expression per field of ``fields`` (the
    kind's active custom fields, read once by the caller)."""
    if not fields:
        return entry
    spec = replace(
        entry.spec,
        columns=(*entry.spec.columns, *custom_columns(list(fields))),
        _fields=Registry("field"),
    )
    source: Callable[[Scope], Source] = partial(_source, entry.source, entry.name, list(fields))
    return replace(entry, spec=spec, source=source)
