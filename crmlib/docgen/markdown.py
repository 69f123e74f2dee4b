"""Small Markdown helpers shared by the reference pages."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

#: The first line of every generated page.
BANNER = (
    "<!-- Generated from the code by `make docs` (python -m crmlib.docgen). "
    "Do not edit: change {source} and run `make docs`. -->"
)


def banner(source: str) -> str:
    return BANNER.format(source=source)


def cell(text: str) -> str:
    """``text`` safe inside a table cell: pipes escaped, line breaks joined."""
    return " ".join(text.replace("|", "\\|").split())


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def code(text: str) -> str:
    """Inline code that survives backticks inside ``text``."""
    fence = "``" if "`" in text else "`"
    pad = " " if "`" in text else ""
    return f"{fence}{pad}{text}{pad}{fence}"
