"""The data-quality notebook's application: the scorecard and its trend, and a drill into
the failing customers of a check, each fixable in place through the audited API."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import pandas as pd

from ..missing import is_missing
from ..quality.scorecard import DIMENSIONS, Scorecard
from ..rules.customers import RULES
from ..transfer.kinds import CUSTOMERS
from ..workspace import Workspace
from .base import Status, attempt, banner, button, heading, lang_of
from .entry import record_values
from .fields import ValidatedField, column_spec
from .grid import Grid
from .texts import say

FAILING = "#fee4e2"
#: A check's field → the customer field that fixes it (a region follows its province).
FIXED_BY = {"region": "province"}


def percent(value: Any) -> str:
    return "–" if is_missing(value) else f"{value:.1%}"


def fixable_field(field: Any) -> str | None:
    """The customer field a user edits to fix a check on ``field`` (None: not in a form)."""
    name = FIXED_BY.get(str(field), str(field))
    return name if name in RULES else None


class FixRow(widgets.HBox):
    """One failing customer: its current value, a checked input and a Fix button."""

    def __init__(self, ws: Workspace, code: str, field: str, lang: str) -> None:
        self.ws = ws
        self.code = code
        self.field_name = field
        self.lang = lang
        record = attempt(Status(lang), lambda: record_values(ws.customers.get(code).as_dict()))
        self.status = Status(lang)
        self.input = ValidatedField(column_spec(CUSTOMERS.column(field), lang, RULES[field]), lang)
        self.input.input.description = code
        if record is not None:
            self.input.value = record.get(field)
        self.fix_button = button(
            say("fix", lang), f"crm-fix-{code}", "primary", not ws.user.role.edit_customers
        )
        self.fix_button.on_click(lambda _: self.fix())
        name = record.get("name", "") if record else ""
        super().__init__([self.input, widgets.Label(str(name)), self.fix_button, self.status])

    def fix(self) -> bool:
        value = self.input.value
        saved = attempt(
            self.status, lambda: self.ws.customers.update(self.code, **{self.field_name: value})
        )
        if saved is None:
            return False
        self.status.show(say("saved", self.lang, what=self.code), "ok")
        return True


class QualityReview(widgets.VBox):
    """Measure, watch the trend, and fix what fails."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.lang = lang = lang_of(ws)
        self.card: Scorecard | None = None
        self.status = Status(lang)
        self.overall = widgets.HTML()
        self.overall.add_class("crm-overall")
        self.measure_button = button(say("measure", lang), "crm-measure")
        self.measure_button.on_click(lambda _: self.measure())
        self.dimensions = Grid(pd.DataFrame(), lang, page_size=5)
        failing = lambda row: FAILING if row.get("meets") is False else None  # noqa: E731
        self.checks = Grid(pd.DataFrame(), lang, page_size=12, colour=failing, hide=("meets",))
        self.trend = Grid(pd.DataFrame(), lang, page_size=8)
        self.drill = widgets.Dropdown(
            description=say("failing_check", lang),
            options=[],
            style={"description_width": "9em"},
            layout=widgets.Layout(width="48em"),
        )
        self.drill.add_class("crm-drill")
        self.drill.observe(lambda _: self.show_failing(), "value")
        self.fixes = widgets.VBox([])
        super().__init__(
            [
                banner(ws),
                heading(say("scorecard", lang)),
                widgets.HBox([self.overall, self.measure_button]),
                self.status,
                self.dimensions,
                heading(say("checks", lang)),
                self.checks,
                heading(say("trend", lang)),
                self.trend,
                heading(say("fix", lang)),
                self.drill,
                self.fixes,
            ]
        )
        self.add_class("crm-quality-review")
        self.measure()

    def measure(self) -> Scorecard | None:
        card: Scorecard | None = attempt(self.status, lambda: self.ws.scorecard(save=True))
        if card is None:
            return None
        self.card = card
        overall = say(
            "overall", self.lang, score=percent(card.overall), target=percent(card.target)
        )
        self.overall.value = f"<h3>{overall}</h3>"
        dims = card.dimensions
        self.dimensions.set_frame(
            pd.DataFrame(
                {
                    dims.columns[1]: dims["label"],
                    "checks": dims["checks"],
                    "score": dims["score"].map(percent),
                }
            )
        )
        checks = card.checks
        self.checks.set_frame(
            pd.DataFrame(
                {
                    "check": checks["label"],
                    "score": checks["score"].map(percent),
                    "passed": [
                        f"{p:,}/{t:,}" if not is_missing(p) else f"{t:,}"
                        for p, t in zip(checks["passed"], checks["total"], strict=True)
                    ],
                    "examples": checks["examples"],
                    "meets": [None if is_missing(m) else bool(m) for m in checks["meets_target"]],
                }
            )
        )
        trend = attempt(self.status, self.ws.scorecard_trend)
        if trend is not None:
            shown = trend[["run_at", "actor", "overall", *DIMENSIONS]].copy()
            for column in ("overall", *DIMENSIONS):
                shown[column] = shown[column].map(percent)
            self.trend.set_frame(shown.iloc[::-1])
        failing = checks[(checks["meets_target"] == False) & checks["examples"].map(len).gt(0)]  # noqa: E712
        options = [
            (f"{row.label} ({percent(row.score)})", row.check) for row in failing.itertuples()
        ]
        self.drill.options = options
        self.drill.value = options[0][1] if options else None
        self.show_failing()
        return card

    def show_failing(self) -> None:
        """The failing customers of the chosen check, each with an input to fix it."""
        if self.card is None or not self.drill.value:
            self.fixes.children = []
            return
        row = self.card.checks.set_index("check").loc[self.drill.value]
        field = fixable_field(row["field"])
        codes = list(row["examples"])
        if field is None:
            self.fixes.children = [
                widgets.HTML(say("no_inline_fix", self.lang, codes=", ".join(codes)))
            ]
            return
        self.fixes.children = [FixRow(self.ws, code, field, self.lang) for code in codes]
