"""The tag rule: how a text of tags is split, one rule for the entry form, the importer
and the knowledge base, so the same text gives the same tags wherever it is typed."""

from __future__ import annotations

import re

#: Between two tags: commas, semicolons and the enumeration comma (、), half- or
#: full-width, and the vertical bar; several in a row are one separator.
TAG_SEPARATORS = re.compile(r"[,，;；、|]+")


def split_tags(text: str | None) -> list[str]:
    """The tags in ``text``: trimmed, in order, each once; empty pieces are not tags."""
    if not text:
        return []
    pieces = (piece.strip() for piece in TAG_SEPARATORS.split(text))
    return list(dict.fromkeys(piece for piece in pieces if piece))
