"""Forms made of :class:`~crmlib.ui.fields.ValidatedField` s, generated from field specs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import ipywidgets as widgets

from ..errors import ValidationError
from .fields import FieldSpec, ValidatedField
from .texts import say


class RecordForm(widgets.VBox):
    """Fields by name, in two columns; values out, values in, and errors shown per field."""

    def __init__(self, specs: Iterable[FieldSpec], lang: str, *, columns: int = 2) -> None:
        self.lang = lang
        self.fields: dict[str, ValidatedField] = {s.name: ValidatedField(s, lang) for s in specs}
        self.general = widgets.HTML()
        boxes = list(self.fields.values())
        rows = [widgets.HBox(boxes[i : i + columns]) for i in range(0, len(boxes), columns)]
        super().__init__([*rows, self.general])
        self.loaded: dict[str, Any] = {}

    def __getitem__(self, name: str) -> ValidatedField:
        return self.fields[name]

    def values(self) -> dict[str, Any]:
        """Every field's value (None for blanks)."""
        return {name: field.value for name, field in self.fields.items()}

    def filled(self) -> dict[str, Any]:
        """Only the fields that have a value: what a new record is made of."""
        return {k: v for k, v in self.values().items() if v is not None}

    def changes(self) -> dict[str, Any]:
        """Fields that differ from what :meth:`load` put there (a cleared field is None)."""
        return {k: v for k, v in self.values().items() if _same(v) != _same(self.loaded.get(k))}

    def load(self, values: Mapping[str, Any]) -> None:
        """Fill the fields from a record; fields it lacks are cleared."""
        self.loaded = {name: values.get(name) for name in self.fields}
        for name, field in self.fields.items():
            field.value = values.get(name)
        self.loaded = self.values()
        self.clear_errors()

    def clear(self) -> None:
        self.load({})

    def check(self) -> int:
        """Run every field's rule; the number of problems found."""
        return sum(field.check() is not None for field in self.fields.values())

    def clear_errors(self) -> None:
        for field in self.fields.values():
            field.show(None)
        self.general.value = ""

    def show_errors(self, error: ValidationError) -> None:
        """Each problem under its field; problems of fields the form lacks above the buttons."""
        self.clear_errors()
        elsewhere = []
        for problem in error.errors:
            field = self.fields.get(problem.field)
            if field is not None:
                field.show(problem.message)
            else:
                elsewhere.append(f"{problem.field}: {problem.message}")
        if elsewhere:
            self.general.value = "<br>".join(elsewhere)
        self.general.value += f"<div>{say('not_saved', self.lang, count=len(error.errors))}</div>"


def _same(value: Any) -> str:
    return "" if value is None else str(value).strip()
