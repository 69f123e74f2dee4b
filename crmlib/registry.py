"""Named registries: one registration per concept, one lookup that explains a wrong name.

A KPI, a report, an importable file kind or a vectorised rule is registered once, with
everything that belongs to it, in a :class:`Registry`. Looking up a name that was never
registered raises :class:`~crmlib.errors.ValidationError` naming the field, the value and
the names that exist, in the user's language, so every caller gets the same clear error.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

from .errors import FieldError, ValidationError
from .i18n import t

T = TypeVar("T")


class Registry(Generic[T]):
    """Entries of one kind by name, in registration order.

    ``field`` names the argument that carries the name (``"kpi"``, ``"report"``, ``"kind"``)
    and is the field of the error a wrong name raises; the message ``registry:<field>`` of
    the catalogue says what an entry is, in each language.
    """

    def __init__(self, field: str) -> None:
        self.field = field
        self._entries: dict[str, T] = {}

    def _what(self, lang: str | None = None) -> str:
        return t(f"registry:{self.field}", lang)

    def add(self, name: str, entry: T) -> T:
        """Register ``entry`` as ``name``; a name is registered once."""
        if name in self._entries:
            raise ValueError(t("registry:twice", "en", what=self._what("en"), name=name))
        self._entries[name] = entry
        return entry

    def get(self, name: str) -> T:
        """The entry called ``name``; an unknown name is a clear, translated error."""
        try:
            return self._entries[name]
        except KeyError:
            raise ValidationError(
                FieldError(
                    self.field,
                    name,
                    f"known_{self.field}",
                    t(
                        "registry:unknown",
                        what=self._what(),
                        name=name,
                        known=", ".join(self._entries),
                    ),
                )
            ) from None

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> list[str]:
        """Every registered name, in registration order."""
        return list(self._entries)

    def items(self) -> list[tuple[str, T]]:
        return list(self._entries.items())

    def values(self) -> list[T]:
        return list(self._entries.values())
