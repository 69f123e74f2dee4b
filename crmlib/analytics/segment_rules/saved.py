"""Finding a segment's rule: a saved segment by name, else the text itself as a rule.

Below :mod:`crmlib.analytics.filters` (whose ``segment`` filter takes a name or a rule)
and the segment service alike, so both read segments without importing each other."""

from __future__ import annotations

import re

from sqlalchemy import Connection, select

from ...context import Context
from ...domain.customers.custom_fields import definitions
from ...errors import FieldError, NotFound, ValidationError
from ...i18n import t
from ...store.like import storable
from ...store.models import Segment
from .fields import CUSTOM_PREFIX
from .language import MAX_RULE_LENGTH, RULE, Node, fields_of, parse

#: Text with one of these is meant as a rule, not as the name of a saved segment.
RULE_SIGNS = re.compile(r"[=<>!\[]|\b(?:in|and|or|not)\b")


def rule_of(ctx: Context, name_or_rule: str) -> Node:
    """A saved segment's rule by name, else the text itself as a rule; a text that is
    neither gets NotFound (a misspelt name) or the rule's own error (a broken rule)."""
    if len(name_or_rule) <= MAX_RULE_LENGTH:  # longer ones are refused as rules below
        storable(name_or_rule, "rule")
    with ctx.reading() as conn:
        saved = conn.execute(
            select(Segment.rule).where(Segment.name == name_or_rule)
        ).scalar_one_or_none()
        if saved is not None:
            return parse(saved)
        try:
            return checked(conn, name_or_rule)
        except ValidationError as exc:
            over_a_limit = exc.errors[0].rule != RULE  # too long or deep to be a name either
            if over_a_limit or RULE_SIGNS.search(name_or_rule):
                raise
            raise NotFound(
                t("segments:neither", text=name_or_rule, reason=exc.errors[0].message)
            ) from None


def checked(conn: Connection, rule: str) -> Node:
    """``rule`` parsed, refused if it names a custom field no one defined: such a rule
    would select nobody without a word, whether saved or given directly. The error names
    the custom fields there are."""
    node = parse(rule)
    named = {f for f in fields_of(node) if f.startswith(CUSTOM_PREFIX)}
    if not named:
        return node
    known = {f"{CUSTOM_PREFIX}{f.key}" for f in definitions(conn, "customers")}
    fields = ", ".join(sorted(known)) or "-"
    unknown = sorted(named - known)
    if unknown:
        raise ValidationError(
            [
                FieldError(
                    "rule", rule, RULE, t("segment_rule:unknown_field", name=n, fields=fields)
                )
                for n in unknown
            ]
        )
    return node
