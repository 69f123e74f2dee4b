"""Data-quality noise for the quality features to find: near-duplicate customers and
invalid fields, in the proportions a real CRM has (about 2 % and 3 %).

A duplicate is a later copy of an earlier customer as someone re-entered it: the name
varies the way people type it (legal form changed or dropped, "Co., Ltd.", a full-width
or an extra space, the city left out), the phone, e-mail and address are the same or
slightly different. Invalid fields are a mobile with a digit missing, an e-mail without
@, a company without industry, and a blank province.
"""

from __future__ import annotations

import numpy as np

from .names import GIVEN, JOINT_STOCK, LIMITED, SUFFIX, SURNAME
from .phones import mobiles
from .plan import CustomerPlan
from .vectors import Array, choose, concat

DUPLICATE_SHARE = 0.02
INVALID_SHARE = 0.03

# How a duplicate's name differs from the original's.
SAME, SWAP_SUFFIX, DROP_SUFFIX, ENGLISH_SUFFIX, FULL_WIDTH_SPACE, EXTRA_SPACE, CITY_TOGGLE = range(
    7
)
COMPANY_VARIANTS = {
    SWAP_SUFFIX: 0.25,
    DROP_SUFFIX: 0.2,
    ENGLISH_SUFFIX: 0.1,
    FULL_WIDTH_SPACE: 0.1,
    EXTRA_SPACE: 0.15,
    CITY_TOGGLE: 0.2,
}
PERSON_VARIANTS = {SAME: 0.6, EXTRA_SPACE: 0.25, FULL_WIDTH_SPACE: 0.15}
ENGLISH = " Co., Ltd."
# How a duplicate's phone, e-mail and address differ: same, slightly, or entirely.
PHONE_CHANGES = (0.6, 0.25, 0.15)  # same, last digit changed, another number
EMAIL_CHANGES = (0.6, 0.2, 0.2)  # same, another mailbox style, none
ADDRESS_CHANGES = (0.5, 0.3, 0.2)  # same, without province and city, another house number

# Kinds of invalid field.
VALID, BAD_PHONE, BAD_EMAIL, NO_INDUSTRY, NO_PROVINCE = range(5)
INVALID_KINDS = {BAD_PHONE: 0.35, BAD_EMAIL: 0.25, NO_INDUSTRY: 0.2, NO_PROVINCE: 0.2}

# Columns a duplicate copies from its original.
_COPIED = (
    "company",
    "city",
    "division",
    "size",
    "surname",
    "given",
    "title",
    "phone",
    "has_email",
    "email_style",
    "email_number",
    "email_domain",
)


def inject(rng: np.random.Generator, plan: CustomerPlan) -> None:
    """Turn ~2 % of the plan into duplicates and give ~3 % an invalid field (in place)."""
    _duplicates(rng, plan)
    _invalid(rng, plan)


def _duplicates(rng: np.random.Generator, plan: CustomerPlan) -> None:
    size = len(plan.created)
    count = round(size * DUPLICATE_SHARE)
    if size < 2 or count == 0:
        return
    dup = np.sort(rng.choice(np.arange(1, size), size=count, replace=False))
    original = (rng.random(count) * dup).astype(np.int64)  # anyone created earlier
    is_dup = np.zeros(size, dtype=bool)
    is_dup[dup] = True
    plan.original[dup] = original
    while is_dup[original].any():  # copy the original, never another copy
        chained = is_dup[original]
        original[chained] = plan.original[original[chained]]
    plan.original[dup] = original

    for column in _COPIED:
        values = getattr(plan, column)
        values[dup] = values[original]
    for values in (plan.names.prefixed, plan.names.brand, plan.names.word, plan.names.suffix):
        values[dup] = values[original]
    for part in ("district", "road", "number", "building", "room", "postcode"):
        values = getattr(plan.address, part)
        values[dup] = values[original]

    company = plan.company[dup]
    variant = np.where(
        company,
        np.array(list(COMPANY_VARIANTS))[choose(rng, list(COMPANY_VARIANTS.values()), count)],
        np.array(list(PERSON_VARIANTS))[choose(rng, list(PERSON_VARIANTS.values()), count)],
    )
    plan.name_variant[dup] = variant

    phone = choose(rng, PHONE_CHANGES, count)
    last_digit = plan.phone[dup] % 10
    changed = plan.phone[dup] - last_digit + (last_digit + rng.integers(1, 10, count)) % 10
    plan.phone[dup] = np.where(phone == 1, changed, plan.phone[dup])
    other = dup[phone == 2]
    plan.phone[other] = mobiles(rng, size + other)  # keys past the plan's own: unused numbers

    email = choose(rng, EMAIL_CHANGES, count)
    plan.email_style[dup[email == 1]] = (plan.email_style[dup[email == 1]] + 1) % 4
    plan.has_email[dup[email == 2]] = False

    address = choose(rng, ADDRESS_CHANGES, count)
    plan.short_address[dup[address == 1]] = True
    plan.address.number[dup[address == 2]] += rng.integers(1, 20, int((address == 2).sum()))


def _invalid(rng: np.random.Generator, plan: CustomerPlan) -> None:
    candidates = np.flatnonzero(plan.original < 0)
    count = min(len(candidates), round(len(plan.created) * INVALID_SHARE))
    rows = rng.choice(candidates, size=count, replace=False)
    kind = np.array(list(INVALID_KINDS))[choose(rng, list(INVALID_KINDS.values()), count)]
    kind[(kind == NO_INDUSTRY) & ~plan.company[rows]] = NO_PROVINCE  # persons have none
    plan.bad[rows] = kind
    plan.has_email[rows[kind == BAD_EMAIL]] = True


def company_names(
    city_prefix: Array, prefixed: Array, brand: Array, word: Array, suffix: Array, variant: Array
) -> Array:
    """Registered names, varied where ``variant`` says so (the parts are strings)."""
    suffix_index = suffix
    prefix = np.where(prefixed ^ (variant == CITY_TOGGLE), city_prefix, "")
    legal = SUFFIX[suffix_index].copy()
    swap = variant == SWAP_SUFFIX
    legal[swap] = np.where(suffix_index[swap] == JOINT_STOCK, SUFFIX[LIMITED], SUFFIX[JOINT_STOCK])
    legal[variant == DROP_SUFFIX] = ""
    legal[variant == ENGLISH_SUFFIX] = ENGLISH
    gap_before_brand = np.where((variant == EXTRA_SPACE) & (prefix != ""), " ", "")
    gap_before_word = np.where(
        variant == FULL_WIDTH_SPACE,
        "\u3000",
        np.where((variant == EXTRA_SPACE) & (prefix == ""), " ", ""),
    )
    return concat(prefix, gap_before_brand, brand, gap_before_word, word, legal)


def person_names(surname: Array, given: Array, variant: Array) -> Array:
    gap = np.select([variant == EXTRA_SPACE, variant == FULL_WIDTH_SPACE], [" ", "\u3000"], "")
    return concat(SURNAME[surname], gap.astype(object), GIVEN[given])
