"""Checking an import file chunk by chunk: read, validated, repeats rejected, new rows
laid out for the writer when the import engine stages them.

A :class:`Checker` never touches the database: what its writer needs from there (users,
settings, whether the table started empty) is read before the first chunk, so an import
engine may run it on another thread (see :mod:`crmlib.transfer.engines`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import FieldError
from ..i18n import t
from ..rules.fields import RuleViolation
from .kinds import FileKind
from .reading import Chunk, Table
from .staging import Staged
from .writers.base import Outcome, Writer

#: Rows of the first chunk that go ahead of the rest of it (see :func:`_first_part_ahead`).
FIRST_PART_ROWS = 5_000
#: Hash keys of the two kinds of row identity (a key, or all cells), 16 characters each.
_KEYS, _CELLS = "crm-import-keys.", "crm-import-cells"


def _validate(spec: FileKind, raw: pd.DataFrame, writer: Writer, outcome: Outcome) -> pd.DataFrame:
    """Clean values for every mapped column. A value that breaks its field's rule rejects
    its row, required or not, as the API and the entry forms refuse it: no row is stored
    with a broken value left out. A missing required value rejects its row too."""
    clean = pd.DataFrame(index=raw.index)
    violations: dict[str, pd.Series] = {}
    for name in raw.columns:
        # The column's rule, then its value words (重要, 成交客户) for what it refused.
        clean[name], violations[name] = spec.column(name).check(raw[name])
    required = writer.required(clean)
    nobody = pd.Series(False, index=raw.index)
    for name in spec.names:
        broken = violations[name].notna() if name in violations else nobody
        if broken.any():
            for row, value, violation in _broken(raw, violations, name, broken):
                outcome.refuse(row, FieldError(name, value, violation.rule, violation.message))
        must = required.get(name, nobody)
        if not must.any():
            continue
        missing = clean[name].isna() & ~broken if name in clean else ~nobody
        for row in raw.index[missing & must]:
            outcome.refuse(row, FieldError(name, None, "required", t("required")))
    return clean


def _broken(
    raw: pd.DataFrame, violations: dict[str, pd.Series], name: str, rows: pd.Series
) -> Iterator[tuple[int, Any, RuleViolation]]:
    """Row number, raw value and violation of the ``rows`` of column ``name``."""
    return zip(
        raw.index[rows].tolist(),
        raw[name][rows].tolist(),
        violations[name][rows].tolist(),
        strict=True,
    )


class _Repeats:
    """A record given twice in one file: the first row counts, later ones are rejected.

    Rows with a key (external_id, code) repeat when the key does; rows without one when
    every cell does, unless the writer's kind is transactional: two identical purchases
    are two purchases (see :attr:`Writer.transactional`). Identities are kept as 64-bit
    hashes with the row that first had them, in sorted arrays: 16 bytes a row, so a
    million-row file costs 16 MB here. Two different identities share a hash with a
    chance of about 1 in 30 million at a million rows; the later row would then be
    rejected, with the row it seemed to repeat.
    """

    def __init__(self) -> None:
        self.hashes = np.empty(0, dtype=np.uint64)
        self.rows = np.empty(0, dtype=np.int64)

    def reject(
        self, writer: Writer, clean: pd.DataFrame, raw: pd.DataFrame, outcome: Outcome
    ) -> None:
        keys = writer.file_key(clean)
        keyed = keys.notna().to_numpy()
        if writer.transactional and not keyed.all():
            keys, raw, keyed = keys[keyed], raw[keyed], keyed[keyed]
        identity = np.empty(len(raw), dtype=np.uint64)
        identity[keyed] = pd.util.hash_array(keys[keyed].to_numpy(dtype=object), hash_key=_KEYS)
        if not keyed.all():
            cells = pd.util.hash_pandas_object(raw[~keyed], index=False, hash_key=_CELLS)
            identity[~keyed] = cells.to_numpy()
        rows = raw.index.to_numpy(dtype=np.int64)
        first = self._first_rows(identity, rows)
        repeated = first != rows
        for row, earlier in zip(rows[repeated].tolist(), first[repeated].tolist(), strict=True):
            outcome.reject(row, t("repeated_row", row=earlier))

    def _first_rows(self, identity: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The row each identity first appeared in (its own row for a first occurrence),
        remembering the new ones."""
        order = np.argsort(identity, kind="stable")
        ordered = identity[order]
        starts = np.ones(len(ordered), dtype=bool)
        starts[1:] = ordered[1:] != ordered[:-1]
        group_first = order[np.maximum.accumulate(np.where(starts, np.arange(len(order)), 0))]
        first = np.empty_like(rows)
        first[order] = rows[group_first]
        position = np.searchsorted(self.hashes, identity)
        known = position < len(self.hashes)
        known[known] = self.hashes[position[known]] == identity[known]
        first[known] = self.rows[position[known]]
        new = order[starts & ~known[order]]
        at = position[new]  # where they go in the arrays as they were
        self.hashes = np.insert(self.hashes, at, identity[new])
        self.rows = np.insert(self.rows, at, rows[new])
        return first


@dataclass
class Checked:
    """A chunk of the file, validated: its number of rows, the original cells of the rows
    rejected or still open to rejection (the rest are not needed again, so they are not
    kept), the clean values, its new rows when staged, and what happened to its rows so
    far."""

    rows: int
    originals: pd.DataFrame
    clean: pd.DataFrame
    outcome: Outcome
    staged: Staged | None = None


class Checker:
    """Reads the file chunk by chunk, validates each and rejects repeated records."""

    def __init__(
        self,
        table: Table,
        mapping: dict[str, int],
        spec: FileKind,
        writer: Writer,
        chunk_rows: int,
        *,
        stages: bool = False,
    ) -> None:
        self.mapping = mapping
        self.spec = spec
        self.writer = writer
        self.repeats = _Repeats()
        self.chunks = _first_part_ahead(table.chunks(chunk_rows), FIRST_PART_ROWS)
        #: Whether the writer's new rows are laid out here, by whoever checks the chunk.
        self.stages = stages

    def next(self) -> Checked | None:
        """The next chunk, checked; None after the last one."""
        chunk = next(self.chunks, None)
        if chunk is None:
            return None
        cells = chunk.cells
        outcome = Outcome()
        # A ragged row's cells are not under their columns: its one reason is that.
        for row, problem in chunk.ragged.items():
            outcome.reject(row, str(problem))
        lined_up = cells.drop(index=list(chunk.ragged)) if chunk.ragged else cells
        raw = pd.DataFrame(
            {name: lined_up[position] for name, position in self.mapping.items()},
            index=lined_up.index,
        )
        clean = self.spec.settled(_validate(self.spec, raw, self.writer, outcome))
        self.repeats.reject(self.writer, clean, raw, outcome)
        rejected = [row for row, status in outcome.status.items() if status == "rejected"]
        kept = self.writer.may_reject(clean) | clean.index.isin(rejected)
        originals = cells[kept.reindex(cells.index, fill_value=True).to_numpy()]
        staged = self.writer.stage(clean, outcome) if self.stages else None
        if staged is not None:
            return Checked(len(cells), originals, clean.iloc[:0], outcome, staged)
        return Checked(len(cells), originals, clean, outcome)


def _first_part_ahead(chunks: Iterator[Chunk], rows: int) -> Iterator[Chunk]:
    """The same chunks, the first one split after ``rows`` rows: when chunks are checked
    ahead of their writing, the writer has nothing to do until the first chunk is checked,
    so a small one goes ahead."""
    first = next(chunks, None)
    if first is None:
        return
    if len(first.cells) > rows:
        head = first.cells.iloc[:rows]
        last = head.index[-1]
        yield Chunk(head, {row: p for row, p in first.ragged.items() if row <= last})
        first = Chunk(
            first.cells.iloc[rows:], {row: p for row, p in first.ragged.items() if row > last}
        )
    yield first
    yield from chunks
