"""Custom fields in files: the columns of a kind's custom fields.

An import and an export of a kind read its active custom fields (see
:mod:`crmlib.domain.customers.custom_fields`) when they start: each becomes a column named
``custom:<key>``, headed by the field's name in the file's language, recognised by its
key and by both names, checked by the field's type, written by the kind's writer and read
by the export from ``custom_values``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..domain.customers.custom_fields import AUDIT_PREFIX, FieldDef
from .kinds import Column, FileKind

#: What a custom column's name starts with, in files' clean values and export results.
PREFIX = AUDIT_PREFIX


@dataclass(frozen=True)
class CustomColumn(Column):
    """A column of a custom field: its headers are the field's key and names."""

    field: FieldDef | None = None

    def header(self, lang: str) -> str:
        assert self.field is not None
        return self.field.label(lang)

    def headers(self) -> Iterator[str]:
        assert self.field is not None
        yield from (self.name, *self.field.aliases())


def custom_columns(fields: list[FieldDef]) -> tuple[CustomColumn, ...]:
    """One column per custom field, checked by the field's type."""
    return tuple(
        CustomColumn(f"{PREFIX}{f.key}", f.rule, "", None, None, "", field=f) for f in fields
    )


def custom_fields_of(spec: FileKind) -> list[FieldDef]:
    """The custom fields among ``spec``'s columns."""
    return [c.field for c in spec.columns if isinstance(c, CustomColumn) and c.field]
