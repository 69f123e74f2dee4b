"""Field rules: one function per rule, shared by the API, the entry forms and the importer.

Each rule takes a raw value and returns the normalised value to store, or raises
:class:`RuleViolation` naming the rule. :func:`validate` applies a table of rules to a
record and collects every violation as a :class:`~crmlib.errors.FieldError`, so the
user sees all that is wrong at once.
"""

from .fields import (
    Rule,
    RuleViolation,
    amount,
    check_record,
    date_value,
    datetime_value,
    email,
    enum_of,
    flag,
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
    "Rule",
    "RuleViolation",
    "amount",
    "check_record",
    "date_value",
    "datetime_value",
    "email",
    "enum_of",
    "flag",
    "industry",
    "phone",
    "postcode",
    "probability",
    "province",
    "text",
    "validate",
    "validated",
]
