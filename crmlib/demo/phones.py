"""Telephone numbers: mainland mobiles and city landlines, unique, valid and in E.164.

Every number comes from a distinct integer key through an affine scramble that is a
bijection on its digit range, so numbers look random yet two customers never share one by
accident: a shared phone in the demo always means an injected duplicate.
"""

from __future__ import annotations

import numpy as np

from .places import AREA_CODE, SUBSCRIBER_DIGITS
from .vectors import Array, choose, concat

# Three-digit mobile prefixes of China Mobile, Unicom and Telecom (13x, 15x, 17x, 18x, 19x)
# that libphonenumber accepts for any eight following digits, weighted by how common they
# are; 154, 174, 179 and 194 are not in use.
# fmt: off
MOBILE_PREFIXES: dict[int, float] = {
    130: 3, 131: 3, 132: 3, 133: 3, 134: 3, 135: 5, 136: 5, 137: 5, 138: 6, 139: 6,
    150: 4, 151: 4, 152: 3, 153: 2, 155: 3, 156: 3, 157: 3, 158: 4, 159: 4,
    170: 0.3, 171: 0.3, 172: 0.3, 173: 1, 175: 1, 176: 1.5, 177: 1.5, 178: 1.5,
    180: 3, 181: 3, 182: 3, 183: 2, 184: 1, 185: 2, 186: 4, 187: 3, 188: 3, 189: 3,
    190: 0.5, 191: 1, 192: 0.5, 193: 0.5, 195: 0.5, 196: 0.5, 197: 0.5, 198: 2, 199: 2,
}
# fmt: on
_PREFIX = np.array(list(MOBILE_PREFIXES))
SUBSCRIBER = 10**8  # eight digits follow the prefix
# Multipliers coprime to 10, so x -> (a * x + b) mod 10**k permutes the k-digit numbers.
_SCRAMBLE_A, _SCRAMBLE_B = 48_271_207, 13_579_113


def scramble(key: Array, modulus: Array | int) -> Array:
    """A bijection of ``[0, modulus)`` (for powers of ten) that hides sequential keys."""
    return (np.asarray(key, dtype=np.int64) * _SCRAMBLE_A + _SCRAMBLE_B) % modulus


def mobiles(rng: np.random.Generator, key: Array) -> Array:
    """11-digit mobile numbers as integers, one per distinct ``key``."""
    prefix = _PREFIX[choose(rng, list(MOBILE_PREFIXES.values()), len(key))]
    return prefix * SUBSCRIBER + scramble(key, SUBSCRIBER)


def mobile_e164(number: Array) -> Array:
    return concat("+86", np.asarray(number).astype(str).astype(object))


def landline_e164(city: Array, key: Array) -> Array:
    """Switchboard numbers of ``city`` (area code + 7 or 8 digits), as +86 E.164."""
    local = 10 ** (SUBSCRIBER_DIGITS[city] - 1)
    key = np.asarray(key, dtype=np.int64)
    first_digit = 2 + (key // local) % 7  # local numbers start with 2-8
    subscriber = first_digit * local + scramble(key, local)
    return concat("+86", AREA_CODE[city], subscriber.astype(str).astype(object))


def malformed(number: Array) -> Array:
    """Mobiles typed with a digit missing and no country code (1381234567): invalid."""
    return (np.asarray(number) // 10).astype(str).astype(object)
