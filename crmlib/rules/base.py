"""A field rule as one object: its scalar function, and the vectorised forms registered as
that rule.

As in pandera's built-in checks (one check, registered once, with an implementation per
backend), a :class:`RuleKind` is registered once by name in :data:`FIELD_RULES` with its
scalar function; the whole-column form (:mod:`crmlib.rules.columns`, for imports) and
the SQL form (:mod:`crmlib.rules.stored`, for stored values) are registered on the same
kind, so each is found from the rule itself and none is a copy kept elsewhere. A
:class:`FieldRule` is a kind with its parameters (a text's length limit, an
enumeration): the callable the API, the forms and the importer apply.

What a rule stores for a value is its verdict on it: a value is valid as stored when it
is what the rule stores for it (:meth:`FieldRule.stores`). ``tests/rules/test_rules_forms.py``
checks every registered form against the scalar function on hostile and ordinary values.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ..registry import Registry

if TYPE_CHECKING:
    import numpy as np
    from sqlalchemy import ColumnElement

V = TypeVar("V")
#: What a rule with parameters gives back (a rule of str is a rule of object too).
V_co = TypeVar("V_co", covariant=True)


class RuleViolation(ValueError):
    """A value broke ``rule``; ``message`` says how, in the user's language."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


#: What a whole-column form makes of a column of text, per cell: the clean value where it
#: decides the cell, which cells it decides, and the violations among them (by position).
Passed = tuple[list[Any], "np.ndarray", dict[int, RuleViolation]]
#: A whole-column form: the rule (for its parameters) and the cells.
ColumnForm = Callable[["FieldRule[Any]", list[str]], Passed]
#: An SQL form: the rule and a column; true where the stored value is what the rule stores.
SqlForm = Callable[["FieldRule[Any]", Any], "ColumnElement[bool]"]


@dataclass(eq=False)
class RuleKind(Generic[V]):
    """One rule, registered once: ``scalar(value, **parameters)`` is the rule itself;
    ``column`` and ``sql`` are its vectorised forms, registered as this rule.

    ``sql_exact`` says whether the SQL form decides every value; when it does not, it is
    true only of values it can vouch for, and the others are for the rule to judge.
    ``same`` says when a stored value is the one the rule stores for it: equal, unless the
    rule says otherwise (e-mail addresses are the same whatever their case).
    """

    name: str
    scalar: Callable[..., V]
    same: Callable[[Any, Any], bool] = field(default=operator.eq)
    column: ColumnForm | None = None
    sql: SqlForm | None = None
    sql_exact: bool = True
    #: The rule itself, for a rule without parameters (what ``field_rule`` made).
    plain: FieldRule[V] | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        # By name, as a function is pickled: the registered kind is the one kind.
        return (FIELD_RULES.get, (self.name,))

    def column_form(self, form: ColumnForm) -> ColumnForm:
        """Register ``form`` as this rule applied to a whole column of text (a decorator)."""
        if self.column is not None:
            raise ValueError(f"rule {self.name!r} already has a column form")
        self.column = form
        return form

    def sql_form(self, *, exact: bool) -> Callable[[SqlForm], SqlForm]:
        """Register a function as this rule over a stored column (a decorator)."""

        def registering(form: SqlForm) -> SqlForm:
            if self.sql is not None:
                raise ValueError(f"rule {self.name!r} already has an SQL form")
            self.sql, self.sql_exact = form, exact
            return form

        return registering


class FieldRule(Generic[V_co]):
    """A rule with its parameters, applied by calling it: the normalised value to store,
    or :class:`RuleViolation`."""

    def __init__(self, kind: RuleKind[V_co], **parameters: Any) -> None:
        self.kind = kind
        self.parameters = parameters
        self.__doc__ = kind.scalar.__doc__

    def __call__(self, value: Any) -> V_co:
        return self.kind.scalar(value, **self.parameters)

    def __reduce__(self) -> tuple[Any, ...]:
        # As a function is pickled, by reference: ``rule is phone`` still holds after.
        return (_rebuilt, (self.kind.name, self.parameters))

    def __repr__(self) -> str:
        given = ", ".join(f"{k}={v!r}" for k, v in self.parameters.items())
        return f"{self.kind.name}({given})" if given else self.kind.name

    def stores(self, value: Any) -> bool:
        """Whether ``value`` is what this rule stores for it (:attr:`RuleKind.same`): valid
        as it stands."""
        try:
            return bool(self.kind.same(self(value), value))
        except RuleViolation:
            return False

    def sql(self, column: Any) -> ColumnElement[bool]:
        """The rule over a stored column, where it has an SQL form (see :class:`RuleKind`)."""
        if self.kind.sql is None:
            raise TypeError(f"rule {self.kind.name!r} has no SQL form")
        return self.kind.sql(self, column)


#: Every field rule, by name.
FIELD_RULES: Registry[RuleKind[Any]] = Registry("rule")


def rule_kind(
    name: str, scalar: Callable[..., V], *, same: Callable[[Any, Any], bool] = operator.eq
) -> RuleKind[V]:
    """Register ``scalar(value, **parameters)`` as the rule ``name``."""
    return FIELD_RULES.add(name, RuleKind(name, scalar, same))


def field_rule(
    name: str, *, same: Callable[[Any, Any], bool] = operator.eq
) -> Callable[[Callable[[Any], V]], FieldRule[V]]:
    """Register a rule without parameters and make it the callable rule (a decorator)."""

    def registering(scalar: Callable[[Any], V]) -> FieldRule[V]:
        kind = rule_kind(name, scalar, same=same)
        kind.plain = FieldRule(kind)
        return kind.plain

    return registering


def _rebuilt(name: str, parameters: dict[str, Any]) -> FieldRule[Any]:
    """The rule ``name`` with ``parameters``: the one rule itself when it takes none."""
    kind = FIELD_RULES.get(name)
    if not parameters and kind.plain is not None:
        return kind.plain
    return FieldRule(kind, **parameters)
