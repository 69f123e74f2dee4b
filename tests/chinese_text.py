"""What tells a Chinese reader's text from one that leaks codes or English: the word
pattern, the acronyms allowed, the words people typed into a demo, and the text a report's
page shows (tests/test_chinese_output.py for the command's tables,
tests/reporting/test_report_notebooks.py for the reports)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
from sqlalchemy import select

from crmlib.display import COLUMN_ENUMS, USER_COLUMNS, all_codes
from crmlib.store.models import Base
from crmlib.workspace import Workspace

ACRONYMS = frozenset({"SLA", "CSAT", "NPS", "ROI", "KPI", "RFM", "AUC", "GB"})
WORD = re.compile(r"(?<![A-Za-z0-9_@.])[A-Za-z][A-Za-z_]*[A-Za-z](?![A-Za-z0-9_@])")
#: Tables whose free text people typed (names, subjects, notes) may hold ASCII words.
TYPED = (
    "customers",
    "contacts",
    "leads",
    "opportunities",
    "interactions",
    "orders",
    "tickets",
    "ticket_events",
    "kb_articles",
    "campaigns",
    "tasks",
    "comments",
    "users",
    "segments",
)


def typed_values(demo: Workspace) -> Iterator[str]:
    """The texts people typed into the demo's records (not its codes, logins or teams)."""
    coded = {
        *COLUMN_ENUMS,
        *USER_COLUMNS,
        "username",
        "email",
        "website",
        "tags",
        "industry",
        "industry_section",
        "industry_division",
        "province",
        "region",
    }
    with demo.engine.connect() as conn:
        for name in TYPED:
            table = Base.metadata.tables[name]
            columns = [
                c for c in table.columns if c.name not in coded and c.type.python_type is str
            ]
            for row in conn.execute(select(*columns)):
                yield from (str(value) for value in row if value)


def typed_words(demo: Workspace) -> set[str]:
    """ASCII words of what people typed."""
    return {word for value in typed_values(demo) for word in WORD.findall(value)}


def problems(text: str, typed: set[str], where: str) -> list[str]:
    """Stored codes and English words in ``text``."""
    found = []
    codes = all_codes()
    for word in WORD.findall(text):
        if word in codes:
            found.append(f"{where}: code {word!r}")
        elif word not in ACRONYMS and word not in typed:
            found.append(f"{where}: English {word!r}")
    return found


def _strings(spec: Any) -> Iterator[str]:
    """The texts a chart draws: titles, and the string values of its data."""
    if isinstance(spec, dict):
        for key, value in spec.items():
            if key in (
                "$schema",
                "config",
                "field",
                "type",
                "mark",
                "sort",
                "format",
                "scheme",
                "name",
                "test",
                "as",
                "calculate",
                "filter",
                "aggregate",
                "stack",
                "orient",
                "align",
                "baseline",
                "fontWeight",
                "signal",
                "expr",
                "datum",
                "condition",
                "value",
                "bin",
                "timeUnit",
            ):
                continue
            if key in ("title", "text") and isinstance(value, str):
                yield value
            elif key in ("datasets", "data", "values"):
                yield from _data_strings(value)
            else:
                yield from _strings(value)
    elif isinstance(spec, list):
        for item in spec:
            yield from _strings(item)


def _data_strings(data: Any) -> Iterator[str]:
    if isinstance(data, dict):
        for value in data.values():
            yield from _data_strings(value)
    elif isinstance(data, list):
        for row in data:
            if isinstance(row, dict):
                yield from (v for v in row.values() if isinstance(v, str))


def page_text(notebook: Path) -> str:
    """What a report's page shows: its HTML outputs without scripts and tags, and the
    texts of its charts."""
    node = nbformat.read(notebook, as_version=4)
    parts = []
    for cell in node.cells:
        for output in cell.get("outputs", []):
            markup = output.get("data", {}).get("text/html", "")
            markup = "".join(markup) if isinstance(markup, list) else markup
            start = markup.find('{"$schema"')
            if start >= 0:
                spec, _ = json.JSONDecoder().raw_decode(markup.replace("<\\/", "</"), start)
                parts += list(_strings(spec))
            visible = re.sub(r"<(script|style)\b.*?</\1>", " ", markup, flags=re.S)
            parts.append(re.sub(r"<[^>]+>", " ", visible))
    return "\n".join(parts)
