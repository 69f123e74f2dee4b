"""Report parameters: what a parameter file, a URL or a notebook's ``parameters`` cell
says, turned into the analytics filters, and the report's title.

Every report notebook takes the same parameters (:data:`PARAMETERS`). ``period`` may be a
period as :func:`~crmlib.analytics.filters.parse_period` reads it (``2025-Q4``), including
one relative to the run day (``previous_month``, ``previous_quarter``, ``previous_year``,
``this_month``, ``this_quarter``, ``this_year``, or their Chinese names), so a scheduled
report covers the right period on every run. ``start``/``end`` are inclusive days instead of
a period.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import yaml

from ..analytics.filters import Filters, parse_period, resolve_period
from ..errors import FieldError, ValidationError
from ..i18n import current_lang, t
from ..reference.regions import REGION_EN

#: A parameter or schedule file is a few lines: a larger file is refused, not read.
MAX_FILE_BYTES = 64 * 1024

#: The parameters of every report notebook, with their defaults.
PARAMETERS: dict[str, Any] = {
    "period": "previous_quarter",
    "start": None,
    "end": None,
    "region": None,
    "team": None,
    "owner": None,
    "segment": None,
    "lang": "zh",
    "as_of": None,
}


def normalise(values: Mapping[str, Any], today: date | None = None) -> dict[str, Any]:
    """All parameters with defaults filled in, blanks as None, the period resolved; an
    unknown parameter or language is a clear error."""
    unknown = [key for key in values if key not in PARAMETERS]
    if unknown:
        known = ", ".join(PARAMETERS)
        raise ValidationError(
            [
                FieldError(k, values[k], "report_parameter", t("params:unknown", known=known))
                for k in unknown
            ]
        )
    merged = {**PARAMETERS, **values}
    clean = {key: (None if value == "" else value) for key, value in merged.items()}
    clean["lang"] = clean["lang"] or "zh"
    if clean["lang"] not in ("zh", "en"):
        raise ValidationError(FieldError("lang", clean["lang"], "lang", t("params:lang")))
    for key in ("start", "end", "as_of"):
        day = clean[key]
        if isinstance(day, date):
            clean[key] = day.isoformat()
    if clean["start"] or clean["end"]:
        clean["period"] = None
    clean["period"] = resolve_period(clean["period"], today)
    # Checked once here (a clear error naming the field), with the region's own name.
    clean["region"] = Filters.of(**filters(clean)).region
    return clean


def filters(values: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword filters of ``ws.kpis``, ``ws.profile``… for normalised parameters."""
    given = {
        "period": values.get("period"),
        "period_start": values.get("start"),
        "period_end": values.get("end"),
        "region": values.get("region"),
        "team": values.get("team"),
        "owner": values.get("owner"),
        "segment": values.get("segment"),
        "as_of": values.get("as_of"),
    }
    return {key: value for key, value in given.items() if value}


def from_query(query: str | None, values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` with what a URL's query string (``region=华东&period=2025-Q4``) says for
    the report parameters; other query arguments (Voila's own) are ignored."""
    merged = dict(values)
    for key, given in parse_qs(query or "", keep_blank_values=True).items():
        if key in PARAMETERS:
            merged[key] = given[-1]
    if (merged.get("start") or merged.get("end")) and not (query and "period=" in query):
        merged["period"] = None
    return merged


def load_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    """The YAML document of the parameter or schedule file ``path``, and its node tree
    (which knows each key's line).

    Any path may be given here, and its errors end up in run records other users read, so
    a file that is missing, too large, unreadable or not YAML is an error naming the file,
    the rule and at most a line number, never quoting the file's text."""

    def refused(rule: str, message: str) -> ValidationError:
        return ValidationError(FieldError("file", str(path), rule, message))

    if not path.is_file():
        raise refused("file", t("file_missing", path=path))
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        raise refused("readable", t("params:unreadable", path=path)) from None
    if len(raw) > MAX_FILE_BYTES:
        raise refused("size", t("params:too_big", path=path, limit=MAX_FILE_BYTES // 1024))
    try:
        loader = yaml.SafeLoader(text)  # refuses control characters at once
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        if mark is None:
            raise refused("yaml", t("params:syntax", path=path)) from None
        raise refused("yaml", t("params:syntax_line", path=path, line=mark.line + 1)) from None
    return data, node


def read_file(path: str | Path) -> dict[str, Any]:
    """The parameters of a papermill parameter file (YAML: ``parameter: value``). A file
    with anything but report parameters is refused by line, without quoting it: it may be
    any file the process can read, not a parameter file at all."""
    path = Path(path)
    data, node = load_yaml(path)
    data = data or {}
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise ValidationError(FieldError("file", str(path), "yaml", t("params:file", path=path)))
    if any(key not in PARAMETERS for key in data):
        assert isinstance(node, yaml.MappingNode)
        lines = sorted({k.start_mark.line + 1 for k, _ in node.value if k.value not in PARAMETERS})
        shown = ", ".join(map(str, lines[:5])) + ("…" if len(lines) > 5 else "")
        message = t("params:file_keys", path=path, lines=shown, known=", ".join(PARAMETERS))
        raise ValidationError(FieldError("file", str(path), "report_parameter", message))
    return data


def _period_text(values: Mapping[str, Any], lang: str) -> str:
    period, start, end = values.get("period"), values.get("start"), values.get("end")
    if period:
        first, _ = parse_period(str(period))
        text = str(period).upper()
        if len(text) == 4:
            return f"{text}年" if lang == "zh" else text
        year, part = text[:4], text[5:]
        if part[0] in "QH":
            if lang == "zh":
                return f"{year}年" + ({"H1": "上半年", "H2": "下半年"}.get(part) or part)
            return f"{year} {part}"
        if len(text) <= 7:
            return f"{year}年{first.month}月" if lang == "zh" else first.strftime("%B %Y")
        if lang == "zh":
            return f"{first.year}年{first.month}月{first.day}日"
        return first.isoformat()
    if start or end:
        f = Filters.of(period_start=start, period_end=end)
        first_text = f.start.isoformat() if f.start else "…"
        last_text = (f.end - timedelta(days=1)).isoformat() if f.end else "…"
        return f"{first_text}至{last_text}" if lang == "zh" else f"{first_text} to {last_text}"
    return t("params:all_time", lang)


def title(name: Callable[[str], str], values: Mapping[str, Any], lang: str | None = None) -> str:
    """The report's title from its parameters and ``name``, the report's name in a language
    (:meth:`Report.title_name`): ``2024年Q1华东区域客户画像分析报告``, or in English
    ``Customer profile report — East China, 2024 Q1``."""
    lang = current_lang(lang or values.get("lang"))
    period = _period_text(values, lang)
    region = values.get("region")
    if lang == "zh":
        scope = f"{region}区域" if region else ""
        scope += f"{values['team']}团队" if values.get("team") else ""
        scope += f"{values['owner']}的客户" if values.get("owner") else ""
        scope += f"「{values['segment']}」" if values.get("segment") else ""
        return f"{period}{scope}{name(lang)}"
    parts = [REGION_EN.get(region, region) if region else t("params:nationwide", lang)]
    parts += [f"team {values['team']}"] if values.get("team") else []
    parts += [f"owner {values['owner']}"] if values.get("owner") else []
    parts += [f"segment “{values['segment']}”"] if values.get("segment") else []
    return f"{name(lang)} — {', '.join(parts)}, {period}"
