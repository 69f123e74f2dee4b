"""How alike two customers are: a score from 0 to 100 and the reasons for it.

The score adds up evidence, so a reviewer can retrace it from the reasons: the name
similarity (0-100, weighted by how telling a name is: less for persons, whose names repeat),
plus what agrees (same phone, same address …), minus what contradicts (a different city,
another place in the name …). A shared name alone stays below the default scan threshold
of 80 unless the city agrees; two companies that share a name but differ in phone, e-mail
domain and address, as namesakes in one city do, stay well below it. Address keys leave the
city out ("鼓楼区中山路1号" is a street in 南京 and in 福州), so two addresses only agree where
the cities do not differ.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein
from rapidfuzz.process import cpdist

from ...i18n import current_lang, t
from .profiles import Columns, Profiles

#: Points per point of name similarity: a person's name says less than a company's.
NAME_WEIGHT = {"company": 0.75, "person": 0.65}
#: Points a dropped generic word costs ("星辰软件科技" vs "星辰软件").
DROPPED_WORD = 5
#: Below this name similarity a pair's reasons do not mention the name.
SIMILAR_NAME = 60
#: Address similarity (0-100) from which two different addresses count as near (so do two
#: numbers on one street).
NEAR_ADDRESS = 85
#: Points each piece of evidence adds (or, negative, takes away).
EVIDENCE: dict[str, int] = {
    "same_external_id": 100,
    "same_phone": 40,
    "same_email": 35,
    "same_address": 25,
    "same_birthday": 20,
    "same_domain": 15,
    "similar_phone": 10,
    "similar_address": 10,
    "same_name": 5,
    "same_city": 5,
    "same_postcode": 3,
    "different_phone": -10,
    "different_domain": -10,
    "different_address": -10,
    "different_birthday": -10,
    "different_city": -15,
    "different_kind": -20,
    "different_branch": -25,
    "different_place": -25,
}
Reason = tuple[str, int | None]


@dataclass(frozen=True)
class Scored:
    """Scores of pairs (``a[k]``, ``b[k]``) with the evidence behind each."""

    score: np.ndarray  # int, 0-100
    name: np.ndarray  # name similarity, 0-100
    evidence: dict[str, np.ndarray]  # bool per key of EVIDENCE

    def reasons(self, k: int) -> list[Reason]:
        """Pair ``k``'s reasons, the name first, then by weight."""
        found: list[Reason] = []
        if self.evidence["same_name"][k]:
            found.append(("same_name", None))
        elif self.name[k] >= SIMILAR_NAME:
            found.append(("similar_name", int(self.name[k])))
        found += [(key, None) for key in EVIDENCE if key != "same_name" and self.evidence[key][k]]
        return found


def describe(reasons: list[Reason], lang: str | None = None) -> str:
    """Reasons as one line in the user's language: "same phone; similar name 92"."""
    chosen = current_lang(lang)
    texts = [t(key, chosen, value=value) for key, value in reasons]
    return ("；" if chosen == "zh" else "; ").join(texts)


def _lengths(values: np.ndarray) -> np.ndarray:
    return np.fromiter(map(len, values), dtype=np.int64, count=len(values))


def _similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise similarity (0-100) of two aligned string arrays, on all cores; 0 where one
    is empty."""
    if not len(a):
        return np.zeros(0)
    values = cpdist(a.tolist(), b.tolist(), scorer=fuzz.ratio, workers=-1).astype(np.float64)
    values[(a == "") | (b == "")] = 0
    return values


def _one_edit(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Whether aligned strings differ in exactly one character (a mistyped digit)."""
    if not len(a):
        return np.zeros(0, dtype=bool)
    return cpdist(a.tolist(), b.tolist(), scorer=Levenshtein.distance, workers=-1) == 1


def score_pairs(
    columns: Columns,
    a: np.ndarray,
    b: np.ndarray,
    shared_phone: np.ndarray,
    shared_email: np.ndarray,
) -> Scored:
    """Score rows ``a[k]`` against ``b[k]`` of profile ``columns``. Which pairs share any
    phone or e-mail of any contact is known from blocking, so it comes in as two flags.

    Equality is tested on 64-bit hashes of each column (computed once per customer, not
    once per pair); strings are only compared where a similarity is needed.
    """
    hashes: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def hashed(column: str) -> tuple[np.ndarray, np.ndarray]:
        if column not in hashes:
            values = columns[column]
            present = values != ""
            digest = pd.util.hash_array(values.astype(object), categorize=False)
            hashes[column] = (digest, present)
        return hashes[column]

    def both(column: str) -> np.ndarray:
        present = hashed(column)[1]
        return present[a] & present[b]

    def same(column: str) -> np.ndarray:
        digest = hashed(column)[0]
        return both(column) & (digest[a] == digest[b])

    def differ(column: str) -> np.ndarray:
        digest = hashed(column)[0]
        return both(column) & (digest[a] != digest[b])

    def strings(column: str, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        values = columns[column]
        return values[a[at]], values[b[at]]

    everyone = np.arange(len(a))
    kind = columns["kind"]
    persons = (kind[a] == "person") | (kind[b] == "person")
    name = _similarity(*strings("core", everyone))
    tail = hashed("tail")[1]
    stem = columns["stem"]
    dropped = np.flatnonzero(tail[a] != tail[b])  # one name has a generic word, the other not
    dropped = dropped[(_lengths(stem[a[dropped]]) >= 2) & (_lengths(stem[b[dropped]]) >= 2)]
    name[dropped] = np.maximum(name[dropped], _similarity(*strings("stem", dropped)) - DROPPED_WORD)

    one_digit = np.zeros(len(a), dtype=bool)
    near = np.flatnonzero(differ("phone") & ~shared_phone)
    phone_a, phone_b = strings("phone", near)
    near = near[_lengths(phone_a) == _lengths(phone_b)]
    one_digit[near[_one_edit(*strings("phone", near))]] = True

    apart = differ("city_key") | (~both("city_key") & differ("province_key"))
    same_address = same("address_key") & ~apart
    other_address = differ("address_key") & ~apart
    near_address = other_address & same("street_key")
    near = np.flatnonzero(other_address & ~near_address)
    near_address[near[_similarity(*strings("address_key", near)) >= NEAR_ADDRESS]] = True

    branch = hashed("branch")[0]
    evidence = {
        "same_external_id": same("external_key"),
        "same_phone": shared_phone,
        "same_email": shared_email,
        "same_address": same_address,
        "same_birthday": same("birthday_key"),
        "same_domain": same("domain") & ~shared_email,
        "similar_phone": one_digit,
        "similar_address": near_address,
        "same_name": same("full"),
        "same_city": same("city_key"),
        "same_postcode": same("postcode_key") & ~both("address_key"),
        "different_phone": differ("phone") & ~shared_phone & ~one_digit,
        "different_domain": differ("domain"),
        "different_address": both("address_key") & ~same_address & ~near_address,
        "different_birthday": differ("birthday_key"),
        "different_city": apart,
        "different_kind": kind[a] != kind[b],
        "different_branch": ~persons & (branch[a] != branch[b]),
        "different_place": differ("prefix"),
    }
    total = np.where(persons, NAME_WEIGHT["person"], NAME_WEIGHT["company"]) * name
    for key, flags in evidence.items():
        total += EVIDENCE[key] * flags
    score = np.clip(np.round(total), 0, 100).astype(np.int64)
    return Scored(score, np.round(name).astype(np.int64), evidence)


def score_first(profiles: Profiles) -> Scored:
    """Scores of row 0 (a candidate, or one customer of a pair) against every other row."""
    size = len(profiles)
    others = np.arange(1, size)
    phone_rows, phone_keys = profiles.phones
    email_rows, email_keys = profiles.emails
    return score_pairs(
        profiles.columns,
        np.zeros(size - 1, dtype=np.int64),
        others,
        np.isin(others, phone_rows[np.isin(phone_keys, phone_keys[phone_rows == 0])]),
        np.isin(others, email_rows[np.isin(email_keys, email_keys[email_rows == 0])]),
    )
