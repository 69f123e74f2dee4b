"""The exceptions crmlib raises. Every expected failure is a :class:`CRMError`,
so the CLI and the notebooks can show one clear line instead of a traceback."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class CRMError(Exception):
    """Base class of every error a user can cause and read."""


@dataclass(frozen=True)
class FieldError:
    """One broken rule: which field, which value, which rule, and why in words."""

    field: str
    value: Any
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}={shorten(self.value)}: {self.message} [{self.rule}]"


def shorten(value: Any, limit: int = 60) -> str:
    """A value as a message quotes it: a 100,000-character cell must not drown the reason."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 4]}…{text[-3:]}"


class ValidationError(CRMError):
    """Input broke one or more rules; ``errors`` lists each of them."""

    def __init__(self, errors: list[FieldError] | FieldError) -> None:
        self.errors: list[FieldError] = [errors] if isinstance(errors, FieldError) else errors
        super().__init__("; ".join(str(e) for e in self.errors))


class AccessDenied(CRMError):
    """The acting user's role or scope does not allow this."""


class NotFound(CRMError):
    """The record does not exist."""


class Conflict(CRMError):
    """The change clashes with existing data (a unique key, a concurrent edit)."""


class DatabaseBusy(CRMError):
    """Another process held the database for longer than a connection waits (on SQLite:
    a large import, which writes through the rollback journal when it started alone)."""


class ConfigError(CRMError):
    """The database URL, server or environment is not usable."""


class DiskFull(CRMError):
    """A disk filled up while something was written: the database or a file. Says what was
    being written, what was kept, and what to do."""
