"""Where the database is and how to reach it."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from .errors import ConfigError

DEFAULT_SQLITE_PATH = Path("data") / "crm.db"


def database_url(url: str | None = None) -> URL:
    """Resolve the URL to use: the argument, else ``CRM_DATABASE_URL``, else ``data/crm.db``.

    ``postgresql://`` URLs are given the psycopg 3 driver, so users can paste the URL
    their database administrator hands them.
    """
    raw = url or os.environ.get("CRM_DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE_PATH}"
    try:
        parsed = make_url(raw)
    except ArgumentError as exc:
        raise ConfigError(f"database URL {raw!r} is not a valid URL: {exc}") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError(
            f"database URL {raw!r}: backend {parsed.get_backend_name()!r} is not supported "
            "(use sqlite:///path or postgresql://user@host/db)"
        )
    return parsed


def is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"
