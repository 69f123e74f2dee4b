"""A throw-away PostgreSQL server for the test session.

``initdb`` + ``pg_ctl`` in a temporary directory, listening on 127.0.0.1 on a free port,
trust authentication, no fsync. When the tests run as root (containers, CI), the server
runs as the ``postgres`` system user, because ``initdb`` refuses to run as root.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import grp
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

NOT_FOUND = "PostgreSQL server binaries not found; install Debian's postgresql (the CI script does)"
SERVICE_USER = "postgres"

# Everything here is thrown away after the session: durability is not wanted, speed is.
SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "64MB",
    # the cluster may live in RAM (conftest.py): checkpoint early rather than keep 1 GB of WAL
    "max_wal_size": "256MB",
    "timezone": "'UTC'",
}


class PgServerError(RuntimeError):
    pass


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", Path(path).parent.name))


def find_bindir() -> Path | None:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``.

    In order: ``pg_config --bindir`` (when it holds the server, not just the client),
    the newest ``/usr/lib/postgresql/*/bin`` (Debian), then ``initdb`` on PATH.
    """

    def complete(bindir: Path) -> bool:
        return all((bindir / name).is_file() for name in ("initdb", "pg_ctl", "postgres"))

    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=30
            ).stdout.strip()
            if out:
                candidates.append(Path(out))
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    candidates.extend(Path(d) for d in debian)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(os.path.realpath(initdb)).parent)
    return next((c for c in candidates if complete(c)), None)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ensure_service_user() -> pwd.struct_passwd:
    """The ``postgres`` user (Debian's package creates it); a system user is made if missing."""
    try:
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:
        pass
    try:
        grp.getgrnam(SERVICE_USER)
        group = ["--gid", SERVICE_USER]
    except KeyError:
        group = ["--user-group"]
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    result = subprocess.run(
        [
            useradd,
            "--system",
            *group,
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/usr/sbin/nologin",
            SERVICE_USER,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        with contextlib.suppress(KeyError):  # another test process made it meanwhile
            return pwd.getpwnam(SERVICE_USER)
        raise PgServerError(
            f"initdb refuses to run as root and there is no {SERVICE_USER!r} user to run it as; "
            f"creating one failed: {result.stderr.strip() or result.returncode}"
        )
    return pwd.getpwnam(SERVICE_USER)


def _traversable_by_others(path: Path) -> bool:
    """Whether every directory from / down to ``path`` lets another user pass (o+x)."""
    for part in [path, *path.parents]:
        try:
            if not part.stat().st_mode & stat.S_IXOTH:
                return False
        except OSError:
            return False
    return True


class PgServer:
    """One PostgreSQL cluster in a temporary directory. ``start()`` then ``stop()``."""

    def __init__(self, bindir: Path | None = None) -> None:
        found = bindir or find_bindir()
        if found is None:
            raise PgServerError(NOT_FOUND)
        self.bindir = found
        self.as_root = os.geteuid() == 0
        self.base: Path | None = None
        self.port = 0
        self.started = False
        self.startup_seconds = 0.0

    # -- paths and commands --------------------------------------------------------------

    @property
    def datadir(self) -> Path:
        assert self.base is not None
        return self.base / "data"

    @property
    def logfile(self) -> Path:
        assert self.base is not None
        return self.base / "server.log"

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run a server program, as the ``postgres`` user when we are root."""
        cmd = [str(self.bindir / args[0]), *args[1:]]
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        env.pop("PGDATA", None)
        switch: dict[str, Any] = {}
        if self.as_root:
            runuser = shutil.which("runuser")
            if runuser:
                cmd = [runuser, "-u", SERVICE_USER, "--", *cmd]
            else:
                user = pwd.getpwnam(SERVICE_USER)
                switch = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        return subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.base,
            env=env,
            check=False,
            **switch,
        )

    def _fail(self, what: str, result: subprocess.CompletedProcess[str] | None = None) -> None:
        details = []
        if result is not None:
            details.append(f"exit status {result.returncode}")
            details.extend(s.strip() for s in (result.stdout, result.stderr) if s.strip())
        if self.base is not None and self.logfile.exists():
            tail = self.logfile.read_text(errors="replace").splitlines()[-30:]
            details.append("server log:\n" + "\n".join(tail))
        raise PgServerError(f"{what} failed ({self.bindir}):\n" + "\n".join(details))

    # -- life cycle ----------------------------------------------------------------------

    def _make_base(self) -> Path:
        root = Path(tempfile.gettempdir())
        if self.as_root and not _traversable_by_others(root):
            root = Path("/tmp")
        base = Path(tempfile.mkdtemp(prefix="crm-pg-", dir=root))
        if self.as_root:
            user = _ensure_service_user()
            os.chown(base, user.pw_uid, user.pw_gid)
        return base

    def start(self, attempts: int = 3) -> str:
        """Create and start the cluster; returns the admin URL."""
        began = time.monotonic()
        self.base = self._make_base()
        atexit.register(self.stop)
        result = self._run(
            "initdb",
            "-D",
            str(self.datadir),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        if result.returncode != 0:
            self._fail("initdb", result)
        settings = {**SETTINGS, "unix_socket_directories": f"'{self.base}'"}
        with (self.datadir / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("\n# crmlib test server\n")
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
        for attempt in range(attempts):
            # The port is free when chosen, but another process may take it before the
            # server binds it: try again with another.
            self.port = free_port()
            result = self._run(
                "pg_ctl",
                "-D",
                str(self.datadir),
                "-l",
                str(self.logfile),
                "-w",
                "-t",
                "60",
                "-o",
                f"-p {self.port}",
                "start",
            )
            if result.returncode == 0:
                self.started = True
                self.startup_seconds = time.monotonic() - began
                return self.admin_url
            if attempt == attempts - 1:
                self._fail("pg_ctl start", result)
        raise AssertionError("unreachable")

    def stop(self) -> None:
        """Stop the server (immediately: the data is thrown away) and remove its files."""
        if self.started:
            self.started = False
            self._run("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "-w", "stop")
        if self.base is not None:
            shutil.rmtree(self.base, ignore_errors=True)
            self.base = None
