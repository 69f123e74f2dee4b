"""``crm lab``: the workspace in JupyterLab, as the user, on the workspace's database."""

from __future__ import annotations

import sys

import click

from ..config import home
from ..i18n import t
from ..serving import run_server
from ..ui.kernels import kernel_settings
from ..ui.lab import DEFAULT_HOST, DEFAULT_PORT, lab
from .base import Settings, friendly_errors, main, pass_settings


@main.command("lab")
@click.option("--port", type=int, default=DEFAULT_PORT, show_default=True)
@click.option(
    "--host",
    default=DEFAULT_HOST,
    show_default=True,
    help="Address to listen on (others reach it through a proxy).",
)
@click.option(
    "--browser/--no-browser",
    default=True,
    show_default=True,
    help="Open the address in this machine's web browser.",
)
@pass_settings
@friendly_errors
def lab_command(settings: Settings, port: int, host: str, browser: bool) -> None:
    """Open the workspace (notebooks, data, reports) in JupyterLab as the --user or
    $CRM_USER, on the --url or $CRM_DATABASE_URL database; stop it with Ctrl-C."""
    # A missing database or a wrong user fails here, in one line; kernels get absolute paths.
    kernel = kernel_settings(settings.url, settings.user, settings.lang)
    with lab(home(), kernel, port=port, host=host, browser=browser) as server:
        click.echo(t("lab_cli:lab_at", home=home(), user=kernel["CRM_USER"], url=server.url))
        sys.exit(run_server(server.command, server.environment, server.folder))
