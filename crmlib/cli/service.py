"""Service commands: ``crm tickets …`` (open, work and list tickets), ``crm kb …``
(knowledge base) and ``crm feedback nps``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from ..i18n import t
from ..reference.enums import PRIORITY, TICKET_STATUS, TICKET_TYPE
from .base import Settings, friendly_errors, main, pass_settings, show_table, value_text

QUEUE_COLUMNS = [
    "id",
    "customer_code",
    "type",
    "priority",
    "status",
    "subject",
    "team",
    "assignee",
    "opened_at",
    "sla_state",
]


def _show_ticket(ticket: Mapping[str, Any]) -> None:
    click.echo(
        t(
            "service_cli:ticket",
            id=ticket["id"],
            code=ticket["customer_code"],
            status=value_text("status", ticket["status"]),
            priority=value_text("priority", ticket["priority"]),
            sla=value_text("sla_state", ticket["sla_state"]),
            subject=ticket["subject"],
            team=value_text("team", ticket["team"]) or "-",
            assignee=value_text("assignee", ticket["assignee"]) or "-",
            first_response_due=ticket["first_response_due"],
            resolution_due=ticket["resolution_due"],
        )
    )


@main.group()
def tickets() -> None:
    """Service tickets with SLA clocks."""


@tickets.command("open")
@click.argument("customer_code")
@click.option("--type", "type_", required=True, type=click.Choice(TICKET_TYPE.codes))
@click.option("--subject", required=True)
@click.option("--priority", default="medium", show_default=True, type=click.Choice(PRIORITY.codes))
@click.option("--description")
@click.option("--team", help="Team queue (default: the routing rule for the type).")
@click.option("--assignee", help="Agent to assign it to.")
@pass_settings
@friendly_errors
def tickets_open(
    settings: Settings,
    customer_code: str,
    type_: str,
    subject: str,
    priority: str,
    description: str | None,
    team: str | None,
    assignee: str | None,
) -> None:
    """Open a ticket for CUSTOMER_CODE."""
    with settings.workspace() as ws:
        ticket = ws.tickets.open(
            customer_code,
            type=type_,
            subject=subject,
            priority=priority,
            description=description,
            team=team,
            assignee=assignee,
        )
    _show_ticket(ticket)


@tickets.command("list")
@click.option("--status", multiple=True, type=click.Choice(TICKET_STATUS.codes))
@click.option("--team")
@click.option("--assignee")
@click.option("--mine", is_flag=True, help="Only tickets assigned to me.")
@click.option(
    "--sla", type=click.Choice(["ok", "at_risk", "breached"]), help="Only this SLA state."
)
@pass_settings
@friendly_errors
def tickets_list(
    settings: Settings,
    status: tuple[str, ...],
    team: str | None,
    assignee: str | None,
    mine: bool,
    sla: str | None,
) -> None:
    """The ticket queue with each ticket's SLA state."""
    with settings.workspace() as ws:
        df = ws.tickets.frame(
            status=list(status) or None,
            team=team,
            assignee=ws.user.username if mine else assignee,
        )
    if sla:
        df = df[df.sla_state == sla]
    show_table(df, QUEUE_COLUMNS)


@tickets.command("at-risk")
@pass_settings
@friendly_errors
def tickets_at_risk(settings: Settings) -> None:
    """Pending tickets close to missing their SLA, most urgent first."""
    with settings.workspace() as ws:
        show_table(ws.tickets.at_risk(), [*QUEUE_COLUMNS, "next_due"])


@tickets.command("breached")
@pass_settings
@friendly_errors
def tickets_breached(settings: Settings) -> None:
    """Tickets that missed their first-response or resolution due time."""
    with settings.workspace() as ws:
        show_table(ws.tickets.breached(), QUEUE_COLUMNS)


@tickets.command("show")
@click.argument("ticket_id", type=int)
@pass_settings
@friendly_errors
def tickets_show(settings: Settings, ticket_id: int) -> None:
    """A ticket and its events."""
    with settings.workspace() as ws:
        _show_ticket(ws.tickets.get(ticket_id))
        show_table(ws.tickets.events(ticket_id))


def _step(name: str, help_text: str, *params: Any) -> Any:
    """A command that runs one ticket verb and shows the ticket afterwards."""

    def decorate(func: Any) -> Any:
        for param in reversed(params):
            func = param(func)
        func.__doc__ = help_text
        return tickets.command(name)(
            click.argument("ticket_id", type=int)(pass_settings(friendly_errors(func)))
        )

    return decorate


@_step("take", "Assign the ticket to me.")
def tickets_take(settings: Settings, ticket_id: int) -> None:
    with settings.workspace() as ws:
        _show_ticket(ws.tickets.take(ticket_id))


@_step("start", "Start work on an open ticket.")
def tickets_start(settings: Settings, ticket_id: int) -> None:
    with settings.workspace() as ws:
        _show_ticket(ws.tickets.start(ticket_id))


@_step("respond", "Record the first response to the customer.", click.argument("text"))
def tickets_respond(settings: Settings, ticket_id: int, text: str) -> None:
    with settings.workspace() as ws:
        _show_ticket(ws.tickets.respond(ticket_id, text))


@_step("comment", "Add a note to the ticket.", click.argument("text"))
def tickets_comment(settings: Settings, ticket_id: int, text: str) -> None:
    with settings.workspace() as ws:
        _show_ticket(ws.tickets.comment(ticket_id, text))


@_step(
    "transfer",
    "Transfer the ticket to a team and/or an agent.",
    click.option("--team"),
    click.option("--assignee"),
    click.option("--note"),
)
def tickets_transfer(
    settings: Settings, ticket_id: int, team: str | None, assignee: str | None, note: str | None
) -> None:
    with settings.workspace() as ws:
        _show_ticket(ws.tickets.transfer(ticket_id, team=team, assignee=assignee, note=note))


@_step("resolve", "Resolve the ticket with a resolution text.", click.argument("resolution"))
def tickets_resolve(settings: Settings, ticket_id: int, resolution: str) -> None:
    with settings.workspace() as ws:
        _show_ticket(ws.tickets.resolve(ticket_id, resolution))


@_step(
    "close",
    "Close a resolved ticket with the customer's CSAT score (or --no-answer).",
    click.option("--csat", type=int, help="Customer satisfaction, 1-5."),
    click.option("--no-answer", is_flag=True, help="The customer did not rate the service."),
    click.option("--comment"),
)
def tickets_close(
    settings: Settings, ticket_id: int, csat: int | None, no_answer: bool, comment: str | None
) -> None:
    if (csat is None) == (not no_answer):
        raise click.UsageError(t("service_cli:csat_or_no_answer"))
    with settings.workspace() as ws:
        _show_ticket(ws.tickets.close(ticket_id, csat=csat, comment=comment))


@_step("reopen", "Reopen a resolved or closed ticket.", click.option("--reason"))
def tickets_reopen(settings: Settings, ticket_id: int, reason: str | None) -> None:
    with settings.workspace() as ws:
        _show_ticket(ws.tickets.reopen(ticket_id, reason))


@main.group()
def kb() -> None:
    """The knowledge base."""


@kb.command("add")
@click.option("--title", required=True)
@click.option("--body", required=True)
@click.option("--category", required=True)
@click.option("--tags", help="Comma-separated tags.")
@pass_settings
@friendly_errors
def kb_add(settings: Settings, title: str, body: str, category: str, tags: str | None) -> None:
    """Write an article."""
    with settings.workspace() as ws:
        article = ws.kb.add(title=title, body=body, category=category, tags=tags)
    click.echo(t("service_cli:article_added", id=article["id"], title=article["title"]))


@kb.command("search")
@click.argument("query")
@pass_settings
@friendly_errors
def kb_search(settings: Settings, query: str) -> None:
    """Find articles by words in title, tags or body."""
    with settings.workspace() as ws:
        show_table(ws.kb.search(query), ["id", "title", "category", "score", "resolved"])


@kb.command("link")
@click.argument("ticket_id", type=int)
@click.argument("article_id", type=int)
@pass_settings
@friendly_errors
def kb_link(settings: Settings, ticket_id: int, article_id: int) -> None:
    """Note that an article was used on a ticket."""
    with settings.workspace() as ws:
        ws.kb.link(ticket_id, article_id)
    click.echo(t("service_cli:article_linked", article=article_id, ticket=ticket_id))


@kb.command("usage")
@pass_settings
@friendly_errors
def kb_usage(settings: Settings) -> None:
    """Which articles resolve the most tickets."""
    with settings.workspace() as ws:
        show_table(ws.kb.usage())


@main.group()
def feedback() -> None:
    """Customer feedback (CSAT is given when closing tickets)."""


@feedback.command("nps")
@click.argument("customer_code")
@click.argument("score", type=int)
@click.option("--comment")
@pass_settings
@friendly_errors
def feedback_nps(settings: Settings, customer_code: str, score: int, comment: str | None) -> None:
    """Record a customer's NPS answer (0-10)."""
    with settings.workspace() as ws:
        answer = ws.feedback.nps(customer_code, score, comment)
    click.echo(t("service_cli:nps_recorded", score=answer["score"], code=answer["customer_code"]))
