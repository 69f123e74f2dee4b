"""Serving the notebooks as applications with Voila, offline.

Voila's stock template loads Font Awesome from a CDN; the ``crm-apps`` template shipped here
(``share/jupyter/voila/templates/crm-apps``) is the same page without it, found through
``JUPYTER_PATH``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

SHARE = Path(__file__).resolve().parent / "share" / "jupyter"
TEMPLATE = "crm-apps"


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
