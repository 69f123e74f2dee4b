"""The follow-ups notebook's application: my reminders, logging a follow-up with the
fields a follow-up must have, and my customers and open deals with stage changes."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import pandas as pd

from ..domain.sales.records import INTERACTIONS, OPPORTUNITIES
from ..domain.sales.stages import CLOSED_STAGES
from ..errors import CRMError, ValidationError
from ..i18n import t
from ..reference.enums import CHANNEL, CUSTOMER_STATUS, STAGE
from ..workspace import Workspace
from .base import Status, attempt, banner, button, heading, lang_of
from .fields import FieldSpec, enum_choices
from .forms import RecordForm
from .grid import Grid, labelled
from .texts import say

OVERDUE = "#fee4e2"
DUE_TODAY = "#fef0c7"
#: Fields a stage change may need (see crmlib.domain.sales.stages).
STAGE_FIELDS = (
    "need_description",
    "proposal_version",
    "amount",
    "expected_close_date",
    "loss_reason",
)


def _spec(name: str, lang: str, rules: Any, **extra: Any) -> FieldSpec:
    return FieldSpec(name, say(name, lang), rules.get(name), **extra)


def follow_up_specs(lang: str) -> list[FieldSpec]:
    """The follow-up form: the customer, then the interaction's fields with its rules."""
    rules = INTERACTIONS.rules
    required = set(INTERACTIONS.required)
    return [
        FieldSpec(
            "customer_code",
            say("customer_code", lang),
            required=True,
            placeholder="C20240501001",
        ),
        _spec("channel", lang, rules, choices=enum_choices(CHANNEL, lang), required=True),
        _spec("occurred_at", lang, rules, placeholder="2024-05-01 10:30"),
        *(
            _spec(name, lang, rules, multiline=True, required=name in required)
            for name in ("summary", "customer_need", "next_step")
        ),
        _spec("next_action_date", lang, rules, placeholder="2024-05-08"),
        _spec("opportunity_id", lang, rules, choices=[]),
    ]


class FollowUps(widgets.VBox):
    """What a rep does between calls."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.lang = lang = lang_of(ws)
        self.me = ws.user.username
        allowed = ws.user.role.edit_customers
        self.status = Status(lang)
        self.reminders = Grid(pd.DataFrame(), lang, colour=self._due_colour)
        self.form = RecordForm(follow_up_specs(lang), lang)
        self.form["customer_code"].input.observe(lambda _: self.load_deals(), "value")
        self.log_button = button(say("log_follow_up", lang), "crm-log", "primary", not allowed)
        self.log_button.on_click(lambda _: self.log())
        self.customers = Grid(
            pd.DataFrame(),
            lang,
            key="code",
            page_size=10,
            label=lambda row: f"{row['code']} {row['name']}",
        )
        self.customers.picker.observe(lambda _: self.pick_customer(), "value")
        self.deals = Grid(
            pd.DataFrame(),
            lang,
            key="id",
            page_size=10,
            label=lambda row: f"#{row['id']} {row['name']}",
        )
        self.stage = widgets.Dropdown(
            description=say("stage", lang), options=enum_choices(STAGE, lang)
        )
        self.stage.add_class("crm-stage")
        self.stage_form = RecordForm(
            [_spec(n, lang, OPPORTUNITIES.rules) for n in STAGE_FIELDS], lang
        )
        self.stage_button = button(say("change_stage", lang), "crm-change-stage", "", not allowed)
        self.stage_button.on_click(lambda _: self.change_stage())
        self.deal_status = Status(lang)
        note = [] if allowed else [widgets.HTML(f"<i>{say('read_only', lang)}</i>")]
        super().__init__(
            [
                banner(ws),
                *note,
                heading(say("reminders", lang)),
                self.reminders,
                heading(say("my_customers", lang)),
                self.customers,
                heading(say("log_follow_up", lang)),
                self.form,
                self.log_button,
                self.status,
                heading(say("my_opportunities", lang)),
                self.deals,
                self.stage,
                self.stage_form,
                self.stage_button,
                self.deal_status,
            ]
        )
        self.add_class("crm-follow-ups")
        self.refresh()

    @staticmethod
    def _due_colour(row: Any) -> str | None:
        return OVERDUE if row.get("overdue_days", 0) > 0 else DUE_TODAY

    def refresh(self) -> None:
        reminders = attempt(self.status, self.ws.reminders)
        if reminders is not None:
            self.reminders.set_frame(reminders.drop(columns=["ref"]))
        mine = attempt(self.status, lambda: self.ws.customers.frame(owner=self.me))
        if mine is not None:
            columns = [
                "code",
                "name",
                "grade",
                "status",
                "city",
                "contact",
                "phone",
                "last_contact_at",
            ]
            shown = labelled(mine[columns], self.lang, {"status": CUSTOMER_STATUS})
            self.customers.set_frame(shown)
        deals = attempt(self.status, self.ws.opportunities.frame)
        if deals is not None:
            open_deals = deals[(deals["owner"] == self.me) & ~deals["stage"].isin(CLOSED_STAGES)]
            columns = [
                "id",
                "customer_code",
                "name",
                "stage",
                "amount",
                "probability",
                "expected_close_date",
            ]
            self.deals.set_frame(
                labelled(open_deals[columns], self.lang, {"stage": STAGE}), keep_page=True
            )

    def pick_customer(self) -> None:
        if self.customers.selected:
            self.form["customer_code"].value = self.customers.selected

    def load_deals(self) -> None:
        """The chosen customer's open deals, for the follow-up's opportunity dropdown."""
        code = self.form["customer_code"].value
        field = self.form["opportunity_id"]
        options: list[tuple[str, Any]] = [(say("blank_choice", self.lang), "")]
        if code:
            deals = attempt(self.status, lambda: self.ws.opportunities.frame(str(code)))
            if deals is not None:
                open_deals = deals[~deals["stage"].isin(CLOSED_STAGES)]
                options += [(f"#{d.id} {d.name}", str(d.id)) for d in open_deals.itertuples()]
        field.input.options = options
        field.input.value = ""

    def log(self) -> dict[str, Any] | None:
        """Save the follow-up; problems appear under their fields and nothing is written."""
        values = self.form.filled()
        code = values.pop("customer_code", None)
        self.form.clear_errors()
        if code is None:
            self.form["customer_code"].show(t("required", self.lang))
            self.status.show(say("not_saved", self.lang, count=1), "error")
            return None
        try:
            saved = self.ws.interactions.add(str(code), **values)
        except ValidationError as error:
            self.form.show_errors(error)
            self.status.show(say("not_saved", self.lang, count=len(error.errors)), "error")
            return None
        except CRMError as error:
            self.status.error(error)
            return None
        self.status.show(say("saved", self.lang, what=f"{code} #{saved['id']}"), "ok")
        self.form.clear()
        self.refresh()
        return saved

    def change_stage(self) -> dict[str, Any] | None:
        deal = self.deals.selected
        if deal is None:
            return None
        self.stage_form.clear_errors()
        try:
            saved = self.ws.opportunities.update(
                int(deal), stage=self.stage.value, **self.stage_form.filled()
            )
        except ValidationError as error:
            self.stage_form.show_errors(error)
            self.deal_status.error(error)
            return None
        except CRMError as error:
            self.deal_status.error(error)
            return None
        label = STAGE.label(saved["stage"], self.lang)
        self.deal_status.show(say("saved", self.lang, what=f"#{deal} → {label}"), "ok")
        self.stage_form.clear()
        self.refresh()
        return saved
