"""User-facing text in Chinese and English. Code asks for a message by key; the
language comes from the caller, else the workspace's, else ``CRM_LANG``, else Chinese.

Every message lives in one catalogue file per language, ``crmlib/locale/<lang>.json``: a
flat JSON object from key (``namespace:key``) to text, which a translator edits without
reading code (docs/translating.md). A file is read on the first message asked for in its
language, so importing a module costs nothing and every message exists whether or not the
module that shows it has been imported.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

#: The folder of the catalogue files, one ``<lang>.json`` per language.
LOCALE = Path(__file__).with_name("locale")
#: The languages spoken, the default first: each has a catalogue file with every key.
LANGUAGES = ("zh", "en")

_language: ContextVar[str | None] = ContextVar("crm_language", default=None)
_loaded: dict[str, dict[str, str]] = {}


def catalogue(lang: str) -> Mapping[str, str]:
    """Every message of ``lang`` by key, read from its file once, on first use."""
    texts = _loaded.get(lang)
    if texts is None:
        texts = _loaded[lang] = json.loads((LOCALE / f"{lang}.json").read_bytes())
    return texts


class Messages(Mapping[str, dict[str, str]]):
    """The catalogue seen by key: each message's texts by language (``{"zh": …, "en": …}``).

    ``key in MESSAGES`` asks whether a message exists, for text that is translated only
    when the catalogue knows it.
    """

    def __getitem__(self, key: str) -> dict[str, str]:
        return {lang: catalogue(lang)[key] for lang in LANGUAGES}

    def __contains__(self, key: object) -> bool:
        return key in catalogue(LANGUAGES[0])

    def __iter__(self) -> Iterator[str]:
        return iter(catalogue(LANGUAGES[0]))

    def __len__(self) -> int:
        return len(catalogue(LANGUAGES[0]))


MESSAGES = Messages()


def current_lang(lang: str | None = None) -> str:
    """The language to speak: the argument, the workspace's (see :func:`speaking`),
    ``CRM_LANG``, else Chinese. Anything that is not a known language is Chinese."""
    chosen = (lang or _language.get() or os.environ.get("CRM_LANG", "")).lower()
    return next((code for code in LANGUAGES if chosen.startswith(code)), LANGUAGES[0])


@contextmanager
def speaking(lang: str) -> Iterator[None]:
    """Messages raised inside the block are in ``lang``."""
    token = _language.set(lang)
    try:
        yield
    finally:
        _language.reset(token)


def t(key: str, lang: str | None = None, **values: object) -> str:
    """The message ``key`` in ``lang``, with ``values`` filled in."""
    return catalogue(current_lang(lang))[key].format(**values)
