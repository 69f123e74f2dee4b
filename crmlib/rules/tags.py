"""The tag rules: how a text of tags is split, one rule for the entry form, the importer
and the knowledge base, so the same text gives the same tags wherever it is typed; and
the rule a text of tags obeys, so a tag too long to store is refused on every path (the
API, the form, the importer) before it reaches the database."""

from __future__ import annotations

import re
from typing import Any

from ..i18n import t
from .base import FieldRule, RuleViolation, rule_kind
from .fields import TEXT

#: Between two tags: commas, semicolons and the enumeration comma (、), half- or
#: full-width, and the vertical bar; several in a row are one separator.
TAG_SEPARATORS = re.compile(r"[,，;；、|]+")
#: The longest tag there is room for: the width of ``customer_tags.tag``.
TAG_LIMIT = 64


def split_tags(text: str | None) -> list[str]:
    """The tags in ``text``: trimmed, in order, each once; empty pieces are not tags."""
    if not text:
        return []
    pieces = (piece.strip() for piece in TAG_SEPARATORS.split(text))
    return list(dict.fromkeys(piece for piece in pieces if piece))


def _tags(value: Any, *, limit: int, tag_limit: int) -> str | None:
    """Tags as one text, stored as typed (the text rule, at most ``limit`` characters),
    each tag of at most ``tag_limit`` characters."""
    typed = TEXT.scalar(value, limit=limit)
    for tag in split_tags(typed):
        if len(tag) > tag_limit:
            shown = f"{tag[:16]}…"  # longer than any limit: its start names it
            raise RuleViolation(
                "tag_too_long", t("tag_too_long", tag=shown, length=len(tag), limit=tag_limit)
            )
    return typed


TAGS_KIND = rule_kind("tags", _tags)


def tags_text(limit: int, tag_limit: int = TAG_LIMIT) -> FieldRule[str | None]:
    """A text of tags of at most ``limit`` characters, each tag at most ``tag_limit``."""
    return FieldRule(TAGS_KIND, limit=limit, tag_limit=tag_limit)
