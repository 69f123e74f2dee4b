"""nbval runs every notebook under notebooks/ against a small demo database.

The notebooks read ``CRM_DATABASE_URL``, ``CRM_USER`` and ``CRM_LANG`` from their kernel's
environment, as they do when served. nbval starts a notebook's kernel when the notebook's
first cell is set up, so the settings are put in place around that setup only: the demo
database is built on first use (once per test process) and no other test sees them.

The hooks live here, not in notebooks/conftest.py, so that the folder people open in
JupyterLab holds only notebooks.

The collected tests are also ordered here, for ``pytest -n`` (``--dist loadfile``, a file's
tests on one worker): the files estimated costliest run first, so that no long file starts
last and keeps one worker busy while the others have finished.

Temporary files (each test's databases, the PostgreSQL test server's cluster, the outputs of
the processes the tests start) go to a RAM file system when the machine has one with room
(``/dev/shm``), unless ``TMPDIR`` names a folder already: creating and dropping a database
per test costs 10–20 times less there than on a virtual disk, which halves the suite.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Iterator
from itertools import groupby
from pathlib import Path

import pytest
from nbval.plugin import IPyNbCell
from sqlalchemy import create_engine

from crmlib import admin

#: Customers in the demo database the notebooks open (a few seconds to build).
DEMO_CUSTOMERS = 300
NOTEBOOK_ENV = {"CRM_USER": "admin", "CRM_LANG": "zh"}
_DEMO_URL = pytest.StashKey[str]()
#: A RAM file system the temporary files may go to, and the room it must have free.
RAM_FOLDER = Path("/dev/shm")
RAM_NEEDED_BYTES = 4 * 1024**3
#: Rough seconds a test takes by its costliest mark, with a database, and without either:
#: an estimate for ordering the files, not a limit.
MARK_SECONDS = {"browser": 10.0, "slow": 5.0, "notebooks": 2.0, "postgres": 0.6}
DATABASE_FIXTURES = {"db_url", "module_db_url", "empty_db_url", "sqlite_url", "team"}
DATABASE_SECONDS = 0.3
PLAIN_SECONDS = 0.02


def _demo_url(config: pytest.Config) -> str:
    if _DEMO_URL not in config.stash:
        # the session's tmp_path_factory: hooks have no fixtures
        folder = config._tmp_path_factory.mktemp("nbval_demo")  # type: ignore[attr-defined]
        url = f"sqlite:///{Path(folder) / 'crm.db'}"
        engine = create_engine(url)
        try:
            with contextlib.redirect_stderr(io.StringIO()):  # its progress bar
                admin.build_demo(engine, customers=DEMO_CUSTOMERS, seed=7, fresh=True)
        finally:
            engine.dispose()
        config.stash[_DEMO_URL] = url
    return config.stash[_DEMO_URL]


def _ram_folder() -> Path | None:
    """``/dev/shm`` when it is writable and has room for the suite's files (a container's
    default 64 MB has not), else None."""
    try:
        free = os.statvfs(RAM_FOLDER)
    except OSError:
        return None
    if free.f_bavail * free.f_frsize < RAM_NEEDED_BYTES or not os.access(RAM_FOLDER, os.W_OK):
        return None
    return RAM_FOLDER


def pytest_configure(config: pytest.Config) -> None:
    """Temporary files go to RAM when they can (see above); set in the environment, so
    that xdist's workers, the PostgreSQL server and every process a test starts follow.

    The sanitize file in pyproject.toml is relative to the repository, wherever pytest
    starts (nbval opens it relative to the current folder)."""
    ram = None if os.environ.get("TMPDIR") else _ram_folder()
    if ram is not None:
        os.environ["TMPDIR"] = str(ram)
        tempfile.tempdir = None  # gettempdir() reads TMPDIR again
    given = config.option.nbval_sanitize_with
    if given and not Path(given).is_absolute():
        config.option.nbval_sanitize_with = str(config.rootpath / given)


def _estimate(item: pytest.Item) -> float:
    marks = {mark.name for mark in item.iter_markers()}
    fixtures = set(getattr(item, "fixturenames", ()))
    plain = DATABASE_SECONDS if fixtures & DATABASE_FIXTURES else PLAIN_SECONDS
    return max((MARK_SECONDS[m] for m in marks & MARK_SECONDS.keys()), default=plain)


def _file(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark notebook cells ``notebooks``; order the files by estimated cost, costliest
    first, each file's tests in their own order (xdist takes the files in this order with
    ``--no-loadscope-reorder``). tests/conftest.py's marks are in place already: its hook
    runs before this one, and ``-m`` deselects after both."""
    for item in items:
        if isinstance(item, IPyNbCell):
            item.add_marker(pytest.mark.notebooks)
    files = [list(tests) for _, tests in groupby(items, key=_file)]
    files.sort(key=lambda tests: -sum(map(_estimate, tests)))  # stable: ties keep their order
    items[:] = [item for tests in files for item in tests]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    """Start a notebook's kernel with the demo database's settings in its environment."""
    if not isinstance(item, IPyNbCell):
        return (yield)
    settings = {"CRM_DATABASE_URL": _demo_url(item.config), **NOTEBOOK_ENV}
    saved = {name: os.environ.get(name) for name in (*settings, "JUPYTERHUB_USER")}
    os.environ.pop("JUPYTERHUB_USER", None)
    os.environ.update(settings)
    try:
        return (yield)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
