"""Input fields that check their value with crmlib's own rule as it is typed.

A :class:`FieldSpec` says what a field is (name, labels, rule, choices, required); the rule
is the very one the API and the importer apply, so the form can never accept what a save
would refuse, and its message comes in the user's language.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets

from ..errors import FieldError
from ..i18n import speaking
from ..reference.enums import Enumeration
from ..reference.industries import DIVISIONS, SECTIONS
from ..reference.regions import PROVINCES
from ..rules import Rule, RuleViolation
from ..transfer.kinds import Column
from .base import COLOURS
from .texts import say

Choices = Sequence[tuple[str, str]]


@dataclass(frozen=True)
class FieldSpec:
    """One input of a form, in the form's language: its ``label`` and ``choices`` (label,
    stored value), which make it a dropdown, are already in that language."""

    name: str
    label: str
    rule: Rule | None = None
    choices: Choices | None = None
    required: bool = False
    multiline: bool = False
    placeholder: str = ""


def enum_choices(enumeration: Enumeration, lang: str) -> list[tuple[str, str]]:
    return [(choice.label(lang), choice.code) for choice in enumeration]


def industry_choices(lang: str) -> list[tuple[str, str]]:
    """GB/T 4754 sections, each followed by its divisions (indented)."""
    choices = []
    for letter, section in SECTIONS.items():
        choices.append((f"{letter} {section.label(lang)}", letter))
        choices += [
            (f"\u2003{d.code} {d.label(lang)}", d.code)
            for d in DIVISIONS.values()
            if d.section == letter
        ]
    return choices


def province_choices(lang: str) -> list[tuple[str, str]]:
    return [(p.label(lang), p.name) for p in PROVINCES]


def column_spec(column: Column, lang: str, rule: Rule | None = None) -> FieldSpec:
    """A form field for an import column: its labels, rule and reference choices."""
    choices: Choices | None = None
    if column.enum is not None:
        choices = enum_choices(column.enum, lang)
    elif column.choices == "industry":
        choices = industry_choices(lang)
    elif column.choices == "province":
        choices = province_choices(lang)
    return FieldSpec(
        column.name, column.header(lang), rule or column.rule, choices, placeholder=column.example
    )


class ValidatedField(widgets.VBox):
    """An input and, under it, the rule's message for what has been typed so far."""

    def __init__(self, spec: FieldSpec, lang: str, *, required: bool | None = None) -> None:
        self.spec = spec
        self.lang = lang
        self.required = spec.required if required is None else required
        style = {"description_width": "9em"}
        layout = widgets.Layout(width="34em")
        if spec.choices is not None:
            options = [(say("blank_choice", lang), ""), *spec.choices]
            self.input: Any = widgets.Dropdown(
                options=options, value="", style=style, layout=layout
            )
        elif spec.multiline:
            self.input = widgets.Textarea(
                placeholder=spec.placeholder,
                style=style,
                layout=widgets.Layout(width="34em", height="4.5em"),
            )
        else:
            self.input = widgets.Text(placeholder=spec.placeholder, style=style, layout=layout)
        self.input.add_class(f"crm-field-{spec.name}")
        self.message = widgets.HTML()
        self.message.add_class(f"crm-message-{spec.name}")
        super().__init__([self.input, self.message])
        self.set_required(self.required)
        self.input.observe(lambda _: self.check(), "value")

    @property
    def value(self) -> Any:
        """What was entered, None for a blank."""
        raw = self.input.value
        return None if raw is None or (isinstance(raw, str) and not raw.strip()) else raw

    @value.setter
    def value(self, raw: Any) -> None:
        text = "" if raw is None else str(raw)
        if self.spec.choices is not None and text not in {v for _, v in self.input.options}:
            self.input.options = [*self.input.options, (text, text)]
        self.input.value = text

    def set_required(self, required: bool) -> None:
        self.required = required
        mark = " *" if required else ""
        self.input.description = self.spec.label + mark

    def check(self) -> FieldError | None:
        """Apply the rule now; show and return what it says (None when the value is fine)."""
        value = self.value
        problem = None
        if self.spec.rule is not None and value is not None:
            try:
                with speaking(self.lang):
                    self.spec.rule(value)
            except RuleViolation as violation:
                problem = FieldError(self.spec.name, value, violation.rule, violation.message)
        self.show(problem.message if problem else None)
        return problem

    def show(self, message: str | None) -> None:
        """Show ``message`` under the field (None clears it)."""
        if message is None:
            self.message.value = ""
            self.input.remove_class("crm-invalid")
            return
        self.input.add_class("crm-invalid")
        self.message.value = (
            f"<span style='color:{COLOURS['error']};margin-left:9.5em'>"
            f"{html.escape(message)}</span>"
        )

    @property
    def problem(self) -> str:
        """The message shown now ('' when none)."""
        return html.unescape(self.message.value.split(">", 1)[-1].rsplit("<", 1)[0])
