"""``crm settings``: read the business-rule settings; an administrator changes them."""

from __future__ import annotations

import json
from typing import Any

import click
import pandas as pd

from ..i18n import t
from ..settings import Change, parse_value
from .base import Settings, friendly_errors, main, pass_settings, table_text

#: Characters of a value the list shows; ``crm settings get KEY`` shows all of it.
SHOWN = 48


def _json(value: Any, indent: int | None = None) -> str:
    return json.dumps(value, ensure_ascii=False, indent=indent)


def _short(value: Any) -> str:
    text = _json(value)
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


def _line(label: str, text: str) -> None:
    click.echo(t("settings_cli:line", label=t(f"settings_cli:{label}"), text=text))


def _change(message: str, change: Change) -> None:
    old, new = _json(change.old), _json(change.new)
    click.echo(t(f"settings_cli:{message}", setting=change.key, old=old, new=new))


@main.group("settings")
def settings_group() -> None:
    """Business-rule settings (SLA, stages, lead assignment …): list, get; admins set, reset."""


@settings_group.command("list")
@pass_settings
@friendly_errors
def list_(settings: Settings) -> None:
    """Every setting with its value in force and its default."""
    with settings.workspace() as ws:
        frame = ws.settings.list()
    shown = pd.DataFrame(
        {
            "key": frame["key"],
            "title": frame["title"],
            "value": frame["value"].map(_short),
            "default": frame["default"].map(_short),
        }
    )
    headers = {c: t(f"settings_cli:{c}") for c in shown.columns}
    click.echo(table_text(shown, headers=headers))
    broken = frame.loc[frame["problem"].notna(), "key"].tolist()
    if broken:
        keys = ", ".join(broken)
        click.echo(t("settings_cli:invalid", count=len(broken), keys=keys), err=True)


@settings_group.command("get")
@click.argument("key")
@click.option("--json", "as_json", is_flag=True, help="Print only the value, as JSON.")
@pass_settings
@friendly_errors
def get(settings: Settings, key: str, as_json: bool) -> None:
    """The value of setting KEY in force, its default, rule and meaning."""
    with settings.workspace() as ws:
        setting = ws.settings.read(key)
        rule = ws.settings.rule(key)
        row = ws.settings.list().set_index("key").loc[key]
    if as_json:
        click.echo(_json(setting.value, indent=2))
        return
    _line("key", key)
    _line("title", str(row["title"]))
    _line("value", _json(setting.value))
    _line("default", _json(row["default"]))
    if setting.problem is not None:
        _line("stored", _json(setting.invalid))
        _line("problem", setting.problem)
    _line("rule", rule)
    _line("description", str(row["description"]))


@settings_group.command("set")
@click.argument("key")
@click.argument("value")
@pass_settings
@friendly_errors
def set_(settings: Settings, key: str, value: str) -> None:
    """Set KEY to VALUE (JSON or YAML; a plain number or word as it is). Admins only."""
    with settings.workspace() as ws:
        _change("set", ws.settings.set(key, parse_value(key, value)))


@settings_group.command("reset")
@click.argument("key")
@pass_settings
@friendly_errors
def reset(settings: Settings, key: str) -> None:
    """Put KEY back to its default. Admins only."""
    with settings.workspace() as ws:
        _change("reset", ws.settings.reset(key))
