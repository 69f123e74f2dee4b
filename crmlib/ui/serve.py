"""Serving the notebooks as applications with Voila, offline, and what every server of
the workspace (Voila, JupyterLab) hands its kernels.

Voila's stock template loads Font Awesome from a CDN; the ``crm-apps`` template shipped here
(``share/jupyter/voila/templates/crm-apps``) is the same page without it, found through
``JUPYTER_PATH``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..config import HOME_ENV, home

SHARE = Path(__file__).resolve().parent / "share" / "jupyter"
TEMPLATE = "crm-apps"


def kernel_settings(
    url: str | None = None, user: str | None = None, lang: str | None = None
) -> dict[str, str]:
    """What a server's kernels must know to open the workspace, whatever folder they start
    in: ``CRM_HOME``, the database's absolute URL, the user and (when given) the language.
    The workspace is opened once here, so a missing database or an unknown user fails
    before the server starts, in one line, and nothing is created."""
    from .base import workspace

    with workspace(url, user, lang) as ws:
        settings = {
            HOME_ENV: str(home()),
            "CRM_DATABASE_URL": ws.engine.url.render_as_string(hide_password=False),
            "CRM_USER": ws.user.username,
        }
    if lang:
        settings["CRM_LANG"] = lang
    return settings


def run_server(command: Sequence[str], env: Mapping[str, str], cwd: Path | None = None) -> int:
    """Run a server (Voila, JupyterLab) until it exits, and its exit code. A SIGTERM to this
    process (a service manager, a test stopping it) is passed on, so the server and its
    kernels never outlive the command that started them; Ctrl-C reaches both from the
    terminal, and this process waits for the server to finish stopping."""
    process = subprocess.Popen(list(command), env=dict(env), cwd=cwd)

    def forward(signum: int, _frame: object) -> None:
        process.send_signal(signum)

    previous = signal.signal(signal.SIGTERM, forward)
    try:
        while True:
            try:
                return process.wait()
            except KeyboardInterrupt:
                continue  # the server had the Ctrl-C too, and says when it is done
    finally:
        signal.signal(signal.SIGTERM, previous)


def voila_command(notebooks: Path, port: int, *, host: str = "127.0.0.1") -> list[str]:
    """The command that serves ``notebooks`` (a folder or one notebook) on ``host:port``."""
    return [
        sys.executable, "-m", "voila", str(notebooks), "--no-browser", f"--port={port}",
        f"--Voila.ip={host}", f"--template={TEMPLATE}",
    ]  # fmt: skip


def voila_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) with the crm template findable."""
    env = dict(os.environ if base is None else base)
    paths = [str(SHARE), *filter(None, env.get("JUPYTER_PATH", "").split(os.pathsep))]
    env["JUPYTER_PATH"] = os.pathsep.join(paths)
    return env
