"""Where the database is and how to reach it."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from .errors import ConfigError
from .i18n import register, t

register(
    {
        "invalid_url": {
            "en": "database URL {url!r} is not a valid URL: {reason}",
            "zh": "数据库地址 {url!r} 不是有效的 URL：{reason}",
        },
        "unsupported_backend": {
            "en": "database URL {url!r}: backend {backend!r} is not supported "
            "(use sqlite:///path or postgresql://user@host/db)",
            "zh": "数据库地址 {url!r}：不支持 {backend!r} 数据库"
            "（请使用 sqlite:///路径 或 postgresql://用户@主机/库名）",
        },
    },
    namespace="config",
)

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
        raise ConfigError(t("config:invalid_url", url=raw, reason=exc)) from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError(
            t("config:unsupported_backend", url=raw, backend=parsed.get_backend_name())
        )
    return parsed


def is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"
