"""``crm notebooks``: the entry and review notebooks as applications in a browser (Voila)."""

from __future__ import annotations

from pathlib import Path

import click

from ..config import notebooks_folder
from ..serving import guard, run_server, voila_command, voila_environment
from ..ui.kernels import kernel_settings
from .base import Settings, friendly_errors, guard_options, main, pass_settings

DEFAULT_PORT = 8867


@main.group()
def notebooks() -> None:
    """The entry and review notebooks (customers, follow-ups, tickets, imports, data
    quality, duplicates)."""


@notebooks.command("serve")
@click.option("--port", type=int, default=DEFAULT_PORT, show_default=True)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (others reach it through a proxy or JupyterHub).",
)
@guard_options
@click.argument(
    "folder", type=click.Path(exists=True, file_okay=True, path_type=Path), required=False
)
@pass_settings
@friendly_errors
def serve(
    settings: Settings,
    port: int,
    host: str,
    allow_hosts: tuple[str, ...],
    token_file: Path | None,
    folder: Path | None,
) -> None:
    """Serve FOLDER (default: the workspace's notebooks/, whatever the current folder)
    with Voila, offline, as the --user or $CRM_USER, on the --url or $CRM_DATABASE_URL
    database (default: the workspace's data/crm.db); stop it with Ctrl-C.

    It prints the address to open once, with a fresh token (or --token-file's); requests
    without it, for other host names or websockets from other sites are refused."""
    env = voila_environment()
    # A missing database or a wrong user fails here, in one line; kernels get absolute paths.
    env.update(kernel_settings(settings.url, settings.user, settings.lang))
    served = (folder or notebooks_folder()).resolve()
    with guard(allow_hosts, token_file=token_file) as guarded:
        click.echo(guarded.url(host, port, "/voila/render/entry/customer_entry.ipynb"))
        code = run_server(voila_command(served, port, guarded, host=host), guarded.environment(env))
    raise SystemExit(code)
