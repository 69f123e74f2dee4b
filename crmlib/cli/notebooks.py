"""``crm notebooks``: the entry and review notebooks as applications in a browser (Voila)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import click

from ..ui.serve import voila_command, voila_environment
from .base import Settings, friendly_errors, main, pass_settings

DEFAULT_PORT = 8867


@main.group()
def notebooks() -> None:
    """The entry and review notebooks (customers, follow-ups, tickets, imports, data
    quality, duplicates)."""


@notebooks.command("serve")
@click.option("--port", type=int, default=DEFAULT_PORT, show_default=True)
@click.option(
    "--host", default="127.0.0.1", show_default=True,
    help="Address to listen on (others reach it through a proxy or JupyterHub).",
)  # fmt: skip
@click.argument("folder", type=click.Path(exists=True, file_okay=True, path_type=Path),
                default="notebooks")  # fmt: skip
@pass_settings
@friendly_errors
def serve(settings: Settings, port: int, host: str, folder: Path) -> None:
    """Serve FOLDER (default notebooks/) with Voila, offline, as the --user or $CRM_USER,
    on the --url or $CRM_DATABASE_URL database; stop it with Ctrl-C."""
    settings.workspace().close()  # a wrong user or database fails here, in one line
    env = voila_environment()
    for key, value in (("CRM_DATABASE_URL", settings.url), ("CRM_USER", settings.user),
                       ("CRM_LANG", settings.lang)):  # fmt: skip
        if value:
            env[key] = value
    click.echo(f"http://{host}:{port}/voila/render/entry/customer_entry.ipynb")
    raise SystemExit(subprocess.call(voila_command(folder, port, host=host), env=env))
