"""A paginated table: one page of a DataFrame as plain HTML, never the whole frame.

Pure ipywidgets and HTML, so it renders in JupyterLab, Voila and a static export with no
JavaScript from the internet; a frame of a million rows costs one page of HTML.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import pandas as pd

from ..display import readable
from ..formatting import kinds_of, value_text
from ..missing import is_missing
from ..reference.enums import Enumeration
from .texts import column_heading, say

PAGE_SIZE = 15
#: Longest text shown in a cell; the rest is cut with an ellipsis.
CELL_CHARS = 80
CSS = (
    "<style>.crm-grid table{border-collapse:collapse;font-size:13px;width:100%}"
    ".crm-grid th{background:#f2f4f7;text-align:left;padding:4px 8px;border-bottom:1px solid"
    " #d0d5dd;white-space:nowrap}.crm-grid td{padding:3px 8px;border-bottom:1px solid #eaecf0;"
    "vertical-align:top}</style>"
)


def cell(value: Any, kind: str = "text", lang: str | None = None) -> str:
    """A value as a table shows it (:func:`crmlib.formatting.value_text`: blanks empty,
    是/否, dates without midnight, numbers by ``kind``), long text cut."""
    if is_missing(value):
        return ""
    text = value_text(value, kind, lang)
    return text if len(text) <= CELL_CHARS else text[: CELL_CHARS - 1] + "…"


def labelled(
    frame: pd.DataFrame, lang: str, enumerations: Mapping[str, Enumeration]
) -> pd.DataFrame:
    """A copy of ``frame`` whose enumeration columns read as labels (待处理, not ``open``):
    people read tables, codes are for files and code."""
    shown = frame.copy()
    for column, enumeration in enumerations.items():
        shown[column] = [
            enumeration.label(code, lang) if isinstance(code, str) else code
            for code in shown[column]
        ]
    return shown


class Grid(widgets.VBox):
    """``frame`` a page at a time, with Previous/Next and an optional row picker.

    ``key`` names the column whose value :attr:`selected` holds when a row is picked (the
    picker lists the rows of the page shown, labelled by ``label``); ``colour`` gives a
    row's background colour (an SLA state, a failed check) or None; ``headers`` renames
    columns for people; ``hide`` keeps columns
    out of sight that ``colour`` or ``label`` read.
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        lang: str,
        *,
        page_size: int = PAGE_SIZE,
        key: str | None = None,
        label: Callable[[Mapping[Any, Any]], str] | None = None,
        colour: Callable[[Mapping[Any, Any]], str | None] | None = None,
        headers: Mapping[str, str] | None = None,
        hide: Sequence[str] = (),
        css: str = "crm-grid",
    ) -> None:
        self.lang = lang
        self.page_size = page_size
        self.key = key
        self.label = label or (lambda row: cell(row[key]) if key else "")
        self.colour = colour
        self.headers = dict(headers or {})
        self.hide = tuple(hide)
        self.page = 0
        self.table = widgets.HTML()
        self.table.add_class("crm-grid")
        self.where = widgets.Label()
        self.previous = widgets.Button(description=say("previous", lang), icon="chevron-left")
        self.next = widgets.Button(description=say("next", lang), icon="chevron-right")
        self.previous.add_class("crm-grid-previous")
        self.next.add_class("crm-grid-next")
        self.previous.on_click(lambda _: self.turn(-1))
        self.next.on_click(lambda _: self.turn(1))
        self.picker = widgets.Dropdown(description=say("select_row", lang), options=[])
        self.picker.add_class("crm-grid-picker")
        self.picker.layout.display = "" if key else "none"
        pager = widgets.HBox([self.previous, self.where, self.next, self.picker])
        super().__init__([self.table, pager])
        self.add_class(css)
        self.frame = frame
        self.set_frame(frame)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(len(self.frame) / self.page_size))

    @property
    def selected(self) -> Any:
        return self.picker.value

    def set_frame(self, frame: pd.DataFrame, *, keep_page: bool = False) -> None:
        self.frame = frame.reset_index(drop=True)
        self.page = min(self.page, self.pages - 1) if keep_page else 0
        self.render()

    def turn(self, step: int) -> None:
        self.page = min(max(self.page + step, 0), self.pages - 1)
        self.render()

    def rows(self) -> pd.DataFrame:
        """The rows of the page shown."""
        start = self.page * self.page_size
        return self.frame.iloc[start : start + self.page_size]

    def render(self) -> None:
        rows = self.rows()
        self.table.value = CSS + self._html(rows)
        self.where.value = say(
            "page",
            self.lang,
            page=f"{self.page + 1:,}",
            pages=f"{self.pages:,}",
            rows=f"{len(self.frame):,}",
        )
        self.previous.disabled = self.page == 0
        self.next.disabled = self.page >= self.pages - 1
        if self.key:
            records = rows.to_dict("records")
            options = [(self.label(r), r[self.key]) for r in records]
            current = self.picker.value
            self.picker.options = options
            values = [v for _, v in options]
            self.picker.value = current if current in values else (values[0] if values else None)

    def _html(self, rows: pd.DataFrame) -> str:
        if rows.empty:
            return f"<div style='color:#667085'>{html.escape(say('empty', self.lang))}</div>"
        shown = [c for c in rows.columns if c not in self.hide]
        head = "".join(
            f"<th>{html.escape(self.headers.get(str(c)) or column_heading(str(c), self.lang))}</th>"
            for c in shown
        )
        body = []
        kinds = kinds_of(rows[shown])
        people = readable(rows[shown], self.lang).to_dict("records")
        for record, words in zip(rows.to_dict("records"), people, strict=True):
            shade = self.colour(record) if self.colour else None
            style = f" style='background:{shade}'" if shade else ""
            cells = "".join(
                f"<td>{html.escape(cell(words[c], kinds[str(c)], self.lang))}</td>" for c in shown
            )
            body.append(f"<tr{style}>{cells}</tr>")
        return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
