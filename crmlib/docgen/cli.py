"""docs/reference/cli.md: every ``crm`` command with its usage, help and options, read from
the click commands themselves."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from dataclasses import dataclass

import click

from .markdown import banner, code, table

#: Wide enough that click never wraps a usage line differently on another terminal.
WIDTH = 100


@dataclass(frozen=True)
class Entry:
    """One command in the tree, with the click context that names it (``crm tickets at-risk``)."""

    path: str
    command: click.Command
    context: click.Context


def root() -> click.Group:
    from ..cli import main  # the CLI package registers every subcommand on import

    return main


def walk(group: click.Group | None = None) -> Iterator[Entry]:
    """Every command, depth first, subcommands in the order ``--help`` lists them."""
    top = group or root()
    # The command's own context settings (``-h`` besides ``--help``), as ``crm`` runs it:
    # click keeps the help option it makes for a command, so a context without them would
    # change what later ``--help`` calls in this process print.
    settings = {**top.context_settings, "terminal_width": WIDTH, "max_content_width": WIDTH}
    context = click.Context(top, info_name="crm", **settings)
    yield from _walk(Entry("crm", top, context))


def _walk(entry: Entry) -> Iterator[Entry]:
    yield entry
    command = entry.command
    if isinstance(command, click.Group):
        for name in command.list_commands(entry.context):
            sub = command.get_command(entry.context, name)
            if sub is None or sub.hidden:
                continue
            context = click.Context(
                sub, info_name=name, parent=entry.context, **sub.context_settings
            )
            yield from _walk(Entry(f"{entry.path} {name}", sub, context))


def command_paths() -> list[str]:
    """``crm …`` for every command that does something (groups only gather subcommands)."""
    return [e.path for e in walk() if not isinstance(e.command, click.Group)]


def anchor(path: str) -> str:
    """The anchor GitHub gives the heading ``path``."""
    return "#" + path.replace(" ", "-")


def _help(command: click.Command) -> str:
    """The help text as Markdown paragraphs (click's ``\\b`` no-rewrap markers dropped)."""
    lines = inspect.cleandoc(command.help or "").splitlines()
    return "\n".join(line for line in lines if line.strip() != "\b")


def summary(command: click.Command) -> str:
    """The first paragraph of the help, on one line."""
    return command.short_help or " ".join(_help(command).split("\n\n")[0].split())


def _parameters(entry: Entry) -> str:
    rows = []
    for param in entry.command.params:
        if getattr(param, "hidden", False):
            continue
        if isinstance(param, click.Argument):
            kind = "argument" + ("" if param.required else " (optional)")
            choices = (
                "one of: " + ", ".join(map(str, param.type.choices))
                if isinstance(param.type, click.Choice)
                else ""
            )
            rows.append((code(param.make_metavar(entry.context)), f"{kind} {choices}".strip()))
            continue
        record = param.get_help_record(entry.context)
        if record is None:
            continue
        name, text = record
        envvar = getattr(param, "envvar", None)
        if isinstance(envvar, str):
            text = f"{text} (environment: {code(envvar)})".strip()
        rows.append((code(name), text))
    return table(("Parameter", "Description"), rows) if rows else ""


def _section(entry: Entry) -> str:
    parts = [f"## {entry.path}", "", "```text", entry.command.get_usage(entry.context), "```"]
    if _help(entry.command):
        parts += ["", _help(entry.command)]
    parameters = _parameters(entry)
    if parameters:
        parts += ["", parameters]
    command = entry.command
    if isinstance(command, click.Group):
        rows = []
        for name in command.list_commands(entry.context):
            sub = command.get_command(entry.context, name)
            if sub is not None and not sub.hidden:
                path = f"{entry.path} {name}"
                rows.append((f"[{code(path)}]({anchor(path)})", summary(sub)))
        parts += ["", table(("Command", "What it does"), rows)]
    return "\n".join(parts)


def render() -> str:
    entries = list(walk())
    index = [(f"[{code(e.path)}]({anchor(e.path)})", summary(e.command)) for e in entries[1:]]
    parts = [
        banner("the click commands in crmlib/cli/"),
        "",
        "# `crm` command reference",
        "",
        "Every command of `crm`, with the usage, help text and options that `crm … --help` "
        "prints. Every command accepts `-h` / `--help`. The global options (`--url`, "
        "`--user`, `--lang`) go before the command: `crm --user sun.li reminders`. Help texts "
        "are in English; what the commands print follows `--lang` / `CRM_LANG` (Chinese by "
        "default). The environment variables are in [environment.md](environment.md).",
        "",
        table(("Command", "What it does"), index),
    ]
    parts += ["", *(section for e in entries for section in (_section(e), ""))]
    return "\n".join(parts).rstrip() + "\n"
