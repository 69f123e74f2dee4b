"""``crm fields``: the custom fields of customers, leads, deals (opportunities) and
tickets; an administrator adds and retires them."""

from __future__ import annotations

import click

from ..domain.customers.custom_fields import KINDS
from ..i18n import t
from .base import Settings, friendly_errors, main, pass_settings, table_text

KIND = click.option(
    "--kind", type=click.Choice(KINDS), default="customers", show_default=True, help="Record kind."
)


@main.group("fields")
def fields_group() -> None:
    """Custom fields (name in Chinese and English, type): list; admins add, retire."""


@fields_group.command("list")
@KIND
@click.option("--retired", is_flag=True, help="Show retired fields too.")
@pass_settings
@friendly_errors
def list_(settings: Settings, kind: str, retired: bool) -> None:
    """The custom fields of KIND: key, names, type, choices."""
    with settings.workspace() as ws:
        frame = ws.custom_fields.list(kind, retired=retired)
    if frame.empty:
        click.echo(t("fields_cli:none"))
        return
    shown = frame[["key", "name_zh", "name_en", "type_label", "choices", "active"]].copy()
    shown["active"] = shown["active"].map(lambda on: t("fields_cli:yes" if on else "fields_cli:no"))
    headers = {c: t(f"fields_cli:{c}") for c in shown.columns}
    click.echo(table_text(shown, headers=headers))


@fields_group.command("add")
@click.argument("key")
@click.option("--zh", "chinese", required=True, help="Name in Chinese (an import header).")
@click.option("--en", "english", required=True, help="Name in English (an import header).")
@click.option(
    "--type",
    "type_",
    type=click.Choice(["text", "number", "money", "date", "choice"]),
    required=True,
    help="What the field holds; its values are checked by it.",
)
@click.option("--choice", "choices", multiple=True, help="A choice (type choice); repeatable.")
@KIND
@pass_settings
@friendly_errors
def add(
    settings: Settings,
    key: str,
    chinese: str,
    english: str,
    type_: str,
    choices: tuple[str, ...],
    kind: str,
) -> None:
    """Add the custom field KEY (lower-case letters, digits, _). Admins only; audited."""
    with settings.workspace() as ws:
        field = ws.custom_fields.define(
            kind,
            key,
            names={"zh": chinese, "en": english},
            type=type_,
            choices=choices or None,
        )
    click.echo(t("fields_cli:added", field=field.key, name=field.label(ws.ctx.lang)))


@fields_group.command("retire")
@click.argument("key")
@KIND
@pass_settings
@friendly_errors
def retire(settings: Settings, key: str, kind: str) -> None:
    """Retire KEY: it leaves forms and files, its values are kept. Admins only; audited."""
    with settings.workspace() as ws:
        field = ws.custom_fields.retire(kind, key)
    click.echo(t("fields_cli:retired", field=field.key, name=field.label(ws.ctx.lang)))
