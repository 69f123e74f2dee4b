"""Opening the workspace in JupyterLab (``crm lab``): the home folder as its root, kernels
that open the workspace's database as the user, 127.0.0.1 and JupyterLab's own token.

The token is handed to JupyterLab in a file only this user can read (``JUPYTER_TOKEN_FILE``,
:func:`crmlib.serving.guard`, as for the Voila servers) rather than on the command line,
where every user of the machine could read it in the process list. Nothing is fetched from
the internet: no news feed, no update check, and the extension manager lists what is
installed without searching PyPI.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..serving import guard

DEFAULT_PORT = 8888
DEFAULT_HOST = "127.0.0.1"


@dataclass(frozen=True)
class Lab:
    """How to start JupyterLab on the workspace (in ``folder``), and the address to open."""

    command: list[str]
    environment: dict[str, str]
    folder: Path
    url: str


def lab_command(
    root: Path, port: int, *, host: str = DEFAULT_HOST, browser: bool = False
) -> list[str]:
    """JupyterLab serving ``root`` on ``host:port`` (a busy port fails rather than moving
    to another one the printed address would not name). Run as root, as in a container,
    JupyterLab would refuse to start; the token guards it the same either way."""
    as_root = ["--ServerApp.allow_root=True"] if os.geteuid() == 0 else []
    return [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--ServerApp.root_dir={root}",
        f"--ServerApp.ip={host}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.open_browser={browser}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
        *as_root,
    ]


@contextlib.contextmanager
def lab(
    root: Path,
    kernel: Mapping[str, str],
    *,
    port: int = DEFAULT_PORT,
    host: str = DEFAULT_HOST,
    browser: bool = False,
) -> Iterator[Lab]:
    """JupyterLab on ``root`` whose kernels inherit ``kernel`` (see
    :func:`crmlib.ui.kernels.kernel_settings`), with a fresh token in a private file that
    lives as long as the block."""
    with guard() as guarded:
        yield Lab(
            lab_command(root, port, host=host, browser=browser),
            guarded.environment({**os.environ, **kernel}),
            root,
            guarded.url(host, port, "/lab"),
        )
