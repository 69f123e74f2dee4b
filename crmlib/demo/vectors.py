"""Small vectorised building blocks shared by the demo generators.

The generators work column-wise on numpy arrays so a million customers cost seconds, not
minutes; these helpers keep the recurring array idioms in one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[Any]
"""Any numpy array; the dtype is named where the array is made."""

Rows = dict[str, Array]
"""One table's new rows, column by column (all columns of equal length)."""


def pool(strings: Sequence[str | None]) -> Array:
    """Strings as an object array, so fancy indexing hands out shared str objects."""
    out = np.empty(len(strings), dtype=object)
    out[:] = list(strings)
    return out


def choose(rng: np.random.Generator, weights: Sequence[float] | Array, size: int) -> Array:
    """``size`` indices into ``weights``, drawn with probability proportional to the weight."""
    p = np.asarray(weights, dtype=float)
    return rng.choice(len(p), size=size, p=p / p.sum())


def expand(counts: Array) -> tuple[Array, Array]:
    """For ``counts[i]`` children of each parent ``i``: each child's parent and its ordinal."""
    parent = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    return parent, np.arange(len(parent)) - starts[parent]


def group_max(index: Array, values: Array, size: int, fill: int) -> Array:
    """The largest of ``values`` per group ``index`` (``fill`` where a group is empty)."""
    out = np.full(size, fill, dtype=np.int64)
    np.maximum.at(out, index, values)
    return out


def zfill(values: Array, width: int) -> Array:
    """Non-negative integers as zero-padded decimal strings of ``width`` digits."""
    text = (np.asarray(values, dtype=np.int64) % 10**width + 10**width).astype(f"U{width + 1}")
    # Drop the leading "1": a U string is a row of UCS-4 code points.
    digits = text.view(np.uint32).reshape(len(text), width + 1)[:, 1:].copy()
    out: Array = digits.view(f"U{width}").ravel().astype(object)
    return out


def nullable(values: Array, present: Array) -> Array:
    """``values`` as Python objects, with None where ``present`` is False."""
    out = np.asarray(values).astype(object)
    out[~np.asarray(present, dtype=bool)] = None
    return out


def gather(values: Array, index: Array) -> Array:
    """``values[index]`` as objects, None where ``index`` is negative (even if ``values``
    is empty)."""
    out = np.full(len(index), None, dtype=object)
    present = index >= 0
    out[present] = values[index[present]]
    return out


def concat(*parts: Array | str) -> Array:
    """Element-wise string concatenation of object arrays (and constant strings)."""
    out: Any = parts[0]
    for part in parts[1:]:
        out = out + part
    return np.asarray(out, dtype=object)


def stack(*parts: Rows) -> Rows:
    """The rows of several tables' worth of the same columns, one after the other."""
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
