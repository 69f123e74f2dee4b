"""Duplicates on screen: the warning an entry form shows while a name or phone is typed,
a side-by-side comparison with the differing fields highlighted, and the review queue
that merges a pair (choosing the surviving value per field) and can undo it."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as widgets
import pandas as pd

from ..domain.customers.customers import industry_label
from ..quality.duplicates import Match
from ..quality.duplicates.merging import ALIASES, MERGE_FIELDS
from ..transfer.kinds import CUSTOMERS
from ..workspace import Workspace
from .base import COLOURS, Status, attempt, banner, button, heading, lang_of
from .grid import Grid, cell
from .texts import say

#: Rows of the comparison, in the customers file's order; industry is shown as its name.
COMPARED = (
    "name",
    "kind",
    "external_id",
    "industry",
    "size",
    "province",
    "city",
    "postcode",
    "address",
    "grade",
    "status",
    "source",
    "owner",
    "birthday",
    "consent_purpose",
    "consent_at",
    "contact",
    "title",
    "phone",
    "email",
)
DIFFERENT = "#fef0c7"
#: Fields shown by their label rather than their stored code.
ENUMS = {c.name: c.enum for c in CUSTOMERS.columns if c.enum is not None}


class DuplicateWarning(widgets.VBox):
    """Likely matches of the record being typed, each with a button to open it instead."""

    def __init__(self, ws: Workspace, on_open: Callable[[str], None] | None = None) -> None:
        self.ws = ws
        self.lang = lang_of(ws)
        self.on_open = on_open
        self.matches: list[Match] = []
        super().__init__([])
        self.add_class("crm-duplicates")

    def check(self, candidate: Mapping[str, Any]) -> list[Match]:
        """Ask crmlib which customers ``candidate`` may duplicate, and show them."""
        values = {k: v for k, v in candidate.items() if v not in (None, "")}
        usable = len(str(values.get("name", ""))) >= 2 or values.get("phone") or values.get("email")
        self.matches = self.ws.duplicates.check(values) if usable else []
        self._render()
        return self.matches

    def _render(self) -> None:
        if not self.matches:
            self.children = []
            return
        title = widgets.HTML(
            f"<b style='color:{COLOURS['warn']}'>⚠ "
            f"{html.escape(say('duplicate_title', self.lang))}</b>"
        )
        rows: list[widgets.Widget] = [title]
        for match in self.matches:
            if not match.visible:
                hidden = say(
                    "duplicate_hidden",
                    self.lang,
                    score=match.score,
                    reasons="; ".join(match.reasons),
                )
                rows.append(widgets.HTML(f"<i>{html.escape(hidden)}</i>"))
                continue
            text = say(
                "duplicate_row",
                self.lang,
                code=match.code,
                name=match.name,
                owner=match.owner or "–",
                score=match.score,
                reasons="; ".join(match.reasons),
            )
            line = widgets.HTML(html.escape(text))
            opener = button(say("open_instead", self.lang), f"crm-open-{match.code}")
            opener.on_click(lambda _, code=match.code: self._open(code))
            rows.append(widgets.HBox([line, opener]))
        self.children = rows
        self.layout.border = f"1px solid {COLOURS['warn']}"
        self.layout.padding = "6px"

    def _open(self, code: str) -> None:
        if self.on_open is not None:
            self.on_open(code)


def shown(record: Mapping[str, Any], field: str, lang: str) -> str:
    """A field of a customer record as the comparison shows it."""
    value = record.get(field)
    if field == "industry":
        value = industry_label(
            record.get("industry_section"), record.get("industry_division"), lang
        )
    elif field in ENUMS and value:
        value = ENUMS[field].label(str(value), lang)
    return cell(value)


def choice_group(field: str) -> str:
    """The merge choice a field moves with (phone, e-mail and title go with the contact)."""
    return ALIASES.get(field, field)


class Comparison(widgets.VBox):
    """Two customer files side by side; differing fields highlighted, each with a toggle
    that picks which side's value survives a merge."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.table = widgets.HTML()
        self.toggles: dict[str, widgets.ToggleButtons] = {}
        self.choosers = widgets.VBox([])
        self.records: tuple[dict[str, Any], dict[str, Any]] = ({}, {})
        super().__init__([self.table, self.choosers])
        self.add_class("crm-comparison")

    def show(self, survivor: Mapping[str, Any], other: Mapping[str, Any]) -> None:
        self.records = (dict(survivor), dict(other))
        labels = {c.name: c.zh if self.lang == "zh" else c.en for c in CUSTOMERS.columns}
        rows = []
        groups: list[str] = []
        for field in COMPARED:
            left, right = shown(survivor, field, self.lang), shown(other, field, self.lang)
            differs = left != right
            style = f" style='background:{DIFFERENT}'" if differs else ""
            rows.append(
                f"<tr{style} class='{'crm-differs' if differs else 'crm-same'}'>"
                f"<th>{html.escape(labels.get(field, field))}</th>"
                f"<td>{html.escape(left)}</td><td>{html.escape(right)}</td></tr>"
            )
            group = choice_group(field)
            if differs and right and group not in groups and self._choosable(group):
                groups.append(group)
        head = (
            f"<tr><th>{say('field', self.lang)}</th>"
            f"<th>{say('survivor', self.lang)} {html.escape(str(survivor.get('code')))}</th>"
            f"<th>{say('other', self.lang)} {html.escape(str(other.get('code')))}</th></tr>"
        )
        self.table.value = (
            "<style>.crm-comparison table{border-collapse:collapse;font-size:13px}"
            ".crm-comparison th,.crm-comparison td{padding:3px 10px;border-bottom:1px solid"
            " #eaecf0;text-align:left}</style>"
            f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"
        )
        self.toggles = {
            group: widgets.ToggleButtons(
                options=[
                    (say("survivor", self.lang), "survivor"),
                    (say("other", self.lang), "other"),
                ],
                value="survivor",
                description=labels.get(group, group),
                style={"description_width": "9em", "button_width": "7em"},
            )
            for group in groups
        }
        for group, toggle in self.toggles.items():
            toggle.add_class(f"crm-keep-{group}")
        self.choosers.children = (
            [widgets.HTML(f"<b>{say('keep', self.lang)}</b>"), *self.toggles.values()]
            if self.toggles
            else []
        )

    @staticmethod
    def _choosable(group: str) -> bool:
        return group in MERGE_FIELDS or group == "contact"

    @property
    def differing(self) -> list[str]:
        """Fields whose values differ."""
        left, right = self.records
        return [f for f in COMPARED if shown(left, f, self.lang) != shown(right, f, self.lang)]

    def choices(self) -> dict[str, str]:
        """The merge's ``choices``: the fields where the other side's value was picked."""
        return {group: t.value for group, t in self.toggles.items() if t.value == "other"}


class DuplicateReview(widgets.VBox):
    """The duplicates queue: scan, look at a pair side by side, merge it, undo a merge."""

    def __init__(self, ws: Workspace, *, min_score: float | None = None) -> None:
        self.ws = ws
        self.lang = lang = lang_of(ws)
        self.min_score = min_score
        self.status = Status(lang)
        self.pairs = Grid(
            pd.DataFrame(),
            lang,
            key="pair",
            page_size=10,
            hide=("pair",),
            label=lambda row: f"{row['code_a']} ↔ {row['code_b']} ({row['score']})",
        )
        self.pairs.picker.description = say("pair", lang)
        self.pairs.picker.observe(lambda _: self.compare(), "value")
        self.comparison = Comparison(lang)
        self.swapped = False
        allowed = ws.user.role.edit_customers
        self.scan_button = button(say("scan", lang), "crm-scan")
        self.swap_button = button(say("swap", lang), "crm-swap", disabled=not allowed)
        self.merge_button = button(say("merge", lang), "crm-merge", "warning", not allowed)
        self.merge_id = widgets.Dropdown(description=say("merge_id", lang), options=[])
        self.merge_id.add_class("crm-merge-id")
        self.unmerge_button = button(say("unmerge", lang), "crm-unmerge", disabled=not allowed)
        self.scan_button.on_click(lambda _: self.scan())
        self.swap_button.on_click(lambda _: self.swap())
        self.merge_button.on_click(lambda _: self.merge())
        self.unmerge_button.on_click(lambda _: self.unmerge())
        note = [] if allowed else [widgets.HTML(f"<i>{say('read_only', lang)}</i>")]
        super().__init__(
            [
                banner(ws),
                *note,
                heading(say("pairs", lang)),
                self.scan_button,
                self.pairs,
                self.comparison,
                widgets.HBox([self.swap_button, self.merge_button]),
                widgets.HBox([self.merge_id, self.unmerge_button]),
                self.status,
            ]
        )
        self.add_class("crm-duplicate-review")
        self.scan()
        self.list_merges()

    def scan(self) -> None:
        found = attempt(
            self.status,
            lambda: self.ws.duplicates.scan(
                **({} if self.min_score is None else {"min_score": self.min_score})
            ),
        )
        if found is None:
            return
        frame = found[["code_a", "name_a", "code_b", "name_b", "score", "reasons"]].copy()
        frame.insert(
            0, "pair", [f"{a}|{b}" for a, b in zip(frame.code_a, frame.code_b, strict=True)]
        )
        self.pairs.set_frame(frame)
        self.compare()

    @property
    def pair(self) -> tuple[str, str] | None:
        chosen = self.pairs.selected
        if not chosen:
            return None
        a, b = str(chosen).split("|")
        return (b, a) if self.swapped else (a, b)

    def compare(self) -> None:
        pair = self.pair
        if pair is None:
            self.comparison.show({}, {})
            return
        records = attempt(self.status, lambda: [self.ws.customers.get(c).as_dict() for c in pair])
        if records:
            self.comparison.show(records[0], records[1])

    def swap(self) -> None:
        self.swapped = not self.swapped
        self.compare()

    def merge(self) -> int | None:
        pair = self.pair
        if pair is None:
            return None
        survivor, other = pair
        merge_id = attempt(
            self.status,
            lambda: self.ws.duplicates.merge(survivor, other, choices=self.comparison.choices()),
        )
        if merge_id is not None:
            self.list_merges()
            self.merge_id.value = merge_id
            self.status.show(say("merged", self.lang, merge_id=merge_id), "ok")
            message = self.status.value
            self.swapped = False
            self.scan()
            self.status.value = message
        return merge_id

    def list_merges(self) -> None:
        """Offer the merges that can be undone now, newest first."""
        merges = attempt(self.status, lambda: self.ws.duplicates.merges())
        if merges is not None:
            undoable = merges[merges["undoable"]]
            self.merge_id.options = [
                (_merge_label(m), int(m.merge_id)) for m in undoable.itertuples()
            ]

    def unmerge(self) -> None:
        merge_id = self.merge_id.value
        if merge_id is None:
            return
        if attempt(self.status, lambda: self.ws.duplicates.unmerge(merge_id) or True):
            self.list_merges()
            self.status.show(say("unmerged", self.lang, merge_id=merge_id), "ok")
            message = self.status.value
            self.scan()
            self.status.value = message


def _merge_label(merge: Any) -> str:
    """How a merge is offered for undoing: its number, the two codes and when."""
    return (
        f"#{merge.merge_id} {merge.survivor_code} ← {merge.merged_code} "
        f"({merge.merged_at:%Y-%m-%d %H:%M})"
    )
