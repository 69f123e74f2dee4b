"""Stored values as people read them: enumeration codes, roles and teams as their labels,
usernames as display names, regions, provinces and industries by name, in the chosen
language. Files written for re-import keep their codes; tables for people go through here.

:func:`readable` labels the codes and keeps numbers as numbers (for workbooks and charts);
:func:`shown` also turns every cell into text (:mod:`crmlib.formatting`) for terminals and
HTML tables; :func:`heading` is a column's header.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from .analytics.labels import value_label
from .formatting import frame_text
from .i18n import MESSAGES, current_lang, t
from .missing import is_missing
from .reference.enums import (
    CAMPAIGN_CHANNEL,
    CHANNEL,
    CUSTOMER_KIND,
    CUSTOMER_STATUS,
    ENUMS,
    FEEDBACK_KIND,
    GRADE,
    LEAD_STATUS,
    MEMBER_STATUS,
    PRIORITY,
    RECORD_KIND,
    REMINDER_KIND,
    ROLE,
    SHOWN_ONLY,
    SIZE,
    SLA_STATE,
    SOURCE,
    STAGE,
    TASK_STATUS,
    TEAM,
    TICKET_EVENT,
    TICKET_STATUS,
    TICKET_TYPE,
    VALUE_TIER,
    Enumeration,
)

#: The enumerations a column of this name may hold; when several, its values decide.
COLUMN_ENUMS: dict[str, tuple[Enumeration, ...]] = {
    "role": (ROLE,),
    "kind": (CUSTOMER_KIND, FEEDBACK_KIND, TICKET_EVENT, REMINDER_KIND),
    "grade": (GRADE,),
    "size": (SIZE,),
    "status": (TICKET_STATUS, LEAD_STATUS, CUSTOMER_STATUS, TASK_STATUS, MEMBER_STATUS),
    "customer_status": (CUSTOMER_STATUS,),
    "lead_status": (LEAD_STATUS,),
    "ticket_status": (TICKET_STATUS,),
    "task_status": (TASK_STATUS,),
    "member_status": (MEMBER_STATUS,),
    "response": (MEMBER_STATUS,),
    "source": (SOURCE,),
    "value_tier": (VALUE_TIER,),
    "stage": (STAGE,),
    "from_stage": (STAGE,),
    "to_stage": (STAGE,),
    "channel": (CHANNEL, CAMPAIGN_CHANNEL),
    "type": (TICKET_TYPE, TICKET_EVENT),
    "ticket_type": (TICKET_TYPE,),
    "event": (TICKET_EVENT,),
    "priority": (PRIORITY,),
    "team": (TEAM,),
    "sla_state": (SLA_STATE,),
    "sla": (SLA_STATE,),
    "entity": (RECORD_KIND,),
    # a ticket event's old and new value: a status or, for a transfer, a team
    "from_value": (TICKET_STATUS, TEAM),
    "to_value": (TICKET_STATUS, TEAM),
}
#: Columns holding a username: people read the user's display name.
USER_COLUMNS: frozenset[str] = frozenset(
    {
        "owner",
        "assignee",
        "actor",
        "author",
        "created_by",
        "grade_override_by",
        "status_override_by",
        "user",
        "reassign_to",
        "from_value",
        "to_value",
    }
)
#: Columns whose values may be a team and a user joined by "/" (a ticket transfer).
PAIR_COLUMNS = frozenset({"from_value", "to_value"})
#: Columns whose names :func:`crmlib.analytics.labels.value_label` knows how to read.
PLACE_COLUMNS = ("region", "province", "industry")


def all_codes() -> set[str]:
    """Every code of every enumeration, team and role people must never read raw."""
    return {c.code for e in (*ENUMS.values(), *SHOWN_ONLY) for c in e}


def _base(column: str) -> str:
    """``owner_a`` and ``owner_b`` (a pair of records side by side) read as ``owner``."""
    return column.removesuffix("_a").removesuffix("_b") if column.endswith(("_a", "_b")) else column


def choose(candidates: tuple[Enumeration, ...], values: Iterable[Any]) -> Enumeration | None:
    """The first of ``candidates`` that has every code of ``values`` (a ticket's
    ``status`` column, not a lead's); None when none has them all."""
    codes = {str(v) for v in values if isinstance(v, str)}
    for enumeration in candidates:
        if codes <= set(enumeration.codes):
            return enumeration
    return None


def _cell(value: Any, candidates: tuple[Enumeration, ...], lang: str) -> Any:
    """One code by the first candidate that has it (columns of mixed lists)."""
    if not isinstance(value, str):
        return value
    for enumeration in candidates:
        if value in enumeration.codes:
            return enumeration.label(value, lang)
    return value


def _pair(value: Any, lang: str, users: Mapping[str, str]) -> Any:
    """``service/zhang.jing`` as ``客服团队/张静``."""
    if not isinstance(value, str) or value.count("/") != 1:
        return value
    team, user = value.split("/")
    return f"{TEAM.label(team, lang) if team else ''}/{users.get(user, user)}"


def readable(
    frame: pd.DataFrame,
    lang: str | None = None,
    *,
    names: Mapping[str, str] | None = None,
    enums: Mapping[str, Enumeration] | None = None,
) -> pd.DataFrame:
    """A copy of ``frame`` whose codes read as labels (待处理, not ``open``; 华东团队, not
    ``east``; 余飞, not ``yu.fei`` when ``names`` maps usernames to display names).
    ``enums`` names a column's enumeration where the values cannot tell (a task's
    ``status`` of open and in_progress reads like a ticket's). Numbers stay numbers."""
    lang = current_lang(lang)
    given = dict(enums or {})
    users = dict(names or {})
    shown = frame.copy()
    for position, column in enumerate(frame.columns):
        name = _base(str(column))
        values = frame.iloc[:, position]
        if values.dtype.kind in "biufcmM":
            continue
        enumeration = given.get(name)
        if enumeration is not None:
            cells = [enumeration.label(v, lang) if isinstance(v, str) else v for v in values]
        elif name in PLACE_COLUMNS:
            cells = [v if is_missing(v) else value_label(name, v, lang) for v in values]
        elif name in COLUMN_ENUMS:
            candidates = COLUMN_ENUMS[name]
            enumeration = choose(candidates, values)
            if enumeration is not None:
                cells = [enumeration.label(v, lang) if isinstance(v, str) else v for v in values]
            else:
                cells = [_cell(v, candidates, lang) for v in values]
        else:
            cells = list(values)
        if name in USER_COLUMNS and users:
            cells = [users.get(v, v) if isinstance(v, str) else v for v in cells]
        if name in PAIR_COLUMNS:  # a transfer's "team/username"
            cells = [_pair(v, lang, users) for v in cells]
        shown[column] = pd.Series(cells, index=frame.index, dtype=object)
    return shown


def heading(column: str, lang: str | None = None, first: str = "ui_column") -> str:
    """The header people read for ``column``: the tables' label (``ui_column``) or, with
    ``first="figures"``, the reports' label first; else the column as it is (a header
    already in words)."""
    lang = current_lang(lang)
    order = ("ui_column", "figures") if first == "ui_column" else ("figures", "ui_column")
    for key in (f"{space}:{column}" for space in order):
        if key in MESSAGES:
            return t(key, lang)
    name = _base(column)
    if name != column:
        suffix = {"_a": "甲", "_b": "乙"} if lang == "zh" else {"_a": " A", "_b": " B"}
        return heading(name, lang, first) + suffix[column[len(name) :]]
    return column


def shown(
    frame: pd.DataFrame,
    lang: str | None = None,
    *,
    names: Mapping[str, str] | None = None,
    enums: Mapping[str, Enumeration] | None = None,
    headers: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """``frame`` as people read it: labels for codes (:func:`readable`), every cell as
    text (:func:`crmlib.formatting.frame_text`), headers in ``lang`` (``headers`` first)."""
    lang = current_lang(lang)
    kinds = dict(frame.attrs.get("kinds", {}))
    text = frame_text(readable(frame, lang, names=names, enums=enums), lang, **kinds)
    given = dict(headers or {})
    return text.set_axis([given.get(str(c)) or heading(str(c), lang) for c in text.columns], axis=1)


def value_shown(
    column: str, value: Any, lang: str | None = None, names: Mapping[str, str] | None = None
) -> str:
    """One value of ``column`` as a table would show it, for sentences (a ticket's status
    in its summary line, a lead's new status)."""
    frame = pd.DataFrame({column: pd.Series([value], dtype=object)})
    return str(shown(frame, lang, names=names).iloc[0, 0])


#: Columns kept out of tables for people: machine keys beside their readable twins.
MACHINE_COLUMNS = ("id", "family", "formula_id")


def for_people(
    frame: pd.DataFrame, lang: str | None = None, *, names: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """A result frame as a table for people, numbers kept: where a code column has its
    label beside it (``region`` + ``label``, ``step`` + ``step_label``) the label takes
    the code's place; KPI ids and families go (their names stay); codes read as labels."""
    lang = current_lang(lang)
    table = frame.copy()
    columns = [str(c) for c in table.columns]
    for position, column in enumerate(columns):
        if column == "label" and position > 0:
            code = columns[position - 1]
            table = table.drop(columns=[code]).rename(columns={"label": code})
        elif column.endswith("_label") and column.removesuffix("_label") in columns:
            code = column.removesuffix("_label")
            table = table.drop(columns=[code]).rename(columns={column: code})
    if "name" in table.columns:
        table = table.drop(columns=[c for c in MACHINE_COLUMNS if c in table.columns])
    if "unit" in table.columns:
        table["unit"] = [
            t(f"units:{v}", lang) if f"units:{v}" in MESSAGES else v for v in table["unit"]
        ]
    table.attrs = dict(frame.attrs)
    return readable(table, lang, names=names)
