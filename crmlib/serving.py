"""Serving the notebooks as applications with Voila, offline, and what keeps each server
to the user who started it (:func:`guard`); what a server hands its kernels is
:mod:`.kernels`.

Voila's stock template loads Font Awesome from a CDN; the ``crm-apps`` template shipped here
(``share/jupyter/voila/templates/crm-apps``) is the same page without it, found through
``JUPYTER_PATH``.

A server runs the user's kernels with the user's database rights, so anything that can
reach its port could act as the user: another user of the machine, or any web page the
user opens (a page may reach 127.0.0.1 by DNS rebinding, a name of its own that resolves
to 127.0.0.1). Every server therefore requires a token (fresh, in a file only this user
can read, never on a command line the process list shows), answers only requests naming
it by a local name or one given with ``--allow-host`` (the ``Host`` header; rebinding
cannot forge it), refuses websockets from pages of another origin, and listens on
127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import secrets
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import FieldError, ValidationError
from .i18n import t

# The Voila template and its static files are package data beside the widgets (ui/share).
SHARE = Path(__file__).resolve().parent / "ui" / "share" / "jupyter"
TEMPLATE = "crm-apps"
#: The names a local browser uses; any loopback address (127.0.0.1, ::1) is accepted too.
LOCAL_NAMES = ("localhost",)
#: jupyter_server reads the token from this file (Voila with ``auto_token``, JupyterLab).
TOKEN_FILE_ENV = "JUPYTER_TOKEN_FILE"
MIN_TOKEN_LENGTH = 16
MAX_TOKEN_LENGTH = 1024
#: A kernel whose page has gone (no websocket) and that has been idle this long is shut
#: down: the backstop for pages whose closing the server never heard of.
IDLE_KERNEL_SECONDS = 600
CULL_INTERVAL_SECONDS = 60
_HOST_NAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$"
)


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


def check_host_names(names: Sequence[str]) -> tuple[str, ...]:
    """The names given with ``--allow-host``, checked: a host name each (no port, no
    wildcard). An IP address other than the loopback is refused: jupyter_server answers a
    request naming an address only when it is a loopback one."""
    checked = []
    for name in names:
        bare = name.strip().strip("[]")
        try:
            address = ipaddress.ip_address(bare)
        except ValueError:
            if not _HOST_NAME.match(bare):
                raise ValidationError(
                    FieldError("allow_host", name, "host_name", t("serve:host_name"))
                ) from None
            checked.append(bare.rstrip(".").lower())
        else:
            if not address.is_loopback:
                raise ValidationError(FieldError("allow_host", name, "host_ip", t("serve:host_ip")))
    return tuple(dict.fromkeys(checked))


def read_token_file(path: Path | str) -> str:
    """The token in ``path`` (``--token-file``): one line of 16 to 1,024 characters, in a
    file no other user can read (a token others can read guards nothing)."""
    path = Path(path)

    def refused(rule: str, message: str) -> ValidationError:
        return ValidationError(FieldError("token_file", str(path), rule, message))

    try:
        mode = path.stat().st_mode
        with path.open("rb") as file:  # read no further than a token can be
            token = file.read(MAX_TOKEN_LENGTH + 2).decode("utf-8").strip()
    except (OSError, UnicodeDecodeError):
        raise refused("readable", t("serve:token_unreadable", path=path)) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        shown = oct(stat.S_IMODE(mode))[2:].zfill(4)
        raise refused("private", t("serve:token_shared", path=path, mode=shown))
    if not MIN_TOKEN_LENGTH <= len(token) <= MAX_TOKEN_LENGTH or any(c.isspace() for c in token):
        raise refused("token", t("serve:token_short", n=MIN_TOKEN_LENGTH, most=MAX_TOKEN_LENGTH))
    return token


@dataclass(frozen=True)
class Guard:
    """What keeps one server to the user who started it: its token (also in ``folder``,
    a private directory that lives as long as the server), the host names it answers to
    besides the local ones, and Voila's settings for both and for kernel culling."""

    token: str
    folder: Path
    allow_hosts: tuple[str, ...]
    #: The token came from the user (``--token-file``), who knows it: it is not printed.
    given: bool = False

    @property
    def token_file(self) -> Path:
        return self.folder / "token"

    def environment(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """``base`` (default: this process's environment) with the token file named; a
        ``JUPYTER_TOKEN`` would win over the file, so it goes."""
        env = dict(os.environ if base is None else base)
        env.pop("JUPYTER_TOKEN", None)
        env[TOKEN_FILE_ENV] = str(self.token_file)
        return env

    def voila_options(self) -> list[str]:
        """Voila's options: its configuration from ``folder`` only (not from the current
        folder, where a ``voila.py`` would run)."""
        return [f"--Voila.config_file_paths={self.folder}"]

    def url(self, host: str, port: int, path: str = "/") -> str:
        """The address to open once (the browser then keeps a cookie); a token the user
        gave is not repeated where logs keep it."""
        shown = "…" if self.given else self.token
        return f"http://{host}:{port}{path}?token={shown}"


def voila_settings(
    allow_hosts: Sequence[str] = (), *, idle_timeout: int = IDLE_KERNEL_SECONDS
) -> dict[str, object]:
    """Voila's configuration (``voila.json``): the token required (read from
    ``JUPYTER_TOKEN_FILE``), requests naming another host refused (Voila itself turns that
    check off), websockets and posts from other origins refused (no ``allow_origin``), and
    kernels whose page has gone culled once idle. Voila's pre-heated kernels are never
    culled; a page that is open keeps its kernel however long it sits idle."""
    tornado = {
        "allow_remote_access": False,
        "local_hostnames": [*LOCAL_NAMES, *allow_hosts],
        "allow_origin": "",
        "allow_origin_pat": "",
    }
    culling = {
        "cull_idle_timeout": idle_timeout,
        "cull_interval": min(CULL_INTERVAL_SECONDS, max(1, idle_timeout // 2)),
        "cull_connected": False,
        "cull_busy": False,
    }
    return {
        "Voila": {"auto_token": True, "tornado_settings": tornado},
        "MappingKernelManager": culling,
    }


@contextlib.contextmanager
def guard(
    allow_hosts: Sequence[str] = (),
    *,
    token_file: Path | str | None = None,
    idle_timeout: int = IDLE_KERNEL_SECONDS,
) -> Iterator[Guard]:
    """A fresh token (or the one in ``token_file``) and the server's settings, in a
    private temporary directory (mode 0700, the token file 0600) removed on leaving."""
    names = check_host_names(allow_hosts)
    given = token_file is not None
    token = read_token_file(token_file) if token_file is not None else secrets.token_urlsafe(32)
    with tempfile.TemporaryDirectory(prefix="crm-server-") as private:
        folder = Path(private)
        secret = folder / "token"
        secret.touch(mode=0o600)
        secret.write_text(token, encoding="ascii")
        settings = voila_settings(names, idle_timeout=idle_timeout)
        (folder / "voila.json").write_text(json.dumps(settings, indent=1), encoding="utf-8")
        yield Guard(token, folder, names, given)


def voila_command(
    notebooks: Path, port: int, guard: Guard, *, host: str = "127.0.0.1"
) -> list[str]:
    """The command that serves ``notebooks`` (a folder or one notebook) on ``host:port``,
    guarded by ``guard`` (run it with ``guard.environment(...)``)."""
    return [
        sys.executable,
        "-m",
        "voila",
        str(notebooks),
        "--no-browser",
        f"--port={port}",
        f"--Voila.ip={host}",
        f"--template={TEMPLATE}",
        *guard.voila_options(),
    ]


def voila_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) with the crm template findable."""
    env = dict(os.environ if base is None else base)
    paths = [str(SHARE), *filter(None, env.get("JUPYTER_PATH", "").split(os.pathsep))]
    env["JUPYTER_PATH"] = os.pathsep.join(paths)
    return env
