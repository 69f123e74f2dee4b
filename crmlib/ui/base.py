"""What every notebook widget shares: the workspace it acts through, its language, and a
status line that turns a crmlib error into one readable sentence."""

from __future__ import annotations

import html
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import ipywidgets as widgets

from .. import workspace as _workspace
from ..config import existing_database
from ..errors import CRMError, ValidationError
from ..i18n import current_lang, speaking
from ..reference.enums import ROLE, TEAM
from ..workspace import Workspace
from .texts import say

#: Colours of the status line and of highlighted cells, readable on white.
COLOURS = {"ok": "#1b7f3b", "error": "#b42318", "warn": "#b54708", "info": "#475467"}


def workspace(
    url: str | None = None, user: str | None = None, lang: str | None = None
) -> Workspace:
    """The notebook's workspace: ``CRM_DATABASE_URL`` (else the workspace's
    ``data/crm.db``) as ``CRM_USER`` (or ``JUPYTERHUB_USER``), speaking ``lang`` (else
    ``CRM_LANG``). A SQLite file that does not exist is an error, never a new database."""
    with speaking(lang) if lang else nullcontext():
        resolved = existing_database(url)
    return _workspace.open(resolved.render_as_string(hide_password=False), user, lang=lang)


def lang_of(ws: Workspace) -> str:
    return current_lang(ws.ctx.lang)


def banner(ws: Workspace) -> widgets.HTML:
    """Who is acting, so that a shared screen never leaves it in doubt."""
    lang = lang_of(ws)
    actor = ws.user
    team = say("team", lang, team=TEAM.label(actor.team, lang)) if actor.team else ""
    text = say(
        "signed_in", lang, user=actor.username, role=ROLE.label(actor.role.name, lang), team=team
    )
    return widgets.HTML(f"<div style='color:{COLOURS['info']}'>{html.escape(text)}</div>")


class Status(widgets.HTML):
    """One line saying what just happened, coloured by outcome."""

    def __init__(self, lang: str) -> None:
        super().__init__()
        self.lang = lang
        self.add_class("crm-status")
        self.kind = ""

    def show(self, text: str, kind: str = "info") -> None:
        self.kind = kind
        colour = COLOURS.get(kind, COLOURS["info"])
        self.value = f"<div style='color:{colour};white-space:pre-wrap'>{html.escape(text)}</div>"

    def error(self, exc: BaseException) -> None:
        message = (
            "; ".join(f"{e.field}: {e.message}" for e in exc.errors)
            if isinstance(exc, ValidationError)
            else str(exc)
        )
        self.show(say("failed", self.lang, error=message), "error")

    def clear(self) -> None:
        self.kind = ""
        self.value = ""


def attempt(status: Status, work: Callable[[], Any]) -> Any:
    """Run ``work``; a crmlib error goes to ``status`` instead of a traceback, because a form
    must never crash on bad input. Returns None when it failed."""
    try:
        return work()
    except CRMError as exc:
        status.error(exc)
        return None


def button(label: str, css: str, style: str = "", disabled: bool = False) -> widgets.Button:
    made = widgets.Button(description=label, button_style=style, disabled=disabled)
    made.add_class(css)
    return made


def heading(text: str) -> widgets.HTML:
    return widgets.HTML(f"<h3 style='margin:12px 0 4px'>{html.escape(text)}</h3>")
