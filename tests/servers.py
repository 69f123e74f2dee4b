"""A local server process for the browser tests and the dashboard benchmark: a free port,
and the process started, waited for until it answers, and stopped again."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running(
    command: Sequence[str],
    *,
    port: int,
    env: Mapping[str, str],
    cwd: Path,
    log: Path,
    timeout: float = 120,
    token: str | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command``, a server on 127.0.0.1:``port`` writing to ``log``, until its root
    page answers 200 (asked with ``token`` when the server requires one); stop it on
    leaving. A server that exits or stays silent past ``timeout`` raises with its log."""
    root = f"http://127.0.0.1:{port}/"
    probe = urllib.request.Request(root)
    if token is not None:
        probe.add_header("Authorization", f"token {token}")
    with log.open("wb") as out:
        process = subprocess.Popen(
            list(command), env=dict(env), cwd=cwd, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    with urllib.request.urlopen(probe, timeout=5) as answer:
                        if answer.status == 200:
                            break
                except OSError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{command[0]} did not start:\n{log.read_text()}")
                time.sleep(0.3)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# -- what keeps a server to its user (crmlib.serving.guard), seen from a browser ---------

#: A name of an attacker's site that resolves to this machine, as DNS rebinding makes it:
#: Chromium started with ``REBINDING`` resolves it to 127.0.0.1.
EVIL = "evil.example"
REBINDING = f"--host-resolver-rules=MAP {EVIL} 127.0.0.1"
_WEBSOCKET = """url => new Promise(done => {
  const ws = new WebSocket(url);
  ws.onopen = () => { ws.close(); done("open"); };
  ws.onerror = () => done("refused");
  setTimeout(() => done("timeout"), 20000);
})"""


def kernel_running(kernel_id: str) -> bool:
    """Whether a kernel process of this id runs (its connection file names it)."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if f"kernel-{kernel_id}.json".encode() in cmdline.read_bytes():
                return True
        except OSError:
            continue
    return False


def command_lines() -> list[bytes]:
    """The command line of every process of the machine (what any user can read)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            found.append(cmdline.read_bytes())
        except OSError:
            continue
    return found


def check_guard(browser: Any, base: str, token: str, path: str, ready: str) -> None:
    """A server at ``base`` (``http://127.0.0.1:port``) refuses a page without its token,
    a page asked for by another host name, and websockets from another site's page; with
    the token its page at ``path`` shows ``ready``; closing that page shuts its kernel down.
    The token is on no command line. ``browser`` was launched with ``REBINDING``."""
    port = urlparse(base).port
    assert not [line for line in command_lines() if token.encode() in line]
    context = browser.new_context()
    try:
        page = context.new_page()
        for query in ("", "?token=wrong-token-0123456789"):
            page.goto(f"{base}{path}{query}", wait_until="load")
            assert "/login" in page.url and page.locator(ready).count() == 0, page.url
        refused = page.goto(f"http://{EVIL}:{port}{path}?token={token}", wait_until="load")
        assert refused is not None and refused.status == 403
        assert page.locator(ready).count() == 0

        page.goto(f"{base}{path}?token={token}", wait_until="commit", timeout=120_000)
        page.wait_for_selector(ready, timeout=120_000)
        kernel = page.evaluate(
            "JSON.parse(document.getElementById('jupyter-config-data').textContent).kernelId"
        )
        assert kernel_running(kernel)
        channel = f"/api/kernels/{kernel}/channels"
        assert page.evaluate(_WEBSOCKET, f"ws://127.0.0.1:{port}{channel}") == "open"

        # An attacker's page, at a name that resolves here (the server refuses it, but its
        # script runs at that origin), opening the kernel's channel.
        attacker = context.new_page()
        attacker.goto(f"http://{EVIL}:{port}/attack")
        for url in (f"ws://{EVIL}:{port}{channel}", f"ws://127.0.0.1:{port}{channel}"):
            assert attacker.evaluate(_WEBSOCKET, url) == "refused", url
        attacker.close()

        page.goto("about:blank")  # the page closes: its kernel is shut down
        deadline = time.monotonic() + 60
        while kernel_running(kernel) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not kernel_running(kernel), f"kernel {kernel} outlived its page"
    finally:
        context.close()
