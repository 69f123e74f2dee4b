"""A record's change history, read back from the audit log in words people use."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pandas as pd
from sqlalchemy import select

from .access import PII_MASKS
from .context import Context
from .display import USER_COLUMNS, heading, value_shown
from .domain.customers.custom_fields import labels as custom_labels
from .formatting import kind_of, number_text, value_text
from .i18n import MESSAGES, catalogue, t
from .missing import is_missing
from .store.models import AuditEvent, User
from .transfer.catalogue import KINDS

#: What an audit event's action reads as, in the catalogue as ``history:<action>`` (a
#: merge's own lines as ``history:<action>:<pseudo-field>``); another action reads as
#: ``history:other``.
ACTIONS = (
    "create",
    "update",
    "archive",
    "delete",
    "import",
    "merge",
    "unmerge",
    "merge:absorbed",
    "merge:merged_into",
    "unmerge:absorbed",
    "unmerge:merged_into",
    "duplicate",
)
#: The tables whose events the history names, in the catalogue as ``history_entity:<table>``.
ENTITIES = (
    "customers",
    "contacts",
    "customer_tags",
    "opportunities",
    "interactions",
    "orders",
    "tickets",
    "ticket_events",
    "tasks",
    "leads",
    "comments",
    "feedback",
    "campaign_members",
    "users",
)
#: Fields holding a user's id: the history names the user.
USER_FIELDS = frozenset({"owner_id", "assignee_id", "created_by_id", "linked_by_id", "actor_id"})


#: The entity of the events of privileged operations on the whole workspace (backups,
#: restores, resets, schema upgrades); see :mod:`crmlib.admin`.
WORKSPACE = "workspace"
OPERATIONS = ("backup", "restore", "reset", "upgrade")


def operation_text(action: str, old_value: str | None, new_value: str | None, lang: str) -> str:
    """The sentence of a workspace operation's event (its values are JSON: file, row counts,
    safety backup) in ``lang``."""
    if action == "upgrade":
        return t("operations:upgrade", lang, old=old_value, new=new_value)
    done = json.loads(new_value or "{}")
    before = json.loads(old_value or "{}")
    return t(
        f"operations:{action}",
        lang,
        file=done.get("file", ""),
        rows=int(done.get("rows", 0)),
        before=int(before.get("rows", 0)),
        safety=done.get("safety", ""),
        kept=int(done.get("kept_events", 0)),
    )


def field_label(entity: str, field: str, lang: str) -> str:
    """A changed field's name in ``lang``: the import file's header of that record kind,
    else the tables' header, else the field without its ``_id``."""
    kind = KINDS[entity].spec if entity in KINDS else None
    for name in (field, field.removesuffix("_id")):
        column = next((c for c in kind.columns if c.name == name), None) if kind else None
        if column is not None:
            return column.header(lang)
        if f"fields:{name}" in MESSAGES:
            return t(f"fields:{name}", lang)
        if heading(name, lang) != name:
            return heading(name, lang)
    return field


def value_label(
    entity: str, field: str, value: object, lang: str, names: Mapping[object, str]
) -> str:
    """An old or new value as people read it: a user's name for a user id, a label for an
    enumeration code, money and shares formatted; other values as stored."""
    text = str(value)
    if field in USER_FIELDS and text.isdigit():
        return names.get(int(text), text)
    if field in USER_COLUMNS:  # a username (who set a grade by hand)
        return names.get(text, text)
    kind = KINDS[entity].spec if entity in KINDS else None
    column = next((c for c in kind.columns if c.name == field), None) if kind else None
    if column is not None and column.enum is not None:
        return column.enum.label(text, lang)
    if text in ("True", "False"):
        return value_text(text == "True", lang=lang)
    number = kind_of(field)
    if number in ("money", "share", "measure"):
        try:
            return number_text(float(text), number)
        except ValueError:
            return text
    return value_shown(field, text, lang)


def describe(
    event: pd.Series,
    lang: str,
    names: Mapping[object, str] | None = None,
    custom: Mapping[tuple[str, str], str] | None = None,
) -> str:
    """One line per event: "2024-05-01 10:00 zhang changed phone of C… from … to …";
    ``names`` gives users' display names by id and username (assignee_id 27 reads 范颖),
    ``custom`` the names of custom fields by (entity, ``custom:<key>``)."""
    texts = catalogue("en" if lang == "en" else "zh")
    users = dict(names or {})
    if event["entity"] == WORKSPACE and event["action"] in OPERATIONS:
        actor = users.get(event["actor"], event["actor"])
        sentence = operation_text(event["action"], event["old_value"], event["new_value"], lang)
        return f"{pd.Timestamp(event['occurred_at']):%Y-%m-%d %H:%M} {actor} {sentence}"
    # A merge's own line names the other customer in a pseudo-field (absorbed, merged_into).
    key = event["action"]
    if event["entity"] == "merges":
        key = f"{event['action']}:{event['field']}"
    template = texts.get(f"history:{key}", texts["history:other"])
    empty = texts["history:empty"]
    entity = texts.get(f"history_entity:{event['entity']}", event["entity"])
    field = event["field"]
    if field is not None and event["entity"] != "merges":
        label = (custom or {}).get((event["entity"], str(field))) or field_label(
            event["entity"], str(field), lang
        )
        field = label if event["entity"] == "customers" else f"{entity}.{label}"

    def shown(value: object) -> object:
        if is_missing(value):
            return empty
        if event["entity"] == "merges" or event["field"] is None:
            return value
        return value_label(event["entity"], str(event["field"]), value, lang, users)

    sentence = template.format(
        entity=entity,
        ref=event["ref"],
        field=field,
        old=shown(event["old_value"]),
        new=shown(event["new_value"]),
        action=event["action"],
    )
    actor = event["actor"]
    actor = t("fields:system", lang) if actor == "system" else users.get(actor, actor)
    return f"{pd.Timestamp(event['occurred_at']):%Y-%m-%d %H:%M} {actor} {sentence}"


def history(ctx: Context, ref: str) -> pd.DataFrame:
    """Audit events filed under ``ref`` (a customer code or username), newest first."""
    stmt = (
        select(
            AuditEvent.occurred_at,
            AuditEvent.actor,
            AuditEvent.action,
            AuditEvent.entity,
            AuditEvent.entity_id,
            AuditEvent.ref,
            AuditEvent.field,
            AuditEvent.old_value,
            AuditEvent.new_value,
            AuditEvent.batch_id,
        )
        .where(AuditEvent.ref == ref)
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    )
    df = ctx.frame(stmt).astype(object)
    df = df.where(df.notna(), None)
    if not ctx.actor.role.see_pii:
        for field, mask in PII_MASKS.items():
            rows = df["field"] == field
            df.loc[rows, "old_value"] = df.loc[rows, "old_value"].map(mask)
            df.loc[rows, "new_value"] = df.loc[rows, "new_value"].map(mask)
        snapshots = df["field"].isna()
        df.loc[snapshots, "old_value"] = None
        df.loc[snapshots, "new_value"] = None
    users = ctx.frame(select(User.id, User.username, User.display_name))
    names: dict[object, str] = {
        **dict(zip(users["id"], users["display_name"], strict=True)),
        **dict(zip(users["username"], users["display_name"], strict=True)),
    }
    with ctx.reading() as conn:
        custom = custom_labels(conn, ctx.lang)
    df["text"] = (
        [describe(row, ctx.lang, names, custom) for _, row in df.iterrows()] if len(df) else []
    )
    return df
