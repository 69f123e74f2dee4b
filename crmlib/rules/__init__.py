"""Field rules: one rule, one implementation, shared by the API, the entry forms, the
importer and the data-quality scorecard.

Each rule takes a raw value and returns the value to store, or raises
:class:`RuleViolation` naming the rule. :func:`validate` applies a table of rules to a
record and collects every violation as a :class:`~crmlib.errors.FieldError`, so the
user sees all that is wrong at once. A rule's whole-column form (:mod:`.columns`) and
SQL form (:mod:`.stored`) are registered as that rule (:mod:`.base`); importing this
package registers them all.

Normalisation (NFKC, full-width to half-width) is for what is matched or read: codes,
external IDs and user names (:func:`identifier`), phones, e-mails, choices, numbers and
dates. Text people write (:func:`text`: names, descriptions, summaries, notes) is stored
as written, only trimmed at either end; it is compared through the match keys of
:mod:`.matching`.
"""

from . import columns, stored
from .base import FIELD_RULES, FieldRule, RuleKind, RuleViolation
from .fields import (
    Rule,
    amount,
    check_record,
    date_value,
    datetime_value,
    email,
    enum_of,
    flag,
    identifier,
    industry,
    phone,
    postcode,
    probability,
    province,
    text,
    validate,
    validated,
)

__all__ = [
    "FIELD_RULES",
    "FieldRule",
    "Rule",
    "RuleKind",
    "RuleViolation",
    "amount",
    "check_record",
    "columns",
    "date_value",
    "datetime_value",
    "email",
    "enum_of",
    "flag",
    "identifier",
    "industry",
    "phone",
    "postcode",
    "probability",
    "province",
    "stored",
    "text",
    "validate",
    "validated",
]
