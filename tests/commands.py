"""``crm`` run in the test's own process, as a user's shell would run it (the shared helper of
the tests that drive the command line)."""

from __future__ import annotations

import contextlib
import os
import traceback
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from crmlib.cli import main


@dataclass(frozen=True)
class Ran:
    """What a finished ``crm`` command left: its exit code and what it printed."""

    returncode: int
    stdout: str
    stderr: str


def crm_environment(url: str | None, user: str | None) -> dict[str, str | None]:
    """The developer's CRM_* settings removed; English, the database and the user."""
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("CRM_")}
    env["CRM_LANG"] = "en"
    if url:
        env["CRM_DATABASE_URL"] = url
    if user:
        env["CRM_USER"] = user
    return env


def crm(
    *args: str, url: str | None = None, user: str | None = "admin", cwd: Path | None = None
) -> Ran:
    """``crm ARGS`` run in this process, in ``cwd``, with no input."""
    with contextlib.chdir(cwd) if cwd else contextlib.nullcontext():
        result = CliRunner(env=crm_environment(url, user)).invoke(main, list(args), prog_name="crm")
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    return Ran(result.exit_code, result.stdout, stderr)
