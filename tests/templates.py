"""Databases whose contents are costly to write, written once per test process and copied
for each test (the ``templates`` fixture of tests/conftest.py)."""

from __future__ import annotations

import contextlib
import filecmp
import functools
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

T = TypeVar("T")


def _template_key(build: Callable[[str], Any]) -> Hashable:
    """What a builder writes, as a key: its function and (for a ``functools.partial``) its
    arguments. A lambda has no name to tell two apart, so it is refused."""
    func, args, kwargs = build, (), {}
    if isinstance(build, functools.partial):
        func, args, kwargs = build.func, build.args, build.keywords
    name = f"{func.__module__}.{func.__qualname__}"
    assert "<" not in name, f"a template builder needs a name (a function or a partial): {name}"
    return (name, args, tuple(sorted(kwargs.items())))


class Templates:
    """Databases whose contents are costly to write (a team, a demo), each written once per
    test process and backend and then copied into a test's own fresh database: a file copy
    on SQLite, ``CREATE DATABASE … TEMPLATE`` on PostgreSQL, as ``db_url`` copies the
    migrated schema. A test gets the same rows as if it had written them itself."""

    def __init__(self, request: pytest.FixtureRequest, folder: Path) -> None:
        self._request = request
        self._folder = folder
        self._built: dict[tuple[str, Hashable], tuple[str, Any]] = {}

    def fill(self, url: str, build: Callable[[str], T]) -> T:
        """Give the fresh database at ``url`` (a ``db_url``, nothing written to it yet) what
        ``build(url)`` writes, and return what ``build`` returned when it ran."""
        backend = make_url(url).get_backend_name()
        key = (backend, _template_key(build))
        if key not in self._built:
            self._built[key] = self._write(backend, build)
        source, result = self._built[key]
        name = make_url(url).database or ""
        if backend == "sqlite":
            fresh = self._request.getfixturevalue("_sqlite_template")
            assert filecmp.cmp(name, fresh, shallow=False), f"{url} was written to before fill()"
            shutil.copyfile(source, name)
        else:
            admin: Engine = self._request.getfixturevalue("_pg_admin_engine")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{source}"'))
        return result

    def _write(self, backend: str, build: Callable[[str], T]) -> tuple[str, T]:
        if backend == "sqlite":
            path = self._folder / f"template-{len(self._built)}.db"
            shutil.copyfile(self._request.getfixturevalue("_sqlite_template"), path)
            result = build(f"sqlite:///{path}")
            with contextlib.closing(sqlite3.connect(path)) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # all of it in the one file
            return str(path), result
        made: list[str] = self._request.getfixturevalue("_pg_templates")
        admin: Engine = self._request.getfixturevalue("_pg_admin_engine")
        template = self._request.getfixturevalue("_pg_template")
        name = f"crm_template_{uuid.uuid4().hex[:16]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        made.append(name)
        result = build(admin.url.set(database=name).render_as_string(hide_password=False))
        with admin.connect() as conn:  # a template must have no open connection when copied
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
        return name, result
