"""Shared fixtures: fresh, empty databases on SQLite and on a real PostgreSQL server.

Fixtures
--------
``pg_admin_url`` (session)
    Admin URL (the ``postgres`` database) of the session's PostgreSQL server. The server
    is started on first use by :mod:`pgserver` (``initdb`` + ``pg_ctl`` in a temporary
    directory, 127.0.0.1, a free port, trust auth, fsync off) and stopped at session end.
    ``CRM_TEST_PG_URL`` names an already running server instead. Missing server binaries
    fail the test (never skip it).
``db_url`` (function), parametrised ``sqlite`` / ``postgresql``
    URL of a fresh database with the schema at its newest revision and no rows (not even
    users: the first ``crmlib.open(url, user="admin")`` bootstraps the administrator, as
    on a new database); a test using it runs once on each. Each is a copy of a template
    migrated once per test process (a file copy on SQLite, ``CREATE DATABASE … TEMPLATE``
    on PostgreSQL), so a test does not pay for the migrations. The PostgreSQL database is
    dropped after the test (``WITH (FORCE)``); that run carries the ``postgres`` marker, so
    ``-m "not postgres"`` selects SQLite only.
``empty_db_url`` (function), parametrised like ``db_url``
    A database with no tables at all, for the tests of creating and migrating the schema.
``module_db_url`` (module)
    Like ``db_url``, one database per test module and backend.
``sqlite_url`` (function)
    ``sqlite:///<tmp_path>/crm.db``, a file that does not exist yet, for tests that need
    only SQLite.
``pg_url`` (function)
    A fresh empty PostgreSQL database, for tests that need only PostgreSQL (marked
    ``postgres`` automatically).
``templates`` (session)
    :class:`tests.templates.Templates`: fills a test's fresh ``db_url`` with a copy of data
    that is costly to write (a team of users, a demo), written once per process and backend.
``team`` (function)
    The users of :func:`tests.factories.add_team` in ``db_url`` (from ``templates``), with a
    workspace open for each.

Every test also runs with ``CRM_DATABASE_URL``, ``CRM_USER`` and ``JUPYTERHUB_USER``
removed from the environment, so the developer's own settings never leak into a test.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from pgserver import PgServer, PgServerError
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from crmlib.store import make_engine, upgrade
from tests.factories import Team, add_team, open_team
from tests.templates import Templates

EXTERNAL_SERVER_ENV = "CRM_TEST_PG_URL"
ISOLATED_ENV = ("CRM_DATABASE_URL", "CRM_USER", "JUPYTERHUB_USER")
_SERVER_INFO = pytest.StashKey[str]()


def _psycopg(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _unreachable(url: str) -> str:
    engine = create_engine(url, connect_args={"connect_timeout": 10})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return f"cannot reach {make_url(url).render_as_string(hide_password=True)}: {reason}"
    finally:
        engine.dispose()
    return ""


@pytest.fixture(scope="session")
def pg_admin_url(request: pytest.FixtureRequest) -> Iterator[str]:
    external = os.environ.get(EXTERNAL_SERVER_ENV)
    if external:
        url = _psycopg(external)
        problem = _unreachable(url)
        if problem:
            pytest.fail(f"{EXTERNAL_SERVER_ENV}: {problem}", pytrace=False)
        request.config.stash[_SERVER_INFO] = f"PostgreSQL: the {EXTERNAL_SERVER_ENV} server"
        yield url
        return
    server: PgServer | None = None
    try:
        server = PgServer()
        url = server.start()
    except PgServerError as exc:
        problem = str(exc)
    else:
        problem = ""
    if problem or server is None:
        if server is not None:
            server.stop()
        pytest.fail(problem, pytrace=False)  # a missing server fails, it never skips
    request.config.stash[_SERVER_INFO] = (
        f"PostgreSQL test server: {server.bindir}, port {server.port}, "
        f"started in {server.startup_seconds:.1f} s"
    )
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def _pg_admin_engine(pg_admin_url: str) -> Iterator[Engine]:
    engine = create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def _fresh_pg_database(admin: Engine, template: str = "template0") -> Generator[str]:
    name = f"crm_test_{uuid.uuid4().hex[:16]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}" ENCODING \'UTF8\''))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _migrated(url: str) -> None:
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()  # a template database must have no open connection when copied


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with the schema at head, migrated once per test process."""
    path = tmp_path_factory.mktemp("template") / "crm.db"
    _migrated(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def _pg_template(_pg_admin_engine: Engine) -> Iterator[str]:
    """A PostgreSQL database with the schema at head, migrated once per test process."""
    database = _fresh_pg_database(_pg_admin_engine)
    url = next(database)
    _migrated(url)
    yield make_url(url).database or ""
    database.close()  # drops it


def _schema_db_url(request: pytest.FixtureRequest, folder: Path) -> Iterator[str]:
    if request.param == "sqlite":
        path = folder / "crm.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        yield f"sqlite:///{path}"
    else:
        admin: Engine = request.getfixturevalue("_pg_admin_engine")
        yield from _fresh_pg_database(admin, request.getfixturevalue("_pg_template"))


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS, ids=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from _schema_db_url(request, tmp_path)


@pytest.fixture(params=BACKENDS, ids=["sqlite", "postgresql"])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crm.db'}"
    else:
        yield from _fresh_pg_database(request.getfixturevalue("_pg_admin_engine"))


@pytest.fixture(scope="module", params=BACKENDS, ids=["sqlite", "postgresql"])
def module_db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Like ``db_url``, but one database per test module and backend: for modules whose
    tests only read the same (costly to build) data."""
    yield from _schema_db_url(request, tmp_path_factory.mktemp("module_db"))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'crm.db'}"


@pytest.fixture
def pg_url(_pg_admin_engine: Engine) -> Iterator[str]:
    yield from _fresh_pg_database(_pg_admin_engine)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ISOLATED_ENV:
        monkeypatch.delenv(name, raising=False)
    # Outputs of imports and backups go to the test's own folder, never the checkout.
    monkeypatch.setenv("CRM_IMPORT_DIR", str(tmp_path / "imports"))
    monkeypatch.setenv("CRM_BACKUP_DIR", str(tmp_path / "backups"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        names = getattr(item, "fixturenames", ())
        if ("pg_url" in names or "pg_admin_url" in names) and not item.get_closest_marker(
            "postgres"
        ):
            item.add_marker(pytest.mark.postgres)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    info = terminalreporter.config.stash.get(_SERVER_INFO, None)
    if info:
        terminalreporter.write_line(info)


@pytest.fixture(scope="session")
def _pg_templates(_pg_admin_engine: Engine) -> Iterator[list[str]]:
    """The PostgreSQL databases :class:`Templates` wrote, dropped at the session's end."""
    made: list[str] = []
    yield made
    with _pg_admin_engine.connect() as conn:
        for name in made:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def templates(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Templates:
    return Templates(request, tmp_path_factory.mktemp("templates"))


@pytest.fixture
def team(db_url: str, templates: Templates) -> Iterator[Team]:
    """Users of every role on a fresh database (see :func:`tests.factories.add_team`)."""
    templates.fill(db_url, add_team)
    opened = open_team(db_url)
    yield opened
    opened.close()
