"""Import engines: how the chunks of an import are checked relative to their writing.

Every import runs one write path, whatever the engine: chunks of the file are read and
validated (:class:`~crmlib.transfer.checking.Checker`), then written by the kind's writer
in the importing thread, inside one transaction: ``executemany`` on SQLite, ``COPY … FROM
STDIN`` on PostgreSQL (:mod:`crmlib.transfer.bulk`). An engine decides only who checks the
chunks, and when, and whether new rows come laid out for a copy (:mod:`.staging`):

``serial``
    Check a chunk, write it, check the next, in one thread.
``pipelined`` (the default)
    A second thread checks the next chunk while this one is written, and on SQLite also
    lays out its new customers, which then reach the database with one ``INSERT … SELECT``
    per table. The writing thread spends its time inside SQLite, which lets the other
    thread run meanwhile. No process is forked, so the engine is as safe in a Jupyter
    kernel (which runs threads of its own) as in ``crm import``: the import notebook and
    the command run the same code.

The engine is chosen by name: the ``engine`` argument of
:meth:`crmlib.workspace.Workspace.import_file` (``crm import --engine``), else the
``CRM_IMPORT_ENGINE`` environment variable, else :data:`DEFAULT_ENGINE`. An unknown name
is a clear error listing the engines. A new engine subclasses :class:`ImportEngine` and is
added to :data:`ENGINES`, as papermill's engines are.
"""

from __future__ import annotations

import contextvars
import os
import queue
import threading
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from typing import ClassVar

from sqlalchemy import Connection

from ..registry import Registry
from . import staging
from .checking import Checked, Checker
from .writers.base import Writer

#: The environment variable that names the import engine when no argument does.
ENGINE_ENV = "CRM_IMPORT_ENGINE"
DEFAULT_ENGINE = "pipelined"
#: How often a checking thread whose chunk waits looks whether the import stopped reading.
_POLL_S = 0.1


class ImportEngine:
    """Checks an import's chunks for the importing thread, which writes them in order."""

    #: The name it is registered and chosen by.
    name: ClassVar[str]

    @contextmanager
    def prepared(self, conn: Connection, writer: type[Writer]) -> Iterator[bool]:
        """``conn`` ready for the import (entered before its transaction begins); yields
        whether chunks will come with their new rows staged."""
        yield False

    def checked(self, checker: Checker) -> Generator[Checked]:
        """The file's chunks, checked, in order. Closing the generator stops the checking."""
        while (chunk := checker.next()) is not None:
            yield chunk


class SerialEngine(ImportEngine):
    """One thread: each chunk is checked, then written, before the next is read."""

    name = "serial"


class PipelinedEngine(ImportEngine):
    """A checking thread stays one chunk ahead of the writing one (see the module
    docstring); it never touches the database."""

    name = "pipelined"

    @contextmanager
    def prepared(self, conn: Connection, writer: type[Writer]) -> Iterator[bool]:
        if conn.dialect.name == "sqlite" and writer.stages and staging.available():
            with staging.attached(conn):
                yield True
        else:
            yield False

    def checked(self, checker: Checker) -> Generator[Checked]:
        ahead: queue.Queue[Checked | BaseException | None] = queue.Queue(maxsize=1)
        stop = threading.Event()

        def hand_over(item: Checked | BaseException | None) -> None:
            while not stop.is_set():
                try:
                    ahead.put(item, timeout=_POLL_S)
                    return
                except queue.Full:
                    continue

        def check_all() -> None:
            try:
                while not stop.is_set():
                    chunk = checker.next()
                    hand_over(chunk)
                    if chunk is None:
                        return
            except BaseException as exc:  # raised in the importing thread
                hand_over(exc)

        # The checking thread speaks the import's language (a context variable).
        context = contextvars.copy_context()
        thread = threading.Thread(
            target=context.run, args=(check_all,), name="crm-import-check", daemon=True
        )
        thread.start()
        try:
            while (item := ahead.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            thread.join()


ENGINES: Registry[ImportEngine] = Registry("engine")
ENGINES.add(SerialEngine.name, SerialEngine())
ENGINES.add(PipelinedEngine.name, PipelinedEngine())


def import_engine(name: str | None = None) -> ImportEngine:
    """The engine called ``name``, else the one ``CRM_IMPORT_ENGINE`` names, else the
    default; an unknown name is a clear error."""
    return ENGINES.get(name or os.environ.get(ENGINE_ENV) or DEFAULT_ENGINE)
