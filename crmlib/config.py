"""Where the workspace is, where its database is and how to reach it.

A workspace has one home folder holding ``data/`` (the SQLite database), ``notebooks/``,
``reports/`` and ``parameters/`` (see :func:`home`). The default database is an absolute
path under it, so the ``crm`` command run from any folder, the kernels Voila and JupyterLab
start in ``notebooks/entry/`` and papermill's report kernels all open the same file; a
relative path would send each of them to a different, empty one.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from .errors import ConfigError
from .i18n import t

#: The default SQLite database, relative to the workspace home.
DEFAULT_SQLITE_PATH = Path("data") / "crm.db"
#: Names the workspace home folder.
HOME_ENV = "CRM_HOME"
_PACKAGE_PARENT = Path(__file__).resolve().parent.parent


def home() -> Path:
    """The workspace home, absolute: ``CRM_HOME`` when set; else the source checkout this
    crmlib runs from (the folder with ``pyproject.toml`` and ``notebooks/`` above the
    package, as ``make venv``'s editable install has it), so every command and kernel of a
    clone finds the clone's database whatever its folder; else the current folder (an
    installed package has no checkout: the folder you run it in is the workspace)."""
    given = os.environ.get(HOME_ENV)
    if given:
        return Path(given).expanduser().resolve()
    if (_PACKAGE_PARENT / "notebooks").is_dir() and (_PACKAGE_PARENT / "pyproject.toml").is_file():
        return _PACKAGE_PARENT
    return Path.cwd()


def notebooks_folder() -> Path:
    """The workspace's notebooks (``<home>/notebooks``)."""
    return home() / "notebooks"


def default_database_path() -> Path:
    """The database used when none is named (``<home>/data/crm.db``)."""
    return home() / DEFAULT_SQLITE_PATH


def database_url(url: str | None = None) -> URL:
    """Resolve the URL to use: the argument, else ``CRM_DATABASE_URL``, else
    ``<home>/data/crm.db``. A relative SQLite path is made absolute (from the current
    folder), so a server can hand the same file to kernels that start elsewhere.

    ``postgresql://`` URLs are given the psycopg 3 driver, so users can paste the URL
    their database administrator hands them.
    """
    raw = url or os.environ.get("CRM_DATABASE_URL") or f"sqlite:///{default_database_path()}"
    try:
        parsed = make_url(raw)
    except ArgumentError as exc:
        raise ConfigError(t("config:invalid_url", url=raw, reason=exc)) from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError(
            t("config:unsupported_backend", url=raw, backend=parsed.get_backend_name())
        )
    path = sqlite_file(parsed)
    if path is not None and not path.is_absolute():
        parsed = parsed.set(database=str(path.resolve()))
    return parsed


def sqlite_file(url: URL) -> Path | None:
    """The file of a SQLite ``url``; None for PostgreSQL, in-memory and ``file:`` URI
    databases."""
    if not is_sqlite(url) or url.database in (None, "", ":memory:") or url.query.get("uri"):
        return None
    return Path(url.database)


def existing_database(url: str | None = None) -> URL:
    """:func:`database_url`, provided its SQLite file exists: notebooks and servers open a
    workspace, they never create one (a wrong path would leave an empty second database
    behind and show nothing). PostgreSQL databases are checked when connecting."""
    resolved = database_url(url)
    path = sqlite_file(resolved)
    if path is not None and not path.is_file():
        raise ConfigError(t("config:no_database", path=path))
    return resolved


def is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"
