"""Status flows: which moves a record's status may make.

Leads, opportunities, tickets and tasks each walk a small state machine. Declaring it as
a :class:`Flow` keeps the allowed moves in one table per kind, and every refusal reads the
same way in both languages and names its rule (``lead_status_flow`` …), so a form, the
importer and the command line all say exactly why a move was refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..errors import FieldError, ValidationError
from ..i18n import current_lang, t
from ..reference.enums import Enumeration


@dataclass(frozen=True)
class Flow:
    """The allowed moves of one status field; a status missing from ``moves`` is final."""

    rule: str
    field: str
    enum: Enumeration
    moves: Mapping[str, frozenset[str]]

    @classmethod
    def of(
        cls, rule: str, field: str, enum: Enumeration, moves: Mapping[str, Iterable[str]]
    ) -> Flow:
        return cls(rule, field, enum, {k: frozenset(v) for k, v in moves.items()})

    def allowed(self, current: str) -> frozenset[str]:
        return self.moves.get(current, frozenset())

    def check(self, current: str, target: str) -> None:
        """Raise :class:`ValidationError` naming :attr:`rule` unless ``current → target``
        is allowed. Staying in the same status is always allowed."""
        if target == current or target in self.allowed(current):
            return
        nexts = self.allowed(current)
        lang = current_lang()

        def label(code: str) -> str:
            return self.enum.label(code, lang)

        if not nexts:
            message = t("flow:final", current=label(current), target=label(target))
        else:
            options = ", ".join(label(s) for s in self.enum.codes if s in nexts)
            message = t(
                "flow:refused", current=label(current), target=label(target), allowed=options
            )
        raise ValidationError(FieldError(self.field, target, self.rule, message))
