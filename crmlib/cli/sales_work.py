"""Daily sales work: reminders, the forecast, stale deals, tasks and comments."""

from __future__ import annotations

from datetime import datetime

import click

from ..domain.sales.pipeline import FORECAST_BY
from ..i18n import t
from ..reference.enums import PRIORITY, TASK_STATUS
from .base import (
    Settings,
    friendly_errors,
    main,
    pass_settings,
    show_table,
    table_text,
    value_text,
)


@main.command()
@click.option(
    "--of",
    "username",
    metavar="NAME",
    help="Whose reminders (managers: a team member's); the root --user is who asks.",
)
@pass_settings
@friendly_errors
def reminders(settings: Settings, username: str | None) -> None:
    """Follow-up next actions and tasks due today or overdue."""
    with settings.workspace() as ws:
        due = ws.reminders(username)
        click.echo(table_text(due) if len(due) else t("sales_cli:no_reminders"))


@main.command()
@click.option("--by", type=click.Choice(FORECAST_BY), default="month", show_default=True)
@pass_settings
@friendly_errors
def forecast(settings: Settings, by: str) -> None:
    """Weighted forecast of the open opportunities you may see."""
    with settings.workspace() as ws:
        show_table(ws.forecast(by))


@main.command()
@click.option("--days", type=click.IntRange(min=1), help="Idle days (default: setting).")
@pass_settings
@friendly_errors
def stale(settings: Settings, days: int | None) -> None:
    """Open opportunities with no follow-up, stage change or edit for a while."""
    with settings.workspace() as ws:
        found = ws.opportunities.stale(days)
        click.echo(t("sales_cli:stale_count", count=len(found)))
        if len(found):
            click.echo(table_text(found))


@main.group()
def tasks() -> None:
    """Tasks: yours, your team's, add and finish them."""


@tasks.command("list")
@click.option("--assignee", help="Someone else's tasks (as far as you may see them).")
@click.option("--all", "everyone", is_flag=True, help="Every task you may see.")
@click.option("--status", type=click.Choice(TASK_STATUS.codes))
@pass_settings
@friendly_errors
def tasks_list(
    settings: Settings, assignee: str | None, everyone: bool, status: str | None
) -> None:
    """Open tasks, yours by default, by due date."""
    with settings.workspace() as ws:
        tasks = ws.tasks.list(assignee=assignee, everyone=everyone, status=status)
        show_table(tasks, enums={"status": TASK_STATUS})


@tasks.command("add")
@click.argument("title")
@click.option("--assignee", help="Who does it (default: you).")
@click.option("--priority", type=click.Choice(PRIORITY.codes), default="medium", show_default=True)
@click.option("--due", type=click.DateTime(["%Y-%m-%d"]), help="Due date, YYYY-MM-DD.")
@click.option("--about", help="Customer code, opportunity:ID or ticket:ID.")
@pass_settings
@friendly_errors
def tasks_add(
    settings: Settings,
    title: str,
    assignee: str | None,
    priority: str,
    due: datetime | None,
    about: str | None,
) -> None:
    """Add a task."""
    with settings.workspace() as ws:
        task = ws.tasks.add(
            title,
            assignee=assignee,
            priority=priority,
            due_date=due.date() if due else None,
            about=about,
        )
        assigned = value_text("assignee", task["assignee"])
        click.echo(t("sales_cli:task_added", id=task["id"], assignee=assigned))


@tasks.command("set")
@click.argument("task_id", type=int)
@click.argument("status", type=click.Choice(TASK_STATUS.codes))
@pass_settings
@friendly_errors
def tasks_set(settings: Settings, task_id: int, status: str) -> None:
    """Move a task to STATUS (open → in_progress → done | cancelled)."""
    with settings.workspace() as ws:
        task = ws.tasks.update(task_id, status=status)
        click.echo(
            t("sales_cli:task_status", id=task_id, status=value_text("task_status", task["status"]))
        )


@tasks.command("done")
@click.argument("task_id", type=int)
@pass_settings
@friendly_errors
def tasks_done(settings: Settings, task_id: int) -> None:
    """Mark a task done."""
    with settings.workspace() as ws:
        task = ws.tasks.done(task_id)
        click.echo(
            t("sales_cli:task_status", id=task_id, status=value_text("task_status", task["status"]))
        )


@main.group()
def comment() -> None:
    """Comments on customers, opportunities and tickets; @name gives that user a task."""


@comment.command("add")
@click.argument("on", type=click.Choice(["customer", "opportunity", "ticket"]))
@click.argument("ref")
@click.argument("body")
@pass_settings
@friendly_errors
def comment_add(settings: Settings, on: str, ref: str, body: str) -> None:
    """Comment on customer REF (code) or opportunity/ticket REF (id)."""
    with settings.workspace() as ws:
        made = ws.comments.add(on, ref, body)
        click.echo(t("sales_cli:comment_added", id=made["id"]))
        if made["mentioned"]:
            click.echo(t("sales_cli:mention_tasks", names=", ".join(made["mentioned"])))
        if made["unknown_mentions"]:
            names = ", ".join(made["unknown_mentions"])
            click.echo(t("sales_cli:unknown_mentions", names=names), err=True)


@comment.command("list")
@click.argument("on", type=click.Choice(["customer", "opportunity", "ticket"]))
@click.argument("ref")
@pass_settings
@friendly_errors
def comment_list(settings: Settings, on: str, ref: str) -> None:
    """The comments on one record, oldest first."""
    with settings.workspace() as ws:
        show_table(ws.comments.list(on, ref))
