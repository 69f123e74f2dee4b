"""The numeric plan of the whole customer base, apart from the code that fills it in
(:mod:`.customers`) and the code that spoils some of it on purpose (:mod:`.noise`), so
both can use it without importing each other."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .names import CompanyNames
from .places import Addresses
from .vectors import Array


@dataclass
class CustomerPlan:
    """Every customer as numbers, in creation order (index = position in the base)."""

    created: Array  # seconds since the span start, ascending
    sequence: Array  # number within the creation day, from 1
    company: Array  # bool
    city: Array  # index into places.CITIES
    division: Array  # index into names.DIVISION (-1: a person)
    size: Array  # index into SIZES (-1: a person)
    source: Array  # index into SOURCES
    names: CompanyNames
    surname: Array  # the person, or a company's main contact
    given: Array
    title: Array  # the main contact's title (companies)
    phone: Array  # the main contact's mobile, as an integer
    has_email: Array
    email_style: Array
    email_number: Array
    email_domain: Array  # company: index into emails.COMPANY_TLDS; person: PUBLIC_DOMAINS
    address: Addresses
    erp: Array  # ERP customer number (0: none)
    original: Array = field(init=False)  # the customer this one duplicates (-1: none)
    name_variant: Array = field(init=False)  # noise.SAME … how a duplicate's name differs
    short_address: Array = field(init=False)
    bad: Array = field(init=False)  # noise.VALID … which field is invalid

    def __post_init__(self) -> None:
        size = len(self.created)
        self.original = np.full(size, -1, dtype=np.int64)
        self.name_variant = np.zeros(size, dtype=np.int64)
        self.short_address = np.zeros(size, dtype=bool)
        self.bad = np.zeros(size, dtype=np.int64)
