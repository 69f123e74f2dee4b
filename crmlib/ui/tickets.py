"""The tickets notebook's application: a queue coloured by SLA state, and the steps of a
ticket (take, transfer, respond, resolve, close with the customer's CSAT score)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import pandas as pd

from ..reference.enums import PRIORITY, TICKET_STATUS, TICKET_TYPE
from ..workspace import Workspace
from .base import Status, attempt, banner, button, heading, lang_of
from .grid import Grid, labelled
from .texts import say

SLA_COLOURS = {"ok": "#ecfdf3", "at_risk": "#fef0c7", "breached": "#fee4e2"}
#: The queue's status filter: choice → the statuses it shows (None: all).
STATUS_FILTERS: dict[str, list[str] | None] = {
    "pending": ["open", "in_progress"],
    "open": ["open"],
    "in_progress": ["in_progress"],
    "resolved": ["resolved"],
    "closed": ["closed"],
    "all": None,
}
COLUMNS = [
    "id",
    "customer_name",
    "type",
    "priority",
    "status",
    "subject",
    "team",
    "assignee",
    "first_response_due",
    "resolution_due",
    "sla_state",
]


class TicketDesk(widgets.VBox):
    """A service agent's queue and the steps of the ticket picked in it."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.lang = lang = lang_of(ws)
        allowed = ws.user.role.edit_tickets
        self.status = Status(lang)
        labels = {
            key: say(key, lang) if key in ("pending", "all") else TICKET_STATUS.label(key, lang)
            for key in STATUS_FILTERS
        }
        self.filter = widgets.Dropdown(
            description=say("status_filter", lang),
            options=[(v, k) for k, v in labels.items()],
            value="pending",
        )
        self.mine = widgets.Checkbox(description=say("only_mine", lang), value=False)
        self.filter.observe(lambda _: self.refresh(), "value")
        self.mine.observe(lambda _: self.refresh(), "value")
        self.legend = widgets.HTML(
            " ".join(
                f"<span style='background:{colour};padding:2px 8px'>"
                f"{say('sla_' + state, lang)}</span>"
                for state, colour in SLA_COLOURS.items()
            )
        )
        self.queue = Grid(
            pd.DataFrame(),
            lang,
            key="id",
            page_size=12,
            colour=lambda row: SLA_COLOURS.get(str(row.get("sla"))),
            label=lambda row: f"#{row['id']} {row['subject']}",
            hide=("sla",),
        )
        self.queue.picker.description = say("ticket", lang)
        self.queue.picker.observe(lambda _: self.show_events(), "value")
        self.events = Grid(pd.DataFrame(), lang, page_size=8)
        self.team = widgets.Text(description=say("team_field", lang))
        self.assignee = widgets.Text(description=say("assignee", lang))
        self.note = widgets.Text(description=say("note", lang))
        self.reply = widgets.Textarea(description=say("text", lang))
        self.resolution = widgets.Textarea(description=say("resolve", lang))
        self.csat = widgets.ToggleButtons(
            options=[(say("no_answer", lang), 0), *((str(n), n) for n in range(1, 6))],
            value=0,
            description=say("csat", lang),
            style={"button_width": "5em", "description_width": "12em"},
        )
        self.comment = widgets.Text(description=say("comment", lang))
        for name, widget in (
            ("team", self.team),
            ("assignee", self.assignee),
            ("note", self.note),
            ("reply", self.reply),
            ("resolution", self.resolution),
            ("csat", self.csat),
            ("comment", self.comment),
        ):
            widget.add_class(f"crm-ticket-{name}")
        steps: list[tuple[str, str, Callable[[int], Any]]] = [
            ("take", "crm-take", self.take),
            ("transfer", "crm-transfer", self.transfer),
            ("respond", "crm-respond", self.respond),
            ("resolve", "crm-resolve", self.resolve),
            ("close", "crm-close", self.close_ticket),
        ]
        self.buttons = {}
        for key, css, step in steps:
            made = button(say(key, lang), css, disabled=not allowed)
            made.on_click(lambda _, step=step: self._run(step))
            self.buttons[key] = made
        note = [] if allowed else [widgets.HTML(f"<i>{say('read_only', lang)}</i>")]
        super().__init__(
            [
                banner(ws),
                *note,
                heading(say("queue", lang)),
                widgets.HBox([self.filter, self.mine]),
                self.legend,
                self.queue,
                widgets.HBox([self.buttons["take"]]),
                widgets.HBox([self.team, self.assignee, self.note, self.buttons["transfer"]]),
                widgets.HBox([self.reply, self.buttons["respond"]]),
                widgets.HBox([self.resolution, self.buttons["resolve"]]),
                widgets.HBox([self.csat, self.comment, self.buttons["close"]]),
                self.status,
                heading(say("events", lang)),
                self.events,
            ]
        )
        self.add_class("crm-ticket-desk")
        self.refresh()

    def refresh(self) -> None:
        statuses = STATUS_FILTERS[self.filter.value]
        filters: dict[str, Any] = {} if statuses is None else {"status": statuses}
        if self.mine.value:
            filters["assignee"] = self.ws.user.username
        found = attempt(self.status, lambda: self.ws.tickets.frame(**filters))
        if found is None:
            return
        frame = labelled(
            found[COLUMNS].assign(sla=found["sla_state"]),
            self.lang,
            {"type": TICKET_TYPE, "priority": PRIORITY, "status": TICKET_STATUS},
        )
        frame["sla_state"] = [say(f"sla_{v}", self.lang) if v else "" for v in frame["sla_state"]]
        self.queue.set_frame(frame, keep_page=True)
        self.show_events()

    def show_events(self) -> None:
        ticket = self.queue.selected
        if ticket is None:
            self.events.set_frame(pd.DataFrame())
            return
        events = attempt(self.status, lambda: self.ws.tickets.events(int(ticket)))
        if events is not None:
            self.events.set_frame(events)

    def _run(self, step: Callable[[int], Any]) -> None:
        ticket = self.queue.selected
        if ticket is None:
            return
        done = attempt(self.status, lambda: step(int(ticket)))
        if done is not None:
            status = TICKET_STATUS.label(done["status"], self.lang)
            self.status.show(say("saved", self.lang, what=f"#{ticket} {status}"), "ok")
            message = self.status.value
            self.refresh()
            self.status.value = message

    # -- the steps -------------------------------------------------------------------------

    def take(self, ticket: int) -> dict[str, Any]:
        return self.ws.tickets.take(ticket)

    def transfer(self, ticket: int) -> dict[str, Any]:
        return self.ws.tickets.transfer(
            ticket,
            team=self.team.value or None,
            assignee=self.assignee.value or None,
            note=self.note.value or None,
        )

    def respond(self, ticket: int) -> dict[str, Any]:
        done = self.ws.tickets.respond(ticket, self.reply.value)
        self.reply.value = ""
        return done

    def resolve(self, ticket: int) -> dict[str, Any]:
        done = self.ws.tickets.resolve(ticket, self.resolution.value)
        self.resolution.value = ""
        return done

    def close_ticket(self, ticket: int) -> dict[str, Any]:
        """Close with the customer's CSAT answer (0 on the toggle: they did not answer)."""
        score = int(self.csat.value) or None
        return self.ws.tickets.close(ticket, csat=score, comment=self.comment.value or None)
