"""The segment rule language: a small, safe filter over customers.

A rule such as ``days_since_contact > 90`` or ``aov > 10万 and grade == "A"`` is parsed by
the hand-written recursive-descent parser below into a tree of :class:`Comparison`,
:class:`Not` and :class:`Junction` nodes. No user text is ever evaluated: the tree is the
only thing :mod:`.compile` turns into SQL, and every value reaches the database as a bound
parameter. A rule that does not parse gets a :class:`~crmlib.errors.ValidationError`
whose message quotes the rule and points at the offending part::

    unknown field 'aovv' (fields: age_days, aov, city, …)
      aovv > 100000
      ^^^^

Grammar (``or`` binds loosest; keywords are case-insensitive)::

    rule       := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | "(" or ")" | comparison
    comparison := FIELD OP value | FIELD ["not"] "in" "[" value ("," value)* "]"
    OP         := "==" | "!=" | ">" | ">=" | "<" | "<="
    value      := NUMBER ["万" | "亿"] | STRING ("..." or '...')
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

from ...errors import FieldError, ValidationError
from ...i18n import t
from ...store.like import storable
from .fields import FIELDS, Field, custom_field

RULE = "segment_rule"
#: Longest rule text accepted, in characters. Rules arrive as URL parameters of the
#: dashboards, so a hostile one must be refused before any work is done on it.
MAX_RULE_LENGTH = 2_000
#: Deepest nesting of parentheses and ``not`` (the parser recurses once per level).
MAX_DEPTH = 20
#: Most comparisons in one rule (each becomes a term of the SQL WHERE clause).
MAX_CLAUSES = 100

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\s*[万亿]?)
  | (?P<string>"[^"]*"|'[^']*'|“[^”]*”)
  | (?P<open_string>["'“])
  | (?P<op>==|!=|>=|<=|>|<|=)
  | (?P<punct>[()\[\],])
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)
    """,
    re.VERBOSE,
)
KEYWORDS = frozenset({"and", "or", "not", "in"})
UNITS = {"万": Decimal(10_000), "亿": Decimal(100_000_000)}

Value = Decimal | str


@dataclass(frozen=True)
class Token:
    kind: str  # number, string, op, punct, word, end
    text: str
    start: int
    value: Value | None = None

    @property
    def end(self) -> int:
        return self.start + max(len(self.text), 1)


@dataclass(frozen=True)
class Comparison:
    field: Field
    op: str  # ==, !=, >, >=, <, <=, in, not in
    values: tuple[Value, ...]


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class Junction:
    op: str  # and, or
    operands: tuple[Node, ...]


Node = Comparison | Not | Junction


def fields_of(node: Node) -> set[str]:
    """The names of the fields a parsed rule compares."""
    if isinstance(node, Comparison):
        return {node.field.name}
    if isinstance(node, Not):
        return fields_of(node.operand)
    return set().union(*(fields_of(n) for n in node.operands))


def parse(rule: str) -> Node:
    """The tree of ``rule``; raises :class:`ValidationError` pointing at the first mistake,
    or naming the limit a rule longer, deeper or with more comparisons than allowed breaks."""
    if len(rule) > MAX_RULE_LENGTH:
        raise limit_error(rule, "length", t("too_long", limit=MAX_RULE_LENGTH))
    storable(rule, "rule")
    return _Parser(rule).parse()


def limit_error(rule: str, limit: str, message: str) -> ValidationError:
    """An error for a rule over one of the size limits; it does not quote the rule, which
    may be long (the error's value keeps it, shortened when shown)."""
    return ValidationError(FieldError("rule", rule, f"{RULE}_{limit}", message))


def rule_error(rule: str, start: int, end: int, message: str) -> ValidationError:
    """An error whose message quotes ``rule`` and underlines ``rule[start:end]``."""
    width = _display_width(rule[start:end]) or 1
    pointer = " " * _display_width(rule[:start]) + "^" * width
    text = f"{message}\n  {rule}\n  {pointer}"
    return ValidationError(FieldError("rule", rule, RULE, text))


def _display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: CJK characters are two wide."""
    return sum(2 if "\u2e80" <= ch <= "\uffef" else 1 for ch in text)


def tokenize(rule: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(rule):
        match = _TOKEN.match(rule, position)
        if match is None:
            raise rule_error(
                rule, position, position + 1, t("segment_rule:bad_char", text=rule[position])
            )
        kind = match.lastgroup or ""
        text = match.group()
        if kind == "open_string":
            raise rule_error(rule, position, len(rule), t("segment_rule:open_string"))
        if kind == "op" and text == "=":
            raise rule_error(rule, position, position + 1, t("segment_rule:single_equals"))
        if kind == "number":
            tokens.append(Token(kind, text, position, _number(text)))
        elif kind == "string":
            tokens.append(Token(kind, text, position, text[1:-1]))
        elif kind == "word" and text.casefold() in KEYWORDS:
            tokens.append(Token("keyword", text.casefold(), position))
        elif kind != "space":
            tokens.append(Token(kind, text, position))
        position = match.end()
    tokens.append(Token("end", "", len(rule)))
    return tokens


def _number(text: str) -> Decimal:
    digits = text.rstrip("万亿 ")
    unit = UNITS.get(text[-1], Decimal(1))
    return Decimal(digits) * unit


class _Parser:
    def __init__(self, rule: str) -> None:
        self.rule = rule
        self.tokens = tokenize(rule) if rule.strip() else []
        self.position = 0
        self.depth = 0
        self.clauses = 0

    def parse(self) -> Node:
        if not self.tokens:
            raise rule_error(self.rule, 0, 0, t("segment_rule:empty"))
        node = self._or()
        self._expect_end()
        return node

    # -- grammar ------------------------------------------------------------------------

    def _or(self) -> Node:
        operands = [self._and()]
        while self._keyword("or"):
            operands.append(self._and())
        return operands[0] if len(operands) == 1 else Junction("or", tuple(operands))

    def _and(self) -> Node:
        operands = [self._not()]
        while self._keyword("and"):
            operands.append(self._not())
        return operands[0] if len(operands) == 1 else Junction("and", tuple(operands))

    def _not(self) -> Node:
        if self._keyword("not"):
            with self._nested():
                return Not(self._not())
        if self._punct("("):
            with self._nested():
                node = self._or()
            if not self._punct(")"):
                self._fail(t("segment_rule:close_paren"))
            return node
        return self._comparison()

    @contextmanager
    def _nested(self) -> Iterator[None]:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise limit_error(self.rule, "depth", t("segment_rule:too_deep", limit=MAX_DEPTH))
        yield
        self.depth -= 1

    def _comparison(self) -> Node:
        self.clauses += 1
        if self.clauses > MAX_CLAUSES:
            message = t("segment_rule:too_many_clauses", limit=MAX_CLAUSES)
            raise limit_error(self.rule, "clauses", message)
        token = self._peek()
        if token.kind != "word":
            self._fail(t("segment_rule:field"))
        field = FIELDS.get(token.text.casefold()) or custom_field(token.text)
        if field is None:
            names = ", ".join(sorted(FIELDS))
            message = t("segment_rule:unknown_field", name=token.text, fields=names)
            raise rule_error(self.rule, token.start, token.end, message)
        self.position += 1
        negated = self._keyword("not")
        if negated or self._keyword("in"):
            if negated and not self._keyword("in"):
                self._fail("in")
            values = self._list(field)
            return Comparison(field, "not in" if negated else "in", values)
        op = self._peek()
        if op.kind != "op":
            self._fail(t("segment_rule:operator"))
        self.position += 1
        if op.text not in ("==", "!=") and not field.ordered:
            raise rule_error(
                self.rule, op.start, op.end, t("segment_rule:not_ordered", name=field.name)
            )
        return Comparison(field, op.text, (self._value(field),))

    def _list(self, field: Field) -> tuple[Value, ...]:
        if not self._punct("["):
            self._fail("[")
        values = [self._value(field)]
        while not self._punct("]"):
            if not self._punct(","):
                self._fail(t("segment_rule:close_list"))
            values.append(self._value(field))
        return tuple(values)

    def _value(self, field: Field) -> Value:
        token = self._peek()
        if token.kind not in ("number", "string"):
            self._fail(t("segment_rule:value"))
        self.position += 1
        assert token.value is not None
        problem = field.check(token.value)
        if problem:
            raise rule_error(self.rule, token.start, token.end, problem)
        return field.normalise(token.value)

    # -- tokens -------------------------------------------------------------------------

    def _peek(self) -> Token:
        return self.tokens[self.position]

    def _keyword(self, word: str) -> bool:
        token = self._peek()
        if token.kind == "keyword" and token.text == word:
            self.position += 1
            return True
        return False

    def _punct(self, char: str) -> bool:
        token = self._peek()
        if token.kind == "punct" and token.text == char:
            self.position += 1
            return True
        return False

    def _expect_end(self) -> None:
        if self._peek().kind != "end":
            self._fail(t("segment_rule:end"))

    def _fail(self, what: str) -> None:
        token = self._peek()
        found = t("segment_rule:end") if token.kind == "end" else repr(token.text)
        raise rule_error(
            self.rule, token.start, token.end, t("segment_rule:expected", what=what, found=found)
        )
