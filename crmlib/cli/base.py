"""What every ``crm`` subcommand shares: the root group, who acts, and how errors print."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import click
import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from ..display import heading as column_heading
from ..display import shown, value_shown
from ..errors import CRMError
from ..i18n import MESSAGES, current_lang, speaking, t
from ..progress import ProgressBar
from ..reference.enums import Enumeration
from ..settings import SettingWarning
from ..store.engine import make_engine
from ..store.models import User
from ..workspace import Workspace
from ..workspace import open as open_workspace

F = TypeVar("F", bound=Callable[..., Any])


def friendly_errors(func: F) -> F:
    """Print expected errors as one line on stderr and exit 1, without a traceback; a
    question answered no (or not at all) says so in the user's language."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except CRMError as exc:
            click.echo(t("cli:error", message=exc), err=True)
            sys.exit(1)
        except click.Abort:
            click.echo(t("cli:cancelled"), err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


@contextlib.contextmanager
def plain_warnings() -> Iterator[None]:
    """A CRM warning (a stored setting that breaks its rule) prints as one line on stderr,
    like an error, rather than as Python's file:line report."""
    with warnings.catch_warnings():
        python_way = warnings.showwarning

        def show(message: Warning | str, category: type[Warning], *args: Any, **kw: Any) -> None:
            if issubclass(category, SettingWarning):
                click.echo(t("cli:warning", message=message), err=True)
            else:
                python_way(message, category, *args, **kw)

        warnings.showwarning = show
        yield


class Settings:
    def __init__(self, url: str | None, user: str | None, lang: str | None) -> None:
        self.url = url
        self.user = user
        self.lang = lang

    def engine(self) -> Engine:
        return make_engine(self.url)

    def workspace(self) -> Workspace:
        return open_workspace(self.url, self.user, lang=self.lang)

    @functools.cached_property
    def names(self) -> dict[str, str]:
        """Display name of each username, so tables name people rather than logins."""
        engine = self.engine()
        try:
            with engine.connect() as conn:
                rows = conn.execute(select(User.username, User.display_name)).all()
        except SQLAlchemyError:  # no schema yet: nobody to name
            return {}
        finally:
            engine.dispose()
        return {str(u): str(d) for u, d in rows if d}


pass_settings = click.make_pass_decorator(Settings)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--url",
    envvar="CRM_DATABASE_URL",
    help="Database URL (default: the workspace database, <CRM_HOME>/data/crm.db).",
)
@click.option("--user", envvar="CRM_USER", help="Who acts (default $CRM_USER).")
@click.option("--lang", envvar="CRM_LANG", type=click.Choice(["zh", "en"]), help="Language.")
@click.pass_context
def main(ctx: click.Context, url: str | None, user: str | None, lang: str | None) -> None:
    """A CRM that lives in Jupyter: customers, sales, service, data quality and reports."""
    ctx.obj = Settings(url, user, lang)
    ctx.with_resource(plain_warnings())
    if lang:  # every message of the subcommand speaks it; click ends this after the subcommand
        ctx.with_resource(speaking(lang))


def column_header(column: str) -> str:
    """The header people read for ``column`` in the command's language: the label the
    notebook grids use (``ui_column``), or the identifier itself when there is none yet."""
    return column_heading(column, current_lang())


def _names() -> dict[str, str]:
    """The display names of the users, when a ``crm`` command is running."""
    context = click.get_current_context(silent=True)
    settings = context.find_object(Settings) if context else None
    return settings.names if settings else {}


def value_text(column: str, value: Any) -> str:
    """One value of ``column`` for a sentence, as the tables show it (a label, a name)."""
    return value_shown(column, value, current_lang(), _names())


def table_text(
    frame: pd.DataFrame,
    headers: Mapping[str, str] | None = None,
    enums: Mapping[str, Enumeration] | None = None,
    **options: Any,
) -> str:
    """``frame`` as terminal text for people: codes as labels, usernames as display names,
    numbers formatted, blanks for missing values and headers in the command's language
    (``headers`` first; see :func:`crmlib.display.shown`); ``options`` go to ``to_string``.

    Only the printed copy changes: files written for re-import keep their identifiers.
    Wide (Chinese) characters count double, so columns stay aligned under Chinese headers.
    """
    given = headers or {}
    named = {str(c): given.get(str(c)) or column_header(str(c)) for c in frame.columns}
    text = shown(frame, current_lang(), names=_names(), enums=enums, headers=named)
    with pd.option_context("display.unicode.east_asian_width", True):
        return text.to_string(index=False, **options)


def show_table(
    frame: pd.DataFrame,
    columns: list[str] | None = None,
    enums: Mapping[str, Enumeration] | None = None,
) -> None:
    """Print a table (its ``columns``, default all), or say there is nothing to show;
    ``enums`` names a column's enumeration where its values cannot tell."""
    if frame.empty:
        click.echo(t("cli:no_rows"))
        return
    click.echo(table_text(frame[columns or list(frame.columns)], enums=enums))


@contextlib.contextmanager
def progress_bar(unit: str) -> Iterator[Callable[[int, int | None], None]]:
    """A tqdm bar on stderr for long work, fed with (done, total) updates."""
    shown = t(f"cli:unit_{unit}") if f"cli:unit_{unit}" in MESSAGES else unit
    with ProgressBar(
        unit=f" {shown}", unit_scale=True, file=sys.stderr, leave=False, disable=None
    ) as bar:

        def advance(done: int, total: int | None) -> None:
            if total is not None and bar.total != total:
                bar.total = total
            bar.update(done - bar.n)

        yield advance


def run() -> None:
    """Entry point for ``python -m crmlib``."""
    main(prog_name=os.path.basename(sys.argv[0]) or "crm")


def guard_options(func: F) -> F:
    """``--allow-host`` and ``--token-file``, shared by the servers (``crm notebooks serve``,
    ``crm dashboards``): see :func:`crmlib.serving.guard`."""
    func = click.option(
        "--token-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Require the token in FILE (one line, a file only you can read) instead of a "
        "fresh one; the token is never on the command line.",
    )(func)
    return click.option(
        "--allow-host",
        "allow_hosts",
        multiple=True,
        metavar="NAME",
        help="Also answer requests for host NAME (the public name behind a proxy); "
        "repeatable. Other names are refused, local ones always allowed.",
    )(func)
