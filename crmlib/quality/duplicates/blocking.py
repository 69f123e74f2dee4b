"""Which pairs of customers are worth comparing: blocking.

Comparing every customer with every other is out of the question at a million customers
(5 × 10¹¹ pairs). Instead customers are grouped by keys that duplicates share, and only
customers within a group (a block) are compared:

* the same phone, or the same e-mail, on any of their contacts;
* the same name stem (the name without place, legal form and generic words); persons by
  name and city, because common names (王伟) repeat across the country;
* a name stem one typo away, within the same city: each stem of four or more characters
  files under itself and its one-character deletions (星辰电子 -> 辰电子, 星电子, 星辰子,
  星辰电), and two stems one substitution, insertion or deletion apart share one of them;
* the same street address within the same city.

A block larger than :data:`BLOCK_CAP` would cost quadratic time for little evidence: a
phone, e-mail or address shared by that many customers is a switchboard, an agency or an
office tower, not an identity, so such blocks are skipped. Large name blocks are not
skipped but split by city, and what is still too large is compared only with its
:data:`WINDOW` nearest neighbours in name order (sorted neighbourhood). ``stats`` counts
blocks, pairs and what was skipped or windowed per key.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .profiles import Profiles

#: Most customers a block may hold for all-pairs comparison (1,225 pairs).
BLOCK_CAP = 50
#: Neighbours each customer of an oversized name block is compared with.
WINDOW = 8
#: Shortest stem that is also filed under its one-character deletions.
TYPO_STEM = 4
#: Longest such stem: longer names (English ones) are rarely mistyped into a duplicate
#: that shares no phone, e-mail, address or exact name.
TYPO_STEM_MAX = 16
#: Odd 64-bit multiplier for combining hashes.
_PRIME = np.uint64(0x9E3779B97F4A7C15)
#: Shortest address key worth a block (a road and number, not just a district).
ADDRESS_KEY = 6


@dataclass
class Blocks:
    """Candidate pairs (rows ``a`` < ``b``) and whether each shares a phone or e-mail."""

    a: np.ndarray
    b: np.ndarray
    shared_phone: np.ndarray
    shared_email: np.ndarray
    stats: dict[str, dict[str, int]] = field(default_factory=dict)


def _pair_ids(a: np.ndarray, b: np.ndarray, size: int) -> np.ndarray:
    low, high = np.minimum(a, b), np.maximum(a, b)
    ids = low.astype(np.int64) * size + high
    return np.unique(ids[low != high])


def _hash(values: np.ndarray) -> np.ndarray:
    """64-bit hashes of strings: blocks group by these integers, which sort many times
    faster than strings (a clash only adds a pair for scoring to reject)."""
    return pd.util.hash_array(values.astype(object), categorize=False)


def _combine(keys: np.ndarray, more: np.ndarray) -> np.ndarray:
    return keys * _PRIME + more


def _groups(keys: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows sorted by key, with each group's start and size (groups of one left out)."""
    order = np.lexsort((rows, keys))
    keys, rows = keys[order], rows[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    sizes = np.diff(np.r_[starts, len(keys)])
    keep = sizes > 1
    return rows, starts[keep], sizes[keep]


def _all_pairs(rows: np.ndarray, starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Every pair within each group, as (k, 2) row numbers; groups of a size at a time."""
    pairs = [np.empty((0, 2), dtype=np.int64)]
    for size in np.unique(sizes):
        first = starts[sizes == size]
        i, j = np.triu_indices(int(size), 1)
        pairs.append(np.stack([rows[first[:, None] + i], rows[first[:, None] + j]], axis=2))
    return np.concatenate([p.reshape(-1, 2) for p in pairs])


def _members(rows: np.ndarray, starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """The rows of the given groups, one after the other."""
    at = np.repeat(starts - np.cumsum(np.r_[0, sizes[:-1]]), sizes) + np.arange(sizes.sum())
    return rows[at]


def _neighbours(
    rows: np.ndarray, starts: np.ndarray, sizes: np.ndarray, order_key: np.ndarray
) -> np.ndarray:
    """Sorted neighbourhood within each group: each row with the next WINDOW rows in
    ``order_key`` order."""
    member = _members(rows, starts, sizes)
    group = np.repeat(np.arange(len(starts)), sizes)
    rank = pd.factorize(order_key[member], sort=True)[0]
    order = np.lexsort((rank, group))
    member, group = member[order], group[order]
    pairs = [np.empty((0, 2), dtype=np.int64)]
    for step in range(1, WINDOW + 1):
        same = group[step:] == group[:-step]
        pairs.append(np.stack([member[:-step][same], member[step:][same]], axis=1))
    return np.concatenate(pairs)


def _block(
    stats: dict[str, dict[str, int]],
    name: str,
    keys: np.ndarray,
    rows: np.ndarray,
    *,
    split: np.ndarray | None = None,
    order_key: np.ndarray | None = None,
) -> np.ndarray:
    """Pairs of ``rows`` sharing one of ``keys`` (hashes). Oversized blocks are skipped, or,
    with ``split`` (a hash per row), split by it and then windowed along ``order_key``."""
    sorted_rows, starts, sizes = _groups(keys, rows)
    small = sizes <= BLOCK_CAP
    pairs = [_all_pairs(sorted_rows, starts[small], sizes[small])]
    info = {"blocks": len(sizes), "oversized": int((~small).sum())}
    if split is not None and order_key is not None and (~small).any():
        big = _members(sorted_rows, starts[~small], sizes[~small])
        group = np.repeat(np.arange((~small).sum(), dtype=np.uint64), sizes[~small])
        sub_rows, sub_starts, sub_sizes = _groups(_combine(group, split[big]), big)
        fits = sub_sizes <= BLOCK_CAP
        pairs.append(_all_pairs(sub_rows, sub_starts[fits], sub_sizes[fits]))
        pairs.append(_neighbours(sub_rows, sub_starts[~fits], sub_sizes[~fits], order_key))
        info["windowed"] = int((~fits).sum())
    found = np.concatenate(pairs)
    info["pairs"] = len(found)
    stats[name] = info
    return found


def _row_hashes(chars: np.ndarray) -> np.ndarray:
    """A hash per row of a code-point matrix, blind to the zero padding at row ends."""
    hashes = np.zeros(len(chars), dtype=np.uint64)
    for column in chars.T:
        hashes = np.where(column != 0, hashes * _PRIME + column, hashes)
    return hashes


def _typo_keys(stems: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(hash, row) of every stem of TYPO_STEM to TYPO_STEM_MAX characters and of each of
    its one-character deletions, computed on a code-point matrix rather than string by
    string (a million stems have six million variants)."""
    lengths = np.fromiter(map(len, stems), dtype=np.int64, count=len(stems))
    rows = np.flatnonzero((lengths >= TYPO_STEM) & (lengths <= TYPO_STEM_MAX))
    if not len(rows):
        return np.empty(0, dtype=np.uint64), rows
    text = stems[rows].astype(str)
    chars = text.view(np.uint32).reshape(len(rows), -1).astype(np.uint64)
    keys, owners = [_row_hashes(chars)], [rows]
    for at in range(chars.shape[1]):
        has = lengths[rows] > at
        variant = np.concatenate([chars[has, :at], chars[has, at + 1 :]], axis=1)
        keys.append(_row_hashes(variant))
        owners.append(rows[has])
    return np.concatenate(keys), np.concatenate(owners)


def candidate_pairs(profiles: Profiles) -> Blocks:
    """Every pair of customers that shares at least one blocking key."""
    columns, size = profiles.columns, len(profiles)
    stats: dict[str, dict[str, int]] = {}
    person = columns["kind"] == "person"
    city = _hash(columns["city_key"])
    stem, full = columns["stem"], columns["full"]

    phone = _block(stats, "phone", _hash(profiles.phones[1]), profiles.phones[0])
    email = _block(stats, "email", _hash(profiles.emails[1]), profiles.emails[0])
    named = np.flatnonzero(stem != "")
    name_keys = _hash(stem[named])
    name_keys[person[named]] = _combine(name_keys, city[named])[person[named]]
    names = _block(stats, "name", name_keys, named, split=city, order_key=full)
    companies = np.flatnonzero(~person)
    typo_keys, typo_rows = _typo_keys(stem[companies])
    typo_rows = companies[typo_rows]
    typos = _block(
        stats, "typo", _combine(typo_keys, city[typo_rows]), typo_rows, split=city, order_key=full
    )
    address = columns["address_key"]
    located = np.flatnonzero(np.fromiter(map(len, address), np.int64, size) >= ADDRESS_KEY)
    address_keys = _combine(_hash(address[located]), city[located])
    addresses = _block(stats, "address", address_keys, located)

    phone_ids = _pair_ids(phone[:, 0], phone[:, 1], size)
    email_ids = _pair_ids(email[:, 0], email[:, 1], size)
    everything = np.concatenate([phone, email, names, typos, addresses])
    ids = _pair_ids(everything[:, 0], everything[:, 1], size)
    stats["total"] = {"pairs": len(ids)}
    return Blocks(
        a=ids // size,
        b=ids % size,
        shared_phone=np.isin(ids, phone_ids, assume_unique=True),
        shared_email=np.isin(ids, email_ids, assume_unique=True),
        stats=stats,
    )
